import { MpcError } from "../errors.ts";
import { encodeFixedPoint } from "../fixed-point.ts";
import { boundText, COMPARABLE_LIMIT } from "./column-bounds.ts";
import { checkSchemaColumn } from "./column-types.ts";
import { groupMoments, openStatistics, queryTable } from "../plan/decode-query.ts";
import { planQuery } from "../plan/plan-query.ts";
import { MAX_ROWS, type QueryPlan } from "../plan/query-plan.ts";
import { Rational } from "./rational.ts";
import { welchTest } from "./welch-test.ts";
import { MAX_OPENED_VALUES, MAX_RESULT_LENGTH } from "../output-envelope.ts";
import type { QuerySchema } from "../query/check-query.ts";
import { canonicalDecimal } from "../query/decimal-text.ts";
import type { Aggregate, Literal, NumberLiteral, Predicate, Query, SelectItem } from "../query/query-ast.ts";
import {
  COMPARATORS,
  EXTRA_DIGITS,
  openedCount,
  type AlgorithmName,
  type AlgorithmResult,
  type ColumnRef,
  type Comparator,
  type DatasetSchema,
  type Plan,
  type SchemaColumn,
} from "./plan.ts";

export { COMPARABLE_LIMIT } from "./column-bounds.ts";
export { checkSchemaColumn, columnKind, parseSchemaText, MAX_CATEGORIES, type ColumnKind } from "./column-types.ts";
export {
  COMPARATORS,
  EXTRA_DIGITS,
  SCHEMA_TYPES,
  openedCount,
  type AlgorithmName,
  type AlgorithmResult,
  type ColumnRef,
  type Comparator,
  type DatasetSchema,
  type Plan,
  type ResultValue,
  type SchemaColumn,
  type SchemaType,
} from "./plan.ts";

/** Most bucket edges of `histogram@1`: the result must fit the on-chain result limit. */
export const MAX_HISTOGRAM_EDGES = 64;

/**
 * Most x columns of a multiple `regression@1` (k(k+1)/2 + 2k + 3 statistics:
 * 78 at k = 10). The on-chain result limit (`MAX_OPENED_VALUES`, 72) caps it
 * at 9 today; planning refuses more before payment.
 */
export const MAX_REGRESSION_FEATURES = 10;

/**
 * Most columns of `correlation@1` (six statistics per pair: 270 at 10
 * columns). The on-chain result limit (`MAX_OPENED_VALUES`, 72) caps it at 5
 * today; planning refuses more before payment.
 */
export const MAX_CORRELATION_COLUMNS = 10;

export { MAX_ROWS } from "../plan/query-plan.ts";

/** Declaration of one algorithm: its name, parameters, output and what the output reveals. */
export interface AlgorithmDeclaration {
  /** `name@version`, as the per-algorithm contract sends it. */
  name: Plan["algorithm"];
  summary: string;
  /** The JSON parameters it takes. */
  params: string;
  /** The ring values the hosts open to the buyer, in order. */
  opened: string;
  /** What the buyer receives after decoding. */
  output: string;
  /** Exact mode (a seller's opt-in): what the opened values reveal beyond the output itself (and the public row counts). */
  leakage: string;
  /**
   * DP mode (the default): the mechanism, each opened statistic's
   * sensitivity, how the buyer's ε is split among them, and what the answer
   * is (post-processing of the noisy statistics).
   */
  dp: string;
}

const COLUMN_PARAMS = '{"column": "<name>"}';

// How every named algorithm runs; the declarations below refer to it.
const IR =
  "Runs as a query of the plan IR (the same code path as buyer queries): rows whose cell is missing are skipped, as SQL skips NULL, so every count is of present values";

// How every opened sum is formed; the declarations below refer to it.
const CENTRED =
  "Sums are of the present values centred, x − c (c the public integer midpoint of the column's bounds; the buyer adds count·c back), " +
  "each opened as one ring element when the bounds and row count prove |Σ| < 2^63, else as its normalised (high, low) 32-bit limbs; " +
  "either way a function of the exact sum alone";

// How every DP release is formed; the declarations below refer to it.
const NOISE =
  "Each opened statistic S is released as S + N_0 + N_1 + N_2, the N_i independent discrete Laplace terms of scale t = Δ/ε_S " +
  "(Δ its replace-one sensitivity in its own units — a cell may also go from missing to present —, ε_S its share of the buyer's ε, equal shares), " +
  "each drawn exactly by one pair of hosts from their shared PRF stream: no single host knows the noise, the answer is ε-DP for one row of one seller's dataset";

