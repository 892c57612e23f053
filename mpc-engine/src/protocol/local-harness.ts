import { randomFillSync } from "node:crypto";
import { MpcError } from "../errors.ts";
import type { VectorKernels } from "../kernels/index.ts";
import { shareColumn } from "../sharing.ts";
import type { PrfPool } from "./prf-pool.ts";
import { setupParty, type Party, type PartyExchange, type PartyIndex } from "./party.ts";
import type { ArithShare, BoolShare } from "./shares.ts";

/** One message the local network carried. */
export interface LocalMessage {
  from: PartyIndex;
  to: PartyIndex;
  step: number;
  bytes: number;
}

/**
 * An in-memory network among three parties, for tests and benchmarks:
 * delivers copies of the payloads (as a socket would), logs every message,
 * and rejects a second message with the same (from, to, step).
 */
export interface LocalNetwork {
  /** Every message sent, in send order. */
  readonly messages: readonly LocalMessage[];
  /** The exchange of party `index`. */
  exchangeFor(index: PartyIndex): PartyExchange;
  /** Payload bytes sent by party `index`. */
  bytesSentBy(index: PartyIndex): number;
  /** Fails every pending and future receive (one party failed). */
  abort(reason: unknown): void;
}

interface Slot {
  payload?: Buffer;
  waiter?: { resolve: (b: Buffer) => void; reject: (e: unknown) => void };
  received: boolean;
}

/**
 * Creates an in-memory three-party network.
 *
 * @example
 * const network = createLocalNetwork();
 * await runThreeParties(fn, { network });
 * network.messages.filter((m) => m.step === 1).length // 3
 */
export function createLocalNetwork(): LocalNetwork {
  const messages: LocalMessage[] = [];
  const slots = new Map<string, Slot>();
  const sent = [0, 0, 0];
  let aborted: { reason: unknown } | undefined;

  const slot = (from: number, to: number, step: number): Slot => {
    const key = `${from}>${to}#${step}`;
    let s = slots.get(key);
    if (s === undefined) {
      s = { received: false };
      slots.set(key, s);
    }
    return s;
  };

  const checkPeer = (self: number, other: number): void => {
    if (other !== 0 && other !== 1 && other !== 2) throw new MpcError("PEER_UNKNOWN_SENDER", `no host ${other}`);
    if (other === self) throw new MpcError("INTERNAL", "a host cannot send to itself");
  };

  return {
    messages,
    bytesSentBy: (index) => sent[index],
    abort(reason) {
      aborted ??= { reason };
      for (const s of slots.values()) {
        if (s.waiter !== undefined) {
          s.waiter.reject(reason);
          s.waiter = undefined;
        }
      }
    },
    exchangeFor(self) {
      return {
        async send(toHost, step, payload) {
          checkPeer(self, toHost);
          const s = slot(self, toHost, step);
          if (s.payload !== undefined || s.received) {
            throw new MpcError("PEER_DUPLICATE", `host ${self} sent step ${step} to host ${toHost} twice`, {
              details: { fromHost: self, toHost, step },
            });
          }
          const copy = Buffer.from(payload); // the receiver must not alias the sender's memory
          messages.push({ from: self, to: toHost as PartyIndex, step, bytes: copy.length });
          sent[self] += copy.length;
          if (s.waiter !== undefined) {
            s.received = true;
            s.waiter.resolve(copy);
            s.waiter = undefined;
          } else {
            s.payload = copy;
          }
        },
        receive(fromHost, step) {
          checkPeer(self, fromHost);
          if (aborted !== undefined) return Promise.reject(aborted.reason);
          const s = slot(fromHost, self, step);
          if (s.received || s.waiter !== undefined) {
            return Promise.reject(
              new MpcError("PEER_DUPLICATE", `host ${self} received step ${step} from host ${fromHost} twice`, {
                details: { fromHost, step },
              }),
            );
          }
          if (s.payload !== undefined) {
            const payload = s.payload;
            s.payload = undefined;
            s.received = true;
            return Promise.resolve(payload);
          }
          return new Promise((resolve, reject) => {
            s.waiter = { resolve, reject };
          });
        },
      };
    },
  };
}

