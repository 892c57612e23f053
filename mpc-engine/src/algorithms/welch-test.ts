import { isqrt, Rational } from "./rational.ts";
import { studentTwoSidedP } from "./student-t.ts";

// Welch's two-sample t-test from each group's count, mean and population
// variance: the buyer's side of `ttest@1`. t and the Welch–Satterthwaite
// degrees of freedom are exact rationals (t rounded once, at the end); the
// p-value is floating point (student-t.ts).

/** One group's moments: rows with a value, mean, population variance Σ(x − x̄)²/n. */
export interface GroupMoments {
  n: bigint;
  mean: Rational;
  variance: Rational;
}

/** Welch's test: t = (x̄₁ − x̄₂)/√(s₁²/n₁ + s₂²/n₂), ν its Welch–Satterthwaite degrees of freedom, p two-sided. */
export interface WelchTest {
  t: string;
  df: string;
  p: string;
}

/** Fractional digits of t, ν and p. */
export const TEST_DIGITS = 6;

/** √x (x ≥ 0) rounded half up to `digits` fractional digits, from the exact rational. */
function sqrtNearest(x: Rational, digits: number): string {
  const scale = 10n ** BigInt(2 * digits);
  // u = ⌊√(x·10^2d)⌋; round up when (u + ½)² ≤ x·10^2d, i.e. (2u + 1)² ≤ 4·x·10^2d.
  let u = isqrt((x.num * scale) / x.den);
  if (new Rational((2n * u + 1n) ** 2n).compare(new Rational(4n * x.num * scale, x.den)) <= 0) u += 1n;
  return Rational.scaled(u, digits).toDecimal(digits);
}

/**
 * Welch's t-test between two groups, or a reason it is undefined: a group
 * with fewer than 2 values (no sample variance), or both sample variances 0.
 * Sample variances are s² = σ²·n/(n − 1) from the population variances σ²,
 * so s²/n = σ²/(n − 1).
 *
 * @example
 * welchTest({ n: 10n, mean: new Rational(5n), variance: new Rational(4n) }, { n: 12n, mean: new Rational(3n), variance: new Rational(9n) })
 * // { t: "1.710…", df: "…", p: "…" }
 */
export function welchTest(g1: GroupMoments, g2: GroupMoments): WelchTest | { undefined: string } {
  if (g1.n < 2n || g2.n < 2n) return { undefined: `each group needs at least 2 values (it has ${g1.n} and ${g2.n})` };
  const a = g1.variance.div(new Rational(g1.n - 1n));
  const b = g2.variance.div(new Rational(g2.n - 1n));
  const se2 = a.add(b);
  if (se2.isZero()) return { undefined: "both groups are constant (zero variances), so t is undefined" };
  const diff = g1.mean.sub(g2.mean);
  const magnitude = sqrtNearest(diff.mul(diff).div(se2), TEST_DIGITS);
  const t = diff.compare(new Rational(0n)) < 0 && /[1-9]/.test(magnitude) ? `-${magnitude}` : magnitude;
  // p from t to 15 digits, not from its printed rounding.
  const precise = Number(sqrtNearest(diff.mul(diff).div(se2), 15));
  const df = se2.mul(se2).div(a.mul(a).div(new Rational(g1.n - 1n)).add(b.mul(b).div(new Rational(g2.n - 1n))));
  const p = studentTwoSidedP(precise, Number(df.toDecimal(12)));
  return { t, df: df.toDecimal(TEST_DIGITS), p: p.toFixed(TEST_DIGITS) };
}
