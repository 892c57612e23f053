import { formatIsoDate } from "@scmpc/tables/values";
import { MpcError } from "../errors.ts";
import { boundText } from "../algorithms/column-bounds.ts";
import { EXTRA_DIGITS } from "../algorithms/plan.ts";
import { Rational } from "../algorithms/rational.ts";
import { noiseQuantile } from "../algorithms/noise-tail.ts";
import { noiseBound } from "../algorithms/privacy-plan.ts";
import { decodeSum, openedWidth } from "../algorithms/sum-plan.ts";
import { leastSquares } from "./least-squares.ts";
import { linearRegressionCells, type LinearRegressionItem, type OutputItem, type PlanColumn, type QueryPlan } from "./query-plan.ts";
import { queryOpenedCount } from "./opened-count.ts";

// The buyer's side of a query: the opened statistics turned into the answer
// table, exactly (BigInt and Rational), one row per group. Exact plans refuse
// statistics no rows within the declared bounds could give; DP plans clamp
// the noisy statistics into their possible ranges (post-processing).

/** A query's answer: column names, and one row per group of decimal strings (or ISO dates, category values), null for SQL NULL. */
export interface QueryResult {
  columns: string[];
  rows: (string | null)[][];
}


const signed = (v: bigint): bigint => BigInt.asIntN(64, v);

function impossible(why: string): MpcError {
  return new MpcError("RESULT_OUT_OF_RANGE", `query: the opened statistics are impossible (${why}): a seller's value outside its declared bounds, or a faulty host`);
}

/**
 * Decodes the opened values of a query plan into its answer table.
 *
 * @throws MpcError `INVALID_ARGUMENT` for the wrong number of values, `RESULT_OUT_OF_RANGE` for impossible ones
 * @example
 * decodeQuery(plan, opened) // { columns: ["dept", "avg(salary)"], rows: [["eng", "91000.000000"], ...] }
 */
export function decodeQuery(plan: QueryPlan, values: readonly bigint[]): QueryResult {
  return queryTable(plan, openStatistics(plan, values));
}

/** One group's opened statistic: a count or sum (exact, or plus its noise), bucket counts, or a selected value with its group's count. */
export type OpenedStatistic = { kind: "count"; value: bigint } | { kind: "sum"; value: bigint } | { kind: "buckets"; values: bigint[] } | { kind: "select"; value: bigint; count: bigint };

/**
 * The opened ring values read as statistics, per statistic and group, after
 * the range checks: exact plans refuse impossible values; DP plans refuse
 * only sums beyond the noise's tail bound.
 *
 * @throws MpcError `INVALID_ARGUMENT` for the wrong number of values, `RESULT_OUT_OF_RANGE` for impossible ones
 */
export function openStatistics(plan: QueryPlan, values: readonly bigint[]): OpenedStatistic[][] {
  if (values.length !== queryOpenedCount(plan)) throw new MpcError("INVALID_ARGUMENT", `the query opens ${queryOpenedCount(plan)} values, got ${values.length}`);
  const n = plan.rowCount;
  let at = 0;
  return plan.statistics.map((s, k) => {
    // A noisy count lies within [0, n] widened by its noise's tail bound (three terms, see privacy-plan.ts).
    const release = plan.releases?.[k];
    const slack = release === undefined ? 0n : noiseBound(release);
    const checkCount = (v: bigint): void => {
      if (v < -slack || v > n + slack) {
        throw impossible(`a count of ${v} out of ${n} rows${release === undefined ? "" : ", beyond what the noise's tail bound allows"}`);
      }
    };
    return Array.from({ length: plan.groups }, (): OpenedStatistic => {
      switch (s.kind) {
        case "count": {
          const v = signed(values[at++]);
          checkCount(v);
          return { kind: "count", value: v };
        }
        case "sum": {
          const width = openedWidth(s.sums[0]);
          const v = decodeSum("query", s.sums[0], values.slice(at, at + width));
          at += width;
          return { kind: "sum", value: v };
        }
        case "buckets": {
          const vs = values.slice(at, at + s.edges.length + 1).map(signed);
          at += s.edges.length + 1;
          vs.forEach(checkCount);
          return { kind: "buckets", values: vs };
        }
        case "select": {
          const value = signed(values[at++]);
          const count = signed(values[at++]);
          if (count < 0n || count > n) throw impossible(`a count of ${count} out of ${n} rows`);
          return { kind: "select", value, count };
        }
      }
    });
  });
}