/** Every algorithm of the library, keyed by `name@version`. */
export const ALGORITHMS: Record<Plan["algorithm"], AlgorithmDeclaration> = {
  "count@1": {
    name: "count@1",
    summary: "number of rows",
    params: "{}",
    opened: "n (count(*), every row, missing cells or not)",
    output: "the number of rows of the datasets taken together",
    leakage: "nothing: row counts are public on-chain",
    dp: "exact in DP mode too: the row count is public on-chain, so it is released without noise; the request still spends the ε it names, so ask for the least (0.001), or an exact count where the sellers allow one",
  },
  "sum@1": {
    name: "sum@1",
    summary: "sum of a column (its present values)",
    params: COLUMN_PARAMS,
    opened: `Σ(x−c), the count of present x. ${IR}. ${CENTRED}`,
    output: "the sum, at the column's scale",
    leakage: "the number of present (non-missing) values as well as the sum",
    dp: `Σ(x−c) (Δ = hi − lo) and the count of present x (Δ = 1) + noise, ε/2 each. ${NOISE}. The answer Σ(x−c) + count·c, clamped to [count·lo, count·hi], with an approximate 95% interval (parametric bootstrap)`,
  },
  "mean@1": {
    name: "mean@1",
    summary: "arithmetic mean of a column (its present values)",
    params: COLUMN_PARAMS,
    opened: `Σ(x−c), the count of present x. ${IR}. ${CENTRED}`,
    output: `the mean, with ${EXTRA_DIGITS} more decimals than the column`,
    leakage: "the number of present values as well as the mean (Σ(x−c) = count·(mean − c))",
    dp: `as sum@1: Σ(x−c) (Δ = hi − lo) and the count (Δ = 1), ε/2 each. ${NOISE}. The answer is the noisy sum over the noisy count plus c, clamped to [lo, hi], with an approximate 95% interval (parametric bootstrap)`,
  },
  "variance@1": {
    name: "variance@1",
    summary: "population variance of a column",
    params: COLUMN_PARAMS,
    opened: `Σ(x−c), Σ(x−c)², the count of present x. ${IR}. ${CENTRED}`,
    output: `the population variance Σ(x−mean)²/n, with ${EXTRA_DIGITS} more decimals than the column`,
    leakage:
      "the mean and the number of present values as well as the variance. " +
      "Refused before payment (RANGE_TOO_WIDE) when (hi − lo)²/4 may reach 2^62 units of the squared scale",
    dp: `Σ(x−c) (Δ = hi − lo), Σ(x−c)² (Δ = W², W the half-width of the bounds) and the count (Δ = 1) + noise, ε/3 each. ${NOISE}. The answer Σ(x−c)²/n − (Σ(x−c)/n)² from the noisy statistics, clamped to [0, (hi − lo)²/4], with an approximate 95% interval (parametric bootstrap)`,
  },
  "stddev@1": {
    name: "stddev@1",
    summary: "population standard deviation of a column",
    params: COLUMN_PARAMS,
    opened: `Σ(x−c), Σ(x−c)², the count of present x. ${IR}. ${CENTRED}`,
    output: `the population standard deviation, with ${EXTRA_DIGITS} more decimals than the column (rounded down)`,
    leakage: "the mean, the variance and the number of present values as well as the standard deviation (as variance@1)",
    dp: `as variance@1 (ε/3 to each of the three statistics). ${NOISE}. The answer is the square root of the clamped noisy variance, with an approximate 95% interval (parametric bootstrap)`,
  },
  "min@1": {
    name: "min@1",
    summary: "smallest value of a column",
    params: COLUMN_PARAMS,
    opened: `min x − lo, the count of present x. ${IR}. Selected by radix selection on the bit-decomposed values (no sorting; nothing else opened)`,
    output: "the smallest value, at the column's scale",
    leakage: "the value itself (which is some row's value), not which row holds it, and the number of present values",
    dp: `a noisy histogram over min(32, hi − lo + 1) public bins of equal width spanning [lo, hi] (bin counts computed from comparisons with the bins' edges): L1 sensitivity 2 (a replaced row leaves one bin for another), all of ε, t = 2/ε per bin. ${NOISE}. The answer is the lower edge of the lowest bin whose noisy count exceeds τ, the count that noise alone exceeds in any bin with probability at most 5% (the busiest bin if none does). Approximate 95% interval (parametric bootstrap)`,
  },
  "max@1": {
    name: "max@1",
    summary: "largest value of a column",
    params: COLUMN_PARAMS,
    opened: `max x − lo, the count of present x. ${IR}. Selected by radix selection on the bit-decomposed values`,
    output: "the largest value, at the column's scale",
    leakage: "the value itself (which is some row's value), not which row holds it, and the number of present values",
    dp: `as min@1, from above: the answer is the largest value of the highest bin whose noisy count exceeds τ (the busiest bin if none does). ${NOISE}. Approximate 95% interval (parametric bootstrap)`,
  },
  "histogram@1": {
    name: "histogram@1",
    summary: "row counts per bucket between public edges",
    params: '{"column": "<name>", "edges": ["<e1>", "<e2>", ...]} (strictly increasing decimals)',
    opened: `the count of present x in each bucket (comparisons with public constants: one bit-decomposition of the column serves every edge). ${IR}`,
    output: "counts of (−∞, e1), [e1, e2), ..., [ek, +∞)",
    leakage: "nothing beyond the bucket counts (their total is the number of present values)",
    dp: `the bucket counts + noise: L1 sensitivity 2 (a replaced row leaves one bucket for another), all of ε over the buckets, t = 2/ε per bucket. ${NOISE}. Each count clamped to [0, n] (the counts need not add up to n), with an exact 95% interval per bucket`,
  },
  "count-if@1": {
    name: "count-if@1",
    summary: "number of rows whose value compares true with a public threshold",
    params: '{"column": "<name>", "op": "lt|le|gt|ge|eq|ne", "threshold": "<decimal>"}',
    opened: `the count (count(*) WHERE x op threshold: a missing x never compares true). ${IR}`,
    output: "the count",
    leakage: "nothing beyond the count",
    dp: `the count + noise: Δ = 1, all of ε, t = 1/ε. ${NOISE}. The answer clamped to [0, n], with an exact 95% interval`,
  },
  "covariance@1": {
    name: "covariance@1",
    summary: "population covariance of two columns",
    params: '{"x": "<name>", "y": "<name>"}',
    opened: `Σ(x−cx), Σ(y−cy), Σ(x−cx)(y−cy) and the count, over the rows where both are present. ${IR}. ${CENTRED}`,
    output: `the population covariance Σ(x−x̄)(y−ȳ)/n, with ${EXTRA_DIGITS} more decimals`,
    leakage:
      "the means of x and y and the number of rows with both present, as well as the covariance. " +
      "Refused before payment (RANGE_TOO_WIDE) when the product of the two bounds' half-widths may reach 2^62 units",
    dp: `Σ(x−cx) (Δ = hi_x − lo_x), Σ(y−cy) (Δ = hi_y − lo_y), Σ(x−cx)(y−cy) (Δ = 2·Wx·Wy) and the count (Δ = 1) + noise, ε/4 each. ${NOISE}. The covariance from the noisy statistics, clamped to ±(hi_x − lo_x)(hi_y − lo_y)/4, with an approximate 95% interval (parametric bootstrap)`,
  },
  "regression@1": {
    name: "regression@1",
    summary: "linear regression by least squares: y = slope·x + intercept, or y = b_1·x_1 + ... + b_k·x_k + intercept",
    params: `{"x": "<name>", "y": "<name>"} (simple), or {"x": ["<name>", ...], "y": "<name>"} (multiple: 1 to ${MAX_REGRESSION_FEATURES} distinct columns, none of them y)`,
    opened:
      `simple: Σ(x−cx), Σ(y−cy), Σ(x−cx)(y−cy), Σ(x−cx)², Σ(y−cy)² and the count, over the rows where both are present. ` +
      `Multiple: the count, Σ(x_i−c_i), Σ(y−c), Σ(x_i−c_i)(x_j−c_j) for i ≤ j, Σ(x_i−c_i)(y−c) and Σ(y−c)², over the rows where y and every x are present (listwise). ${IR}. ${CENTRED}`,
    output:
      "simple: slope, intercept and r² (SQL's regr_slope, regr_intercept, regr_r2). " +
      "Multiple: {coefficients: {<x>: b, ...}, intercept, standardErrors: {<x>: se, ..., intercept: se} (null where n ≤ k + 1), r2, n}: the exact least-squares fit " +
      "(centred normal equations solved with exact rationals), r² = 1 − RSS/TSS, standard errors from σ² = RSS/(n − k − 1) and (XᵀX)⁻¹ (centred), rounded down; " +
      "RESULT_UNDEFINED where XᵀX is singular (a constant column, linearly dependent columns, n ≤ k). " +
      "The on-chain result holds at most 72 opened values: up to 9 features today (more are refused before payment)",
    leakage:
      "simple: the means and variances of x and y, their covariance and the number of rows with both present, as well as slope, intercept and r² " +
      "(the sufficient statistics are opened rather than divided under MPC). " +
      "Multiple: the sufficient statistics XᵀX, Xᵀy and yᵀy (centred, with the means and the count): every mean, variance and pairwise covariance of the columns over the rows used, " +
      "more than the coefficients alone. Refused before payment (RANGE_TOO_WIDE) as variance@1 and covariance@1",
    dp:
      `simple: the five sums (Δ = hi − lo for Σ(x−cx), Σ(y−cy); W² for the squares; 2·Wx·Wy for the product) and the count (Δ = 1) + noise, ε/6 each. ${NOISE}. ` +
      "Slope, intercept and r² from the noisy statistics with the variances clamped to at least 0 and r² to [0, 1] (undefined when the noisy variance of x is not positive), " +
      "with approximate 95% intervals (parametric bootstrap). " +
      "Multiple: each of the k(k+1)/2 + 2k + 3 statistics noised as its own release (the sums' Δ as above, the count's 1), ε split equally among them (ε/78 at k = 10: more features need more ε). " +
      "The fit from the noisy statistics (count clamped to [0, n], RSS to [0, TSS], r² to [0, 1]); RESULT_UNDEFINED when the noisy centred XᵀX is not positive definite " +
      "(ask for more ε or fewer features); approximate 95% intervals per value (parametric bootstrap). The standard errors are the model's, not the noise's",
  },
  "correlation@1": {
    name: "correlation@1",
    summary: "Pearson correlation matrix of 2 to 10 numeric columns",
    params: `{"columns": ["<name>", "<name>", ...]} (2 to ${MAX_CORRELATION_COLUMNS} distinct columns)`,
    opened: `for each pair (a, b), a before b: Σ(a−ca), Σ(b−cb), Σ(a−ca)(b−cb), Σ(a−ca)², Σ(b−cb)² and the count, over the rows where both are present (pairwise complete, as SQL's corr). The query SELECT corr(a, b), corr(a, c), ... . ${IR}. ${CENTRED}`,
    output:
      `{columns, matrix}: matrix[i][j] the correlation of columns i and j, with ${EXTRA_DIGITS} decimals, "1.000000" on the diagonal, null where a column is constant over the pair's rows (or there are none). ` +
      "The on-chain result holds at most 72 opened values: up to 5 columns today (more are refused before payment)",
    leakage:
      "per pair: the means and variances of both columns over the rows where both are present, their covariance and that row count, as well as the correlation. " +
      "Refused before payment (RANGE_TOO_WIDE) as covariance@1",
    dp: `each pair's six statistics as corr(a, b)'s (sums as covariance@1 and variance@1, the count Δ = 1), every statistic its own release, ε split equally: 6·p(p−1)/2 shares for p columns (270 at 10). ${NOISE}. Each correlation from its noisy statistics, r² clamped to [0, 1], null where a noisy variance is not positive; approximate 95% intervals per cell (parametric bootstrap)`,
  },
  "ttest@1": {
    name: "ttest@1",
    summary: "Welch's two-sample t-test of a numeric column between two groups of a category or bool column",
    params: '{"column": "<numeric>", "by": "<category or bool>", "groups": ["<g1>", "<g2>"]} (two distinct values of by: dictionary entries, or "true"/"false")',
    opened: `per group of by (every value of its dictionary, and NULL): the count of present x, Σ(x−c) and Σ(x−c)², over the rows with by in (g1, g2). The query SELECT by, count(column), avg(column), var(column) ... WHERE by IN (g1, g2) GROUP BY by. ${IR}. ${CENTRED}`,
    output:
      `{t, df, p, mean1, mean2, n1, n2}: t = (mean1 − mean2)/√(s1²/n1 + s2²/n2) with sample variances s² = σ²·n/(n − 1) (exact, rounded to ${EXTRA_DIGITS} decimals), ` +
      "df the Welch–Satterthwaite degrees of freedom (exact, 6 decimals), p the two-sided p-value of Student's t with df degrees of freedom " +
      "(regularised incomplete beta by its continued fraction, absolute error below 1e-10 for df ≤ 10^6; 6 decimals), the means at the column's scale + 6 decimals, the counts. " +
      "RESULT_UNDEFINED when a group has fewer than 2 values or both are constant",
    leakage: "each group's mean, population variance and number of present values (the other values of by yield zero groups: their counts, all 0, are opened too), as well as t, df and p",
    dp: `the count (Δ = 2: a row may change group), Σ(x−c) (Δ = 2·W = hi − lo, W the half-width of the bounds) and Σ(x−c)² (Δ = 2·W²), over all groups together, each its own release, ε/3 each. ${NOISE}. t, df and p from the noisy counts (clamped to [0, n]), means (clamped to [lo, hi]) and variances (clamped to [0, (hi − lo)²/4]); the p-value does not account for the DP noise, only the sampling; approximate 95% intervals for the means and counts (parametric bootstrap)`,
  },
};

