import { PRF_TAG, type Party } from "./party.ts";

/**
 * This party's part α_i = F(k_i) − F(k_{i−1}) of an arithmetic zero sharing
 * of n elements, for one step: k_i is shared with the next party and k_{i−1}
 * with the previous one, so every stream enters Σα once with each sign and
 * α_0 + α_1 + α_2 = 0 mod 2^64, while α_i looks uniform to any other single
 * party (it misses one of the two keys).
 *
 * @example
 * const alpha = zeroShareArith(party, party.nextStep(), n);
 */
export function zeroShareArith(party: Party, step: number, n: number): BigUint64Array {
  const fNext = party.prf.withNext(step, PRF_TAG.ZERO_ARITH, n);
  const fPrev = party.prf.withPrev(step, PRF_TAG.ZERO_ARITH, n);
  return party.kernels.sub(fNext, fPrev, fNext);
}

/**
 * This party's part α_i = F(k_i) ⊕ F(k_{i−1}) of a XOR zero sharing of n
 * words: α_0 ⊕ α_1 ⊕ α_2 = 0.
 *
 * @example
 * const alpha = zeroShareXor(party, party.nextStep(), n);
 */
export function zeroShareXor(party: Party, step: number, n: number): BigUint64Array {
  const fNext = party.prf.withNext(step, PRF_TAG.ZERO_XOR, n);
  const fPrev = party.prf.withPrev(step, PRF_TAG.ZERO_XOR, n);
  return party.kernels.xor(fNext, fPrev, fNext);
}

/**
 * The truncation mask r of n elements for one step: known to exactly the
 * pair (party 0, party 1) — party 0 draws it from the stream it shares with
 * its next party, party 1 from the stream it shares with its previous one.
 * Party 2 must not call it (it has no key for this pair).
 *
 * @example
 * const r = truncationMask(party, step, n); // parties 0 and 1 get equal vectors
 */
export function truncationMask(party: Party, step: number, n: number): BigUint64Array {
  if (party.index === 0) return party.prf.withNext(step, PRF_TAG.TRUNCATION_MASK, n);
  if (party.index === 1) return party.prf.withPrev(step, PRF_TAG.TRUNCATION_MASK, n);
  throw new RangeError("party 2 holds no truncation mask");
}
