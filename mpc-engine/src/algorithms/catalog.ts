import { MpcError } from "../errors.ts";
import { decodeFixedPoint, encodeFixedPoint } from "../fixed-point.ts";
import { Rational } from "./rational.ts";

/** A dataset's public schema, as published on-chain: column names and fixed-point scales. */
export interface DatasetSchema {
  columns: { name: string; scale: number }[];
}

/** A column an algorithm reads, with its decimal fixed-point scale. */
export interface ColumnRef {
  name: string;
  scale: number;
}

/** Comparators of `count-if@1`. */
export const COMPARATORS = ["lt", "le", "gt", "ge", "eq", "ne"] as const;
export type Comparator = (typeof COMPARATORS)[number];

/** Most bucket edges of `histogram@1`: the result must fit the on-chain result limit. */
export const MAX_HISTOGRAM_EDGES = 64;

/**
 * A validated computation: the algorithm, the columns it reads (resolved
 * against the schema) and its public parameters encoded at the column's scale.
 */
export type Plan =
  | { algorithm: "count@1" }
  | { algorithm: "sum@1" | "mean@1" | "variance@1" | "stddev@1" | "min@1" | "max@1"; column: ColumnRef }
  | { algorithm: "histogram@1"; column: ColumnRef; edges: bigint[] }
  | { algorithm: "count-if@1"; column: ColumnRef; op: Comparator; threshold: bigint }
  | { algorithm: "covariance@1" | "regression@1"; x: ColumnRef; y: ColumnRef };

/** What the buyer gets: a decimal string, or named decimals for multi-valued results. */
export type AlgorithmResult = string | Record<string, string | string[]>;

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
  /** What the opened values reveal beyond the output itself (and the public row counts). */
  leakage: string;
}

/** Fractional digits added to a column's scale when a result is a quotient (mean, variance...). */
export const EXTRA_DIGITS = 6;

const COLUMN_PARAMS = '{"column": "<name>"}';

/** Every algorithm of the library, keyed by `name@version`. */
export const ALGORITHMS: Record<Plan["algorithm"], AlgorithmDeclaration> = {
  "count@1": {
    name: "count@1",
    summary: "number of rows",
    params: "{}",
    opened: "n",
    output: "the number of rows of the datasets taken together",
    leakage: "nothing: row counts are public on-chain",
  },
  "sum@1": {
    name: "sum@1",
    summary: "sum of a column",
    params: COLUMN_PARAMS,
    opened: "Σx",
    output: "the sum, at the column's scale",
    leakage: "nothing beyond the sum",
  },
  "mean@1": {
    name: "mean@1",
    summary: "arithmetic mean of a column",
    params: COLUMN_PARAMS,
    opened: "Σx, n",
    output: `the mean, with ${EXTRA_DIGITS} more decimals than the column`,
    leakage: "nothing beyond the mean: n is public and Σx = mean·n",
  },
  "variance@1": {
    name: "variance@1",
    summary: "population variance of a column",
    params: COLUMN_PARAMS,
    opened: "Σx, Σx², n",
    output: `the population variance Σ(x−mean)²/n, with ${EXTRA_DIGITS} more decimals than the column`,
    leakage:
      "the mean as well as the variance (Σx and Σx² follow from mean, variance and the public n). " +
      "Exact while |Σx²| < 2^63 units of the squared scale (10^-2s); beyond it the ring wraps and the buyer's side reports the overflow",
  },
  "stddev@1": {
    name: "stddev@1",
    summary: "population standard deviation of a column",
    params: COLUMN_PARAMS,
    opened: "Σx, Σx², n",
    output: `the population standard deviation, with ${EXTRA_DIGITS} more decimals than the column (rounded down)`,
    leakage: "the mean and the variance as well as the standard deviation (as variance@1)",
  },
  "min@1": {
    name: "min@1",
    summary: "smallest value of a column",
    params: COLUMN_PARAMS,
    opened: "min x",
    output: "the smallest value, at the column's scale",
    leakage: "the value itself (which is some row's value), not which row holds it",
  },
  "max@1": {
    name: "max@1",
    summary: "largest value of a column",
    params: COLUMN_PARAMS,
    opened: "max x",
    output: "the largest value, at the column's scale",
    leakage: "the value itself (which is some row's value), not which row holds it",
  },
  "histogram@1": {
    name: "histogram@1",
    summary: "row counts per bucket between public edges",
    params: '{"column": "<name>", "edges": ["<e1>", "<e2>", ...]} (strictly increasing decimals)',
    opened: "#{x < e_j} for each edge, n",
    output: "counts of (−∞, e1), [e1, e2), ..., [ek, +∞)",
    leakage: "nothing beyond the bucket counts",
  },
  "count-if@1": {
    name: "count-if@1",
    summary: "number of rows whose value compares true with a public threshold",
    params: '{"column": "<name>", "op": "lt|le|gt|ge|eq|ne", "threshold": "<decimal>"}',
    opened: "the count",
    output: "the count",
    leakage: "nothing beyond the count",
  },
  "covariance@1": {
    name: "covariance@1",
    summary: "population covariance of two columns",
    params: '{"x": "<name>", "y": "<name>"}',
    opened: "Σx, Σy, Σxy, n",
    output: `the population covariance Σ(x−x̄)(y−ȳ)/n, with ${EXTRA_DIGITS} more decimals`,
    leakage: "the means of x and y as well as the covariance; exact while |Σxy| < 2^63 units of 10^-(sx+sy)",
  },
  "regression@1": {
    name: "regression@1",
    summary: "simple linear regression y = slope·x + intercept",
    params: '{"x": "<name>", "y": "<name>"}',
    opened: "Σx, Σy, Σx², Σxy, Σy², n",
    output: "slope, intercept and r²",
    leakage:
      "the means and variances of x and y and their covariance, as well as slope, intercept and r² " +
      "(the sufficient statistics are opened rather than divided under MPC)",
  },
};