/** The answer table from the opened statistics (post-processing only: noisy statistics are clamped into their possible ranges). */
export function queryTable(plan: QueryPlan, opened: OpenedStatistic[][]): QueryResult {
  const columns = plan.output.flatMap((item) =>
    item.kind === "histogram" ? bucketNames(plan, item) : item.kind === "linear_regression" ? linearRegressionCells(item.x.map((c) => c.name)).map((cell) => `${item.name} ${cell}`) : [item.name],
  );
  const rows = Array.from({ length: plan.groups }, (_, g) => plan.output.flatMap((item) => cells(plan, item, g, opened)));
  return { columns, rows };
}

function bucketNames(plan: QueryPlan, item: OutputItem & { kind: "histogram" }): string[] {
  const stat = plan.statistics[item.buckets];
  const edges = stat.kind === "buckets" ? stat.edges : [];
  return histogramLabels(item.column, edges).map((label) => `${item.name} ${label}`);
}

/** Labels of the buckets of edges e_1 < ... < e_k: (−∞, e_1), [e_1, e_2), ..., [e_k, +∞). */
function histogramLabels(column: PlanColumn, edges: readonly bigint[]): string[] {
  const text = (e: bigint): string => valueText(column, e);
  return [...edges, undefined].map((e, j) => (j === 0 ? `(-inf, ${text(e!)})` : e === undefined ? `[${text(edges[j - 1])}, +inf)` : `[${text(edges[j - 1])}, ${text(e)})`));
}

/** A value of a column in its units, as text: a date as YYYY-MM-DD, else a decimal at the column's scale. */
function valueText(column: PlanColumn, units: bigint): string {
  return column.type === "date" ? formatIsoDate(Number(units)) : boundText(units, column.scale);
}

function clamp(x: bigint, lo: bigint, hi: bigint): bigint {
  return x < lo ? lo : x > hi ? hi : x;
}

/** The group's label of GROUP BY column `index` (the first column varies slowest). */
function groupLabel(plan: QueryPlan, g: number, index: number): string | null {
  let rest = g;
  const keys: number[] = [];
  for (let i = plan.groupBy.length - 1; i >= 0; i--) {
    const size = plan.groupBy[i].labels.length;
    keys[i] = rest % size;
    rest = Math.floor(rest / size);
  }
  return plan.groupBy[index].labels[keys[index]];
}

