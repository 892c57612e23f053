import { MpcError } from "../errors.ts";
import type { Ratio } from "../protocol/discrete-laplace.ts";
import { halfWidth, type ColumnBounds } from "./column-bounds.ts";
import { Rational } from "./rational.ts";

// The privacy side of a plan: for every statistic a differentially private
// plan opens, its sensitivity, the share of ε it gets, and hence its noise
// scale — computed from public facts (the columns' bounds, the buyer's ε), so
// the chain of guarantees is computed, not asserted.
//
// - Unit of privacy: one row of one seller's dataset. Row counts are public
//   on-chain, so neighbouring datasets have the same rows but one row's
//   values replaced by any others within the declared bounds (replace-one).
// - Mechanism: each statistic S is released as S + N_0 + N_1 + N_2, three
//   independent discrete Laplace terms of scale t = Δ/ε_S, drawn by the three
//   pairs of hosts (protocol/noise.ts). Any one term is already ε_S-DP; the
//   two terms a host knows can be subtracted by that host, the third cannot.
// - Composition: the ε_S of the statistics of one answer add up to the ε the
//   buyer spent (basic composition); a histogram's bucket counts are one
//   vector release with L1 sensitivity 2. Answers to successive purchases
//   compose the same way: the chain keeps each dataset's budget.

/** The mechanism every differentially private plan uses. */
export const MECHANISM = "discrete Laplace";

/**
 * Multiple of the scale t that bounds each noise term in the no-wrap proof:
 * P[|N| > m] = 2q^{m+1}/(1+q) for N ~ DLap(t), q = e^{−1/t}, so with
 * m = ⌈64·t⌉ (m + 1 > 64t) one term exceeds it with probability below
 * 2e^{−64} < e^{−63}, and any of a statistic's three terms below e^{−61}.
 * The noise itself is never clamped (that would cost pure ε-DP); in that
 * event, too rare to matter, the sum could wrap, and the buyer's range check
 * would most likely refuse it.
 */
export const TAIL_MULTIPLE = 64n;

/** Public bins of the noisy histogram that answers min@1 and max@1 in DP mode. */
export const MIN_MAX_BINS = 32;

/** Milli-ε per ε. */
const MILLI = 1000n;

/**
 * One release: statistics noised together under one share of ε.
 */
export interface DpRelease {
  /** What is released, in the order of the noise draws: ["Σx"], or ["bucket 0", "bucket 1", ...]. */
  statistics: string[];
  /**
   * L1 sensitivity of these statistics together under replace-one, in units
   * of the statistic (the column's scale, or the product of two scales).
   */
  sensitivity: bigint;
  /** This release's ε (a fraction of the buyer's ε). */
  epsilon: Ratio;
  /** Noise scale t = sensitivity/ε of each of the three terms added to each statistic. */
  scale: Ratio;
  /** ⌈{@link TAIL_MULTIPLE}·t⌉: the bound on one term that planning proves the sums against. */
  termBound: bigint;
}

/** The differential-privacy part of a plan (absent in exact mode). */
export interface DpPlan {
  mechanism: typeof MECHANISM;
  /** ε the buyer spent on every dataset of the request, in milli-ε. */
  epsilonMilli: number;
  /** The releases, in the order the hosts draw their noise. Empty for count@1 (the row count is public). */
  releases: DpRelease[];
}

function reduced(num: bigint, den: bigint): Ratio {
  const r = new Rational(num, den);
  return { num: r.num, den: r.den };
}

/**
 * Plans one release: `parts` is how many releases share the buyer's ε
 * equally (ε/parts each), so t = Δ·parts/ε exactly.
 *
 * @example
 * planRelease(["Σx"], 170000n, 1000, 1) // ε 1, t 170000/1, termBound 10880000
 */
