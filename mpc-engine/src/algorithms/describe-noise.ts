import { createCipheriv, createHash } from "node:crypto";
import { sampleDiscreteLaplace, type Ratio } from "../protocol/discrete-laplace.ts";
import { wordsOf } from "../protocol/party.ts";
import { createStreamReader, type RandomSource } from "../protocol/stream-reader.ts";
import { INTERVAL_TAIL, noiseQuantile } from "./noise-tail.ts";
import {
  binRange,
  chosenBin,
  formatValue,
  noisyStatistics,
  occupancyThreshold,
  REGRESSION_VALUES,
  releasedValues,
  type NoisyExtremePlan,
  type NoisyPlan,
} from "./noisy-release.ts";
import { EXTRA_DIGITS, type Plan } from "./plan.ts";
import { MECHANISM, noiseScales } from "./privacy-plan.ts";
import { Rational } from "./rational.ts";

/** A 95% interval: its lower and upper end, decimals at the result's digits (rounded outward). */
export type Interval = [lo: string, hi: string];

/** One noisy statistic a DP plan opened, in its own units. */
export interface NoisyStatisticDescription {
  /** "Σx", "Σx²", "count", "bucket 3"... */
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
   * value for a regression). Sum, mean, count-if, histogram: exact — each of
   * the three noise terms is a discrete Laplace of this scale (for a mean,
   * the sum's scale over n). Variance, stddev, covariance, regression:
   * approximate — the scale of a three-term discrete Laplace noise with the
   * same standard deviation as the answer has in the bootstrap (σ/√6).
   * Min, max: the scale of each bin count's noise, in rows (the answer is
   * read off a noisy histogram).
   */
  noiseScale: string | Record<string, string>;
  /**
   * 95% interval of the answer: one for a single value, one per bucket for a
   * histogram, one per value (slope, intercept, r2) for a regression.
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
export const BOOTSTRAP_DRAWS = 1000;

const EXACT_METHOD =
  "exact: the 2.5% and 97.5% quantiles of N_0 + N_1 + N_2 (three independent discrete Laplace terms of the stated scale, from their closed-form " +
  "distribution), around the released noisy statistic, mapped to the answer's units and clamped to the possible range; per value, not simultaneous";

const BOOTSTRAP_METHOD =
  `approximate: parametric bootstrap — ${BOOTSTRAP_DRAWS} draws of the known noise (three discrete Laplace terms per statistic, exact sampler, ` +
  "seeded from the answer so the description is reproducible) added to the released noisy statistics, each post-processed as the answer was; " +
  "the 2.5% and 97.5% percentiles, widened to contain the answer";

function milliText(milli: bigint, den: bigint): string {
  const r = new Rational(milli, den);
  // Shortest exact decimal when there is one (ε = 1, 0.5, 0.001), else 9 digits.
  for (let digits = 0; digits <= 9; digits++) {
    const text = r.toDecimal(digits);
    if (new Rational(BigInt(text.replace(".", "")), 10n ** BigInt(digits)).compare(r) === 0) return text;
  }
  return r.toDecimal(9);
}

function ratioText(r: Ratio): string {
  return milliText(r.num, r.den);
}

function toNumber(r: Rational): number {
  // Shift both parts down together when they would overflow a double.
  const bits = Math.max(r.num < 0n ? (-r.num).toString(2).length : r.num.toString(2).length, r.den.toString(2).length);
  const shift = BigInt(Math.max(0, bits - 1000));
  return Number(r.num >> shift) / Number(r.den >> shift);
}

/** A positive scale as a decimal with 6 significant digits, at least `minDigits` fractional digits. */
function scaleText(r: Rational, minDigits: number): string {
  const v = toNumber(r);
  const magnitude = v > 0 ? Math.floor(Math.log10(v)) : 0;
  const digits = Math.min(40, Math.max(minDigits, 5 - magnitude));
  return r.toDecimal(digits);
}

