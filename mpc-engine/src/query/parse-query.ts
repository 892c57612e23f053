// node-sql-parser ships CommonJS bundles without named ESM exports; its
// single-dialect build is the smallest, and requires nothing from Node.
import sqlParser from "node-sql-parser/build/postgresql.js";
import { canonicalDecimal, compareDecimals } from "./decimal-text.ts";
import { formatLiteral } from "./format-query.ts";
import { parseIsoDate } from "@scmpc/tables/values";
import { positionAt, scanNumericLiterals } from "./numeric-literals.ts";
import {
  AGGREGATE_FUNCTIONS,
  type AggregateFunction,
  type AggregateItem,
  type ColumnExpr,
  type Comparison,
  type DatasetRef,
  type Literal,
  type NumberLiteral,
  type Predicate,
  type Query,
  type SelectItem,
  type StringLiteral,
} from "./query-ast.ts";
import { QueryError } from "./query-error.ts";
import {
  MAX_AGGREGATES,
  MAX_DATASETS,
  MAX_HISTOGRAM_EDGES,
  MAX_IN_VALUES,
  MAX_PREDICATE_TERMS,
  MAX_QUERY_LENGTH,
} from "./query-limits.ts";

// The grammar is PostgreSQL's because it reads double-quoted names as
// identifiers everywhere (MySQL's reads them as strings in expressions), and
// dataset ids and addresses are written as quoted names: "0x…", "0x…/name".
// The parser's AST is read defensively (as untyped nodes) and mapped onto the
// query AST; anything not mapped is refused with the construct's name.
//
// Two things of the parser are not trusted. Numbers: it reads some through
// floats, so their text comes from `numeric-literals.ts`. AND/OR: version
// 5.4.0 gives them one precedence, left to right (`a OR b AND c` comes back
// as `(a OR b) AND c`; upstream issue #1154), so a mix of AND and OR without
// parentheses is refused rather than read differently from SQL.

/** A node of node-sql-parser's AST, read without trusting its typings. */
type SqlNode = { type?: unknown; [key: string]: unknown };

const parser = new sqlParser.Parser();

const DATASET_ID = /^0x[0-9a-fA-F]{64}$/;
const DATASET_ADDRESS = /^(0x[0-9a-fA-F]{40})\/([^]+)$/;
const COMPARISONS: Record<string, Comparison> = { "=": "=", "<>": "<>", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">=" };
const FLIPPED: Record<Comparison, Comparison> = { "=": "=", "<>": "<>", "<": ">", "<=": ">=", ">": "<", ">=": "<=" };
const AGGREGATE_LIST = AGGREGATE_FUNCTIONS.join(", ");

/**
 * Parses a buyer's query into the query AST:
 * `SELECT <aggregates>[, <columns>] FROM <datasets> [WHERE <predicate>] [GROUP BY <columns>]`.
 * Checks the language only (shapes, literals, caps); {@link checkQuery}
 * checks the query against a dataset's schema.
 *
 * @throws QueryError (`QUERY_INVALID`) naming the construct that is not accepted, with the position of a syntax error
 * @example
 * const q = parseQuery(`SELECT avg(salary), dept FROM "0x70997970C51812dc3A010C7d01b50e0d17dc79C8/salaries" GROUP BY dept`);
 * q.select[0] // { kind: "aggregate", fn: "avg", arg: { column: "salary" } }
 */
export function parseQuery(text: string): Query {
  if (text.length > MAX_QUERY_LENGTH) {
    throw new QueryError(`the query is ${text.length} characters long; at most ${MAX_QUERY_LENGTH} are accepted`);
  }
  const reader = new QueryReader(scanNumericLiterals(text));
  return reader.query(parseStatement(text), text);
}

