import { readFile } from "node:fs/promises";
import { TableInputError } from "@scmpc/tables";
import { sellerTableOf, type SellerTable, type SellerTableOptions } from "./seller-columns.ts";

export type { SellerColumn, SellerTable, SellerTableOptions } from "./seller-columns.ts";

/**
 * Reads a seller's table from a file (CSV, JSON, NDJSON or Parquet, by
 * extension) and types it by the sellers' rules ({@link sellerTableOf}, which
 * the web app runs on the bytes of a picked file): every column unless
 * `columns` picks some, typed, bounded, missing cells as validity 0 and the
 * column's `lo`, each column checked as the hosts will check it.
 *
 * @throws TableInputError (`TABLE_INVALID`) naming the file and, for a cell, its line, column and value
 * @example
 * const table = await readSellerTable("staff.csv", { types: { hired: "date" }, categories: { dept: ["eng", "ops", "sales"] } });
 */
export async function readSellerTable(file: string, options: SellerTableOptions = {}): Promise<SellerTable> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (err) {
    // As @scmpc/tables/node says it.
    throw new TableInputError(`cannot read ${file}: ${(err as Error).message}`, { cause: err, details: { file } });
  }
  return sellerTableOf({ name: file, bytes }, options);
}
