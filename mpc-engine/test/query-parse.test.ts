import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import vm from "node:vm";
import fc from "fast-check";
import {
  checkQuery,
  formatQuery,
  parseQuery,
  QueryError,
  MAX_AGGREGATES,
  MAX_DATASETS,
  MAX_GROUPS,
  MAX_HISTOGRAM_EDGES,
  MAX_IN_VALUES,
  MAX_PREDICATE_TERMS,
  MAX_QUERY_LENGTH,
  type AggregateItem,
  type DatasetRef,
  type Literal,
  type NumberLiteral,
  type Predicate,
  type Query,
  type QuerySchema,
  type SelectItem,
  type StringLiteral,
} from "@scmpc/mpc-engine/query";
import { isMpcError } from "../src/index.ts";

// The buyer's query language: what parses into which AST, what is refused
// with which message, what the schema check refuses, and that the canonical
// text parses back to the same AST.

const ID = `0x${"ab".repeat(32)}`;
const ID2 = `0x${"0123456789abcdef".repeat(4)}`;
const SELLER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const FROM = `FROM "${ID}"`;

/** The query's meaning, without the text it was parsed from. */
function meaning(sql: string): Omit<Query, "text"> {
  const { text, ...rest } = parseQuery(sql);
  assert.equal(text, sql);
  return rest;
}

const whereOf = (predicate: string): Predicate | undefined => parseQuery(`SELECT count(*) ${FROM} WHERE ${predicate}`).where;
const selectOf = (items: string): SelectItem[] => parseQuery(`SELECT ${items} ${FROM}`).select;
const num = (text: string): NumberLiteral => ({ kind: "number", text });
const str = (text: string): StringLiteral => ({ kind: "string", text });

/** Asserts that `run` throws a QueryError (code QUERY_INVALID) whose message is `message` or matches it. */
function assertQueryError(run: () => unknown, message: string | RegExp): QueryError {
  let caught: unknown;
  try {
    run();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof QueryError, `expected a QueryError, got ${String(caught)}`);
  assert.ok(isMpcError(caught, "QUERY_INVALID"));
  if (typeof message === "string") assert.equal(caught.message, message);
  else assert.match(caught.message, message);
  return caught;
}