/** Units (decimal places) of each noisy statistic, in draw order. */
function statisticScales(plan: NoisyPlan): number[] {
  switch (plan.algorithm) {
    case "count@1":
      return [];
    case "count-if@1":
    case "histogram@1":
    case "min@1":
    case "max@1":
      return plan.dp.releases[0].statistics.map(() => 0);
    case "covariance@1":
    case "regression@1": {
      const scaleOf = (name: string) => (name === plan.x.name ? plan.x.scale : plan.y.scale);
      return plan.sums.map((s) => s.factors.reduce((k, f) => k + scaleOf(f.column), 0));
    }
    default:
      return plan.sums.map((s) => s.factors.length * plan.column.scale);
  }
}

function describeStatistics(plan: NoisyPlan): NoisyStatisticDescription[] {
  const scales = statisticScales(plan);
  let k = 0;
  return plan.dp.releases.flatMap((release) =>
    release.statistics.map((label) => {
      const scale = scales[k++];
      return {
        label,
        sensitivity: Rational.scaled(release.sensitivity, scale).toDecimal(scale),
        epsilon: ratioText(release.epsilon),
        noiseScale: scaleText(new Rational(release.scale.num, release.scale.den * 10n ** BigInt(scale)), scale),
      };
    }),
  );
}

/** The deterministic random source of one description's bootstrap: AES-256-CTR keyed by a hash of the plan's answer. */
function bootstrapSource(plan: NoisyPlan, values: readonly bigint[]): RandomSource {
  const key = createHash("sha256").update(`scmpc-describe-noise-v1|${plan.algorithm}|${plan.rowCount}|${values.join(",")}`).digest();
  return createStreamReader((n) => wordsOf(createCipheriv("aes-256-ctr", key, Buffer.alloc(16)).update(Buffer.alloc(8 * n))));
}

/** The exact 95% interval of a linear answer: released noisy statistic ± the noise's quantile, mapped and clamped. */
function exactDescription(plan: NoisyPlan, statistics: readonly bigint[]): Pick<NoiseDescription, "noiseScale" | "interval95"> {
  const release = plan.dp.releases[0];
  const m = noiseQuantile(release.scale, INTERVAL_TAIL);
  const t = new Rational(release.scale.num, release.scale.den);
  const n = plan.rowCount;
  // Post-processing is monotone in the noisy statistic, so the ends of the
  // statistic's interval map to the ends of the answer's; clamping both ends
  // keeps the answer inside and never drops the truth (which is in range).
  const around = (stat: bigint): [Rational, Rational] => {
    const [lo] = releasedValues(plan, [stat - m]);
    const [hi] = releasedValues(plan, [stat + m]);
    return [lo, hi];
  };
  const interval = ([lo, hi]: [Rational, Rational]): Interval => [formatValue(plan, 0, lo, "down"), formatValue(plan, 0, hi, "up")];
  switch (plan.algorithm) {
    case "sum@1":
      return { noiseScale: scaleText(t.div(new Rational(10n ** BigInt(plan.column.scale))), plan.column.scale), interval95: interval(around(statistics[0])) };
    case "mean@1": {
      const scale = t.div(new Rational(n * 10n ** BigInt(plan.column.scale)));
      return { noiseScale: scaleText(scale, plan.column.scale + EXTRA_DIGITS), interval95: interval(around(statistics[0])) };
    }
    case "count-if@1":
      return { noiseScale: scaleText(t, 0), interval95: interval(around(statistics[0])) };
    case "histogram@1": {
      const counts = (c: bigint): Rational => new Rational(c < 0n ? 0n : c > n ? n : c);
      return {
        noiseScale: scaleText(t, 0),
        interval95: statistics.map((c): Interval => [formatValue(plan, 0, counts(c - m), "down"), formatValue(plan, 0, counts(c + m), "up")]),
      };
    }
    default:
      throw new RangeError(`${plan.algorithm} has no exact interval`);
  }
}

/** Draws of the known noise: three discrete Laplace terms per statistic, added to `base`. */
function redraw(base: readonly bigint[], scales: readonly Ratio[], random: RandomSource): bigint[] {
  return base.map((s, k) => s + sampleDiscreteLaplace(scales[k], random) + sampleDiscreteLaplace(scales[k], random) + sampleDiscreteLaplace(scales[k], random));
}

