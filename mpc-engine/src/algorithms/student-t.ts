// Student's t distribution for the buyer's side of `ttest@1`: the two-sided
// p-value P[|T| ≥ |t|] = I_{ν/(ν+t²)}(ν/2, 1/2), I the regularised incomplete
// beta function. Post-processing of the answer in floating point (the only
// such step of the library): it reads no secret and no noise.

// Lanczos approximation, g = 7, nine terms: |relative error| < 1e-15 for x > 0.
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012,
  9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** ln Γ(x) for x > 0. */
export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let a = LANCZOS[0];
  for (let i = 1; i < LANCZOS.length; i++) a += LANCZOS[i] / (z + i);
  const t = z + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/**
 * ln Γ(a + b) − ln Γ(a), for a ≥ 10 by the difference of Stirling's series
 * (whose terms are then well-conditioned), else directly: for large a the
 * two logarithms are nearly equal and their difference would lose digits.
 */
function logGammaRatio(a: number, b: number): number {
  if (a < 10) return logGamma(a + b) - logGamma(a);
  const tail = (z: number): number => 1 / (12 * z) - 1 / (360 * z ** 3) + 1 / (1260 * z ** 5) - 1 / (1680 * z ** 7);
  return (a - 0.5) * Math.log1p(b / a) + b * Math.log(a + b) - b + tail(a + b) - tail(a);
}

/** −ln B(a, b) = ln Γ(a + b) − ln Γ(a) − ln Γ(b). */
function negativeLogBeta(a: number, b: number): number {
  const [big, small] = a >= b ? [a, b] : [b, a];
  return logGammaRatio(big, small) - logGamma(small);
}

// Terms grow as √max(a, b): 10^5 covers ν up to ~10^10.
const MAX_TERMS = 100_000;
const EPS = 1e-15;
const TINY = 1e-300;

/** The continued fraction of I_x(a, b) by the modified Lentz method (Numerical Recipes' `betacf`), to relative 1e-15. */
function betaFraction(a: number, b: number, x: number): number {
  const qab = a + b;
  const qap = a + 1;
  const qam = a - 1;
  let c = 1;
  let d = 1 - (qab * x) / qap;
  if (Math.abs(d) < TINY) d = TINY;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= MAX_TERMS; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (qab + m) * x) / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const step = d * c;
    h *= step;
    if (Math.abs(step - 1) < EPS) return h;
  }
  return h;
}

/**
 * The regularised incomplete beta function I_x(a, b) for a, b > 0 and
 * x in [0, 1]; `y` = 1 − x, passed separately so that an x close to 1 keeps
 * its precision, and so may their logarithms `logs` (for a large a, a·ln x
 * needs ln x to more digits than x carries). The continued fraction converges fast for x < (a+1)/(a+b+2),
 * else I_x(a, b) = 1 − I_{1−x}(b, a) is used. For the t distribution's
 * p-value the absolute error is below 1e-10 for ν up to 10^6 (the tests
 * check ν = 1 and 2 against their closed forms to 1e-12, and large ν against
 * the normal limit), a few 1e-9 at ν = 10^9 (rounding over the ~√ν terms).
 *
 * @example
 * incompleteBeta(0.5, 2, 2) // 0.5
 */
export function incompleteBeta(x: number, a: number, b: number, y: number = 1 - x, logs: [lnX: number, lnY: number] = [Math.log(x), Math.log(y)]): number {
  if (x <= 0) return 0;
  if (y <= 0) return 1;
  const front = Math.exp(negativeLogBeta(a, b) + a * logs[0] + b * logs[1]);
  if (x < (a + 1) / (a + b + 2)) return (front * betaFraction(a, b, x)) / a;
  return 1 - (front * betaFraction(b, a, y)) / b;
}

/**
 * Two-sided p-value of Student's t with ν degrees of freedom (ν > 0, not
 * necessarily whole, as Welch's is): P[|T| ≥ |t|] = I_{ν/(ν+t²)}(ν/2, 1/2).
 *
 * @example
 * studentTwoSidedP(2, 10) // 0.0733880347...
 */
export function studentTwoSidedP(t: number, df: number): number {
  if (!Number.isFinite(t)) return 0;
  const t2 = t * t;
  if (t2 === 0) return 1;
  const logs: [number, number] = [-Math.log1p(t2 / df), Math.log(t2) - Math.log(df + t2)];
  return Math.min(1, Math.max(0, incompleteBeta(df / (df + t2), df / 2, 0.5, t2 / (df + t2), logs)));
}
