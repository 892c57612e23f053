import { MpcError } from "../errors.ts";
import { MAX_SCALE } from "../fixed-point.ts";
import { parseColumnBounds, type ColumnBounds } from "./column-bounds.ts";
import { SCHEMA_TYPES, type DatasetSchema, type SchemaColumn, type SchemaType } from "./plan.ts";

/** Most values of a category column's public dictionary (it is published on-chain with the schema). */
export const MAX_CATEGORIES = 256;

const LONE_SURROGATE = /\p{Cs}/u;

/** What a column holds, int and decimal included (the schema names neither: see {@link SchemaColumn}). */
export type ColumnKind = "int" | "decimal" | SchemaType;

/**
 * The kind of a schema column: its `type`, else int at scale 0 and decimal
 * above.
 *
 * @example
 * columnKind({ name: "bonus", scale: 2, lo: "0.00", hi: "10.00" }) // "decimal"
 */
export function columnKind(column: Pick<SchemaColumn, "scale" | "type">): ColumnKind {
  return column.type ?? (column.scale > 0 ? "decimal" : "int");
}

/**
 * Checks that a column's type, dictionary, scale and bounds agree, and
 * returns its bounds in units: a `category` column has 1 to
 * {@link MAX_CATEGORIES} distinct non-empty categories, scale 0 and bounds 0
 * and k − 1; a `bool` column scale 0 and bounds 0 and 1; a `date` column
 * scale 0 (its bounds are day counts); only a category column has
 * categories. The bounds are checked as {@link parseColumnBounds} does.
 *
 * @throws MpcError `INVALID_ARGUMENT` naming the column and what is wrong
 * @example
 * checkSchemaColumn({ name: "dept", scale: 0, lo: "0", hi: "2", type: "category", categories: ["eng", "ops", "sales"] }) // { lo: 0n, hi: 2n }
 */
export function checkSchemaColumn(column: { name: string; scale: number; lo?: unknown; hi?: unknown; type?: unknown; categories?: unknown }): ColumnBounds {
  const label = `column ${JSON.stringify(column.name)}`;
  const invalid = (message: string): MpcError => new MpcError("INVALID_ARGUMENT", `${label}: ${message}`);
  const { type, categories } = column;
  if (type !== undefined && !(SCHEMA_TYPES as readonly unknown[]).includes(type)) {
    throw invalid(`type ${JSON.stringify(type)} is not one of ${SCHEMA_TYPES.join(", ")} (an int or decimal column names no type)`);
  }
  if (type !== "category" && categories !== undefined) throw invalid("only a category column has categories");
  const bounds = parseColumnBounds(column);
  const got = `got scale ${column.scale}, lo ${JSON.stringify(column.lo)}, hi ${JSON.stringify(column.hi)}`;
  switch (type) {
    case "category": {
      if (!Array.isArray(categories) || categories.length === 0 || categories.length > MAX_CATEGORIES) {
        throw invalid(`a category column has 1 to ${MAX_CATEGORIES} categories; got ${Array.isArray(categories) ? categories.length : categories === undefined ? 0 : "no list"}`);
      }
      const seen = new Set<string>();
      for (const [i, value] of categories.entries()) {
        // A lone surrogate has no UTF-8 form: the committed bytes would not be the schema's text.
        if (typeof value !== "string" || value === "" || LONE_SURROGATE.test(value)) throw invalid(`category ${i} must be non-empty text`);
        if (seen.has(value)) throw invalid(`category ${JSON.stringify(value)} appears twice`);
        seen.add(value);
      }
      if (column.scale !== 0 || bounds.lo !== 0n || bounds.hi !== BigInt(categories.length - 1)) {
        throw invalid(`a category column of ${categories.length} categories has scale 0 and bounds 0 and ${categories.length - 1}; ${got}`);
      }
      break;
    }
    case "bool":
      if (column.scale !== 0 || bounds.lo !== 0n || bounds.hi !== 1n) throw invalid(`a bool column has scale 0 and bounds 0 and 1; ${got}`);
      break;
    case "date":
      if (column.scale !== 0) throw invalid(`a date column has scale 0 (its bounds are day counts); got scale ${column.scale}`);
      break;
  }
  return bounds;
}

/**
 * Reads a dataset's schema text as published on-chain
 * (`{"columns":[{"name":…,"scale":…,"lo":…,"hi":…[,"type":…[,"categories":[…]]]}]}`)
 * and checks every column with {@link checkSchemaColumn}.
 *
 * @throws MpcError `INVALID_ARGUMENT` saying what is malformed
 * @example
 * parseSchemaText('{"columns":[{"name":"remote","scale":0,"lo":"0","hi":"1","type":"bool"}]}')
 */
export function parseSchemaText(text: string): DatasetSchema {
  const invalid = (message: string): MpcError => new MpcError("INVALID_ARGUMENT", `schema: ${message}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw invalid("not valid JSON");
  }
  const list = (parsed as { columns?: unknown } | null)?.columns;
  if (!Array.isArray(list) || list.length === 0) throw invalid('expected {"columns": [...]} with at least one column');
  const names = new Set<string>();
  const columns = list.map((entry: unknown, i): SchemaColumn => {
    const c = (entry ?? {}) as Record<string, unknown>;
    if (typeof c.name !== "string" || c.name === "") throw invalid(`column ${i} has no name`);
    if (names.has(c.name)) throw invalid(`column ${JSON.stringify(c.name)} appears twice`);
    names.add(c.name);
    if (!Number.isInteger(c.scale) || (c.scale as number) < 0 || (c.scale as number) > MAX_SCALE) {
      throw invalid(`column ${JSON.stringify(c.name)} has scale ${JSON.stringify(c.scale)}; expected an integer from 0 to ${MAX_SCALE}`);
    }
    const column = { name: c.name, scale: c.scale as number, lo: c.lo, hi: c.hi, type: c.type, categories: c.categories };
    try {
      checkSchemaColumn(column);
    } catch (err) {
      throw invalid((err as Error).message);
    }
    return {
      name: column.name,
      scale: column.scale,
      lo: column.lo as string,
      hi: column.hi as string,
      ...(column.type === undefined ? {} : { type: column.type as SchemaType }),
      ...(column.type === "category" ? { categories: [...(column.categories as string[])] } : {}),
    };
  });
  return { columns };
}
