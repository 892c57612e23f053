import { parquetMetadata, parquetReadObjects, type FileMetaData, type SchemaElement } from "hyparquet";
import { TableInputError } from "./errors.ts";
import { formatScaled, shortestDecimal } from "./fixed-point.ts";
import { BadCell, DateCell, NumberCell, duplicateColumn, noColumn, type NativeType, type RawCell, type RawColumn, type RawTable } from "./raw-table.ts";

/** How one top-level Parquet column is read: its type, and how a value becomes a cell. */
interface ParquetColumn {
  name: string;
  native: NativeType;
  cell: (value: unknown) => RawCell;
  /** DECIMAL columns are read as their unscaled integers (hyparquet would turn them into doubles). */
  raw: boolean;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * Reads the named columns (default all) of a flat Parquet file with
 * hyparquet, typed by the file's schema: BOOLEAN → bool; INT32/INT64 → int;
 * DECIMAL → decimal at its scale, exactly; FLOAT/DOUBLE → decimal, each value
 * as its shortest round-trip decimal; DATE → date; strings → text (a
 * category unless declared otherwise). Nested columns, timestamps, times and
 * binary blobs are refused. Snappy and uncompressed files only.
 *
 * @throws TableInputError naming the file (and column) at fault
 * @example
 * const raw = await readParquet("people.parquet", bytes, ["age"]);
 */
export async function readParquet(file: string, bytes: Uint8Array, select: readonly string[] | undefined): Promise<RawTable> {
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  let metadata: FileMetaData;
  try {
    metadata = parquetMetadata(buffer);
  } catch (err) {
    throw new TableInputError(`${file} is not a Parquet file: ${(err as Error).message}`, { cause: err, details: { file } });
  }
  const all = topLevelColumns(metadata.schema);
  const names = all.map((c) => c.name);
  // Before reading rows: rows read as objects would merge two columns of one name.
  const duplicate = duplicateColumn(file, names);
  if (duplicate !== undefined) throw duplicate;
  const chosen = (select ?? names).map((name) => {
    const column = all.find((c) => c.name === name);
    if (column === undefined) throw noColumn(file, name, names);
    if (column.native.kind === "unsupported") {
      throw new TableInputError(
        `${file} column "${name}" has Parquet type ${column.native.label}, which no column type holds; leave it out of the columns read`,
        { details: { file, column: name } },
      );
    }
    return column;
  });
  const rowCount = Number(metadata.num_rows);
  if (rowCount === 0) throw new TableInputError(`${file} has no rows`, { details: { file } });

  // Strip the DECIMAL annotation so its values arrive as exact integers.
  const rawNames = new Set(chosen.filter((c) => c.raw).map((c) => c.name));
  const readMetadata: FileMetaData = {
    ...metadata,
    schema: metadata.schema.map((e, i) => (i > 0 && rawNames.has(e.name) && e.num_children === undefined ? { ...e, converted_type: undefined, logical_type: undefined } : e)),
  };
  let rows: Record<string, unknown>[];
  try {
    rows = await parquetReadObjects({
      file: buffer,
      metadata: readMetadata,
      columns: chosen.map((c) => c.name),
      rowFormat: "object",
      utf8: false,
      parsers: { dateFromDays: (days: number) => days },
    });
  } catch (err) {
    const message = (err as Error).message;
    const hint = /compression codec/.test(message) ? " (Snappy-compressed and uncompressed files are read; write it with one of those)" : "";
    throw new TableInputError(`${file} cannot be read as Parquet: ${message}${hint}`, { cause: err, details: { file } });
  }
  const columns: RawColumn[] = chosen.map((c) => ({ name: c.name, native: c.native, cells: rows.map((row) => c.cell(row[c.name])) }));
  return { names, columns, rowCount: rows.length, locate: (row) => `row ${row + 1}` };
}

/** The top-level columns of a Parquet schema (element 0 is the root). */
function topLevelColumns(schema: SchemaElement[]): ParquetColumn[] {
  const columns: ParquetColumn[] = [];
  const skip = (i: number): number => {
    let next = i + 1;
    for (let k = 0; k < (schema[i].num_children ?? 0); k++) next = skip(next);
    return next;
  };
  for (let i = 1; i < schema.length; i = skip(i)) columns.push(columnOf(schema[i]));
  return columns;
}

function columnOf(element: SchemaElement): ParquetColumn {
  const { name, type, converted_type: converted, logical_type: logical } = element;
  const unsupported = (label: string): ParquetColumn => ({ name, native: { kind: "unsupported", label }, cell: () => null, raw: false });
  if (element.num_children !== undefined) return unsupported(logical?.type ?? converted ?? "group (nested)");
  if (element.repetition_type === "REPEATED") return unsupported(`repeated ${type}`);
  if (converted === "DECIMAL" || logical?.type === "DECIMAL") {
    const scale = element.scale ?? (logical?.type === "DECIMAL" ? logical.scale : 0);
    return { name, native: { kind: "decimal", scale }, cell: (v) => decimalCell(v, scale), raw: true };
  }
  if (converted === "DATE" || logical?.type === "DATE") return { name, native: { kind: "date" }, cell: dateCell, raw: false };
  if (logical?.type === "TIMESTAMP" || logical?.type === "TIME" || converted?.startsWith("TIME") || type === "INT96") {
    return unsupported(logical?.type ?? converted ?? "INT96 (timestamp)");
  }
  const float = (float32: boolean): ParquetColumn => ({ name, native: { kind: "decimal" }, cell: (v) => floatCell(v, float32), raw: false });
  switch (type) {
    case "BOOLEAN":
      return { name, native: { kind: "bool" }, cell: (v) => (typeof v === "boolean" ? v : null), raw: false };
    case "INT32":
    case "INT64":
      return { name, native: { kind: "int" }, cell: intCell, raw: false };
    case "FLOAT":
      return float(true);
    case "DOUBLE":
      return float(false);
    case "BYTE_ARRAY":
      if (converted === "JSON" || converted === "BSON" || (logical !== undefined && logical.type !== "STRING" && logical.type !== "ENUM")) {
        return unsupported(logical?.type ?? converted ?? "BYTE_ARRAY");
      }
      return { name, native: { kind: "category" }, cell: textCell, raw: false };
    case "FIXED_LEN_BYTE_ARRAY":
      if (logical?.type === "FLOAT16") return float(true);
      return unsupported(logical?.type ?? "FIXED_LEN_BYTE_ARRAY");
    default:
      return unsupported(type ?? "unknown");
  }
}

function intCell(value: unknown): RawCell {
  if (typeof value !== "number" && typeof value !== "bigint") return null;
  const text = String(value);
  return new NumberCell(text, text, false);
}

function decimalCell(value: unknown, scale: number): RawCell {
  let unscaled: bigint;
  if (typeof value === "number" || typeof value === "bigint") {
    unscaled = BigInt(value);
  } else if (value instanceof Uint8Array) {
    // Big-endian two's complement.
    unscaled = 0n;
    for (const byte of value) unscaled = (unscaled << 8n) | BigInt(byte);
    if (value.length > 0 && value[0] >= 0x80) unscaled -= 1n << BigInt(8 * value.length);
  } else {
    return null;
  }
  const text = formatScaled(unscaled, scale);
  return new NumberCell(text, text, false);
}

function floatCell(value: unknown, float32: boolean): RawCell {
  if (typeof value !== "number" || Number.isNaN(value)) return null;
  if (!Number.isFinite(value)) return new BadCell(String(value), "is not a finite number");
  const text = shortestDecimal(value, float32);
  return new NumberCell(text, text, true);
}

function dateCell(value: unknown): RawCell {
  if (typeof value === "number") return new DateCell(value);
  if (value instanceof Date) return new DateCell(Math.round(value.getTime() / 86_400_000));
  return null;
}

function textCell(value: unknown): RawCell {
  if (typeof value === "string") return value;
  if (value instanceof Uint8Array) {
    try {
      return utf8.decode(value);
    } catch {
      return new BadCell(`<${value.length} bytes>`, "is not UTF-8 text");
    }
  }
  return null;
}
