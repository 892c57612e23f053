import { MpcError } from "../errors.ts";
import { encodeFixedPoint } from "../fixed-point.ts";
import { boundText, COMPARABLE_LIMIT, parseColumnBounds } from "./column-bounds.ts";
import { Rational } from "./rational.ts";
import { decodeSum, openedWidth, planSum, type PlannedSum } from "./sum-plan.ts";

export { COMPARABLE_LIMIT } from "./column-bounds.ts";

/**
 * One column of a dataset's public schema, as published on-chain: name,
 * fixed-point scale (decimal places) and public bounds, canonical decimals at
 * that scale (`lo` ≤ every value ≤ `hi`).
 */
export interface SchemaColumn {
  name: string;
  scale: number;
  lo: string;
  hi: string;
}

/** A dataset's public schema, as published on-chain (see {@link schemaText}). */
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

/** Most bucket edges of `histogram@1`: the result must fit the on-chain result limit. */
export const MAX_HISTOGRAM_EDGES = 64;

/** Most rows one computation may aggregate: the hosts index rows with JavaScript numbers. */
export const MAX_ROWS = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * A validated computation: the algorithm, the columns it reads (resolved
 * against the schema), its public parameters encoded at the column's scale,
 * the total row count it was planned for, and — for the algorithms that open
 * sums — how each sum is accumulated so that it cannot wrap the ring (see
 * {@link planComputation}). Sums are opened in the order of `sums`.
 */
export type Plan = { rowCount: bigint } & (
  | { algorithm: "count@1" }
  | { algorithm: "sum@1" | "mean@1" | "variance@1" | "stddev@1"; column: ColumnRef; sums: PlannedSum[] }
  | { algorithm: "min@1" | "max@1"; column: ColumnRef }
  | { algorithm: "histogram@1"; column: ColumnRef; edges: bigint[] }
  | { algorithm: "count-if@1"; column: ColumnRef; op: Comparator; threshold: bigint }
  | { algorithm: "covariance@1" | "regression@1"; x: ColumnRef; y: ColumnRef; sums: PlannedSum[] }
);

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