function parseStatement(text: string): SqlNode {
  let ast: unknown;
  try {
    ast = parser.astify(text, { database: "postgresql", trimQuery: false });
  } catch (err) {
    if (err instanceof RangeError) throw new QueryError("the query nests too deeply", { cause: err });
    throw syntaxError(err, text);
  }
  const statements = (Array.isArray(ast) ? ast : [ast]) as SqlNode[];
  if (statements.length === 0) throw new QueryError("the query is empty");
  if (statements.length > 1) throw new QueryError(`a query is one SELECT statement, not ${statements.length}`);
  const statement = statements[0];
  if (statement.type !== "select") {
    throw new QueryError(`only SELECT is supported, not ${String(statement.type).toUpperCase()}`);
  }
  return statement;
}

function syntaxError(err: unknown, text: string): QueryError {
  const { found, location } = err as { found?: unknown; location?: { start?: { offset?: unknown } } };
  const offset = location?.start?.offset;
  if (typeof offset !== "number") return new QueryError("the query could not be parsed", { cause: err });
  const position = positionAt(text, offset);
  const what = typeof found === "string" ? JSON.stringify(found) : "end of input";
  return new QueryError(`syntax error at line ${position.line}, column ${position.column}: unexpected ${what}`, {
    cause: err,
    position,
  });
}

/**
 * Maps one SELECT statement. Reads its parts in the order they are written
 * (SELECT list, WHERE, GROUP BY) so that number nodes meet the numeric
 * literals of the text in order.
 */
class QueryReader {
  private nextNumber = 0;
  private predicateTerms = 0;

  constructor(private readonly numbers: string[]) {}

  query(statement: SqlNode, text: string): Query {
    rejectClauses(statement);
    const from = readFrom(statement.from);
    const select = this.selectList(statement.columns);
    const where = statement.where == null ? undefined : this.predicate(node(statement.where));
    const groupBy = readGroupBy(statement.groupby);
    checkSelectShape(select, groupBy);
    return where === undefined ? { select, from, groupBy, text } : { select, from, where, groupBy, text };
  }

  private selectList(columns: unknown): SelectItem[] {
    if (!Array.isArray(columns)) throw new QueryError("SELECT * is not supported: name the aggregates");
    return columns.map((item: SqlNode) => {
      const expr = node(item.expr);
      const alias = typeof item.as === "string" ? { alias: item.as } : {};
      if (expr.type === "column_ref" && isStar(expr)) throw new QueryError("SELECT * is not supported: name the aggregates");
      if (expr.type === "column_ref") return { kind: "column", column: readColumn(expr), ...alias };
      if (expr.type === "aggr_func" || expr.type === "function") return { ...this.aggregate(expr), ...alias };
      throw new QueryError(`${describe(expr)} in SELECT is not supported: SELECT lists aggregates and GROUP BY columns`);
    });
  }

