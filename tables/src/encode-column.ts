import { deriveDateBounds, formatIsoDate, parseIsoDate } from "./dates.ts";
import { TableInputError } from "./errors.ts";
import { MAX_SCALE, UNIT_LIMIT, decimalPlaces, deriveBounds, formatScaled, isDecimalText, roundDecimal, toUnits } from "./fixed-point.ts";
import { BadCell, DateCell, NumberCell, type RawCell, type RawColumn } from "./raw-table.ts";
import type { ColumnKind, ColumnType, DeclaredBounds, TableColumn, TypeSpec } from "./types.ts";

/** Text cells that stand for a missing value, whatever the format. */
const MISSING_TEXT = new Set(["", "NA", "NaN", "null", "NULL"]);
const BOOL_TEXT = /^(true|false)$/i;
const TOO_LARGE = "is too large (at most ±(2^62 − 1) units of the column's last decimal)";

/** What the caller knows about one column besides its cells. */
export interface ColumnOptions {
  file: string;
  locate: (row: number) => string;
  declared: TypeSpec | undefined;
  categories: readonly string[] | undefined;
  bounds: DeclaredBounds | undefined;
  maxCategories: number;
  rejectMissing: boolean;
}

/** A cell that is not missing. */
type PresentCell = Exclude<RawCell, null>;

/**
 * Types and encodes one column: its type (declared, the source's own, or
 * inferred from the cells), one value and validity bit per row, public
 * bounds (declared and checked, or derived) and the exact plaintext sum.
 *
 * @throws TableInputError naming file, line (record, row), column and value of the first cell at fault
 */
export function encodeColumn(raw: RawColumn, rowCount: number, options: ColumnOptions): TableColumn {
  const { file, locate } = options;
  const name = raw.name;
  const where = (row: number) => `${file} ${locate(row)}, column "${name}"`;
  const cellError = (row: number, value: string, message: string, extra: { missingValue?: boolean } = {}) =>
    new TableInputError(`${where(row)}: ${message}`, { details: { file, at: locate(row), column: name, value, ...extra } });

  const cells = raw.cells;
  const valid = new Uint8Array(rowCount);
  const rows = new Int32Array(rowCount);
  let count = 0;
  let firstMissing: number | undefined;
  // A refused missing value is reported in row order among the column's other faults.
  const guard = (row: number) => {
    if (options.rejectMissing && firstMissing !== undefined && row > firstMissing) {
      // A missing cell is null or one of the MISSING_TEXT spellings.
      const text = (cells[firstMissing] as string | null) ?? "null";
      throw cellError(firstMissing, text, `"${text}" is a missing value, which is not accepted here`, { missingValue: true });
    }
  };
  for (let row = 0; row < rowCount; row++) {
    const cell = cells[row];
    if (cell === null || (typeof cell === "string" && MISSING_TEXT.has(cell))) {
      firstMissing ??= row;
      continue;
    }
    if (cell instanceof BadCell) {
      guard(row);
      throw cellError(row, cell.shown, `${cell.shown} ${cell.problem}`);
    }
    valid[row] = 1;
    rows[count++] = row;
  }
  const present = rows.subarray(0, count);
  const context: Context = { ...options, name, rowCount, cells, present, valid, cellError, guard };
  let kind: ColumnKind | "numeric";
  let scale: number | undefined;
  let inference: Inference | undefined;
  if (options.declared !== undefined) {
    kind = options.declared.kind;
    if (options.declared.kind === "int") scale = 0;
    if (options.declared.kind === "decimal") scale = options.declared.scale;
    if (options.categories !== undefined && kind !== "category") {
      throw new TableInputError(`column "${name}" is declared ${kind} but given categories; categories fix a category column's dictionary`, { details: { file, column: name } });
    }
  } else if (options.categories !== undefined) {
    kind = "category";
  } else if (raw.native !== undefined && raw.native.kind !== "unsupported") {
    kind = raw.native.kind === "int" ? "numeric" : raw.native.kind;
    if (raw.native.kind === "decimal") scale = raw.native.scale;
  } else {
    inference = infer(cells, present);
    kind = inference.kind;
  }
  const inferred = options.declared === undefined && options.categories === undefined;
  const column = (() => {
    switch (kind) {
      case "numeric":
        return encodeNumeric(context, undefined, undefined);
      case "int":
      case "decimal":
        return encodeNumeric(context, kind, scale);
      case "bool":
        return encodeBool(context, options.declared !== undefined);
      case "date":
        return encodeDate(context);
      case "category":
        return encodeCategory(context, inference);
    }
  })();
  return { name, inferred, valid, missing: rowCount - present.length, ...column };
}