/** The pairs (i, j), i < j, of `count` items, row by row. */
function pairs(count: number): [number, number][] {
  const all: [number, number][] = [];
  for (let i = 0; i < count; i++) for (let j = i + 1; j < count; j++) all.push([i, j]);
  return all;
}

function invalid(message: string): MpcError {
  return new MpcError("INVALID_ARGUMENT", `params: ${message}`);
}

function columnOf(schema: DatasetSchema, params: Record<string, unknown>, key: string): ColumnRef {
  return columnNamed(schema, params[key], `"${key}"`);
}

/** The column a parameter names, checked to be numeric (int, decimal, bool or date); `what` names the parameter in errors. */
function columnNamed(schema: DatasetSchema, name: unknown, what: string): ColumnRef {
  const key = what;
  if (typeof name !== "string" || name === "") throw invalid(`${what} must name a column`);
  const column = schema.columns.find((c) => c.name === name);
  if (!column) {
    throw invalid(`no column ${JSON.stringify(name)}; the datasets have: ${schema.columns.map((c) => c.name).join(", ")}`);
  }
  let bounds;
  try {
    bounds = checkSchemaColumn(column);
  } catch (err) {
    throw new MpcError("INVALID_ARGUMENT", `schema: ${(err as Error).message}`, { cause: err });
  }
  // Bool (0/1) and date (day counts) columns are numbers; a category's indexes are not.
  if (column.type === "category") {
    throw invalid(`${key} names column ${JSON.stringify(name)}, a category column: the named algorithms read numeric, bool and date columns only`);
  }
  return { name: column.name, scale: column.scale, ...bounds };
}

