import { checkSchemaColumn, type ColumnKind, type SchemaColumn } from "@scmpc/mpc-engine/browser";
import { parseTable, parseTypeSpec, TableInputError, toUnits, type DeclaredBounds, type TableColumn, type TableSource, type TypeSpec } from "@scmpc/tables";

// The rules a seller's table follows before it is shared: what the CLI reads
// from a file and the web app from a file the seller picks, alike. Runs in
// Node and in a browser (no file system: the caller brings the bytes).

/** One column of a seller's table, typed, with its public schema and its values ready for sharing. */
export interface SellerColumn {
  /** The column as the on-chain schema publishes it (no `type` for int and decimal). */
  schema: SchemaColumn;
  /** int, decimal, category, bool or date. */
  kind: ColumnKind;
  /**
   * One ring element per row (two's complement fixed point, dictionary
   * index, 0/1 or day count); a missing cell holds the column's `lo`, so
   * every value shared lies within the public bounds.
   */
  values: BigUint64Array;
  /** One validity bit per row: 1 present, 0 missing. Shared like the values. */
  valid: Uint8Array;
  /** Number of missing cells: the seller's own record (the hosts hold only shares of `valid`). */
  missing: number;
  /** True when the bounds were derived from the data because none were declared (int, decimal, date). */
  boundsDerived: boolean;
  /** True for a category column whose dictionary was read from the data rather than fixed with `categories`. */
  dictionaryDerived: boolean;
  /** Exact sum of the present values at the column's scale ("" for a category), for the seller's own records. */
  plaintextSum: string;
}

/** A seller's table as {@link sellerTableOf} types it. */
export interface SellerTable {
  rowCount: number;
  columns: SellerColumn[];
}

/** How {@link sellerTableOf} types a table. */
export interface SellerTableOptions {
  /** Columns to share, in this order; default every column of the table. */
  columns?: readonly string[];
  /** Declared types (`int`, `decimal`, `decimal:<places>`, `category`, `bool`, `date`, or their parsed form); others are inferred. */
  types?: Readonly<Record<string, TypeSpec | string>>;
  /** Fixed public dictionaries of category columns. */
  categories?: Readonly<Record<string, readonly string[]>>;
  /** Declared public bounds (decimals; for a date ISO dates or day counts); others are derived from the data. */
  bounds?: Readonly<Record<string, DeclaredBounds>>;
}

/**
 * Types a seller's table from its bytes (CSV, JSON, NDJSON or Parquet, by the
 * extension of `source.name`) with `@scmpc/tables`: every column unless
 * `columns` picks some, each typed (declared or inferred) with public bounds
 * and, for a category, its public dictionary. Missing cells (empty, `NA`,
 * `null`, ...) are accepted: each gets validity 0 and the column's `lo` as
 * its value. Each column is also checked as the hosts will check it
 * (`checkSchemaColumn`), so a table they would refuse stops here, before
 * anything is shared.
 *
 * @param source - The table's name (it names the table in messages; its extension tells the format) and bytes.
 * @throws TableInputError (`TABLE_INVALID`) naming the table and, for a cell, its line, column and value
 * @example
 * const table = await sellerTableOf({ name: file.name, bytes: new Uint8Array(await file.arrayBuffer()) }, { types: { hired: "date" } });
 */
export async function sellerTableOf(source: TableSource, options: SellerTableOptions = {}): Promise<SellerTable> {
  const file = source.name;
  const types: Record<string, TypeSpec> = {};
  for (const [name, spec] of Object.entries(options.types ?? {})) {
    try {
      types[name] = typeof spec === "string" ? parseTypeSpec(spec) : spec;
    } catch (err) {
      throw new TableInputError(`column "${name}": ${(err as Error).message}`, { cause: err, details: { file, column: name } });
    }
  }
  const table = await parseTable(source, {
    columns: options.columns,
    types,
    categories: options.categories,
    bounds: options.bounds,
  });
  const columns = table.columns.map((column) => sellerColumn(file, column, Object.hasOwn(options.categories ?? {}, column.name)));
  return { rowCount: table.rowCount, columns };
}

function sellerColumn(file: string, column: TableColumn, fixedDictionary: boolean): SellerColumn {
  const { name, type } = column;
  const fail = (message: string) => new TableInputError(`${file} column "${name}": ${message}`, { details: { file, column: name } });
  if (type.kind === "category" && type.values.length === 0) {
    throw fail(`every cell is missing, so its category dictionary would be empty; fix it with --categories ${name}=<v1>,<v2>,… or leave the column out`);
  }
  const schema: SchemaColumn = {
    name,
    scale: column.scale,
    lo: column.lo,
    hi: column.hi,
    ...(type.kind === "category" || type.kind === "bool" || type.kind === "date" ? { type: type.kind } : {}),
    ...(type.kind === "category" ? { categories: [...type.values] } : {}),
  };
  try {
    checkSchemaColumn(schema);
  } catch (err) {
    // The hosts would refuse the upload for the same reason: say it now, naming the file.
    throw new TableInputError(`${file} ${(err as Error).message}`, { cause: err, details: { file, column: name } });
  }
  // The same 64 bits: two's complement is the ring's encoding of a negative value (copied: missing cells change below).
  const values = new BigUint64Array(column.values.length);
  values.set(new BigUint64Array(column.values.buffer, column.values.byteOffset, column.values.length));
  if (column.missing > 0) {
    const lo = BigInt.asUintN(64, toUnits(column.lo, column.scale));
    for (let row = 0; row < values.length; row++) if (column.valid[row] === 0) values[row] = lo;
  }
  return {
    schema,
    kind: type.kind,
    values,
    valid: column.valid,
    missing: column.missing,
    boundsDerived: column.boundsDerived,
    dictionaryDerived: type.kind === "category" && !fixedDictionary,
    plaintextSum: column.plaintextSum,
  };
}
