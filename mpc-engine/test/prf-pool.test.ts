import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { MpcError } from "../src/errors.ts";
import { and } from "../src/protocol/and.ts";
import { lessThanBit } from "../src/protocol/compare.ts";
import { reconstructBoolForTesting, runThreeParties, shareArithForTesting, shareBoolForTesting } from "../src/protocol/local-harness.ts";
import { multiply, multiplyMany } from "../src/protocol/multiply.ts";
import { setupParty, PRF_TAG, type PartyExchange } from "../src/protocol/party.ts";
import { createPrfPool } from "../src/protocol/prf-pool.ts";
import { reconstruct } from "../src/sharing.ts";

/** A party whose peers are silent except for the seed round: enough to draw its PRF streams. */
async function loneParty(pool?: ReturnType<typeof createPrfPool>) {
  const exchange: PartyExchange = { send: async () => undefined, receive: async () => Buffer.alloc(32, 9) };
  return setupParty({ index: 0, exchange, randomSeed: Buffer.alloc(32, 4), prfPool: pool });
}

/** Index of the first word where a and b differ (or where one ends), −1 when equal: a failure names it instead of diffing megabytes. */
function firstDifference(a: BigUint64Array, b: BigUint64Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

const randomWords = (n: number) => new BigUint64Array(randomBytes(8 * n).buffer);
const seeds = [randomBytes(32), randomBytes(32), randomBytes(32)] as const;

describe("PRF worker threads", () => {
  const pools = [createPrfPool({ workers: 2, minWords: 1 }), createPrfPool({ workers: 3, minWords: 1 })];
  after(() => Promise.all(pools.map((p) => p.close())));

  it("draw the streams a party draws on its event loop, word for word, split at any length (pieces of up to 2^17 words, odd ends)", async () => {
    const plain = await loneParty();
    for (const pool of pools) {
      const party = await loneParty(pool);
      for (const n of [1, 2, 3, 131_071, 131_072, 131_073, 300_001]) {
        const draw = party.prf.inBackground(7, PRF_TAG.ZERO_ARITH, n);
        assert.ok(draw !== undefined, `a pool of ${pool.workers} takes ${n} words`);
        for (let j = 0; j < draw.pieces; j++) await draw.ready(j);
        assert.equal(firstDifference(draw.next, plain.prf.withNext(7, PRF_TAG.ZERO_ARITH, n)), -1, `next stream, ${n} words, ${pool.workers} workers`);
        assert.equal(firstDifference(draw.prev, plain.prf.withPrev(7, PRF_TAG.ZERO_ARITH, n)), -1, `prev stream, ${n} words, ${pool.workers} workers`);
        draw.release();
      }
    }
  });

  it("reuse a released draw's memory without mixing draws: a later, shorter draw is its own stream", async () => {
    const party = await loneParty(pools[0]);
    const plain = await loneParty();
    const first = party.prf.inBackground(1, PRF_TAG.ZERO_XOR, 200_000)!;
    for (let j = 0; j < first.pieces; j++) await first.ready(j);
    first.release();
    await new Promise((resolve) => setImmediate(resolve));
    const second = party.prf.inBackground(2, PRF_TAG.ZERO_XOR, 150_000)!;
    for (let j = 0; j < second.pieces; j++) await second.ready(j);
    assert.equal(second.next.buffer, first.next.buffer, "the released memory is reused");
    assert.equal(firstDifference(second.next, plain.prf.withNext(2, PRF_TAG.ZERO_XOR, 150_000)), -1);
    assert.equal(firstDifference(second.prev, plain.prf.withPrev(2, PRF_TAG.ZERO_XOR, 150_000)), -1);
    second.release();
  });

  it("give every party the same shares with or without threads: products, ANDs and comparisons exact", async () => {
    const n = 5_003;
    const x = randomWords(n);
    const y = randomWords(n);
    const X = shareArithForTesting(x);
    const Y = shareArithForTesting(y);
    const XB = shareBoolForTesting(x);
    const YB = shareBoolForTesting(y);
    // Small values: the comparison's range is |x − y| < 2^63.
    const u = BigUint64Array.from(x, (w) => w >> 2n);
    const v = BigUint64Array.from(y, (w) => w >> 2n);
    const U = shareArithForTesting(u);
    const V = shareArithForTesting(v);
    // A product round of two pieces and more.
    const w = randomWords(140_001);
    const W = shareArithForTesting(w);
    const job = (p: Parameters<Parameters<typeof runThreeParties>[0]>[0]) =>
      Promise.all([multiply(p, X[p.index], Y[p.index]), multiplyMany(p, [[X[p.index], Y[p.index]], [Y[p.index], Y[p.index]]]), and(p, XB[p.index], YB[p.index]), lessThanBit(p, U[p.index], V[p.index]), multiply(p, W[p.index], W[p.index])]);
    const plain = await runThreeParties(job, { seeds });
    for (const pool of pools) {
      const threaded = await runThreeParties(job, { seeds, prfPool: pool });
      const words = (r: typeof plain) => r.flat(2).flatMap((share) => [share.a, share.b]);
      words(threaded).forEach((w, k) => assert.equal(firstDifference(w, words(plain)[k]), -1, `${pool.workers} workers: vector ${k} as on the event loop`));
    }
    const [product, many, anded, less, square] = [0, 1, 2, 3, 4].map((k) => plain.map((r) => r[k]));
    assert.deepEqual(reconstruct(product as never), BigUint64Array.from(x, (w, i) => BigInt.asUintN(64, w * y[i])));
    assert.deepEqual(reconstruct((many as never[]).map((m: never[]) => m[1]) as never), BigUint64Array.from(y, (w) => BigInt.asUintN(64, w * w)));
    assert.equal(firstDifference(reconstruct(square as never), BigUint64Array.from(w, (t) => BigInt.asUintN(64, t * t))), -1);
    assert.deepEqual(reconstructBoolForTesting(anded as never), BigUint64Array.from(x, (w, i) => w & y[i]));
    assert.deepEqual(reconstructBoolForTesting(less as never).map((w) => w & 1n), BigUint64Array.from(u, (w, i) => (w < v[i] ? 1n : 0n)));
  });

  it("keep small draws on the event loop, and a pool of 1 worker (the event loop) has no threads", async () => {
    const pool = createPrfPool({ workers: 2 });
    const single = createPrfPool({ workers: 1 });
    try {
      assert.equal(pool.takes(65_535), false);
      assert.equal(pool.takes(65_536), true);
      assert.equal(single.takes(1 << 20), false);
      assert.equal((await loneParty(single)).prf.inBackground(1, 1, 1 << 20), undefined);
      assert.throws(() => createPrfPool({ workers: 0 }), /workers must be an integer of at least 1, got 0/);
    } finally {
      await Promise.all([pool.close(), single.close()]);
    }
  });

  it("refuse a draw a thread cannot fill, naming the thread and why, and keep drawing after", async () => {
    const pool = createPrfPool({ workers: 2, minWords: 1 });
    try {
      const keys = { next: Buffer.alloc(32, 1), prev: Buffer.alloc(32, 2) };
      const bad = pool.draw({ next: Buffer.alloc(5), prev: keys.prev }, 1, 1, 10);
      await assert.rejects(bad.ready(0), (err: unknown) => err instanceof MpcError && err.code === "INTERNAL" && /PRF worker thread 0: .*key/i.test(err.message));
      bad.release();
      const good = pool.draw(keys, 2, 1, 10);
      await good.ready(0);
      good.release();
    } finally {
      await pool.close();
    }
  });

  it("refuse the pieces not yet drawn when closed", async () => {
    const pool = createPrfPool({ workers: 2, minWords: 1 });
    const draw = pool.draw({ next: Buffer.alloc(32, 1), prev: Buffer.alloc(32, 2) }, 1, 1, 4_000_000);
    await pool.close();
    await assert.rejects(
      Promise.all(Array.from({ length: draw.pieces }, (_, j) => draw.ready(j))),
      (err: unknown) => err instanceof MpcError && err.code === "INTERNAL" && /PRF pool closed/.test(err.message),
    );
    assert.throws(() => pool.draw({ next: Buffer.alloc(32, 1), prev: Buffer.alloc(32, 2) }, 2, 1, 10), /PRF pool closed/);
  });
});