function decimalAt(value: unknown, column: ColumnRef, what: string): bigint {
  if (typeof value !== "string" && typeof value !== "number") throw invalid(`${what} must be a decimal string`);
  let units: bigint;
  try {
    units = BigInt.asIntN(64, encodeFixedPoint(String(value), column.scale));
  } catch (err) {
    throw invalid(`${what} ${JSON.stringify(value)} does not fit column "${column.name}" (scale ${column.scale}): ${(err as Error).message}`);
  }
  if (units >= COMPARABLE_LIMIT || units < -COMPARABLE_LIMIT) throw invalid(`${what} ${JSON.stringify(value)} is out of the comparable range ±2^62 units`);
  return units;
}

function onlyKeys(params: Record<string, unknown>, keys: string[]): void {
  const extra = Object.keys(params).filter((k) => !keys.includes(k));
  if (extra.length > 0) throw invalid(`unknown field(s) ${extra.map((k) => JSON.stringify(k)).join(", ")}; expected ${keys.join(", ") || "none"}`);
}

/** count-if's comparators as SQL operators. */
const SQL_COMPARISON = { lt: "<", le: "<=", gt: ">", ge: ">=", eq: "=", ne: "<>" } as const;

/** A constant in a column's units as the query literal the plan reads back. */
function numberLiteral(units: bigint, column: ColumnRef): NumberLiteral {
  return { kind: "number", text: canonicalDecimal(boundText(units, column.scale))! };
}

