import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { bigintKernels } from "../src/kernels/index.ts";
import { and, andMany } from "../src/protocol/and.ts";
import {
  createLocalNetwork,
  reconstructBoolForTesting,
  runThreeParties,
  shareArithForTesting,
  shareBoolForTesting,
} from "../src/protocol/local-harness.ts";
import { multiply, multiplyMany } from "../src/protocol/multiply.ts";
import type { PartyExchange } from "../src/protocol/party.ts";
import { createPrfPool } from "../src/protocol/prf-pool.ts";
import { reshareArith, reshareXor } from "../src/protocol/reshare.ts";
import { openArithToAllForTesting, openBoolToAllForTesting } from "../src/protocol/open.ts";
import { reconstruct } from "../src/sharing.ts";

const M64 = (1n << 64n) - 1n;
const EDGES = [0n, 1n, M64 /* −1 */, (1n << 63n) - 1n, 1n << 63n /* −2^63 */, 2n, M64 - 1n, 1n << 32n];
const word = fc.oneof(fc.bigInt({ min: 0n, max: M64 }), fc.constantFrom(...EDGES));
const pairsArb = fc.array(fc.tuple(word, word), { maxLength: 60 });

describe("multiplication", () => {
  it("matches plaintext products mod 2^64 on random vectors with edge values", async () => {
    await fc.assert(
      fc.asyncProperty(pairsArb, async (pairs) => {
        const xs = BigUint64Array.from(pairs.map(([x]) => x));
        const ys = BigUint64Array.from(pairs.map(([, y]) => y));
        const X = shareArithForTesting(xs);
        const Y = shareArithForTesting(ys);
        const out = await runThreeParties((p) => multiply(p, X[p.index], Y[p.index]));
        assert.deepEqual(reconstruct(out), BigUint64Array.from(pairs.map(([x, y]) => BigInt.asUintN(64, x * y))));
      }),
      { numRuns: 40 },
    );
  });

  it("the full edge-value grid, including wrap-around, with the reference kernels too", async () => {
    const xs = BigUint64Array.from(EDGES.flatMap((x) => EDGES.map(() => x)));
    const ys = BigUint64Array.from(EDGES.flatMap(() => EDGES));
    const expected = BigUint64Array.from(xs, (x, i) => BigInt.asUintN(64, x * ys[i]));
    const X = shareArithForTesting(xs);
    const Y = shareArithForTesting(ys);
    for (const kernels of [undefined, bigintKernels]) {
      const out = await runThreeParties((p) => multiply(p, X[p.index], Y[p.index]), { kernels });
      assert.deepEqual(reconstruct(out), expected);
    }
  });

  it("one round: exactly one 8-byte-per-element message per party, to the previous party", async () => {
    const n = 1000;
    const X = shareArithForTesting(BigUint64Array.from({ length: n }, (_, i) => BigInt(i)));
    const network = createLocalNetwork();
    const out = await runThreeParties(async (p) => {
      const before = p.bytesSent;
      const z = await multiply(p, X[p.index], X[p.index]);
      return { z, bytes: p.bytesSent - before };
    }, { network });
    assert.deepEqual(out.map((o) => o.bytes), [8 * n, 8 * n, 8 * n]);
    const round = network.messages.filter((m) => m.step === 1);
    assert.deepEqual(round.map((m) => [m.from, m.to, m.bytes]).sort(), [[0, 2, 8 * n], [1, 0, 8 * n], [2, 1, 8 * n]]);
    assert.equal(network.messages.length, 6); // seed round + one multiplication round
  });

  it("multiplyMany batches several products into one round; the output is re-randomised", async () => {
    const X = shareArithForTesting(BigUint64Array.of(3n, 4n));
    const Y = shareArithForTesting(BigUint64Array.of(5n, M64));
    const Z = shareArithForTesting(BigUint64Array.of(7n));
    const network = createLocalNetwork();
    const out = await runThreeParties(async (p) => {
      const [xy, zz] = await multiplyMany(p, [[X[p.index], Y[p.index]], [Z[p.index], Z[p.index]]]);
      return [xy, zz, await openArithToAllForTesting(p, xy)] as const;
    }, { network });
    assert.deepEqual(reconstruct(out.map((o) => o[0])), BigUint64Array.of(15n, M64 - 3n));
    assert.deepEqual(reconstruct(out.map((o) => o[1])), BigUint64Array.of(49n));
    assert.equal(network.messages.filter((m) => m.step === 1).length, 3);
    // a party's output component is not its input component times anything simple
    assert.notDeepEqual(out[0][0].a, BigUint64Array.of(15n, M64 - 3n));
  });
});