  private aggregate(expr: SqlNode): AggregateItem {
    const fn = functionName(expr);
    if (!isAggregateFunction(fn)) {
      throw new QueryError(`function ${fn}() is not supported; aggregates: ${AGGREGATE_LIST}`);
    }
    if (expr.over != null) throw new QueryError(`window functions (${fn}() OVER) are not supported`);
    if (expr.filter != null) throw new QueryError(`FILTER is not supported: put the condition in WHERE`);
    const args = functionArgs(expr);
    const arity = (n: number): void => {
      if (args.length !== n) throw new QueryError(`${fn}() takes ${n} argument${n === 1 ? "" : "s"}, not ${args.length}`);
    };
    switch (fn) {
      case "count": {
        arity(1);
        const arg = args[0];
        if (arg.type === "star") return { kind: "aggregate", fn };
        if (arg.type === "column_ref" && !isStar(arg)) return { kind: "aggregate", fn, column: readColumn(arg) };
        throw new QueryError(`count() takes * or a column, not ${describe(arg)}`);
      }
      case "sum":
      case "avg":
        arity(1);
        return { kind: "aggregate", fn, arg: readColumnExpr(fn, args[0]) };
      case "var":
      case "stddev":
      case "min":
      case "max":
      case "median":
        arity(1);
        return { kind: "aggregate", fn, column: readColumnArg(fn, args[0]) };
      case "quantile": {
        arity(2);
        const column = readColumnArg(fn, args[0]);
        const p = this.literal(args[1]);
        if (p.kind !== "number" || compareDecimals(p.text, "0") < 0 || compareDecimals(p.text, "1") > 0) {
          throw new QueryError(`quantile() takes a probability between 0 and 1 as its second argument, not ${formatLiteral(p)}`);
        }
        return { kind: "aggregate", fn, column, p: p.text };
      }
      case "histogram": {
        if (args.length < 2) throw new QueryError("histogram() takes a column and at least one edge");
        if (args.length - 1 > MAX_HISTOGRAM_EDGES) {
          throw new QueryError(`histogram() has ${args.length - 1} edges; at most ${MAX_HISTOGRAM_EDGES} are accepted`);
        }
        const column = readColumnArg(fn, args[0]);
        return { kind: "aggregate", fn, column, edges: readEdges(args.slice(1).map((arg) => this.literal(arg))) };
      }
      case "corr":
      case "covar":
        arity(2);
        return { kind: "aggregate", fn, x: readColumnArg(fn, args[0]), y: readColumnArg(fn, args[1]) };
      case "regr_slope":
      case "regr_intercept":
      case "regr_r2":
        // SQL's order: the dependent variable first.
        arity(2);
        return { kind: "aggregate", fn, y: readColumnArg(fn, args[0]), x: readColumnArg(fn, args[1]) };
    }
  }

  private predicate(expr: SqlNode): Predicate {
    if (isSubquery(expr)) throw new QueryError("subqueries are not supported");
    if (expr.type === "unary_expr" && expr.operator === "NOT") return { op: "not", arg: this.predicate(node(expr.expr)) };
    if (expr.type === "function") {
      const name = functionName(expr);
      const args = functionArgs(expr);
      if (name === "not" && args.length === 1) return { op: "not", arg: this.predicate(args[0]) };
      if (name === "exists") throw new QueryError("subqueries are not supported");
      throw new QueryError(`function ${name}() is not supported in WHERE: compare a column with constants`);
    }
    if (expr.type === "column_ref") {
      const column = readColumn(expr);
      throw new QueryError(`a bare column ("${column}") is not a predicate; compare it, e.g. "${column}" = TRUE`);
    }
    if (expr.type !== "binary_expr") throw new QueryError(`${describe(expr)} is not a predicate`);
    const operator = String(expr.operator).toUpperCase();
    const left = node(expr.left);
    const right = node(expr.right);
    if (operator === "AND" || operator === "OR") {
      for (const side of [left, right]) {
        const inner = side.type === "binary_expr" ? String(side.operator).toUpperCase() : "";
        if ((inner === "AND" || inner === "OR") && inner !== operator && side.parentheses !== true) {
          throw new QueryError("AND and OR are mixed without parentheses: write (a AND b) OR c, or a AND (b OR c)");
        }
      }
      const op = operator === "AND" ? "and" : "or";
      const args = [left, right].flatMap((side) => {
        const p = this.predicate(side);
        return p.op === op ? p.args : [p];
      });
      return { op, args };
    }
    this.countTerm();
    const comparison = COMPARISONS[operator];
    if (comparison !== undefined) return this.comparison(comparison, left, right);
    switch (operator) {
      case "BETWEEN":
      case "NOT BETWEEN": {
        const column = predicateColumn(operator, left);
        const bounds = listValues(right);
        if (bounds.length !== 2) throw new QueryError(`${operator} takes two constants`);
        return { op: "between", column, lo: this.literal(bounds[0]), hi: this.literal(bounds[1]), negated: operator === "NOT BETWEEN" };
      }
      case "IN":
      case "NOT IN": {
        const column = predicateColumn(operator, left);
        const values = listValues(right);
        if (values.length > MAX_IN_VALUES) {
          throw new QueryError(`${operator} lists ${values.length} values; at most ${MAX_IN_VALUES} are accepted`);
        }
        return { op: "in", column, values: values.map((value) => this.literal(value)), negated: operator === "NOT IN" };
      }
      case "IS":
      case "IS NOT": {
        const column = predicateColumn(operator, left);
        if (right.type === "null") return { op: "null", column, negated: operator === "IS NOT" };
        const value = right.type === "bool" ? (right.value ? "TRUE" : "FALSE") : describe(right);
        throw new QueryError(`${operator} ${value} is not supported: ${operator} takes NULL; compare with = TRUE or = FALSE`);
      }
      default:
        throw new QueryError(
          `operator ${operator} is not supported in WHERE; predicates use =, <>, <, <=, >, >=, BETWEEN, IN, IS NULL, AND, OR, NOT`,
        );
    }
  }

