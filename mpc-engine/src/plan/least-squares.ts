import { Rational } from "../algorithms/rational.ts";

// Multiple linear regression from its sufficient statistics, exactly: the
// buyer's side of a `linear_regression` output item (decode-query.ts). The
// hosts open the count and the centred sums; everything here is
// post-processing with exact rationals, so an exact plan's answer equals the
// plaintext least-squares fit digit for digit.

/** The sufficient statistics of a regression of y on x_1..x_k, as rationals in the columns' own units (not scaled). */
export interface RegressionSums {
  /** Rows used (where y and every x are present). */
  n: bigint;
  /** Σ(x_i − c_i), and the centres c_i. */
  sx: Rational[];
  cx: Rational[];
  /** Σ(y − c), and c. */
  sy: Rational;
  cy: Rational;
  /** Σ(x_i − c_i)(x_j − c_j), the full symmetric k×k matrix. */
  sxx: Rational[][];
  /** Σ(x_i − c_i)(y − c). */
  sxy: Rational[];
  /** Σ(y − c)². */
  syy: Rational;
}

/** A least-squares fit. `standardErrors` is null where n ≤ k + 1 (no residual degrees of freedom). */
export interface RegressionFit {
  coefficients: Rational[];
  intercept: Rational;
  /** Squared standard errors of the coefficients, then of the intercept (their square roots are taken when printed). */
  variances: Rational[] | null;
  r2: Rational;
}

/** Why no fit exists: too few rows, a singular XᵀX, or (noisy statistics only) a centred XᵀX that is not positive definite. */
export type RegressionFailure = { failure: "no-rows" | "singular" | "not-positive-definite" | "impossible"; why: string };

const ZERO = new Rational(0n);
const ONE = new Rational(1n);

/**
 * Solves the centred normal equations C·β = Cxy, C_ij = Σ(x_i − x̄_i)(x_j − x̄_j)
 * (shift-invariant, so the centred sums serve), by Gauss–Jordan elimination
 * on [C | I] without row exchanges: its pivots are those of C's LDLᵀ, all
 * positive exactly when C is positive definite, and it yields C⁻¹ for the
 * standard errors. intercept = ȳ − Σβ_i·x̄_i; r² = 1 − RSS/TSS with
 * RSS = TSS − βᵀ·Cxy, TSS = Σ(y − ȳ)² (r² = 1 for a constant y, 0 when a
 * noisy TSS is not positive); σ² = RSS/(n − k − 1);
 * Var(β_i) = σ²·(C⁻¹)_ii; Var(intercept) = σ²·(1/n + x̄ᵀC⁻¹x̄).
 *
 * Exact statistics (`noisy` false) come from real rows, so C is positive
 * semi-definite: a zero pivot means XᵀX is singular (a constant column, or
 * columns in an exact linear relation); a negative one or a negative RSS is
 * impossible. Noisy statistics are post-processed: any pivot ≤ 0 means the
 * noisy C is not positive definite; RSS is clamped to [0, TSS], r² to [0, 1].
 *
 * @example
 * leastSquares(sums, false) // { coefficients: [2/1, −1/3], intercept: 5/1, variances: [...], r2: 9/10 }
 */
export function leastSquares(s: RegressionSums, noisy: boolean): RegressionFit | RegressionFailure {
  const k = s.sx.length;
  if (s.n < 1n) return { failure: "no-rows", why: "no row has y and every x present" };
  const n = new Rational(s.n);
  const meanX = s.sx.map((v, i) => s.cx[i].add(v.div(n)));
  const meanY = s.cy.add(s.sy.div(n));
  const c = s.sxx.map((row, i) => row.map((v, j) => v.sub(s.sx[i].mul(s.sx[j]).div(n))));
  const cxy = s.sxy.map((v, i) => v.sub(s.sx[i].mul(s.sy).div(n)));
  let tss = s.syy.sub(s.sy.mul(s.sy).div(n));
  if (tss.compare(ZERO) < 0) {
    if (!noisy) return { failure: "impossible", why: "a negative sum of squares of y" };
    tss = ZERO;
  }

  // Gauss–Jordan on [C | I]: a = C, inv = I, reduced together.
  const a = c.map((row) => [...row]);
  const inv = c.map((_, i) => c.map((__, j) => (i === j ? ONE : ZERO)));
  for (let p = 0; p < k; p++) {
    const pivot = a[p][p];
    const sign = pivot.compare(ZERO);
    if (sign <= 0) {
      if (noisy) return { failure: "not-positive-definite", why: "the noisy XᵀX (centred) is not positive definite" };
      if (sign < 0) return { failure: "impossible", why: "a centred XᵀX that is not positive semi-definite" };
      return { failure: "singular", why: "XᵀX is singular: a column is constant over the rows used, or the columns are linearly dependent (or there are no more rows than columns)" };
    }
    for (let j = 0; j < k; j++) {
      a[p][j] = a[p][j].div(pivot);
      inv[p][j] = inv[p][j].div(pivot);
    }
    for (let i = 0; i < k; i++) {
      if (i === p || a[i][p].isZero()) continue;
      const f = a[i][p];
      for (let j = 0; j < k; j++) {
        a[i][j] = a[i][j].sub(f.mul(a[p][j]));
        inv[i][j] = inv[i][j].sub(f.mul(inv[p][j]));
      }
    }
  }
  const coefficients = inv.map((row) => row.reduce((acc, v, j) => acc.add(v.mul(cxy[j])), ZERO));
  const intercept = coefficients.reduce((acc, b, i) => acc.sub(b.mul(meanX[i])), meanY);
  let rss = tss.sub(coefficients.reduce((acc, b, i) => acc.add(b.mul(cxy[i])), ZERO));
  if (rss.compare(ZERO) < 0) {
    if (!noisy) return { failure: "impossible", why: "a negative residual sum of squares" };
    rss = ZERO;
  }
  const r2 = tss.isZero() ? (noisy ? ZERO : ONE) : ONE.sub(rss.div(tss)).clamp(ZERO, ONE);
  const dof = s.n - BigInt(k) - 1n;
  if (dof <= 0n) return { coefficients, intercept, variances: null, r2 };
  const sigma2 = rss.div(new Rational(dof));
  const quadratic = meanX.reduce((acc, xi, i) => acc.add(xi.mul(meanX.reduce((row, xj, j) => row.add(inv[i][j].mul(xj)), ZERO))), ZERO);
  // A noisy C⁻¹ is positive definite too (C is), so these are never negative.
  const variances = [...inv.map((row, i) => sigma2.mul(row[i])), sigma2.mul(ONE.div(n).add(quadratic))];
  return { coefficients, intercept, variances, r2 };
}
