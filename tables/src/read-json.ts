import { TableInputError } from "./errors.ts";
import { plainFromJsonNumber, shortestDecimal } from "./fixed-point.ts";
import { BadCell, NumberCell, type RawCell, type RawTable } from "./raw-table.ts";

/**
 * Reads a JSON array of records (one object per row). Columns are the keys
 * in the order first seen; an absent key or `null` is a missing value.
 * Numbers keep their source text, so 12345678901234567890 and 1.50 stay
 * exact and keep their decimals.
 *
 * @throws TableInputError naming the file and the record at fault
 * @example
 * readJson("a.json", '[{"x": 1.50}, {"x": null}]').columns[0].cells.length // 2
 */
export function readJson(file: string, text: string): RawTable {
  let data: unknown;
  try {
    data = parseJson(text);
  } catch (err) {
    throw new TableInputError(`${file} is not valid JSON: ${(err as Error).message}`, { cause: err, details: { file } });
  }
  if (!Array.isArray(data)) throw new TableInputError(`${file} is not a JSON array of records (one object per row)`, { details: { file } });
  data.forEach((record, i) => {
    if (!isRecord(record)) throw new TableInputError(`${file} record ${i + 1} is not an object`, { details: { file, at: `record ${i + 1}` } });
  });
  return tableOfRecords(file, data as Record<string, unknown>[], (row) => `record ${row + 1}`);
}

/**
 * Reads newline-delimited JSON (NDJSON, JSON Lines): one object per line,
 * blank lines skipped; otherwise as {@link readJson}.
 *
 * @throws TableInputError naming the file and the line at fault
 * @example
 * readNdjson("a.ndjson", '{"x": 1}\n{"x": 2}\n').rowCount // 2
 */
export function readNdjson(file: string, text: string): RawTable {
  const records: Record<string, unknown>[] = [];
  const lines: number[] = [];
  text.split("\n").forEach((raw, i) => {
    const body = raw.trim();
    if (body === "") return;
    const at = `line ${i + 1}`;
    let record: unknown;
    try {
      record = parseJson(body);
    } catch (err) {
      throw new TableInputError(`${file} ${at} is not valid JSON: ${(err as Error).message}`, { cause: err, details: { file, at } });
    }
    if (!isRecord(record)) throw new TableInputError(`${file} ${at} is not a JSON object`, { details: { file, at } });
    records.push(record);
    lines.push(i + 1);
  });
  return tableOfRecords(file, records, (row) => `line ${lines[row]}`);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && Object.getPrototypeOf(value) === Object.prototype;
}

function tableOfRecords(file: string, records: Record<string, unknown>[], locate: (row: number) => string): RawTable {
  if (records.length === 0) throw new TableInputError(`${file} has no records`, { details: { file } });
  const names: string[] = [];
  const columns = new Map<string, RawCell[]>();
  records.forEach((record, row) => {
    for (const [key, value] of Object.entries(record)) {
      let cells = columns.get(key);
      if (cells === undefined) {
        cells = new Array<RawCell>(records.length).fill(null);
        columns.set(key, cells);
        names.push(key);
      }
      cells[row] = cellOf(value);
    }
  });
  return { names, columns: names.map((name) => ({ name, cells: columns.get(name)! })), rowCount: records.length, locate };
}

function cellOf(value: unknown): RawCell {
  if (value === null || typeof value === "string" || typeof value === "boolean" || value instanceof NumberCell || value instanceof BadCell) return value;
  if (Array.isArray(value)) return new BadCell("[…]", "is an array, not a single value");
  return new BadCell("{…}", "is an object, not a single value");
}

/** JSON.parse, with each number turned into a {@link NumberCell} from its source text where the engine gives it. */
function parseJson(text: string): unknown {
  const reviver = (_key: string, value: unknown, context?: { source?: string }): unknown => {
    if (typeof value !== "number") return value;
    const source = context?.source;
    if (source === undefined) {
      // An engine without JSON.parse source access: a double is all there is.
      if (Number.isInteger(value) && !Number.isSafeInteger(value)) {
        return new BadCell(String(value), "is beyond 2^53 and cannot be read exactly here; write it as a string");
      }
      return new NumberCell(shortestDecimal(value, false), String(value), false);
    }
    const plain = plainFromJsonNumber(source);
    return plain === undefined ? new BadCell(source, "is too large") : new NumberCell(plain, source, false);
  };
  return JSON.parse(text, reviver as (key: string, value: unknown) => unknown);
}