describe("query language: accepted shapes", () => {
  it("reads every aggregate", () => {
    const cases: [string, AggregateItem][] = [
      ["count(*)", { kind: "aggregate", fn: "count" }],
      ["count(age)", { kind: "aggregate", fn: "count", column: "age" }],
      ["sum(price)", { kind: "aggregate", fn: "sum", arg: { column: "price" } }],
      ["avg(price)", { kind: "aggregate", fn: "avg", arg: { column: "price" } }],
      ["sum(price * discount)", { kind: "aggregate", fn: "sum", arg: { product: ["price", "discount"] } }],
      ["avg((price*discount))", { kind: "aggregate", fn: "avg", arg: { product: ["price", "discount"] } }],
      ["var(price)", { kind: "aggregate", fn: "var", column: "price" }],
      ["stddev(price)", { kind: "aggregate", fn: "stddev", column: "price" }],
      ["min(price)", { kind: "aggregate", fn: "min", column: "price" }],
      ["max(price)", { kind: "aggregate", fn: "max", column: "price" }],
      ["median(price)", { kind: "aggregate", fn: "median", column: "price" }],
      ["quantile(price, 0.90)", { kind: "aggregate", fn: "quantile", column: "price", p: "0.9" }],
      ["quantile(price, 0)", { kind: "aggregate", fn: "quantile", column: "price", p: "0" }],
      ["quantile(price, 1)", { kind: "aggregate", fn: "quantile", column: "price", p: "1" }],
      [
        "histogram(price, -10, 0, 2.5, 100)",
        { kind: "aggregate", fn: "histogram", column: "price", edges: [num("-10"), num("0"), num("2.5"), num("100")] },
      ],
      [
        "histogram(shipdate, '1994-01-01', DATE '1995-01-01')",
        { kind: "aggregate", fn: "histogram", column: "shipdate", edges: [str("1994-01-01"), str("1995-01-01")] },
      ],
      ["corr(price, discount)", { kind: "aggregate", fn: "corr", x: "price", y: "discount" }],
      ["covar(price, discount)", { kind: "aggregate", fn: "covar", x: "price", y: "discount" }],
    ];
    for (const [sql, expected] of cases) assert.deepEqual(selectOf(sql), [expected], sql);
  });

  it("reads function names and keywords in any case, and keeps column names as written", () => {
    assert.deepEqual(meaning(`select COUNT(*), Median("Unit Price"), AVG(Qty) from "${ID}" where Qty >= 1`), {
      select: [
        { kind: "aggregate", fn: "count" },
        { kind: "aggregate", fn: "median", column: "Unit Price" },
        { kind: "aggregate", fn: "avg", arg: { column: "Qty" } },
      ],
      from: [{ kind: "id", id: ID }],
      where: { op: "cmp", column: "Qty", cmp: ">=", value: num("1") },
      groupBy: [],
    });
  });

  it("reads aliases with and without AS, quoted or not", () => {
    assert.deepEqual(selectOf(`sum(price) AS total, count(*) n, avg(price) AS "Mean price"`), [
      { kind: "aggregate", fn: "sum", arg: { column: "price" }, alias: "total" },
      { kind: "aggregate", fn: "count", alias: "n" },
      { kind: "aggregate", fn: "avg", arg: { column: "price" }, alias: "Mean price" },
    ]);
  });

  it("reads the TPC-H Q6 shape", () => {
    const sql =
      `SELECT sum(price * discount) FROM "${ID}" WHERE shipdate >= '1994-01-01' AND shipdate < '1995-01-01' ` +
      `AND discount BETWEEN 0.05 AND 0.07 AND quantity < 24`;
    assert.deepEqual(meaning(sql), {
      select: [{ kind: "aggregate", fn: "sum", arg: { product: ["price", "discount"] } }],
      from: [{ kind: "id", id: ID }],
      where: {
        op: "and",
        args: [
          { op: "cmp", column: "shipdate", cmp: ">=", value: str("1994-01-01") },
          { op: "cmp", column: "shipdate", cmp: "<", value: str("1995-01-01") },
          { op: "between", column: "discount", lo: num("0.05"), hi: num("0.07"), negated: false },
          { op: "cmp", column: "quantity", cmp: "<", value: num("24") },
        ],
      },
      groupBy: [],
    });
  });

  it("reads GROUP BY with the grouped columns anywhere in SELECT", () => {
    assert.deepEqual(meaning(`SELECT dept, avg(salary) AS mean, remote FROM "${ID}" GROUP BY dept, remote`), {
      select: [
        { kind: "column", column: "dept" },
        { kind: "aggregate", fn: "avg", arg: { column: "salary" }, alias: "mean" },
        { kind: "column", column: "remote" },
      ],
      from: [{ kind: "id", id: ID }],
      groupBy: ["dept", "remote"],
    });
    // A GROUP BY column need not be selected.
    assert.deepEqual(parseQuery(`SELECT count(*) ${FROM} GROUP BY dept`).groupBy, ["dept"]);
  });

  it("reads the union of datasets named by id and by address, in lowercase", () => {
    const sql = `SELECT count(*) FROM "${ID.toUpperCase().replace("0X", "0x")}", "${SELLER}/salaries 2024", "${ID2}", "${SELLER}/a/b"`;
    assert.deepEqual(parseQuery(sql).from, [
      { kind: "id", id: ID },
      { kind: "address", seller: SELLER.toLowerCase(), name: "salaries 2024" },
      { kind: "id", id: ID2 },
      { kind: "address", seller: SELLER.toLowerCase(), name: "a/b" },
    ] satisfies DatasetRef[]);
  });

  it("flattens AND and OR and keeps NOT", () => {
    assert.deepEqual(whereOf("a = 1 AND (b = 2 AND c = 3) AND NOT (d = 4 OR e = 5 OR (f = 6 OR g = 7))"), {
      op: "and",
      args: [
        { op: "cmp", column: "a", cmp: "=", value: num("1") },
        { op: "cmp", column: "b", cmp: "=", value: num("2") },
        { op: "cmp", column: "c", cmp: "=", value: num("3") },
        {
          op: "not",
          arg: {
            op: "or",
            args: ["d", "e", "f", "g"].map((column, i) => ({ op: "cmp", column, cmp: "=", value: num(String(i + 4)) })),
          },
        },
      ],
    });
    const [a, b, c] = ["a", "b", "c"].map((column, i): Predicate => ({ op: "cmp", column, cmp: "=", value: num(String(i + 1)) }));
    assert.deepEqual(whereOf("a = 1 OR (b = 2 AND c = 3)"), { op: "or", args: [a, { op: "and", args: [b, c] }] });
    assert.deepEqual(whereOf("(a = 1 OR b = 2) AND c = 3"), { op: "and", args: [{ op: "or", args: [a, b] }, c] });
    assert.deepEqual(whereOf("((a = 1 AND b = 2)) OR c = 3"), { op: "or", args: [{ op: "and", args: [a, b] }, c] });
    assert.deepEqual(whereOf("NOT (a = 1 OR b = 2) AND c = 3"), { op: "and", args: [{ op: "not", arg: { op: "or", args: [a, b] } }, c] });
    assert.deepEqual(whereOf("NOT a = 1 OR b = 2"), { op: "or", args: [{ op: "not", arg: a }, b] });
    assert.deepEqual(whereOf("NOT NOT a IS NULL"), { op: "not", arg: { op: "not", arg: { op: "null", column: "a", negated: false } } });
    assert.deepEqual(whereOf("NOT a BETWEEN 1 AND 2"), {
      op: "not",
      arg: { op: "between", column: "a", lo: num("1"), hi: num("2"), negated: false },
    });
  });

  it("reads every comparison, and flips a constant written on the left", () => {
    const cases: [string, Predicate][] = [
      ["x = 1", { op: "cmp", column: "x", cmp: "=", value: num("1") }],
      ["x <> 1", { op: "cmp", column: "x", cmp: "<>", value: num("1") }],
      ["x != 1", { op: "cmp", column: "x", cmp: "<>", value: num("1") }],
      ["x < 1", { op: "cmp", column: "x", cmp: "<", value: num("1") }],
      ["x <= 1", { op: "cmp", column: "x", cmp: "<=", value: num("1") }],
      ["x > 1", { op: "cmp", column: "x", cmp: ">", value: num("1") }],
      ["x >= 1", { op: "cmp", column: "x", cmp: ">=", value: num("1") }],
      ["5 < x", { op: "cmp", column: "x", cmp: ">", value: num("5") }],
      ["5 <= x", { op: "cmp", column: "x", cmp: ">=", value: num("5") }],
      ["5 > x", { op: "cmp", column: "x", cmp: "<", value: num("5") }],
      ["5 >= x", { op: "cmp", column: "x", cmp: "<=", value: num("5") }],
      ["'eng' = dept", { op: "cmp", column: "dept", cmp: "=", value: str("eng") }],
      ["TRUE <> remote", { op: "cmp", column: "remote", cmp: "<>", value: { kind: "bool", value: true } }],
      ["x BETWEEN -1 AND 1", { op: "between", column: "x", lo: num("-1"), hi: num("1"), negated: false }],
      ["x NOT BETWEEN 0.5 AND 1.5", { op: "between", column: "x", lo: num("0.5"), hi: num("1.5"), negated: true }],
      ["dept IN ('eng', 'ops')", { op: "in", column: "dept", values: [str("eng"), str("ops")], negated: false }],
      ["x NOT IN (1, -2.5)", { op: "in", column: "x", values: [num("1"), num("-2.5")], negated: true }],
      ["remote IN (FALSE)", { op: "in", column: "remote", values: [{ kind: "bool", value: false }], negated: false }],
      ["x IS NULL", { op: "null", column: "x", negated: false }],
      ["x IS NOT NULL", { op: "null", column: "x", negated: true }],
      ["(((x = 1)))", { op: "cmp", column: "x", cmp: "=", value: num("1") }],
    ];
    for (const [sql, expected] of cases) assert.deepEqual(whereOf(sql), expected, sql);
  });

  it("keeps every numeric literal exact, as canonical decimal text", () => {
    const cases: [string, string][] = [
      ["24", "24"],
      ["-3", "-3"],
      ["- 3", "-3"],
      ["+4", "4"],
      ["- -5", "5"],
      ["-(5)", "-5"],
      ["007", "7"],
      ["0.50", "0.5"],
      ["-0.50", "-0.5"],
      [".5", "0.5"],
      ["-0", "0"],
      ["-0.0", "0"],
      ["12.000", "12"],
      ["9007199254740993", "9007199254740993"],
      ["-9007199254740993", "-9007199254740993"],
      ["123456789012345678901234567890", "123456789012345678901234567890"],
      ["123456789.123456789123456789", "123456789.123456789123456789"],
      ["0.1234567890123456789", "0.1234567890123456789"],
    ];
    for (const [written, text] of cases) {
      assert.deepEqual(whereOf(`x = ${written}`), { op: "cmp", column: "x", cmp: "=", value: num(text) }, written);
    }
    // Operators written without spaces, and digits inside names, strings and comments.
    assert.deepEqual(whereOf("x1=-5 AND \"y 2\"<-0.25 -- 7\n AND z = '42' /* 8 */ AND w IN (-1,2)"), {
      op: "and",
      args: [
        { op: "cmp", column: "x1", cmp: "=", value: num("-5") },
        { op: "cmp", column: "y 2", cmp: "<", value: num("-0.25") },
        { op: "cmp", column: "z", cmp: "=", value: str("42") },
        { op: "in", column: "w", values: [num("-1"), num("2")], negated: false },
      ],
    });
  });

  it("reads strings, booleans and DATE literals", () => {
    assert.deepEqual(whereOf("name = 'O''Brien'"), { op: "cmp", column: "name", cmp: "=", value: str("O'Brien") });
    assert.deepEqual(whereOf("name = 'Zürich, 東京'"), { op: "cmp", column: "name", cmp: "=", value: str("Zürich, 東京") });
    assert.deepEqual(whereOf("name = ''"), { op: "cmp", column: "name", cmp: "=", value: str("") });
    assert.deepEqual(whereOf("ok = false"), { op: "cmp", column: "ok", cmp: "=", value: { kind: "bool", value: false } });
    assert.deepEqual(whereOf("d < DATE '2024-02-29'"), { op: "cmp", column: "d", cmp: "<", value: str("2024-02-29") });
  });

  it("accepts surrounding whitespace, comments and one trailing semicolon, and keeps the text verbatim", () => {
    const sql = `\n  -- revenue\n  SELECT sum(price) /* all */ FROM "${ID}" ;\n`;
    const query = parseQuery(sql);
    assert.equal(query.text, sql);
    assert.deepEqual(query.select, [{ kind: "aggregate", fn: "sum", arg: { column: "price" } }]);
  });
});

