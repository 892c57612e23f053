import { multiply } from "./multiply.ts";
import type { Party } from "./party.ts";
import type { ArithShare } from "./shares.ts";
import { truncate } from "./truncate.ts";

/**
 * Fixed-point product: for x and y at scale D (value·D as an integer), the
 * product x·y is at scale D², and truncating by D brings it back to scale D.
 * Two rounds: {@link multiply} (one message per party) then
 * {@link truncate} (one message from party 0). The result is within 1 ulp of
 * x·y/D, with the failure probability of {@link truncate}: |x·y| / 2^64 per
 * element, so the scaled product must stay far below 2^63.
 *
 * @example
 * const price = await fixedMultiply(party, quantity, unitPrice, 100n); // cents × cents / 100
 */
export async function fixedMultiply(party: Party, x: ArithShare, y: ArithShare, scale: bigint): Promise<ArithShare> {
  return truncate(party, await multiply(party, x, y), scale);
}
