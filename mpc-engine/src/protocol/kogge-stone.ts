import { andMany } from "./and.ts";
import { shiftLeft, xorShares } from "./linear.ts";
import type { Party } from "./party.ts";
import type { BoolShare } from "./shares.ts";

/** Prefix distances of a 64-bit Kogge–Stone adder. */
const SPANS = [1, 2, 4, 8, 16, 32] as const;

/**
 * Adds two boolean-shared 64-bit words mod 2^64 with a Kogge–Stone
 * parallel-prefix adder: generate G = s∧c and propagate P = s⊕c (one round),
 * then six prefix levels (G ← G ⊕ (P ∧ (G≪k)), P ← P ∧ (P≪k) for
 * k = 1, 2, …, 32; both ANDs of a level in one round, the last level needs
 * only G), and sum = s ⊕ c ⊕ (G≪1). 7 rounds; 12 words per element sent per
 * party (1 + 2·5 + 1).
 *
 * @example
 * const sum = await addBoolean(party, s, c);
 */
export async function addBoolean(party: Party, s: BoolShare, c: BoolShare): Promise<BoolShare> {
  const p0 = xorShares(party, s, c);
  let [g] = await andMany(party, [[s, c]]);
  let p = p0;
  for (const k of SPANS) {
    const gShifted = shiftLeft(party, g, k);
    if (k === 32) {
      const [gp] = await andMany(party, [[p, gShifted]]);
      g = xorShares(party, g, gp);
    } else {
      const [gp, pp] = await andMany(party, [
        [p, gShifted],
        [p, shiftLeft(party, p, k)],
      ]);
      g = xorShares(party, g, gp);
      p = pp;
    }
  }
  // g bit j is the carry out of bit j; the sum's bit j is p0_j ⊕ carry_(j−1).
  return xorShares(party, p0, shiftLeft(party, g, 1));
}
