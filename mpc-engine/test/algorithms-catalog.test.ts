import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import {
  checkSchemaColumn,
  columnKind,
  decodeResult,
  openedCount,
  parseSchemaText,
  planComputation,
  schemaText,
  Rational,
  isqrt,
  ALGORITHMS,
  MAX_CATEGORIES,
} from "../src/index.ts";
import type { DatasetSchema } from "../src/index.ts";

// The buyer's side of the algorithm library: parameter validation and the
// decoding of opened statistics, against plaintext computations.
const schema: DatasetSchema = {
  columns: [
    { name: "salary", scale: 0, lo: "-1000000", hi: "1000000" },
    { name: "bonus", scale: 2, lo: "0.00", hi: "10000.00" },
  ],
};
const ring = (v: bigint) => BigInt.asUintN(64, v);
const rows = { rowCount: 50n, epsilonMilli: 0 };
const planFor = (algorithm: string, params: string, rowCount = 50n) => planComputation(algorithm, params, schema, { rowCount, epsilonMilli: 0 });

describe("algorithm catalog: parameters", () => {
  it("declares output and leakage for every algorithm", () => {
    for (const a of Object.values(ALGORITHMS)) {
      assert.match(a.name, /^[a-z-]+@\d+$/);
      assert.ok(a.leakage.length > 10 && a.output.length > 5 && a.opened.length > 0, a.name);
    }
    assert.equal(Object.keys(ALGORITHMS).length, 13);
  });

  it("resolves columns and encodes thresholds and edges at the column's scale", () => {
    // mean@1 is avg(bonus): the centred sum and the count of present values.
    const mean = planFor("mean@1", '{"column":"bonus"}');
    assert.equal(mean.algorithm, "mean@1");
    assert.deepEqual(mean.query.columns, [{ name: "bonus", type: "decimal", scale: 2, lo: 0n, hi: 1000000n }]);
    assert.deepEqual(mean.query.statistics, [
      {
        kind: "sum",
        key: "Σ(bonus−c)[bonus]",
        valid: ["bonus"],
        sums: [{ label: "Σ(bonus−c)", factors: [{ column: "bonus", centre: 500000n }], rowBound: 500000n, bound: 25000000n, accumulation: { kind: "ring" } }],
      },
      { kind: "count", key: "count[bonus]", valid: ["bonus"] },
    ]);
    // count-if@1 is count(*) under WHERE: x ≥ −1.50 is ¬[x < −150 units], decided publicly below the bounds.
    const ci = planFor("count-if@1", '{"column":"bonus","op":"ge","threshold":"-1.5"}');
    assert.deepEqual(ci.query.filter, { kind: "test", column: "bonus", test: { kind: "not", arg: { kind: "const", value: false } } });
    const inside = planFor("count-if@1", '{"column":"bonus","op":"lt","threshold":"12.34"}');
    assert.deepEqual(inside.query.filter, { kind: "test", column: "bonus", test: { kind: "lt", column: "bonus", t: 1234n } });
    const h = planFor("histogram@1", '{"column":"salary","edges":["10","20"]}');
    assert.deepEqual(h.query.statistics, [{ kind: "buckets", key: "hist[salary](10,20)", valid: ["salary"], column: "salary", edges: [10n, 20n] }]);
  });

  it("names what is wrong with bad parameters", () => {
    assert.throws(() => planFor("median@1", "{}"), /unknown algorithm "median@1"/);
    assert.throws(() => planFor("sum@1", "{"), /not valid JSON/);
    assert.throws(() => planFor("sum@1", "[]"), /JSON object/);
    assert.throws(() => planFor("sum@1", '{"column":"age"}'), /no column "age"; the datasets have: salary, bonus/);
    assert.throws(() => planFor("sum@1", '{"column":"salary","extra":1}'), /unknown field\(s\) "extra"/);
    assert.throws(() => planFor("count-if@1", '{"column":"salary","op":"lte","threshold":"1"}'), /"op" must be one of/);
    assert.throws(() => planFor("count-if@1", '{"column":"salary","op":"lt","threshold":"1.5"}'), /does not fit column "salary"/);
    assert.throws(() => planFor("histogram@1", '{"column":"salary","edges":["2","1"]}'), /strictly increasing/);
    assert.throws(() => planFor("histogram@1", '{"column":"salary","edges":[]}'), /"edges" must be a list/);
    assert.throws(() => planFor("regression@1", '{"x":"salary"}'), /"y" must name a column/);
    assert.throws(() => planComputation("sum@1", '{"column":"salary"}', schema, { rowCount: 0n, epsilonMilli: 0 }), /total row count/);
    assert.throws(() => planComputation("sum@1", '{"column":"salary"}', schema, {} as { rowCount: bigint; epsilonMilli: number }), /total row count/);
  });

  it("refuses a schema column without valid bounds, naming it", () => {
    const bad = (column: object) => () => planComputation("sum@1", '{"column":"v"}', { columns: [{ name: "v", scale: 2, ...column }] as DatasetSchema["columns"] }, rows);
    assert.throws(bad({}), /column "v" has no bound "lo"/);
    assert.throws(bad({ lo: "1", hi: "2.00" }), /bound lo "1" is not canonical; write it as "1.00"/);
    assert.throws(bad({ lo: "-0.00", hi: "2.00" }), /not canonical; write it as "0.00"/);
    assert.throws(bad({ lo: "3.00", hi: "2.00" }), /lo 3.00 is above hi 2.00/);
    assert.throws(bad({ lo: "0.00", hi: "46116860184273879.04" }), /outside ±\(2\^62 − 1\)/);
    assert.throws(bad({ lo: "0.001", hi: "2.00" }), /not a decimal at scale 2/);
    assert.equal(planComputation("sum@1", '{"column":"v"}', { columns: [{ name: "v", scale: 2, lo: "-46116860184273879.03", hi: "46116860184273879.03" }] }, rows).algorithm, "sum@1");
  });
});

