/** Where in a source a cell sits, and what it holds, for a caller that words its own message. */
export interface TableInputDetails {
  /** The source's name (a file name or path). */
  file: string;
  /** `line 40` (CSV, NDJSON), `record 3` (JSON), `row 5` (Parquet); counted from 1. */
  at?: string;
  column?: string;
  /** The cell's text as the source spells it. */
  value?: string;
  /** The cell is a missing value where none is accepted (`missing: "reject"`). */
  missingValue?: boolean;
  /** The source has no column of that name at all. */
  absentColumn?: boolean;
}

/**
 * A seller's table is unusable: unreadable, malformed, or a cell that does
 * not fit its column's type or bounds. The message names the file and, for a
 * cell, its line (or record, or row), column and value.
 *
 * @example
 * try { await parseTable(source) } catch (err) { if (err instanceof TableInputError) console.error(err.message) }
 */
export class TableInputError extends Error {
  readonly code = "TABLE_INVALID";
  readonly details: TableInputDetails | undefined;
  constructor(message: string, options?: { cause?: unknown; details?: TableInputDetails }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = "TableInputError";
    this.details = options?.details;
  }
}