describe("query language: refusals", () => {
  const cases: [string, string | RegExp][] = [
    [`SELECT count(*) FROM "${ID}" JOIN "${ID2}" ON a = b`, "JOIN is not supported: a query reads one table (or the union of several datasets of one schema)"],
    [`SELECT count(*) FROM "${ID}" LEFT JOIN "${ID2}" ON a = b`, /^JOIN is not supported/],
    [`SELECT count(*) FROM "${ID}" CROSS JOIN "${ID2}"`, /^JOIN is not supported/],
    [`SELECT count(*) ${FROM} ORDER BY 1`, "ORDER BY is not supported"],
    [`SELECT count(*) ${FROM} LIMIT 10`, "LIMIT is not supported"],
    [`SELECT count(*) ${FROM} LIMIT ALL`, "LIMIT is not supported"],
    [`SELECT count(*) ${FROM} OFFSET 3`, "OFFSET is not supported"],
    [`SELECT count(*) FROM (SELECT 1) s`, "subqueries are not supported"],
    [`SELECT count(*) ${FROM} WHERE x IN (SELECT y FROM t)`, "subqueries are not supported"],
    [`SELECT count(*) ${FROM} WHERE EXISTS (SELECT 1)`, "subqueries are not supported"],
    [`SELECT (SELECT 1), count(*) ${FROM}`, /^a subquery in SELECT is not supported/],
    [`WITH t AS (SELECT 1) SELECT count(*) FROM t`, "WITH (common table expressions) is not supported"],
    [`SELECT count(*) ${FROM} UNION SELECT count(*) FROM "${ID2}"`, "UNION is not supported: list several datasets in FROM to read their union"],
    [
      `SELECT lower(x) ${FROM}`,
      "function lower() is not supported; aggregates: count, sum, avg, var, stddev, min, max, median, quantile, histogram, corr, covar, regr_slope, regr_intercept, regr_r2",
    ],
    [`SELECT pg_catalog.sum(x) ${FROM}`, /^function pg_catalog\.sum\(\) is not supported/],
    [`SELECT string_agg(x, ',') ${FROM}`, /^function string_agg\(\) is not supported/],
    [`SELECT DISTINCT dept, count(*) ${FROM} GROUP BY dept`, "DISTINCT is not supported"],
    [`SELECT count(DISTINCT x) ${FROM}`, "DISTINCT is not supported"],
    [`SELECT count(*) ${FROM} GROUP BY dept HAVING count(*) > 5`, "HAVING is not supported"],
    [`SELECT * ${FROM}`, "SELECT * is not supported: name the aggregates"],
    [`SELECT count(*), * ${FROM}`, "SELECT * is not supported: name the aggregates"],
    [`SELECT dept, count(*) ${FROM}`, 'a non-aggregate column "dept" in SELECT must appear in GROUP BY'],
    [`SELECT dept ${FROM} GROUP BY dept`, /^a query asks for at least one aggregate/],
    [`SELECT count(*) OVER () ${FROM}`, "window functions (count() OVER) are not supported"],
    [`SELECT count(*) FILTER (WHERE x > 1) ${FROM}`, "FILTER is not supported: put the condition in WHERE"],
    [`SELECT count(1) ${FROM}`, "count() takes * or a column, not the number 1"],
    [`SELECT sum(x + 1) ${FROM}`, "the argument of sum() must be a column, not operator +"],
    [`SELECT sum(x * 2) ${FROM}`, "sum() takes a column or the product of two columns (sum(a * b))"],
    [`SELECT sum(a * b * c) ${FROM}`, "sum() takes a column or the product of two columns (sum(a * b))"],
    [`SELECT max(a * b) ${FROM}`, "a product of columns is accepted inside sum() and avg() only, not max()"],
    [`SELECT sum(x::int) ${FROM}`, "the argument of sum() must be a column, not a cast"],
    [`SELECT sum(t.x) ${FROM}`, "qualified column names are not supported (t.x); name the column alone"],
    [`SELECT median() ${FROM}`, "median() takes 1 argument, not 0"],
    [`SELECT corr(x) ${FROM}`, "corr() takes 2 arguments, not 1"],
    [`SELECT quantile(x, 1.5) ${FROM}`, "quantile() takes a probability between 0 and 1 as its second argument, not 1.5"],
    [`SELECT quantile(x, -0.1) ${FROM}`, /^quantile\(\) takes a probability between 0 and 1/],
    [`SELECT quantile(x, '0.5') ${FROM}`, /^quantile\(\) takes a probability between 0 and 1 as its second argument, not '0\.5'/],
    [`SELECT quantile(x, y) ${FROM}`, /^column "y" is not a constant/],
    [`SELECT histogram(x) ${FROM}`, "histogram() takes a column and at least one edge"],
    [`SELECT histogram(x, 1, 1) ${FROM}`, "histogram() edges must be strictly ascending (1 then 1)"],
    [`SELECT histogram(x, 2, 1.5) ${FROM}`, "histogram() edges must be strictly ascending (2 then 1.5)"],
    [`SELECT histogram(x, 1, '2024-01-01') ${FROM}`, "histogram() edges are all numbers, or all dates written 'YYYY-MM-DD'"],
    [`SELECT histogram(d, '2024-02-01', '2024-01-01') ${FROM}`, /^histogram\(\) edges must be strictly ascending/],
    [`SELECT count(*) AS n, sum(x) AS n ${FROM}`, 'the alias "n" is used twice'],
    [`SELECT count(*) ${FROM} WHERE x = 'abc\\d'`, "backslashes are not allowed in string literals"],
    [`SELECT count(*) ${FROM} WHERE "a\\b" = 1`, "backslashes are not allowed in quoted names"],
    [`SELECT count(*) FROM "${SELLER}/a\\b"`, "backslashes are not allowed in quoted names"],
    [`SELECT count(*) ${FROM} WHERE x = E'abc'`, /^operator|is not a constant/],
    [`SELECT count(*) ${FROM} WHERE x = $1`, "a parameter or $-quoted string is not a constant; constants are numbers, 'strings', TRUE and FALSE"],
    [`SELECT count(*) ${FROM} WHERE x = 1e3`, "the number 1e3 has an exponent; write it as a plain decimal"],
    [`SELECT count(*) ${FROM} WHERE x = NULL`, "NULL is not a constant here: test for missing values with IS NULL"],
    [`SELECT count(*) ${FROM} WHERE x = y`, '"x" = "y" compares two columns; predicates compare a column with constants'],
    [`SELECT count(*) ${FROM} WHERE 1 = 1`, "a comparison needs a column on one side; predicates compare a column with constants"],
    [`SELECT count(*) ${FROM} WHERE count(*) > 1`, "function count() in WHERE is not supported: predicates compare a column with constants"],
    [`SELECT count(*) ${FROM} WHERE x = -y`, `column "y" is not a constant; constants are numbers, 'strings', TRUE and FALSE`],
    [`SELECT count(*) ${FROM} WHERE lower(x) = 'a'`, /^function lower\(\) in WHERE is not supported/],
    [`SELECT count(*) ${FROM} WHERE a = 1 OR b = 2 AND c = 3`, "AND and OR are mixed without parentheses: write (a AND b) OR c, or a AND (b OR c)"],
    [`SELECT count(*) ${FROM} WHERE a = 1 AND b = 2 OR c = 3`, /^AND and OR are mixed without parentheses/],
    [`SELECT count(*) ${FROM} WHERE a = 1 AND b IN (1) OR c = 1`, /^AND and OR are mixed without parentheses/],
    [`SELECT count(*) ${FROM} WHERE NOT a = 1 OR b = 2 AND c = 3`, /^AND and OR are mixed without parentheses/],
    [`SELECT count(*) ${FROM} WHERE (a = 1 OR b = 2 AND c = 3)`, /^AND and OR are mixed without parentheses/],
    [`SELECT count(*) ${FROM} WHERE x LIKE 'a%'`, /^operator LIKE is not supported in WHERE/],
    [`SELECT count(*) ${FROM} WHERE x IS TRUE`, "IS TRUE is not supported: IS takes NULL; compare with = TRUE or = FALSE"],
    [`SELECT count(*) ${FROM} WHERE remote`, 'a bare column ("remote") is not a predicate; compare it, e.g. "remote" = TRUE'],
    [`SELECT count(*) ${FROM} WHERE TRUE`, "TRUE is not a predicate"],
    [`SELECT count(*) ${FROM} WHERE 1 BETWEEN x AND 2`, /^BETWEEN needs a column on its left/],
    [`SELECT count(*) ${FROM} WHERE x BETWEEN y AND 2`, /^column "y" is not a constant/],
    [`SELECT count(*) ${FROM} WHERE x = DATE '2023-02-29'`, "DATE '2023-02-29' is not a date written YYYY-MM-DD"],
    [`SELECT count(*) ${FROM} WHERE x COLLATE "C" = 'a'`, "COLLATE is not supported"],
    [`SELECT count(*) ${FROM} GROUP BY 1`, "GROUP BY takes column names, not positions (GROUP BY 1)"],
    [`SELECT count(*) ${FROM} GROUP BY lower(x)`, "GROUP BY takes plain column names, not function lower()"],
    [`SELECT count(*) ${FROM} GROUP BY dept, dept`, 'column "dept" appears twice in GROUP BY'],
    [`SELECT count(*) FROM salaries`, /^dataset salaries: name a dataset by its id "0x…" \(64 hex digits\) or its address/],
    [`SELECT count(*) FROM "0x1234/salaries"`, /^dataset 0x1234\/salaries: name a dataset/],
    [`SELECT count(*) FROM "${SELLER}/"`, /^dataset .*: name a dataset/],
    [`SELECT count(*) FROM db."${ID}"`, /^dataset db\.0xabab.*: name a dataset/],
    [`SELECT count(*) FROM "${ID}" AS s`, `dataset aliases are not supported ("${ID}" AS s)`],
    [`SELECT count(*) FROM "${ID}", "${ID.toUpperCase().replace("0X", "0x")}"`, /^dataset "0xABAB.*" is listed twice in FROM$/],
    [`SELECT count(*) FROM "${SELLER}/s", "${SELLER.toLowerCase()}/s"`, /is listed twice in FROM$/],
    [`SELECT count(*) FROM generate_series(1, 2)`, /^function generate_series\(\) in FROM is not supported/],
    [`SELECT count(*)`, "a query reads FROM at least one dataset"],
    [`SELECT count(*) ${FROM}; SELECT 1`, "a query is one SELECT statement, not 2"],
    [`INSERT INTO t VALUES (1)`, "only SELECT is supported, not INSERT"],
    [``, "the query is empty"],
    [`-- nothing`, "the query is empty"],
  ];
  for (const [sql, message] of cases) {
    it(`refuses ${sql.replaceAll(ID, "0x…").replaceAll(ID2, "0x…") || "an empty text"}`, () => {
      assertQueryError(() => parseQuery(sql), message);
    });
  }

  it("reports syntax errors with the parser's position", () => {
    const sql = `SELECT count(*)\nFROM "${ID}" WHERE x ==`;
    const offset = sql.indexOf("==") + 1;
    const column = offset - sql.indexOf("\n");
    const error = assertQueryError(() => parseQuery(sql), `syntax error at line 2, column ${column}: unexpected "="`);
    assert.deepEqual(error.position, { offset, line: 2, column });
    assert.ok(error.cause instanceof Error);
    const end = assertQueryError(() => parseQuery(`  SELECT count(*) ${FROM} WHERE x =`), /^syntax error at line 1, column \d+: unexpected end of input$/);
    assert.equal(end.position?.offset, `  SELECT count(*) ${FROM} WHERE x =`.length);
    const backslash = assertQueryError(() => parseQuery(`SELECT count(*) ${FROM}\nWHERE x = 'a\\b'`), "backslashes are not allowed in string literals");
    assert.deepEqual(backslash.position, { offset: FROM.length + 29, line: 2, column: 13 });
  });

  it("refuses queries over the caps", () => {
    const aggregates = Array.from({ length: MAX_AGGREGATES + 1 }, () => "count(*)").join(", ");
    assertQueryError(() => parseQuery(`SELECT ${aggregates} ${FROM}`), `the query asks for ${MAX_AGGREGATES + 1} aggregates; at most ${MAX_AGGREGATES} are accepted`);
    parseQuery(`SELECT ${aggregates.slice("count(*), ".length)} ${FROM}`);

    const edges = (n: number) => Array.from({ length: n }, (_, i) => String(i)).join(", ");
    assertQueryError(() => parseQuery(`SELECT histogram(x, ${edges(MAX_HISTOGRAM_EDGES + 1)}) ${FROM}`), `histogram() has ${MAX_HISTOGRAM_EDGES + 1} edges; at most ${MAX_HISTOGRAM_EDGES} are accepted`);
    parseQuery(`SELECT histogram(x, ${edges(MAX_HISTOGRAM_EDGES)}) ${FROM}`);

    const datasets = (n: number) => Array.from({ length: n }, (_, i) => `"${SELLER}/d${i}"`).join(", ");
    assertQueryError(() => parseQuery(`SELECT count(*) FROM ${datasets(MAX_DATASETS + 1)}`), `FROM lists ${MAX_DATASETS + 1} datasets; at most ${MAX_DATASETS} are accepted`);
    assert.equal(parseQuery(`SELECT count(*) FROM ${datasets(MAX_DATASETS)}`).from.length, MAX_DATASETS);

    const values = (n: number) => Array.from({ length: n }, (_, i) => String(i)).join(", ");
    assertQueryError(() => parseQuery(`SELECT count(*) ${FROM} WHERE x IN (${values(MAX_IN_VALUES + 1)})`), `IN lists ${MAX_IN_VALUES + 1} values; at most ${MAX_IN_VALUES} are accepted`);
    parseQuery(`SELECT count(*) ${FROM} WHERE x IN (${values(MAX_IN_VALUES)})`);

    const terms = (n: number) => Array.from({ length: n }, (_, i) => `x${i} = ${i}`).join(" OR ");
    assertQueryError(() => parseQuery(`SELECT count(*) ${FROM} WHERE ${terms(MAX_PREDICATE_TERMS + 1)}`), `WHERE has more than ${MAX_PREDICATE_TERMS} comparisons`);
    parseQuery(`SELECT count(*) ${FROM} WHERE ${terms(MAX_PREDICATE_TERMS)}`);

    const long = `SELECT count(*) ${FROM} WHERE x = 1${" ".repeat(MAX_QUERY_LENGTH)}`;
    assertQueryError(() => parseQuery(long), `the query is ${long.length} characters long; at most ${MAX_QUERY_LENGTH} are accepted`);
    assertQueryError(() => parseQuery(`SELECT count(*) ${FROM} WHERE ${"(".repeat(3000)}x = 1${")".repeat(3000)}`), "the query nests too deeply");
  });
});

