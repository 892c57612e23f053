import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { decodeResult, openedCount, planComputation, Rational, isqrt, ALGORITHMS } from "../src/index.ts";
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
    assert.equal(Object.keys(ALGORITHMS).length, 11);
  });

  it("resolves columns and encodes thresholds and edges at the column's scale", () => {
    const bonus = { name: "bonus", scale: 2, lo: 0n, hi: 1000000n };
    const salary = { name: "salary", scale: 0, lo: -1000000n, hi: 1000000n };
    const mean = planFor("mean@1", '{"column":"bonus"}');
    assert.deepEqual(mean, {
      algorithm: "mean@1",
      rowCount: 50n,
      column: bonus,
      sums: [{ label: "Σx", factors: [{ column: "bonus", centre: 500000n }], rowBound: 500000n, bound: 25000000n, accumulation: { kind: "ring" } }],
    });
    const ci = planFor("count-if@1", '{"column":"bonus","op":"ge","threshold":"-1.5"}');
    assert.deepEqual(ci, { algorithm: "count-if@1", rowCount: 50n, column: bonus, op: "ge", threshold: -150n });
    const h = planFor("histogram@1", '{"column":"salary","edges":["10","20"]}');
    assert.deepEqual(h, { algorithm: "histogram@1", rowCount: 50n, column: salary, edges: [10n, 20n] });
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

describe("algorithm catalog: decoding opened statistics", () => {
  const plan = (algorithm: string, params: object, rowCount = 50n) => planFor(algorithm, JSON.stringify(params), rowCount);

  it("decodes sums, counts and extremes, negatives included", () => {
    // bonus is centred on 5000.00: the hosts open Σ(x − c) and the buyer adds n·c back.
    assert.equal(decodeResult(plan("sum@1", { column: "bonus" }, 2n), [ring(12345n - 2n * 500000n)]), "123.45");
    assert.equal(decodeResult(plan("sum@1", { column: "salary" }, 2n), [ring(-12345n)]), "-12345");
    // Bonuses are within [0, 10000.00]: a negative sum of two never comes from such rows.
    assert.throws(() => decodeResult(plan("sum@1", { column: "bonus" }, 2n), [ring(-12345n - 2n * 500000n)]), /impossible/);
    assert.equal(decodeResult(plan("count@1", {}, 7n), [7n]), "7");
    assert.equal(decodeResult(plan("max@1", { column: "salary" }), [ring(-3n)]), "-3");
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
      }),
    );
  });

  it("turns cumulative counts into bucket counts", () => {
    const p = plan("histogram@1", { column: "bonus", edges: ["1000", "5000.5"] }, 10n);
    assert.deepEqual(decodeResult(p, [2n, 7n, 10n]), { edges: ["1000.00", "5000.50"], counts: ["2", "5", "3"] });
  });

  it("fits a regression line exactly on collinear data", () => {
    // y = 3x − 2 on x = 1..5.
    const xs = [1n, 2n, 3n, 4n, 5n];
    const ys = xs.map((x) => 3n * x - 2n);
    const sum = (v: bigint[]) => v.reduce((a, b) => a + b, 0n);
    const values = [sum(xs), sum(ys), sum(xs.map((x) => x * x)), sum(xs.map((x, i) => x * ys[i])), sum(ys.map((y) => y * y)), 5n];
    const p = planFor("regression@1", '{"x":"salary","y":"salary"}', 5n);
    assert.deepEqual(decodeResult(p, values.map(ring)), { slope: "3.000000", intercept: "-2.000000", r2: "1.000000" });
    const cov = planFor("covariance@1", '{"x":"salary","y":"salary"}', 5n);
    assert.equal(decodeResult(cov, [values[0], values[1], values[3], 5n].map(ring)), "6.000000");
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
