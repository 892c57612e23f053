import type { DpPlan } from "./privacy-plan.ts";
import { openedWidth, type PlannedSum } from "./sum-plan.ts";

// The plan a computation runs from: which algorithm, on which columns, with
// which public parameters, how every opened sum is accumulated, and — in DP
// mode — the noise of every opened statistic. Built by `planComputation`
// (catalog.ts) on the buyer's side before paying and on every host before
// computing, from the same on-chain facts.

/** Column types the schema names; an int or decimal column names none (scale 0 is int, above 0 decimal). */
export const SCHEMA_TYPES = ["category", "bool", "date"] as const;
export type SchemaType = (typeof SCHEMA_TYPES)[number];

/**
 * One column of a dataset's public schema, as published on-chain: name,
 * fixed-point scale (decimal places) and public bounds, canonical decimals at
 * that scale (`lo` ≤ every value ≤ `hi`).
 *
 * `type` is absent for int and decimal columns, so that a numeric schema's
 * text (and its on-chain hash) is what it was before columns had types. A
 * `category` column holds indexes into its public dictionary `categories`
 * (index i stands for categories[i]; scale 0, bounds 0 and k − 1); a `bool`
 * column holds 0 or 1; a `date` column days since 1970-01-01. Every cell
 * also has a secret validity bit (1 present, 0 missing) that the schema does
 * not mention: the hosts hold it next to the value shares.
 */
export interface SchemaColumn {
  name: string;
  scale: number;
  lo: string;
  hi: string;
  type?: SchemaType;
  /** A category column's public dictionary; absent for every other type. */
  categories?: string[];
}

/** A dataset's public schema, as published on-chain (see `schemaText`). */
export interface DatasetSchema {
  columns: SchemaColumn[];
}

/** A column an algorithm reads: its decimal fixed-point scale and public bounds in units of 10^-scale. */
export interface ColumnRef {
  name: string;
  scale: number;
  lo: bigint;
  hi: bigint;
}

/** Comparators of `count-if@1`. */
export const COMPARATORS = ["lt", "le", "gt", "ge", "eq", "ne"] as const;
export type Comparator = (typeof COMPARATORS)[number];

/**
 * A validated computation: the algorithm, the columns it reads (resolved
 * against the schema), its public parameters encoded at the column's scale,
 * the total row count it was planned for, and — for the algorithms that open
 * sums — how each sum is accumulated so that it cannot wrap the ring (see
 * `planComputation`). Sums are opened in the order of `sums`.
 *
 * `dp` is present exactly in differentially private mode (the buyer spent
 * ε > 0): every statistic the plan opens, except the public row count, is
 * released with noise drawn inside the MPC, as `dp.releases` states. min@1
 * and max@1 then carry `edges`, the interior edges of the public bins of the
 * noisy histogram that answers them.
 */
export type Plan = { rowCount: bigint; dp?: DpPlan } & (
  | { algorithm: "count@1" }
  | { algorithm: "sum@1" | "mean@1" | "variance@1" | "stddev@1"; column: ColumnRef; sums: PlannedSum[] }
  | { algorithm: "min@1" | "max@1"; column: ColumnRef; edges?: bigint[] }
  | { algorithm: "histogram@1"; column: ColumnRef; edges: bigint[] }
  | { algorithm: "count-if@1"; column: ColumnRef; op: Comparator; threshold: bigint }
  | { algorithm: "covariance@1" | "regression@1"; x: ColumnRef; y: ColumnRef; sums: PlannedSum[] }
);

/** What the buyer gets: a decimal string, or named decimals for multi-valued results. */
export type AlgorithmResult = string | Record<string, string | string[]>;

/** Fractional digits added to a column's scale when a result is a quotient (mean, variance...). */
export const EXTRA_DIGITS = 6;

/**
 * Scale (decimal places) of the hosts' sums of products of two columns: the
 * products are summed exactly, without truncation, so the scales add up.
 *
 * @example
 * productScale({ scale: 2, ... }, { scale: 0, ... }) // 2
 */
export function productScale(x: ColumnRef, y: ColumnRef): number {
  return x.scale + y.scale;
}

/**
 * Whether a plan opens the (public) row count after its other values: the
 * quotients need it; a DP histogram opens bucket counts instead.
 *
 * @example
 * opensRowCount(meanPlan) // true
 */
export function opensRowCount(plan: Plan): boolean {
  switch (plan.algorithm) {
    case "sum@1":
    case "min@1":
    case "max@1":
    case "count-if@1":
      return false;
    case "histogram@1":
      return plan.dp === undefined;
    default:
      return true;
  }
}

/**
 * Number of ring values the hosts open to the buyer for a plan.
 *
 * @example
 * openedCount(planComputation("mean@1", '{"column":"salary"}', schema, { rowCount: 10n, epsilonMilli: 0 })) // 2
 */
export function openedCount(plan: Plan): number {
  const n = opensRowCount(plan) ? 1 : 0;
  switch (plan.algorithm) {
    case "count@1":
    case "count-if@1":
      return 1;
    case "min@1":
    case "max@1":
      // Exact: the extreme itself. DP: one noisy count per public bin.
      return plan.edges === undefined ? 1 : plan.edges.length + 1;
    case "histogram@1":
      // Exact: #{x < e_j} per edge and n. DP: the noisy count of each bucket.
      return plan.edges.length + 1;
    default:
      return plan.sums.reduce((k, s) => k + openedWidth(s), 0) + n;
  }
}