function invalid(message: string): MpcError {
  return new MpcError("INVALID_ARGUMENT", `params: ${message}`);
}

function columnOf(schema: DatasetSchema, params: Record<string, unknown>, key: string): ColumnRef {
  const name = params[key];
  if (typeof name !== "string" || name === "") throw invalid(`"${key}" must name a column`);
  const column = schema.columns.find((c) => c.name === name);
  if (!column) {
    throw invalid(`no column ${JSON.stringify(name)}; the datasets have: ${schema.columns.map((c) => c.name).join(", ")}`);
  }
  return { name: column.name, scale: column.scale };
}

/**
 * Largest magnitude (in units of the column's scale) a value may have for the
 * hosts' comparisons to be exact: they compare through the sign of x − y,
 * which must not wrap around 2^64. Sellers' values and buyers' thresholds are
 * both held to it.
 */
export const COMPARABLE_LIMIT = 1n << 62n;

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

/**
 * Validates an algorithm's JSON parameters against the datasets' schema and
 * returns the computation plan. Errors name the field that is wrong.
 *
 * @throws MpcError `ALGORITHM_UNSUPPORTED` or `INVALID_ARGUMENT`
 * @example
 * planComputation("mean@1", '{"column":"salary"}', { columns: [{ name: "salary", scale: 0 }] })
 */
