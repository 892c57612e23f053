// Node only: the rest of the package runs in a browser as well.
import { readFile } from "node:fs/promises";
import { TableInputError } from "./errors.ts";
import { parseTable } from "./parse-table.ts";
import type { ParseOptions, Table } from "./types.ts";

/**
 * Reads a table from a file on disk with {@link parseTable}; the path names
 * the file in messages and its extension tells the format.
 *
 * @throws TableInputError when the file cannot be read or its table is unusable
 * @example
 * const table = await readTableFile("salaries.csv", { columns: ["salary"] });
 */
export async function readTableFile(path: string, options: ParseOptions = {}): Promise<Table> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new TableInputError(`cannot read ${path}: ${(err as Error).message}`, { cause: err, details: { file: path } });
  }
  return parseTable({ name: path, bytes }, options);
}