  private comparison(cmp: Comparison, left: SqlNode, right: SqlNode): Predicate {
    const leftColumn = left.type === "column_ref";
    const rightColumn = right.type === "column_ref";
    if (leftColumn && rightColumn) {
      throw new QueryError(
        `"${readColumn(left)}" ${cmp} "${readColumn(right)}" compares two columns; predicates compare a column with constants`,
      );
    }
    if (leftColumn) return { op: "cmp", column: readColumn(left), cmp, value: this.literal(right) };
    if (rightColumn) {
      const value = this.literal(left);
      return { op: "cmp", column: readColumn(right), cmp: FLIPPED[cmp], value };
    }
    for (const side of [left, right]) {
      if (side.type === "aggr_func" || side.type === "function") {
        throw new QueryError(`${describe(side)} in WHERE is not supported: predicates compare a column with constants`);
      }
      if (isSubquery(side)) throw new QueryError("subqueries are not supported");
    }
    throw new QueryError(`a comparison needs a column on one side; predicates compare a column with constants`);
  }

  private literal(expr: SqlNode): Literal {
    switch (expr.type) {
      case "number":
      case "bigint":
        return { kind: "number", text: this.number(expr.value) };
      case "unary_expr": {
        if (expr.operator !== "-" && expr.operator !== "+") break;
        const inner = this.literal(node(expr.expr));
        if (inner.kind !== "number") break;
        if (expr.operator === "+") return inner;
        return { kind: "number", text: canonicalDecimal(inner.text.startsWith("-") ? inner.text.slice(1) : `-${inner.text}`)! };
      }
      case "single_quote_string":
        return { kind: "string", text: String(expr.value).replaceAll("''", "'") };
      case "date": {
        const text = String(expr.value);
        if (parseIsoDate(text) === undefined) throw new QueryError(`DATE '${text}' is not a date written YYYY-MM-DD`);
        return { kind: "string", text };
      }
      case "bool":
        return { kind: "bool", value: expr.value === true };
      case "null":
        throw new QueryError("NULL is not a constant here: test for missing values with IS NULL");
      default:
        if (isSubquery(expr)) throw new QueryError("subqueries are not supported");
    }
    throw new QueryError(`${describe(expr)} is not a constant; constants are numbers, 'strings', TRUE and FALSE`);
  }

  /**
   * The exact canonical text of the next numeric literal. The parser's value
   * only says where the sign is and confirms the pairing: it may have gone
   * through a float.
   */
  private number(parsed: unknown): string {
    const written = this.numbers[this.nextNumber++];
    if (written === undefined || !sameMagnitude(written, parsed)) {
      throw new QueryError(`the numeric literal ${String(parsed)} could not be read exactly`);
    }
    if (/[eE]/.test(written)) throw new QueryError(`the number ${written} has an exponent; write it as a plain decimal`);
    const negative = String(parsed).trimStart().startsWith("-");
    return canonicalDecimal(negative ? `-${written}` : written)!;
  }

  private countTerm(): void {
    this.predicateTerms += 1;
    if (this.predicateTerms > MAX_PREDICATE_TERMS) {
      throw new QueryError(`WHERE has more than ${MAX_PREDICATE_TERMS} comparisons`);
    }
  }
}

