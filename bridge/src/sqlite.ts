import type * as Sqlite from "node:sqlite";

// `node:sqlite` (built into Node 22) prints one "SQLite is an experimental
// feature" ExperimentalWarning when it is first loaded. The bridge depends on
// it on purpose (an embedded durable store without native npm modules), so
// that one warning is filtered out while the module loads; every other
// warning, and this one from anyone who loaded the module earlier, is untouched.
const emitWarning = process.emitWarning;
process.emitWarning = function filtered(this: NodeJS.Process, warning: string | Error, ...rest: unknown[]): void {
  const type = typeof rest[0] === "string" ? rest[0] : (rest[0] as { type?: string } | undefined)?.type;
  const text = typeof warning === "string" ? warning : warning.message;
  if (type === "ExperimentalWarning" && text.startsWith("SQLite")) return;
  (emitWarning as (...args: unknown[]) => void).call(process, warning, ...rest);
} as typeof process.emitWarning;
let sqlite: typeof Sqlite;
try {
  sqlite = await import("node:sqlite");
} finally {
  process.emitWarning = emitWarning;
}

/** `node:sqlite`'s synchronous database, loaded without its experimental-feature warning. */
export const DatabaseSync = sqlite.DatabaseSync;
export type DatabaseSync = Sqlite.DatabaseSync;