interface Context extends ColumnOptions {
  name: string;
  rowCount: number;
  cells: RawCell[];
  /** Rows whose cell is present, in order. */
  present: Int32Array;
  valid: Uint8Array;
  cellError: (row: number, value: string, message: string) => TableInputError;
  /**
   * Called with each row the first check of a column reaches, then with
   * Infinity: throws for a refused missing value before that row.
   */
  guard: (row: number) => void;
}

type Encoded = Pick<TableColumn, "type" | "scale" | "values" | "lo" | "hi" | "boundsDerived" | "plaintextSum">;

interface Inference {
  kind: "numeric" | "bool" | "date" | "category";
  /** The first present cell that is not a number, which made a mostly numeric column a category. */
  notNumber?: { row: number; text: string };
}

function isNumeric(cell: PresentCell): boolean {
  return cell instanceof NumberCell || (typeof cell === "string" && isDecimalText(cell));
}

function infer(cells: RawCell[], present: Int32Array): Inference {
  const all = (test: (cell: PresentCell) => boolean) => present.every((row) => test(cells[row]!));
  if (all(isNumeric)) return { kind: "numeric" };
  if (all((c) => typeof c === "boolean" || (typeof c === "string" && BOOL_TEXT.test(c)))) return { kind: "bool" };
  if (all((c) => c instanceof DateCell || (typeof c === "string" && parseIsoDate(c) !== undefined))) return { kind: "date" };
  const first = present.find((row) => !isNumeric(cells[row]!))!;
  return { kind: "category", notNumber: present.some((row) => isNumeric(cells[row]!)) ? { row: first, text: textOf(cells[first]!) } : undefined };
}

/** A cell as text: how a category names it and how messages show it. */
function textOf(cell: PresentCell): string {
  if (typeof cell === "string") return cell;
  if (typeof cell === "boolean") return String(cell);
  if (cell instanceof NumberCell) return cell.source;
  if (cell instanceof DateCell) return formatIsoDate(cell.days);
  return cell.shown;
}

function boundsError(context: Context, message: string): TableInputError {
  return new TableInputError(`bounds of column "${context.name}": ${message}`, { details: { file: context.file, column: context.name } });
}

/** The plain decimal text of a numeric cell, or undefined. */
function plainOf(cell: PresentCell): string | undefined {
  if (cell instanceof NumberCell) return cell.plain;
  return typeof cell === "string" && isDecimalText(cell) ? cell : undefined;
}

/**
 * int and decimal columns. `kind` undefined: inferred (or a Parquet integer),
 * so int when the scale comes out 0. `scale` undefined: the most decimal
 * places of any value or declared bound.
 */
