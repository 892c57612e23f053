import { readFile } from "node:fs/promises";
import { parse } from "csv-parse/sync";
import { COMPARABLE_LIMIT, encodeFixedPoint } from "@scmpc/mpc-engine";

/** One numeric column of a seller's CSV, encoded for sharing. */
export interface CsvColumn {
  name: string;
  rowCount: number;
  /** Decimal fractional digits of the fixed-point encoding (the most any value, or a declared bound, has). */
  scale: number;
  /** Public lower bound of every value, a canonical decimal at `scale` (published on-chain in the schema). */
  lo: string;
  /** Public upper bound of every value, a canonical decimal at `scale`. */
  hi: string;
  /** True when the seller gave no bounds and they were derived from the data ({@link deriveBounds}). */
  boundsDerived: boolean;
  /** Ring elements (two's complement fixed point), one per row. */
  values: BigUint64Array;
  /** Plaintext sum, exact, as a decimal string: for the seller's own records and the demo. */
  plaintextSum: string;
}

/** Bounds a seller declares for a column, as decimal text (e.g. from `--bounds salary=30000:200000`). */
export interface DeclaredBounds {
  lo: string;
  hi: string;
}

/** The CSV input is unusable; the message names the file, row and column. */
export class CsvInputError extends Error {
  readonly code = "CSV_INVALID";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "CsvInputError";
  }
}

const NUMBER = /^[+-]?(\d+)(?:\.(\d+))?$/;
/** Most decimal places a column may have; beyond it the 64-bit ring leaves too little integer range. */
export const MAX_SCALE = 12;

/** Largest |value| or |bound| in units of the column's last decimal: the hosts' comparisons need 2^62 − 1. */
const LIMIT = COMPARABLE_LIMIT - 1n;

/**
 * Reads one numeric column of a CSV file with a header row. Every row must
 * hold a decimal number in that column (no blanks, no thousands separators).
 *
 * @example
 * const column = await readCsvColumn("salaries.csv", "salary", { bounds: { lo: "0", hi: "200000" } });
 */
export async function readCsvColumn(file: string, column: string, options: { bounds?: DeclaredBounds } = {}): Promise<CsvColumn> {
  const [only] = await readCsvColumns(file, [column], options.bounds ? { bounds: { [column]: options.bounds } } : {});
  return only;
}

/**
 * Reads several numeric columns of a CSV file with a header row, row-aligned.
 * Each column gets public bounds: the ones declared in `bounds` (every value
 * must lie within them, else nothing is read), or bounds derived from the
 * data by {@link deriveBounds}.
 *
 * @example
 * const [x, y] = await readCsvColumns("salaries.csv", ["salary", "bonus"], { bounds: { salary: { lo: "0", hi: "200000" } } });
 */