function cells(plan: QueryPlan, item: OutputItem, g: number, opened: OpenedStatistic[][]): (string | null)[] {
  const n = plan.rowCount;
  const noisy = plan.dp !== undefined;
  const count = (k: number): bigint => {
    const v = (opened[k][g] as { value: bigint }).value;
    return noisy ? clamp(v, 0n, n) : v;
  };
  const sum = (k: number): bigint => (opened[k][g] as { value: bigint }).value;
  const centre = (k: number): bigint => {
    const s = plan.statistics[k];
    return s.kind === "sum" ? s.sums[0].factors[0].centre : 0n;
  };
  switch (item.kind) {
    case "group":
      return [groupLabel(plan, g, item.group)];
    case "count": {
      if (!item.public) return [count(item.count).toString()];
      const counted = (opened[item.count][g] as { value: bigint }).value;
      if (counted !== n) throw impossible(`the hosts counted ${counted} rows, the chain ${n}`);
      return [n.toString()];
    }
    case "sum":
    case "avg": {
      let c = count(item.count);
      // SQL's sum of no rows is NULL; a noisy count of 0 still gives a (clamped) noisy sum,
      // and a noisy mean over at least one row: post-processing, which costs no ε, turns a
      // paid-for answer that noise left without rows into a (very noisy) value within the
      // bounds rather than into nothing.
      if (c === 0n && !noisy) return [null];
      if (c === 0n && item.kind === "avg") c = 1n;
      const { column } = item;
      let total = item.centred ? sum(item.sum) + centre(item.sum) * c : sum(item.sum);
      if (noisy) {
        const [lo, hi] = item.centred ? [column.lo * c, column.hi * c] : productRange(plan, item.sum, c);
        total = clamp(total, lo, hi);
      }
      if (item.kind === "sum") return [Rational.scaled(total, item.scale).toDecimal(item.scale)];
      return [Rational.scaled(total, item.scale).div(new Rational(c)).toDecimal(item.scale + EXTRA_DIGITS)];
    }
    case "var":
    case "stddev": {
      const c = count(item.count);
      if (c === 0n) return [null];
      const s = item.column.scale;
      const [sx, sxx] = item.sums.map(sum);
      let v = covariance(sx, sx, sxx, c, s, s, 2 * s);
      if (!noisy && v.compare(new Rational(0n)) < 0) throw impossible("a negative variance");
      if (noisy) {
        const w = Rational.scaled(item.column.hi - item.column.lo, s);
        v = v.clamp(new Rational(0n), w.mul(w).div(new Rational(4n)));
      }
      return [item.kind === "var" ? v.toDecimal(s + EXTRA_DIGITS) : v.sqrtDecimal(s + EXTRA_DIGITS)];
    }
    case "covar":
    case "corr": {
      const c = count(item.count);
      if (c === 0n) return [null];
      const { x, y } = item;
      const [sx, sy, sxy, sxx, syy] = item.sums.map(sum);
      const cov = covariance(sx, sy, sxy, c, x.scale, y.scale, x.scale + y.scale);
      const digits = Math.max(x.scale, y.scale) + EXTRA_DIGITS;
      if (item.kind === "covar") {
        if (!noisy) return [cov.toDecimal(digits)];
        const bound = Rational.scaled(x.hi - x.lo, x.scale).mul(Rational.scaled(y.hi - y.lo, y.scale)).div(new Rational(4n));
        return [cov.clamp(new Rational(0n).sub(bound), bound).toDecimal(digits)];
      }
      const vx = covariance(sx, sx, sxx, c, x.scale, x.scale, 2 * x.scale);
      const vy = covariance(sy, sy, syy, c, y.scale, y.scale, 2 * y.scale);
      const zero = new Rational(0n);
      if (vx.compare(zero) <= 0 || vy.compare(zero) <= 0) return [null];
      let r2 = cov.mul(cov).div(vx.mul(vy));
      if (r2.compare(new Rational(1n)) > 0) {
        if (!noisy) throw impossible("a correlation beyond ±1");
        r2 = new Rational(1n);
      }
      const magnitude = r2.sqrtDecimal(EXTRA_DIGITS);
      return [cov.compare(zero) < 0 && magnitude !== Rational.scaled(0n, 0).toDecimal(EXTRA_DIGITS) ? `-${magnitude}` : magnitude];
    }
    case "regr_slope":
    case "regr_intercept":
    case "regr_r2": {
      const c = count(item.count);
      if (c === 0n) return [null];
      const { x, y } = item;
      const [sx, sy, sxy, sxx, syy] = item.sums.map(sum);
      const zero = new Rational(0n);
      const cxy = covariance(sx, sy, sxy, c, x.scale, y.scale, x.scale + y.scale);
      let vx = covariance(sx, sx, sxx, c, x.scale, x.scale, 2 * x.scale);
      let vy = covariance(sy, sy, syy, c, y.scale, y.scale, 2 * y.scale);
      if (!noisy && (vx.compare(zero) < 0 || vy.compare(zero) < 0 || cxy.mul(cxy).compare(vx.mul(vy)) > 0)) throw impossible("variances or a correlation out of range");
      if (noisy) {
        vx = vx.compare(zero) < 0 ? zero : vx;
        vy = vy.compare(zero) < 0 ? zero : vy;
      }
      const digits = Math.max(x.scale, y.scale) + EXTRA_DIGITS;
      // A constant x has no slope (SQL's NULL); a constant y lies exactly on its horizontal line.
      if (vx.isZero()) return [null];
      const slope = cxy.div(vx);
      if (item.kind === "regr_slope") return [slope.toDecimal(digits)];
      if (item.kind === "regr_intercept") {
        const meanX = Rational.scaled(sx + centre(item.sums[0]) * c, x.scale).div(new Rational(c));
        const meanY = Rational.scaled(sy + centre(item.sums[1]) * c, y.scale).div(new Rational(c));
        return [meanY.sub(slope.mul(meanX)).toDecimal(digits)];
      }
      if (vy.isZero()) return [noisy ? "0.000000" : "1.000000"];
      const r2 = cxy.mul(cxy).div(vx.mul(vy));
      return [r2.clamp(zero, new Rational(1n)).toDecimal(EXTRA_DIGITS)];
    }
    case "linear_regression":
      return regressionCells(plan, item, g, opened);
    case "histogram": {
      const b = opened[item.buckets][g] as { values: bigint[] };
      return b.values.map((v) => (noisy ? clamp(v, 0n, n) : v).toString());
    }
    case "quantile": {
      const o = opened[item.select][g];
      const column = item.column;
      if (o.kind === "select") {
        if (o.count === 0n) return [null];
        const v = column.lo + o.value;
        if (v < column.lo || v > column.hi) throw impossible(`${item.name} outside the column's bounds`);
        return [valueText(column, v)];
      }
      return [noisyQuantile(plan, item, (o as { values: bigint[] }).values)];
    }
  }
}

