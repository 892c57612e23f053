/**
 * Element-wise vector kernels over Z_2^64 (arithmetic) and 64-bit words
 * (boolean). Every method returns `out` (allocated when omitted); inputs have
 * equal lengths and are never modified. `out` may alias an input.
 *
 * Two implementations: `wasmKernels` (WebAssembly, the fast path) and
 * `bigintKernels` (plain TypeScript, the reference the tests compare against).
 */
export interface VectorKernels {
  /** Implementation name, for logs and benchmarks. */
  readonly name: string;
  /** x + y mod 2^64. */
  add(x: BigUint64Array, y: BigUint64Array, out?: BigUint64Array): BigUint64Array;
  /** x − y mod 2^64. */
  sub(x: BigUint64Array, y: BigUint64Array, out?: BigUint64Array): BigUint64Array;
  /** x · y mod 2^64. */
  mul(x: BigUint64Array, y: BigUint64Array, out?: BigUint64Array): BigUint64Array;
  /** x ⊕ y. */
  xor(x: BigUint64Array, y: BigUint64Array, out?: BigUint64Array): BigUint64Array;
  /** x ∧ y. */
  and(x: BigUint64Array, y: BigUint64Array, out?: BigUint64Array): BigUint64Array;
  /** x + c mod 2^64 (c reduced mod 2^64). */
  addScalar(x: BigUint64Array, c: bigint, out?: BigUint64Array): BigUint64Array;
  /** x · c mod 2^64 (c reduced mod 2^64). */
  mulScalar(x: BigUint64Array, c: bigint, out?: BigUint64Array): BigUint64Array;
  /** x ⊕ c. */
  xorScalar(x: BigUint64Array, c: bigint, out?: BigUint64Array): BigUint64Array;
  /** x ∧ c. */
  andScalar(x: BigUint64Array, c: bigint, out?: BigUint64Array): BigUint64Array;
  /** Logical left shift of each word by k ∈ [0, 63]. */
  shl(x: BigUint64Array, k: number, out?: BigUint64Array): BigUint64Array;
  /** Logical right shift of each word by k ∈ [0, 63]. */
  shr(x: BigUint64Array, k: number, out?: BigUint64Array): BigUint64Array;
  /**
   * Replicated-multiplication cross terms with the zero share folded in:
   * xa·ya + xa·yb + xb·ya + fNext − fPrev.
   */
  mulCross(
    xa: BigUint64Array, xb: BigUint64Array, ya: BigUint64Array, yb: BigUint64Array,
    fNext: BigUint64Array, fPrev: BigUint64Array, out?: BigUint64Array,
  ): BigUint64Array;
  /** Replicated-AND cross terms with the XOR zero share: (xa∧ya) ⊕ (xa∧yb) ⊕ (xb∧ya) ⊕ fNext ⊕ fPrev. */
  andCross(
    xa: BigUint64Array, xb: BigUint64Array, ya: BigUint64Array, yb: BigUint64Array,
    fNext: BigUint64Array, fPrev: BigUint64Array, out?: BigUint64Array,
  ): BigUint64Array;
  /** z + fNext − fPrev mod 2^64. */
  maskAdd(z: BigUint64Array, fNext: BigUint64Array, fPrev: BigUint64Array, out?: BigUint64Array): BigUint64Array;
  /** z ⊕ fNext ⊕ fPrev. */
  maskXor(z: BigUint64Array, fNext: BigUint64Array, fPrev: BigUint64Array, out?: BigUint64Array): BigUint64Array;
  /** ⌊(a + b mod 2^64) / d⌋ − r mod 2^64, unsigned division; 1 ≤ d < 2^64. */
  truncSum(a: BigUint64Array, b: BigUint64Array, r: BigUint64Array, d: bigint, out?: BigUint64Array): BigUint64Array;
  /** −⌊(−x mod 2^64) / d⌋ mod 2^64, unsigned division; 1 ≤ d < 2^64. */
  truncNeg(x: BigUint64Array, d: bigint, out?: BigUint64Array): BigUint64Array;
}

/** Throws a RangeError unless all vectors have the length of the first. */
export function assertSameLengths(...vectors: BigUint64Array[]): number {
  const n = vectors[0].length;
  for (const v of vectors) {
    if (v.length !== n) throw new RangeError(`kernel operands differ in length: ${n} vs ${v.length}`);
  }
  return n;
}

/** log2(d) if d is a power of two (1 ≤ d < 2^64), else −1. */
export function log2Exact(d: bigint): number {
  if (d <= 0n || (d & (d - 1n)) !== 0n) return -1;
  return d.toString(2).length - 1;
}

/** Validates a truncation divisor: 1 ≤ d < 2^64. */
export function assertDivisor(d: bigint): void {
  if (d < 1n || d >= 1n << 64n) throw new RangeError(`divisor out of range: ${d}`);
}