describe("typed schemas: category, bool and date columns", () => {
  const typed: DatasetSchema = {
    columns: [
      { name: "salary", scale: 0, lo: "30000", hi: "200000" },
      { name: "dept", scale: 0, lo: "0", hi: "2", type: "category", categories: ["eng", "ops", "sales"] },
      { name: "remote", scale: 0, lo: "0", hi: "1", type: "bool" },
      { name: "hired", scale: 0, lo: "17897", hi: "20088", type: "date" },
    ],
  };

  it("writes type only where a column has one and categories only for a category, after name, scale, lo, hi", () => {
    // A numeric schema's text, and so its on-chain hash, is what it was before columns had types.
    assert.equal(
      schemaText([{ name: "salary", scale: 0, lo: "30000", hi: "200000" }, { name: "bonus", scale: 2, lo: "0.00", hi: "10000.00" }]),
      '{"columns":[{"name":"salary","scale":0,"lo":"30000","hi":"200000"},{"name":"bonus","scale":2,"lo":"0.00","hi":"10000.00"}]}',
    );
    assert.equal(
      schemaText(typed.columns),
      '{"columns":[{"name":"salary","scale":0,"lo":"30000","hi":"200000"},' +
        '{"name":"dept","scale":0,"lo":"0","hi":"2","type":"category","categories":["eng","ops","sales"]},' +
        '{"name":"remote","scale":0,"lo":"0","hi":"1","type":"bool"},' +
        '{"name":"hired","scale":0,"lo":"17897","hi":"20088","type":"date"}]}',
    );
    // Whatever else an object carries (share bytes, a stray dictionary on a bool) stays out of the text.
    assert.equal(
      schemaText([{ name: "remote", scale: 0, lo: "0", hi: "1", type: "bool", categories: ["x"], a: new Uint8Array(8) } as DatasetSchema["columns"][number]]),
      '{"columns":[{"name":"remote","scale":0,"lo":"0","hi":"1","type":"bool"}]}',
    );
    assert.deepEqual(parseSchemaText(schemaText(typed.columns)), typed);
    assert.deepEqual(typed.columns.map(columnKind), ["int", "category", "bool", "date"]);
  });

  it("refuses a named algorithm over a category column, naming it; bool and date columns are numbers", () => {
    const plan = (algorithm: string, params: object) => planComputation(algorithm, JSON.stringify(params), typed, rows);
    for (const [algorithm, params] of [["mean@1", { column: "dept" }], ["histogram@1", { column: "dept", edges: ["1"] }], ["covariance@1", { x: "salary", y: "dept" }]] as const) {
      assert.throws(
        () => plan(algorithm, params),
        (err: Error & { code?: string }) => err.code === "INVALID_ARGUMENT" && /names column "dept", a category column/.test(err.message),
      );
    }
    // A bool column is 0/1 to the named algorithms: [x = 1] is lt(2) ⊕ lt(1), lt(2) public (above the bounds).
    assert.deepEqual(plan("count-if@1", { column: "remote", op: "eq", threshold: "1" }).query.filter, {
      kind: "test",
      column: "remote",
      test: { kind: "xor", args: [{ kind: "const", value: true }, { kind: "lt", column: "remote", t: 1n }] },
    });
    assert.equal(plan("max@1", { column: "hired" }).algorithm, "max@1");
    assert.equal(plan("count@1", {}).algorithm, "count@1");
  });

  it("reads a schema text, refusing types, dictionaries and bounds that disagree, naming the column", () => {
    const text = (column: object) => JSON.stringify({ columns: [column] });
    for (const [column, why] of [
      [{ name: "d", scale: 0, lo: "0", hi: "1", type: "text" }, /column "d": type "text" is not one of category, bool, date/],
      [{ name: "d", scale: 0, lo: "0", hi: "1", type: "category" }, /column "d": a category column has 1 to 256 categories; got 0/],
      [{ name: "d", scale: 0, lo: "0", hi: "1", type: "category", categories: ["a", "b", "c"] }, /column "d": a category column of 3 categories has scale 0 and bounds 0 and 2/],
      [{ name: "d", scale: 0, lo: "0", hi: "0", type: "category", categories: [1] }, /column "d": category 0 must be non-empty text/],
      [{ name: "d", scale: 0, lo: "0", hi: "1", categories: ["a", "b"] }, /column "d": only a category column has categories/],
      [{ name: "d", scale: 0, lo: "-1", hi: "1", type: "bool" }, /column "d": a bool column has scale 0 and bounds 0 and 1/],
      [{ name: "d", scale: 2, lo: "0.00", hi: "1.00", type: "date" }, /column "d": a date column has scale 0/],
      [{ name: "d", scale: 19, lo: "0", hi: "1" }, /column "d" has scale 19; expected an integer from 0 to 18/],
      [{ name: "d", scale: 1.5, lo: "0", hi: "1" }, /column "d" has scale 1.5/],
      [{ name: "", scale: 0, lo: "0", hi: "1" }, /column 0 has no name/],
    ] as const) {
      assert.throws(() => parseSchemaText(text(column)), (err: Error & { code?: string }) => err.code === "INVALID_ARGUMENT" && why.test(err.message), JSON.stringify(column));
    }
    assert.throws(() => parseSchemaText("{"), /schema: not valid JSON/);
    assert.throws(() => parseSchemaText('{"columns":[]}'), /at least one column/);
    const twice = { name: "a", scale: 0, lo: "0", hi: "1" };
    assert.throws(() => parseSchemaText(JSON.stringify({ columns: [twice, twice] })), /column "a" appears twice/);
    assert.equal(checkSchemaColumn({ name: "d", scale: 0, lo: "0", hi: "255", type: "category", categories: Array.from({ length: MAX_CATEGORIES }, (_, i) => `v${i}`) }).hi, 255n);
  });
});