function sameMagnitude(written: string, parsed: unknown): boolean {
  const a = Number(written);
  const b = Math.abs(Number(parsed));
  return a === b || Math.abs(a - b) <= 1e-9 * Math.max(a, b);
}

// Every key of a SELECT statement node that rejectClauses or QueryReader reads.
const STATEMENT_KEYS = new Set(
  ["type", "columns", "from", "where", "groupby", "with", "_next", "set_op", "distinct", "into", "having", "orderby", "limit", "window"],
);

/** Refuses every clause but SELECT, FROM, WHERE and GROUP BY, by name. */
function rejectClauses(statement: SqlNode): void {
  if (statement.with != null) throw new QueryError("WITH (common table expressions) is not supported");
  if (statement._next != null || statement.set_op != null) {
    const op = String(statement.set_op ?? "union").toUpperCase();
    throw new QueryError(`${op} is not supported: list several datasets in FROM to read their union`);
  }
  if (node(statement.distinct).type != null) throw new QueryError("DISTINCT is not supported");
  const into = node(statement.into);
  if (into.position != null || into.expr != null) throw new QueryError("SELECT INTO is not supported");
  if (statement.having != null) throw new QueryError("HAVING is not supported");
  if (statement.orderby != null) throw new QueryError("ORDER BY is not supported");
  const limit = node(statement.limit);
  if (Array.isArray(limit.value) && limit.value.length > 0) {
    const offsetOnly = limit.seperator === "offset" && limit.value.length === 1;
    throw new QueryError(`${offsetOnly ? "OFFSET" : "LIMIT"} is not supported`);
  }
  if (statement.window != null) throw new QueryError("WINDOW is not supported");
  for (const [key, value] of Object.entries(statement)) {
    if (!STATEMENT_KEYS.has(key) && value != null && value !== false) {
      throw new QueryError(`this SQL construct is not supported (${key})`);
    }
  }
}

function readFrom(from: unknown): DatasetRef[] {
  if (!Array.isArray(from) || from.length === 0) throw new QueryError("a query reads FROM at least one dataset");
  const items = from as SqlNode[];
  if (items.some((item) => item.join != null)) {
    throw new QueryError("JOIN is not supported: a query reads one table (or the union of several datasets of one schema)");
  }
  if (items.length > MAX_DATASETS) {
    throw new QueryError(`FROM lists ${items.length} datasets; at most ${MAX_DATASETS} are accepted`);
  }
  const seen = new Set<string>();
  return items.map((item) => {
    if (item.expr != null) {
      if (isSubquery(node(item.expr))) throw new QueryError("subqueries are not supported");
      throw new QueryError(`${describe(node(item.expr))} in FROM is not supported: FROM names datasets in double quotes`);
    }
    if (typeof item.table !== "string") throw new QueryError("FROM names datasets in double quotes");
    const written = [item.db, item.schema, item.table].filter((part) => typeof part === "string").join(".");
    if (written !== item.table) throw new QueryError(datasetNameError(written));
    if (item.as != null) throw new QueryError(`dataset aliases are not supported ("${written}" AS ${String(item.as)})`);
    for (const [key, value] of Object.entries(item)) {
      if (!["db", "table", "as", "loc"].includes(key) && value != null) {
        throw new QueryError(`this SQL construct is not supported in FROM (${key})`);
      }
    }
    const ref = readDatasetRef(item.table);
    const key = ref.kind === "id" ? ref.id : `${ref.seller}/${ref.name}`;
    if (seen.has(key)) throw new QueryError(`dataset "${item.table}" is listed twice in FROM`);
    seen.add(key);
    return ref;
  });
}

function readDatasetRef(name: string): DatasetRef {
  if (DATASET_ID.test(name)) return { kind: "id", id: name.toLowerCase() };
  const address = DATASET_ADDRESS.exec(name);
  if (address !== null) return { kind: "address", seller: address[1].toLowerCase(), name: address[2] };
  throw new QueryError(datasetNameError(name));
}