/**
 * Parametric bootstrap of a DP min or max. The base is the histogram as the
 * answer reads it — bins at or below τ empty, the others at their noisy
 * count — so that redrawn noise is not added on top of the noise of empty
 * bins; each draw picks a bin by the answer's rule, and the interval runs
 * from the lowest value of the 2.5%-percentile bin to the highest value of
 * the 97.5%-percentile one (the extreme lies anywhere in its bin).
 */
function extremeDescription(plan: NoisyExtremePlan, statistics: readonly bigint[], values: readonly bigint[]): Pick<NoiseDescription, "noiseScale" | "interval95"> {
  const random = bootstrapSource(plan, values);
  const tau = occupancyThreshold(plan);
  const base = statistics.map((c) => (c > tau ? c : 0n));
  const scales = noiseScales(plan.dp);
  const bins: number[] = [];
  for (let r = 0; r < BOOTSTRAP_DRAWS; r++) bins.push(chosenBin(plan, redraw(base, scales, random), tau));
  bins.sort((a, b) => a - b);
  const answer = chosenBin(plan, statistics, tau);
  const first = Math.min(answer, bins[Math.floor(INTERVAL_TAIL * BOOTSTRAP_DRAWS)]);
  const last = Math.max(answer, bins[Math.ceil((1 - INTERVAL_TAIL) * BOOTSTRAP_DRAWS) - 1]);
  const at = (units: bigint, rounding: "down" | "up") => formatValue(plan, 0, Rational.scaled(units, plan.column.scale), rounding);
  return {
    // The noise is on the bin counts (in rows), not on the value.
    noiseScale: scaleText(new Rational(plan.dp.releases[0].scale.num, plan.dp.releases[0].scale.den), 0),
    interval95: [at(binRange(plan, first)[0], "down"), at(binRange(plan, last)[1], "up")],
  };
}

/** Parametric bootstrap of a derived answer: the known noise added again to the released noisy statistics. */
function bootstrapDescription(plan: NoisyPlan, statistics: readonly bigint[], values: readonly bigint[]): Pick<NoiseDescription, "noiseScale" | "interval95"> {
  if (plan.algorithm === "min@1" || plan.algorithm === "max@1") return extremeDescription(plan as NoisyExtremePlan, statistics, values);
  const random = bootstrapSource(plan, values);
  const scales = noiseScales(plan.dp);
  const released = releasedValues(plan, statistics);
  const draws: Rational[][] = released.map(() => []);
  for (let r = 0; r < BOOTSTRAP_DRAWS; r++) {
    releasedValues(plan, redraw(statistics, scales, random)).forEach((v, k) => draws[k].push(v));
  }
  const low = Math.floor(INTERVAL_TAIL * BOOTSTRAP_DRAWS);
  const high = Math.ceil((1 - INTERVAL_TAIL) * BOOTSTRAP_DRAWS) - 1;
  const perValue = released.map((value, k) => {
    const sorted = draws[k].sort((a, b) => a.compare(b));
    const lo = sorted[low].compare(value) > 0 ? value : sorted[low];
    const hi = sorted[high].compare(value) < 0 ? value : sorted[high];
    // stddev's values are variances: its scale is that of the square roots.
    const numbers = sorted.map((v) => (plan.algorithm === "stddev@1" ? Math.sqrt(toNumber(v)) : toNumber(v)));
    const mean = numbers.reduce((a, b) => a + b, 0) / numbers.length;
    const sd = Math.sqrt(numbers.reduce((a, b) => a + (b - mean) ** 2, 0) / (numbers.length - 1));
    const interval: Interval = [formatValue(plan, k, lo, "down"), formatValue(plan, k, hi, "up")];
    return { interval, scale: sd / Math.sqrt(6) };
  });
  const digits = (k: number): number => formatValue(plan, k, new Rational(0n), "nearest").split(".")[1]?.length ?? 0;
  const scaleOf = (k: number): string => {
    const s = perValue[k].scale;
    if (!Number.isFinite(s) || s <= 0) return new Rational(0n).toDecimal(digits(k));
    // The double as a rational with 17 significant digits, then printed like every other scale.
    const exponent = Math.min(300, Math.max(0, 17 - Math.floor(Math.log10(s))));
    return scaleText(new Rational(BigInt(Math.round(s * 10 ** exponent)), 10n ** BigInt(exponent)), digits(k));
  };
  if (plan.algorithm === "regression@1") {
    return {
      noiseScale: Object.fromEntries(REGRESSION_VALUES.map((name, k) => [name, scaleOf(k)])),
      interval95: Object.fromEntries(REGRESSION_VALUES.map((name, k) => [name, perValue[k].interval])),
    };
  }
  return { noiseScale: scaleOf(0), interval95: perValue[0].interval };
}

