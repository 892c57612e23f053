import { ringSum } from "../ring.ts";
import { lessThan } from "../protocol/compare.ts";
import { addPublic, addShares, subShares } from "../protocol/linear.ts";
import { multiply, multiplyMany } from "../protocol/multiply.ts";
import { drawPairwiseNoise } from "../protocol/noise.ts";
import type { Party } from "../protocol/party.ts";
import { reshareArith } from "../protocol/reshare.ts";
import { concatShares, type ArithShare } from "../protocol/shares.ts";
import { wideSums } from "../protocol/wide-sum.ts";
import { MpcError } from "../errors.ts";
import { openedCount, type ColumnRef, type Plan } from "./plan.ts";
import { noiseScales } from "./privacy-plan.ts";
import type { PlannedSum } from "./sum-plan.ts";
import { countBelow, countEqual } from "./threshold-counts.ts";

/** One party's inputs to a computation: its share of each column, rows of all datasets concatenated. */
export interface PlanInputs {
  columns: ReadonlyMap<string, ArithShare>;
  /**
   * Its share of the validity vector of the same columns (1 where the cell
   * is present, 0 where it is missing), concatenated like the values. The
   * named algorithms read the values only: a missing cell counts as the
   * column's `lo`, the value it is shared as.
   */
  valid: ReadonlyMap<string, ArithShare>;
  rowCount: number;
}

/** The replicated share of a public constant: component x_0 = c (held by parties 0 and 2). */
function constant(party: Party, values: readonly bigint[]): ArithShare {
  const c = BigUint64Array.from(values, (v) => BigInt.asUintN(64, v));
  const zero = new BigUint64Array(values.length);
  if (party.index === 0) return { a: c, b: zero };
  if (party.index === 2) return { a: zero, b: c };
  return { a: zero, b: new BigUint64Array(values.length) };
}

/** Σ over the rows, locally: a replicated share of the column's sum. */
function total(x: ArithShare): ArithShare {
  return { a: BigUint64Array.of(ringSum(x.a)), b: BigUint64Array.of(ringSum(x.b)) };
}

/** Local sums of consecutive chunks of `chunkRows` rows (the last may be shorter): one shared element per chunk. */
function chunkTotals(x: ArithShare, chunkRows: number, chunks: number): ArithShare {
  const out = { a: new BigUint64Array(chunks), b: new BigUint64Array(chunks) };
  for (let j = 0; j < chunks; j++) {
    const start = j * chunkRows;
    const end = Math.min(x.a.length, start + chunkRows);
    out.a[j] = ringSum(x.a.subarray(start, end));
    out.b[j] = ringSum(x.b.subarray(start, end));
  }
  return out;
}

/** Stacks scalar (or short) shares into one vector share (the order of the opened values). */
function stack(parts: readonly ArithShare[]): ArithShare {
  return { a: BigUint64Array.from(parts.flatMap((p) => [...p.a])), b: BigUint64Array.from(parts.flatMap((p) => [...p.b])) };
}

function slice(share: ArithShare, start: number, end: number): ArithShare {
  return { a: share.a.subarray(start, end), b: share.b.subarray(start, end) };
}

function input(inputs: PlanInputs, column: ColumnRef | string): ArithShare {
  const name = typeof column === "string" ? column : column.name;
  const share = inputs.columns.get(name);
  if (!share) throw new MpcError("COLUMN_NOT_FOUND", `no share of column ${JSON.stringify(name)}`);
  return share;
}

/**
 * The planned sums, as the shares to open, in plan order: each summand is
 * centred (x − c, a local addPublic); the products of two-factor sums go out
 * in one multiplication round; a "ring" sum is summed locally, a "wide" sum's
 * chunk sums are lifted to normalised limbs, all wide sums in one batch
 * ({@link wideSums}). With `noise` (DP mode, one element per sum) a ring sum
 * gets its noise added locally; a wide sum lifts it as one more chunk, so the
 * opened limbs are those of the noisy sum.
 */
