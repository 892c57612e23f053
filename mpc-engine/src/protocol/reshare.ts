import type { VectorKernels } from "../kernels/index.ts";
import { PRF_TAG, type Party } from "./party.ts";
import type { ArithShare, BoolShare } from "./shares.ts";

/**
 * The exchange round of a reshare: this party's masked component z_i goes to
 * the previous party, the next party's z_{i+1} comes back, and (z_i, z_{i+1})
 * is this party's replicated share. One message per party, n words.
 *
 * @example
 * const share = await exchangeMasked(party, step, z);
 */
export async function exchangeMasked(party: Party, step: number, z: BigUint64Array): Promise<ArithShare> {
  const [, b] = await Promise.all([party.sendWords(party.prev, step, z), party.receiveWords(party.next, step, z.length)]);
  return { a: z, b };
}

/**
 * Converts a 3-out-of-3 arithmetic sharing (party i holds z_i, Σz = x) into
 * the replicated 2-out-of-3 sharing of x: prepare z_i + α_i with a fresh zero
 * share, one exchange round, finalize (z_i + α_i, z_{i+1} + α_{i+1}). The
 * zero share hides z_i from the party that receives it.
 *
 * @example
 * const x = await reshareArith(party, localProductTerms);
 */
export async function reshareArith(party: Party, z: BigUint64Array): Promise<ArithShare> {
  const step = party.nextStep();
  return exchangeMasked(party, step, masked(party, z, step, PRF_TAG.ZERO_ARITH, party.kernels.maskAdd));
}

/**
 * The XOR counterpart of {@link reshareArith}: a 3-out-of-3 XOR sharing of
 * words becomes a replicated boolean sharing in one round.
 *
 * @example
 * const w = await reshareXor(party, localAndTerms);
 */
export async function reshareXor(party: Party, z: BigUint64Array): Promise<BoolShare> {
  const step = party.nextStep();
  return exchangeMasked(party, step, masked(party, z, step, PRF_TAG.ZERO_XOR, party.kernels.maskXor));
}

/**
 * z with the zero sharing of (step, tag) applied by `mask`, into a buffer
 * the exchange sends as it is; the two PRF streams read a piece at a time.
 */
function masked(party: Party, z: BigUint64Array, step: number, tag: number, mask: VectorKernels["maskAdd"]): BigUint64Array {
  const n = z.length;
  const out = party.outgoingWords(n);
  party.prf.eachPiece(step, tag, n, (from, to, next, prev) => mask(z.subarray(from, to), next, prev, out.subarray(from, to)));
  return out;
}
