import { formatIsoDate } from "@scmpc/tables/values";
import { MpcError } from "../errors.ts";
import { boundText } from "../algorithms/column-bounds.ts";
import { EXTRA_DIGITS } from "../algorithms/plan.ts";
import { Rational } from "../algorithms/rational.ts";
import { noiseQuantile } from "../algorithms/noise-tail.ts";
import { decodeSum, openedWidth } from "../algorithms/sum-plan.ts";
import type { OutputItem, PlanColumn, QueryPlan } from "./query-plan.ts";
import { queryOpenedCount } from "./run-query.ts";

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
  const noisy = plan.dp !== undefined;
  let at = 0;
  return plan.statistics.map((s) =>
    Array.from({ length: plan.groups }, (): OpenedStatistic => {
      switch (s.kind) {
        case "count": {
          const v = signed(values[at++]);
          if (!noisy && (v < 0n || v > n)) throw impossible(`a count of ${v} out of ${n} rows`);
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
          if (!noisy && vs.some((v) => v < 0n || v > n)) throw impossible("a bucket count out of range");
          return { kind: "buckets", values: vs };
        }
        case "select": {
          const value = signed(values[at++]);
          const count = signed(values[at++]);
          if (count < 0n || count > n) throw impossible(`a count of ${count} out of ${n} rows`);
          return { kind: "select", value, count };
        }
      }
    }),
  );
}

/** The answer table from the opened statistics (post-processing only: noisy statistics are clamped into their possible ranges). */
export function queryTable(plan: QueryPlan, opened: OpenedStatistic[][]): QueryResult {
  const columns = plan.output.flatMap((item) => (item.kind === "histogram" ? bucketNames(plan, item) : [item.name]));
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
    case "count":
      return [item.public ? n.toString() : count(item.count).toString()];
    case "sum":
    case "avg": {
      const c = count(item.count);
      if (c === 0n) return [null];
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
