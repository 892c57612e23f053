import { decimalPlaces, parseIsoDate } from "@scmpc/tables/values";
import { formatAggregate, formatLiteral } from "./format-query.ts";
import { aggregateColumns, type AggregateItem, type Literal, type Predicate, type Query } from "./query-ast.ts";
import { QueryError } from "./query-error.ts";
import { MAX_GROUPS } from "./query-limits.ts";

/** Column types of a dataset schema. */
export type QueryColumnType = "int" | "decimal" | "category" | "bool" | "date";

/**
 * What {@link checkQuery} reads of a column: its name and type, its
 * fixed-point `scale` (decimal places; 0 for int), its public bounds as
 * decimal text, and for a category column its public dictionary of values.
 */
export interface QueryColumn {
  name: string;
  type: QueryColumnType;
  scale: number;
  lo: string;
  hi: string;
  categories?: readonly string[];
}

/** What {@link checkQuery} reads of a dataset schema. */
export interface QuerySchema {
  columns: readonly QueryColumn[];
}

const NUMERIC: readonly QueryColumnType[] = ["int", "decimal"];
const ORDERED: readonly QueryColumnType[] = ["int", "decimal", "date"];
const LISTED_VALUES = 20;

/**
 * Checks a parsed query against the schema of the datasets it reads: every
 * column exists; numeric aggregates read int or decimal columns (min, max,
 * median, quantile and histogram also date columns); GROUP BY reads category
 * or bool columns and makes at most {@link MAX_GROUPS} groups; every constant
 * fits the column it is compared with (a number within the column's scale, a
 * value of a category's dictionary, an ISO date, TRUE or FALSE).
 *
 * @throws QueryError (`QUERY_INVALID`) naming the column and what does not fit
 * @example
 * checkQuery(parseQuery(`SELECT avg(salary) FROM "0x…" WHERE dept = 'eng'`), schema);
 */
export function checkQuery(query: Query, schema: QuerySchema): void {
  const columns = new Map(schema.columns.map((column) => [column.name, column]));
  const lookup = (name: string): QueryColumn => {
    const column = columns.get(name);
    if (column === undefined) {
      const names = schema.columns.map((c) => c.name).join(", ");
      throw new QueryError(`column "${name}" is not in the schema (columns: ${names})`);
    }
    return column;
  };
  for (const item of query.select) {
    if (item.kind === "aggregate") checkAggregate(item, lookup);
    else lookup(item.column);
  }
  if (query.where !== undefined) checkPredicate(query.where, lookup);
  let groups = 1;
  const factors: string[] = [];
  for (const name of query.groupBy) {
    const column = lookup(name);
    if (column.type !== "category" && column.type !== "bool") {
      throw new QueryError(`GROUP BY "${name}": only category and bool columns can be grouped by (it is ${article(column.type)} column)`);
    }
    const size = column.type === "bool" ? 2 : (column.categories ?? []).length;
    groups *= size;
    factors.push(`${name}: ${size}`);
  }
  if (groups > MAX_GROUPS) {
    throw new QueryError(`GROUP BY makes ${groups} groups (${factors.join(" × ")}); at most ${MAX_GROUPS} are accepted`);
  }
}

function checkAggregate(item: AggregateItem, lookup: (name: string) => QueryColumn): void {
  const call = formatAggregate(item);
  const read = aggregateColumns(item).map(lookup);
  switch (item.fn) {
    case "count":
      return;
    case "min":
    case "max":
    case "median":
    case "quantile":
      requireType(call, read[0], ORDERED, "an int, decimal or date column");
      return;
    case "histogram": {
      const column = read[0];
      requireType(call, column, ORDERED, "an int, decimal or date column");
      for (const edge of item.edges) {
        if (column.type === "date" ? edge.kind !== "string" : edge.kind !== "number") {
          const want = column.type === "date" ? "dates written 'YYYY-MM-DD'" : "numbers";
          throw new QueryError(`${call}: the edges of "${column.name}" must be ${want}, not ${formatLiteral(edge)}`);
        }
        if (edge.kind === "number" && decimalPlaces(edge.text) > column.scale) {
          throw new QueryError(`${call}: the edge ${edge.text} has more decimals than column "${column.name}" (scale ${column.scale})`);
        }
      }
      return;
    }
    default:
      for (const column of read) requireType(call, column, NUMERIC, "an int or decimal column");
  }
}

function requireType(call: string, column: QueryColumn, types: readonly QueryColumnType[], want: string): void {
  if (!types.includes(column.type)) {
    throw new QueryError(`${call} needs ${want}; "${column.name}" is ${article(column.type)} column`);
  }
}

function checkPredicate(predicate: Predicate, lookup: (name: string) => QueryColumn): void {
  switch (predicate.op) {
    case "and":
    case "or":
      for (const arg of predicate.args) checkPredicate(arg, lookup);
      return;
    case "not":
      checkPredicate(predicate.arg, lookup);
      return;
    case "null":
      lookup(predicate.column);
      return;
    case "cmp": {
      const column = lookup(predicate.column);
      if (predicate.cmp !== "=" && predicate.cmp !== "<>") requireOrdered(column, predicate.cmp);
      checkConstant(column, predicate.value);
      return;
    }
    case "between": {
      const column = lookup(predicate.column);
      requireOrdered(column, "BETWEEN");
      checkConstant(column, predicate.lo);
      checkConstant(column, predicate.hi);
      return;
    }
    case "in": {
      const column = lookup(predicate.column);
      for (const value of predicate.values) checkConstant(column, value);
      return;
    }
  }
}

function requireOrdered(column: QueryColumn, operator: string): void {
  if (column.type === "category" || column.type === "bool") {
    throw new QueryError(`"${column.name}" is ${article(column.type)} column: compare it with =, <> or IN, not ${operator}`);
  }
}

function checkConstant(column: QueryColumn, value: Literal): void {
  const shown = formatLiteral(value);
  switch (column.type) {
    case "int":
    case "decimal":
      if (value.kind !== "number") throw new QueryError(`"${column.name}" is compared with ${shown}, not a number`);
      if (decimalPlaces(value.text) > column.scale) {
        throw new QueryError(`"${column.name}" is compared with ${shown}, which has more decimals than its scale (${column.scale})`);
      }
      return;
    case "date":
      if (value.kind !== "string" || parseIsoDate(value.text) === undefined) {
        throw new QueryError(`"${column.name}" is compared with ${shown}, not a date written 'YYYY-MM-DD'`);
      }
      return;
    case "bool":
      if (value.kind !== "bool") throw new QueryError(`"${column.name}" is compared with ${shown}, not TRUE or FALSE`);
      return;
    case "category": {
      const dictionary = column.categories ?? [];
      if (value.kind !== "string") {
        throw new QueryError(`"${column.name}" is compared with ${shown}, not one of its categories (${listValues(dictionary)})`);
      }
      if (!dictionary.includes(value.text)) {
        throw new QueryError(`"${column.name}" is compared with ${shown}, which is not in its dictionary (${listValues(dictionary)})`);
      }
      return;
    }
  }
}

function listValues(dictionary: readonly string[]): string {
  const shown = dictionary.slice(0, LISTED_VALUES).map((value) => `'${value.replaceAll("'", "''")}'`);
  return dictionary.length > LISTED_VALUES ? `${shown.join(", ")}, … ${dictionary.length} in all` : shown.join(", ");
}

function article(type: QueryColumnType): string {
  return type === "int" ? "an int" : `a ${type}`;
}
