import { randomBytes } from "node:crypto";
import { endianness } from "node:os";
import { MpcError } from "../errors.ts";
import { defaultKernels, type VectorKernels } from "../kernels/index.ts";
import type { PrfDraw, PrfPool } from "./prf-pool.ts";
import { fillPrfRange, MAX_DRAW_WORDS, PRF_PIECE_WORDS, prfPieces } from "./prf-stream.ts";

/** Host index in the three-party protocol. */
export type PartyIndex = 0 | 1 | 2;

/**
 * The message channel the protocols use: the shape of the host's
 * `JobExchange`, so a job's exchange is passed in as is.
 */
export interface PartyExchange {
  send(toHost: number, step: number, payload: Buffer): Promise<void>;
  /** @throws MpcError `PEER_TIMEOUT` naming the host that did not send */
  receive(fromHost: number, step: number): Promise<Buffer>;
  /**
   * A buffer of `bytes` for a payload to send, which the channel can send
   * without copying it (see the host's `allocatePayload`); absent, a plain buffer serves.
   */
  outgoing?(bytes: number): Buffer;
}

/**
 * Pairwise PRF streams: AES-256-CTR under the seed this party shares with
 * its next (its own seed) or previous neighbour (that neighbour's seed). The
 * 16-byte initial counter block is (step: u64 BE, tag: u32 BE, 0: u32), so a
 * draw is named by the protocol step that uses it plus a tag, and no two
 * draws under one key overlap (a draw may span 2^32 blocks = 64 GiB).
 */
export interface PairwisePrf {
  /** n words of the stream shared with the next party, for (step, tag). */
  withNext(step: number, tag: number, n: number): BigUint64Array;
  /** n words of the stream shared with the previous party, for (step, tag). */
  withPrev(step: number, tag: number, n: number): BigUint64Array;
  /**
   * Both streams for (step, tag), n words each, a piece at a time: `use` is
   * called for words [from, to) of the draw, in order, pieces of up to
   * 32 Ki words, with those words of withNext and of withPrev as the
   * cipher's own output (no copy, no vector of the round's length): a round
   * that uses the streams once uses each piece while it is in the cache.
   */
  eachPiece(step: number, tag: number, n: number, use: (from: number, to: number, next: BigUint64Array, prev: BigUint64Array) => void): void;
  /**
   * Both streams for (step, tag), n words each, drawn piece by piece by
   * worker threads while the caller goes on; undefined when the party has no
   * PRF pool or n is too small to hand over (then draw with withNext and
   * withPrev). Equal, word for word, to withNext and withPrev; release the
   * draw when done with it.
   */
  inBackground(step: number, tag: number, n: number): PrfDraw | undefined;
}

/** PRF tags: one per use within a step. */
export const PRF_TAG = {
  ZERO_ARITH: 1,
  ZERO_XOR: 2,
  TRUNCATION_MASK: 3,
  /** The differential-privacy noise a pair of parties draws together (noise.ts). */
  NOISE: 4,
} as const;

/**
 * One party of a three-party job: its index and neighbours, the exchange,
 * the step counter every party advances in the same order, the pairwise PRF
 * and the vector kernels.
 */
export interface Party {
  readonly index: PartyIndex;
  /** (index + 1) mod 3: the party whose component this party also holds. */
  readonly next: PartyIndex;
  /** (index − 1) mod 3. */
  readonly prev: PartyIndex;
  readonly exchange: PartyExchange;
  readonly prf: PairwisePrf;
  readonly kernels: VectorKernels;
  /** Payload bytes this party has sent so far. */
  readonly bytesSent: number;
  /** Messages this party has sent so far. */
  readonly messagesSent: number;
  /** The next unused step number; every party calls it in the same order. */
  nextStep(): number;
  /**
   * n words (zeros) for a vector to send in one message, which the exchange
   * can then send without a copy. Sending it twice, or a part of it, works
   * and copies.
   */
  outgoingWords(n: number): BigUint64Array;
  /** Sends a word vector (as little-endian u64 bytes) and counts it. */
  sendWords(toHost: PartyIndex, step: number, words: BigUint64Array): Promise<void>;
  /**
   * Receives a word vector of exactly n words.
   *
   * @throws MpcError `PEER_PROTOCOL` on a payload of the wrong length
   */
  receiveWords(fromHost: PartyIndex, step: number, n: number): Promise<BigUint64Array>;
}

