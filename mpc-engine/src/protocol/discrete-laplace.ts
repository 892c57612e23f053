import type { RandomSource } from "./stream-reader.ts";

// Exact sampling of the discrete Laplace distribution (two-sided geometric),
// P[N = k] = (e^{1/t} − 1)/(e^{1/t} + 1) · e^{−|k|/t} over the integers, for a
// rational scale t, with integer and rational arithmetic only: Algorithms 1
// and 2 of C. Canonne, G. Kamath and T. Steinke, "The Discrete Gaussian for
// Differential Privacy", NeurIPS 2020 (arXiv:2004.00010).
//
// Why not the textbook Laplace, t·ln(U) with a floating-point U: floating
// point cannot represent that distribution. The set of reachable outputs has
// gaps that depend on the value the noise is added to, so an output can rule
// one neighbouring dataset out entirely (Mironov, "On Significance of the
// Least Significant Bits for Differential Privacy", CCS 2012). Here every
// step is a comparison of uniform integers with rationals, so the sampled
// distribution is exactly the stated one given uniform bits (the only
// approximation left is the PRF's pseudo-randomness).

/** A non-negative rational num/den (den ≥ 1). */
export interface Ratio {
  readonly num: bigint;
  readonly den: bigint;
}

/**
 * Bernoulli(num/den) for 0 ≤ num ≤ den: a uniform integer below den is below num.
 *
 * @example
 * sampleBernoulli(1n, 2n, random) // a fair coin
 */
export function sampleBernoulli(num: bigint, den: bigint, random: RandomSource): boolean {
  if (den < 1n || num < 0n || num > den) throw new RangeError(`Bernoulli(${num}/${den}) is not a probability`);
  return random.uniformBelow(den) < num;
}

/**
 * Bernoulli(exp(−γ)) for a rational γ = num/den ≥ 0 (CKS20 Algorithm 1).
 * For γ ≤ 1: draw A_k ~ Bernoulli(γ/k) for k = 1, 2, ... until one is 0 and
 * answer whether that k is odd (the stopping index K has P[K > k] = γ^k/k!,
 * so P[K odd] = Σ_m (−γ)^m/m! = e^{−γ}). For
 * γ > 1: ⌊γ⌋ independent Bernoulli(e^{−1}) and one Bernoulli(e^{−(γ−⌊γ⌋)}),
 * all 1.
 *
 * @example
 * sampleBernoulliExp(1n, 1n, random) // true with probability 1/e
 */
export function sampleBernoulliExp(num: bigint, den: bigint, random: RandomSource): boolean {
  if (den < 1n || num < 0n) throw new RangeError(`exp(−${num}/${den}) needs a non-negative rational exponent`);
  if (num <= den) {
    let k = 1n;
    while (sampleBernoulli(num, den * k, random)) k++;
    return k % 2n === 1n;
  }
  const whole = num / den;
  for (let i = 0n; i < whole; i++) {
    if (!sampleBernoulliExp(1n, 1n, random)) return false;
  }
  return sampleBernoulliExp(num - whole * den, den, random);
}

function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

/**
 * One exact sample of the discrete Laplace distribution with scale t =
 * num/den ≥ 0: P[N = k] ∝ exp(−|k|/t) (CKS20 Algorithm 2, "Lap_Z(t/s)" with
 * their t = num and s = den). A geometric X with P[X = x] ∝ e^{−x/num} is
 * built from a uniform U < num kept with probability e^{−U/num} and a
 * Geometric(1 − e^{−1}) count V (X = U + num·V); ⌊X/den⌋ is then geometric
 * with ratio e^{−den/num}; a fair sign, with a negative zero rejected, makes
 * it two-sided. Expected O(1) draws whatever the scale (each try succeeds
 * with probability above (1 − e^{−1})/2). Scale 0 gives 0 and reads nothing.
 *
 * @example
 * sampleDiscreteLaplace({ num: 2n, den: 1n }, random) // e.g. -3n; Var = 2e^{−1/2}/(1 − e^{−1/2})² ≈ 7.9
 */
export function sampleDiscreteLaplace(scale: Ratio, random: RandomSource): bigint {
  if (scale.num < 0n || scale.den < 1n) throw new RangeError(`a discrete Laplace scale is a non-negative rational, got ${scale.num}/${scale.den}`);
  // Scale 0 is the point mass at 0: what a statistic no row can move needs.
  if (scale.num === 0n) return 0n;
  const g = gcd(scale.num, scale.den);
  const t = scale.num / g;
  const s = scale.den / g;
  for (;;) {
    const u = random.uniformBelow(t);
    if (!sampleBernoulliExp(u, t, random)) continue;
    let v = 0n;
    while (sampleBernoulliExp(1n, 1n, random)) v++;
    const y = (u + t * v) / s;
    const negative = sampleBernoulli(1n, 2n, random);
    // −0 and +0 would give 0 twice the weight of every other value.
    if (negative && y === 0n) continue;
    return negative ? -y : y;
  }
}
