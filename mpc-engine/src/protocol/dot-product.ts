import type { Party } from "./party.ts";
import { reshareArith } from "./reshare.ts";
import { shareLength, type ArithShare } from "./shares.ts";

/** Inner products of several pairs over segments, with this party's components of each first factor's segment sums. */
export interface DotProducts {
  /** Per pair, Σ_r x_r·y_r over each segment (replicated shares, one element per segment). */
  dots: ArithShare[];
  /** Per pair, this party's components of Σ_r x_r over each segment: read in the same pass, for free. */
  firstSums: { a: bigint[]; b: bigint[] }[];
}

/**
 * Inner products Σ_r x_r·y_r over segments of rows, for several pairs, in
 * ONE round and with no message per row: each party adds its cross terms
 * x_i·y_i + x_i·y_(i+1) + x_(i+1)·y_i over a segment (a 3-out-of-3 sharing
 * of the segment's sum) and one reshare makes the sums replicated. One ring
 * element per party per pair and segment. `ends` are the segments' end rows
 * (the last is the vectors' length); the result of a pair holds one element
 * per segment. The same pass over x sums its components (a mask's count).
 *
 * @example
 * const { dots: [maskedSum], firstSums: [maskCount] } = await dotProducts(party, [[mask, values]], [values.a.length]);
 */
export async function dotProducts(party: Party, pairs: readonly (readonly [ArithShare, ArithShare])[], ends: readonly number[]): Promise<DotProducts> {
  const segments = ends.length;
  const local = new BigUint64Array(pairs.length * segments);
  // One slot per pass: [Σ cross terms, Σ x.a, Σ x.b]. V8 lowers typed-array element arithmetic to machine
  // words; a BigInt loop variable would stay a heap BigInt (measured 1.6× slower over 1M rows).
  const acc = new BigUint64Array(3);
  const firstSums = pairs.map(([x, y]) => {
    const n = shareLength(x);
    if (shareLength(y) !== n || ends[segments - 1] !== n) throw new RangeError(`inner product of vectors of lengths ${n} and ${shareLength(y)} over segments ending at ${ends[segments - 1]}`);
    return { a: new Array<bigint>(segments), b: new Array<bigint>(segments) };
  });
  pairs.forEach(([x, y], p) => {
    let from = 0;
    ends.forEach((end, s) => {
      crossSum(x.a, x.b, y.a, y.b, from, end, acc);
      local[p * segments + s] = acc[0];
      firstSums[p].a[s] = acc[1];
      firstSums[p].b[s] = acc[2];
      from = end;
    });
  });
  const summed = await reshareArith(party, local);
  const dots = pairs.map((_, p) => ({ a: summed.a.subarray(p * segments, (p + 1) * segments), b: summed.b.subarray(p * segments, (p + 1) * segments) }));
  return { dots, firstSums };
}

/**
 * Into `acc`: [Σ_{from ≤ r < end} x_i·y_i + x_i·y_(i+1) + x_(i+1)·y_i, Σ x_i, Σ x_(i+1)] mod 2^64, summed
 * as it goes: no vector of cross terms is made.
 */
function crossSum(xa: BigUint64Array, xb: BigUint64Array, ya: BigUint64Array, yb: BigUint64Array, from: number, end: number, acc: BigUint64Array): void {
  acc[0] = 0n;
  acc[1] = 0n;
  acc[2] = 0n;
  for (let r = from; r < end; r++) {
    const y = ya[r];
    const a = xa[r];
    const b = xb[r];
    acc[0] = BigInt.asUintN(64, acc[0] + a * (y + yb[r]) + b * y);
    acc[1] = BigInt.asUintN(64, acc[1] + a);
    acc[2] = BigInt.asUintN(64, acc[2] + b);
  }
}