const SCHEMA: QuerySchema = {
  columns: [
    { name: "salary", type: "int", scale: 0, lo: "0", hi: "500000" },
    { name: "price", type: "decimal", scale: 2, lo: "0.00", hi: "100000.00" },
    { name: "discount", type: "decimal", scale: 2, lo: "0.00", hi: "0.10" },
    { name: "quantity", type: "int", scale: 0, lo: "0", hi: "50" },
    { name: "shipdate", type: "date", scale: 0, lo: "8036", hi: "10956" },
    { name: "dept", type: "category", scale: 0, lo: "0", hi: "2", categories: ["eng", "ops", "O'Brien & co"] },
    { name: "region", type: "category", scale: 0, lo: "0", hi: "99", categories: Array.from({ length: 100 }, (_, i) => `r${i}`) },
    { name: "remote", type: "bool", scale: 0, lo: "0", hi: "1" },
  ],
};
const COLUMNS = "salary, price, discount, quantity, shipdate, dept, region, remote";
const check = (sql: string): void => checkQuery(parseQuery(sql), SCHEMA);

describe("query language: schema check", () => {
  it("accepts queries that fit the schema", () => {
    const accepted = [
      `SELECT sum(price * discount) FROM "${ID}" WHERE shipdate >= '1994-01-01' AND shipdate < '1995-01-01' AND discount BETWEEN 0.05 AND 0.07 AND quantity < 24`,
      `SELECT count(*), count(dept), count(shipdate), avg(salary), var(price), stddev(price), corr(price, salary), covar(salary, quantity) ${FROM}`,
      `SELECT min(shipdate), max(price), median(shipdate), quantile(salary, 0.25), histogram(shipdate, '1994-01-01', '1995-01-01'), histogram(price, 0.5, 10.25) ${FROM}`,
      `SELECT dept, remote, avg(salary) ${FROM} WHERE dept IN ('eng', 'O''Brien & co') AND remote = TRUE AND NOT (dept <> 'ops') GROUP BY dept, remote`,
      `SELECT count(*) ${FROM} WHERE salary IS NULL OR dept IS NOT NULL OR remote NOT IN (FALSE) OR price = 12.50 OR 3 < quantity`,
      `SELECT count(*) ${FROM} WHERE shipdate BETWEEN '1994-01-01' AND DATE '1994-12-31' AND shipdate IN ('1994-06-01')`,
      `SELECT region, count(*) ${FROM} GROUP BY region, remote`,
    ];
    for (const sql of accepted) check(sql);
  });

  const refused: [string, string | RegExp][] = [
    [`SELECT avg(age) ${FROM}`, `column "age" is not in the schema (columns: ${COLUMNS})`],
    [`SELECT count(*) ${FROM} WHERE age > 3`, `column "age" is not in the schema (columns: ${COLUMNS})`],
    [`SELECT count(*) ${FROM} GROUP BY team`, `column "team" is not in the schema (columns: ${COLUMNS})`],
    [`SELECT sum(price * weight) ${FROM}`, /^column "weight" is not in the schema/],
    [`SELECT count(Salary) ${FROM}`, /^column "Salary" is not in the schema/],
    [`SELECT sum(dept) ${FROM}`, `sum(dept) needs an int or decimal column; "dept" is a category column`],
    [`SELECT avg(price * remote) ${FROM}`, `avg(price * remote) needs an int or decimal column; "remote" is a bool column`],
    [`SELECT var(shipdate) ${FROM}`, `var(shipdate) needs an int or decimal column; "shipdate" is a date column`],
    [`SELECT corr(price, dept) ${FROM}`, /^corr\(price, dept\) needs an int or decimal column/],
    [`SELECT median(dept) ${FROM}`, `median(dept) needs an int, decimal or date column; "dept" is a category column`],
    [`SELECT max(remote) ${FROM}`, `max(remote) needs an int, decimal or date column; "remote" is a bool column`],
    [`SELECT histogram(price, 1, 2.125) ${FROM}`, `histogram(price, 1, 2.125): the edge 2.125 has more decimals than column "price" (scale 2)`],
    [`SELECT histogram(shipdate, 1, 2) ${FROM}`, `histogram(shipdate, 1, 2): the edges of "shipdate" must be dates written 'YYYY-MM-DD', not 1`],
    [`SELECT histogram(price, '1994-01-01', '1995-01-01') ${FROM}`, `histogram(price, '1994-01-01', '1995-01-01'): the edges of "price" must be numbers, not '1994-01-01'`],
    [`SELECT avg(salary) ${FROM} GROUP BY price`, `GROUP BY "price": only category and bool columns can be grouped by (it is a decimal column)`],
    [`SELECT avg(salary) ${FROM} GROUP BY salary`, /it is an int column\)$/],
    [`SELECT count(*) ${FROM} GROUP BY region, dept`, `GROUP BY makes 300 groups (region: 100 × dept: 3); at most ${MAX_GROUPS} are accepted`],
    [`SELECT count(*) ${FROM} WHERE salary > 'abc'`, `"salary" is compared with 'abc', not a number`],
    [`SELECT count(*) ${FROM} WHERE salary = TRUE`, `"salary" is compared with TRUE, not a number`],
    [`SELECT count(*) ${FROM} WHERE salary > 1000.5`, `"salary" is compared with 1000.5, which has more decimals than its scale (0)`],
    [`SELECT count(*) ${FROM} WHERE price BETWEEN 1 AND 2.001`, `"price" is compared with 2.001, which has more decimals than its scale (2)`],
    [`SELECT count(*) ${FROM} WHERE dept = 'Sales'`, `"dept" is compared with 'Sales', which is not in its dictionary ('eng', 'ops', 'O''Brien & co')`],
    [`SELECT count(*) ${FROM} WHERE dept IN ('eng', 'hr')`, /^"dept" is compared with 'hr', which is not in its dictionary/],
    [`SELECT count(*) ${FROM} WHERE region = 'x'`, /^"region" is compared with 'x', which is not in its dictionary \('r0', .*'r19', … 100 in all\)$/],
    [`SELECT count(*) ${FROM} WHERE dept = 1`, `"dept" is compared with 1, not one of its categories ('eng', 'ops', 'O''Brien & co')`],
    [`SELECT count(*) ${FROM} WHERE dept < 'ops'`, `"dept" is a category column: compare it with =, <> or IN, not <`],
    [`SELECT count(*) ${FROM} WHERE dept BETWEEN 'eng' AND 'ops'`, `"dept" is a category column: compare it with =, <> or IN, not BETWEEN`],
    [`SELECT count(*) ${FROM} WHERE remote >= TRUE`, `"remote" is a bool column: compare it with =, <> or IN, not >=`],
    [`SELECT count(*) ${FROM} WHERE remote = 1`, `"remote" is compared with 1, not TRUE or FALSE`],
    [`SELECT count(*) ${FROM} WHERE shipdate < 9000`, `"shipdate" is compared with 9000, not a date written 'YYYY-MM-DD'`],
    [`SELECT count(*) ${FROM} WHERE shipdate < '1994-13-01'`, `"shipdate" is compared with '1994-13-01', not a date written 'YYYY-MM-DD'`],
    [`SELECT count(*) ${FROM} WHERE NOT (salary > 1 OR shipdate = '94-01-01')`, /^"shipdate" is compared with '94-01-01', not a date/],
  ];
  for (const [sql, message] of refused) {
    it(`refuses ${sql.replace(FROM, "FROM …")}`, () => {
      assertQueryError(() => check(sql), message);
    });
  }
});

