import type { HostShare } from "../sharing.ts";

/**
 * One party's replicated arithmetic share over Z_2^64: party i holds
 * a = x_i and b = x_{i+1}, with x = x0 + x1 + x2 mod 2^64.
 */
export type ArithShare = HostShare;

/**
 * One party's replicated boolean share of 64-bit words: party i holds
 * a = w_i and b = w_{i+1}, with w = w0 ⊕ w1 ⊕ w2 (bit j of a word is bit j of
 * the value: one word per element).
 */
export interface BoolShare {
  a: BigUint64Array;
  b: BigUint64Array;
}

/**
 * One share vector holding several in order (both components copied once).
 *
 * @example
 * const rows = concatShares([datasetA, datasetB]);
 */
export function concatShares(parts: readonly ArithShare[]): ArithShare {
  const n = parts.reduce((s, p) => s + p.a.length, 0);
  const out = { a: new BigUint64Array(n), b: new BigUint64Array(n) };
  let offset = 0;
  for (const p of parts) {
    out.a.set(p.a, offset);
    out.b.set(p.b, offset);
    offset += p.a.length;
  }
  return out;
}

/** Element count of a share, after checking both components agree. */
export function shareLength(x: { a: BigUint64Array; b: BigUint64Array }): number {
  if (x.a.length !== x.b.length) throw new RangeError(`share components differ in length: ${x.a.length} vs ${x.b.length}`);
  return x.a.length;
}
