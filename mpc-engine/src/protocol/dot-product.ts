import { ringSum } from "../ring.ts";
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
  const k = party.kernels;
  const segments = ends.length;
  const local = new BigUint64Array(pairs.length * segments);
  let zeros = new BigUint64Array(0);
  pairs.forEach(([x, y], p) => {
    const n = shareLength(x);
    if (shareLength(y) !== n || ends[segments - 1] !== n) throw new RangeError(`inner product of vectors of lengths ${n} and ${shareLength(y)} over segments ending at ${ends[segments - 1]}`);
    if (zeros.length < n) zeros = new BigUint64Array(n);
    const cross = k.mulCross(x.a, x.b, y.a, y.b, zeros.subarray(0, n), zeros.subarray(0, n));
    let from = 0;
    ends.forEach((end, s) => {
      local[p * segments + s] = ringSum(cross.subarray(from, end));
      from = end;
    });
  });
  const summed = await reshareArith(party, local);
  return pairs.map((_, p) => ({ a: summed.a.subarray(p * segments, (p + 1) * segments), b: summed.b.subarray(p * segments, (p + 1) * segments) }));
}
