import type { DpPlan, DpRelease } from "../algorithms/privacy-plan.ts";
import type { PlannedSum } from "../algorithms/sum-plan.ts";
import type { QueryColumnType } from "../query/check-query.ts";

// The plan IR: what the hosts run for a query, independent of the protocol
// that runs it. Planned from public facts only (the query text, the schema,
// the row counts and the ε the chain recorded), so the buyer before paying
// and every host before computing reach the same plan. Its operators, in the
// order they run over each block of rows:
//
//   scan       columns' value and validity shares            (scan.ts)
//   decompose  one bit-decomposition per column tested        (public-tests.ts)
//   test       [x < t] for the public constants t of a column (public-tests.ts)
//   filter     WHERE as a secret row mask, SQL's 3-valued logic (filter.ts)
//   group      one secret mask per group of the public domain (group.ts)
//   aggregate  masked counts, sums and bucket counts          (aggregate.ts)
//   select     order statistics by radix selection            (order-statistic.ts)
//   noise      DP noise drawn inside the MPC                  (noise in run-query.ts)
//   open       the statistics, re-randomised, to the buyer     (run-query.ts)
//
// Each operator's module states its cost (rounds, words per row) and what it
// opens; only `open` opens anything, and only `statistics`.

/** Most rows one computation may aggregate: the hosts index rows with JavaScript numbers. */
export const MAX_ROWS = BigInt(Number.MAX_SAFE_INTEGER);

/** A column the plan reads, with its public facts; bounds in units of 10^-scale. */
export interface PlanColumn {
  name: string;
  type: QueryColumnType;
  scale: number;
  lo: bigint;
  hi: bigint;
  categories?: readonly string[];
}

/**
 * A boolean condition on one row, before SQL's NULL logic: built from
 * comparisons of a column with public constants. `lt` is [x < t] (t in the
 * column's units); `xor` of such tests is local (an equality is
 * lt(t + 1) ⊕ lt(t), BETWEEN lt(hi + 1) ⊕ lt(lo)).
 */
export type RowTest = { kind: "lt"; column: string; t: bigint } | { kind: "const"; value: boolean } | { kind: "xor"; args: RowTest[] } | { kind: "not"; arg: RowTest };

/**
 * WHERE compiled for SQL's three-valued logic: a comparison of a NULL cell is
 * unknown, NOT keeps unknown, AND/OR follow Kleene; a row passes when true.
 */
export type FilterNode =
  | { kind: "test"; column: string; test: RowTest }
  | { kind: "null"; column: string; negated: boolean }
  | { kind: "not"; arg: FilterNode }
  | { kind: "and" | "or"; args: FilterNode[] };

/** One GROUP BY column: its key values are the dictionary's codes 0..k−1, then NULL. */
export interface GroupColumn {
  column: string;
  /** Labels of the key values in order; the last is null (the rows where the column is missing). */
  labels: (string | null)[];
}

/**
 * One statistic the plan opens, per group: a masked count, a masked sum, a
 * vector of bucket counts, or an order statistic. `valid` lists the columns
 * whose cells must all be present for a row to count (SQL's NULL skipping).
 */
export type Statistic =
  | { kind: "count"; key: string; valid: string[]; public?: true }
  | { kind: "sum"; key: string; valid: string[]; sums: PlannedSum[] }
  | { kind: "buckets"; key: string; valid: string[]; column: string; edges: bigint[] }
  | { kind: "select"; key: string; valid: string[]; column: string; rank: Rank };

/**
 * The rank an order statistic selects among the c present values of its
 * group: the smallest v with b·#{x ≤ v} − a·c − d ≥ 0. quantile p = a/b:
 * (a, b, 0), i.e. #{x ≤ v} ≥ ⌈p·c⌉ (SQL's percentile_disc); min: (0, 1, 1).
 */
export interface Rank {
  a: bigint;
  b: bigint;
  d: bigint;
}

/** How a SELECT item's value is formed from statistics (decode-query.ts). */
export type OutputItem =
  | { kind: "group"; name: string; group: number }
  | { kind: "count"; name: string; count: number; public?: true }
  | { kind: "sum" | "avg"; name: string; sum: number; count: number; scale: number; centred: boolean; column: PlanColumn }
  | { kind: "var" | "stddev"; name: string; sums: [number, number]; count: number; column: PlanColumn }
  | { kind: "covar" | "corr"; name: string; sums: number[]; count: number; x: PlanColumn; y: PlanColumn }
  | { kind: "regr_slope" | "regr_intercept" | "regr_r2"; name: string; sums: number[]; count: number; x: PlanColumn; y: PlanColumn }
  | { kind: "histogram"; name: string; buckets: number; column: PlanColumn }
  | LinearRegressionItem
  | { kind: "quantile"; name: string; select: number; column: PlanColumn; p: { a: bigint; b: bigint }; which: "min" | "max" | "quantile" };

/**
 * Least squares of y on x_1..x_k over the rows where y and every x are present
 * (listwise): the count and the centred sums Σ(x_i−c_i), Σ(y−c),
 * Σ(x_i−c_i)(x_j−c_j) for i ≤ j (row-major upper triangle: (0,0), (0,1), ...,
 * (1,1), ...), Σ(x_i−c_i)(y−c) and Σ(y−c)², as statistic indexes. Its cells
 * are named by {@link linearRegressionCells}.
 */
export interface LinearRegressionItem {
  kind: "linear_regression";
  name: string;
  x: PlanColumn[];
  y: PlanColumn;
  count: number;
  sx: number[];
  sy: number;
  sxx: number[];
  sxy: number[];
  syy: number;
}

/**
 * The cells of a {@link LinearRegressionItem}, in order: one coefficient per
 * x, the intercept, one standard error per x, the intercept's, r², and the
 * number of rows used.
 *
 * @example
 * linearRegressionCells(["age", "tenure"]) // ["coefficient(age)", "coefficient(tenure)", "intercept", "se(age)", "se(tenure)", "se(intercept)", "r2", "n"]
 */
export function linearRegressionCells(x: readonly string[]): string[] {
  return [...x.map((c) => `coefficient(${c})`), "intercept", ...x.map((c) => `se(${c})`), "se(intercept)", "r2", "n"];
}

/** A planned query. */
export interface QueryPlan {
  /** The SQL text, verbatim, as the chain holds it. */
  text: string;
  rowCount: bigint;
  /** Columns read, by name. */
  columns: PlanColumn[];
  filter?: FilterNode;
  groupBy: GroupColumn[];
  /** Number of groups: the product of the GROUP BY columns' key counts (1 without GROUP BY). */
  groups: number;
  statistics: Statistic[];
  output: OutputItem[];
  /** Present exactly in DP mode: one release per statistic (all groups together). */
  dp?: DpPlan;
  /** DP mode: the release of each statistic (undefined for a public one: the row count). */
  releases?: (DpRelease | undefined)[];
}
