import { assertDivisor, assertSameLengths, type VectorKernels } from "./vector-kernels.ts";

// The reference implementation: one BigInt operation per element. Correct by
// inspection and far too slow for the protocols' batch sizes; the tests check
// the WebAssembly kernels against it.

const M = (1n << 64n) - 1n;

function map2(x: BigUint64Array, y: BigUint64Array, out: BigUint64Array | undefined, f: (a: bigint, b: bigint) => bigint) {
  const n = assertSameLengths(x, y);
  const o = out ?? new BigUint64Array(n);
  assertSameLengths(x, o);
  for (let i = 0; i < n; i++) o[i] = f(x[i], y[i]);
  return o;
}

function map1(x: BigUint64Array, out: BigUint64Array | undefined, f: (a: bigint) => bigint) {
  const o = out ?? new BigUint64Array(x.length);
  assertSameLengths(x, o);
  for (let i = 0; i < x.length; i++) o[i] = f(x[i]);
  return o;
}

function checkShift(k: number): bigint {
  if (!Number.isInteger(k) || k < 0 || k > 63) throw new RangeError(`shift out of range: ${k}`);
  return BigInt(k);
}

/**
 * The pure-TypeScript kernels (BigInt per element): the reference for tests.
 *
 * @example
 * bigintKernels.add(BigUint64Array.of(2n ** 64n - 1n), BigUint64Array.of(2n)) // [1n]
 */
export const bigintKernels: VectorKernels = {
  name: "bigint",
  add: (x, y, out) => map2(x, y, out, (a, b) => a + b),
  sub: (x, y, out) => map2(x, y, out, (a, b) => a - b),
  mul: (x, y, out) => map2(x, y, out, (a, b) => a * b),
  xor: (x, y, out) => map2(x, y, out, (a, b) => a ^ b),
  and: (x, y, out) => map2(x, y, out, (a, b) => a & b),
  addScalar: (x, c, out) => map1(x, out, (a) => a + c),
  mulScalar: (x, c, out) => map1(x, out, (a) => a * c),
  xorScalar: (x, c, out) => map1(x, out, (a) => a ^ (c & M)),
  andScalar: (x, c, out) => map1(x, out, (a) => a & c & M),
  shl(x, k, out) {
    const s = checkShift(k);
    return map1(x, out, (a) => a << s);
  },
  shr(x, k, out) {
    const s = checkShift(k);
    return map1(x, out, (a) => a >> s);
  },
  mulCross(xa, xb, ya, yb, fNext, fPrev, out) {
    const n = assertSameLengths(xa, xb, ya, yb, fNext, fPrev);
    const o = out ?? new BigUint64Array(n);
    for (let i = 0; i < n; i++) o[i] = xa[i] * ya[i] + xa[i] * yb[i] + xb[i] * ya[i] + fNext[i] - fPrev[i];
    return o;
  },
  andCross(xa, xb, ya, yb, fNext, fPrev, out) {
    const n = assertSameLengths(xa, xb, ya, yb, fNext, fPrev);
    const o = out ?? new BigUint64Array(n);
    for (let i = 0; i < n; i++) o[i] = (xa[i] & ya[i]) ^ (xa[i] & yb[i]) ^ (xb[i] & ya[i]) ^ fNext[i] ^ fPrev[i];
    return o;
  },
  maskAdd(z, fNext, fPrev, out) {
    const n = assertSameLengths(z, fNext, fPrev);
    const o = out ?? new BigUint64Array(n);
    for (let i = 0; i < n; i++) o[i] = z[i] + fNext[i] - fPrev[i];
    return o;
  },
  maskXor(z, fNext, fPrev, out) {
    const n = assertSameLengths(z, fNext, fPrev);
    const o = out ?? new BigUint64Array(n);
    for (let i = 0; i < n; i++) o[i] = z[i] ^ fNext[i] ^ fPrev[i];
    return o;
  },
  truncSum(a, b, r, d, out) {
    assertDivisor(d);
    const n = assertSameLengths(a, b, r);
    const o = out ?? new BigUint64Array(n);
    for (let i = 0; i < n; i++) o[i] = ((a[i] + b[i]) & M) / d - r[i];
    return o;
  },
  truncNeg(x, d, out) {
    assertDivisor(d);
    return map1(x, out, (a) => -((-a & M) / d));
  },
};
