import { assertSameLengths, type VectorKernels } from "./vector-kernels.ts";
import { wasmKernels } from "./wasm-kernels.ts";

// The default kernels. Measured on the project's 2-core machine (Node 22),
// V8's optimising compiler lowers `BigInt.asUintN(64, …)` arithmetic and
// bitwise operations on BigUint64Array elements to plain 64-bit machine
// instructions (no BigInt allocation), and that beats copying operands into
// WebAssembly memory and back (1M-element cross term: ~6 ms here vs ~17 ms).
// V8 does not lower BigInt shifts or division, so shifts run on 32-bit limbs
// (Int32Array views, so loads stay small integers) and the truncation
// divisions run in WebAssembly. Each loop is its own monomorphic function: a
// shared higher-order loop would defeat the lowering.

function output(n: number, out: BigUint64Array | undefined): BigUint64Array {
  if (out === undefined) return new BigUint64Array(n);
  if (out.length !== n) throw new RangeError(`kernel output has length ${out.length}, expected ${n}`);
  return out;
}

function add(x: BigUint64Array, y: BigUint64Array, out?: BigUint64Array): BigUint64Array {
  const n = assertSameLengths(x, y);
  const o = output(n, out);
  for (let i = 0; i < n; i++) o[i] = BigInt.asUintN(64, x[i] + y[i]);
  return o;
}

function sub(x: BigUint64Array, y: BigUint64Array, out?: BigUint64Array): BigUint64Array {
  const n = assertSameLengths(x, y);
  const o = output(n, out);
  for (let i = 0; i < n; i++) o[i] = BigInt.asUintN(64, x[i] - y[i]);
  return o;
}

function mul(x: BigUint64Array, y: BigUint64Array, out?: BigUint64Array): BigUint64Array {
  const n = assertSameLengths(x, y);
  const o = output(n, out);
  for (let i = 0; i < n; i++) o[i] = BigInt.asUintN(64, x[i] * y[i]);
  return o;
}

function xor(x: BigUint64Array, y: BigUint64Array, out?: BigUint64Array): BigUint64Array {
  const n = assertSameLengths(x, y);
  const o = output(n, out);
  for (let i = 0; i < n; i++) o[i] = x[i] ^ y[i];
  return o;
}

function and(x: BigUint64Array, y: BigUint64Array, out?: BigUint64Array): BigUint64Array {
  const n = assertSameLengths(x, y);
  const o = output(n, out);
  for (let i = 0; i < n; i++) o[i] = x[i] & y[i];
  return o;
}

function addScalar(x: BigUint64Array, c: bigint, out?: BigUint64Array): BigUint64Array {
  const o = output(x.length, out);
  const k = BigInt.asUintN(64, c);
  for (let i = 0; i < x.length; i++) o[i] = BigInt.asUintN(64, x[i] + k);
  return o;
}

function mulScalar(x: BigUint64Array, c: bigint, out?: BigUint64Array): BigUint64Array {
  const o = output(x.length, out);
  const k = BigInt.asUintN(64, c);
  for (let i = 0; i < x.length; i++) o[i] = BigInt.asUintN(64, x[i] * k);
  return o;
}

function xorScalar(x: BigUint64Array, c: bigint, out?: BigUint64Array): BigUint64Array {
  const o = output(x.length, out);
  const k = BigInt.asUintN(64, c);
  for (let i = 0; i < x.length; i++) o[i] = x[i] ^ k;
  return o;
}

function andScalar(x: BigUint64Array, c: bigint, out?: BigUint64Array): BigUint64Array {
  const o = output(x.length, out);
  const k = BigInt.asUintN(64, c);
  for (let i = 0; i < x.length; i++) o[i] = x[i] & k;
  return o;
}

function limbs(v: BigUint64Array): Int32Array {
  return new Int32Array(v.buffer, v.byteOffset, v.length * 2);
}

function checkShift(k: number): void {
  if (!Number.isInteger(k) || k < 0 || k > 63) throw new RangeError(`shift out of range: ${k}`);
}

