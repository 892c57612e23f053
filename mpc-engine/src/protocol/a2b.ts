import { addBoolean } from "./kogge-stone.ts";
import { shiftLeft } from "./linear.ts";
import type { Party } from "./party.ts";
import { reshareXor } from "./reshare.ts";
import type { ArithShare, BoolShare } from "./shares.ts";

/**
 * Arithmetic → boolean conversion (ABY3): the bits of x = x0 + x1 + x2 mod
 * 2^64 as boolean-shared words.
 *
 * - The three components are already a boolean sharing each: party i's
 *   share of [x_j]^B is x_j where it holds it, else 0.
 * - Carry-save layer: x0 + x1 + x2 = S + C with S = x0⊕x1⊕x2 — party i's
 *   share (x_i, x_{i+1}) as it stands — and C = MAJ(x0, x1, x2) ≪ 1, where
 *   MAJ = (x0∧x1) ⊕ (x1∧x2) ⊕ (x2∧x0) and party i computes x_i∧x_{i+1}
 *   locally: a 3-out-of-3 XOR sharing, reshared in one round.
 * - S + C with the Kogge–Stone adder ({@link addBoolean}, 7 rounds).
 *
 * 8 rounds, 13 words per element sent per party.
 *
 * @example
 * const bits = await a2b(party, x);
 */
export async function a2b(party: Party, x: ArithShare): Promise<BoolShare> {
  const maj = await reshareXor(party, party.kernels.and(x.a, x.b));
  const s: BoolShare = { a: x.a, b: x.b };
  return addBoolean(party, s, shiftLeft(party, maj, 1));
}
