import { a2b } from "./a2b.ts";
import { extractBits } from "./bit-extract.ts";
import { addPublic, addShares, mulPublic, subShares } from "./linear.ts";
import type { Party } from "./party.ts";
import { concatShares, shareLength, type ArithShare } from "./shares.ts";
import { ringSum } from "../ring.ts";

/** Added to every chunk sum so that its bits are those of a non-negative number below 2^63. */
export const WIDE_OFFSET = 1n << 62n;

/** Chunk sums lifted per batch: 31 bits each go through b2a, so 31·2^15 ≈ 1M elements at most. */
const LIFT_BLOCK = 1 << 15;

const LIMB = 1n << 32n;

function slice(x: ArithShare, start: number, end: number): ArithShare {
  return { a: x.a.subarray(start, end), b: x.b.subarray(start, end) };
}

/**
 * Exact sums of signed values beyond the 64-bit ring, opened as canonical
 * 32-bit limbs. Each input is one sum's vector of chunk sums S_j, every one
 * within ±(2^62 − 1) (the plan proves it: each chunk's local sum is exact).
 * For each input it returns a two-element share (H, L) with
 *
 *   Σ_j (S_j + 2^62) = H·2^32 + L,   0 ≤ L < 2^32,
 *
 * so the buyer gets Σ_j S_j = H·2^32 + L − m·2^62 (m = number of chunks) in
 * BigInt. (H, L) is the one normalised representation of that number: it
 * reveals nothing beyond the sum (un-normalised limb sums would also reveal
 * how many low-limb carries the chunks produced).
 *
 * - lift: u_j = S_j + 2^62 ∈ [1, 2^63) (local); its bits by {@link a2b};
 *   h_j = ⌊u_j / 2^32⌋ from bits 32..62 ({@link extractBits}); l_j = u_j −
 *   2^32·h_j (local), so l_j ∈ [0, 2^32) exactly;
 * - add: H' = Σ h_j, L' = Σ l_j (local, exact while m < 2^32);
 * - normalise: the carry c = ⌊L' / 2^32⌋ from bits 32..63 of L' (one more
 *   a2b and extractBits over one element per sum); H = H' + c, L = L' − 2^32·c.
 *
 * All sums go through each step together. Cost: 9 rounds per block of
 * 2^15 chunks (a2b 8, b2a 1) plus 9 rounds to normalise; party 0 sends
 * 13 + 62 = 75 words per chunk and 13 + 64 = 77 words per sum, parties 1
 * and 2 13 + 31 = 44 and 13 + 32 = 45.
 *
 * @example
 * const [limbs] = await wideSums(party, [chunkSums]); // limbs.a = [H_i, L_i] components
 */
export async function wideSums(party: Party, chunkSums: readonly ArithShare[]): Promise<ArithShare[]> {
  if (chunkSums.length === 0) return [];
  const lengths = chunkSums.map(shareLength);
  if (lengths.some((m) => m < 1 || m >= 2 ** 32)) throw new RangeError(`a widened sum needs 1 to 2^32 − 1 chunks, got ${lengths.join(", ")}`);
  const lifted = addPublic(party, concatShares(chunkSums), WIDE_OFFSET);
  const total = lifted.a.length;
  const high = { a: new BigUint64Array(total), b: new BigUint64Array(total) };
  for (let start = 0; start < total; start += LIFT_BLOCK) {
    const end = Math.min(total, start + LIFT_BLOCK);
    const h = await extractBits(party, await a2b(party, slice(lifted, start, end)), 32, 31);
    high.a.set(h.a, start);
    high.b.set(h.b, start);
  }
  const low = subShares(party, lifted, mulPublic(party, high, LIMB));

  const sums = (x: ArithShare): ArithShare => {
    const out = { a: new BigUint64Array(lengths.length), b: new BigUint64Array(lengths.length) };
    let offset = 0;
    lengths.forEach((m, g) => {
      out.a[g] = ringSum(x.a.subarray(offset, offset + m));
      out.b[g] = ringSum(x.b.subarray(offset, offset + m));
      offset += m;
    });
    return out;
  };
  const highSum = sums(high);
  const lowSum = sums(low);
  const carry = await extractBits(party, await a2b(party, lowSum), 32, 32);
  const H = addShares(party, highSum, carry);
  const L = subShares(party, lowSum, mulPublic(party, carry, LIMB));
  return lengths.map((_, g) => ({ a: BigUint64Array.of(H.a[g], L.a[g]), b: BigUint64Array.of(H.b[g], L.b[g]) }));
}
