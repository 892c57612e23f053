import { readFile } from "node:fs/promises";
import { parse } from "csv-parse/sync";
import { COMPARABLE_LIMIT, encodeFixedPoint } from "@scmpc/mpc-engine";

/** One numeric column of a seller's CSV, encoded for sharing. */
export interface CsvColumn {
  name: string;
  rowCount: number;
  /** Decimal fractional digits of the fixed-point encoding (the most any value has). */
  scale: number;
  /** Ring elements (two's complement fixed point), one per row. */
  values: BigUint64Array;
  /** Plaintext sum, exact, as a decimal string: for the seller's own records and the demo. */
  plaintextSum: string;
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

/**
 * Reads one numeric column of a CSV file with a header row. Every row must
 * hold a decimal number in that column (no blanks, no thousands separators).
 *
 * @example
 * const column = await readCsvColumn("salaries.csv", "salary");
 */
export async function readCsvColumn(file: string, column: string): Promise<CsvColumn> {
  const [only] = await readCsvColumns(file, [column]);
  return only;
}

/**
 * Reads several numeric columns of a CSV file with a header row, row-aligned.
 *
 * @example
 * const [x, y] = await readCsvColumns("salaries.csv", ["salary", "bonus"]);
 */
export async function readCsvColumns(file: string, columns: string[]): Promise<CsvColumn[]> {
  if (columns.length === 0) throw new CsvInputError("name at least one column");
  const duplicate = columns.find((c, i) => columns.indexOf(c) !== i);
  if (duplicate !== undefined) throw new CsvInputError(`column "${duplicate}" is named twice`);
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
  return columns.map((column) => encodeColumn(file, rows, column));
}

function encodeColumn(file: string, rows: Record<string, string>[], column: string): CsvColumn {
  let scale = 0;
  const texts = rows.map((row, i) => {
    const value = row[column];
    const match = NUMBER.exec(value ?? "");
    // Row numbers count the header as line 1, as a spreadsheet shows them.
    if (!match) throw new CsvInputError(`${file} line ${i + 2}, column "${column}": "${value ?? ""}" is not a decimal number`);
    scale = Math.max(scale, match[2]?.length ?? 0);
    return value;
  });
  if (scale > MAX_SCALE) throw new CsvInputError(`${file} column "${column}" has ${scale} decimal places; at most ${MAX_SCALE} are supported`);

  const values = new BigUint64Array(texts.length);
  let sum = 0n;
  texts.forEach((value, i) => {
    try {
      values[i] = encodeFixedPoint(value, scale);
    } catch (err) {
      throw new CsvInputError(`${file} line ${i + 2}, column "${column}": ${(err as Error).message}`, { cause: err });
    }
    const units = BigInt.asIntN(64, values[i]);
    // The hosts compare values through the sign of a difference, which must not wrap.
    if (units >= COMPARABLE_LIMIT || units < -COMPARABLE_LIMIT) {
      throw new CsvInputError(`${file} line ${i + 2}, column "${column}": "${value}" is too large (at most ±2^62 units of the column's last decimal)`);
    }
    sum += BigInt.asIntN(64, values[i]);
  });
  return { name: column, rowCount: texts.length, scale, values, plaintextSum: formatScaled(sum, scale) };
}

/** Formats an integer count of 10^-scale units as a decimal string. */
export function formatScaled(units: bigint, scale: number): string {
  const negative = units < 0n;
  const digits = (negative ? -units : units).toString().padStart(scale + 1, "0");
  const whole = digits.slice(0, digits.length - scale);
  const fraction = scale > 0 ? `.${digits.slice(digits.length - scale)}` : "";
  return `${negative ? "-" : ""}${whole}${fraction}`;
}