function encodeNumeric(context: Context, kind: "int" | "decimal" | undefined, fixedScale: number | undefined): Encoded {
  const { cells, present, bounds: declared, name, file } = context;
  const noun = kind === "int" ? "an integer" : "a decimal number";
  let places = 0;
  let float = false;
  for (const row of present) {
    context.guard(row);
    const cell = cells[row]!;
    const plain = plainOf(cell);
    if (plain === undefined) {
      const shown = cell instanceof DateCell ? formatIsoDate(cell.days) : typeof cell === "string" ? `"${cell}"` : textOf(cell);
      throw context.cellError(row, textOf(cell), `${shown} is not ${noun}`);
    }
    places = Math.max(places, decimalPlaces(plain));
    if (cell instanceof NumberCell && cell.float) float = true;
  }
  context.guard(Infinity);
  if (declared !== undefined) {
    for (const key of ["lo", "hi"] as const) {
      if (!isDecimalText(declared[key])) throw boundsError(context, `${key} "${declared[key]}" is not ${noun}`);
    }
  }
  let scale = fixedScale;
  if (scale === undefined) {
    // A bound with more decimals than the data (e.g. 0.5 over integers) sets the column's precision.
    scale = declared === undefined ? places : Math.max(places, decimalPlaces(declared.lo), decimalPlaces(declared.hi));
    if (scale > MAX_SCALE) {
      const hint = float ? `; its values are binary floating point: declare its precision with --type ${name}=decimal:<places> to round them` : "";
      throw new TableInputError(`${file} column "${name}" has ${scale} decimal places; at most ${MAX_SCALE} are supported${hint}`, { details: { file, column: name } });
    }
  } else if (scale > MAX_SCALE) {
    throw new TableInputError(
      `${file} column "${name}" has ${scale} decimal places; at most ${MAX_SCALE} are supported: declare fewer with --type ${name}=decimal:<places>`,
      { details: { file, column: name } },
    );
  }
  const at = scale;

  let range: { lo: bigint; hi: bigint } | undefined;
  if (declared !== undefined) {
    const units = (key: "lo" | "hi"): bigint => {
      let u: bigint;
      try {
        u = toUnits(declared[key], at);
      } catch {
        throw boundsError(context, `${key} "${declared[key]}" has more than ${at} decimal place(s), the column's precision`);
      }
      if (u > UNIT_LIMIT || u < -UNIT_LIMIT) throw boundsError(context, `${key} "${declared[key]}" ${TOO_LARGE}`);
      return u;
    };
    range = { lo: units("lo"), hi: units("hi") };
    if (range.lo > range.hi) throw boundsError(context, `lo ${declared.lo} is above hi ${declared.hi}`);
  }

  const values = new BigInt64Array(context.rowCount);
  let sum = 0n;
  let min: bigint | undefined;
  let max: bigint | undefined;
  for (const row of present) {
    const cell = cells[row]!;
    const plain = plainOf(cell)!;
    const source = cell instanceof NumberCell ? cell.source : plain;
    let units: bigint;
    try {
      units = toUnits(cell instanceof NumberCell && cell.float ? roundDecimal(plain, at) : plain, at);
    } catch {
      throw context.cellError(row, source, kind === "int" ? `"${source}" is not an integer` : `"${source}" has more than ${at} decimal place(s), the column's precision`);
    }
    // The hosts compare values through the sign of a difference, which must not wrap.
    if (units > UNIT_LIMIT || units < -UNIT_LIMIT) throw context.cellError(row, source, `"${source}" ${TOO_LARGE}`);
    if (range !== undefined && (units < range.lo || units > range.hi)) {
      throw context.cellError(
        row,
        source,
        `${source} is outside the declared bounds [${formatScaled(range.lo, at)}, ${formatScaled(range.hi, at)}]; widen the bounds or correct the value`,
      );
    }
    values[row] = units;
    sum += units;
    if (min === undefined || units < min) min = units;
    if (max === undefined || units > max) max = units;
  }
  const bounds = range ?? (min === undefined ? { lo: 0n, hi: 0n } : deriveBounds(min, max!));
  const type: ColumnType = (kind ?? (at > 0 ? "decimal" : "int")) === "int" ? { kind: "int" } : { kind: "decimal", scale: at };
  return {
    type,
    scale: at,
    values,
    lo: formatScaled(bounds.lo, at),
    hi: formatScaled(bounds.hi, at),
    boundsDerived: range === undefined,
    plaintextSum: formatScaled(sum, at),
  };
}

/** bool columns: true/false in any case; a declared bool also takes 1/0. */
function encodeBool(context: Context, declared: boolean): Encoded {
  if (context.bounds !== undefined) throw boundsError(context, "a bool column's bounds are 0 and 1; give none");
  const values = new BigInt64Array(context.rowCount);
  let trues = 0n;
  for (const row of context.present) {
    context.guard(row);
    const cell = context.cells[row]!;
    let value: boolean | undefined;
    if (typeof cell === "boolean") value = cell;
    else if (typeof cell === "string" && BOOL_TEXT.test(cell)) value = cell.toLowerCase() === "true";
    else if (declared && (plainOf(cell) === "1" || plainOf(cell) === "0")) value = plainOf(cell) === "1";
    if (value === undefined) {
      const text = textOf(cell);
      throw context.cellError(row, text, `${typeof cell === "string" ? `"${text}"` : text} is not a boolean (true or false)`);
    }
    if (value) {
      values[row] = 1n;
      trues += 1n;
    }
  }
  context.guard(Infinity);
  return { type: { kind: "bool" }, scale: 0, values, lo: "0", hi: "1", boundsDerived: false, plaintextSum: trues.toString() };
}

