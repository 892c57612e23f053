// The buyer's query language: a SQL subset parsed into a typed query AST,
// checked against a dataset schema, printed back as canonical SQL. Loads in a
// browser as well as in Node (nothing here imports a Node built-in).
export { parseQuery } from "./parse-query.ts";
export { checkQuery, type QueryColumn, type QueryColumnType, type QuerySchema } from "./check-query.ts";
export { formatQuery, formatPredicate, formatLiteral, formatAggregate } from "./format-query.ts";
export { QueryError, type QueryPosition } from "./query-error.ts";
export {
  AGGREGATE_FUNCTIONS,
  aggregateColumns,
  type Aggregate,
  type AggregateFunction,
  type AggregateItem,
  type BoolLiteral,
  type ColumnExpr,
  type ColumnItem,
  type Comparison,
  type DatasetRef,
  type Literal,
  type NumberLiteral,
  type Predicate,
  type Query,
  type SelectItem,
  type StringLiteral,
} from "./query-ast.ts";
export {
  MAX_AGGREGATES,
  MAX_DATASETS,
  MAX_GROUPS,
  MAX_HISTOGRAM_EDGES,
  MAX_IN_VALUES,
  MAX_PREDICATE_TERMS,
  MAX_QUERY_LENGTH,
} from "./query-limits.ts";
export { canonicalDecimal, compareDecimals } from "./decimal-text.ts";
