import { ctr } from "@noble/ciphers/aes.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { INTERVAL_TAIL, noiseQuantile } from "../algorithms/noise-tail.ts";
import { Rational } from "../algorithms/rational.ts";
import { sampleDiscreteLaplace, type Ratio } from "../protocol/discrete-laplace.ts";
import { createStreamReader, type RandomSource } from "../protocol/stream-reader.ts";
import { compareDecimals } from "../query/decimal-text.ts";
import { decodeRingVector } from "../share-encoding.ts";
import { openStatistics, queryTable, type OpenedStatistic } from "./decode-query.ts";
import { formatIsoDate, parseIsoDate } from "@scmpc/tables/values";
import { boundText } from "../algorithms/column-bounds.ts";
import { EXTRA_DIGITS } from "../algorithms/plan.ts";
import type { PlanColumn, QueryPlan } from "./query-plan.ts";

// How noisy a DP query's answer is: the budget split (each statistic's ε and
// noise scale) and a 95% interval per cell of the answer table.

/** Draws of the parametric bootstrap per description. */
export const QUERY_BOOTSTRAP_DRAWS = 400;

/** One opened statistic's share of ε and its noise. */
export interface StatisticNoise {
  statistic: string;
  /** Replace-one L1 sensitivity of the statistic over all groups, in its units. */
  sensitivity: string;
  /** ε of this release (all groups of the statistic together), as a decimal. */
  epsilon: string;
  /** Scale t of each of the three discrete Laplace terms, in the statistic's units. */
  noiseScale: string;
  /** m with |N_0 + N_1 + N_2| ≤ m with probability at least 95%, in the statistic's units. */
  noise95: string;
}

/** The noise of a query's answer. */
export interface QueryNoise {
  mechanism: string;
  split: StatisticNoise[];
  /**
   * Per cell of the answer table, a 95% interval [lo, hi] (null for group
   * labels, and where too many redraws give NULL). Count and histogram cells:
   * exact (the noisy count ± the noise's 2.5% quantile, clamped to [0, n]);
   * every other cell: approximate, a parametric bootstrap — the known noise
   * drawn again (exact sampler, seeded from the values) around the noisy
   * statistics, the answer formed again, its 2.5% and 97.5% percentiles.
   */
  intervals: ([string, string] | null)[][];
  /**
   * Per cell, the standard deviation of its noise as a decimal: exact for
   * counts (three discrete Laplace terms), the bootstrap's for the others;
   * null where `intervals` is.
   */
  spread: (string | null)[][];
}

/**
 * The bootstrap's draws: the AES-256-CTR keystream (from counter block 0)
 * under SHA-256 of the plan and the values, read as u64 LE words. The reader
 * asks for ever longer prefixes of the stream; each is extended from where
 * the last one stopped rather than generated again (the AES is software,
 * portable to browsers, and the bulk of a description's time).
 */
function bootstrapSource(plan: QueryPlan, values: readonly bigint[]): RandomSource {
  const key = sha256(new TextEncoder().encode(`scmpc-describe-query-v1|${plan.text}|${plan.rowCount}|${values.join(",")}`));
  let stream = new Uint8Array(0);
  return createStreamReader((n) => {
    // Whole 16-byte blocks, so that the next extension starts on a block's counter.
    const wanted = 16 * Math.ceil((8 * n) / 16);
    if (wanted > stream.length) {
      const counter = new Uint8Array(16);
      new DataView(counter.buffer).setBigUint64(8, BigInt(stream.length / 16));
      const longer = new Uint8Array(wanted);
      longer.set(stream);
      longer.set(ctr(key, counter).encrypt(new Uint8Array(wanted - stream.length)), stream.length);
      stream = longer;
    }
    return decodeRingVector(stream.subarray(0, 8 * n));
  });
}

function draw(scale: Ratio, random: RandomSource): bigint {
  return sampleDiscreteLaplace(scale, random) + sampleDiscreteLaplace(scale, random) + sampleDiscreteLaplace(scale, random);
}

/** The opened statistics with fresh noise of each release's scale added to every element. */
function redraw(plan: QueryPlan, base: OpenedStatistic[][], random: RandomSource): OpenedStatistic[][] {
  return base.map((groups, k) => {
    const scale = plan.releases?.[k]?.scale;
    return groups.map((o): OpenedStatistic => {
      if (scale === undefined) return o;
      switch (o.kind) {
        case "count":
        case "sum":
          return { ...o, value: o.value + draw(scale, random) };
        case "buckets":
          return { kind: "buckets", values: o.values.map((v) => v + draw(scale, random)) };
        case "select":
          return o;
      }
    });
  });
}

