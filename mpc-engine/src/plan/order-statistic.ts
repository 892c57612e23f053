import { andMany } from "../protocol/and.ts";
import { b2a } from "../protocol/b2a.ts";
import { isNegativeBit } from "../protocol/compare.ts";
import { addShares, mulPublic, shiftRight, subShares } from "../protocol/linear.ts";
import { multiply } from "../protocol/multiply.ts";
import type { Party } from "../protocol/party.ts";
import type { ArithShare, BoolShare } from "../protocol/shares.ts";
import { ringSum } from "../ring.ts";
import { bit0, broadcast, concatBits, notBits, splitParts, xorBits } from "./bits.ts";
import type { Rank } from "./query-plan.ts";

// Operator `select`: an order statistic (min, max, median, quantile) of a
// column within each group, exactly, by radix selection on the column's
// bit-decomposition d = x − lo (no sorting, nothing opened on the way).
//
// The answer's bits are decided from the highest: with P the bits decided
// so far, `eq` marks the group's rows whose d starts with P and `below`
// counts those already below P. For bit j, z = eq ∧ ¬d_j are the rows that
// stay if the bit is 0; the bit is 1 exactly when below + Σz is still short
// of the rank: b·(below + Σz) − a·c − δ < 0 (the rank of query-plan.ts `Rank`,
// c the group's count of present values), a sign test of one element per
// group. Then below += bit·Σz and eq ← z ⊕ (bit ∧ eq).
// Cost per bit: 15 rounds (AND 1, b2a 2, sign 8, b2a 2, product 1, AND 1);
// 5 words per row per group and bit. w bits, w the width of hi − lo.
// Opens: the selected value and c (the group's count of present values, so
// that an empty group reads NULL) — declared as the order statistics' leakage.

/** One order statistic of one group: the column's bits, the group's mask of rows with the value present, the rank. */
export interface Selection {
  bits: BoolShare;
  mask: BoolShare;
  width: number;
  rank: Rank;
}

/**
 * Selects every order statistic of every group together (all in the same
 * rounds), returning per selection the shares of [d, c]: the selected value
 * minus the column's lower bound, and the count of present values.
 *
 * @example
 * const [[median, count]] = await selectRanks(party, [{ bits, mask, width: 17, rank: { a: 1n, b: 2n, d: 0n } }]);
 */
export async function selectRanks(party: Party, selections: readonly Selection[]): Promise<ArithShare[]> {
  if (selections.length === 0) return [];
  const n = selections[0].bits.a.length;
  const S = selections.length;
  const width = Math.max(...selections.map((s) => s.width));
  const masks = splitParts(await b2a(party, concatBits(selections.map((s) => s.mask))), S, n);
  const count = scalars(masks);
  let eq = concatBits(selections.map((s) => s.mask));
  const bits = concatBits(selections.map((s) => s.bits));
  let below: ArithShare = { a: new BigUint64Array(S), b: new BigUint64Array(S) };
  let value: ArithShare = { a: new BigUint64Array(S), b: new BigUint64Array(S) };
  // a·c + δ per selection, public a and δ: local.
  const target = addShares(party, mulEach(party, count, selections.map((s) => s.rank.a)), constant(party, selections.map((s) => s.rank.d)));
  for (let j = width - 1; j >= 0; j--) {
    const zeroHere = notBits(party, bit0(party, shiftRight(party, bits, j)));
    const [z] = await andMany(party, [[eq, zeroHere]]);
    const stays = scalars(splitParts(await b2a(party, z), S, n));
    const reached = subShares(party, mulEach(party, addShares(party, below, stays), selections.map((s) => s.rank.b)), target);
    const bit = bit0(party, await isNegativeBit(party, reached));
    const bitValue = await b2a(party, bit);
    below = addShares(party, below, await multiply(party, bitValue, stays));
    value = addShares(party, value, mulPublic(party, bitValue, 1n << BigInt(j)));
    if (j > 0) {
      const spread = concatBits(Array.from({ length: S }, (_, s) => broadcast(bit, s, n)));
      const [kept] = await andMany(party, [[spread, eq]]);
      eq = xorBits(party, z, kept);
    }
  }
  return Array.from({ length: S }, (_, s) => ({ a: BigUint64Array.of(value.a[s], count.a[s]), b: BigUint64Array.of(value.b[s], count.b[s]) }));
}

/** One element per part: the local sum of each. */
function scalars(parts: readonly { a: BigUint64Array; b: BigUint64Array }[]): ArithShare {
  return { a: BigUint64Array.from(parts, (p) => ringSum(p.a)), b: BigUint64Array.from(parts, (p) => ringSum(p.b)) };
}

function mulEach(party: Party, x: ArithShare, factors: readonly bigint[]): ArithShare {
  const out = { a: new BigUint64Array(x.a.length), b: new BigUint64Array(x.b.length) };
  factors.forEach((f, k) => {
    const one = mulPublic(party, { a: x.a.subarray(k, k + 1), b: x.b.subarray(k, k + 1) }, f);
    out.a[k] = one.a[0];
    out.b[k] = one.b[0];
  });
  return out;
}

function constant(party: Party, values: readonly bigint[]): ArithShare {
  const c = BigUint64Array.from(values, (v) => BigInt.asUintN(64, v));
  const zero = new BigUint64Array(values.length);
  if (party.index === 0) return { a: c, b: zero };
  if (party.index === 2) return { a: zero, b: c };
  return { a: zero, b: new BigUint64Array(values.length) };
}