/**
 * How noisy a decoded answer is, for the buyer's client to show next to it:
 * `undefined` for an exact plan; otherwise the mechanism, the ε spent, the
 * noise scale in the answer's units, a 95% interval per value, and every
 * opened noisy statistic with its sensitivity, ε share and scale.
 *
 * Takes the opened values (what `decodeResult` takes), not the decoded
 * result: the derived answers' intervals come from the noisy sufficient
 * statistics, which the result alone does not carry.
 *
 * - sum, mean, count-if, histogram: **exact** intervals — the released
 *   noisy statistic ± m, m the smallest integer with
 *   P[N_0 + N_1 + N_2 > m] ≤ 2.5% (computed from the closed-form law of the
 *   three-term noise, noise-tail.ts), mapped to the answer's units and
 *   clamped to the possible range. They hold with probability ≥ 95% per
 *   value (per bucket, not simultaneously for a histogram).
 * - variance, stddev, covariance, regression, min, max: **approximate**
 *   intervals — parametric bootstrap: the known noise drawn again (exact
 *   sampler, seeded from the values, so the same answer always gets the same
 *   description) around the released noisy statistics and post-processed as
 *   the answer was; the 2.5% and 97.5% percentiles. For min and max the
 *   noise is redrawn around the histogram as the answer reads it (bins at or
 *   below τ empty) and the interval spans whole bins. The bootstrap does not
 *   see a minimum (maximum) whose bin holds too few rows to stand out from
 *   the noise: the answer and its interval then lie above (below) it.
 *
 * @throws MpcError `INVALID_ARGUMENT` for a wrong number of values, `RESULT_OUT_OF_RANGE` for impossible ones
 * @example
 * const result = decodeResult(plan, values); // "62391.402000"
 * describeNoise(plan, values)
 * // { mechanism: "discrete Laplace", epsilon: "1", noiseScale: "1.000000", interval95: ["62386.402000", "62396.402000"], interval: "exact", ... }
 */
export function describeNoise(plan: Plan, values: readonly bigint[]): NoiseDescription | undefined {
  if (plan.dp === undefined) return undefined;
  const noisy = plan as NoisyPlan;
  const statistics = noisyStatistics(noisy, values);
  const epsilon = milliText(BigInt(noisy.dp.epsilonMilli), 1000n);
  if (noisy.algorithm === "count@1") {
    const n = noisy.rowCount.toString();
    return {
      mechanism: "none",
      epsilon: "0",
      noiseScale: "0",
      interval95: [n, n],
      interval: "exact",
      method: "the row count is public on-chain and released exactly",
      statistics: [],
    };
  }
  const exact = noisy.algorithm === "sum@1" || noisy.algorithm === "mean@1" || noisy.algorithm === "count-if@1" || noisy.algorithm === "histogram@1";
  const described = exact ? exactDescription(noisy, statistics) : bootstrapDescription(noisy, statistics, values);
  return {
    mechanism: MECHANISM,
    epsilon,
    ...described,
    interval: exact ? "exact" : "approximate",
    method: exact ? EXACT_METHOD : BOOTSTRAP_METHOD,
    statistics: describeStatistics(noisy),
  };
}
