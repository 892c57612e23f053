import { equalBit, isNegativeBit } from "../protocol/compare.ts";
import { b2a } from "../protocol/b2a.ts";
import type { Party } from "../protocol/party.ts";
import { shareLength, type ArithShare } from "../protocol/shares.ts";
import { ringSum } from "../ring.ts";

/**
 * Comparisons batched per round: bounds a host's working memory. The
 * comparison keeps a few dozen vectors of this many words alive per
 * component (about 100 MB at 2^18), whatever the rows × thresholds.
 */
export const COMPARE_BLOCK = 1 << 18;

/**
 * Writes x − t for public thresholds t_0..t_(k−1) of one block of rows into
 * `out` (threshold j at offset j·rows): subtracting a public constant is
 * local, in component x_0 (party 0's `a`, party 2's `b`); no shared constant
 * vectors are built.
 */
function differences(party: Party, x: ArithShare, thresholds: readonly bigint[], out: ArithShare): void {
  const rows = shareLength(x);
  const k = party.kernels;
  thresholds.forEach((t, j) => {
    const a = out.a.subarray(j * rows, (j + 1) * rows);
    const b = out.b.subarray(j * rows, (j + 1) * rows);
    if (party.index === 0) k.addScalar(x.a, -t, a);
    else a.set(x.a);
    if (party.index === 2) k.addScalar(x.b, -t, b);
    else b.set(x.b);
  });
}

/**
 * Counts rows against several public thresholds at once, in blocks of rows
 * so that one block holds at most {@link COMPARE_BLOCK} comparisons: per
 * block, the differences x − t go into one reused typed vector, `test` turns
 * them into 0/1 shares (one batch of rounds), and each threshold's 0/1 shares
 * are summed locally.
 */
async function countPerThreshold(
  party: Party,
  x: ArithShare,
  thresholds: readonly bigint[],
  test: (difference: ArithShare) => Promise<ArithShare>,
): Promise<ArithShare[]> {
  const n = shareLength(x);
  const k = thresholds.length;
  const blockRows = Math.max(1, Math.floor(COMPARE_BLOCK / k));
  const buffer = { a: new BigUint64Array(Math.min(n, blockRows) * k), b: new BigUint64Array(Math.min(n, blockRows) * k) };
  const counts = thresholds.map(() => ({ a: new BigUint64Array(1), b: new BigUint64Array(1) }));
  for (let start = 0; start < n; start += blockRows) {
    const rows = Math.min(blockRows, n - start);
    const block = { a: buffer.a.subarray(0, rows * k), b: buffer.b.subarray(0, rows * k) };
    differences(party, { a: x.a.subarray(start, start + rows), b: x.b.subarray(start, start + rows) }, thresholds, block);
    const hits = await test(block);
    counts.forEach((count, j) => {
      count.a[0] += ringSum(hits.a.subarray(j * rows, (j + 1) * rows));
      count.b[0] += ringSum(hits.b.subarray(j * rows, (j + 1) * rows));
    });
  }
  return counts;
}

/**
 * #{rows : x < t} for each public threshold t, as shared counts in the order
 * of `thresholds`. Range assumption of the comparison: |x − t| < 2^63 (values
 * and thresholds within ±2^62). 10 rounds and 15 words per party per
 * comparison, in ⌈rows·thresholds / 2^18⌉ blocks; memory bounded by the block.
 *
 * @example
 * const [below10, below20] = await countBelow(party, x, [10n, 20n]);
 */
export async function countBelow(party: Party, x: ArithShare, thresholds: readonly bigint[]): Promise<ArithShare[]> {
  return countPerThreshold(party, x, thresholds, async (d) => b2a(party, await isNegativeBit(party, d)));
}

/**
 * #{rows : x = c} for one public c, as a shared count: a zero test of x − c
 * (exact over all of Z_2^64). 9 rounds and 9 words per party per row, in
 * blocks of 2^18 rows.
 *
 * @example
 * const zeros = await countEqual(party, x, 0n);
 */
export async function countEqual(party: Party, x: ArithShare, c: bigint): Promise<ArithShare> {
  const [count] = await countPerThreshold(party, x, [c], async (d) => {
    const zero = { a: new BigUint64Array(d.a.length), b: new BigUint64Array(d.a.length) };
    return b2a(party, await equalBit(party, d, zero));
  });
  return count;
}