// How every opened sum is formed; the declarations below refer to it.
const CENTRED =
  "Sums are of centred values x − c, c the public integer midpoint of the column's bounds (n·c is added back by the buyer), " +
  "each opened as one ring element when the bounds and row count prove |Σ| < 2^63, else as its normalised (high, low) 32-bit limbs; " +
  "either way a function of the exact sum alone";

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
    opened: `Σ(x−c). ${CENTRED}`,
    output: "the sum, at the column's scale",
    leakage: "nothing beyond the sum: c and n are public, so Σ(x−c) = Σx − n·c",
  },
  "mean@1": {
    name: "mean@1",
    summary: "arithmetic mean of a column",
    params: COLUMN_PARAMS,
    opened: `Σ(x−c), n. ${CENTRED}`,
    output: `the mean, with ${EXTRA_DIGITS} more decimals than the column`,
    leakage: "nothing beyond the mean: n and c are public and Σ(x−c) = n·(mean − c)",
  },
  "variance@1": {
    name: "variance@1",
    summary: "population variance of a column",
    params: COLUMN_PARAMS,
    opened: `Σ(x−c), Σ(x−c)², n. ${CENTRED}`,
    output: `the population variance Σ(x−mean)²/n, with ${EXTRA_DIGITS} more decimals than the column`,
    leakage:
      "the mean as well as the variance (Σ(x−c) and Σ(x−c)² follow from mean, variance, c and n). " +
      "Refused before payment (RANGE_TOO_WIDE) when (hi − lo)²/4 may reach 2^62 units of the squared scale",
  },
  "stddev@1": {
    name: "stddev@1",
    summary: "population standard deviation of a column",
    params: COLUMN_PARAMS,
    opened: `Σ(x−c), Σ(x−c)², n. ${CENTRED}`,
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
    opened: `Σ(x−cx), Σ(y−cy), Σ(x−cx)(y−cy), n. ${CENTRED}`,
    output: `the population covariance Σ(x−x̄)(y−ȳ)/n, with ${EXTRA_DIGITS} more decimals`,
    leakage:
      "the means of x and y as well as the covariance. " +
      "Refused before payment (RANGE_TOO_WIDE) when the product of the two bounds' half-widths may reach 2^62 units",
  },
  "regression@1": {
    name: "regression@1",
    summary: "simple linear regression y = slope·x + intercept",
    params: '{"x": "<name>", "y": "<name>"}',
    opened: `Σ(x−cx), Σ(y−cy), Σ(x−cx)², Σ(x−cx)(y−cy), Σ(y−cy)², n. ${CENTRED}`,
    output: "slope, intercept and r²",
    leakage:
      "the means and variances of x and y and their covariance, as well as slope, intercept and r² " +
      "(the sufficient statistics are opened rather than divided under MPC). Refused before payment (RANGE_TOO_WIDE) as variance@1 and covariance@1",
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
  let bounds;
  try {
    bounds = parseColumnBounds(column);
  } catch (err) {
    throw new MpcError("INVALID_ARGUMENT", `schema: ${(err as Error).message}`, { cause: err });
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

/**
 * Validates an algorithm's JSON parameters against the datasets' schema and
 * returns the computation plan. Errors name the field that is wrong.
 *
 * The plan also decides, from public facts only (the columns' bounds and
 * scales and `rowCount`, the total rows of all datasets of the request), how
 * each opened sum is accumulated so that nothing can wrap the 64-bit ring:
 * values are centred on the midpoint c of their bounds (|x − c| ≤ W, W the
 * half-width); a sum whose bound n·W (or n·Wx·Wy for products) is below 2^63
 * is exact in the ring; a larger one is widened (exact chunks lifted to
 * 32-bit limbs); a per-row product that may reach 2^62 is refused. The buyer
 * plans before paying, the hosts again before computing, from the same
 * on-chain facts, so both reach the same plan.
 *
 * @throws MpcError `ALGORITHM_UNSUPPORTED`, `INVALID_ARGUMENT` or `RANGE_TOO_WIDE`
 * @example
 * planComputation("mean@1", '{"column":"salary"}', { columns: [{ name: "salary", scale: 0, lo: "30000", hi: "200000" }] }, { rowCount: 10n })
 */
export function planComputation(algorithm: string, paramsText: string, schema: DatasetSchema, options: { rowCount: bigint }): Plan {
  if (!(algorithm in ALGORITHMS)) {
    throw new MpcError("ALGORITHM_UNSUPPORTED", `unknown algorithm ${JSON.stringify(algorithm)}; known: ${Object.keys(ALGORITHMS).join(", ")}`);
  }
  const rowCount = typeof options?.rowCount === "bigint" ? options.rowCount : undefined;
  if (rowCount === undefined || rowCount < 1n || rowCount > MAX_ROWS) {
    throw new MpcError("INVALID_ARGUMENT", `the plan needs the total row count, a bigint from 1 to ${MAX_ROWS}; got ${String(options?.rowCount)}`);
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
  const sum = (label: string, ...columns: ColumnRef[]): PlannedSum => planSum(name, label, columns, rowCount);
  switch (name) {
    case "count@1":
      onlyKeys(params, []);
      return { algorithm: name, rowCount };
    case "sum@1":
    case "mean@1": {
      onlyKeys(params, ["column"]);
      const column = columnOf(schema, params, "column");
      return { algorithm: name, rowCount, column, sums: [sum("Σx", column)] };
    }
    case "variance@1":
    case "stddev@1": {
      onlyKeys(params, ["column"]);
      const column = columnOf(schema, params, "column");
      return { algorithm: name, rowCount, column, sums: [sum("Σx", column), sum("Σx²", column, column)] };
    }
    case "min@1":
    case "max@1":
      onlyKeys(params, ["column"]);
      return { algorithm: name, rowCount, column: columnOf(schema, params, "column") };
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
      return { algorithm: name, rowCount, column, edges };
    }
    case "count-if@1": {
      onlyKeys(params, ["column", "op", "threshold"]);
      const column = columnOf(schema, params, "column");
      if (!COMPARATORS.includes(params.op as Comparator)) throw invalid(`"op" must be one of ${COMPARATORS.join(", ")}`);
      return { algorithm: name, rowCount, column, op: params.op as Comparator, threshold: decimalAt(params.threshold, column, '"threshold"') };
    }
    case "covariance@1": {
      onlyKeys(params, ["x", "y"]);
      const x = columnOf(schema, params, "x");
      const y = columnOf(schema, params, "y");
      return { algorithm: name, rowCount, x, y, sums: [sum("Σx", x), sum("Σy", y), sum("Σxy", x, y)] };
    }
    case "regression@1": {
      onlyKeys(params, ["x", "y"]);
      const x = columnOf(schema, params, "x");
      const y = columnOf(schema, params, "y");
      return {
        algorithm: name,
        rowCount,
        x,
        y,
        sums: [sum("Σx", x), sum("Σy", y), sum("Σx²", x, x), sum("Σxy", x, y), sum("Σy²", y, y)],
      };
    }
  }
}

/** Whether a plan opens the (public) row count after its other values. */
function opensRowCount(plan: Plan): boolean {
  return plan.algorithm !== "sum@1" && plan.algorithm !== "min@1" && plan.algorithm !== "max@1" && plan.algorithm !== "count-if@1";
}

/** Number of ring values the hosts open to the buyer for a plan. */
export function openedCount(plan: Plan): number {
  const n = opensRowCount(plan) ? 1 : 0;
  switch (plan.algorithm) {
    case "count@1":
      return 1;
    case "min@1":
    case "max@1":
    case "count-if@1":
      return 1;
    case "histogram@1":
      return plan.edges.length + 1;
    default:
      return plan.sums.reduce((k, s) => k + openedWidth(s), 0) + n;
  }
}

/**
 * Scale (decimal places) of the hosts' sums of products of two columns: the
 * products are summed exactly, without truncation, so the scales add up.
 */
export function productScale(x: ColumnRef, y: ColumnRef): number {
  return x.scale + y.scale;
}

function impossible(what: string, why: string): MpcError {
  return new MpcError(
    "RESULT_OUT_OF_RANGE",
    `${what}: the opened statistics are impossible (${why}): a seller's value outside its declared bounds, or a faulty host`,
  );
}

const signed = (v: bigint): bigint => BigInt.asIntN(64, v);

/** The exact centred sums of a plan from the opened values, in the order of `plan.sums`, and the opened row count. */
function openedSums(plan: Plan & { sums: PlannedSum[] }, values: readonly bigint[]): { sums: bigint[]; n: bigint } {
  let at = 0;
  const sums = plan.sums.map((s) => {
    const width = openedWidth(s);
    const exact = decodeSum(plan.algorithm, s, values.slice(at, at + width));
    at += width;
    return exact;
  });
  return { sums, n: opensRowCount(plan) ? signed(values[at]) : plan.rowCount };
}

function checkRowCount(plan: Plan, n: bigint): void {
  if (n !== plan.rowCount) throw impossible(plan.algorithm, `the hosts counted ${n} rows, the plan ${plan.rowCount}`);
}

/** Σx from the centred Σ(x − c) of a one-column sum: adds n·c back. */
function uncentred(sum: PlannedSum, centredSum: bigint, n: bigint): bigint {
  return centredSum + n * sum.factors[0].centre;
}

/**
 * The buyer's side: turns the opened ring values into the algorithm's
 * result, exactly (BigInt and {@link Rational}), and refuses values no rows
 * within the declared bounds could give.
 *
 * @throws MpcError `INVALID_ARGUMENT` when the number of values does not match the plan,
 *   `RESULT_OUT_OF_RANGE` for impossible values, `RESULT_UNDEFINED` for a regression on a constant x
 * @example
 * const plan = planComputation("mean@1", '{"column":"salary"}', schema, { rowCount: 10n });
 * decodeResult(plan, openedValues) // "62390.000000"
 */
export function decodeResult(plan: Plan, values: bigint[]): AlgorithmResult {
  if (values.length !== openedCount(plan)) {
    throw invalid(`${plan.algorithm} opens ${openedCount(plan)} value(s), got ${values.length}`);
  }
  switch (plan.algorithm) {
    case "count@1":
      checkRowCount(plan, signed(values[0]));
      return signed(values[0]).toString();
    case "count-if@1": {
      const count = signed(values[0]);
      if (count < 0n || count > plan.rowCount) throw impossible(plan.algorithm, `a count of ${count} out of ${plan.rowCount} rows`);
      return count.toString();
    }
    case "min@1":
    case "max@1": {
      const v = signed(values[0]);
      if (v < plan.column.lo || v > plan.column.hi) throw impossible(plan.algorithm, `${v} units lie outside the column's bounds`);
      return boundText(v, plan.column.scale);
    }
    case "sum@1":
    case "mean@1": {
      const { sums, n } = openedSums(plan, values);
      checkRowCount(plan, n);
      const total = uncentred(plan.sums[0], sums[0], n);
      const s = plan.column.scale;
      return plan.algorithm === "sum@1" ? Rational.scaled(total, s).toDecimal(s) : Rational.scaled(total, s).div(new Rational(n)).toDecimal(s + EXTRA_DIGITS);
    }
    case "variance@1":
    case "stddev@1": {
      const { sums, n } = openedSums(plan, values);
      checkRowCount(plan, n);
      const [sx, sxx] = sums;
      const s = plan.column.scale;
      // Σ(x−c)² is a sum of squares, at least (Σ(x−c))²/n: anything less never came from rows.
      if (sxx < 0n || n * sxx < sx * sx) throw impossible(plan.algorithm, "a negative variance");
      const variance = populationCovariance(sx, sx, sxx, n, s, s, 2 * s);
      const digits = s + EXTRA_DIGITS;
      return plan.algorithm === "variance@1" ? variance.toDecimal(digits) : variance.sqrtDecimal(digits);
    }
    case "histogram@1": {
      const v = values.map(signed);
      const below = v.slice(0, plan.edges.length);
      const n = v[plan.edges.length];
      checkRowCount(plan, n);
      const counts = [below[0], ...below.slice(1).map((c, i) => c - below[i]), n - below[below.length - 1]];
      if (counts.some((c) => c < 0n)) throw impossible(plan.algorithm, "a negative bucket count");
      return {
        edges: plan.edges.map((e) => boundText(e, plan.column.scale)),
        counts: counts.map((c) => c.toString()),
      };
    }
    case "covariance@1": {
      const { sums, n } = openedSums(plan, values);
      checkRowCount(plan, n);
      const [sx, sy, sxy] = sums;
      const digits = Math.max(plan.x.scale, plan.y.scale) + EXTRA_DIGITS;
      // Covariance is shift-invariant: the centred sums give it directly.
      return populationCovariance(sx, sy, sxy, n, plan.x.scale, plan.y.scale, productScale(plan.x, plan.y)).toDecimal(digits);
    }
    case "regression@1": {
      const { sums, n } = openedSums(plan, values);
      checkRowCount(plan, n);
      const [sx, sy, sxx, sxy, syy] = sums;
      const { x, y } = plan;
      // n²·var and n²·cov of the centred values, exact integers: var ≥ 0 and cov² ≤ var_x·var_y for any rows.
      const vx = n * sxx - sx * sx;
      const vy = n * syy - sy * sy;
      const cv = n * sxy - sx * sy;
      if (sxx < 0n || syy < 0n || vx < 0n || vy < 0n || cv * cv > vx * vy) throw impossible(plan.algorithm, "variances or a correlation out of range");
      const cxy = populationCovariance(sx, sy, sxy, n, x.scale, y.scale, productScale(x, y));
      const cxx = populationCovariance(sx, sx, sxx, n, x.scale, x.scale, 2 * x.scale);
      const cyy = populationCovariance(sy, sy, syy, n, y.scale, y.scale, 2 * y.scale);
      const digits = Math.max(x.scale, y.scale) + EXTRA_DIGITS;
      if (cxx.num === 0n) throw new MpcError("RESULT_UNDEFINED", "regression@1: x is constant, so the slope is undefined");
      const slope = cxy.div(cxx);
      // Slope and r² are shift-invariant; the intercept needs the true means, so n·c is added back.
      const meanX = Rational.scaled(uncentred(plan.sums[0], sx, n), x.scale).div(new Rational(n));
      const meanY = Rational.scaled(uncentred(plan.sums[1], sy, n), y.scale).div(new Rational(n));
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
 * dataset's schema hash); hosts rebuild it from the shares they hold (names,
 * scales and bounds travel with every upload) to check that the shares match
 * the declared schema. Key order: name, scale, lo, hi.
 *
 * @example
 * schemaText([{ name: "salary", scale: 0, lo: "30000", hi: "200000" }])
 * // '{"columns":[{"name":"salary","scale":0,"lo":"30000","hi":"200000"}]}'
 */
export function schemaText(columns: readonly SchemaColumn[]): string {
  return JSON.stringify({ columns: columns.map((c) => ({ name: c.name, scale: c.scale, lo: c.lo, hi: c.hi })) });
}
