import { PRF_TAG, type Party } from "./party.ts";
import { crossRound } from "./cross-round.ts";
import type { BoolShare } from "./shares.ts";

/**
 * Bitwise AND of several pairs of boolean-shared word vectors in ONE round:
 * the XOR analogue of multiplication, z_i = (x_i∧y_i) ⊕ (x_i∧y_{i+1}) ⊕
 * (x_{i+1}∧y_i) ⊕ α_i, sent to the previous party. 64 ANDs per word, one word
 * (8 bytes) per party per word-AND. This is how a layer of a boolean circuit
 * is batched: every AND of the layer goes in `pairs`.
 *
 * @throws MpcError `PEER_PROTOCOL` or `PEER_TIMEOUT` from the exchange
 * @example
 * const [g, p] = await andMany(party, [[p0, gShifted], [p0, pShifted]]);
 */
export async function andMany(party: Party, pairs: readonly (readonly [BoolShare, BoolShare])[]): Promise<BoolShare[]> {
  return crossRound(party, pairs, (...args) => party.kernels.andCross(...args), PRF_TAG.ZERO_XOR, "AND of");
}

/**
 * Bitwise AND of two boolean-shared word vectors: one round, one word per
 * party per element. See {@link andMany}.
 *
 * @example
 * const w = await and(party, x, y);
 */
export async function and(party: Party, x: BoolShare, y: BoolShare): Promise<BoolShare> {
  const [w] = await andMany(party, [[x, y]]);
  return w;
}
