import { a2b } from "../protocol/a2b.ts";
import { andMany } from "../protocol/and.ts";
import { addPublic, andPublic, shiftRight, xorPublic, xorShares } from "../protocol/linear.ts";
import type { Party } from "../protocol/party.ts";
import { concatShares, shareLength, type ArithShare, type BoolShare } from "../protocol/shares.ts";
import { bit0, splitParts } from "./bits.ts";

// Operators `decompose` and `test`: comparisons of a secret column with
// public constants (WHERE constants, histogram edges, group dictionaries).
//
// decompose: the bits of d = x − lo (lo the column's public lower bound, so
//   d ∈ [0, 2^w) with w the bit width of hi − lo) by one a2b per column,
//   every column of the block in one batch: 8 rounds, 13 words per row and
//   column. One decomposition serves every test of the column, and the order
//   statistics.
// test: [d < t'] for a public t' ∈ [1, 2^w) with no further conversion. With
//   one operand public, bit i gives locally lt_i = ¬d_i ∧ t'_i and
//   eq_i = ¬(d_i ⊕ t'_i); a log-depth tree combines (lt, eq) of the high
//   half with those of the low half: lt = lt_hi ⊕ (eq_hi ∧ lt_lo),
//   eq = eq_hi ∧ eq_lo (lt_hi and eq_hi exclude each other). ⌈log2 w⌉ rounds,
//   2⌈log2 w⌉ − 1 words per row and constant, every constant of every column
//   in the same rounds. Opens nothing.
//
// A value outside its column's declared bounds (a seller's lie) only makes
// that row's tests wrong: the bits above w are not read.

/** Bits needed for d ∈ [0, hi − lo]. */
export function bitWidth(lo: bigint, hi: bigint): number {
  const span = hi - lo;
  return span <= 0n ? 1 : span.toString(2).length;
}

/** Rounds of the test tree for a bit width: ⌈log2 w⌉, at least 1. */
export function testLevels(width: number): number {
  return Math.max(1, Math.ceil(Math.log2(width)));
}

/**
 * The bits of x − lo for each column of a block, in one batched a2b.
 *
 * @example
 * const [ageBits, dateBits] = await decompose(party, [{ x: age, lo: 0n }, { x: hired, lo: 17897n }]);
 */
export async function decompose(party: Party, columns: readonly { x: ArithShare; lo: bigint }[]): Promise<BoolShare[]> {
  if (columns.length === 0) return [];
  const n = shareLength(columns[0].x);
  const shifted = concatShares(columns.map((c) => (c.lo === 0n ? c.x : addPublic(party, c.x, -c.lo))));
  return splitParts(await a2b(party, shifted), columns.length, n);
}

/**
 * [d < t'] for each (bits of d, public t') pair, as bits in bit 0. Every t'
 * must lie in [1, 2^levels) and every d in [0, 2^levels).
 *
 * @example
 * const [below10] = await lessThanPublic(party, [{ bits, t: 10n }], 4);
 */
export async function lessThanPublic(party: Party, tests: readonly { bits: BoolShare; t: bigint }[], levels: number): Promise<BoolShare[]> {
  if (tests.length === 0) return [];
  const n = shareLength(tests[0].bits);
  const ALL = (1n << 64n) - 1n;
  const covered = Math.min(64, 1 << levels);
  const lts: BoolShare[] = [];
  const eqs: BoolShare[] = [];
  for (const { bits, t } of tests) {
    if (t < 1n || t >= 1n << BigInt(covered)) throw new RangeError(`public constant ${t} outside [1, 2^${covered})`);
    lts.push(andPublic(party, xorPublic(party, bits, ALL), t));
    eqs.push(xorPublic(party, bits, ALL ^ t));
  }
  let lt = concatShares(lts);
  let eq = concatShares(eqs);
  for (let level = 0; level < levels; level++) {
    const span = 1 << level;
    const eqHigh = shiftRight(party, eq, span);
    const last = level === levels - 1;
    const products = await andMany(party, last ? [[eqHigh, lt]] : [[eqHigh, lt], [eqHigh, eq]]);
    lt = xorShares(party, shiftRight(party, lt, span), products[0]);
    if (!last) eq = products[1];
  }
  return splitParts(bit0(party, lt), tests.length, n);
}
