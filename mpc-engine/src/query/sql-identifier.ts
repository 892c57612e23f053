import { QueryError } from "./query-error.ts";

// Words that are written in double quotes when they name a column or an
// alias: the SQL parser's reserved words, the language's functions and a few
// words with a meaning of their own in PostgreSQL's grammar. Quoting more
// than strictly needed is harmless; quoting less is a parse error.
const KEYWORDS = new Set(
  [
    "all", "alter", "add", "and", "any", "array", "as", "asc", "at", "between", "by", "call", "case", "cast",
    "check", "collate", "column", "constraint", "contains", "create", "cross", "current_date", "current_time",
    "current_timestamp", "current_user", "date", "datetime", "default", "delete", "desc", "distinct", "drop",
    "else", "end", "escape", "except", "exists", "explain", "false", "fetch", "filter", "for", "foreign", "from",
    "full", "global", "grant", "group", "having", "ilike", "in", "inner", "insert", "intersect", "interval",
    "into", "is", "join", "json", "lateral", "left", "like", "limit", "local", "natural", "not", "null", "nulls",
    "offset", "on", "only", "or", "order", "outer", "over", "partition", "persist", "persist_only", "primary",
    "recursive", "references", "rename", "returning", "right", "row", "rows", "select", "session",
    "session_user", "set", "show", "similar", "some", "system_user", "table", "then", "time", "timestamp",
    "true", "truncate", "union", "unique", "update", "user", "using", "values", "when", "where", "window", "with",
    "count", "sum", "avg", "var", "stddev", "min", "max", "median", "quantile", "histogram", "corr", "covar",
    "regr_slope", "regr_intercept", "regr_r2",
  ],
);

const BARE = /^[a-z_][a-z0-9_]*$/;

/**
 * A column name or alias as SQL text: bare when it is lowercase letters,
 * digits and `_` and not a keyword, else in double quotes.
 *
 * @throws QueryError for a name the language cannot quote (empty, or holding `"` or a backslash)
 * @example
 * formatIdentifier("price")      // price
 * formatIdentifier("Unit Price") // "Unit Price"
 * formatIdentifier("order")      // "order"
 */
export function formatIdentifier(name: string): string {
  if (BARE.test(name) && !KEYWORDS.has(name)) return name;
  return quoteIdentifier(name);
}

/**
 * A name in double quotes, as datasets are always written.
 *
 * @throws QueryError for a name the language cannot quote (empty, or holding `"` or a backslash)
 */
export function quoteIdentifier(name: string): string {
  if (name === "" || name.includes('"') || name.includes("\\")) {
    throw new QueryError(`the name ${JSON.stringify(name)} cannot be written in a query`);
  }
  return `"${name}"`;
}
