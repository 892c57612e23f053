import { MpcError } from "../errors.ts";
import { encodeFixedPoint } from "../fixed-point.ts";
import { boundText, COMPARABLE_LIMIT } from "./column-bounds.ts";
import { checkSchemaColumn } from "./column-types.ts";
import { decodeNoisyResult, type NoisyPlan } from "./noisy-release.ts";
import { checkRowCount, impossible, openedSums, signed } from "./opened-values.ts";
import {
  COMPARATORS,
  EXTRA_DIGITS,
  openedCount,
  productScale,
  type AlgorithmResult,
  type ColumnRef,
  type Comparator,
  type DatasetSchema,
  type Plan,
  type SchemaColumn,
} from "./plan.ts";
import { binEdges, bucketLabels, dpPlan, planRelease, sumSensitivity, type DpRelease } from "./privacy-plan.ts";
import { Rational } from "./rational.ts";
import { planSum, type PlannedSum } from "./sum-plan.ts";

export { COMPARABLE_LIMIT } from "./column-bounds.ts";
export { checkSchemaColumn, columnKind, parseSchemaText, MAX_CATEGORIES, type ColumnKind } from "./column-types.ts";
export {
  COMPARATORS,
  EXTRA_DIGITS,
  SCHEMA_TYPES,
  openedCount,
  productScale,
  type AlgorithmResult,
  type ColumnRef,
  type Comparator,
  type DatasetSchema,
  type Plan,
  type SchemaColumn,
  type SchemaType,
} from "./plan.ts";

/** Most bucket edges of `histogram@1`: the result must fit the on-chain result limit. */
export const MAX_HISTOGRAM_EDGES = 64;

/** Most rows one computation may aggregate: the hosts index rows with JavaScript numbers. */
export const MAX_ROWS = BigInt(Number.MAX_SAFE_INTEGER);

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

// How every opened sum is formed; the declarations below refer to it.
const CENTRED =
  "Sums are of centred values x − c, c the public integer midpoint of the column's bounds (n·c is added back by the buyer), " +
  "each opened as one ring element when the bounds and row count prove |Σ| < 2^63, else as its normalised (high, low) 32-bit limbs; " +
  "either way a function of the exact sum alone";

// How every DP release is formed; the declarations below refer to it.
const NOISE =
  "Each opened statistic S is released as S + N_0 + N_1 + N_2, the N_i independent discrete Laplace terms of scale t = Δ/ε_S " +
  "(Δ its replace-one sensitivity in its own units, ε_S its share of the buyer's ε), each drawn exactly by one pair of hosts from their shared PRF stream: " +
  "no single host knows the noise, the answer is ε-DP for one row of one seller's dataset";