/**
 * A regression's cells (see {@link linearRegressionCells}) from its opened
 * statistics, by exact least squares: all NULL where there is no fit
 * (no rows, a singular XᵀX, a noisy XᵀX not positive definite), standard
 * errors NULL where n ≤ k + 1. Exact plans refuse impossible statistics.
 */
function regressionCells(plan: QueryPlan, item: LinearRegressionItem, g: number, opened: OpenedStatistic[][]): (string | null)[] {
  const noisy = plan.dp !== undefined;
  const k = item.x.length;
  let n = (opened[item.count][g] as { value: bigint }).value;
  if (noisy) n = clamp(n, 0n, plan.rowCount);
  const value = (at: number, scale: number): Rational => Rational.scaled((opened[at][g] as { value: bigint }).value, scale);
  const centre = (at: number, column: PlanColumn): Rational => {
    const s = plan.statistics[at];
    return Rational.scaled(s.kind === "sum" ? s.sums[0].factors[0].centre : 0n, column.scale);
  };
  const sxx: Rational[][] = Array.from({ length: k }, () => []);
  let at = 0;
  for (let i = 0; i < k; i++) {
    for (let j = i; j < k; j++) {
      sxx[i][j] = sxx[j][i] = value(item.sxx[at++], item.x[i].scale + item.x[j].scale);
    }
  }
  const fit = leastSquares(
    {
      n,
      sx: item.x.map((x, i) => value(item.sx[i], x.scale)),
      cx: item.x.map((x, i) => centre(item.sx[i], x)),
      sy: value(item.sy, item.y.scale),
      cy: centre(item.sy, item.y),
      sxx,
      sxy: item.x.map((x, i) => value(item.sxy[i], x.scale + item.y.scale)),
      syy: value(item.syy, 2 * item.y.scale),
    },
    noisy,
  );
  const cells = 2 * k + 4;
  if ("failure" in fit) {
    if (fit.failure === "impossible") throw impossible(fit.why);
    return [...Array.from({ length: cells - 1 }, () => null), n.toString()];
  }
  const digits = Math.max(item.y.scale, ...item.x.map((x) => x.scale)) + EXTRA_DIGITS;
  const errors = fit.variances === null ? Array.from({ length: k + 1 }, () => null) : fit.variances.map((v) => v.sqrtDecimal(digits));
  return [...fit.coefficients.map((b) => b.toDecimal(digits)), fit.intercept.toDecimal(digits), ...errors, fit.r2.toDecimal(EXTRA_DIGITS), n.toString()];
}

/**
 * A var or stddev item's group as exact moments: the count of present values,
 * the mean and the population variance, post-processed as the item's cell is
 * (DP: count clamped to [0, n], mean to [lo, hi], variance to
 * [0, (hi − lo)²/4]); mean and variance null where the count is 0. For the
 * buyer's side of tests that need more than the printed digits.
 *
 * @throws MpcError `RESULT_OUT_OF_RANGE` for an impossible exact variance
 */
