import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { decodeResult, openedCount, planComputation, Rational, isqrt, ALGORITHMS } from "../src/index.ts";
import type { DatasetSchema } from "../src/index.ts";

// The buyer's side of the algorithm library: parameter validation and the
// decoding of opened statistics, against plaintext computations.
const schema: DatasetSchema = { columns: [{ name: "salary", scale: 0 }, { name: "bonus", scale: 2 }] };
const ring = (v: bigint) => BigInt.asUintN(64, v);

describe("algorithm catalog: parameters", () => {
  it("declares output and leakage for every algorithm", () => {
    for (const a of Object.values(ALGORITHMS)) {
      assert.match(a.name, /^[a-z-]+@\d+$/);
      assert.ok(a.leakage.length > 10 && a.output.length > 5 && a.opened.length > 0, a.name);
    }
    assert.equal(Object.keys(ALGORITHMS).length, 11);
  });

  it("resolves columns and encodes thresholds and edges at the column's scale", () => {
    assert.deepEqual(planComputation("mean@1", '{"column":"bonus"}', schema), { algorithm: "mean@1", column: { name: "bonus", scale: 2 } });
    const ci = planComputation("count-if@1", '{"column":"bonus","op":"ge","threshold":"-1.5"}', schema);
    assert.deepEqual(ci, { algorithm: "count-if@1", column: { name: "bonus", scale: 2 }, op: "ge", threshold: -150n });
    const h = planComputation("histogram@1", '{"column":"salary","edges":["10","20"]}', schema);
    assert.deepEqual(h, { algorithm: "histogram@1", column: { name: "salary", scale: 0 }, edges: [10n, 20n] });
  });

  it("names what is wrong with bad parameters", () => {
    assert.throws(() => planComputation("median@1", "{}", schema), /unknown algorithm "median@1"/);
    assert.throws(() => planComputation("sum@1", "{", schema), /not valid JSON/);
    assert.throws(() => planComputation("sum@1", "[]", schema), /JSON object/);
    assert.throws(() => planComputation("sum@1", '{"column":"age"}', schema), /no column "age"; the datasets have: salary, bonus/);
    assert.throws(() => planComputation("sum@1", '{"column":"salary","extra":1}', schema), /unknown field\(s\) "extra"/);
    assert.throws(() => planComputation("count-if@1", '{"column":"salary","op":"lte","threshold":"1"}', schema), /"op" must be one of/);
    assert.throws(() => planComputation("count-if@1", '{"column":"salary","op":"lt","threshold":"1.5"}', schema), /does not fit column "salary"/);
    assert.throws(() => planComputation("histogram@1", '{"column":"salary","edges":["2","1"]}', schema), /strictly increasing/);
    assert.throws(() => planComputation("histogram@1", '{"column":"salary","edges":[]}', schema), /"edges" must be a list/);
    assert.throws(() => planComputation("regression@1", '{"x":"salary"}', schema), /"y" must name a column/);
  });
});

describe("algorithm catalog: decoding opened statistics", () => {
  const plan = (algorithm: string, params: object) => planComputation(algorithm, JSON.stringify(params), schema);

  it("decodes sums, counts and extremes, negatives included", () => {
    assert.equal(decodeResult(plan("sum@1", { column: "bonus" }), [ring(-12345n)]), "-123.45");
    assert.equal(decodeResult(plan("count@1", {}), [7n]), "7");
    assert.equal(decodeResult(plan("max@1", { column: "salary" }), [ring(-3n)]), "-3");
  });

  it("computes mean and population variance exactly from Σx, Σx², n", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -1_000_000, max: 1_000_000 }), { minLength: 1, maxLength: 50 }), (xs) => {
        const n = BigInt(xs.length);
        const s = xs.reduce((a, x) => a + BigInt(x), 0n);
        const q = xs.reduce((a, x) => a + BigInt(x) * BigInt(x), 0n);
        const mean = new Rational(s, n);
        const variance = new Rational(q, n).sub(mean.mul(mean));
        assert.equal(decodeResult(plan("mean@1", { column: "salary" }), [ring(s), n]), mean.toDecimal(6));
        assert.equal(decodeResult(plan("variance@1", { column: "salary" }), [ring(s), ring(q), n]), variance.toDecimal(6));
        assert.equal(decodeResult(plan("stddev@1", { column: "salary" }), [ring(s), ring(q), n]), variance.sqrtDecimal(6));
      }),
    );
  });

  it("turns cumulative counts into bucket counts", () => {
    const p = plan("histogram@1", { column: "bonus", edges: ["1000", "5000.5"] });
    assert.deepEqual(decodeResult(p, [2n, 7n, 10n]), { edges: ["1000.00", "5000.50"], counts: ["2", "5", "3"] });
  });

  it("fits a regression line exactly on collinear data", () => {
    // y = 3x − 2 on x = 1..5.
    const xs = [1n, 2n, 3n, 4n, 5n];
    const ys = xs.map((x) => 3n * x - 2n);
    const sum = (v: bigint[]) => v.reduce((a, b) => a + b, 0n);
    const values = [sum(xs), sum(ys), sum(xs.map((x) => x * x)), sum(xs.map((x, i) => x * ys[i])), sum(ys.map((y) => y * y)), 5n];
    const p = planComputation("regression@1", '{"x":"salary","y":"salary"}', schema);
    assert.deepEqual(decodeResult(p, values.map(ring)), { slope: "3.000000", intercept: "-2.000000", r2: "1.000000" });
    const cov = planComputation("covariance@1", '{"x":"salary","y":"salary"}', schema);
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
