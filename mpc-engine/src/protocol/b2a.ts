import { addShares, andPublic, mulPublic, shiftRight, subShares } from "./linear.ts";
import { multiply } from "./multiply.ts";
import type { Party } from "./party.ts";
import { reshareArith } from "./reshare.ts";
import type { ArithShare, BoolShare } from "./shares.ts";

/**
 * Boolean → arithmetic conversion of one bit per element (bit `bitIndex` of
 * each shared word): b = b0 ⊕ b1 ⊕ b2 as an arithmetic share of 0 or 1.
 *
 * - Party 0 holds b0 and b1 and inputs t = b0 ⊕ b1 as an arithmetic value:
 *   it is party 0's 3-out-of-3 component, the others' are 0; reshared in one
 *   round ({@link reshareArith}; the zero sharing hides t).
 * - b2 is component 2 of an arithmetic sharing as it stands (parties 1, 2).
 * - t ⊕ b2 = t + b2 − 2·t·b2: one multiplication round.
 *
 * 2 rounds, 2 words per element sent per party.
 *
 * @example
 * const isLess = await b2a(party, await lessThanBit(party, x, y));
 */
export async function b2a(party: Party, bits: BoolShare, bitIndex = 0): Promise<ArithShare> {
  const bit = andPublic(party, bitIndex === 0 ? bits : shiftRight(party, bits, bitIndex), 1n);
  const n = bit.a.length;
  const k = party.kernels;
  const zero = new BigUint64Array(n);
  const t = await reshareArith(party, party.index === 0 ? k.xor(bit.a, bit.b) : zero);
  const b2: ArithShare =
    party.index === 0 ? { a: zero, b: zero } : party.index === 1 ? { a: zero, b: bit.b } : { a: bit.a, b: zero };
  const product = await multiply(party, t, b2);
  return subShares(party, addShares(party, t, b2), mulPublic(party, product, 2n));
}
