import { MpcError } from "../errors.ts";
import { boundText } from "./column-bounds.ts";
import { noiseQuantile } from "./noise-tail.ts";
import { checkRowCount, impossible, openedSums, signed } from "./opened-values.ts";
import { EXTRA_DIGITS, openedCount, type AlgorithmResult, type Plan } from "./plan.ts";
import { noiseBound, type DpPlan } from "./privacy-plan.ts";
import { isqrt, Rational } from "./rational.ts";

// The buyer's side of a differentially private plan: from the noisy
// statistics the hosts opened to the answer. Everything here is
// post-processing — a function of the noisy statistics and public facts
// (bounds, n, edges) only — so it costs no privacy, and it may clamp values
// the noise pushed out of the possible range back into it: a clamped answer
// is never further from the truth than the unclamped one.

/** A plan in differentially private mode. */
export type NoisyPlan = Plan & { dp: DpPlan };

/**
 * Probability that noise alone lifts any of the min/max bins above the
 * occupancy threshold τ: τ is the smallest count that N_0 + N_1 + N_2 exceeds
 * with probability at most 5%/bins, so an empty bin passes for occupied in
 * at most 5% of answers (union bound over the bins).
 */
export const OCCUPANCY_FALSE_ALARM = 0.05;

/**
 * The noisy statistics of a DP plan from the opened values, in the order of
 * the noise draws (`plan.dp.releases`): centred sums, or counts. Refuses
 * values beyond what the bounds plus the noise's tail bound allow.
 *
 * @throws MpcError `INVALID_ARGUMENT` for a wrong number of values, `RESULT_OUT_OF_RANGE` for impossible ones
 * @example
 * noisyStatistics(meanPlan, values) // [Σ(x − c) + N]
 */
export function noisyStatistics(plan: NoisyPlan, values: readonly bigint[]): bigint[] {
  if (values.length !== openedCount(plan)) {
    throw new MpcError("INVALID_ARGUMENT", `${plan.algorithm} opens ${openedCount(plan)} value(s), got ${values.length}`);
  }
  switch (plan.algorithm) {
    case "count@1":
      checkRowCount(plan, signed(values[0]));
      return [];
    case "count-if@1":
    case "histogram@1":
    case "min@1":
    case "max@1": {
      const slack = noiseBound(plan.dp.releases[0]);
      return values.map((v) => {
        const count = signed(v);
        if (count < -slack || count > plan.rowCount + slack) {
          throw impossible(plan.algorithm, `a noisy count of ${count} out of ${plan.rowCount} rows, beyond the noise's tail bound ${slack}`);
        }
        return count;
      });
    }
    default: {
      const { sums, n } = openedSums(plan, values);
      checkRowCount(plan, n);
      return sums;
    }
  }
}

const pow10 = (digits: number): bigint => 10n ** BigInt(digits);
const integer = (v: bigint): Rational => new Rational(v);

/** An approximation of √r from below, exact to 10^-digits. */
function sqrtBelow(r: Rational, digits: number): Rational {
  const scale = pow10(digits);
  return new Rational(isqrt((r.num * scale * scale) / r.den), scale);
}

/** A DP plan of min@1 or max@1. */
export type NoisyExtremePlan = NoisyPlan & { algorithm: "min@1" | "max@1" };

/**
 * Bin j of a DP min/max plan: its lowest and highest value, in units.
 *
 * @example
 * binRange(minPlan, 0) // [lo, first edge − 1]
 */
export function binRange(plan: NoisyExtremePlan, j: number): [bigint, bigint] {
  const edges = plan.edges ?? [];
  const lower = j === 0 ? plan.column.lo : edges[j - 1];
  const upper = j === edges.length ? plan.column.hi : edges[j] - 1n;
  return [lower, upper];
}

/**
 * The occupancy threshold τ of a DP min/max plan: the smallest count that
 * the noise of one bin exceeds with probability at most 5%/bins.
 *
 * @example
 * occupancyThreshold(minPlan) // 17n at ε = 1 over 32 bins
 */
