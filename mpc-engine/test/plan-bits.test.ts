import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { reconstructBoolForTesting, runThreeParties, shareArithForTesting, shareBoolForTesting } from "../src/protocol/local-harness.ts";
import { dotProducts } from "../src/protocol/dot-product.ts";
import { clearTail, packPlanes, unpackBits, wordsFor } from "../src/plan/bits.ts";
import { countBits } from "../src/plan/count-bits.ts";
import { decompose, lessThanPublic } from "../src/plan/public-tests.ts";
import { toRing } from "../src/ring.ts";
import { reconstruct } from "../src/sharing.ts";

// The packed row-bit operators of the plan IR on three parties: packing,
// the w-bit decomposition, tests against public constants sharing their
// prefixes, the carry-save count and the segmented inner product.

/** Row r's bit of a packed plane. */
const bitOf = (plane: BigUint64Array, r: number): bigint => (plane[r >>> 6] >> BigInt(r & 63)) & 1n;

describe("packed row bits", () => {
  it("packs bit planes and unpacks them, bits beyond the rows 0", () => {
    fc.assert(
      fc.property(fc.array(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), { minLength: 1, maxLength: 200 }), fc.integer({ min: 1, max: 64 }), (xs, width) => {
        const v = BigUint64Array.from(xs);
        const planes = packPlanes(v, width);
        assert.equal(planes.length, width);
        planes.forEach((p, j) => {
          assert.equal(p.length, wordsFor(xs.length));
          assert.deepEqual(unpackBits(p, xs.length), BigUint64Array.from(xs, (x) => (x >> BigInt(j)) & 1n));
          for (let r = xs.length; r < 64 * p.length; r++) assert.equal(bitOf(p, r), 0n);
        });
      }),
      { numRuns: 50 },
    );
  });

  it("decomposes x − lo into w planes and tests them against public constants", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 40 }).chain((width) =>
          fc.record({
            width: fc.constant(width),
            lo: fc.bigInt({ min: -(1n << 40n), max: 1n << 40n }),
            ds: fc.array(fc.bigInt({ min: 0n, max: (1n << BigInt(width)) - 1n }), { minLength: 1, maxLength: 150 }),
            ts: fc.array(fc.bigInt({ min: 1n, max: (1n << BigInt(width)) - 1n }), { minLength: 0, maxLength: 12 }),
          }),
        ),
        async ({ width, lo, ds, ts }) => {
          const X = shareArithForTesting(BigUint64Array.from(ds, (d) => toRing(d + lo)));
          const out = await runThreeParties(async (party) => {
            const [planes] = await decompose(party, [{ x: X[party.index], lo, width }]);
            const tests = width === 1 ? [] : await lessThanPublic(party, ts.map((t) => ({ planes, t })));
            return { planes, tests };
          });
          for (let j = 0; j < width; j++) {
            const plane = reconstructBoolForTesting(out.map((o) => o.planes[j]));
            ds.forEach((d, r) => assert.equal(bitOf(plane, r), (d >> BigInt(j)) & 1n, `bit ${j} of row ${r}`));
          }
          if (width === 1) return;
          ts.forEach((t, k) => {
            const lt = reconstructBoolForTesting(out.map((o) => o.tests[k]));
            ds.forEach((d, r) => assert.equal(bitOf(lt, r), d < t ? 1n : 0n, `[${d} < ${t}]`));
          });
        },
      ),
      { numRuns: 40 },
    );
  });

  it("counts set bits of many vectors, over several words and folds", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 5000 }),
        // Up to 70 vectors: enough lanes left after the reduction to fold them.
        fc.array(fc.integer({ min: 0, max: 100 }), { minLength: 1, maxLength: 70 }).chain((d) => fc.constantFrom(d, [...d, ...d, ...d, ...d].slice(0, 70))),
        fc.integer(),
        async (rows, densities, seed) => {
          let state = seed >>> 0;
          const random = (): number => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32);
          const vectors = densities.map((p) => {
            const v = new BigUint64Array(wordsFor(rows));
            for (let r = 0; r < rows; r++) if (random() < p / 100) v[r >>> 6] |= 1n << BigInt(r & 63);
            return v;
          });
          // Shared with random bits beyond the rows, cleared by clearTail as the plan does.
          const shared = vectors.map((v) => shareBoolForTesting(v.map((w, i) => (i === v.length - 1 ? w | (rows % 64 === 0 ? 0n : ~0n << BigInt(rows % 64)) & ((1n << 64n) - 1n) : w))));
          // Each vector alone, and the first three as planes of weights 1, 2, 4.
          const out = await runThreeParties((party) => {
            const cleared = shared.map((s) => clearTail(party, s[party.index], rows));
            return countBits(party, [...cleared, cleared.slice(0, 3)]);
          });
          const counts = reconstruct(out);
          const popcount = (v: BigUint64Array): bigint => BigInt([...v].reduce((n, w) => n + w.toString(2).replaceAll("0", "").length, 0));
          vectors.forEach((v, k) => assert.equal(counts[k], popcount(v), `vector ${k}`));
          assert.equal(counts[vectors.length], vectors.slice(0, 3).reduce((n, v, j) => n + (popcount(v) << BigInt(j)), 0n), "weighted planes");
        },
      ),
      { numRuns: 25 },
    );
  });

  it("takes inner products over segments in one round", async () => {
    const x = BigUint64Array.from({ length: 100 }, (_, i) => toRing(BigInt(i) - 50n));
    const y = BigUint64Array.from({ length: 100 }, (_, i) => BigInt((i * 37) % 11));
    const X = shareArithForTesting(x);
    const Y = shareArithForTesting(y);
    const ends = [10, 64, 100];
    const out = await runThreeParties((party) => dotProducts(party, [[X[party.index], Y[party.index]]], ends));
    const sums = reconstruct(out.map((o) => o.dots[0]));
    let from = 0;
    ends.forEach((end, s) => {
      let expected = 0n;
      for (let r = from; r < end; r++) expected += (BigInt(r) - 50n) * y[r];
      assert.equal(sums[s], toRing(expected));
      // The first factor's segment sums, from each party's components (the a of parties 0, 1, 2 are its three parts).
      const parts = out.map((o) => o.firstSums[0]);
      assert.equal(toRing(parts.reduce((t, p) => t + p.a[s], 0n)), toRing(x.slice(from, end).reduce((t, v) => t + v, 0n)));
      parts.forEach((p, i) => assert.equal(p.b[s], parts[(i + 1) % 3].a[s], `party ${i}'s second component is party ${(i + 1) % 3}'s first`));
      from = end;
    });
  });
});
