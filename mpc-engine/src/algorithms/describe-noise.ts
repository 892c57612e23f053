import { describeQueryNoise, QUERY_BOOTSTRAP_DRAWS } from "../plan/describe-query-noise.ts";
import type { Ratio } from "../protocol/discrete-laplace.ts";
import { boundText } from "./column-bounds.ts";
import { linearRegressionCells } from "../plan/query-plan.ts";
import type { Plan } from "./plan.ts";
import { MECHANISM } from "./privacy-plan.ts";
import { Rational } from "./rational.ts";

/** A 95% interval: its lower and upper end, decimals at the result's digits. */
export type Interval = [lo: string, hi: string];

/** One noisy statistic a DP plan opened, in its own units. */
export interface NoisyStatisticDescription {
  /** "Σ(x−c)[x]", "count[x]", "hist[x](...)": the statistic and the columns whose cells must be present. */
  label: string;
  /** Replace-one sensitivity Δ (L1, of its release), in the statistic's units. */
  sensitivity: string;
  /** The share of ε its release spent. */
  epsilon: string;
  /** Scale t = Δ/ε of each of the three discrete Laplace terms it carries, in the statistic's units. */
  noiseScale: string;
}

/** How noisy a differentially private answer is. */
export interface NoiseDescription {
  /** "discrete Laplace"; "none" for count@1, whose row count is public and released exactly. */
  mechanism: typeof MECHANISM | "none";
  /** The ε the answer spent, as a decimal ("1", "0.5"). */
  epsilon: string;
  /**
   * The scale of the noise on the answer, in the answer's units (one per
   * value for a regression, a correlation matrix or a t-test, keyed as
   * `interval95`): the scale t of a three-term discrete Laplace
   * noise with the standard deviation the answer's noise has (σ/√6) —
   * exactly the count's t for count-if and each histogram bucket, the
   * bootstrap's σ for every other answer.
   */
  noiseScale: string | Record<string, string>;
  /**
   * 95% interval of the answer: one for a single value, one per bucket for a
   * histogram, one per value for a regression (slope, intercept, r2; or
   * coefficient(<x>), intercept, se(<x>), se(intercept), r2, n), one per pair
   * ("a,b") for a correlation matrix, and mean1, mean2, n1, n2 for a t-test
   * (t, df and p have none).
   */
  interval95: Interval | Interval[] | Record<string, Interval>;
  /** "exact" (the noise's own quantiles) or "approximate" (parametric bootstrap). */
  interval: "exact" | "approximate";
  /** How the interval was computed, in words. */
  method: string;
  /** Every noisy statistic the hosts opened, exact, in its own units. */
  statistics: NoisyStatisticDescription[];
}

/** Replicates of the parametric bootstrap. */
export const BOOTSTRAP_DRAWS = QUERY_BOOTSTRAP_DRAWS;

const EXACT_METHOD =
  "exact: the 2.5% and 97.5% quantiles of N_0 + N_1 + N_2 (three independent discrete Laplace terms of the stated scale, from their closed-form " +
  "distribution), around the released noisy count, clamped to [0, n]; per value, not simultaneous";

const BOOTSTRAP_METHOD =
  `approximate: parametric bootstrap — ${BOOTSTRAP_DRAWS} draws of the known noise (three discrete Laplace terms per statistic, exact sampler, ` +
  "seeded from the answer so the description is reproducible) added to the released noisy statistics, each post-processed as the answer was; " +
  "the 2.5% and 97.5% percentiles, widened to contain the answer";

function ratioText(r: Ratio): string {
  const x = new Rational(r.num, r.den);
  // Shortest exact decimal when there is one (ε = 1, 0.5, 0.001), else 9 digits.
  for (let digits = 0; digits <= 9; digits++) {
    const text = x.toDecimal(digits);
    if (new Rational(BigInt(text.replace(".", "").replace("-", "")), 10n ** BigInt(digits)).compare(x) === 0) return text;
  }
  return x.toDecimal(9);
}

/** σ/√6 as text: the scale of a three-term discrete Laplace noise (≈ Laplace) with standard deviation σ. */
function scaleOfSpread(spread: string | null): string {
  return spread === null ? "0" : (Number(spread) / Math.sqrt(6)).toPrecision(6);
}

/**
 * How noisy a decoded answer is, for the buyer's client to show next to it:
 * `undefined` for an exact plan; otherwise the mechanism, the ε spent, the
 * noise scale in the answer's units, a 95% interval per value, and every
 * opened noisy statistic with its sensitivity, ε share and scale (the query
 * IR's description, read as the algorithm's result shape).
 *
 * - count-if, histogram: **exact** intervals — the noisy count ± m, m the
 *   smallest integer with P[N_0 + N_1 + N_2 > m] ≤ 2.5%, clamped to [0, n].
 * - every other answer (a quotient or a function of several noisy sums):
 *   **approximate** — parametric bootstrap around the released statistics.
 *
 * @throws MpcError `INVALID_ARGUMENT` for a wrong number of values, `RESULT_OUT_OF_RANGE` for impossible ones
 * @example
 * describeNoise(plan, values) // { mechanism: "discrete Laplace", epsilon: "1", noiseScale: "…", interval95: ["62386.402000", "62396.402000"], interval: "approximate", ... }
 */