const LITTLE_ENDIAN = endianness() === "LE";
const SEED_BYTES = 32;

function keystreamWords(key: Buffer, step: number, tag: number, n: number): BigUint64Array {
  if (n > MAX_DRAW_WORDS) throw new RangeError(`PRF draw too long: ${n} words`);
  const out = new BigUint64Array(n);
  fillPrfRange(key, step, tag, 0, new Uint8Array(out.buffer));
  // Little-endian words of the stream, as wordsOf reads them.
  return LITTLE_ENDIAN ? out : wordsOf(new Uint8Array(out.buffer));
}

/**
 * Views (or, when misaligned, copies) little-endian u64 bytes as words.
 *
 * @example
 * wordsOf(Buffer.alloc(16)) // BigUint64Array [0n, 0n]
 */
export function wordsOf(bytes: Uint8Array): BigUint64Array {
  if (bytes.length % 8 !== 0) throw new RangeError(`not a whole number of words: ${bytes.length} bytes`);
  if (!LITTLE_ENDIAN) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return BigUint64Array.from({ length: bytes.length / 8 }, (_, i) => view.getBigUint64(8 * i, true));
  }
  if (bytes.byteOffset % 8 === 0) return new BigUint64Array(bytes.buffer, bytes.byteOffset, bytes.length / 8);
  const copy = new BigUint64Array(bytes.length / 8);
  new Uint8Array(copy.buffer).set(bytes);
  return copy;
}

/**
 * Little-endian u64 bytes of a word vector (a view, no copy, on LE hosts).
 *
 * @example
 * bytesOf(BigUint64Array.of(1n)) // <Buffer 01 00 00 00 00 00 00 00>
 */
export function bytesOf(words: BigUint64Array): Buffer {
  if (LITTLE_ENDIAN) return Buffer.from(words.buffer, words.byteOffset, words.byteLength);
  const out = Buffer.alloc(words.length * 8);
  words.forEach((w, i) => out.writeBigUInt64LE(w, 8 * i));
  return out;
}

class ProtocolParty implements Party {
  readonly index: PartyIndex;
  readonly next: PartyIndex;
  readonly prev: PartyIndex;
  readonly exchange: PartyExchange;
  readonly prf: PairwisePrf;
  readonly kernels: VectorKernels;
  #step: number;
  // The seed round of setupParty counts: 32 bytes in one message.
  #bytesSent = SEED_BYTES;
  #messagesSent = 1;

  constructor(init: {
    index: PartyIndex;
    exchange: PartyExchange;
    keyNext: Buffer;
    keyPrev: Buffer;
    firstStep: number;
    kernels: VectorKernels;
    prfPool: PrfPool | undefined;
  }) {
    this.index = init.index;
    this.next = ((init.index + 1) % 3) as PartyIndex;
    this.prev = ((init.index + 2) % 3) as PartyIndex;
    this.exchange = init.exchange;
    this.kernels = init.kernels;
    this.#step = init.firstStep;
    const { keyNext, keyPrev, prfPool } = init;
    this.prf = {
      withNext: (step, tag, n) => keystreamWords(keyNext, step, tag, n),
      withPrev: (step, tag, n) => keystreamWords(keyPrev, step, tag, n),
      eachPiece: (step, tag, n, use) => {
        const next = prfPieces(keyNext, step, tag, n);
        const prev = prfPieces(keyPrev, step, tag, n);
        for (let from = 0; from < n; from += PRF_PIECE_WORDS) {
          const to = Math.min(n, from + PRF_PIECE_WORDS);
          use(from, to, wordsOf(next(to - from)), wordsOf(prev(to - from)));
        }
      },
      // The pool's words are host-endian, as the stream's are on the little-endian hosts it runs on.
      inBackground: (step, tag, n) =>
        prfPool?.takes(n) && LITTLE_ENDIAN ? prfPool.draw({ next: keyNext, prev: keyPrev }, step, tag, n) : undefined,
    };
  }

