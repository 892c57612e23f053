import { MpcError } from "../errors.ts";
import type { Party } from "./party.ts";
import { shareLength, type ArithShare } from "./shares.ts";
import { truncationMask } from "./zero-sharing.ts";

/**
 * Divides a shared fixed-point value by a public divisor D (2^k or 10^k: any
 * integer 1 ≤ D < 2^63 works) — ABY3's share truncation Π_trunc1 (Mohassel &
 * Rindal 2018, after SecureML) in ONE round with ONE message from ONE party:
 *
 * - view x as a 2-out-of-2 sharing x = A + B with A = x_0 + x_1 (party 0
 *   holds both) and B = x_2 (parties 1 and 2 hold it);
 * - party 0: A' = ⌊A / D⌋; parties 1, 2: B' = −⌊(−B) / D⌋ (unsigned, mod 2^64);
 * - re-share A' + B' replicated: x'_1 = r, a mask parties 0 and 1 draw from
 *   their pairwise PRF; x'_0 = A' − r, which party 0 sends to party 2;
 *   x'_2 = B'. Party 2 sees A' − r, uniform because it lacks r.
 *
 * **Error.** Interpret x as a signed 64-bit value. If A − x does not wrap mod
 * 2^64 the result is ⌊A/D⌋ − ⌊(A − x)/D⌋ ∈ {⌊x/D⌋, ⌈x/D⌉}: off from the exact
 * quotient by less than 1 ulp (the last unit of the result), rounding either
 * way. **Failure.** When A − x wraps (A < x for x > 0, A ≥ 2^64 + x for
 * x < 0) the result is off by about 2^64/D: a garbage element. A is uniform
 * (the shares carry fresh randomness: every protocol output does, and so do a
 * seller's shares), so this happens with probability |x| / 2^64 per element:
 * at most 2^(ℓ−64) for |x| < 2^ℓ, e.g. ≤ 2^−20 per element for products below
 * 2^44. Keep |x| << 2^64: size the fixed-point scales so products stay far
 * below 2^63.
 *
 * @throws MpcError `INVALID_ARGUMENT` unless 1 ≤ D < 2^63
 * @example
 * const y = await truncate(party, product, 10n ** 6n); // rescale after a fixed-point product
 */
export async function truncate(party: Party, x: ArithShare, divisor: bigint): Promise<ArithShare> {
  if (divisor < 1n || divisor >= 1n << 63n) {
    throw new MpcError("INVALID_ARGUMENT", `truncation divisor out of range: ${divisor}`);
  }
  const n = shareLength(x);
  // Every party takes the step, so the counters stay in line though only
  // party 0 sends in it.
  const step = party.nextStep();
  const k = party.kernels;
  switch (party.index) {
    case 0: {
      // prepare, exchange (send only), finalize
      const r = truncationMask(party, step, n);
      const aPrime = k.truncSum(x.a, x.b, r, divisor);
      await party.sendWords(party.prev, step, aPrime);
      return { a: aPrime, b: r };
    }
    case 1: {
      const r = truncationMask(party, step, n);
      return { a: r, b: k.truncNeg(x.b, divisor) };
    }
    case 2: {
      const bPrime = k.truncNeg(x.a, divisor);
      const aPrime = await party.receiveWords(party.next, step, n);
      return { a: bPrime, b: aPrime };
    }
  }
}