/** A cell of a column (ISO date or decimal) in the column's units. */
function cellUnits(column: PlanColumn, text: string): bigint {
  if (column.type === "date") return BigInt(parseIsoDate(text)!);
  const [whole, fraction = ""] = text.replace("-", "").split(".");
  const units = BigInt(whole + fraction.padEnd(column.scale, "0"));
  return text.startsWith("-") ? -units : units;
}

function cellText(column: PlanColumn, units: bigint): string {
  return column.type === "date" ? formatIsoDate(Number(units)) : boundText(units, column.scale);
}

/** What a statistic is, for the buyer: its aggregate and the rows it counts. */
function statisticLabel(plan: QueryPlan, k: number): string {
  const s = plan.statistics[k];
  const rows = s.valid.length === 0 ? "" : ` (rows with ${s.valid.join(" and ")} present)`;
  const groups = plan.groups > 1 ? `, each of ${plan.groups} groups` : "";
  switch (s.kind) {
    case "count":
      return s.valid.length === 0 ? `count(*)${groups}` : `count${rows}${groups}`;
    case "sum":
      return `${s.sums[0].label}${rows}${groups}`;
    case "buckets":
      return `${s.edges.length + 1} bucket counts of ${s.column}${rows}${groups}`;
    case "select":
      return `rank of ${s.column}${groups}`;
  }
}

/** The whole range a cell's answer may take (its column's bounds for a mean or order statistic, [−1, 1] for a correlation), or null. */
function possibleRange(plan: QueryPlan, j: number): [string, string] | null {
  // Table column j's output item: a histogram spans one column per bucket.
  const item = plan.output.flatMap((o) => {
    const s = o.kind === "histogram" ? plan.statistics[o.buckets] : undefined;
    return s?.kind === "buckets" ? Array.from({ length: s.edges.length + 1 }, () => o) : [o];
  })[j];
  if (item === undefined) return null;
  if (item.kind === "avg" && item.centred) {
    const at = (units: bigint): string => Rational.scaled(units, item.column.scale).toDecimal(item.column.scale + EXTRA_DIGITS);
    return [at(item.column.lo), at(item.column.hi)];
  }
  if (item.kind === "quantile") return [cellText(item.column, item.column.lo), cellText(item.column, item.column.hi)];
  if (item.kind === "corr") return ["-1.000000", "1.000000"];
  if (item.kind === "regr_r2") return ["0.000000", "1.000000"];
  return null;
}

function compareCells(a: string, b: string): number {
  return /^\d{4}-\d{2}-\d{2}$/.test(a) ? (a < b ? -1 : a > b ? 1 : 0) : compareDecimals(a, b);
}

/**
 * The noise of a DP query's answer (undefined for an exact plan), from the
 * values the hosts opened.
 *
 * @example
 * describeQueryNoise(plan, opened) // { mechanism: "discrete Laplace", split: [...], intervals: [[null, ["31", "42"]], ...] }
 */