export function describeNoise(plan: Plan, values: readonly bigint[]): NoiseDescription | undefined {
  if (plan.dp === undefined) return undefined;
  const epsilon = ratioText({ num: BigInt(plan.dp.epsilonMilli), den: 1000n });
  if (plan.algorithm === "count@1") {
    const n = plan.rowCount.toString();
    return { mechanism: "none", epsilon: "0", noiseScale: "0", interval95: [n, n], interval: "exact", method: "the row count is public on-chain and released exactly", statistics: [] };
  }
  const noise = describeQueryNoise(plan.query, values)!;
  const item = plan.query.output[0];
  // Where the bootstrap cannot say (most redraws undefined), the interval is everything the column allows.
  const whole: Interval = "column" in item ? [boundText(item.column.lo, item.column.scale), boundText(item.column.hi, item.column.scale)] : ["0", "0"];
  const intervals = noise.intervals[0].map((interval): Interval => interval ?? whole);
  // A cell the bootstrap cannot bound and whose range is not a column's.
  const unbounded: Interval = ["-inf", "+inf"];
  const scales = noise.spread[0].map(scaleOfSpread);
  const exact = plan.algorithm === "count-if@1" || plan.algorithm === "histogram@1";
  const statistics = noise.split.map((s) => ({ label: s.statistic, sensitivity: s.sensitivity, epsilon: s.epsilon, noiseScale: s.noiseScale }));
  const common = { mechanism: MECHANISM as typeof MECHANISM, epsilon, interval: exact ? ("exact" as const) : ("approximate" as const), method: exact ? EXACT_METHOD : BOOTSTRAP_METHOD, statistics };
  switch (plan.algorithm) {
    case "histogram@1":
      return { ...common, noiseScale: plan.query.releases?.[0] ? new Rational(plan.query.releases[0].scale.num, plan.query.releases[0].scale.den).toDecimal(6) : "0", interval95: intervals };
    case "count-if@1":
      return { ...common, noiseScale: noise.split[0]?.noiseScale ?? "0", interval95: intervals[0] };
    case "regression@1": {
      if (item.kind === "linear_regression") {
        // Keyed by cell: coefficient(<x>), intercept, se(<x>), se(intercept), r2, n.
        const names = linearRegressionCells(item.x.map((x) => x.name));
        return {
          ...common,
          noiseScale: Object.fromEntries(names.map((name, j) => [name, scales[j]])),
          interval95: Object.fromEntries(names.map((name, j) => [name, noise.intervals[0][j] ?? unbounded])),
        };
      }
      return {
        ...common,
        noiseScale: { slope: scales[0], intercept: scales[1], r2: scales[2] },
        interval95: { slope: intervals[0], intercept: intervals[1], r2: intervals[2] },
      };
    }
    case "correlation@1": {
      // Keyed by pair, "<a>,<b>", in the order of the query's corr items.
      const names = plan.query.output.map((o) => (o.kind === "corr" ? `${o.x.name},${o.y.name}` : o.name));
      return {
        ...common,
        noiseScale: Object.fromEntries(names.map((name, j) => [name, scales[j]])),
        interval95: Object.fromEntries(names.map((name, j) => [name, noise.intervals[0][j] ?? ["-1.000000", "1.000000"]])),
      };
    }
    case "ttest@1": {
      // Intervals of the groups' means and counts; t, df and p have none (see the algorithm's dp text).
      const { groups } = JSON.parse(plan.query.text.slice(plan.algorithm.length + 1)) as { groups: [string, string] };
      const labels = plan.query.groupBy[0].labels;
      const [a, b] = groups.map((g) => labels.indexOf(g));
      const variance = plan.query.output[3];
      const range: Interval = "column" in variance ? [boundText(variance.column.lo, variance.column.scale), boundText(variance.column.hi, variance.column.scale)] : unbounded;
      const n = plan.rowCount.toString();
      const at = (g: number, j: number, fallback: Interval): Interval => noise.intervals[g][j] ?? fallback;
      const scale = (g: number, j: number): string => scaleOfSpread(noise.spread[g][j]);
      return {
        ...common,
        noiseScale: { mean1: scale(a, 2), mean2: scale(b, 2), n1: scale(a, 1), n2: scale(b, 1) },
        interval95: { mean1: at(a, 2, range), mean2: at(b, 2, range), n1: at(a, 1, ["0", n]), n2: at(b, 1, ["0", n]) },
      };
    }
    default:
      return { ...common, noiseScale: scales[0], interval95: intervals[0] };
  }
}