export function groupMoments(plan: QueryPlan, item: OutputItem, g: number, opened: OpenedStatistic[][]): { n: bigint; mean: Rational | null; variance: Rational | null } {
  if (item.kind !== "var" && item.kind !== "stddev") throw new MpcError("INVALID_ARGUMENT", `groupMoments reads a var or stddev item, not ${item.kind}`);
  const noisy = plan.dp !== undefined;
  let c = (opened[item.count][g] as { value: bigint }).value;
  if (noisy) c = clamp(c, 0n, plan.rowCount);
  if (c === 0n) return { n: c, mean: null, variance: null };
  const { column } = item;
  const s = column.scale;
  const [sx, sxx] = item.sums.map((k) => (opened[k][g] as { value: bigint }).value);
  const stat = plan.statistics[item.sums[0]];
  const centre = stat.kind === "sum" ? stat.sums[0].factors[0].centre : 0n;
  let mean = Rational.scaled(sx + centre * c, s).div(new Rational(c));
  let variance = covariance(sx, sx, sxx, c, s, s, 2 * s);
  if (!noisy && variance.compare(new Rational(0n)) < 0) throw impossible("a negative variance");
  if (noisy) {
    const w = Rational.scaled(column.hi - column.lo, s);
    mean = mean.clamp(Rational.scaled(column.lo, s), Rational.scaled(column.hi, s));
    variance = variance.clamp(new Rational(0n), w.mul(w).div(new Rational(4n)));
  }
  return { n: c, mean, variance };
}

/** ±c·max|x|·max|y|: the range of a sum of c products of two columns. */
function productRange(plan: QueryPlan, k: number, c: bigint): [bigint, bigint] {
  const s = plan.statistics[k];
  const bound = s.kind === "sum" ? s.sums[0].rowBound * c : 0n;
  return [-bound, bound];
}

/**
 * An order statistic from its noisy histogram over public bins (DP mode):
 * counts clamped at 0; a quantile p is the middle
 * of the bin where the cumulative count reaches p of the total. NULL when
 * the noisy total is below 1. min (max) is the lowest (highest) value of
 * the first (last) bin whose count exceeds τ, the count noise alone exceeds
 * in any bin with probability at most 5% (the busiest bin if none does).
 */
function noisyQuantile(plan: QueryPlan, item: OutputItem & { kind: "quantile" }, noisyCounts: readonly bigint[]): string | null {
  const counts = noisyCounts.map((v) => (v < 0n ? 0n : v));
  const total = counts.reduce((s, v) => s + v, 0n);
  if (total < 1n) return null;
  const stat = plan.statistics[item.select];
  const edges = stat.kind === "buckets" ? stat.edges : [];
  const column = item.column;
  const lowOf = (j: number): bigint => (j === 0 ? column.lo : edges[j - 1]);
  const highOf = (j: number): bigint => (j === edges.length ? column.hi : edges[j] - 1n);
  if (item.which !== "quantile") {
    // τ: the count that noise alone exceeds in any one of the bins with probability at most 5%.
    const release = plan.releases?.[item.select];
    const tau = release === undefined ? 0n : noiseQuantile(release.scale, 0.05 / counts.length);
    const busiest = counts.indexOf(counts.reduce((m, v) => (v > m ? v : m), 0n));
    const above = counts.map((v, j) => (v > tau ? j : -1)).filter((j) => j >= 0);
    if (item.which === "min") return valueText(column, lowOf(above.length > 0 ? above[0] : busiest));
    return valueText(column, highOf(above.length > 0 ? above[above.length - 1] : busiest));
  }
  let cumulative = 0n;
  for (let j = 0; j < counts.length; j++) {
    cumulative += counts[j];
    // cumulative / total ≥ a / b
    if (cumulative * item.p.b >= item.p.a * total) return valueText(column, (lowOf(j) + highOf(j)) / 2n);
  }
  return valueText(column, column.hi);
}

/** Σxy/c − (Σx/c)(Σy/c) from centred sums, each at its scale (shift-invariant). */
function covariance(sx: bigint, sy: bigint, sxy: bigint, c: bigint, scaleX: number, scaleY: number, scaleXY: number): Rational {
  const n = new Rational(c);
  return Rational.scaled(sxy, scaleXY).div(n).sub(Rational.scaled(sx, scaleX).div(n).mul(Rational.scaled(sy, scaleY).div(n)));
}