  get bytesSent(): number {
    return this.#bytesSent;
  }

  get messagesSent(): number {
    return this.#messagesSent;
  }

  nextStep(): number {
    return this.#step++;
  }

  outgoingWords(n: number): BigUint64Array {
    const bytes = this.exchange.outgoing?.(n * 8);
    return bytes === undefined ? new BigUint64Array(n) : new BigUint64Array(bytes.buffer, bytes.byteOffset, n);
  }

  sendWords(toHost: PartyIndex, step: number, words: BigUint64Array): Promise<void> {
    this.#bytesSent += words.byteLength;
    this.#messagesSent += 1;
    return this.exchange.send(toHost, step, bytesOf(words));
  }

  async receiveWords(fromHost: PartyIndex, step: number, n: number): Promise<BigUint64Array> {
    const payload = await this.exchange.receive(fromHost, step);
    if (payload.length !== n * 8) {
      throw new MpcError("PEER_PROTOCOL", `host ${fromHost} sent a step-${step} payload of ${payload.length} bytes, expected ${n * 8}`, {
        details: { fromHost, step },
      });
    }
    return wordsOf(payload);
  }
}

/**
 * Starts a party for one job: one round in which party i sends a fresh
 * 32-byte seed to party i+1 and receives party i−1's, so each seed is known
 * to exactly two parties (the channel is mutually-authenticated TLS, so a
 * seed stays confidential to its pair). Its own seed keys the PRF shared with
 * the next party; the received one keys the PRF shared with the previous.
 *
 * @param input.randomSeed - this party's 32-byte seed (default: fresh random
 *   bytes); pass a per-request derived seed so a retried job agrees with itself
 * @param input.firstStep - step number of the seed round (default 0); later
 *   rounds use the steps after it
 * @param input.prfPool - worker threads that draw a round's PRF streams while
 *   the event loop computes its cross terms (default: none, all on the event loop)
 * @throws MpcError `PEER_PROTOCOL` if the received seed is not 32 bytes
 * @example
 * const party = await setupParty({ index: 0, exchange });
 * const z = await multiply(party, x, y);
 */
export async function setupParty(input: {
  index: PartyIndex;
  exchange: PartyExchange;
  randomSeed?: Uint8Array;
  firstStep?: number;
  kernels?: VectorKernels;
  prfPool?: PrfPool;
}): Promise<Party> {
  const { index, exchange } = input;
  if (index !== 0 && index !== 1 && index !== 2) throw new MpcError("INTERNAL", `party index out of range: ${index}`);
  const seed = input.randomSeed === undefined ? randomBytes(SEED_BYTES) : Buffer.from(input.randomSeed);
  if (seed.length !== SEED_BYTES) throw new MpcError("INTERNAL", `a party seed has ${SEED_BYTES} bytes, got ${seed.length}`);
  const step = input.firstStep ?? 0;
  const next = (index + 1) % 3;
  const prev = (index + 2) % 3;
  const [, received] = await Promise.all([exchange.send(next, step, seed), exchange.receive(prev, step)]);
  if (received.length !== SEED_BYTES) {
    throw new MpcError("PEER_PROTOCOL", `host ${prev} sent a ${received.length}-byte seed, expected ${SEED_BYTES}`, {
      details: { fromHost: prev, step },
    });
  }
  return new ProtocolParty({
    index,
    exchange,
    keyNext: seed,
    keyPrev: Buffer.from(received),
    firstStep: step + 1,
    kernels: input.kernels ?? defaultKernels,
    prfPool: input.prfPool,
  });
}