// Little-endian limbs: word i is (lo = X[2i], hi = X[2i+1]). Reads finish
// before writes for each word, so `out` may alias `x`.
function shl(x: BigUint64Array, k: number, out?: BigUint64Array): BigUint64Array {
  checkShift(k);
  const o = output(x.length, out);
  const X = limbs(x);
  const O = limbs(o);
  const m = X.length;
  if (k === 0) {
    O.set(X);
  } else if (k < 32) {
    const r = 32 - k;
    for (let i = 0; i < m; i += 2) {
      const lo = X[i];
      const hi = X[i + 1];
      O[i] = lo << k;
      O[i + 1] = (hi << k) | (lo >>> r);
    }
  } else {
    const s = k - 32;
    for (let i = 0; i < m; i += 2) {
      O[i + 1] = X[i] << s;
      O[i] = 0;
    }
  }
  return o;
}

function shr(x: BigUint64Array, k: number, out?: BigUint64Array): BigUint64Array {
  checkShift(k);
  const o = output(x.length, out);
  const X = limbs(x);
  const O = limbs(o);
  const m = X.length;
  if (k === 0) {
    O.set(X);
  } else if (k < 32) {
    const l = 32 - k;
    for (let i = 0; i < m; i += 2) {
      const lo = X[i];
      const hi = X[i + 1];
      O[i] = (lo >>> k) | (hi << l);
      O[i + 1] = hi >>> k;
    }
  } else {
    const s = k - 32;
    for (let i = 0; i < m; i += 2) {
      O[i] = X[i + 1] >>> s;
      O[i + 1] = 0;
    }
  }
  return o;
}

function mulCross(
  xa: BigUint64Array, xb: BigUint64Array, ya: BigUint64Array, yb: BigUint64Array,
  fNext: BigUint64Array, fPrev: BigUint64Array, out?: BigUint64Array,
): BigUint64Array {
  const n = assertSameLengths(xa, xb, ya, yb, fNext, fPrev);
  const o = output(n, out);
  for (let i = 0; i < n; i++) {
    const y = ya[i];
    o[i] = BigInt.asUintN(64, xa[i] * (y + yb[i]) + xb[i] * y + fNext[i] - fPrev[i]);
  }
  return o;
}

function andCross(
  xa: BigUint64Array, xb: BigUint64Array, ya: BigUint64Array, yb: BigUint64Array,
  fNext: BigUint64Array, fPrev: BigUint64Array, out?: BigUint64Array,
): BigUint64Array {
  const n = assertSameLengths(xa, xb, ya, yb, fNext, fPrev);
  const o = output(n, out);
  for (let i = 0; i < n; i++) {
    const y = ya[i];
    o[i] = (xa[i] & (y ^ yb[i])) ^ (xb[i] & y) ^ fNext[i] ^ fPrev[i];
  }
  return o;
}

function maskAdd(z: BigUint64Array, fNext: BigUint64Array, fPrev: BigUint64Array, out?: BigUint64Array): BigUint64Array {
  const n = assertSameLengths(z, fNext, fPrev);
  const o = output(n, out);
  for (let i = 0; i < n; i++) o[i] = BigInt.asUintN(64, z[i] + fNext[i] - fPrev[i]);
  return o;
}

function maskXor(z: BigUint64Array, fNext: BigUint64Array, fPrev: BigUint64Array, out?: BigUint64Array): BigUint64Array {
  const n = assertSameLengths(z, fNext, fPrev);
  const o = output(n, out);
  for (let i = 0; i < n; i++) o[i] = z[i] ^ fNext[i] ^ fPrev[i];
  return o;
}

/**
 * The default kernels: V8-lowered BigInt64 loops, 32-bit-limb shifts and
 * WebAssembly divisions (see the comment at the top of this file).
 *
 * @example
 * typedKernels.shl(BigUint64Array.of(1n), 63) // [2n ** 63n]
 */
export const typedKernels: VectorKernels = {
  name: "typed",
  add,
  sub,
  mul,
  xor,
  and,
  addScalar,
  mulScalar,
  xorScalar,
  andScalar,
  shl,
  shr,
  mulCross,
  andCross,
  maskAdd,
  maskXor,
  truncSum: wasmKernels.truncSum,
  truncNeg: wasmKernels.truncNeg,
};
