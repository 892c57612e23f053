import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { planComputation, Rational } from "../src/index.ts";
import type { DatasetSchema } from "../src/index.ts";
import { runPlanOnShares } from "./support/plans.ts";

// Every algorithm run by three parties on secret shares (the local harness)
// and decoded as the buyer would, against the same statistic computed in the
// clear. Values are integers in units of each column's scale.

async function mpc(schema: DatasetSchema, columns: Record<string, bigint[]>, algorithm: string, params: object) {
  const rowCount = Object.values(columns)[0].length;
  return runPlanOnShares(planComputation(algorithm, JSON.stringify(params), schema, { rowCount: BigInt(rowCount), epsilonMilli: 0 }), columns);
}

// x spans the whole comparable range ±(2^62 − 1): its sums are widened beyond 2^63.
const one: DatasetSchema = { columns: [{ name: "x", scale: 0, lo: "-4611686018427387903", hi: "4611686018427387903" }] };
const two: DatasetSchema = {
  columns: [
    { name: "x", scale: 2, lo: "-167772.16", hi: "167772.16" },
    { name: "y", scale: 0, lo: "-1048576", hi: "1048576" },
  ],
};
const sum = (v: bigint[]) => v.reduce((a, b) => a + b, 0n);
const values = fc.array(fc.bigInt({ min: -(1n << 40n), max: 1n << 40n }), { minLength: 1, maxLength: 40 });
const runs = { numRuns: 12 };

describe("algorithms on secret shares (three parties, local network)", () => {
  it("count, sum, mean", async () => {
    await fc.assert(
      fc.asyncProperty(values, async (xs) => {
        assert.equal(await mpc(one, { x: xs }, "count@1", {}), String(xs.length));
        assert.equal(await mpc(one, { x: xs }, "sum@1", { column: "x" }), sum(xs).toString());
        assert.equal(await mpc(one, { x: xs }, "mean@1", { column: "x" }), new Rational(sum(xs), BigInt(xs.length)).toDecimal(6));
      }),
      runs,
    );
  });

  it("variance and standard deviation (decimal column)", async () => {
    const small = fc.array(fc.bigInt({ min: -(1n << 24n), max: 1n << 24n }), { minLength: 1, maxLength: 40 });
    await fc.assert(
      fc.asyncProperty(small, async (xs) => {
        const n = BigInt(xs.length);
        const variance = new Rational(sum(xs.map((x) => x * x)), n * 10000n).sub(new Rational(sum(xs) * sum(xs), n * n * 10000n));
        const ys = xs.map(() => 0n);
        assert.equal(await mpc(two, { x: xs, y: ys }, "variance@1", { column: "x" }), variance.toDecimal(8));
        assert.equal(await mpc(two, { x: xs, y: ys }, "stddev@1", { column: "x" }), variance.sqrtDecimal(8));
      }),
      runs,
    );
  });

  it("min and max, one row and extremes of the comparable range included", async () => {
    const edge = fc.array(fc.oneof(fc.bigInt({ min: -(1n << 62n) + 1n, max: (1n << 62n) - 1n }), fc.constantFrom(0n, -1n, (1n << 62n) - 1n, -(1n << 62n) + 1n)), {
      minLength: 1,
      maxLength: 33,
    });
    await fc.assert(
      fc.asyncProperty(edge, async (xs) => {
        const min = xs.reduce((a, b) => (b < a ? b : a));
        const max = xs.reduce((a, b) => (b > a ? b : a));
        assert.equal(await mpc(one, { x: xs }, "min@1", { column: "x" }), min.toString());
        assert.equal(await mpc(one, { x: xs }, "max@1", { column: "x" }), max.toString());
      }),
      runs,
    );
  });

  it("histogram over public edges and count-if with every comparator", async () => {
    const small = fc.array(fc.integer({ min: -20, max: 20 }).map(BigInt), { minLength: 1, maxLength: 40 });
    await fc.assert(
      fc.asyncProperty(small, fc.integer({ min: -20, max: 20 }), async (xs, t) => {
        const edges = [-5n, 0n, 5n];
        const expected = [
          xs.filter((x) => x < -5n).length,
          xs.filter((x) => x >= -5n && x < 0n).length,
          xs.filter((x) => x >= 0n && x < 5n).length,
          xs.filter((x) => x >= 5n).length,
        ].map(String);
        assert.deepEqual(await mpc(one, { x: xs }, "histogram@1", { column: "x", edges: edges.map(String) }), {
          edges: ["-5", "0", "5"],
          counts: expected,
        });
        const T = BigInt(t);
        const tests = { lt: (x: bigint) => x < T, le: (x: bigint) => x <= T, gt: (x: bigint) => x > T, ge: (x: bigint) => x >= T, eq: (x: bigint) => x === T, ne: (x: bigint) => x !== T };
        for (const [op, f] of Object.entries(tests)) {
          assert.equal(await mpc(one, { x: xs }, "count-if@1", { column: "x", op, threshold: String(t) }), String(xs.filter(f).length), op);
        }
      }),
      { numRuns: 6 },
    );
  });

  it("covariance and regression over a decimal and an integer column", async () => {
    const pairs = fc.array(fc.tuple(fc.bigInt({ min: -(1n << 20n), max: 1n << 20n }), fc.bigInt({ min: -(1n << 20n), max: 1n << 20n })), { minLength: 2, maxLength: 30 });
    await fc.assert(
      fc.asyncProperty(pairs, async (rows) => {
        const xs = rows.map(([x]) => x);
        const ys = rows.map(([, y]) => y);
        const n = BigInt(rows.length);
        const X = (v: bigint) => new Rational(v, 100n);
        const mean = (v: Rational) => v.div(new Rational(n));
        const mx = mean(X(sum(xs)));
        const my = mean(new Rational(sum(ys)));
        const cxy = mean(X(sum(rows.map(([x, y]) => x * y)))).sub(mx.mul(my));
        const cxx = mean(new Rational(sum(xs.map((x) => x * x)), 10000n)).sub(mx.mul(mx));
        const cyy = mean(new Rational(sum(ys.map((y) => y * y)))).sub(my.mul(my));
        assert.equal(await mpc(two, { x: xs, y: ys }, "covariance@1", { x: "x", y: "y" }), cxy.toDecimal(8));
        if (cxx.isZero()) return;
        const slope = cxy.div(cxx);
        const r2 = cyy.isZero() ? new Rational(1n) : cxy.mul(cxy).div(cxx.mul(cyy));
        assert.deepEqual(await mpc(two, { x: xs, y: ys }, "regression@1", { x: "x", y: "y" }), {
          slope: slope.toDecimal(8),
          intercept: my.sub(slope.mul(mx)).toDecimal(8),
          r2: r2.toDecimal(6),
        });
      }),
      runs,
    );
  });
});