export function describeQueryNoise(plan: QueryPlan, values: readonly bigint[]): QueryNoise | undefined {
  if (plan.dp === undefined) return undefined;
  const opened = openStatistics(plan, values);
  const answer = queryTable(plan, opened);
  const split = (plan.releases ?? []).flatMap((r, k) =>
    r === undefined
      ? []
      : [
          {
            statistic: statisticLabel(plan, k),
            sensitivity: r.sensitivity.toString(),
            epsilon: new Rational(r.epsilon.num, r.epsilon.den).toDecimal(6),
            noiseScale: new Rational(r.scale.num, r.scale.den).toDecimal(6),
            noise95: noiseQuantile(r.scale, INTERVAL_TAIL).toString(),
          },
        ],
  );
  // What each column of the table is: a group label, an exact count (or bucket), or a value to bootstrap.
  type CellKind =
    | { kind: "label" }
    | { kind: "public" }
    | { kind: "count"; statistic: number; bucket?: number }
    | { kind: "bins"; edges: readonly bigint[]; column: PlanColumn }
    | { kind: "bootstrap" };
  const kinds: CellKind[] = plan.output.flatMap((item): CellKind[] => {
    if (item.kind === "group") return [{ kind: "label" }];
    if (item.kind === "count") return [item.public ? { kind: "public" } : { kind: "count", statistic: item.count }];
    if (item.kind === "histogram") {
      const s = plan.statistics[item.buckets];
      return Array.from({ length: s.kind === "buckets" ? s.edges.length + 1 : 0 }, (_, b) => ({ kind: "count", statistic: item.buckets, bucket: b }));
    }
    // A regression's cells: every coefficient, standard error, r² and n from several noisy statistics.
    if (item.kind === "linear_regression") return Array.from({ length: 2 * item.x.length + 4 }, () => ({ kind: "bootstrap" }));
    if (item.kind === "quantile") {
      const s = plan.statistics[item.select];
      // Read off noisy bins: the value lies anywhere in the chosen bin.
      if (s.kind === "buckets") return [{ kind: "bins", edges: s.edges, column: item.column }];
    }
    return [{ kind: "bootstrap" }];
  });
  const random = bootstrapSource(plan, values);
  const draws = Array.from({ length: QUERY_BOOTSTRAP_DRAWS }, () => queryTable(plan, redraw(plan, opened, random)).rows);
  const n = plan.rowCount;
  const clampCount = (v: bigint): string => (v < 0n ? 0n : v > n ? n : v).toString();
  const spread: (string | null)[][] = [];
  const intervals = answer.rows.map((row, g) => {
    spread[g] = [];
    return row.map((cell, j): [string, string] | null => {
      const kind = kinds[j];
      spread[g][j] = null;
      if (kind.kind === "label" || cell === null) return null;
      if (kind.kind === "public") {
        spread[g][j] = "0";
        return [cell, cell];
      }
      if (kind.kind === "count") {
        const release = plan.releases?.[kind.statistic];
        if (release === undefined) return [cell, cell];
        const o = opened[kind.statistic][g];
        const v = o.kind === "buckets" ? o.values[kind.bucket!] : (o as { value: bigint }).value;
        const m = noiseQuantile(release.scale, INTERVAL_TAIL);
        const q = Math.exp(-Number(release.scale.den) / Number(release.scale.num));
        spread[g][j] = Math.sqrt((3 * 2 * q) / (1 - q) ** 2).toPrecision(6);
        return [clampCount(v - m), clampCount(v + m)];
      }
      const samples = draws.map((d) => d[g][j]).filter((v): v is string => v !== null);
      // Too few redraws have an answer (a group whose noisy count is near 0): the interval is all the answer may be.
      if (samples.length < QUERY_BOOTSTRAP_DRAWS * 0.95) return possibleRange(plan, j);
      samples.sort(compareCells);
      const numbers = samples.map((v) => (/^\d{4}-\d{2}-\d{2}$/.test(v) ? Date.parse(v) / 86_400_000 : Number(v)));
      const mean = numbers.reduce((a, b) => a + b, 0) / numbers.length;
      spread[g][j] = Math.sqrt(numbers.reduce((a, b) => a + (b - mean) ** 2, 0) / (numbers.length - 1)).toPrecision(6);
      if (kind.kind === "bins") {
        // From the lowest value of the 2.5%-percentile draw's bin to the highest of the 97.5%-percentile one's (and the answer's).
        const bin = (text: string): number => {
          const units = cellUnits(kind.column, text);
          return kind.edges.filter((e) => e <= units).length;
        };
        const lowOf = (b: number): bigint => (b === 0 ? kind.column.lo : kind.edges[b - 1]);
        const highOf = (b: number): bigint => (b === kind.edges.length ? kind.column.hi : kind.edges[b] - 1n);
        const bins = [bin(samples[Math.floor(samples.length * INTERVAL_TAIL)]), bin(samples[Math.ceil(samples.length * (1 - INTERVAL_TAIL)) - 1]), bin(cell)];
        return [cellText(kind.column, lowOf(Math.min(...bins))), cellText(kind.column, highOf(Math.max(...bins)))];
      }
      // Widened to contain the answer itself.
      const lo = samples[Math.floor(samples.length * INTERVAL_TAIL)];
      const hi = samples[Math.ceil(samples.length * (1 - INTERVAL_TAIL)) - 1];
      return [compareCells(cell, lo) < 0 ? cell : lo, compareCells(cell, hi) > 0 ? cell : hi];
    });
  });
  return { mechanism: plan.dp.mechanism, split, intervals, spread };
}
