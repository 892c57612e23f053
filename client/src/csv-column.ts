import { readFile } from "node:fs/promises";
import { TableInputError, parseTable, type DeclaredBounds, type TableColumn } from "@scmpc/tables";

export { MAX_SCALE, deriveBounds, formatScaled } from "@scmpc/tables";
export type { DeclaredBounds } from "@scmpc/tables";

/** One complete numeric column of a CSV, encoded for sharing (`readSellerTable` reads whole typed tables). */
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

/** The CSV input is unusable; the message names the file, row and column. */
export class CsvInputError extends Error {
  readonly code = "CSV_INVALID";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "CsvInputError";
  }
}

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
 * Reads several numeric columns of a CSV file with a header row, row-aligned,
 * with `@scmpc/tables` (each declared `decimal`, its scale the most decimal
 * places seen). Each column gets public bounds: the ones declared in
 * `bounds` (every value must lie within them, else nothing is read), or
 * bounds derived from the data by {@link deriveBounds}.
 *
 * A missing value (an empty cell, `NA`, `null`) stops the read: this reads
 * complete numeric columns. A table with other types or missing values is
 * read with `readSellerTable` (seller-table.ts), which `uploadDataset` uses.
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
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (err) {
    throw new CsvInputError(`cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
  try {
    const table = await parseTable(
      { name: file, bytes },
      { format: "csv", columns, types: Object.fromEntries(columns.map((c) => [c, { kind: "decimal" }])), bounds, missing: "reject" },
    );
    return table.columns.map((c) => csvColumn(c, table.rowCount));
  } catch (err) {
    if (!(err instanceof TableInputError)) throw err;
    const d = err.details;
    if (d?.missingValue) {
      throw new CsvInputError(
        `${d.file} ${d.at}, column "${d.column}": "${d.value}" is not a decimal number; readCsvColumns reads complete columns (readSellerTable takes missing values: empty, NA, null)`,
        { cause: err },
      );
    }
    throw new CsvInputError(err.message, { cause: err });
  }
}

function csvColumn(column: TableColumn, rowCount: number): CsvColumn {
  return {
    name: column.name,
    rowCount,
    scale: column.scale,
    lo: column.lo,
    hi: column.hi,
    boundsDerived: column.boundsDerived,
    // The same 64 bits: two's complement is the ring's encoding of a negative value.
    values: new BigUint64Array(column.values.buffer, column.values.byteOffset, column.values.length),
    plaintextSum: column.plaintextSum,
  };
}
