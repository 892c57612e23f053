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
  const repeated = repeatedKey(text, 1);
  if (repeated !== undefined) throw repeatedKeyError(file, `record ${repeated.record + 1}`, repeated);
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
    const repeated = repeatedKey(body, 0);
    if (repeated !== undefined) throw repeatedKeyError(file, at, repeated);
    records.push(record);
    lines.push(i + 1);
  });
  return tableOfRecords(file, records, (row) => `line ${lines[row]}`);
}

/** A key one record gives twice: JSON.parse keeps the last value and drops the other without a word. */
interface RepeatedKey {
  /** The record, from 0, among the objects at the depth asked for. */
  record: number;
  key: string;
  /** Its first and second places among the record's keys, from 1. */
  positions: [number, number];
}

/**
 * The first key an object at `recordDepth` repeats (0: the text is one
 * record; 1: the records are the elements of a top-level array), in JSON
 * text that JSON.parse has accepted. Objects nested inside records are not
 * looked at: a cell holding one is refused anyway.
 *
 * @example
 * repeatedKey('[{"a": 1}, {"v": 1, "w": 2, "v": 3}]', 1) // { record: 1, key: "v", positions: [1, 3] }
 */
function repeatedKey(text: string, recordDepth: number): RepeatedKey | undefined {
  const structural = /["{}[\]:,]/g;
  // The rest of a string literal after its opening quote, escapes included (unrolled: no backtracking).
  const stringRest = /[^"\\]*(?:\\.[^"\\]*)*"/y;
  const open: { keys?: Map<string, number>; count: number; expectKey: boolean; object: boolean }[] = [];
  let record = -1;
  for (let match = structural.exec(text); match !== null; match = structural.exec(text)) {
    const top = open[open.length - 1];
    switch (match[0]) {
      case '"': {
        stringRest.lastIndex = structural.lastIndex;
        if (stringRest.exec(text) === null) return undefined;
        structural.lastIndex = stringRest.lastIndex;
        if (top?.keys === undefined || !top.expectKey) break;
        const key = JSON.parse(text.slice(match.index, stringRest.lastIndex)) as string;
        top.count++;
        const first = top.keys.get(key);
        if (first !== undefined) return { record, key, positions: [first, top.count] };
        top.keys.set(key, top.count);
        break;
      }
      case "{": {
        const isRecord = open.length === recordDepth;
        if (isRecord) record++;
        open.push({ ...(isRecord ? { keys: new Map() } : {}), count: 0, expectKey: true, object: true });
        break;
      }
      case "[":
        open.push({ count: 0, expectKey: false, object: false });
        break;
      case "}":
      case "]":
        open.pop();
        break;
      case ":":
        if (top !== undefined) top.expectKey = false;
        break;
      case ",":
        if (top?.object) top.expectKey = true;
        break;
    }
  }
  return undefined;
}

function repeatedKeyError(file: string, at: string, repeated: RepeatedKey): TableInputError {
  const [first, second] = repeated.positions;
  return new TableInputError(
    `${file} ${at}: duplicate column name ${JSON.stringify(repeated.key)} (keys ${first} and ${second} of the record; JSON keeps only the last)`,
    { details: { file, at, column: repeated.key } },
  );
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