async function plannedSums(party: Party, sums: readonly PlannedSum[], inputs: PlanInputs, noise?: ArithShare): Promise<ArithShare[]> {
  const centred = new Map<string, ArithShare>();
  const factor = (f: PlannedSum["factors"][number]): ArithShare => {
    const key = `${f.column}\u0000${f.centre}`;
    let share = centred.get(key);
    if (share === undefined) {
      share = f.centre === 0n ? input(inputs, f.column) : addPublic(party, input(inputs, f.column), -f.centre);
      centred.set(key, share);
    }
    return share;
  };
  const pairs = sums.filter((s) => s.factors.length === 2).map((s) => [factor(s.factors[0]), factor(s.factors[1])] as const);
  const products = pairs.length > 0 ? await multiplyMany(party, pairs) : [];
  let p = 0;
  const summands = sums.map((s) => (s.factors.length === 2 ? products[p++] : factor(s.factors[0])));

  const wide: ArithShare[] = [];
  const out: (ArithShare | number)[] = sums.map((s, k) => {
    const acc = s.accumulation;
    const noiseOf = noise === undefined ? undefined : slice(noise, k, k + 1);
    if (acc.kind === "ring") return noiseOf === undefined ? total(summands[k]) : addShares(party, total(summands[k]), noiseOf);
    const chunks = chunkTotals(summands[k], acc.chunkRows, acc.chunks);
    wide.push(noiseOf === undefined ? chunks : concatShares([chunks, noiseOf]));
    return wide.length - 1;
  });
  const limbs = await wideSums(party, wide);
  return out.map((o) => (typeof o === "number" ? limbs[o] : o));
}

/** Pairwise tournament: min (or max) of a vector in log2(n) levels of one comparison and one multiplication. */
async function extreme(party: Party, x: ArithShare, kind: "min" | "max"): Promise<ArithShare> {
  let current = x;
  while (current.a.length > 1) {
    const half = current.a.length >> 1;
    const lo = slice(current, 0, half);
    const hi = slice(current, half, 2 * half);
    const loBelow = await lessThan(party, lo, hi);
    // min = hi + [lo < hi]·(lo − hi); max = lo + [lo < hi]·(hi − lo).
    const base = kind === "min" ? hi : lo;
    const other = kind === "min" ? lo : hi;
    const chosen = addShares(party, base, await multiply(party, loBelow, subShares(party, other, base)));
    if (current.a.length % 2 === 1) {
      const last = slice(current, 2 * half, 2 * half + 1);
      current = { a: concat(chosen.a, last.a), b: concat(chosen.b, last.b) };
    } else {
      current = chosen;
    }
  }
  return { a: BigUint64Array.from(current.a), b: BigUint64Array.from(current.b) };
}

function concat(x: BigUint64Array, y: BigUint64Array): BigUint64Array {
  const out = new BigUint64Array(x.length + y.length);
  out.set(x);
  out.set(y, x.length);
  return out;
}

/**
 * Bucket counts of a column between public edges, noised (DP mode): the
 * counts #{x < e_j} by comparison, then each bucket as a local difference of
 * two of them (the last is n minus the count below the last edge), plus its
 * noise. Opening buckets rather than the cumulative counts is what makes the
 * L1 sensitivity 2 (a replaced row moves one bucket down and one up).
 */
async function noisyBuckets(party: Party, x: ArithShare, edges: readonly bigint[], count: ArithShare, noise: ArithShare): Promise<ArithShare> {
  const below = edges.length === 0 ? [] : await countBelow(party, x, edges);
  const buckets = [...below, count].map((upTo, j) => (j === 0 ? upTo : subShares(party, upTo, below[j - 1])));
  return addShares(party, stack(buckets), noise);
}

