import { createCipheriv, createHash } from "node:crypto";
import { INTERVAL_TAIL, noiseQuantile } from "../algorithms/noise-tail.ts";
import { Rational } from "../algorithms/rational.ts";
import { sampleDiscreteLaplace, type Ratio } from "../protocol/discrete-laplace.ts";
import { wordsOf } from "../protocol/party.ts";
import { createStreamReader, type RandomSource } from "../protocol/stream-reader.ts";
import { compareDecimals } from "../query/decimal-text.ts";
import { openStatistics, queryTable, type OpenedStatistic } from "./decode-query.ts";
import type { QueryPlan } from "./query-plan.ts";

// How noisy a DP query's answer is: the budget split (each statistic's ε and
// noise scale) and a 95% interval per cell of the answer table.

/** Draws of the parametric bootstrap per description. */
export const QUERY_BOOTSTRAP_DRAWS = 400;

/** One opened statistic's share of ε and its noise. */
export interface StatisticNoise {
  statistic: string;
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
}

function bootstrapSource(plan: QueryPlan, values: readonly bigint[]): RandomSource {
  const key = createHash("sha256").update(`scmpc-describe-query-v1|${plan.text}|${plan.rowCount}|${values.join(",")}`).digest();
  return createStreamReader((n) => wordsOf(createCipheriv("aes-256-ctr", key, Buffer.alloc(16)).update(Buffer.alloc(8 * n))));
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
            statistic: plan.statistics[k].key,
            epsilon: new Rational(r.epsilon.num, r.epsilon.den).toDecimal(6),
            noiseScale: new Rational(r.scale.num, r.scale.den).toDecimal(6),
            noise95: noiseQuantile(r.scale, INTERVAL_TAIL).toString(),
          },
        ],
  );
  // What each column of the table is: a group label, an exact count (or bucket), or a value to bootstrap.
  type CellKind = { kind: "label" } | { kind: "public" } | { kind: "count"; statistic: number; bucket?: number } | { kind: "bootstrap" };
  const kinds: CellKind[] = plan.output.flatMap((item): CellKind[] => {
    if (item.kind === "group") return [{ kind: "label" }];
    if (item.kind === "count") return [item.public ? { kind: "public" } : { kind: "count", statistic: item.count }];
    if (item.kind === "histogram") {
      const s = plan.statistics[item.buckets];
      return Array.from({ length: s.kind === "buckets" ? s.edges.length + 1 : 0 }, (_, b) => ({ kind: "count", statistic: item.buckets, bucket: b }));
    }
    return [{ kind: "bootstrap" }];
  });
  const random = bootstrapSource(plan, values);
  const draws = Array.from({ length: QUERY_BOOTSTRAP_DRAWS }, () => queryTable(plan, redraw(plan, opened, random)).rows);
  const n = plan.rowCount;
  const clampCount = (v: bigint): string => (v < 0n ? 0n : v > n ? n : v).toString();
  const intervals = answer.rows.map((row, g) =>
    row.map((cell, j): [string, string] | null => {
      const kind = kinds[j];
      if (kind.kind === "label" || cell === null) return null;
      if (kind.kind === "public") return [cell, cell];
      if (kind.kind === "count") {
        const release = plan.releases?.[kind.statistic];
        if (release === undefined) return [cell, cell];
        const o = opened[kind.statistic][g];
        const v = o.kind === "buckets" ? o.values[kind.bucket!] : (o as { value: bigint }).value;
        const m = noiseQuantile(release.scale, INTERVAL_TAIL);
        return [clampCount(v - m), clampCount(v + m)];
      }
      const samples = draws.map((d) => d[g][j]).filter((v): v is string => v !== null);
      if (samples.length < QUERY_BOOTSTRAP_DRAWS * 0.95) return null;
      samples.sort(compareCells);
      return [samples[Math.floor(samples.length * INTERVAL_TAIL)], samples[Math.ceil(samples.length * (1 - INTERVAL_TAIL)) - 1]];
    }),
  );
  return { mechanism: plan.dp.mechanism, split, intervals };
}
