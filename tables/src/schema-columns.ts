import type { SchemaColumn, Table } from "./types.ts";

/**
 * Each column as the on-chain schema describes it: name, type, scale and
 * public bounds, and a category column's dictionary (public too).
 *
 * @example
 * schemaColumns(table) // [{ name: "salary", type: "int", scale: 0, lo: "30000", hi: "200000" }, …]
 */
export function schemaColumns(table: Table): SchemaColumn[] {
  return table.columns.map((c) => ({
    name: c.name,
    type: c.type.kind,
    scale: c.scale,
    lo: c.lo,
    hi: c.hi,
    ...(c.type.kind === "category" ? { categories: [...c.type.values] } : {}),
  }));
}