/** The shared count of rows comparing true with the public threshold, before any noise. */
async function countIf(party: Party, plan: Plan & { algorithm: "count-if@1" }, x: ArithShare, count: ArithShare): Promise<ArithShare> {
  const t = plan.threshold;
  // Values are integers in units of the scale, so x ≤ t ⟺ x < t + 1.
  switch (plan.op) {
    case "lt":
      return (await countBelow(party, x, [t]))[0];
    case "le":
      return (await countBelow(party, x, [t + 1n]))[0];
    case "ge":
    case "gt": {
      const [below] = await countBelow(party, x, [plan.op === "ge" ? t : t + 1n]);
      return subShares(party, count, below);
    }
    case "eq":
      return countEqual(party, x, t);
    case "ne":
      return subShares(party, count, await countEqual(party, x, t));
  }
}

/**
 * Runs a planned computation on this party's shares and returns the shares of
 * the values to open to the buyer (see each algorithm's `opened`), in order.
 * Every step is batched over whole columns (comparisons in blocks of bounded
 * size); nothing is opened here.
 *
 * A differentially private plan (`plan.dp`) first draws the noise of every
 * statistic it releases with {@link drawPairwiseNoise} (one reserved step, no
 * message, no round) and adds it to the statistics before they are opened;
 * the row count stays exact (it is public).
 *
 * @throws MpcError `ROW_COUNT_MISMATCH` when the inputs do not have the plan's rows
 * @example
 * const out = await runPlan(party, planComputation("mean@1", '{"column":"salary"}', schema, { rowCount: 10n, epsilonMilli: 1000 }), inputs);
 */
export async function runPlan(party: Party, plan: Plan, inputs: PlanInputs): Promise<ArithShare> {
  const n = BigInt(inputs.rowCount);
  if (n !== plan.rowCount) {
    throw new MpcError("ROW_COUNT_MISMATCH", `${plan.algorithm} was planned for ${plan.rowCount} rows; the inputs have ${n}`);
  }
  for (const share of inputs.columns.values()) {
    if (share.a.length !== inputs.rowCount) throw new MpcError("ROW_COUNT_MISMATCH", `a column share has ${share.a.length} rows, expected ${n}`);
  }
  const count = constant(party, [n]);
  // Drawn before any other step, at the same point on every party: the noise depends on nothing but the job's keys.
  const noise = plan.dp === undefined ? undefined : drawPairwiseNoise(party, noiseScales(plan.dp));
  const out = await (async (): Promise<ArithShare[]> => {
    switch (plan.algorithm) {
      case "count@1":
        return [count];
      case "sum@1":
        return plannedSums(party, plan.sums, inputs, noise);
      case "mean@1":
      case "variance@1":
      case "stddev@1":
      case "covariance@1":
      case "regression@1":
        return [...(await plannedSums(party, plan.sums, inputs, noise)), count];
      case "min@1":
      case "max@1": {
        const x = input(inputs, plan.column);
        if (noise !== undefined && plan.edges !== undefined) return [await noisyBuckets(party, x, plan.edges, count, noise)];
        return [await extreme(party, x, plan.algorithm === "min@1" ? "min" : "max")];
      }
      case "histogram@1": {
        const x = input(inputs, plan.column);
        if (noise !== undefined) return [await noisyBuckets(party, x, plan.edges, count, noise)];
        return [...(await countBelow(party, x, plan.edges)), count];
      }
      case "count-if@1": {
        const counted = await countIf(party, plan, input(inputs, plan.column), count);
        return [noise === undefined ? counted : addShares(party, counted, noise)];
      }
    }
  })();
  const result = stack(out);
  if (result.a.length !== openedCount(plan)) {
    throw new MpcError("INTERNAL", `${plan.algorithm} produced ${result.a.length} values, expected ${openedCount(plan)}`);
  }
  return result;
}

/**
 * Re-randomises the shares of the values to open before they go to the
 * buyer: without it the buyer would see each host's components of the sums,
 * which depend on the sellers' random shares. One round (a reshare of
 * x_i + α_i, α a fresh zero sharing).
 *
 * @example
 * const fresh = await rerandomize(party, await runPlan(party, plan, inputs));
 */
export async function rerandomize(party: Party, x: ArithShare): Promise<ArithShare> {
  return reshareArith(party, BigUint64Array.from(x.a));
}