/** A list of `min` to `max` distinct column names under `key`, each checked by {@link columnNamed}. */
function columnList(schema: DatasetSchema, params: Record<string, unknown>, key: string, min: number, max: number): ColumnRef[] {
  const names = params[key];
  if (!Array.isArray(names) || names.length < min || names.length > max) throw invalid(`"${key}" must be a list of ${min} to ${max} column names`);
  const columns = names.map((name, i) => columnNamed(schema, name, `"${key}"[${i}]`));
  const seen = new Set<string>();
  for (const [i, c] of columns.entries()) {
    if (seen.has(c.name)) throw invalid(`"${key}"[${i}] repeats column ${JSON.stringify(c.name)}`);
    seen.add(c.name);
  }
  return columns;
}

/**
 * The schema as a named algorithm reads it: bool and date columns are
 * numbers (0/1, day counts), except `grouped`, a bool column kept boolean
 * for GROUP BY.
 */
function numericSchema(schema: DatasetSchema, grouped?: string): QuerySchema {
  return {
    columns: schema.columns.map((c) => ({
      name: c.name,
      type: c.type === "category" ? "category" : c.type === "bool" && c.name === grouped ? "bool" : c.scale > 0 ? "decimal" : "int",
      scale: c.scale,
      lo: c.lo,
      hi: c.hi,
      ...(c.categories ? { categories: c.categories } : {}),
    })),
  };
}

/**
 * Validates an algorithm's JSON parameters against the datasets' schema and
 * returns the computation plan: the algorithm as a query of the plan IR
 * (mean@1 is `avg(column)`, count-if@1 is `count(*)` under a WHERE, ...),
 * planned by {@link planQuery} — the same code path as a buyer's query, so a
 * missing cell is skipped as SQL skips NULL. Errors name the field that is
 * wrong.
 *
 * The plan decides from public facts only (the columns' bounds and scales
 * and `rowCount`, the total rows of all datasets of the request) how each
 * opened sum is accumulated so that nothing can wrap the 64-bit ring
 * (centred on the bounds' midpoint, widened to limbs when the bound needs
 * it, refused with `RANGE_TOO_WIDE` when a row's product may reach 2^62).
 * The buyer plans before paying, the hosts again before computing, from the
 * same on-chain facts, so both reach the same plan.
 *
 * `epsilonMilli` is the ε the buyer spent on every dataset of the request,
 * in thousandths (1000 = ε 1). 0 is an exact request (a seller's opt-in).
 * Above 0 every opened statistic is noised inside the MPC (see each
 * algorithm's `dp`), ε split equally among them; count@1 stays exact (the
 * row count is public).
 *
 * @throws MpcError `ALGORITHM_UNSUPPORTED`, `INVALID_ARGUMENT` or `RANGE_TOO_WIDE`
 * @example
 * planComputation("mean@1", '{"column":"salary"}', { columns: [{ name: "salary", scale: 0, lo: "30000", hi: "200000" }] }, { rowCount: 10n, epsilonMilli: 1000 })
 */