describe("rounds longer than a piece of the PRF streams (drawn 32,768 words at a time)", () => {
  it("products and ANDs of pairs laid across the pieces' edges", async () => {
    const lengths = [70_000, 3, 65_536, 100_001];
    const random = (n: number) => {
      const v = new BigUint64Array(n);
      for (let i = 0; i < n; i++) v[i] = BigInt.asUintN(64, BigInt(Math.floor(Math.random() * 2 ** 53)) * 0x9e3779b97f4a7c15n);
      return v;
    };
    const xs = lengths.map(random);
    const ys = lengths.map(random);
    const X = xs.map((x) => shareArithForTesting(x));
    const Y = ys.map((y) => shareArithForTesting(y));
    const products = await runThreeParties((p) => multiplyMany(p, lengths.map((_, j) => [X[j][p.index], Y[j][p.index]] as const)));
    lengths.forEach((n, j) => {
      const got = reconstruct(products.map((party) => party[j]));
      const wrong = got.findIndex((v, i) => v !== BigInt.asUintN(64, xs[j][i] * ys[j][i]));
      assert.equal(wrong, -1, `pair ${j} (${n} words): first wrong product at ${wrong}`);
    });
    const A = xs.map((x) => shareBoolForTesting(x));
    const B = ys.map((y) => shareBoolForTesting(y));
    const ands = await runThreeParties((p) => andMany(p, lengths.map((_, j) => [A[j][p.index], B[j][p.index]] as const)));
    lengths.forEach((n, j) => {
      const got = reconstructBoolForTesting(ands.map((party) => party[j]));
      const wrong = got.findIndex((v, i) => v !== (xs[j][i] & ys[j][i]));
      assert.equal(wrong, -1, `pair ${j} (${n} words): first wrong AND at ${wrong}`);
    });
  });
});

describe("AND on XOR shares", () => {
  it("matches plaintext bitwise AND", async () => {
    await fc.assert(
      fc.asyncProperty(pairsArb, async (pairs) => {
        const X = shareBoolForTesting(BigUint64Array.from(pairs.map(([x]) => x)));
        const Y = shareBoolForTesting(BigUint64Array.from(pairs.map(([, y]) => y)));
        const out = await runThreeParties((p) => and(p, X[p.index], Y[p.index]));
        assert.deepEqual(reconstructBoolForTesting(out), BigUint64Array.from(pairs.map(([x, y]) => x & y)));
      }),
      { numRuns: 40 },
    );
  });

  it("andMany: a whole layer in one round, one message per party", async () => {
    const X = shareBoolForTesting(BigUint64Array.of(0b1100n, M64));
    const Y = shareBoolForTesting(BigUint64Array.of(0b1010n, 1n << 63n));
    const network = createLocalNetwork();
    const out = await runThreeParties(async (p) => {
      const [xy, xx] = await andMany(p, [[X[p.index], Y[p.index]], [X[p.index], X[p.index]]]);
      return [await openBoolToAllForTesting(p, xy), await openBoolToAllForTesting(p, xx)];
    }, { network });
    for (const [xy, xx] of out) {
      assert.deepEqual(xy, BigUint64Array.of(0b1000n, 1n << 63n));
      assert.deepEqual(xx, BigUint64Array.of(0b1100n, M64));
    }
    assert.deepEqual(network.messages.filter((m) => m.step === 1).map((m) => m.bytes), [32, 32, 32]);
  });

  it("sends each round's vector (products, ANDs, reshares) in the buffer the exchange handed out for sending (no copy on a host), with and without PRF worker threads", async () => {
    const pool = createPrfPool({ workers: 2, minWords: 1 });
    try {
      for (const prfPool of [undefined, pool]) {
        const network = createLocalNetwork();
        const handedOut = new Set<ArrayBufferLike>();
        const sentFrom = new Map<number, ArrayBufferLike[]>();
        const exchangeFor = network.exchangeFor.bind(network);
        network.exchangeFor = (index): PartyExchange => {
          const inner = exchangeFor(index);
          return {
            receive: inner.receive,
            send(toHost, step, payload) {
              // Step 0 is the seed round of the party's setup.
              if (step > 0) sentFrom.set(step, [...(sentFrom.get(step) ?? []), payload.buffer]);
              return inner.send(toHost, step, payload);
            },
            outgoing(bytes) {
              const buffer = Buffer.alloc(bytes);
              handedOut.add(buffer.buffer);
              return buffer;
            },
          };
        };
        const n = 5000;
        const xs = BigUint64Array.from({ length: n }, (_, i) => BigInt(i) * 0x9e3779b97f4a7c15n & M64);
        const X = shareArithForTesting(xs);
        const B = shareBoolForTesting(xs);
        const products = await runThreeParties(
          async (p) => {
            const squares = await multiply(p, X[p.index], X[p.index]);
            await multiplyMany(p, [[X[p.index], X[p.index]], [X[p.index], X[p.index]]]);
            await and(p, B[p.index], B[p.index]);
            await reshareArith(p, X[p.index].a);
            await reshareXor(p, B[p.index].a);
            return squares;
          },
          { network, prfPool },
        );
        assert.deepEqual(reconstruct(products), BigUint64Array.from(xs, (x) => BigInt.asUintN(64, x * x)));
        const rounds = [...sentFrom.values()].flat();
        assert.equal(rounds.length, 15, "five rounds of three parties");
        for (const buffer of rounds) assert.ok(handedOut.has(buffer), `a round sent a vector in a buffer of its own (${prfPool ? "worker threads" : "event loop"})`);
      }
    } finally {
      await pool.close();
    }
  });
});
