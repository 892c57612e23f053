/** The type of a column as read: the kinds of secret values the hosts hold. */
export type ColumnType =
  | { kind: "int" }
  | { kind: "decimal"; scale: number }
  | { kind: "category"; values: string[] }
  | { kind: "bool" }
  | { kind: "date" };

/** The kinds of column. */
export type ColumnKind = ColumnType["kind"];

/**
 * A declared column type (`--type col=<spec>`): `decimal` without a scale
 * takes the most decimal places seen, as an inferred numeric column does.
 */
export type TypeSpec =
  | { kind: "int" }
  | { kind: "decimal"; scale?: number }
  | { kind: "category" }
  | { kind: "bool" }
  | { kind: "date" };

/** Public bounds a seller declares for a column, as text: decimals, or for a date ISO dates or day counts. */
export interface DeclaredBounds {
  lo: string;
  hi: string;
}

/** The formats read. `jsonl` is another name for `ndjson`. */
export type TableFormat = "csv" | "json" | "ndjson" | "jsonl" | "parquet";

/** A table's bytes and the name they go by (its extension tells the format; messages name it). */
export interface TableSource {
  name: string;
  bytes: Uint8Array;
}

/** How {@link parseTable} reads a source. */
export interface ParseOptions {
  /** The format, when the name's extension does not tell it. */
  format?: TableFormat;
  /** Columns to read, in this order; default every column, in the file's order. */
  columns?: readonly string[];
  /** Declared types; other columns' types are inferred. */
  types?: Readonly<Record<string, TypeSpec>>;
  /** Fixed public dictionaries of category columns (a value outside one is an error). */
  categories?: Readonly<Record<string, readonly string[]>>;
  /** Declared public bounds of numeric and date columns (a value outside them is an error). */
  bounds?: Readonly<Record<string, DeclaredBounds>>;
  /** Most distinct values a category column may have without a fixed dictionary (default 256). */
  maxCategories?: number;
  /** `reject`: a missing value in any column read is an error (default `allow`). */
  missing?: "allow" | "reject";
}

/** One column of a table, typed and encoded for secret sharing. */
export interface TableColumn {
  name: string;
  type: ColumnType;
  /** True when the type came from the data or the file's own schema rather than from `types` or `categories`. */
  inferred: boolean;
  /** Decimal places of the fixed-point encoding: the decimal scale, else 0. */
  scale: number;
  /**
   * One value per row: fixed-point units (int, decimal), dictionary index
   * (category), 0 or 1 (bool), days since 1970-01-01 (date); 0 where missing.
   */
  values: BigInt64Array;
  /** One validity bit per row: 1 present, 0 missing. */
  valid: Uint8Array;
  /** Number of missing values. */
  missing: number;
  /**
   * Public lower bound of every value as canonical text at `scale`: the
   * schema publishes it. Category: 0; bool: 0; date: a day count.
   */
  lo: string;
  /** Public upper bound, likewise. Category: dictionary size − 1; bool: 1; date: a day count. */
  hi: string;
  /** True when the bounds were derived from the data because none were declared (int, decimal, date). */
  boundsDerived: boolean;
  /**
   * Exact sum of the present values as canonical text at `scale` (bool: the
   * number of true; date: of the day counts); "" for a category.
   */
  plaintextSum: string;
}

/** A seller's table, row-aligned columns. */
export interface Table {
  rowCount: number;
  columns: TableColumn[];
}

/** A column as the on-chain schema describes it. */
export interface SchemaColumn {
  name: string;
  type: ColumnKind;
  scale: number;
  lo: string;
  hi: string;
  /** A category column's public dictionary: index i stands for `categories[i]`. */
  categories?: string[];
}
