import { ringSum } from "../ring.ts";
import { equal, lessThan } from "../protocol/compare.ts";
import { addShares, subShares } from "../protocol/linear.ts";
import { multiply, multiplyMany } from "../protocol/multiply.ts";
import type { Party } from "../protocol/party.ts";
import { reshareArith } from "../protocol/reshare.ts";
import type { ArithShare } from "../protocol/shares.ts";
import { MpcError } from "../errors.ts";
import { openedCount, type ColumnRef, type Plan } from "./catalog.ts";

/** One party's inputs to a computation: its share of each column, rows of all datasets concatenated. */
export interface PlanInputs {
  columns: ReadonlyMap<string, ArithShare>;
  rowCount: number;
}

/** Comparisons are batched in chunks of this many elements to bound memory. */
const COMPARE_CHUNK = 1 << 18;

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

/** Stacks scalar shares into one vector share (the order of the opened values). */
function stack(parts: readonly ArithShare[]): ArithShare {
  return { a: BigUint64Array.from(parts.map((p) => p.a[0])), b: BigUint64Array.from(parts.map((p) => p.b[0])) };
}

function repeat(share: ArithShare, times: number): ArithShare {
  const n = share.a.length;
  const a = new BigUint64Array(n * times);
  const b = new BigUint64Array(n * times);
  for (let t = 0; t < times; t++) {
    a.set(share.a, t * n);
    b.set(share.b, t * n);
  }
  return { a, b };
}

function slice(share: ArithShare, start: number, end: number): ArithShare {
  return { a: share.a.subarray(start, end), b: share.b.subarray(start, end) };
}

function input(inputs: PlanInputs, column: ColumnRef): ArithShare {
  const share = inputs.columns.get(column.name);
  if (!share) throw new MpcError("COLUMN_NOT_FOUND", `no share of column ${JSON.stringify(column.name)}`);
  return share;
}

/**
 * Σ_rows [x < c_row] for a public threshold per element, batched in chunks:
 * the number of rows below each threshold, as one shared count per block of
 * `blockLength` elements.
 */
async function countBelow(party: Party, x: ArithShare, thresholds: ArithShare, blocks: number): Promise<ArithShare[]> {
  const n = x.a.length;
  const blockLength = n / blocks;
  const bits: ArithShare = { a: new BigUint64Array(n), b: new BigUint64Array(n) };
  for (let start = 0; start < n; start += COMPARE_CHUNK) {
    const end = Math.min(n, start + COMPARE_CHUNK);
    const chunk = await lessThan(party, slice(x, start, end), slice(thresholds, start, end));
    bits.a.set(chunk.a, start);
    bits.b.set(chunk.b, start);
  }
  return Array.from({ length: blocks }, (_, j) => total(slice(bits, j * blockLength, (j + 1) * blockLength)));
}

/** Σ_rows [x = c] for one public c, in chunks. */
async function countEqual(party: Party, x: ArithShare, c: bigint): Promise<ArithShare> {
  const n = x.a.length;
  let count = constant(party, [0n]);
  for (let start = 0; start < n; start += COMPARE_CHUNK) {
    const end = Math.min(n, start + COMPARE_CHUNK);
    const part = slice(x, start, end);
    const bits = await equal(party, part, constant(party, new Array(end - start).fill(c)));
    count = addShares(party, count, total(bits));
  }
  return count;
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
 * Runs a planned computation on this party's shares and returns the shares of
 * the values to open to the buyer (see each algorithm's `opened`), in order.
 * Every step is batched over whole columns; nothing is opened here.
 *
 * @example
 * const out = await runPlan(party, planComputation("mean@1", '{"column":"salary"}', schema), inputs);
 */
export async function runPlan(party: Party, plan: Plan, inputs: PlanInputs): Promise<ArithShare> {
  const n = BigInt(inputs.rowCount);
  const count = constant(party, [n]);
  const out = await (async (): Promise<ArithShare[]> => {
    switch (plan.algorithm) {
      case "count@1":
        return [count];
      case "sum@1":
        return [total(input(inputs, plan.column))];
      case "mean@1":
        return [total(input(inputs, plan.column)), count];
      case "variance@1":
      case "stddev@1": {
        const x = input(inputs, plan.column);
        return [total(x), total(await multiply(party, x, x)), count];
      }
      case "min@1":
        return [await extreme(party, input(inputs, plan.column), "min")];
      case "max@1":
        return [await extreme(party, input(inputs, plan.column), "max")];
      case "histogram@1": {
        const x = input(inputs, plan.column);
        const rows = x.a.length;
        const thresholds = constant(party, plan.edges.flatMap((e) => new Array<bigint>(rows).fill(e)));
        const below = await countBelow(party, repeat(x, plan.edges.length), thresholds, plan.edges.length);
        return [...below, count];
      }
      case "count-if@1": {
        const x = input(inputs, plan.column);
        const rows = x.a.length;
        const t = plan.threshold;
        // Values are integers in units of the scale, so x ≤ t ⟺ x < t + 1.
        switch (plan.op) {
          case "lt":
            return countBelow(party, x, constant(party, new Array(rows).fill(t)), 1);
          case "le":
            return countBelow(party, x, constant(party, new Array(rows).fill(t + 1n)), 1);
          case "ge":
          case "gt": {
            const [below] = await countBelow(party, x, constant(party, new Array(rows).fill(plan.op === "ge" ? t : t + 1n)), 1);
            return [subShares(party, count, below)];
          }
          case "eq":
            return [await countEqual(party, x, t)];
          case "ne":
            return [subShares(party, count, await countEqual(party, x, t))];
        }
      }
      case "covariance@1": {
        const x = input(inputs, plan.x);
        const y = input(inputs, plan.y);
        return [total(x), total(y), total(await multiply(party, x, y)), count];
      }
      case "regression@1": {
        const x = input(inputs, plan.x);
        const y = input(inputs, plan.y);
        // The three products go out in one round.
        const [xx, xy, yy] = await multiplyMany(party, [
          [x, x],
          [x, y],
          [y, y],
        ]);
        return [total(x), total(y), total(xx), total(xy), total(yy), count];
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
