import { encodeColumn } from "./encode-column.ts";
import { TableInputError } from "./errors.ts";
import { duplicateColumn, noColumn, type RawTable } from "./raw-table.ts";
import { readCsv } from "./read-csv.ts";
import { readJson, readNdjson } from "./read-json.ts";
import { readParquet } from "./read-parquet.ts";
import type { ParseOptions, Table, TableFormat, TableSource } from "./types.ts";

/** Default most distinct values of a category column without a fixed dictionary. */
export const DEFAULT_MAX_CATEGORIES = 256;

const EXTENSIONS: Record<string, TableFormat> = { csv: "csv", json: "json", ndjson: "ndjson", jsonl: "ndjson", parquet: "parquet", pq: "parquet" };

/**
 * The format a source's name implies by its extension (`.csv`, `.json`,
 * `.ndjson`, `.jsonl`, `.parquet`, `.pq`; any case), or undefined.
 *
 * @example
 * formatOfName("sales.JSONL") // "ndjson"
 */
export function formatOfName(name: string): TableFormat | undefined {
  const dot = name.lastIndexOf(".");
  return dot < 0 ? undefined : EXTENSIONS[name.slice(dot + 1).toLowerCase()];
}

/**
 * Reads a seller's table — CSV with a header row, a JSON array of records,
 * NDJSON/JSON Lines, or Parquet — and types and encodes each column read for
 * secret sharing: int, decimal (fixed point), category (an index into a
 * public dictionary), bool or date (days since 1970-01-01), each cell with a
 * validity bit, public bounds and an exact plaintext sum. Types are declared
 * in `types` or inferred (see the package README for the rules).
 *
 * @throws TableInputError naming the file and, for a cell, its line (record, row), column and value
 * @example
 * const table = await parseTable({ name: "salaries.csv", bytes }, { columns: ["salary", "department"], bounds: { salary: { lo: "0", hi: "200000" } } });
 */
export async function parseTable(source: TableSource, options: ParseOptions = {}): Promise<Table> {
  const file = source.name;
  const fail = (message: string, column?: string) => new TableInputError(message, { details: { file, column } });
  const format = options.format ?? formatOfName(file);
  if (format === undefined) {
    throw fail(`cannot tell the format of ${file} from its name: name it .csv, .json, .ndjson, .jsonl or .parquet, or give the format`);
  }
  const maxCategories = options.maxCategories ?? DEFAULT_MAX_CATEGORIES;
  if (!Number.isSafeInteger(maxCategories) || maxCategories < 1) throw fail(`maxCategories must be a positive integer; got ${maxCategories}`);
  if (options.columns !== undefined) {
    if (options.columns.length === 0) throw fail("name at least one column");
    const twice = options.columns.find((c, i) => options.columns!.indexOf(c) !== i);
    if (twice !== undefined) throw fail(`column "${twice}" is named twice`, twice);
  }

  const raw = await readRaw(source, format, options.columns);
  // Even among the columns not read: a header naming two alike is a faulty export, and which one was meant is a guess.
  const duplicate = duplicateColumn(file, raw.names);
  if (duplicate !== undefined) throw duplicate;
  const selected = options.columns ?? raw.names;
  for (const name of selected) {
    if (name === "") throw fail(`${file} has a column with no name; name it, or choose the columns to read`);
    if (!raw.names.includes(name)) throw noColumn(file, name, raw.names);
  }
  for (const [what, given] of [["types are", options.types], ["categories are", options.categories], ["bounds are", options.bounds]] as const) {
    const stray = Object.keys(given ?? {}).find((c) => !selected.includes(c));
    if (stray !== undefined) throw fail(`${what} given for column "${stray}", which is not among the columns read (${selected.join(", ")})`, stray);
  }
  const own = <T>(record: Readonly<Record<string, T>> | undefined, key: string): T | undefined =>
    record !== undefined && Object.hasOwn(record, key) ? record[key] : undefined;
  return {
    rowCount: raw.rowCount,
    columns: selected.map((name) =>
      encodeColumn(raw.columns.find((c) => c.name === name)!, raw.rowCount, {
        file,
        locate: raw.locate,
        declared: own(options.types, name),
        categories: own(options.categories, name),
        bounds: own(options.bounds, name),
        maxCategories,
        rejectMissing: options.missing === "reject",
      }),
    ),
  };
}

async function readRaw(source: TableSource, format: TableFormat, select: readonly string[] | undefined): Promise<RawTable> {
  if (format === "parquet") return readParquet(source.name, source.bytes, select);
  let text: string;
  try {
    // Drops a leading byte order mark.
    text = new TextDecoder("utf-8", { fatal: true }).decode(source.bytes);
  } catch (err) {
    throw new TableInputError(`${source.name} is not UTF-8 text`, { cause: err, details: { file: source.name } });
  }
  if (format === "csv") return readCsv(source.name, text);
  if (format === "json") return readJson(source.name, text);
  return readNdjson(source.name, text);
}