export function planRelease(statistics: string[], sensitivity: bigint, epsilonMilli: number, parts: number): DpRelease {
  const milli = BigInt(epsilonMilli);
  const k = BigInt(parts);
  const scale = reduced(sensitivity * MILLI * k, milli);
  return {
    statistics,
    sensitivity,
    epsilon: reduced(milli, MILLI * k),
    scale,
    termBound: (TAIL_MULTIPLE * scale.num + scale.den - 1n) / scale.den,
  };
}

/**
 * The DP part of a plan, after checking by composition that its releases
 * spend no more than the buyer's ε.
 *
 * @throws MpcError `INTERNAL` if the releases would spend more than ε
 * @example
 * dpPlan(1000, [planRelease(["count"], 1n, 1000, 1)])
 */
export function dpPlan(epsilonMilli: number, releases: DpRelease[]): DpPlan {
  const spent = releases.reduce((sum, r) => sum.add(new Rational(r.epsilon.num, r.epsilon.den)), new Rational(0n));
  const budget = new Rational(BigInt(epsilonMilli), MILLI);
  if (spent.sub(budget).num > 0n) {
    throw new MpcError("INTERNAL", `a plan would spend ε ${spent.toDecimal(6)}, more than the request's ${budget.toDecimal(3)}`);
  }
  return { mechanism: MECHANISM, epsilonMilli, releases };
}

/**
 * Bound on |N_0 + N_1 + N_2| for one statistic of a release: 3·termBound.
 *
 * @example
 * noiseBound(planRelease(["count"], 1n, 1000, 1)) // 192n
 */
export function noiseBound(release: DpRelease): bigint {
  return 3n * release.termBound;
}

/**
 * One noise scale per released statistic, in draw order.
 *
 * @example
 * noiseScales(plan.dp) // [{ num: 2n, den: 1n }, ...] for a histogram at ε = 1
 */
export function noiseScales(dp: DpPlan): Ratio[] {
  return dp.releases.flatMap((r) => r.statistics.map(() => r.scale));
}

/**
 * Replace-one sensitivity of a centred sum over a column's bounds, in units:
 * Σ(x − c) moves by at most hi − lo; Σ(x − c)² by at most W² (each summand
 * lies in [0, W²], W the half-width, as c lies within the bounds);
 * Σ(x − cx)(y − cy) by at most 2·Wx·Wy (each summand lies in ±Wx·Wy).
 *
 * @example
 * sumSensitivity([{ name: "s", lo: 30000n, hi: 200000n }]) // 170000n
 */
export function sumSensitivity(columns: readonly (ColumnBounds & { name: string })[]): bigint {
  if (columns.length === 1) return columns[0].hi - columns[0].lo;
  const [x, y] = columns;
  if (x.name === y.name) return halfWidth(x) ** 2n;
  return 2n * halfWidth(x) * halfWidth(y);
}

/**
 * The interior edges of the public bins that min@1 and max@1 use in DP mode:
 * [lo, hi] (w = hi − lo + 1 integer units) cut into min(32, w) bins of
 * (nearly) equal width, bin j = [lo + ⌊j·w/bins⌋, lo + ⌊(j+1)·w/bins⌋).
 *
 * @example
 * binEdges({ lo: 0n, hi: 319n }) // [10n, 20n, ..., 310n]
 */
export function binEdges(bounds: ColumnBounds): bigint[] {
  const width = bounds.hi - bounds.lo + 1n;
  const bins = width < BigInt(MIN_MAX_BINS) ? width : BigInt(MIN_MAX_BINS);
  const edges: bigint[] = [];
  for (let j = 1n; j < bins; j++) edges.push(bounds.lo + (j * width) / bins);
  return edges;
}

/**
 * Labels of the buckets of a histogram with `edges` interior edges.
 *
 * @example
 * bucketLabels(2) // ["bucket 0", "bucket 1", "bucket 2"]
 */
export function bucketLabels(edges: number): string[] {
  return Array.from({ length: edges + 1 }, (_, j) => `bucket ${j}`);
}
