import type { Aggregate, DatasetRef, Literal, Predicate, Query, SelectItem } from "./query-ast.ts";
import { QueryError } from "./query-error.ts";
import { formatIdentifier, quoteIdentifier } from "./sql-identifier.ts";

/**
 * The canonical SQL text of a query: one line, keywords in capitals, names
 * quoted only where needed, datasets always quoted, numbers as their
 * canonical decimals. `query.text` is not read. For every query `q` that
 * {@link parseQuery} returns, `parseQuery(formatQuery(q))` equals `q` but for
 * `text`.
 *
 * @throws QueryError for a name or string the language cannot write (a `"` in a name, a backslash in a string)
 * @example
 * formatQuery(parseQuery(`select SUM(price*discount) from "0x…" where quantity<24`))
 * // SELECT sum(price * discount) FROM "0x…" WHERE quantity < 24
 */
export function formatQuery(query: Omit<Query, "text"> & { text?: string }): string {
  const parts = [`SELECT ${query.select.map(formatSelectItem).join(", ")}`, `FROM ${query.from.map(formatDataset).join(", ")}`];
  if (query.where !== undefined) parts.push(`WHERE ${formatPredicate(query.where)}`);
  if (query.groupBy.length > 0) parts.push(`GROUP BY ${query.groupBy.map(formatIdentifier).join(", ")}`);
  return parts.join(" ");
}

/**
 * A predicate as SQL text. OR inside AND and AND inside OR are put in
 * parentheses, and so is every argument of NOT.
 *
 * @example
 * formatPredicate({ op: "null", column: "age", negated: true }) // age IS NOT NULL
 */
export function formatPredicate(predicate: Predicate): string {
  switch (predicate.op) {
    case "and":
    case "or":
      return predicate.args
        .map((arg) => (arg.op === "and" || arg.op === "or" ? `(${formatPredicate(arg)})` : formatPredicate(arg)))
        .join(predicate.op === "and" ? " AND " : " OR ");
    case "not":
      return `NOT (${formatPredicate(predicate.arg)})`;
    case "cmp":
      return `${formatIdentifier(predicate.column)} ${predicate.cmp} ${formatLiteral(predicate.value)}`;
    case "between": {
      const between = predicate.negated ? "NOT BETWEEN" : "BETWEEN";
      return `${formatIdentifier(predicate.column)} ${between} ${formatLiteral(predicate.lo)} AND ${formatLiteral(predicate.hi)}`;
    }
    case "in": {
      const values = predicate.values.map(formatLiteral).join(", ");
      return `${formatIdentifier(predicate.column)} ${predicate.negated ? "NOT IN" : "IN"} (${values})`;
    }
    case "null":
      return `${formatIdentifier(predicate.column)} ${predicate.negated ? "IS NOT NULL" : "IS NULL"}`;
  }
}

/**
 * A constant as SQL text: the decimal, the string in single quotes (a quote
 * doubled), TRUE or FALSE.
 *
 * @throws QueryError for a string holding a backslash, which the language refuses
 * @example
 * formatLiteral({ kind: "string", text: "O'Brien" }) // 'O''Brien'
 */
export function formatLiteral(literal: Literal): string {
  switch (literal.kind) {
    case "number":
      return literal.text;
    case "bool":
      return literal.value ? "TRUE" : "FALSE";
    case "string":
      if (literal.text.includes("\\")) {
        throw new QueryError(`the string ${JSON.stringify(literal.text)} holds a backslash, which a query cannot write`);
      }
      return `'${literal.text.replaceAll("'", "''")}'`;
  }
}

/**
 * An aggregate call as SQL text, also the default name of its result column.
 *
 * @example
 * formatAggregate({ fn: "quantile", column: "age", p: "0.9" }) // quantile(age, 0.9)
 */
export function formatAggregate(aggregate: Aggregate): string {
  const column = formatIdentifier;
  switch (aggregate.fn) {
    case "count":
      return `count(${aggregate.column === undefined ? "*" : column(aggregate.column)})`;
    case "sum":
    case "avg": {
      const arg = aggregate.arg;
      return `${aggregate.fn}(${"product" in arg ? `${column(arg.product[0])} * ${column(arg.product[1])}` : column(arg.column)})`;
    }
    case "quantile":
      return `quantile(${column(aggregate.column)}, ${aggregate.p})`;
    case "histogram":
      return `histogram(${[column(aggregate.column), ...aggregate.edges.map(formatLiteral)].join(", ")})`;
    case "corr":
    case "covar":
      return `${aggregate.fn}(${column(aggregate.x)}, ${column(aggregate.y)})`;
    case "regr_slope":
    case "regr_intercept":
    case "regr_r2":
      return `${aggregate.fn}(${column(aggregate.y)}, ${column(aggregate.x)})`;
    case "linear_regression":
      return `linear_regression(${[aggregate.y, ...aggregate.x].map(column).join(", ")})`;
    default:
      return `${aggregate.fn}(${column(aggregate.column)})`;
  }
}

function formatSelectItem(item: SelectItem): string {
  const body = item.kind === "column" ? formatIdentifier(item.column) : formatAggregate(item);
  return item.alias === undefined ? body : `${body} AS ${formatIdentifier(item.alias)}`;
}

function formatDataset(ref: DatasetRef): string {
  return quoteIdentifier(ref.kind === "id" ? ref.id : `${ref.seller}/${ref.name}`);
}
