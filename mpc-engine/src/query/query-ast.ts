// The typed AST of a buyer's query: what `parseQuery` produces from SQL text,
// what `checkQuery` checks against a dataset schema and what `formatQuery`
// prints back. Plain data (JSON-safe, no classes, no floats): numbers stay
// canonical decimal text so that every host reads exactly the constants the
// buyer wrote.

/** The aggregates a query may ask for, in the order error messages list them. */
export const AGGREGATE_FUNCTIONS = [
  "count",
  "sum",
  "avg",
  "var",
  "stddev",
  "min",
  "max",
  "median",
  "quantile",
  "histogram",
  "corr",
  "covar",
  "regr_slope",
  "regr_intercept",
  "regr_r2",
] as const;

/** One of {@link AGGREGATE_FUNCTIONS}. */
export type AggregateFunction = (typeof AGGREGATE_FUNCTIONS)[number];

/**
 * A public constant. `number` is canonical decimal text (`-12.5`, `0`, `3`:
 * no exponent, no leading `+`, no leading zeros, no trailing fractional
 * zeros, no `-0`); `string` is the value without quotes (a category value or
 * an ISO date `2024-01-31`).
 */
export type Literal = NumberLiteral | StringLiteral | BoolLiteral;
export type NumberLiteral = { kind: "number"; text: string };
export type StringLiteral = { kind: "string"; text: string };
export type BoolLiteral = { kind: "bool"; value: boolean };

/** What sum() and avg() read: a column, or the row-wise product of two columns. */
export type ColumnExpr = { column: string } | { product: [string, string] };

/**
 * One aggregate call. `count` without `column` is `count(*)`. Histogram
 * `edges` are public, strictly ascending, all numbers or all ISO dates.
 */
export type Aggregate =
  | { fn: "count"; column?: string }
  | { fn: "sum" | "avg"; arg: ColumnExpr }
  | { fn: "var" | "stddev" | "min" | "max" | "median"; column: string }
  | { fn: "quantile"; column: string; p: string }
  | { fn: "histogram"; column: string; edges: (NumberLiteral | StringLiteral)[] }
  | { fn: "corr" | "covar"; x: string; y: string }
  | { fn: "regr_slope" | "regr_intercept" | "regr_r2"; y: string; x: string }
  | LinearRegressionAggregate;

/**
 * Least squares of y on several columns at once (the named algorithm
 * `regression@1` with a list of x): not written in SQL — the parser never
 * produces it — but planned and decoded by the same plan IR as every query.
 */
export type LinearRegressionAggregate = { fn: "linear_regression"; y: string; x: string[] };

/** An aggregate in the SELECT list, with its optional `AS` alias. */
export type AggregateItem = Aggregate & { kind: "aggregate"; alias?: string };

/** A GROUP BY column repeated in the SELECT list, with its optional alias. */
export type ColumnItem = { kind: "column"; column: string; alias?: string };

/** One item of the SELECT list, in the order written. */
export type SelectItem = AggregateItem | ColumnItem;

/**
 * A dataset in FROM: its id (`0x` + 64 lowercase hex digits) or its
 * permanent address (seller address in lowercase, and the seller's name for
 * it). Several datasets of one schema are read as their union.
 */
export type DatasetRef = { kind: "id"; id: string } | { kind: "address"; seller: string; name: string };

/** Comparison operators of a predicate (`!=` is read as `<>`). */
export type Comparison = "=" | "<>" | "<" | "<=" | ">" | ">=";

/**
 * A WHERE predicate: comparisons of one column with public constants under
 * AND/OR/NOT. `and` and `or` have at least two arguments, none of them of the
 * same operator (the parser flattens `a AND (b AND c)`).
 */
export type Predicate =
  | { op: "and" | "or"; args: Predicate[] }
  | { op: "not"; arg: Predicate }
  | { op: "cmp"; column: string; cmp: Comparison; value: Literal }
  | { op: "between"; column: string; lo: Literal; hi: Literal; negated: boolean }
  | { op: "in"; column: string; values: Literal[]; negated: boolean }
  | { op: "null"; column: string; negated: boolean };

/**
 * A parsed query. `text` is the SQL text it was parsed from, verbatim; the
 * other fields are the query's meaning. `where` is absent without WHERE;
 * `groupBy` is empty without GROUP BY.
 */
export interface Query {
  select: SelectItem[];
  from: DatasetRef[];
  where?: Predicate;
  groupBy: string[];
  text: string;
}

/**
 * The columns an aggregate reads, in argument order (none for `count(*)`).
 *
 * @example
 * aggregateColumns({ fn: "sum", arg: { product: ["price", "discount"] } }) // ["price", "discount"]
 */
export function aggregateColumns(aggregate: Aggregate): string[] {
  switch (aggregate.fn) {
    case "count":
      return aggregate.column === undefined ? [] : [aggregate.column];
    case "sum":
    case "avg":
      return "product" in aggregate.arg ? [...aggregate.arg.product] : [aggregate.arg.column];
    case "corr":
    case "covar":
      return [aggregate.x, aggregate.y];
    case "regr_slope":
    case "regr_intercept":
    case "regr_r2":
      return [aggregate.y, aggregate.x];
    case "linear_regression":
      return [aggregate.y, ...aggregate.x];
    default:
      return [aggregate.column];
  }
}