function datasetNameError(name: string): string {
  return `dataset ${name}: name a dataset by its id "0x…" (64 hex digits) or its address "<seller address>/<name>", in double quotes`;
}

function readGroupBy(groupby: unknown): string[] {
  if (groupby == null) return [];
  const group = node(groupby);
  for (const [key, value] of Object.entries(group)) {
    if (key !== "columns" && value != null) throw new QueryError(`this GROUP BY construct is not supported (${key})`);
  }
  const items = Array.isArray(group.columns) ? (group.columns as SqlNode[]) : [];
  const columns: string[] = [];
  for (const item of items) {
    if (item.type === "number" || item.type === "bigint") {
      throw new QueryError(`GROUP BY takes column names, not positions (GROUP BY ${String(item.value)})`);
    }
    if (item.type !== "column_ref" || isStar(item)) {
      throw new QueryError(`GROUP BY takes plain column names, not ${describe(item)}`);
    }
    const column = readColumn(item);
    if (columns.includes(column)) throw new QueryError(`column "${column}" appears twice in GROUP BY`);
    columns.push(column);
  }
  return columns;
}

function checkSelectShape(select: SelectItem[], groupBy: string[]): void {
  const aggregates = select.filter((item) => item.kind === "aggregate").length;
  if (aggregates === 0) throw new QueryError(`a query asks for at least one aggregate (${AGGREGATE_LIST})`);
  if (aggregates > MAX_AGGREGATES) {
    throw new QueryError(`the query asks for ${aggregates} aggregates; at most ${MAX_AGGREGATES} are accepted`);
  }
  const aliases = new Set<string>();
  for (const item of select) {
    if (item.kind === "column" && !groupBy.includes(item.column)) {
      throw new QueryError(`a non-aggregate column "${item.column}" in SELECT must appear in GROUP BY`);
    }
    if (item.alias !== undefined) {
      if (aliases.has(item.alias)) throw new QueryError(`the alias "${item.alias}" is used twice`);
      aliases.add(item.alias);
    }
  }
}

function readColumnExpr(fn: AggregateFunction, arg: SqlNode): ColumnExpr {
  if (arg.type === "binary_expr" && arg.operator === "*") {
    const left = node(arg.left);
    const right = node(arg.right);
    if (left.type === "column_ref" && right.type === "column_ref" && !isStar(left) && !isStar(right)) {
      return { product: [readColumn(left), readColumn(right)] };
    }
    throw new QueryError(`${fn}() takes a column or the product of two columns (${fn}(a * b))`);
  }
  return { column: readColumnArg(fn, arg) };
}

function readColumnArg(fn: AggregateFunction, arg: SqlNode): string {
  if (arg.type === "column_ref" && !isStar(arg)) return readColumn(arg);
  if (arg.type === "binary_expr" && arg.operator === "*") {
    throw new QueryError(`a product of columns is accepted inside sum() and avg() only, not ${fn}()`);
  }
  if (arg.type === "star" || (arg.type === "column_ref" && isStar(arg))) throw new QueryError(`${fn}(*) is not supported`);
  if (isSubquery(arg)) throw new QueryError("subqueries are not supported");
  throw new QueryError(`the argument of ${fn}() must be a column, not ${describe(arg)}`);
}

function readEdges(edges: Literal[]): (NumberLiteral | StringLiteral)[] {
  const numbers = edges.every((edge) => edge.kind === "number");
  const dates = edges.every((edge) => edge.kind === "string" && parseIsoDate(edge.text) !== undefined);
  if (!numbers && !dates) {
    throw new QueryError("histogram() edges are all numbers, or all dates written 'YYYY-MM-DD'");
  }
  const typed = edges as (NumberLiteral | StringLiteral)[];
  for (let i = 1; i < typed.length; i++) {
    const [a, b] = [typed[i - 1].text, typed[i].text];
    const order = numbers ? compareDecimals(a, b) : a < b ? -1 : a === b ? 0 : 1;
    if (order >= 0) {
      throw new QueryError(`histogram() edges must be strictly ascending (${formatLiteral(typed[i - 1])} then ${formatLiteral(typed[i])})`);
    }
  }
  return typed;
}