/**
 * Runs `fn` as each of the three parties, concurrently on one local network:
 * sets each party up (the seed round, step 0) and returns the three results
 * in party order. If one party fails, pending receives of the others fail too.
 *
 * @example
 * const [s0, s1, s2] = shareArithForTesting(values);
 * const out = await runThreeParties(async (p) => multiply(p, [s0, s1, s2][p.index], [s0, s1, s2][p.index]));
 */
export async function runThreeParties<T>(
  fn: (party: Party) => Promise<T>,
  options: { network?: LocalNetwork; kernels?: VectorKernels; seeds?: readonly [Uint8Array, Uint8Array, Uint8Array]; prfPool?: PrfPool } = {},
): Promise<[T, T, T]> {
  const network = options.network ?? createLocalNetwork();
  const run = async (index: PartyIndex): Promise<T> => {
    try {
      const party = await setupParty({
        index,
        exchange: network.exchangeFor(index),
        randomSeed: options.seeds?.[index],
        kernels: options.kernels,
        prfPool: options.prfPool,
      });
      return await fn(party);
    } catch (err) {
      network.abort(err);
      throw err;
    }
  };
  const results = await Promise.all([run(0), run(1), run(2)]);
  return results as [T, T, T];
}

/**
 * TEST ONLY: splits plaintext ring elements into three replicated
 * arithmetic shares (party i gets element i).
 *
 * @example
 * const shares = shareArithForTesting(BigUint64Array.of(5n));
 */
export function shareArithForTesting(values: BigUint64Array): [ArithShare, ArithShare, ArithShare] {
  return shareColumn(values);
}

/**
 * TEST ONLY: party `index`'s share of a validity vector of `rows` ones (every
 * cell present), as the replicated sharing of a public constant: x_0 = 1,
 * x_1 = x_2 = 0, so party 0 holds (1, 0), party 1 (0, 0), party 2 (0, 1).
 *
 * @example
 * const valid = new Map([["x", allPresentForTesting(party.index, rows)]]);
 */
export function allPresentForTesting(index: number, rows: number): ArithShare {
  const ones = new BigUint64Array(rows).fill(1n);
  if (index === 0) return { a: ones, b: new BigUint64Array(rows) };
  if (index === 2) return { a: new BigUint64Array(rows), b: ones };
  return { a: new BigUint64Array(rows), b: new BigUint64Array(rows) };
}

/**
 * TEST ONLY: splits plaintext words into three replicated XOR shares.
 *
 * @example
 * const shares = shareBoolForTesting(BigUint64Array.of(0b1011n));
 */
export function shareBoolForTesting(values: BigUint64Array): [BoolShare, BoolShare, BoolShare] {
  const n = values.length;
  const w0 = new BigUint64Array(n);
  const w1 = new BigUint64Array(n);
  randomFillSync(w0);
  randomFillSync(w1);
  const w2 = new BigUint64Array(n);
  for (let i = 0; i < n; i++) w2[i] = values[i] ^ w0[i] ^ w1[i];
  return [
    { a: w0, b: w1 },
    { a: w1, b: w2 },
    { a: w2, b: w0 },
  ];
}

/**
 * TEST ONLY: reconstructs words from three boolean shares (checking the
 * replicated components agree).
 *
 * @example
 * reconstructBoolForTesting(shareBoolForTesting(BigUint64Array.of(3n))) // [3n]
 */
export function reconstructBoolForTesting(shares: readonly BoolShare[]): BigUint64Array {
  const [s0, s1, s2] = shares;
  const n = s0.a.length;
  const out = new BigUint64Array(n);
  for (let i = 0; i < n; i++) {
    if (s0.b[i] !== s1.a[i] || s1.b[i] !== s2.a[i] || s2.b[i] !== s0.a[i]) {
      throw new MpcError("SHARES_INCONSISTENT", `boolean shares disagree at row ${i}`, { details: { row: i } });
    }
    out[i] = s0.a[i] ^ s1.a[i] ^ s2.a[i];
  }
  return out;
}
