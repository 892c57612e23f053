import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { TableSource } from "../src/index.ts";

/** A source holding `text` as UTF-8. */
export function text(name: string, body: string): TableSource {
  return { name, bytes: new TextEncoder().encode(body) };
}

/** A fixture file of test/fixtures (see its make-fixtures.py). */
export function fixture(name: string): TableSource {
  return { name, bytes: readFileSync(path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures", name)) };
}

/** The signed values of present cells, null where missing. */
export function cells(column: { values: BigInt64Array; valid: Uint8Array }): (bigint | null)[] {
  return [...column.values].map((v, i) => (column.valid[i] === 1 ? v : null));
}
