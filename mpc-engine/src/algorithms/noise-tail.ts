import type { Ratio } from "../protocol/discrete-laplace.ts";

// The distribution of the noise a released statistic carries: the sum
// S = N_0 + N_1 + N_2 of three independent discrete Laplace terms of one
// scale t (protocol/noise.ts), known to the buyer only through its law.
//
// Closed form. With q = e^{−1/t} and p = 1 − q, a DLap(t) term is the
// difference of two independent Geometric(p) counts, so S = X − Y for two
// independent negative binomials NB(3, p) (P[X = x] = C(x+2, 2)·p³·q^x).
// Summing over Y gives, for s ≥ 0 (S is symmetric),
//
//   P[S = s] = p·q^s/(1+q)^5 · (p²(1+q)²s²/2 + (3/2)p(1+q)(1+q²)s + 1 + 4q² + q⁴),
//
// and summing that over s ≥ k = m + 1 gives the upper tail
//
//   P[S > m] = q^k/(1+q)^5 · ( p²(1+q)²k²/2 + p·q(1+q)²·k + q(1+q)³/2
//                              + (3/2)p(1+q)(1+q²)·k + (3/2)q(1+q)(1+q²) + 1 + 4q² + q⁴ ).
//
// Every term is positive, so evaluating it in double precision loses nothing
// to cancellation for any t (q is taken as exp(−1/t) and p as −expm1(−1/t),
// both to full relative precision). The tests check it against a direct
// convolution of three pmfs.

/** Probability in each tail left out of a 95% interval. */
export const INTERVAL_TAIL = 0.025;

// Relative slack taken off a target tail probability: absorbs the double
// rounding of the closed form, so the returned quantile is never too small.
const ROUNDING_MARGIN = 1e-9;

function toNumber(r: Ratio): number {
  return Number(r.num) / Number(r.den);
}

/**
 * P[N_0 + N_1 + N_2 > m] for three independent DLap(t) terms and an integer
 * m ≥ 0, from the closed form above (double precision).
 *
 * @example
 * threeTermTail({ num: 2n, den: 1n }, 10n) // ≈ 0.0296
 */
export function threeTermTail(scale: Ratio, m: bigint): number {
  if (m < 0n) throw new RangeError(`the tail is tabulated for m ≥ 0, got ${m}`);
  const t = toNumber(scale);
  const q = Math.exp(-1 / t);
  const p = -Math.expm1(-1 / t);
  const k = Number(m + 1n);
  const u = 1 + q;
  const w = 1 + q * q;
  const polynomial =
    (p * p * u * u * k * k) / 2 + p * q * u * u * k + (q * u * u * u) / 2 + 1.5 * p * u * w * k + 1.5 * q * u * w + 1 + 4 * q * q + q ** 4;
  return (Math.exp(-k / t) * polynomial) / u ** 5;
}

/**
 * The smallest integer m ≥ 0 with P[N_0 + N_1 + N_2 > m] ≤ `tail`: then
 * |N_0 + N_1 + N_2| ≤ m with probability at least 1 − 2·tail. Exact up to a
 * relative 10^-9 taken off `tail` for double rounding (so m is never too
 * small). Binary search over integers: works for any scale, large or small.
 *
 * @example
 * noiseQuantile({ num: 1n, den: 1n }, 0.025) // 5n: the 95% interval of a count at ε = 1 is ±5
 */
export function noiseQuantile(scale: Ratio, tail: number): bigint {
  if (!(tail > 0 && tail < 0.5)) throw new RangeError(`a tail probability in (0, 0.5), got ${tail}`);
  const target = tail * (1 - ROUNDING_MARGIN);
  if (threeTermTail(scale, 0n) <= target) return 0n;
  // P[S > 200t] < e^{−200}·(200² + ...) is far below any tail asked for.
  let hi = (200n * scale.num) / scale.den + 2n;
  let lo = 0n; // invariant: tail(lo) > target ≥ tail(hi)
  while (hi - lo > 1n) {
    const mid = (lo + hi) / 2n;
    if (threeTermTail(scale, mid) <= target) hi = mid;
    else lo = mid;
  }
  return hi;
}