// Random queries in canonical form: what parseQuery returns.
const identifier = fc.oneof(
  fc.constantFrom("price", "discount", "x", "y1", "_tmp", "Unit Price", "order", "count", "Dept", "naïve", "a-b", "date", "select", "sum"),
  fc.stringMatching(/^[a-z_][a-z0-9_]{0,8}$/),
  fc.string({ minLength: 1, maxLength: 8 }).filter((s) => !/["\\]/.test(s)),
);
const decimal = fc
  .tuple(fc.boolean(), fc.bigInt({ min: 0n, max: 10n ** 30n }), fc.option(fc.stringMatching(/^[0-9]{0,11}[1-9]$/), { nil: undefined }))
  .map(([negative, whole, fraction]) => {
    const body = fraction === undefined ? String(whole) : `${whole}.${fraction}`;
    return negative && body !== "0" ? `-${body}` : body;
  });
const isoDate = fc
  .tuple(fc.integer({ min: 1, max: 9999 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 28 }))
  .map(([y, m, d]) => `${String(y).padStart(4, "0")}-${String(m).padStart(2, "0")}-${String(d).padStart(2, "0")}`);
const numberLiteral = decimal.map((text): NumberLiteral => ({ kind: "number", text }));
const literal: fc.Arbitrary<Literal> = fc.oneof(
  numberLiteral,
  fc.string({ maxLength: 10 }).filter((s) => !s.includes("\\")).map((text): Literal => ({ kind: "string", text })),
  isoDate.map((text): Literal => ({ kind: "string", text })),
  fc.boolean().map((value): Literal => ({ kind: "bool", value })),
);
const comparison = fc.constantFrom("=", "<>", "<", "<=", ">", ">=" as const);
const { predicate } = fc.letrec<{ predicate: Predicate; leaf: Predicate; junction: Predicate }>((tie) => ({
  predicate: fc.oneof({ depthSize: "small", withCrossShrink: true }, tie("leaf"), tie("leaf"), tie("junction"), tie("predicate").map((arg): Predicate => ({ op: "not", arg }))),
  leaf: fc.oneof(
    fc.record({ op: fc.constant("cmp" as const), column: identifier, cmp: comparison, value: literal }),
    fc.record({ op: fc.constant("between" as const), column: identifier, lo: literal, hi: literal, negated: fc.boolean() }),
    fc.record({ op: fc.constant("in" as const), column: identifier, values: fc.array(literal, { minLength: 1, maxLength: 4 }), negated: fc.boolean() }),
    fc.record({ op: fc.constant("null" as const), column: identifier, negated: fc.boolean() }),
  ),
  junction: fc.constantFrom("and" as const, "or" as const).chain((op) =>
    fc
      .array(tie("predicate").filter((p) => p.op !== op), { minLength: 2, maxLength: 4 })
      .map((args): Predicate => ({ op, args })),
  ),
}));
const ascending = <T>(items: fc.Arbitrary<T>, compare: (a: T, b: T) => number) =>
  fc.uniqueArray(items, { minLength: 1, maxLength: 6, comparator: (a, b) => compare(a, b) === 0 }).map((xs) => [...xs].sort(compare));
const compareNumbers = (a: string, b: string): number => {
  const scale = (s: string) => (s.split(".")[1] ?? "").length;
  const k = Math.max(scale(a), scale(b));
  const units = (s: string) => {
    const [w, f = ""] = s.replace("-", "").split(".");
    const u = BigInt(w + f.padEnd(k, "0"));
    return s.startsWith("-") ? -u : u;
  };
  const [x, y] = [units(a), units(b)];
  return x < y ? -1 : x > y ? 1 : 0;
};
const aggregate: fc.Arbitrary<AggregateItem> = fc.oneof(
  fc.option(identifier, { nil: undefined }).map((column): AggregateItem => (column === undefined ? { kind: "aggregate", fn: "count" } : { kind: "aggregate", fn: "count", column })),
  fc.record({
    kind: fc.constant("aggregate" as const),
    fn: fc.constantFrom("sum" as const, "avg" as const),
    arg: fc.oneof(identifier.map((column) => ({ column })), fc.tuple(identifier, identifier).map((product) => ({ product }))),
  }),
  fc.record({ kind: fc.constant("aggregate" as const), fn: fc.constantFrom("var", "stddev", "min", "max", "median" as const), column: identifier }),
  fc.record({
    kind: fc.constant("aggregate" as const),
    fn: fc.constant("quantile" as const),
    column: identifier,
    p: fc.integer({ min: 0, max: 1000 }).map((k) => (k === 1000 ? "1" : `0.${String(k).padStart(3, "0")}`.replace(/\.?0+$/, "") || "0")),
  }),
  fc.record({
    kind: fc.constant("aggregate" as const),
    fn: fc.constant("histogram" as const),
    column: identifier,
    edges: fc.oneof(
      ascending(decimal, compareNumbers).map((texts) => texts.map((text): NumberLiteral => ({ kind: "number", text }))),
      ascending(isoDate, (a, b) => (a < b ? -1 : a > b ? 1 : 0)).map((texts) => texts.map((text) => ({ kind: "string" as const, text }))),
    ),
  }),
  fc.record({ kind: fc.constant("aggregate" as const), fn: fc.constantFrom("corr" as const, "covar" as const), x: identifier, y: identifier }),
);
const dataset: fc.Arbitrary<DatasetRef> = fc.oneof(
  fc.stringMatching(/^[0-9a-f]{64}$/).map((hex): DatasetRef => ({ kind: "id", id: `0x${hex}` })),
  fc
    .tuple(fc.stringMatching(/^[0-9a-f]{40}$/), fc.string({ minLength: 1, maxLength: 12 }).filter((s) => !/["\\]/.test(s)))
    .map(([hex, name]): DatasetRef => ({ kind: "address", seller: `0x${hex}`, name })),
);
const withAlias = <T extends SelectItem>(item: fc.Arbitrary<T>) =>
  fc.tuple(item, fc.option(identifier, { nil: undefined })).map(([i, alias]): T => (alias === undefined ? i : { ...i, alias }));
const randomQuery: fc.Arbitrary<Omit<Query, "text">> = fc
  .record({
    aggregates: fc.array(withAlias(aggregate), { minLength: 1, maxLength: 5 }),
    groupBy: fc.uniqueArray(identifier, { maxLength: 3 }),
    shown: fc.array(fc.tuple(fc.nat(), fc.option(identifier, { nil: undefined })), { maxLength: 3 }),
    from: fc.uniqueArray(dataset, { minLength: 1, maxLength: 3, selector: (d) => (d.kind === "id" ? d.id : `${d.seller}/${d.name}`) }),
    where: fc.option(predicate, { nil: undefined }),
  })
  .map(({ aggregates, groupBy, shown, from, where }) => {
    const select: SelectItem[] = [...aggregates];
    if (groupBy.length > 0) {
      for (const [n, alias] of shown) {
        const item: SelectItem = { kind: "column", column: groupBy[n % groupBy.length] };
        select.splice(n % (select.length + 1), 0, alias === undefined ? item : { ...item, alias });
      }
    }
    const aliases = new Set<string>();
    const unique = select.map((item) => {
      if (item.alias === undefined) return item;
      if (aliases.has(item.alias)) {
        const { alias: _, ...rest } = item;
        return rest as SelectItem;
      }
      aliases.add(item.alias);
      return item;
    });
    return where === undefined ? { select: unique, from, groupBy } : { select: unique, from, where, groupBy };
  });

describe("query language: canonical text", () => {
  it("prints canonical SQL", () => {
    const sql = `select SUM(price*discount) as Rev, Dept from "${ID}", "${SELLER}/s" where 5<x and (a=1 or (b!=2 and "order" is not null)) and not c in ('it''s') group by Dept`;
    assert.equal(
      formatQuery(parseQuery(sql)),
      `SELECT sum(price * discount) AS "Rev", "Dept" FROM "${ID}", "${SELLER.toLowerCase()}/s" ` +
        `WHERE x > 5 AND (a = 1 OR (b <> 2 AND "order" IS NOT NULL)) AND NOT (c IN ('it''s')) GROUP BY "Dept"`,
    );
  });

  it("refuses to print what the language cannot write", () => {
    assertQueryError(() => formatQuery({ select: [{ kind: "aggregate", fn: "count", column: 'a"b' }], from: [{ kind: "id", id: ID }], groupBy: [] }), /^the name "a\\"b" cannot be written/);
    assertQueryError(
      () => formatQuery({ select: [{ kind: "aggregate", fn: "count" }], from: [{ kind: "id", id: ID }], where: { op: "cmp", column: "x", cmp: "=", value: str("a\\b") }, groupBy: [] }),
      /holds a backslash/,
    );
  });

  it("parses formatQuery(q) back to q", () => {
    fc.assert(
      fc.property(randomQuery, (generated) => {
        // fast-check builds records without a prototype; the parser returns plain objects.
        const q = JSON.parse(JSON.stringify(generated)) as Omit<Query, "text">;
        const sql = formatQuery(q);
        const parsed = parseQuery(sql);
        assert.deepEqual(parsed, { ...q, text: sql });
        assert.equal(formatQuery(parsed), sql);
      }),
      { numRuns: 500 },
    );
  });

  it("answers any text with a query or a QueryError", () => {
    const token = fc.oneof(
      fc.constantFrom("SELECT", "FROM", "WHERE", "GROUP BY", "AND", "OR", "NOT", "IN", "IS", "NULL", "BETWEEN", "(", ")", ",", "*", "=", "<", "-", "'a'", "1.5", "x", `"${ID}"`),
      fc.constantFrom("count(*)", "sum(x)", "quantile(x, 0.5)", "histogram(x, 1, 2)", "JOIN", "ORDER BY", "LIMIT 1", "AS", "DISTINCT", "$1", "::int", ";", "--", "/*", "'"),
      fc.string({ maxLength: 4 }),
    );
    fc.assert(
      fc.property(fc.array(token, { maxLength: 16 }), (tokens) => {
        const sql = tokens.join(" ");
        try {
          parseQuery(sql);
        } catch (err) {
          assert.ok(err instanceof QueryError, `${sql}: ${String(err)}`);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe("query language: loads in a browser", () => {
  it("imports no Node built-in, and the parser build requires only big-integer (decimals and dates from @scmpc/tables/values)", () => {
    const dir = new URL("../src/query/", import.meta.url);
    const files = readdirSync(dir);
    assert.ok(files.length >= 10);
    for (const file of files) {
      const source = readFileSync(new URL(file, dir), "utf8");
      const imports = [...source.matchAll(/^(?:import|export)\b[^;]*?\bfrom\s+"([^"]+)";/gms)].map((m) => m[1]);
      assert.doesNotMatch(source, /\bimport\(|\brequire\(/, file);
      for (const specifier of imports) {
        assert.ok(specifier.startsWith("./") || specifier === "../errors.ts" || specifier === "@scmpc/tables/values" || specifier.startsWith("node-sql-parser/build/"), `${file} imports ${specifier}`);
      }
    }
    const errors = readFileSync(new URL("../src/errors.ts", import.meta.url), "utf8");
    assert.doesNotMatch(errors, /\bimport\b/);
    const build = createRequire(import.meta.url).resolve("node-sql-parser/build/postgresql.js");
    const requires = new Set([...readFileSync(build, "utf8").matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]));
    assert.deepEqual([...requires], ["big-integer"]);
  });

  it("bundles for the browser and runs where there is no require, process or Buffer", async () => {
    // esbuild comes with tsx; platform "browser" fails on any Node built-in.
    const { build } = await import("esbuild");
    const entry = fileURLToPath(new URL("../src/query/index.ts", import.meta.url));
    const bundle = await build({ entryPoints: [entry], bundle: true, platform: "browser", format: "iife", globalName: "scmpcQuery", write: false, logLevel: "silent" });
    const context = vm.createContext({});
    vm.runInContext(bundle.outputFiles[0].text, context);
    assert.equal(vm.runInContext("typeof require + typeof process + typeof Buffer", context), "undefinedundefinedundefined");
    const query = context.scmpcQuery as { parseQuery: typeof parseQuery; formatQuery: typeof formatQuery };
    const sql = `SELECT sum(price * discount) ${FROM} WHERE quantity < 24 AND discount BETWEEN 0.05 AND 0.07 AND x = 123456789012345678901.5`;
    assert.equal(query.formatQuery(query.parseQuery(sql)), formatQuery(parseQuery(sql)));
    assert.throws(() => query.parseQuery(`SELECT lower(x) ${FROM}`), /function lower\(\) is not supported/);
  });
});