export function occupancyThreshold(plan: NoisyExtremePlan): bigint {
  const release = plan.dp.releases[0];
  return noiseQuantile(release.scale, OCCUPANCY_FALSE_ALARM / release.statistics.length);
}

/**
 * The bin a DP min (max) answer comes from: the lowest (highest) whose noisy
 * count exceeds τ; when none does, the busiest (the lowest, or highest, of
 * the busiest).
 *
 * @example
 * chosenBin(minPlan, noisyCounts, tau) // 3
 */
export function chosenBin(plan: NoisyExtremePlan, counts: readonly bigint[], tau: bigint): number {
  const occupied = (c: bigint) => c > tau;
  const j = plan.algorithm === "min@1" ? counts.findIndex(occupied) : counts.findLastIndex(occupied);
  if (j >= 0) return j;
  const most = counts.reduce((m, c) => (c > m ? c : m));
  return plan.algorithm === "min@1" ? counts.indexOf(most) : counts.lastIndexOf(most);
}

/**
 * Post-processing: the released values, exact, in the result's units, one
 * per value of the result (sum, mean, count-if, min, max: one; variance and
 * stddev: the variance; covariance: one; regression: slope, intercept, r²;
 * histogram: one per bucket), from (noisy) statistics in draw order.
 *
 * @example
 * releasedValues(meanPlan, [noisySum]) // [Rational mean, clamped to the bounds]
 */
export function releasedValues(plan: NoisyPlan, statistics: readonly bigint[]): Rational[] {
  const n = plan.rowCount;
  const count = (c: bigint): Rational => integer(c < 0n ? 0n : c > n ? n : c);
  switch (plan.algorithm) {
    case "count@1":
      return [integer(n)];
    case "sum@1": {
      const { column } = plan;
      const total = statistics[0] + n * plan.sums[0].factors[0].centre;
      return [integer(total).clamp(integer(n * column.lo), integer(n * column.hi)).div(integer(pow10(column.scale)))];
    }
    case "mean@1": {
      const { column } = plan;
      const mean = new Rational(statistics[0] + n * plan.sums[0].factors[0].centre, n).clamp(integer(column.lo), integer(column.hi));
      return [mean.div(integer(pow10(column.scale)))];
    }
    case "variance@1":
    case "stddev@1": {
      const [sx, sxx] = statistics;
      const { column } = plan;
      const width = column.hi - column.lo;
      // Popoviciu: no values within [lo, hi] have a variance above (hi − lo)²/4.
      const variance = new Rational(n * sxx - sx * sx, n * n).clamp(integer(0n), new Rational(width * width, 4n));
      return [variance.div(integer(pow10(2 * column.scale)))];
    }
    case "covariance@1": {
      const [sx, sy, sxy] = statistics;
      const { x, y } = plan;
      // |cov| ≤ σx·σy ≤ (hi_x − lo_x)(hi_y − lo_y)/4.
      const limit = new Rational((x.hi - x.lo) * (y.hi - y.lo), 4n);
      const cov = new Rational(n * sxy - sx * sy, n * n).clamp(limit.mul(integer(-1n)), limit);
      return [cov.div(integer(pow10(x.scale + y.scale)))];
    }
    case "regression@1": {
      const [sx, sy, sxx, sxy, syy] = statistics;
      const { x, y } = plan;
      const n2 = n * n;
      // n²·var and n²·cov of the centred values, clamped to what rows within the bounds can give.
      const vx = integer(n * sxx - sx * sx).clamp(integer(0n), new Rational(n2 * (x.hi - x.lo) ** 2n, 4n));
      const vy = integer(n * syy - sy * sy).clamp(integer(0n), new Rational(n2 * (y.hi - y.lo) ** 2n, 4n));
      const cv = integer(n * sxy - sx * sy);
      const meanX = new Rational(sx + n * plan.sums[0].factors[0].centre, n).clamp(integer(x.lo), integer(x.hi)).div(integer(pow10(x.scale)));
      const meanY = new Rational(sy + n * plan.sums[1].factors[0].centre, n).clamp(integer(y.lo), integer(y.hi)).div(integer(pow10(y.scale)));
      // No positive spread of x left: the flat line through the mean of y.
      if (vx.isZero()) return [integer(0n), meanY, integer(0n)];
      const units = new Rational(pow10(x.scale), pow10(y.scale));
      let slope: Rational;
      let r2: Rational;
      if (cv.mul(cv).compare(vx.mul(vy)) > 0) {
        // |r| > 1 is impossible: r = ±1, slope = ±√(vy/vx), to far more digits than printed.
        r2 = integer(1n);
        const magnitude = sqrtBelow(vy.div(vx), EXTRA_DIGITS + 12 + Math.max(x.scale, y.scale));
        slope = (cv.num < 0n ? magnitude.mul(integer(-1n)) : magnitude).mul(units);
      } else {
        slope = cv.div(vx).mul(units);
        r2 = vy.isZero() ? integer(1n) : cv.mul(cv).div(vx.mul(vy));
      }
      return [slope, meanY.sub(slope.mul(meanX)), r2];
    }
    case "count-if@1":
      return [count(statistics[0])];
    case "histogram@1":
      return statistics.map(count);
    case "min@1":
    case "max@1": {
      const extreme = plan as NoisyExtremePlan;
      const [lower, upper] = binRange(extreme, chosenBin(extreme, statistics, occupancyThreshold(extreme)));
      return [Rational.scaled(plan.algorithm === "min@1" ? lower : upper, plan.column.scale)];
    }
  }
}

