import type { Party } from "./party.ts";
import { reshareArith } from "./reshare.ts";
import { shareLength, type ArithShare } from "./shares.ts";

/**
 * Inner products Σ_r x_r·y_r over segments of rows, for several pairs, in
 * ONE round and with no message per row: each party adds its cross terms
 * x_i·y_i + x_i·y_(i+1) + x_(i+1)·y_i over a segment (a 3-out-of-3 sharing
 * of the segment's sum) and one reshare makes the sums replicated. One ring
 * element per party per pair and segment. `ends` are the segments' end rows
 * (the last is the vectors' length); the result of a pair holds one element
 * per segment.
 *
 * @example
 * const [maskedSum] = await dotProducts(party, [[mask, values]], [values.a.length]);
 */
export async function dotProducts(party: Party, pairs: readonly (readonly [ArithShare, ArithShare])[], ends: readonly number[]): Promise<ArithShare[]> {
  const segments = ends.length;
  const local = new BigUint64Array(pairs.length * segments);
  pairs.forEach(([x, y], p) => {
    const n = shareLength(x);
    if (shareLength(y) !== n || ends[segments - 1] !== n) throw new RangeError(`inner product of vectors of lengths ${n} and ${shareLength(y)} over segments ending at ${ends[segments - 1]}`);
    let from = 0;
    ends.forEach((end, s) => {
      local[p * segments + s] = crossSum(x.a, x.b, y.a, y.b, from, end);
      from = end;
    });
  });
  const summed = await reshareArith(party, local);
  return pairs.map((_, p) => ({ a: summed.a.subarray(p * segments, (p + 1) * segments), b: summed.b.subarray(p * segments, (p + 1) * segments) }));
}

/**
 * Σ_{from ≤ r < end} x_i·y_i + x_i·y_(i+1) + x_(i+1)·y_i mod 2^64, summed as
 * it goes: no vector of cross terms is made (V8 lowers BigInt.asUintN(64, …)
 * products and sums to machine arithmetic).
 */
function crossSum(xa: BigUint64Array, xb: BigUint64Array, ya: BigUint64Array, yb: BigUint64Array, from: number, end: number): bigint {
  let acc = 0n;
  for (let r = from; r < end; r++) {
    const y = ya[r];
    acc = BigInt.asUintN(64, acc + xa[r] * (y + yb[r]) + xb[r] * y);
  }
  return acc;
}