export async function readCsvColumns(
  file: string,
  columns: string[],
  options: { bounds?: Readonly<Record<string, DeclaredBounds>> } = {},
): Promise<CsvColumn[]> {
  if (columns.length === 0) throw new CsvInputError("name at least one column");
  const duplicate = columns.find((c, i) => columns.indexOf(c) !== i);
  if (duplicate !== undefined) throw new CsvInputError(`column "${duplicate}" is named twice`);
  const bounds = options.bounds ?? {};
  const stray = Object.keys(bounds).find((c) => !columns.includes(c));
  if (stray !== undefined) throw new CsvInputError(`bounds are given for column "${stray}", which is not among the columns shared (${columns.join(", ")})`);
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    throw new CsvInputError(`cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
  let rows: Record<string, string>[];
  try {
    rows = parse(text, { columns: true, skip_empty_lines: true, trim: true, bom: true }) as Record<string, string>[];
  } catch (err) {
    throw new CsvInputError(`${file} is not valid CSV: ${(err as Error).message}`, { cause: err });
  }
  if (rows.length === 0) throw new CsvInputError(`${file} has a header but no rows`);
  for (const column of columns) {
    if (!(column in rows[0])) {
      throw new CsvInputError(`${file} has no column "${column}"; its columns are: ${Object.keys(rows[0]).join(", ")}`);
    }
  }
  return columns.map((column) => encodeColumn(file, rows, column, Object.hasOwn(bounds, column) ? bounds[column] : undefined));
}

function decimalsOf(text: string): number {
  return NUMBER.exec(text)?.[2]?.length ?? 0;
}

function encodeColumn(file: string, rows: Record<string, string>[], column: string, declared: DeclaredBounds | undefined): CsvColumn {
  let scale = 0;
  const texts = rows.map((row, i) => {
    const value = row[column];
    const match = NUMBER.exec(value ?? "");
    // Row numbers count the header as line 1, as a spreadsheet shows them.
    if (!match) throw new CsvInputError(`${file} line ${i + 2}, column "${column}": "${value ?? ""}" is not a decimal number`);
    scale = Math.max(scale, match[2]?.length ?? 0);
    return value;
  });
  if (declared !== undefined) {
    for (const [key, bound] of Object.entries(declared)) {
      if (!NUMBER.test(bound)) throw new CsvInputError(`bounds of column "${column}": ${key} "${bound}" is not a decimal number`);
    }
    // A bound with more decimals than the data (e.g. 0.5 over integers) sets the column's precision.
    scale = Math.max(scale, decimalsOf(declared.lo), decimalsOf(declared.hi));
  }
  if (scale > MAX_SCALE) throw new CsvInputError(`${file} column "${column}" has ${scale} decimal places; at most ${MAX_SCALE} are supported`);

  let range: { lo: bigint; hi: bigint } | undefined;
  if (declared !== undefined) {
    const at = (key: "lo" | "hi"): bigint => {
      let units: bigint;
      try {
        units = BigInt.asIntN(64, encodeFixedPoint(declared[key], scale));
      } catch (err) {
        throw new CsvInputError(`bounds of column "${column}": ${key} "${declared[key]}": ${(err as Error).message}`, { cause: err });
      }
      if (units > LIMIT || units < -LIMIT) {
        throw new CsvInputError(`bounds of column "${column}": ${key} "${declared[key]}" is too large (at most ±(2^62 − 1) units of the column's last decimal)`);
      }
      return units;
    };
    range = { lo: at("lo"), hi: at("hi") };
    if (range.lo > range.hi) throw new CsvInputError(`bounds of column "${column}": lo ${declared.lo} is above hi ${declared.hi}`);
  }

  const values = new BigUint64Array(texts.length);
  let sum = 0n;
  let min: bigint | undefined;
  let max: bigint | undefined;
  texts.forEach((value, i) => {
    const where = `${file} line ${i + 2}, column "${column}"`;
    try {
      values[i] = encodeFixedPoint(value, scale);
    } catch (err) {
      throw new CsvInputError(`${where}: ${(err as Error).message}`, { cause: err });
    }
    const units = BigInt.asIntN(64, values[i]);
    // The hosts compare values through the sign of a difference, which must not wrap.
    if (units > LIMIT || units < -LIMIT) {
      throw new CsvInputError(`${where}: "${value}" is too large (at most ±(2^62 − 1) units of the column's last decimal)`);
    }
    if (range !== undefined && (units < range.lo || units > range.hi)) {
      throw new CsvInputError(
        `${where}: ${value} is outside the declared bounds [${formatScaled(range.lo, scale)}, ${formatScaled(range.hi, scale)}]; ` +
          "widen --bounds or correct the value (nothing was uploaded)",
      );
    }
    sum += units;
    if (min === undefined || units < min) min = units;
    if (max === undefined || units > max) max = units;
  });
  const bounds = range ?? deriveBounds(min!, max!);
  return {
    name: column,
    rowCount: texts.length,
    scale,
    lo: formatScaled(bounds.lo, scale),
    hi: formatScaled(bounds.hi, scale),
    boundsDerived: range === undefined,
    values,
    plaintextSum: formatScaled(sum, scale),
  };
}

/** Rounds v (≠ 0) to `digits` significant digits, down (toward −∞) or up (toward +∞). */
function roundSignificant(v: bigint, digits: number, up: boolean): bigint {
  const length = (v < 0n ? -v : v).toString().length;
  if (v === 0n || length <= digits) return v;
  const step = 10n ** BigInt(length - digits);
  // Floor division (BigInt division truncates toward zero).
  let q = v / step;
  if (q * step > v) q -= 1n;
  return up && q * step !== v ? (q + 1n) * step : q * step;
}

/**
 * Public bounds derived from a column's smallest and largest value (in units
 * of its last decimal, so independent of the scale): each rounded outward to
 * one significant digit — 31,500 → 30,000, 187,000 → 200,000, −0.034 →
 * −0.04 — so they reveal little more than the order of magnitude; more
 * digits only when one would leave the encodable range ±(2^62 − 1) units
 * (4,000,000.000000000001 at scale 12: 5·10^6 is out of range, so 4.1·10^6).
 *
 * @example
 * deriveBounds(31500n, 187000n) // { lo: 30000n, hi: 200000n }
 */
export function deriveBounds(min: bigint, max: bigint): { lo: bigint; hi: bigint } {
  if (min > max) throw new RangeError(`min ${min} is above max ${max}`);
  const outward = (v: bigint, up: boolean): bigint => {
    for (let digits = 1; ; digits++) {
      const r = roundSignificant(v, digits, up);
      if (r <= LIMIT && r >= -LIMIT) return r;
    }
  };
  return { lo: outward(min, false), hi: outward(max, true) };
}

/** Formats an integer count of 10^-scale units as a decimal string. */
export function formatScaled(units: bigint, scale: number): string {
  const negative = units < 0n;
  const digits = (negative ? -units : units).toString().padStart(scale + 1, "0");
  const whole = digits.slice(0, digits.length - scale);
  const fraction = scale > 0 ? `.${digits.slice(digits.length - scale)}` : "";
  return `${negative ? "-" : ""}${whole}${fraction}`;
}
