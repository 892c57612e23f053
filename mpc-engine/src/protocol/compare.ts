import { andMany } from "./and.ts";
import { b2a } from "./b2a.ts";
import { shiftRight, xorPublic, xorShares } from "./linear.ts";
import type { Party } from "./party.ts";
import { msbBit } from "./msb.ts";
import { reshareXor } from "./reshare.ts";
import { shareLength, type ArithShare, type BoolShare } from "./shares.ts";

const ALL_ONES = (1n << 64n) - 1n;

/**
 * [x < 0] for x read as signed 64-bit: the sign bit of x by splitting the
 * sum on packed bit planes ({@link msbBit}, msb.ts), returned as a boolean
 * share in bit 0 (other bits 0). 7 rounds, about 76 bytes per element in all.
 *
 * @example
 * const negative = await isNegativeBit(party, x);
 */
export async function isNegativeBit(party: Party, x: ArithShare): Promise<BoolShare> {
  return msbBit(party, x);
}

/**
 * [x < y] on two's-complement values, as a boolean share in bit 0: the most
 * significant bit of x − y. **Range assumption:** |x − y| < 2^63 (e.g. both
 * inputs in [−2^62, 2^62)); outside it x − y wraps and the answer is wrong.
 * 7 rounds, about 76 bytes per element in all (see msb.ts).
 *
 * @example
 * const lt = await lessThanBit(party, x, y);
 */
export async function lessThanBit(party: Party, x: ArithShare, y: ArithShare): Promise<BoolShare> {
  const k = party.kernels;
  return isNegativeBit(party, { a: k.sub(x.a, y.a), b: k.sub(x.b, y.b) });
}

/**
 * [x < y] as an arithmetic share of 0 or 1 (ready to sum, e.g. count-if):
 * {@link lessThanBit} then {@link b2a}. Same range assumption. 8 rounds.
 *
 * @example
 * const lt = await lessThan(party, x, y);
 */
export async function lessThan(party: Party, x: ArithShare, y: ArithShare): Promise<ArithShare> {
  return b2a(party, await lessThanBit(party, x, y));
}

/**
 * [x = y] as a boolean share in bit 0, by a zero test of d = x − y (no range
 * assumption: exact for all of Z_2^64).
 *
 * d = 0 iff L = R with L = d0 + d1 (party 0 holds both) and R = −d2 (parties
 * 1 and 2 hold it): party 0 inputs L as a boolean sharing (one reshare round),
 * R is component 2 of a boolean sharing as it stands, and the words
 * E = L ⊕ R are zero iff d = 0. Then ¬E is AND-folded in log depth — an
 * OR-tree of E's bits, negated: w ← w ∧ (w ≫ k) for k = 32, 16, …, 1, one
 * round each, leaving ∧ of all 64 bits in bit 0. 7 rounds, 7 words per
 * element per party.
 *
 * @example
 * const eq = await equalBit(party, x, y);
 */
export async function equalBit(party: Party, x: ArithShare, y: ArithShare): Promise<BoolShare> {
  const n = shareLength(x);
  const k = party.kernels;
  const zero = new BigUint64Array(n);
  let l: BoolShare;
  let r: BoolShare;
  switch (party.index) {
    case 0:
      l = await reshareXor(party, k.add(k.sub(x.a, y.a), k.sub(x.b, y.b)));
      r = { a: zero, b: zero };
      break;
    case 1:
      l = await reshareXor(party, zero);
      r = { a: zero, b: k.sub(y.b, x.b) };
      break;
    default:
      l = await reshareXor(party, zero);
      r = { a: k.sub(y.a, x.a), b: zero };
      break;
  }
  let w = xorPublic(party, xorShares(party, l, r), ALL_ONES);
  for (const span of [32, 16, 8, 4, 2, 1]) {
    [w] = await andMany(party, [[w, shiftRight(party, w, span)]]);
  }
  return { a: k.andScalar(w.a, 1n), b: k.andScalar(w.b, 1n) };
}

/**
 * [x = y] as an arithmetic share of 0 or 1: {@link equalBit} then
 * {@link b2a}. 8 rounds; per element 9 words sent by party 0 and 8 by each
 * other party.
 *
 * @example
 * const eq = await equal(party, x, bucketEdge);
 */
export async function equal(party: Party, x: ArithShare, y: ArithShare): Promise<ArithShare> {
  return b2a(party, await equalBit(party, x, y));
}
