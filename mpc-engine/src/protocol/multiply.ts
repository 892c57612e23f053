import { PRF_TAG, type Party } from "./party.ts";
import { crossRound } from "./cross-round.ts";
import type { ArithShare } from "./shares.ts";

/**
 * Multiplies several pairs of arithmetic shares element-wise in ONE round
 * (Araki et al. 2016): prepare z_i = x_i·y_i + x_i·y_{i+1} + x_{i+1}·y_i + α_i
 * for every pair into one vector, send it to the previous party, receive
 * z_{i+1} from the next, finalize (z_i, z_{i+1}). Σz = x·y because the three
 * parties' cross terms cover all nine products x_j·y_k once. One ring element
 * (8 bytes) per party per product.
 *
 * The results are views into one buffer per component; they are not to be
 * mutated in place.
 *
 * @throws MpcError `PEER_PROTOCOL` or `PEER_TIMEOUT` from the exchange
 * @example
 * const [xy, uv] = await multiplyMany(party, [[x, y], [u, v]]);
 */
export async function multiplyMany(party: Party, pairs: readonly (readonly [ArithShare, ArithShare])[]): Promise<ArithShare[]> {
  return crossRound(party, pairs, (...args) => party.kernels.mulCross(...args), PRF_TAG.ZERO_ARITH, "multiplying");
}

/**
 * Element-wise product of two arithmetic shares: one round, one message to
 * the previous party, 8 bytes per element. See {@link multiplyMany}.
 *
 * @example
 * const xy = await multiply(party, x, y);
 */
export async function multiply(party: Party, x: ArithShare, y: ArithShare): Promise<ArithShare> {
  const [xy] = await multiplyMany(party, [[x, y]]);
  return xy;
}
