import type { QueryPlan } from "../plan/query-plan.ts";
import { queryOpenedCount } from "../plan/opened-count.ts";
import type { DpPlan } from "./privacy-plan.ts";

// The plan a named algorithm's computation runs from: the algorithm as a
// query of the plan IR. Built by `planComputation` (catalog.ts) on the
// buyer's side before paying and on every host before computing, from the
// same on-chain facts.

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

/** The named algorithms. */
export type AlgorithmName =
  | "count@1"
  | "sum@1"
  | "mean@1"
  | "variance@1"
  | "stddev@1"
  | "min@1"
  | "max@1"
  | "histogram@1"
  | "count-if@1"
  | "covariance@1"
  | "regression@1"
  | "correlation@1"
  | "ttest@1";

/**
 * A validated computation of a named algorithm: the algorithm, the total row
 * count it was planned for, and the algorithm as a query of the plan IR — the
 * one code path every answer runs through (mpc-engine/src/plan). `dp` is the
 * query plan's, present exactly in differentially private mode.
 */
export interface Plan {
  algorithm: AlgorithmName;
  rowCount: bigint;
  query: QueryPlan;
  dp?: DpPlan;
}

/** A value inside a multi-valued result: a decimal (or name), null where undefined, a list or named values. */
export type ResultValue = string | null | ResultValue[] | { [name: string]: ResultValue };

/** What the buyer gets: a decimal string, or named values for multi-valued results (histogram, regression, correlation, t-test). */
export type AlgorithmResult = string | { [name: string]: ResultValue };

/** Fractional digits added to a column's scale when a result is a quotient (mean, variance...). */
export const EXTRA_DIGITS = 6;

/**
 * Number of ring values the hosts open to the buyer for a plan.
 *
 * @example
 * openedCount(planComputation("mean@1", '{"column":"salary"}', schema, { rowCount: 10n, epsilonMilli: 0 })) // 2
 */
export function openedCount(plan: Plan): number {
  return queryOpenedCount(plan.query);
}
