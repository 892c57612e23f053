import { QUERY_ALGORITHM, QUERY_RESTRICTED_ENTRY, queryAggregateEntry } from "@scmpc/mpc-engine";
import { AGGREGATE_FUNCTIONS } from "@scmpc/mpc-engine/query";
import { parseTypeSpec, type TypeSpec } from "@scmpc/tables";
import { resolveAlgorithm } from "../buyer.ts";
import { UsageError } from "./context.ts";

// A seller's flags read into what the library takes, checked before anything
// touches the chain or the file: a mistake here is a usage error.

/**
 * Parses `--bounds` flags: each `col=lo:hi`, several per flag separated by
 * commas (`a=1:2,b=-3.5:4`); the decimals are checked against the data later.
 *
 * @throws UsageError naming the malformed or repeated bound
 * @example
 * boundsFromFlags(["salary=0:200000", "bonus=0:10000"]) // { salary: { lo: "0", hi: "200000" }, bonus: { lo: "0", hi: "10000" } }
 */
export function boundsFromFlags(flags: readonly string[]): Record<string, { lo: string; hi: string }> {
  const bounds: Record<string, { lo: string; hi: string }> = {};
  for (const spec of flags.flatMap((f) => f.split(",")).map((s) => s.trim()).filter((s) => s !== "")) {
    const match = /^([^=]+)=([^:]+):([^:]+)$/.exec(spec);
    if (!match) throw new UsageError(`--bounds takes <column>=<lo>:<hi> (e.g. salary=30000:200000); got "${spec}"`);
    const [, column, lo, hi] = match.map((m) => m.trim());
    if (Object.hasOwn(bounds, column)) throw new UsageError(`--bounds gives column "${column}" twice`);
    bounds[column] = { lo, hi };
  }
  return bounds;
}

/**
 * Parses `--type` flags: each `col=<type>` (`int`, `decimal`,
 * `decimal:<places>`, `category`, `bool`, `date`), several per flag
 * separated by commas.
 *
 * @throws UsageError naming the malformed, unknown or repeated type
 * @example
 * typesFromFlags(["hired=date,price=decimal:2"]) // { hired: { kind: "date" }, price: { kind: "decimal", scale: 2 } }
 */
export function typesFromFlags(flags: readonly string[]): Record<string, TypeSpec> {
  const types: Record<string, TypeSpec> = {};
  for (const spec of flags.flatMap((f) => f.split(",")).map((s) => s.trim()).filter((s) => s !== "")) {
    const match = /^([^=]+)=(.+)$/.exec(spec);
    if (!match) throw new UsageError(`--type takes <column>=<type> (e.g. hired=date, price=decimal:2); got "${spec}"`);
    const [column, text] = [match[1].trim(), match[2].trim()];
    if (Object.hasOwn(types, column)) throw new UsageError(`--type gives column "${column}" twice`);
    try {
      types[column] = parseTypeSpec(text);
    } catch (err) {
      throw new UsageError(`--type ${column}: ${(err as Error).message}`, { cause: err });
    }
  }
  return types;
}

/**
 * Parses `--categories` flags: each `col=v1,v2,...`, one column per flag
 * (the commas separate its values), fixing that column's public dictionary.
 *
 * @throws UsageError naming the malformed or repeated dictionary
 * @example
 * categoriesFromFlags(["dept=eng,ops,sales"]) // { dept: ["eng", "ops", "sales"] }
 */
export function categoriesFromFlags(flags: readonly string[]): Record<string, string[]> {
  const categories: Record<string, string[]> = {};
  for (const flag of flags) {
    const at = flag.indexOf("=");
    const column = flag.slice(0, Math.max(at, 0)).trim();
    const values = flag.slice(at + 1).split(",").map((v) => v.trim());
    if (at <= 0 || column === "" || values.some((v) => v === "")) {
      throw new UsageError(`--categories takes <column>=<v1>,<v2>,... with no empty value (e.g. dept=eng,ops,sales); got "${flag}"`);
    }
    if (Object.hasOwn(categories, column)) throw new UsageError(`--categories gives column "${column}" twice`);
    categories[column] = values;
  }
  return categories;
}

/**
 * The `--column` flags of an upload: every name given, one per flag or
 * comma separated; undefined when none is (every column is shared).
 *
 * @example
 * columnsFromFlags(["salary", "bonus,dept"]) // ["salary", "bonus", "dept"]
 */
export function columnsFromFlags(flags: readonly string[] | undefined): string[] | undefined {
  const picked = (flags ?? []).flatMap((c) => c.split(",")).map((c) => c.trim()).filter((c) => c !== "");
  return picked.length > 0 ? picked : undefined;
}

/**
 * An algorithm list flag: names ("mean", "sum@1"), and `query` (every
 * aggregate) or, last, `query:<fn>,<fn>,...` (queries using only those
 * aggregate functions): `--allow mean,sum,query:avg,count`. Undefined stays
 * undefined.
 *
 * @throws UsageError naming an unknown algorithm or aggregate function
 * @example
 * algorithmList("sum,mean") // ["sum@1", "mean@1"]
 */
export function algorithmList(flag: string | undefined): string[] | undefined {
  if (flag === undefined) return undefined;
  try {
    const at = flag.indexOf("query:");
    const named = (at < 0 ? flag : flag.slice(0, at)).split(",").map((a) => a.trim()).filter((a) => a !== "").map(resolveAlgorithm);
    if (at < 0) return named;
    const fns = flag.slice(at + "query:".length).split(",").map((a) => a.trim()).filter((a) => a !== "");
    const unknown = fns.filter((fn) => !(AGGREGATE_FUNCTIONS as readonly string[]).includes(fn));
    if (fns.length === 0 || unknown.length > 0) {
      throw new Error(`query:<fn>,... takes aggregate functions (${AGGREGATE_FUNCTIONS.join(", ")}); got ${unknown.join(", ") || "none"}`);
    }
    return [...new Set([...named, QUERY_ALGORITHM, QUERY_RESTRICTED_ENTRY, ...fns.map(queryAggregateEntry)])];
  } catch (err) {
    throw new UsageError((err as Error).message, { cause: err });
  }
}

/**
 * `--min-rows` as a number; undefined when not given.
 *
 * @throws UsageError when it is not a non-negative integer
 */
export function minRowsFlag(flag: string | undefined): number | undefined {
  if (flag === undefined) return undefined;
  if (!/^\d+$/.test(flag)) throw new UsageError(`--min-rows must be a non-negative integer; got "${flag}"`);
  return Number(flag);
}
