import { TableInputError } from "./errors.ts";

/**
 * A table as a reader finds it, before typing: cells as the format gives
 * them. Text (CSV cells, JSON and Parquet strings) is typed later, by
 * declaration or inference; the other cells already carry a type.
 */

/** A number with its exact plain decimal text (JSON numbers, Parquet numbers). */
export class NumberCell {
  constructor(
    /** Plain decimal text, exact. */
    readonly plain: string,
    /** The text as the source spells it, for messages (a JSON number may have an exponent). */
    readonly source: string,
    /** Read from binary floating point: its decimals are an artefact and a declared scale rounds them. */
    readonly float: boolean,
  ) {}
}

/** A date the source types as one (Parquet DATE): days since 1970-01-01. */
export class DateCell {
  constructor(readonly days: number) {}
}

/** A value no column type holds (a JSON object or array, an infinite float). */
export class BadCell {
  constructor(
    readonly shown: string,
    /** Completes "<shown> …", e.g. "is an object, not a single value". */
    readonly problem: string,
  ) {}
}

/** A cell before typing; `null` is missing (JSON null, an absent key, a Parquet null). */
export type RawCell = string | boolean | null | NumberCell | DateCell | BadCell;

/** A column type the source itself declares (Parquet's schema). */
export type NativeType =
  | { kind: "int" }
  | { kind: "decimal"; scale?: number }
  | { kind: "category" }
  | { kind: "bool" }
  | { kind: "date" }
  | { kind: "unsupported"; label: string };

export interface RawColumn {
  name: string;
  cells: RawCell[];
  native?: NativeType;
}

export interface RawTable {
  /** Every column of the source, in its order (also those not read). */
  names: string[];
  columns: RawColumn[];
  rowCount: number;
  /** Where row `i` (from 0) sits, for messages: `line 40`, `record 3`, `row 5`. */
  locate(row: number): string;
}

/** The error for a column the source lacks, listing those it has. */
export function noColumn(file: string, column: string, names: readonly string[]): TableInputError {
  return new TableInputError(`${file} has no column "${column}"; its columns are: ${names.join(", ")}`, { details: { file, column, absentColumn: true } });
}

/**
 * The error for two columns of a source with one name once trimmed (a
 * reader of the header cannot tell `v` from `v `), or undefined when every
 * name is distinct. Unnamed columns are left out: a column with no name is
 * refused only when it is read.
 *
 * @example
 * duplicateColumn("a.csv", ["v", "w", "v"])?.message // 'a.csv: duplicate column name "v" (columns 1 and 3); rename one'
 */
export function duplicateColumn(file: string, names: readonly string[]): TableInputError | undefined {
  const seen = new Map<string, number[]>();
  for (const [i, name] of names.entries()) {
    const key = name.trim();
    if (key === "") continue;
    const positions = seen.get(key);
    if (positions === undefined) {
      seen.set(key, [i]);
      continue;
    }
    positions.push(i);
  }
  for (const [name, positions] of seen) {
    if (positions.length < 2) continue;
    const spellings = positions.map((i) => names[i]);
    const spelled = spellings.every((s) => s === name) ? "" : `, spelled ${listed(spellings.map((s) => JSON.stringify(s)))}`;
    return new TableInputError(`${file}: duplicate column name ${JSON.stringify(name)} (columns ${listed(positions.map((i) => String(i + 1)))}${spelled}); rename one`, {
      details: { file, column: name },
    });
  }
  return undefined;
}

/** `1 and 2`, `1, 2 and 4`. */
function listed(items: readonly string[]): string {
  return items.length < 2 ? items.join("") : `${items.slice(0, -1).join(", ")} and ${items[items.length - 1]}`;
}