/** Value names of a multi-valued result, in the order of {@link releasedValues}. */
export const REGRESSION_VALUES = ["slope", "intercept", "r2"] as const;

/**
 * One released value as the decimal the result carries: at the same number
 * of digits as exact mode, rounded to nearest (an answer), down or up (the
 * ends of an interval, so that rounding never narrows it).
 *
 * @example
 * formatValue(meanPlan, 0, new Rational(1, 3), "up") // "0.333334"
 */
export function formatValue(plan: Plan, index: number, value: Rational, rounding: "nearest" | "down" | "up"): string {
  switch (plan.algorithm) {
    case "count@1":
    case "count-if@1":
    case "histogram@1":
      return value.toDecimal(0, rounding);
    case "sum@1":
    case "min@1":
    case "max@1":
      return value.toDecimal(plan.column.scale, rounding);
    case "mean@1":
    case "variance@1":
      return value.toDecimal(plan.column.scale + EXTRA_DIGITS, rounding);
    case "stddev@1":
      return value.sqrtDecimal(plan.column.scale + EXTRA_DIGITS, rounding === "up" ? "up" : "down");
    case "covariance@1":
      return value.toDecimal(Math.max(plan.x.scale, plan.y.scale) + EXTRA_DIGITS, rounding);
    case "regression@1":
      return value.toDecimal(index === 2 ? EXTRA_DIGITS : Math.max(plan.x.scale, plan.y.scale) + EXTRA_DIGITS, rounding);
  }
}

/**
 * The result object of a DP plan from its released values: the same shape as
 * exact mode's.
 *
 * @example
 * formatResult(histogramPlan, counts) // { edges: ["10", "20"], counts: ["3", "0", "7"] }
 */
export function formatResult(plan: NoisyPlan, values: readonly Rational[]): AlgorithmResult {
  const text = values.map((v, k) => formatValue(plan, k, v, "nearest"));
  switch (plan.algorithm) {
    case "histogram@1":
      return { edges: plan.edges.map((e) => boundText(e, plan.column.scale)), counts: text };
    case "regression@1":
      return { slope: text[0], intercept: text[1], r2: text[2] };
    default:
      return text[0];
  }
}

/**
 * The DP path of `decodeResult`: noisy statistics, post-processing, the
 * result's usual shape.
 *
 * @throws MpcError `RESULT_OUT_OF_RANGE` for values beyond the bounds plus the noise's tail bound
 * @example
 * decodeNoisyResult(meanPlan, values) // "62391.402000"
 */
export function decodeNoisyResult(plan: NoisyPlan, values: readonly bigint[]): AlgorithmResult {
  return formatResult(plan, releasedValues(plan, noisyStatistics(plan, values)));
}
