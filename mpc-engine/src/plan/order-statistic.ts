import { andMany } from "../protocol/and.ts";
import { b2a } from "../protocol/b2a.ts";
import { isNegativeBit } from "../protocol/compare.ts";
import { addShares, andPublic, mulPublic, subShares } from "../protocol/linear.ts";
import { multiply } from "../protocol/multiply.ts";
import type { Party } from "../protocol/party.ts";
import type { ArithShare, BoolShare } from "../protocol/shares.ts";
import { notBits, spreadBit, xorBits } from "./bits.ts";
import { countBits } from "./count-bits.ts";
import type { Rank } from "./query-plan.ts";

// Operator `select`: an order statistic (min, max, median, quantile) of a
// column within each group, exactly, by radix selection on the column's
// bit planes d = x − lo (no sorting, nothing opened on the way).
//
// The answer's bits are decided from the highest: with P the bits decided
// so far, `eq` marks the group's rows whose d starts with P and `below`
// counts those already below P. For bit j, z = eq ∧ ¬d_j are the rows that
// stay if the bit is 0; the bit is 1 exactly when below + Σz is still short
// of the rank: b·(below + Σz) − a·c − δ < 0 (the rank of query-plan.ts `Rank`,
// c the group's count of present values), a sign test of one element per
// group. Then below += bit·Σz and eq ← z ⊕ (bit ∧ eq), the bit copied to
// every row locally. Row bits are packed (bits.ts) and Σz is the carry-save
// count (count-bits.ts).
// Cost per bit: about 1 + ⌈log_1.5(rows / 64)⌉ + 2 + 8 + 1 + 1 + 1 rounds
// (AND, count, sign, b2a, product, AND); about 3 bits per row per group.
// w bits, w the width of hi − lo.
// Opens: the selected value and c (the group's count of present values, so
// that an empty group reads NULL) — declared as the order statistics' leakage.

/** One order statistic of one group: the column's planes, the group's mask of rows with the value present (tail clear), the rank. */
export interface Selection {
  planes: BoolShare[];
  mask: BoolShare;
  rank: Rank;
}

/**
 * Selects every order statistic of every group together (all in the same
 * rounds), returning per selection the shares of [d, c]: the selected value
 * minus the column's lower bound, and the count of present values.
 *
 * @example
 * const [[median, count]] = await selectRanks(party, [{ planes, mask, rank: { a: 1n, b: 2n, d: 0n } }]);
 */
export async function selectRanks(party: Party, selections: readonly Selection[]): Promise<ArithShare[]> {
  if (selections.length === 0) return [];
  const S = selections.length;
  const width = Math.max(...selections.map((s) => s.planes.length));
  const count = await countBits(party, selections.map((s) => s.mask));
  let eq: BoolShare[] = selections.map((s) => s.mask);
  let below: ArithShare = { a: new BigUint64Array(S), b: new BigUint64Array(S) };
  let value: ArithShare = { a: new BigUint64Array(S), b: new BigUint64Array(S) };
  // a·c + δ per selection, public a and δ: local.
  const target = addShares(party, mulEach(party, count, selections.map((s) => s.rank.a)), constant(party, selections.map((s) => s.rank.d)));
  for (let j = width - 1; j >= 0; j--) {
    // Above a selection's width its bits are 0: every row stays.
    const live = selections.map((s, k) => k).filter((k) => j < selections[k].planes.length);
    const anded = await andMany(party, live.map((k) => [eq[k], notBits(party, selections[k].planes[j])] as const));
    const z = [...eq];
    live.forEach((k, i) => (z[k] = anded[i]));
    const stays = await countBits(party, z);
    const reached = subShares(party, mulEach(party, addShares(party, below, stays), selections.map((s) => s.rank.b)), target);
    const bit = bit0(party, await isNegativeBit(party, reached));
    const bitValue = await b2a(party, bit);
    below = addShares(party, below, await multiply(party, bitValue, stays));
    value = addShares(party, value, mulPublic(party, bitValue, 1n << BigInt(j)));
    if (j > 0) {
      const kept = await andMany(party, eq.map((e, k) => [spreadBit(bit, k, e.a.length), e] as const));
      eq = z.map((zk, k) => xorBits(party, zk, kept[k]));
    }
  }
  return Array.from({ length: S }, (_, s) => ({ a: BigUint64Array.of(value.a[s], count.a[s]), b: BigUint64Array.of(value.b[s], count.b[s]) }));
}

function bit0(party: Party, x: BoolShare): BoolShare {
  return andPublic(party, x, 1n);
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