export function planComputation(algorithm: string, paramsText: string, schema: DatasetSchema): Plan {
  if (!(algorithm in ALGORITHMS)) {
    throw new MpcError("ALGORITHM_UNSUPPORTED", `unknown algorithm ${JSON.stringify(algorithm)}; known: ${Object.keys(ALGORITHMS).join(", ")}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(paramsText);
  } catch {
    throw invalid("not valid JSON");
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw invalid("must be a JSON object");
  const params = parsed as Record<string, unknown>;
  const name = algorithm as Plan["algorithm"];
  switch (name) {
    case "count@1":
      onlyKeys(params, []);
      return { algorithm: name };
    case "sum@1":
    case "mean@1":
    case "variance@1":
    case "stddev@1":
    case "min@1":
    case "max@1":
      onlyKeys(params, ["column"]);
      return { algorithm: name, column: columnOf(schema, params, "column") };
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
      return { algorithm: name, column, edges };
    }
    case "count-if@1": {
      onlyKeys(params, ["column", "op", "threshold"]);
      const column = columnOf(schema, params, "column");
      if (!COMPARATORS.includes(params.op as Comparator)) throw invalid(`"op" must be one of ${COMPARATORS.join(", ")}`);
      return { algorithm: name, column, op: params.op as Comparator, threshold: decimalAt(params.threshold, column, '"threshold"') };
    }
    case "covariance@1":
    case "regression@1":
      onlyKeys(params, ["x", "y"]);
      return { algorithm: name, x: columnOf(schema, params, "x"), y: columnOf(schema, params, "y") };
  }
}

/** Number of ring values the hosts open to the buyer for a plan. */
export function openedCount(plan: Plan): number {
  switch (plan.algorithm) {
    case "count@1":
    case "sum@1":
    case "min@1":
    case "max@1":
    case "count-if@1":
      return 1;
    case "mean@1":
      return 2;
    case "variance@1":
    case "stddev@1":
      return 3;
    case "histogram@1":
      return plan.edges.length + 1;
    case "covariance@1":
      return 4;
    case "regression@1":
      return 6;
  }
}

/**
 * Scale (decimal places) of the hosts' sums of products of two columns: the
 * products are summed exactly, without truncation, so the scales add up.
 */
export function productScale(x: ColumnRef, y: ColumnRef): number {
  return x.scale + y.scale;
}

function overflow(what: string): MpcError {
  return new MpcError(
    "RESULT_OUT_OF_RANGE",
    `${what}: the statistics overflowed the 64-bit ring (the column's values are too large for this algorithm at their scale)`,
  );
}

const signed = (v: bigint): bigint => BigInt.asIntN(64, v);

/**
 * The buyer's side: turns the opened ring values into the algorithm's result.
 *
 * @throws MpcError `INVALID_ARGUMENT` when the number of values does not match the plan
 * @example
 * decodeResult({ algorithm: "mean@1", column: { name: "salary", scale: 0 } }, [623900n, 10n]) // "62390.000000"
 */
export function decodeResult(plan: Plan, values: bigint[]): AlgorithmResult {
  if (values.length !== openedCount(plan)) {
    throw invalid(`${plan.algorithm} opens ${openedCount(plan)} value(s), got ${values.length}`);
  }
  const v = values.map(signed);
  switch (plan.algorithm) {
    case "count@1":
    case "count-if@1":
      return v[0].toString();
    case "sum@1":
    case "min@1":
    case "max@1":
      return decodeFixedPoint(values[0], plan.column.scale);
    case "mean@1": {
      const digits = plan.column.scale + EXTRA_DIGITS;
      return Rational.scaled(v[0], plan.column.scale).div(new Rational(v[1])).toDecimal(digits);
    }
    case "variance@1":
    case "stddev@1": {
      const s = plan.column.scale;
      const variance = populationCovariance(v[0], v[0], v[1], v[2], s, s, 2 * s);
      const digits = s + EXTRA_DIGITS;
      // Σx² is a sum of squares: negative (or below (Σx)²/n) only if it wrapped.
      if (variance.num < 0n || v[1] < 0n) throw overflow(plan.algorithm);
      return plan.algorithm === "variance@1" ? variance.toDecimal(digits) : variance.sqrtDecimal(digits);
    }
    case "histogram@1": {
      const below = v.slice(0, plan.edges.length);
      const n = v[plan.edges.length];
      const counts = [below[0], ...below.slice(1).map((c, i) => c - below[i]), n - below[below.length - 1]];
      return {
        edges: plan.edges.map((e) => decodeFixedPoint(BigInt.asUintN(64, e), plan.column.scale)),
        counts: counts.map((c) => c.toString()),
      };
    }
    case "covariance@1": {
      const [sx, sy, sxy, n] = v;
      const digits = Math.max(plan.x.scale, plan.y.scale) + EXTRA_DIGITS;
      return populationCovariance(sx, sy, sxy, n, plan.x.scale, plan.y.scale, productScale(plan.x, plan.y)).toDecimal(digits);
    }
    case "regression@1": {
      const [sx, sy, sxx, sxy, syy, n] = v;
      const { x, y } = plan;
      const cxy = populationCovariance(sx, sy, sxy, n, x.scale, y.scale, productScale(x, y));
      const cxx = populationCovariance(sx, sx, sxx, n, x.scale, x.scale, 2 * x.scale);
      const cyy = populationCovariance(sy, sy, syy, n, y.scale, y.scale, 2 * y.scale);
      if (cxx.num < 0n || cyy.num < 0n || sxx < 0n || syy < 0n) throw overflow(plan.algorithm);
      const digits = Math.max(x.scale, y.scale) + EXTRA_DIGITS;
      if (cxx.num === 0n) throw new MpcError("RESULT_UNDEFINED", "regression@1: x is constant, so the slope is undefined");
      const slope = cxy.div(cxx);
      const meanX = Rational.scaled(sx, x.scale).div(new Rational(n));
      const meanY = Rational.scaled(sy, y.scale).div(new Rational(n));
      const intercept = meanY.sub(slope.mul(meanX));
      // A constant y lies exactly on the fitted (horizontal) line.
      const r2 = cyy.num === 0n ? new Rational(1n) : cxy.mul(cxy).div(cxx.mul(cyy));
      return { slope: slope.toDecimal(digits), intercept: intercept.toDecimal(digits), r2: r2.toDecimal(EXTRA_DIGITS) };
    }
  }
}

/** Σxy/n − (Σx/n)(Σy/n) from the opened sums, each given with its scale. */
function populationCovariance(sx: bigint, sy: bigint, sxy: bigint, n: bigint, scaleX: number, scaleY: number, scaleXY: number): Rational {
  const count = new Rational(n);
  const meanXY = Rational.scaled(sxy, scaleXY).div(count);
  const meanX = Rational.scaled(sx, scaleX).div(count);
  const meanY = Rational.scaled(sy, scaleY).div(count);
  return meanXY.sub(meanX.mul(meanY));
}

/**
 * The canonical schema text a seller publishes on-chain (its keccak256 is the
 * dataset's schema hash); hosts rebuild it from the shares they hold to check
 * that the shares match the declared schema.
 *
 * @example
 * schemaText([{ name: "salary", scale: 0 }]) // '{"columns":[{"name":"salary","scale":0}]}'
 */
export function schemaText(columns: readonly { name: string; scale: number }[]): string {
  return JSON.stringify({ columns: columns.map((c) => ({ name: c.name, scale: c.scale })) });
}