/** Every algorithm of the library, keyed by `name@version`. */
export const ALGORITHMS: Record<Plan["algorithm"], AlgorithmDeclaration> = {
  "count@1": {
    name: "count@1",
    summary: "number of rows",
    params: "{}",
    opened: "n",
    output: "the number of rows of the datasets taken together",
    leakage: "nothing: row counts are public on-chain",
    dp: "exact in DP mode too: the row count is public on-chain, so it is released without noise; the request still spends the ε it names, so ask for the least (0.001), or an exact count where the sellers allow one",
  },
  "sum@1": {
    name: "sum@1",
    summary: "sum of a column",
    params: COLUMN_PARAMS,
    opened: `Σ(x−c). ${CENTRED}`,
    output: "the sum, at the column's scale",
    leakage: "nothing beyond the sum: c and n are public, so Σ(x−c) = Σx − n·c",
    dp: `Σ(x−c) + noise with Δ = hi − lo (one row's value replaced within the bounds), all of ε: t = (hi − lo)/ε. ${NOISE}. The answer Σ(x−c) + n·c, clamped to [n·lo, n·hi], with an exact 95% interval`,
  },
  "mean@1": {
    name: "mean@1",
    summary: "arithmetic mean of a column",
    params: COLUMN_PARAMS,
    opened: `Σ(x−c), n. ${CENTRED}`,
    output: `the mean, with ${EXTRA_DIGITS} more decimals than the column`,
    leakage: "nothing beyond the mean: n and c are public and Σ(x−c) = n·(mean − c)",
    dp: `Σ(x−c) + noise as sum@1 (Δ = hi − lo, all of ε); n is public and exact. ${NOISE}. The answer is the noisy sum over n plus c, clamped to [lo, hi] (noise of scale (hi − lo)/(n·ε) per term on the mean), with an exact 95% interval`,
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
    dp: `Σ(x−c) + noise (Δ = hi − lo) and Σ(x−c)² + noise (Δ = W², W the half-width of the bounds), ε/2 each; n exact. ${NOISE}. The answer Σ(x−c)²/n − (Σ(x−c)/n)² from the noisy sums, clamped to [0, (hi − lo)²/4], with an approximate 95% interval (parametric bootstrap)`,
  },
  "stddev@1": {
    name: "stddev@1",
    summary: "population standard deviation of a column",
    params: COLUMN_PARAMS,
    opened: `Σ(x−c), Σ(x−c)², n. ${CENTRED}`,
    output: `the population standard deviation, with ${EXTRA_DIGITS} more decimals than the column (rounded down)`,
    leakage: "the mean and the variance as well as the standard deviation (as variance@1)",
    dp: `as variance@1 (ε/2 to each of the two sums). ${NOISE}. The answer is the square root of the clamped noisy variance, with an approximate 95% interval (parametric bootstrap)`,
  },
  "min@1": {
    name: "min@1",
    summary: "smallest value of a column",
    params: COLUMN_PARAMS,
    opened: "min x",
    output: "the smallest value, at the column's scale",
    leakage: "the value itself (which is some row's value), not which row holds it",
    dp: `a noisy histogram over min(32, hi − lo + 1) public bins of equal width spanning [lo, hi] (bin counts computed from comparisons with the bins' edges): L1 sensitivity 2 (a replaced row leaves one bin for another), all of ε, t = 2/ε per bin. ${NOISE}. The answer is the lower edge of the lowest bin whose noisy count exceeds τ, the count that noise alone exceeds in any bin with probability at most 5% (the busiest bin if none does): a lower estimate, within one bin of the minimum when a few τ rows lie in its bin. Approximate 95% interval (parametric bootstrap)`,
  },
  "max@1": {
    name: "max@1",
    summary: "largest value of a column",
    params: COLUMN_PARAMS,
    opened: "max x",
    output: "the largest value, at the column's scale",
    leakage: "the value itself (which is some row's value), not which row holds it",
    dp: `as min@1, from above: the answer is the largest value of the highest bin whose noisy count exceeds τ (the busiest bin if none does): an upper estimate, within one bin of the maximum when a few τ rows lie in its bin. ${NOISE}. Approximate 95% interval (parametric bootstrap)`,
  },
  "histogram@1": {
    name: "histogram@1",
    summary: "row counts per bucket between public edges",
    params: '{"column": "<name>", "edges": ["<e1>", "<e2>", ...]} (strictly increasing decimals)',
    opened: "#{x < e_j} for each edge, n",
    output: "counts of (−∞, e1), [e1, e2), ..., [ek, +∞)",
    leakage: "nothing beyond the bucket counts",
    dp: `the bucket counts (computed locally from the counts #{x < e_j}) + noise: L1 sensitivity 2 (a replaced row leaves one bucket for another), all of ε over the buckets, t = 2/ε per bucket. ${NOISE}. Each count clamped to [0, n] (the counts need not add up to n), with an exact 95% interval per bucket`,
  },
  "count-if@1": {
    name: "count-if@1",
    summary: "number of rows whose value compares true with a public threshold",
    params: '{"column": "<name>", "op": "lt|le|gt|ge|eq|ne", "threshold": "<decimal>"}',
    opened: "the count",
    output: "the count",
    leakage: "nothing beyond the count",
    dp: `the count + noise: Δ = 1, all of ε, t = 1/ε. ${NOISE}. The answer clamped to [0, n], with an exact 95% interval`,
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
    dp: `Σ(x−cx) (Δ = hi_x − lo_x), Σ(y−cy) (Δ = hi_y − lo_y) and Σ(x−cx)(y−cy) (Δ = 2·Wx·Wy) + noise, ε/3 each; n exact. ${NOISE}. The covariance from the noisy sums, clamped to ±(hi_x − lo_x)(hi_y − lo_y)/4, with an approximate 95% interval (parametric bootstrap)`,
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
    dp: `the five sums Σ(x−cx), Σ(y−cy) (Δ = hi − lo of their column), Σ(x−cx)², Σ(y−cy)² (Δ = W² of their column), Σ(x−cx)(y−cy) (Δ = 2·Wx·Wy) + noise, ε/5 each; n exact. ${NOISE}. Slope, intercept and r² from the noisy sums with the variances clamped to at least 0 and |r| ≤ 1 (slope 0 and r² 0 when the noisy variance of x is not positive), with approximate 95% intervals (parametric bootstrap)`,
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
    bounds = checkSchemaColumn(column);
  } catch (err) {
    throw new MpcError("INVALID_ARGUMENT", `schema: ${(err as Error).message}`, { cause: err });
  }
  // Bool (0/1) and date (day counts) columns are numbers; a category's indexes are not.
  if (column.type === "category") {
    throw invalid(`"${key}" names column ${JSON.stringify(name)}, a category column: the named algorithms read numeric, bool and date columns only`);
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
 * `epsilonMilli` is the ε the buyer spent on every dataset of the request,
 * in thousandths (1000 = ε 1). 0 is an exact request (a seller's opt-in): no
 * noise, the plan has no `dp`. Above 0 the plan is differentially private
 * (see each algorithm's `dp`): it records, for every opened statistic, its
 * replace-one sensitivity, its share of ε and its noise scale t = Δ/ε_S as
 * exact rationals (`plan.dp.releases`), and the no-wrap proof covers the
 * noise as well (three terms, each within ⌈64·t⌉ but with probability below
 * e^{−63}); noise that not even a widened sum holds is refused with
 * `RANGE_TOO_WIDE`. count@1 stays exact (the row count is public).
 *
 * @throws MpcError `ALGORITHM_UNSUPPORTED`, `INVALID_ARGUMENT` or `RANGE_TOO_WIDE`
 * @example
 * planComputation("mean@1", '{"column":"salary"}', { columns: [{ name: "salary", scale: 0, lo: "30000", hi: "200000" }] }, { rowCount: 10n, epsilonMilli: 1000 })
 * // { algorithm: "mean@1", rowCount: 10n, column, sums: [Σx], dp: { mechanism: "discrete Laplace", epsilonMilli: 1000, releases: [{ statistics: ["Σx"], sensitivity: 170000n, scale: { num: 170000n, den: 1n }, ... }] } }
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
  const name = algorithm as Plan["algorithm"];
  const private_ = epsilonMilli > 0;
  const releases: DpRelease[] = [];
  /** Registers a release sharing ε with `parts` − 1 others (in DP mode); returns it. */
  const release = (statistics: string[], sensitivity: bigint, parts: number): DpRelease | undefined => {
    if (!private_) return undefined;
    const r = planRelease(statistics, sensitivity, epsilonMilli, parts);
    releases.push(r);
    return r;
  };
  /** A planned sum; in DP mode with its noise, one of `parts` releases sharing ε. */
  const sum = (parts: number, label: string, ...columns: ColumnRef[]): PlannedSum =>
    planSum(name, label, columns, rowCount, release([label], sumSensitivity(columns), parts));
  const finish = <P extends Plan>(plan: P): P => (private_ ? { ...plan, dp: dpPlan(epsilonMilli, releases) } : plan);
  switch (name) {
    case "count@1":
      onlyKeys(params, []);
      // The row count is public on-chain: exact in DP mode as well, with no release.
      return finish({ algorithm: name, rowCount });
    case "sum@1":
    case "mean@1": {
      onlyKeys(params, ["column"]);
      const column = columnOf(schema, params, "column");
      return finish({ algorithm: name, rowCount, column, sums: [sum(1, "Σx", column)] });
    }
    case "variance@1":
    case "stddev@1": {
      onlyKeys(params, ["column"]);
      const column = columnOf(schema, params, "column");
      return finish({ algorithm: name, rowCount, column, sums: [sum(2, "Σx", column), sum(2, "Σx²", column, column)] });
    }
    case "min@1":
    case "max@1": {
      onlyKeys(params, ["column"]);
      const column = columnOf(schema, params, "column");
      if (!private_) return { algorithm: name, rowCount, column };
      // A noisy histogram over public bins: one replaced row moves one count down and one up.
      const edges = binEdges(column);
      release(bucketLabels(edges.length), 2n, 1);
      return finish({ algorithm: name, rowCount, column, edges });
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
      release(bucketLabels(edges.length), 2n, 1);
      return finish({ algorithm: name, rowCount, column, edges });
    }
    case "count-if@1": {
      onlyKeys(params, ["column", "op", "threshold"]);
      const column = columnOf(schema, params, "column");
      if (!COMPARATORS.includes(params.op as Comparator)) throw invalid(`"op" must be one of ${COMPARATORS.join(", ")}`);
      const threshold = decimalAt(params.threshold, column, '"threshold"');
      release(["count"], 1n, 1);
      return finish({ algorithm: name, rowCount, column, op: params.op as Comparator, threshold });
    }
    case "covariance@1": {
      onlyKeys(params, ["x", "y"]);
      const x = columnOf(schema, params, "x");
      const y = columnOf(schema, params, "y");
      return finish({ algorithm: name, rowCount, x, y, sums: [sum(3, "Σx", x), sum(3, "Σy", y), sum(3, "Σxy", x, y)] });
    }
    case "regression@1": {
      onlyKeys(params, ["x", "y"]);
      const x = columnOf(schema, params, "x");
      const y = columnOf(schema, params, "y");
      return finish({
        algorithm: name,
        rowCount,
        x,
        y,
        sums: [sum(5, "Σx", x), sum(5, "Σy", y), sum(5, "Σx²", x, x), sum(5, "Σxy", x, y), sum(5, "Σy²", y, y)],
      });
    }
  }
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
 * A differentially private plan's result has the same shape; it is
 * post-processing of the noisy statistics (noisy-release.ts): values the
 * noise pushed out of the possible range are clamped back into it (a
 * negative variance to 0, |r| ≤ 1, a count to [0, n], a mean to the bounds)
 * rather than refused; only values beyond the noise's tail bound are.
 * `describeNoise` says how noisy the result is.
 *
 * @throws MpcError `INVALID_ARGUMENT` when the number of values does not match the plan,
 *   `RESULT_OUT_OF_RANGE` for impossible values, `RESULT_UNDEFINED` for an exact regression on a constant x
 * @example
 * const plan = planComputation("mean@1", '{"column":"salary"}', schema, { rowCount: 10n, epsilonMilli: 0 });
 * decodeResult(plan, openedValues) // "62390.000000"
 */
export function decodeResult(plan: Plan, values: bigint[]): AlgorithmResult {
  if (values.length !== openedCount(plan)) {
    throw invalid(`${plan.algorithm} opens ${openedCount(plan)} value(s), got ${values.length}`);
  }
  if (plan.dp !== undefined && plan.algorithm !== "count@1") return decodeNoisyResult(plan as NoisyPlan, values);
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