/** Reads a date bound: an ISO date or a day count. */
function dateBound(context: Context, key: "lo" | "hi", text: string): number {
  const days = parseIsoDate(text) ?? (/^-?\d{1,9}$/.test(text) ? Number(text) : undefined);
  if (days === undefined) throw boundsError(context, `${key} "${text}" is not a date (YYYY-MM-DD) or a day count`);
  return days;
}

/** date columns: ISO dates `YYYY-MM-DD` (or the source's own dates) as days since 1970-01-01. */
function encodeDate(context: Context): Encoded {
  let range: { lo: number; hi: number } | undefined;
  if (context.bounds !== undefined) {
    range = { lo: dateBound(context, "lo", context.bounds.lo), hi: dateBound(context, "hi", context.bounds.hi) };
    if (range.lo > range.hi) throw boundsError(context, `lo ${context.bounds.lo} is above hi ${context.bounds.hi}`);
  }
  const values = new BigInt64Array(context.rowCount);
  let sum = 0n;
  let min = Infinity;
  let max = -Infinity;
  for (const row of context.present) {
    context.guard(row);
    const cell = context.cells[row]!;
    const days = cell instanceof DateCell ? cell.days : typeof cell === "string" ? parseIsoDate(cell) : undefined;
    if (days === undefined) {
      const text = textOf(cell);
      throw context.cellError(row, text, `${typeof cell === "string" ? `"${text}"` : text} is not a date (YYYY-MM-DD)`);
    }
    if (range !== undefined && (days < range.lo || days > range.hi)) {
      throw context.cellError(
        row,
        textOf(cell),
        `${formatIsoDate(days)} is outside the declared bounds [${formatIsoDate(range.lo)}, ${formatIsoDate(range.hi)}]; widen the bounds or correct the value`,
      );
    }
    values[row] = BigInt(days);
    sum += BigInt(days);
    min = Math.min(min, days);
    max = Math.max(max, days);
  }
  context.guard(Infinity);
  const bounds = range ?? (min === Infinity ? { lo: 0, hi: 0 } : deriveDateBounds(min, max));
  return { type: { kind: "date" }, scale: 0, values, lo: String(bounds.lo), hi: String(bounds.hi), boundsDerived: range === undefined, plaintextSum: sum.toString() };
}

/** category columns: each value's index in a public dictionary (given, or the distinct values sorted). */
function encodeCategory(context: Context, inference: Inference | undefined): Encoded {
  const { name, file, cells, present } = context;
  if (context.bounds !== undefined) throw boundsError(context, "a category column's bounds follow from its dictionary; give none");
  let dictionary: string[];
  if (context.categories !== undefined) {
    dictionary = [...context.categories];
    const twice = dictionary.find((v, i) => dictionary.indexOf(v) !== i);
    if (twice !== undefined) throw new TableInputError(`categories of column "${name}" name "${twice}" twice`, { details: { file, column: name } });
  } else {
    const distinct = new Set<string>();
    for (const row of present) {
      context.guard(row);
      distinct.add(textOf(cells[row]!));
      if (distinct.size > context.maxCategories) {
        const why = inference?.notNumber
          ? ` It was read as a category because ${context.locate(inference.notNumber.row)} holds "${inference.notNumber.text}", which is not a number.`
          : "";
        throw new TableInputError(
          `${file} column "${name}" has more than ${context.maxCategories} distinct values, too many for a category column ` +
            `(its dictionary is published in the schema): fix its dictionary with --categories ${name}=<v1>,<v2>,… ` +
            `or declare another type with --type ${name}=<int|decimal|bool|date>.${why}`,
          { details: { file, column: name } },
        );
      }
    }
    // Sorted, so the dictionary tells nothing of the rows' order.
    dictionary = [...distinct].sort();
  }
  const index = new Map(dictionary.map((v, i) => [v, i]));
  const values = new BigInt64Array(context.rowCount);
  for (const row of present) {
    context.guard(row);
    const text = textOf(cells[row]!);
    const at = index.get(text);
    if (at === undefined) {
      const shown = dictionary.length > 10 ? `${dictionary.slice(0, 10).join(", ")}, …` : dictionary.join(", ");
      throw context.cellError(row, text, `"${text}" is not among the categories of the column (${shown})`);
    }
    values[row] = BigInt(at);
  }
  context.guard(Infinity);
  return {
    type: { kind: "category", values: dictionary },
    scale: 0,
    values,
    lo: "0",
    hi: String(Math.max(dictionary.length - 1, 0)),
    boundsDerived: false,
    plaintextSum: "",
  };
}
