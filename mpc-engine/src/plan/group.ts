import { andMany } from "../protocol/and.ts";
import type { Party } from "../protocol/party.ts";
import type { BoolShare } from "../protocol/shares.ts";
import { notBits, publicBits, xorBits } from "./bits.ts";
import type { GroupColumn } from "./query-plan.ts";

// Operator `group`: one secret mask per group over the public domain of the
// GROUP BY columns (their dictionaries, then NULL), every group present
// whether or not any row falls in it. A key bit [x = j] is lt(j + 1) ⊕ lt(j)
// from the column's tests (local), ANDed with the cell's validity; the NULL
// key is ¬v. Several GROUP BY columns: the product of their keys, one round
// per further column; then each group ∧ the filter, one round. One bit per
// row per group and round (bits packed, bits.ts). Opens nothing (not even which groups are empty).

/**
 * The mask of each group (rows passing the filter whose keys are the
 * group's), in the plan's group order: the first GROUP BY column varies
 * slowest.
 *
 * @example
 * const masks = await groupRows(party, plan.groupBy, lt, valid, pass, words);
 */
export async function groupRows(
  party: Party,
  groupBy: readonly GroupColumn[],
  lt: (column: string, t: bigint) => BoolShare,
  valid: (column: string) => BoolShare,
  pass: BoolShare | undefined,
  words: number,
): Promise<BoolShare[]> {
  if (groupBy.length === 0) return [pass ?? publicBits(party, words, true)];
  const keysOf = async (g: GroupColumn): Promise<BoolShare[]> => {
    const k = g.labels.length - 1;
    // lt(0) is false and lt(k) true for every value within the dictionary's bounds [0, k − 1].
    const below = (j: number): BoolShare => (j <= 0 ? publicBits(party, words, false) : j >= k ? publicBits(party, words, true) : lt(g.column, BigInt(j)));
    const v = valid(g.column);
    const present = await andMany(party, Array.from({ length: k }, (_, j) => [xorBits(party, below(j + 1), below(j)), v] as const));
    return [...present, notBits(party, v)];
  };
  let masks = await keysOf(groupBy[0]);
  for (const g of groupBy.slice(1)) {
    const keys = await keysOf(g);
    masks = await andMany(party, masks.flatMap((m) => keys.map((key) => [m, key] as const)));
  }
  return pass === undefined ? masks : andMany(party, masks.map((m) => [m, pass] as const));
}