describe("algorithm catalog: decoding opened statistics", () => {
  const plan = (algorithm: string, params: object, rowCount = 50n) => planFor(algorithm, JSON.stringify(params), rowCount);

  it("decodes sums, counts and extremes, negatives included", () => {
    // bonus is centred on 5000.00: the hosts open Σ(x − c) and the count of present values; the buyer adds count·c back.
    assert.equal(decodeResult(plan("sum@1", { column: "bonus" }, 2n), [ring(12345n - 2n * 500000n), 2n]), "123.45");
    assert.equal(decodeResult(plan("sum@1", { column: "bonus" }, 3n), [ring(12345n - 2n * 500000n), 2n]), "123.45", "one cell missing");
    assert.equal(decodeResult(plan("sum@1", { column: "salary" }, 2n), [ring(-12345n), 2n]), "-12345");
    // Bonuses are within [0, 10000.00]: a negative sum of two never comes from such rows.
    assert.throws(() => decodeResult(plan("sum@1", { column: "bonus" }, 2n), [ring(-12345n - 2n * 500000n), 2n]), /impossible/);
    assert.throws(() => decodeResult(plan("sum@1", { column: "bonus" }, 2n), [0n, 3n]), /a count of 3 out of 2 rows/);
    assert.throws(() => decodeResult(plan("mean@1", { column: "bonus" }, 2n), [0n, 0n]), (err: Error & { code?: string }) => err.code === "RESULT_UNDEFINED");
    assert.equal(decodeResult(plan("count@1", {}, 7n), [7n]), "7");
    assert.throws(() => decodeResult(plan("count@1", {}, 7n), [6n]), /counted 6 rows/);
    // max opens the selected value minus lo, and the count of present values.
    assert.equal(decodeResult(plan("max@1", { column: "salary" }), [ring(-3n + 1000000n), 50n]), "-3");
  });

  it("computes mean and population variance exactly from Σx, Σx², n", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -1_000_000, max: 1_000_000 }), { minLength: 1, maxLength: 50 }), (xs) => {
        // salary's bounds are symmetric: its centre is 0, so the centred sums are the plain ones.
        const n = BigInt(xs.length);
        const s = xs.reduce((a, x) => a + BigInt(x), 0n);
        const q = xs.reduce((a, x) => a + BigInt(x) * BigInt(x), 0n);
        const mean = new Rational(s, n);
        const variance = new Rational(q, n).sub(mean.mul(mean));
        assert.equal(decodeResult(plan("mean@1", { column: "salary" }, n), [ring(s), n]), mean.toDecimal(6));
        assert.equal(decodeResult(plan("variance@1", { column: "salary" }, n), [ring(s), ring(q), n]), variance.toDecimal(6));
        assert.equal(decodeResult(plan("stddev@1", { column: "salary" }, n), [ring(s), ring(q), n]), variance.sqrtDecimal(6));
        // The same values with one more (missing) row in the table: the answer is over the present ones.
        assert.equal(decodeResult(plan("mean@1", { column: "salary" }, n + 1n), [ring(s), n]), mean.toDecimal(6));
      }),
    );
  });

  it("reads bucket counts between the edges", () => {
    const p = plan("histogram@1", { column: "bonus", edges: ["1000", "5000.5"] }, 10n);
    assert.deepEqual(decodeResult(p, [2n, 5n, 3n]), { edges: ["1000.00", "5000.50"], counts: ["2", "5", "3"] });
    assert.throws(() => decodeResult(p, [2n, 11n, 3n]), /a count of 11 out of 10 rows/);
  });

  it("fits a regression line exactly on collinear data", () => {
    // y = 3x − 2 on x = 1..5.
    const xs = [1n, 2n, 3n, 4n, 5n];
    const ys = xs.map((x) => 3n * x - 2n);
    const sum = (v: bigint[]) => v.reduce((a, b) => a + b, 0n);
    // Opened: Σx, Σy, Σxy, Σx², Σy² (salary is centred on 0), then the count of rows with both present.
    const values = [sum(xs), sum(ys), sum(xs.map((x, i) => x * ys[i])), sum(xs.map((x) => x * x)), sum(ys.map((y) => y * y)), 5n];
    const two: DatasetSchema = { columns: [...schema.columns, { name: "other", scale: 0, lo: "-1000000", hi: "1000000" }] };
    const p = planComputation("regression@1", '{"x":"salary","y":"other"}', two, { rowCount: 5n, epsilonMilli: 0 });
    assert.deepEqual(decodeResult(p, values.map(ring)), { slope: "3.000000", intercept: "-2.000000", r2: "1.000000" });
    const cov = planComputation("covariance@1", '{"x":"salary","y":"other"}', two, { rowCount: 5n, epsilonMilli: 0 });
    assert.equal(decodeResult(cov, [values[0], values[1], values[2], 5n].map(ring)), "6.000000");
  });

  it("refuses a result with the wrong number of values", () => {
    const p = plan("mean@1", { column: "salary" });
    assert.equal(openedCount(p), 2);
    assert.throws(() => decodeResult(p, [1n]), /opens 2 value\(s\), got 1/);
  });

  it("has an exact integer square root", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 1n << 200n }), (n) => {
        const r = isqrt(n);
        assert.ok(r * r <= n && (r + 1n) * (r + 1n) > n);
      }),
    );
  });
});
