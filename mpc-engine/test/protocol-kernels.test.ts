import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { bigintKernels, typedKernels, wasmKernels, type VectorKernels } from "../src/kernels/index.ts";

const EDGES = [0n, 1n, (1n << 64n) - 1n, (1n << 63n) - 1n, 1n << 63n, (1n << 63n) + 1n, 2n, 0xffffffffn, 1n << 32n];
const word = fc.oneof(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.constantFrom(...EDGES));
// Lengths straddle the WebAssembly chunk (16,384 words) now and then.
const lengthArb = fc.oneof(fc.integer({ min: 0, max: 40 }), fc.constantFrom(16_383, 16_384, 16_385, 40_000));

function vectors(count: number) {
  return lengthArb.chain((n) =>
    fc.tuple(
      ...Array.from({ length: count }, () => fc.array(word, { minLength: Math.min(n, 40), maxLength: Math.min(n, 40) })),
    ).map((arrays) =>
      arrays.map((a) => {
        // Long vectors: tile the random prefix, keeping the run fast.
        const v = new BigUint64Array(n);
        for (let i = 0; i < n; i++) v[i] = a.length === 0 ? BigInt(i) * 0x9e3779b97f4a7c15n : a[i % a.length] ^ BigInt(i);
        return v;
      }),
    ),
  );
}

const FAST: VectorKernels[] = [wasmKernels, typedKernels];

for (const fast of FAST) {
  describe(`${fast.name} kernels match the BigInt reference`, () => {
    const runs = { numRuns: 30 };
    it("add, sub, mul, xor, and", () => {
      fc.assert(
        fc.property(vectors(2), ([x, y]) => {
          for (const op of ["add", "sub", "mul", "xor", "and"] as const) {
            assert.deepEqual(fast[op](x, y), bigintKernels[op](x, y), op);
          }
        }),
        runs,
      );
    });

    it("scalar operations and shifts by every count", () => {
      fc.assert(
        fc.property(vectors(1), word, fc.integer({ min: 0, max: 63 }), ([x], c, k) => {
          for (const op of ["addScalar", "mulScalar", "xorScalar", "andScalar"] as const) {
            assert.deepEqual(fast[op](x, c), bigintKernels[op](x, c), op);
          }
          assert.deepEqual(fast.shl(x, k), bigintKernels.shl(x, k), `shl ${k}`);
          assert.deepEqual(fast.shr(x, k), bigintKernels.shr(x, k), `shr ${k}`);
        }),
        runs,
      );
      const x = BigUint64Array.from(EDGES);
      for (let k = 0; k < 64; k++) {
        assert.deepEqual(fast.shl(x, k), bigintKernels.shl(x, k));
        assert.deepEqual(fast.shr(x, k), bigintKernels.shr(x, k));
      }
    });

    it("protocol kernels: cross terms, masks, truncation", () => {
      fc.assert(
        fc.property(vectors(6), fc.oneof(fc.constantFrom(1n, 2n, 1n << 20n, 10n, 10n ** 6n, 10n ** 18n, 1n << 62n), word.filter((d) => d > 0n)), (v, d) => {
          const [xa, xb, ya, yb, f, g] = v;
          assert.deepEqual(fast.mulCross(xa, xb, ya, yb, f, g), bigintKernels.mulCross(xa, xb, ya, yb, f, g));
          assert.deepEqual(fast.andCross(xa, xb, ya, yb, f, g), bigintKernels.andCross(xa, xb, ya, yb, f, g));
          assert.deepEqual(fast.maskAdd(xa, f, g), bigintKernels.maskAdd(xa, f, g));
          assert.deepEqual(fast.maskXor(xa, f, g), bigintKernels.maskXor(xa, f, g));
          assert.deepEqual(fast.truncSum(xa, xb, ya, d), bigintKernels.truncSum(xa, xb, ya, d));
          assert.deepEqual(fast.truncNeg(xa, d), bigintKernels.truncNeg(xa, d));
        }),
        runs,
      );
    });

    it("writes into `out`, which may alias an input", () => {
      const x = BigUint64Array.of(1n, 2n, (1n << 64n) - 1n);
      const y = BigUint64Array.of(5n, 6n, 7n);
      const expected = bigintKernels.mul(x, y);
      const out = fast.mul(x, y, x);
      assert.equal(out, x);
      assert.deepEqual(x, expected);
      assert.throws(() => fast.add(x, BigUint64Array.of(1n)), RangeError);
    });
  });
}