export function planComputation(algorithm: string, paramsText: string, schema: DatasetSchema, options: { rowCount: bigint; epsilonMilli: number }): Plan {
  if (!(algorithm in ALGORITHMS)) {
    throw new MpcError("ALGORITHM_UNSUPPORTED", `unknown algorithm ${JSON.stringify(algorithm)}; known: ${Object.keys(ALGORITHMS).join(", ")}`);
  }
  const rowCount = typeof options?.rowCount === "bigint" ? options.rowCount : undefined;
  if (rowCount === undefined || rowCount < 1n || rowCount > MAX_ROWS) {
    throw new MpcError("INVALID_ARGUMENT", `the plan needs the total row count, a bigint from 1 to ${MAX_ROWS}; got ${String(options?.rowCount)}`);
  }
  // No default: a caller that forgets ε must not silently get exact answers.
  const epsilonMilli = options.epsilonMilli;
  if (typeof epsilonMilli !== "number" || !Number.isSafeInteger(epsilonMilli) || epsilonMilli < 0) {
    throw new MpcError(
      "INVALID_ARGUMENT",
      `the plan needs the ε the buyer spent, epsilonMilli: an integer number of milli-ε (1000 = ε 1), 0 for an exact request; got ${String(epsilonMilli)}`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(paramsText);
  } catch {
    throw invalid("not valid JSON");
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw invalid("must be a JSON object");
  const params = parsed as Record<string, unknown>;
  const name = algorithm as AlgorithmName;
  const select = ((): { select: SelectItem[]; where?: Predicate; groupBy?: string[] } => {
    const one = (aggregate: Aggregate): SelectItem[] => [{ kind: "aggregate", ...aggregate } as SelectItem];
    switch (name) {
      case "count@1":
        onlyKeys(params, []);
        return { select: one({ fn: "count" }) };
      case "sum@1":
      case "mean@1": {
        onlyKeys(params, ["column"]);
        const column = columnOf(schema, params, "column");
        return { select: one({ fn: name === "sum@1" ? "sum" : "avg", arg: { column: column.name } }) };
      }
      case "variance@1":
      case "stddev@1":
      case "min@1":
      case "max@1": {
        onlyKeys(params, ["column"]);
        const column = columnOf(schema, params, "column");
        const fn = ({ "variance@1": "var", "stddev@1": "stddev", "min@1": "min", "max@1": "max" } as const)[name];
        return { select: one({ fn, column: column.name }) };
      }
      case "histogram@1": {
        onlyKeys(params, ["column", "edges"]);
        const column = columnOf(schema, params, "column");
        if (!Array.isArray(params.edges) || params.edges.length === 0 || params.edges.length > MAX_HISTOGRAM_EDGES) {
          throw invalid(`"edges" must be a list of 1 to ${MAX_HISTOGRAM_EDGES} decimals`);
        }
        const edges = params.edges.map((e, i) => decimalAt(e, column, `edges[${i}]`));
        for (let i = 1; i < edges.length; i++) {
          if (edges[i] <= edges[i - 1]) throw invalid(`"edges" must be strictly increasing (edges[${i}])`);
        }
        return { select: one({ fn: "histogram", column: column.name, edges: edges.map((e) => numberLiteral(e, column)) }) };
      }
      case "count-if@1": {
        onlyKeys(params, ["column", "op", "threshold"]);
        const column = columnOf(schema, params, "column");
        if (!COMPARATORS.includes(params.op as Comparator)) throw invalid(`"op" must be one of ${COMPARATORS.join(", ")}`);
        const threshold = decimalAt(params.threshold, column, '"threshold"');
        return {
          select: one({ fn: "count" }),
          where: { op: "cmp", column: column.name, cmp: SQL_COMPARISON[params.op as Comparator], value: numberLiteral(threshold, column) },
        };
      }
      case "covariance@1": {
        onlyKeys(params, ["x", "y"]);
        const x = columnOf(schema, params, "x");
        const y = columnOf(schema, params, "y");
        return { select: one({ fn: "covar", x: x.name, y: y.name }) };
      }
      case "regression@1": {
        onlyKeys(params, ["x", "y"]);
        const y = columnOf(schema, params, "y");
        if (Array.isArray(params.x)) {
          const xs = columnList(schema, params, "x", 1, MAX_REGRESSION_FEATURES);
          if (xs.some((x) => x.name === y.name)) throw invalid(`"x" lists y's column ${JSON.stringify(y.name)}`);
          return { select: one({ fn: "linear_regression", y: y.name, x: xs.map((x) => x.name) }) };
        }
        const x = columnOf(schema, params, "x");
        return {
          select: (["regr_slope", "regr_intercept", "regr_r2"] as const).map((fn) => ({ kind: "aggregate", fn, y: y.name, x: x.name }) as SelectItem),
        };
      }
      case "correlation@1": {
        onlyKeys(params, ["columns"]);
        const columns = columnList(schema, params, "columns", 2, MAX_CORRELATION_COLUMNS);
        return { select: pairs(columns.length).map(([i, j]) => ({ kind: "aggregate", fn: "corr", x: columns[i].name, y: columns[j].name }) as SelectItem) };
      }
      case "ttest@1": {
        onlyKeys(params, ["column", "by", "groups"]);
        const column = columnOf(schema, params, "column");
        const by = schema.columns.find((c) => c.name === params.by);
        if (typeof params.by !== "string" || by === undefined || (by.type !== "category" && by.type !== "bool")) {
          throw invalid(`"by" must name a category or bool column; the datasets have: ${schema.columns.filter((c) => c.type === "category" || c.type === "bool").map((c) => c.name).join(", ") || "none"}`);
        }
        const labels = by.type === "bool" ? ["false", "true"] : (by.categories ?? []);
        const groups = params.groups;
        if (!Array.isArray(groups) || groups.length !== 2 || groups[0] === groups[1] || !groups.every((g) => typeof g === "string" && labels.includes(g))) {
          throw invalid(`"groups" must be two distinct values of ${JSON.stringify(by.name)}: ${labels.join(", ")}`);
        }
        const literal = (g: string): Literal => (by.type === "bool" ? { kind: "bool", value: g === "true" } : { kind: "string", text: g });
        return {
          select: [
            { kind: "column", column: by.name },
            { kind: "aggregate", fn: "count", column: column.name },
            { kind: "aggregate", fn: "avg", arg: { column: column.name } },
            { kind: "aggregate", fn: "var", column: column.name },
          ],
          where: { op: "in", column: by.name, values: (groups as string[]).map(literal), negated: false },
          groupBy: [by.name],
        };
      }
    }
  })();
  const query: Query = { select: select.select, from: [], groupBy: select.groupBy ?? [], ...(select.where ? { where: select.where } : {}), text: `${name} ${paramsText}` };
  let planned: QueryPlan;
  try {
    planned = planQuery(query, numericSchema(schema, select.groupBy?.[0]), { rowCount, epsilonMilli, name });
  } catch (err) {
    // The query is built from checked params: a query error here is the schema's or the params' fault.
    if ((err as MpcError).code === "QUERY_INVALID") throw invalid((err as Error).message);
    throw err;
  }
  const plan: Plan = { algorithm: name, rowCount, query: planned, ...(planned.dp ? { dp: planned.dp } : {}) };
  // Refused before payment: a longer result would fail on-chain after the hosts had computed it.
  const opened = openedCount(plan);
  if (opened > MAX_OPENED_VALUES) {
    throw invalid(
      `${name} would open ${opened} values; an on-chain result holds at most ${MAX_OPENED_VALUES} (${MAX_RESULT_LENGTH} bytes): ask for fewer columns (or for narrower bounds, whose sums need no second limb)`,
    );
  }
  return plan;
}

/**
 * The buyer's side: turns the opened ring values into the algorithm's
 * result, exactly (BigInt and {@link Rational}) — the query's answer read as
 * the algorithm's result shape — and refuses values no rows within the
 * declared bounds could give. In DP mode the result is post-processing of
 * the noisy statistics, clamped into the possible range; `describeNoise`
 * says how noisy it is.
 *
 * @throws MpcError `INVALID_ARGUMENT` when the number of values does not match the plan,
 *   `RESULT_OUT_OF_RANGE` for impossible values, `RESULT_UNDEFINED` where no row has a value
 *   (or a regression whose XᵀX is singular, or not positive definite when noisy; a t-test
 *   group with fewer than 2 values)
 * @example
 * const plan = planComputation("mean@1", '{"column":"salary"}', schema, { rowCount: 10n, epsilonMilli: 0 });
 * decodeResult(plan, openedValues) // "62390.000000"
 */
export function decodeResult(plan: Plan, values: bigint[]): AlgorithmResult {
  if (values.length !== openedCount(plan)) {
    throw invalid(`${plan.algorithm} opens ${openedCount(plan)} value(s), got ${values.length}`);
  }
  const opened = openStatistics(plan.query, values);
  if (plan.algorithm === "ttest@1") return decodeTTest(plan, opened);
  const [row] = queryTable(plan.query, opened).rows;
  const defined = (cell: string | null, why: string): string => {
    if (cell === null) throw new MpcError("RESULT_UNDEFINED", `${plan.algorithm}: ${why}`);
    return cell;
  };
  switch (plan.algorithm) {
    case "histogram@1": {
      const item = plan.query.output[0];
      const stat = item.kind === "histogram" ? plan.query.statistics[item.buckets] : undefined;
      const column = item.kind === "histogram" ? item.column : undefined;
      return {
        edges: stat?.kind === "buckets" && column ? stat.edges.map((e) => boundText(e, column.scale)) : [],
        counts: row.map((c) => defined(c, "a bucket has no count")),
      };
    }
    case "regression@1": {
      const item = plan.query.output[0];
      if (item.kind === "linear_regression") return multipleRegression(plan, item.x.map((x) => x.name), row);
      const [slope, intercept, r2] = row;
      if (slope === null && intercept === null && r2 === null) {
        throw new MpcError("RESULT_UNDEFINED", "regression@1: x is constant over the rows with both x and y (or there are none), so the slope is undefined");
      }
      return {
        slope: defined(slope, "x is constant, so the slope is undefined"),
        intercept: defined(intercept, "x is constant, so the slope is undefined"),
        r2: defined(r2, "x is constant, so the slope is undefined"),
      };
    }
    case "correlation@1": {
      const columns = plan.query.output.length === 0 ? [] : correlationColumns(plan);
      const cell = new Map(pairs(columns.length).map(([i, j], at) => [`${i},${j}`, row[at]]));
      const matrix = columns.map((_, i) => columns.map((__, j) => (i === j ? Rational.scaled(1n, 0).toDecimal(EXTRA_DIGITS) : (cell.get(i < j ? `${i},${j}` : `${j},${i}`) ?? null))));
      return { columns, matrix };
    }
    default:
      return defined(row[0], "no row has a value of the column (every cell is missing)");
  }
}

/** correlation@1's columns in the order the buyer listed them, read back from its corr items. */
function correlationColumns(plan: Plan): string[] {
  const names: string[] = [];
  for (const item of plan.query.output) {
    if (item.kind !== "corr") continue;
    for (const c of [item.x.name, item.y.name]) if (!names.includes(c)) names.push(c);
  }
  return names;
}

/** A multiple regression's cells (see `linearRegressionCells`) as its named result. */
function multipleRegression(plan: Plan, xs: string[], row: (string | null)[]): AlgorithmResult {
  const k = xs.length;
  if (row[0] === null) {
    const why = plan.dp
      ? "the noisy XᵀX is not positive definite (or the noisy row count is 0): ask for more ε or fewer features"
      : "XᵀX is singular over the rows with y and every x present: a constant column, linearly dependent columns, or no more rows than columns";
    throw new MpcError("RESULT_UNDEFINED", `regression@1: ${why}`);
  }
  const errors = row.slice(k + 1, 2 * k + 2);
  return {
    coefficients: Object.fromEntries(xs.map((x, i) => [x, row[i]])),
    intercept: row[k],
    standardErrors: errors[0] === null ? null : { ...Object.fromEntries(xs.map((x, i) => [x, errors[i]])), intercept: errors[k] },
    r2: row[2 * k + 2],
    n: row[2 * k + 3],
  };
}

/** ttest@1's result: Welch's test from the exact (DP: clamped noisy) moments of the two groups. */
function decodeTTest(plan: Plan, opened: ReturnType<typeof openStatistics>): AlgorithmResult {
  const params = JSON.parse(plan.query.text.slice(plan.algorithm.length + 1)) as { groups: [string, string] };
  const variance = plan.query.output[3];
  const labels = plan.query.groupBy[0].labels;
  const scale = "column" in variance ? variance.column.scale : 0;
  const [g1, g2] = params.groups.map((g) => groupMoments(plan.query, variance, labels.indexOf(g), opened));
  if (g1.mean === null || g2.mean === null || g1.variance === null || g2.variance === null) {
    throw new MpcError("RESULT_UNDEFINED", `ttest@1: a group has no value (${g1.n} and ${g2.n})`);
  }
  const test = welchTest({ n: g1.n, mean: g1.mean, variance: g1.variance }, { n: g2.n, mean: g2.mean, variance: g2.variance });
  if ("undefined" in test) throw new MpcError("RESULT_UNDEFINED", `ttest@1: ${test.undefined}`);
  return { ...test, mean1: g1.mean.toDecimal(scale + EXTRA_DIGITS), mean2: g2.mean.toDecimal(scale + EXTRA_DIGITS), n1: g1.n.toString(), n2: g2.n.toString() };
}

/**
 * The canonical schema text a seller publishes on-chain (its keccak256 is the
 * dataset's schema hash); hosts rebuild it from the shares they hold (names,
 * scales, bounds, types and dictionaries travel with every upload) to check
 * that the shares match the declared schema. Key order: name, scale, lo, hi,
 * then `type` only when the column has one (not for int and decimal, so a
 * numeric schema's text is unchanged), then `categories` only for a category
 * column.
 *
 * @example
 * schemaText([{ name: "salary", scale: 0, lo: "30000", hi: "200000" }, { name: "dept", scale: 0, lo: "0", hi: "1", type: "category", categories: ["eng", "ops"] }])
 * // '{"columns":[{"name":"salary","scale":0,"lo":"30000","hi":"200000"},{"name":"dept","scale":0,"lo":"0","hi":"1","type":"category","categories":["eng","ops"]}]}'
 */
export function schemaText(columns: readonly SchemaColumn[]): string {
  return JSON.stringify({
    columns: columns.map((c) => ({
      name: c.name,
      scale: c.scale,
      lo: c.lo,
      hi: c.hi,
      ...(c.type === undefined ? {} : { type: c.type }),
      ...(c.type === "category" ? { categories: [...(c.categories ?? [])] } : {}),
    })),
  });
}