function predicateColumn(operator: string, left: SqlNode): string {
  if (left.type === "column_ref" && !isStar(left)) return readColumn(left);
  throw new QueryError(`${operator} needs a column on its left, not ${describe(left)}`);
}

function listValues(right: SqlNode): SqlNode[] {
  if (isSubquery(right)) throw new QueryError("subqueries are not supported");
  if (right.type !== "expr_list" || !Array.isArray(right.value)) throw new QueryError(`${describe(right)} is not a list of constants`);
  const values = right.value as SqlNode[];
  if (values.some(isSubquery)) throw new QueryError("subqueries are not supported");
  return values;
}

function readColumn(ref: SqlNode): string {
  if (ref.table != null) {
    throw new QueryError(`qualified column names are not supported (${nameText(ref.table)}.${nameText(ref.column)}); name the column alone`);
  }
  if (ref.collate != null) throw new QueryError("COLLATE is not supported");
  const name = nameText(ref.column);
  if (name === "") throw new QueryError("a column name is empty");
  return name;
}

/** A name as the parser gives it: a string, or `{ expr: { value } }`, or `{ value }`. */
function nameText(name: unknown): string {
  if (typeof name === "string") return name;
  const n = node(name);
  if (n.expr != null) return nameText(n.expr);
  return typeof n.value === "string" ? n.value : "";
}

function isStar(ref: SqlNode): boolean {
  return ref.column === "*";
}

function isSubquery(expr: SqlNode): boolean {
  return expr.ast != null;
}

function functionName(expr: SqlNode): string {
  if (expr.type === "aggr_func") return String(expr.name).toLowerCase();
  const name = node(expr.name);
  const parts = Array.isArray(name.name) ? (name.name as unknown[]).map(nameText) : [nameText(name)];
  if (name.schema != null) parts.unshift(nameText(name.schema));
  return parts.join(".").toLowerCase();
}

function functionArgs(expr: SqlNode): SqlNode[] {
  const args = node(expr.args);
  if (expr.type === "aggr_func") {
    if (args.distinct != null) throw new QueryError("DISTINCT is not supported");
    if (args.orderby != null) throw new QueryError("ORDER BY is not supported");
    if (args.separator != null) throw new QueryError(`the SEPARATOR of ${functionName(expr)}() is not supported`);
    return [node(args.expr)];
  }
  return Array.isArray(args.value) ? (args.value as SqlNode[]) : [];
}

function isAggregateFunction(name: string): name is AggregateFunction {
  return (AGGREGATE_FUNCTIONS as readonly string[]).includes(name);
}

/** A short name of an expression the language does not accept, for messages. */
function describe(expr: SqlNode): string {
  if (isSubquery(expr)) return "a subquery";
  switch (expr.type) {
    case "aggr_func":
    case "function":
      return `function ${functionName(expr)}()`;
    case "binary_expr":
    case "unary_expr":
      return `operator ${String(expr.operator)}`;
    case "column_ref":
      return isStar(expr) ? "*" : `column "${nameText(expr.column)}"`;
    case "star":
      return "*";
    case "cast":
      return "a cast";
    case "case":
      return "CASE";
    case "number":
    case "bigint":
      return `the number ${String(expr.value)}`;
    case "single_quote_string":
      return `the string '${String(expr.value)}'`;
    case "bool":
      return expr.value ? "TRUE" : "FALSE";
    case "null":
      return "NULL";
    case "var":
      return "a parameter or $-quoted string";
    default:
      return `an expression (${String(expr.type)})`;
  }
}

function node(value: unknown): SqlNode {
  return value !== null && typeof value === "object" ? (value as SqlNode) : {};
}
