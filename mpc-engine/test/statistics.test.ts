import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { decodeResult, describeNoise, isMpcError, planComputation, Rational, type DatasetSchema, type Plan } from "../src/index.ts";
import { incompleteBeta, studentTwoSidedP } from "../src/algorithms/student-t.ts";
import { MAX_OPENED_VALUES, packedResultLength, packResult } from "../src/output-envelope.ts";
import { WRAPPED_HEADER_BYTES } from "../src/release-key.ts";
import type { QueryColumn } from "../src/query/check-query.ts";
import type { Query } from "../src/query/query-ast.ts";
import { plainQuery, type PlainRow } from "./support/plain-sql.ts";
import { openPlanOnShares, runPlanOnShares } from "./support/plans.ts";

// The statistics library (multiple regression, correlation matrix, Welch's
// t-test) on secret shares (the local harness), against plaintext
// computations: the plaintext SQL engine's textbook least squares and corr,
// and Welch's test from the raw values. Then their DP plans' ε splits and a
// DP run of each.

const schema: DatasetSchema = {
  columns: [
    { name: "y", scale: 1, lo: "-1000.0", hi: "1000.0" },
    { name: "x1", scale: 0, lo: "-50", hi: "50" },
    { name: "x2", scale: 2, lo: "-10.00", hi: "10.00" },
    { name: "x3", scale: 0, lo: "0", hi: "20" },
    { name: "x4", scale: 0, lo: "-5", hi: "5" },
    { name: "dept", scale: 0, lo: "0", hi: "2", type: "category", categories: ["eng", "ops", "hr"] },
    { name: "flag", scale: 0, lo: "0", hi: "1", type: "bool" },
  ],
};
const queryColumns: QueryColumn[] = schema.columns.map((c) => ({
  name: c.name,
  type: c.type ?? (c.scale > 0 ? "decimal" : "int"),
  scale: c.scale,
  lo: c.lo,
  hi: c.hi,
  ...(c.categories ? { categories: c.categories } : {}),
}));
const names = schema.columns.map((c) => c.name);
const FEATURES = ["x1", "x2", "x3", "x4"];

const cell = (lo: number, hi: number) => fc.option(fc.integer({ min: lo, max: hi }).map(BigInt), { freq: 8, nil: null });
const row = fc.record({ y: cell(-10000, 10000), x1: cell(-50, 50), x2: cell(-1000, 1000), x3: cell(0, 20), x4: cell(-5, 5), dept: cell(0, 2), flag: cell(0, 1) });

/** Runs a named algorithm on shares of the rows (a missing cell: validity 0, value 0). */
async function mpc(algorithm: string, params: object, rows: PlainRow[], epsilonMilli = 0) {
  const plan = planComputation(algorithm, JSON.stringify(params), schema, { rowCount: BigInt(rows.length), epsilonMilli });
  const columns = Object.fromEntries(names.map((n) => [n, rows.map((r) => r[n] ?? 0n)]));
  const valid = Object.fromEntries(names.map((n) => [n, rows.map((r) => (r[n] === null ? 0 : 1) as 0 | 1)]));
  return runPlanOnShares(plan, columns, valid);
}

/** The plaintext engine's answer to one aggregate-only SELECT. */
function plain(select: Query["select"], rows: PlainRow[]): (string | null)[] {
  return plainQuery({ select, from: [], groupBy: [], text: "" }, queryColumns, rows)[0];
}

const undefinedResult = (err: unknown) => isMpcError(err, "RESULT_UNDEFINED");

describe("multiple linear regression (regression@1 with a list of x)", () => {
  it("equals the plaintext least squares, k = 1..4, listwise over rows with NULLs", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(row, { minLength: 1, maxLength: 24 }), fc.integer({ min: 1, max: 4 }), async (rows, k) => {
        const xs = FEATURES.slice(0, k);
        const expected = plain([{ kind: "aggregate", fn: "linear_regression", y: "y", x: xs }], rows);
        if (expected[0] === null) {
          await assert.rejects(mpc("regression@1", { x: xs, y: "y" }, rows), undefinedResult);
          return;
        }
        const se = expected.slice(k + 1, 2 * k + 2);
        assert.deepEqual(await mpc("regression@1", { x: xs, y: "y" }, rows), {
          coefficients: Object.fromEntries(xs.map((x, i) => [x, expected[i]])),
          intercept: expected[k],
          standardErrors: se[0] === null ? null : { ...Object.fromEntries(xs.map((x, i) => [x, se[i]])), intercept: se[k] },
          r2: expected[2 * k + 2],
          n: expected[2 * k + 3],
        });
      }),
      { numRuns: 25 },
    );
  });

  it("a fitted plane: known coefficients, zero standard errors, r² = 1; n = k + 1 has no standard errors", async () => {
    // y = 2·x1 − 0.5·x3 + 7 exactly (y at scale 1).
    const rows: PlainRow[] = [
      [3n, 1n],
      [-4n, 7n],
      [10n, 0n],
      [0n, 20n],
      [25n, 9n],
    ].map(([x1, x3]) => ({ y: 20n * x1 - 5n * x3 + 70n, x1, x2: 0n, x3, x4: 0n, dept: 0n, flag: 0n }));
    assert.deepEqual(await mpc("regression@1", { x: ["x1", "x3"], y: "y" }, rows), {
      coefficients: { x1: "2.0000000", x3: "-0.5000000" },
      intercept: "7.0000000",
      standardErrors: { x1: "0.0000000", x3: "0.0000000", intercept: "0.0000000" },
      r2: "1.000000",
      n: "5",
    });
    const three = await mpc("regression@1", { x: ["x1", "x3"], y: "y" }, rows.slice(0, 3));
    assert.equal((three as { standardErrors: unknown }).standardErrors, null);
  });

  it("a singular XᵀX (a constant column, or two proportional ones) is RESULT_UNDEFINED, naming the cause", async () => {
    const rows: PlainRow[] = Array.from({ length: 6 }, (_, i) => ({ y: BigInt(i * 13), x1: BigInt(i), x2: 500n, x3: BigInt(2 * i), x4: 0n, dept: 0n, flag: 0n }));
    await assert.rejects(mpc("regression@1", { x: ["x1", "x2"], y: "y" }, rows), (err: unknown) => undefinedResult(err) && /singular/.test((err as Error).message));
    await assert.rejects(mpc("regression@1", { x: ["x1", "x3"], y: "y" }, rows), undefinedResult);
  });

  it("keeps the simple form for a single name; refuses bad lists", () => {
    const plan = (params: object) => planComputation("regression@1", JSON.stringify(params), schema, { rowCount: 10n, epsilonMilli: 0 });
    assert.deepEqual(
      plan({ x: "x1", y: "y" }).query.output.map((o) => o.kind),
      ["regr_slope", "regr_intercept", "regr_r2"],
    );
    assert.deepEqual(
      plan({ x: ["x1"], y: "y" }).query.output.map((o) => o.kind),
      ["linear_regression"],
    );
    for (const [x, why] of [
      [[], /list of 1 to 10/],
      [Array.from({ length: 11 }, () => "x1"), /list of 1 to 10/],
      [["x1", "x1"], /repeats/],
      [["x1", "y"], /y's column/],
      [["x1", "dept"], /category column/],
      [["x1", "nope"], /no column/],
    ] as const) {
      assert.throws(() => plan({ x, y: "y" }), (err: unknown) => isMpcError(err, "INVALID_ARGUMENT") && why.test((err as Error).message), JSON.stringify(x));
    }
  });
});

describe("correlation matrix (correlation@1)", () => {
  it("equals the plaintext corr of every pair, pairwise complete, 1 on the diagonal", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(row, { minLength: 1, maxLength: 24 }), async (rows) => {
        const columns = ["x1", "y", "x2"];
        const expected = plain(
          [
            { kind: "aggregate", fn: "corr", x: "x1", y: "y" },
            { kind: "aggregate", fn: "corr", x: "x1", y: "x2" },
            { kind: "aggregate", fn: "corr", x: "y", y: "x2" },
          ],
          rows,
        );
        const [ab, ac, bc] = expected;
        assert.deepEqual(await mpc("correlation@1", { columns }, rows), {
          columns,
          matrix: [
            ["1.000000", ab, ac],
            [ab, "1.000000", bc],
            [ac, bc, "1.000000"],
          ],
        });
      }),
      { numRuns: 15 },
    );
  });

  it("takes 2 to 10 distinct numeric columns", () => {
    const plan = (columns: unknown) => planComputation("correlation@1", JSON.stringify({ columns }), schema, { rowCount: 10n, epsilonMilli: 0 });
    assert.equal(plan(["x1", "x2", "x3", "x4"]).query.output.length, 6);
    for (const bad of [["x1"], ["x1", "x1"], ["x1", "dept"], "x1", Array.from({ length: 11 }, (_, i) => `c${i}`)]) {
      assert.throws(() => plan(bad), (err: unknown) => isMpcError(err, "INVALID_ARGUMENT"), JSON.stringify(bad));
    }
  });
});

/** Welch's test from raw values (units of 10^-scale), the textbook way: sample variances Σ(x − x̄)²/(n − 1). */
function welchPlain(a: bigint[], b: bigint[], scale: number) {
  const stats = (v: bigint[]) => {
    const n = BigInt(v.length);
    const values = v.map((x) => Rational.scaled(x, scale));
    const mean = values.reduce((s, x) => s.add(x), new Rational(0n)).div(new Rational(n));
    const s2 = values.reduce((s, x) => s.add(x.sub(mean).mul(x.sub(mean))), new Rational(0n)).div(new Rational(n - 1n));
    return { n, mean, se2: s2.div(new Rational(n)) };
  };
  const [g1, g2] = [stats(a), stats(b)];
  const se2 = g1.se2.add(g2.se2);
  const t2 = g1.mean.sub(g2.mean).mul(g1.mean.sub(g2.mean)).div(se2);
  const df = se2.mul(se2).div(g1.se2.mul(g1.se2).div(new Rational(g1.n - 1n)).add(g2.se2.mul(g2.se2).div(new Rational(g2.n - 1n))));
  const t = Math.sign(Number(g1.mean.sub(g2.mean).toDecimal(12))) * Math.sqrt(Number(t2.toDecimal(15)));
  return { t, df, g1, g2, zero: se2.isZero() };
}

describe("Welch's t-test (ttest@1)", () => {
  it("Student's t p-value: closed forms at ν = 1 and 2, a tabulated value, the normal limit", () => {
    for (const t of [0, 0.1, 0.5, 1, 2.5, 10, 1000]) {
      assert.ok(Math.abs(studentTwoSidedP(t, 1) - (1 - (2 * Math.atan(t)) / Math.PI)) < 1e-12, `ν = 1, t = ${t}`);
      assert.ok(Math.abs(studentTwoSidedP(-t, 2) - (1 - t / Math.sqrt(2 + t * t))) < 1e-12, `ν = 2, t = ${t}`);
    }
    assert.ok(Math.abs(studentTwoSidedP(2, 10) - 0.0733880347707404) < 1e-12);
    // ν = 10^6: the normal's 0.05 at 1.959964 plus its first correction 2φ(t)(t³ + t)/(4ν).
    const z = 1.959963984540054;
    const correction = (2 * Math.exp(-z * z / 2) / Math.sqrt(2 * Math.PI) * (z ** 3 + z)) / 4e6;
    assert.ok(Math.abs(studentTwoSidedP(z, 1e6) - (0.05 + correction)) < 1e-10);
    assert.ok(Math.abs(incompleteBeta(0.3, 2, 3) - 0.3483) < 1e-12, "I_0.3(2, 3) = 0.3483");
  });

  it("equals Welch's test from the raw values, groups of a category and of a bool column", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(row, { minLength: 1, maxLength: 30 }), fc.boolean(), async (records, byFlag) => {
        const rows: PlainRow[] = records;
        const [by, groups, codes] = byFlag ? ["flag", ["true", "false"], [1n, 0n]] : ["dept", ["ops", "eng"], [1n, 0n]];
        const params = { column: "x2", by, groups };
        const of = (code: bigint) => rows.filter((r) => r[by] === code && r.x2 !== null).map((r) => r.x2!);
        const [a, b] = codes.map(of);
        if (a.length < 2 || b.length < 2) {
          await assert.rejects(mpc("ttest@1", params, rows), undefinedResult);
          return;
        }
        const expected = welchPlain(a, b, 2);
        if (expected.zero) {
          await assert.rejects(mpc("ttest@1", params, rows), (err: unknown) => undefinedResult(err) && /constant/.test((err as Error).message));
          return;
        }
        const result = (await mpc("ttest@1", params, rows)) as Record<string, string>;
        assert.equal(result.df, expected.df.toDecimal(6));
        assert.equal(result.mean1, expected.g1.mean.toDecimal(8));
        assert.equal(result.mean2, expected.g2.mean.toDecimal(8));
        assert.deepEqual([result.n1, result.n2], [String(a.length), String(b.length)]);
        assert.ok(Math.abs(Number(result.t) - expected.t) <= 5e-7 * (1 + 1e-9), `t ${result.t} for ${expected.t}`);
        assert.ok(Math.abs(Number(result.p) - studentTwoSidedP(expected.t, Number(expected.df.toDecimal(12)))) <= 5e-7 + 1e-12, `p ${result.p}`);
      }),
      { numRuns: 20 },
    );
  });

  it("needs a numeric column, a category or bool `by` and two of its values", () => {
    const plan = (params: object) => planComputation("ttest@1", JSON.stringify(params), schema, { rowCount: 10n, epsilonMilli: 0 });
    assert.equal(plan({ column: "y", by: "dept", groups: ["eng", "hr"] }).query.groupBy[0].column, "dept");
    for (const bad of [
      { column: "y", by: "x1", groups: ["1", "2"] },
      { column: "y", by: "dept", groups: ["eng"] },
      { column: "y", by: "dept", groups: ["eng", "eng"] },
      { column: "y", by: "dept", groups: ["eng", "sales"] },
      { column: "dept", by: "dept", groups: ["eng", "ops"] },
      { column: "y", by: "flag", groups: ["yes", "no"] },
    ]) {
      assert.throws(() => plan(bad), (err: unknown) => isMpcError(err, "INVALID_ARGUMENT"), JSON.stringify(bad));
    }
  });
});

/** The ε share of every release of a DP plan, as "num/den". */
function shares(p: Plan): string[] {
  return (p.query.releases ?? []).flatMap((r) => (r === undefined ? [] : [`${r.epsilon.num}/${r.epsilon.den}`]));
}

describe("the on-chain result limit", () => {
  it("refuses before payment a plan that opens more values than a result holds", () => {
    const wide: DatasetSchema = { columns: Array.from({ length: 11 }, (_, i) => ({ name: `c${i}`, scale: 0, lo: "0", hi: "100" })) };
    const plan = (algorithm: string, params: object) => planComputation(algorithm, JSON.stringify(params), wide, { rowCount: 100n, epsilonMilli: 0 });
    const cols = (n: number) => Array.from({ length: n }, (_, i) => `c${i}`);
    assert.equal(MAX_OPENED_VALUES, 72);
    // 5 columns: 10 pairs × 6 = 60 values; 6 columns: 90.
    assert.equal(plan("correlation@1", { columns: cols(5) }).query.statistics.length, 60);
    const tooLong = (err: unknown) => isMpcError(err, "INVALID_ARGUMENT") && /at most 72/.test((err as Error).message);
    assert.throws(() => plan("correlation@1", { columns: cols(6) }), tooLong);
    // k = 9: 45 + 9 + 9 + 3 = 66 values; k = 10: 78.
    assert.equal(plan("regression@1", { x: cols(9), y: "c10" }).query.statistics.length, 66);
    assert.throws(() => plan("regression@1", { x: cols(10), y: "c10" }), tooLong);
  });

  it("packedResultLength is the length packResult gives", () => {
    for (const v of [0, 1, 2, 65, MAX_OPENED_VALUES, MAX_OPENED_VALUES + 1]) {
      const wrapped = new Uint8Array(WRAPPED_HEADER_BYTES + 62 + 16 * v);
      assert.equal((packResult(`0x${"ab".repeat(32)}`, [wrapped, wrapped, wrapped]).length - 2) / 2, packedResultLength(v), String(v));
    }
    assert.ok(packedResultLength(MAX_OPENED_VALUES) <= 4096 && packedResultLength(MAX_OPENED_VALUES + 1) > 4096);
  });
});

describe("the statistics in DP mode", () => {
  const dpPlan = (algorithm: string, params: object, epsilonMilli = 1000) => planComputation(algorithm, JSON.stringify(params), schema, { rowCount: 1000n, epsilonMilli });

  it("one release per statistic, ε split equally: k(k+1)/2 + 2k + 3 for a regression, 6 per pair for a correlation, 3 for a t-test", () => {
    const regression = dpPlan("regression@1", { x: ["x1", "x2", "x3"], y: "y" });
    assert.deepEqual(shares(regression), Array.from({ length: 15 }, () => "1/15"));
    // The sensitivities: Δ(count) = 1, Δ Σ(x1−c) = hi − lo = 100, Δ Σ(x1−c)² = W² = 2500, Δ Σ(x1−c)(y−c) = 2·50·10000.
    const byKey = new Map(regression.query.statistics.map((s, k) => [s.key, regression.query.releases![k]!.sensitivity]));
    const valid = "[x1,x2,x3,y]";
    assert.equal(byKey.get(`count${valid}`), 1n);
    assert.equal(byKey.get(`Σ(x1−c)${valid}`), 100n);
    assert.equal(byKey.get(`Σ(x1−c)²${valid}`), 2500n);
    assert.equal(byKey.get(`Σ(x1−c)(y−c)${valid}`), 1_000_000n);
    assert.equal(dpPlan("regression@1", { x: FEATURES.slice(0, 1), y: "y" }).query.releases!.length, 6);

    assert.deepEqual(shares(dpPlan("correlation@1", { columns: ["x1", "x2", "x3"] })), Array.from({ length: 18 }, () => "1/18"));
    const ttest = dpPlan("ttest@1", { column: "x3", by: "dept", groups: ["eng", "ops"] }, 600);
    assert.deepEqual(shares(ttest), ["1/5", "1/5", "1/5"]);
    // Grouped: a row may move between groups (count 2; Σ(x−c) 2·W = hi − lo = 20; Σ(x−c)² 2·W² = 200).
    assert.deepEqual(ttest.query.releases!.map((r) => r!.sensitivity), [2n, 20n, 200n]);
  });

  it("DP runs are plausible: regression coefficients, a correlation, group means", async (t) => {
    const n = 1500;
    // A fixed pseudo-random table (the high bits of a 31-bit LCG: its low bits cycle).
    let state = 12345;
    const next = (m: number) => {
      state = (state * 1103515245 + 12345) % 2 ** 31;
      return Math.floor(state / 2 ** 15) % m;
    };
    const rows: PlainRow[] = Array.from({ length: n }, () => {
      const x1 = BigInt(next(101) - 50);
      const x3 = BigInt(next(21));
      const dept = BigInt(next(2));
      // y = 2·x1 − 3·x3 + 10 + dept·15 + noise (y at scale 1).
      const y = 10n * (2n * x1 - 3n * x3 + 10n + dept * 15n) + BigInt(next(41) - 20);
      return { y, x1, x2: BigInt(next(2001) - 1000), x3, x4: 0n, dept, flag: 0n };
    });
    const regression = (await mpc("regression@1", { x: ["x1", "x3"], y: "y" }, rows, 200_000)) as { coefficients: Record<string, string>; r2: string };
    t.diagnostic(`regression at ε = 200: ${JSON.stringify(regression)}`);
    assert.ok(Math.abs(Number(regression.coefficients.x1) - 2) < 0.5, "x1");
    assert.ok(Math.abs(Number(regression.coefficients.x3) + 3) < 0.75, "x3");
    assert.ok(Number(regression.r2) >= 0 && Number(regression.r2) <= 1);

    // At ε = 20 (18 releases, ε/18 each) the noise on Σ(y−c)², Δ = W² = 10^8, made y's variance negative (the
    // pair null) in 2 of 200 runs; at ε = 100 its scale is a fifth and none of 200 failed (tail about 10^-9).
    const correlation = (await mpc("correlation@1", { columns: ["x1", "y", "x2"] }, rows, 100_000)) as { matrix: (string | null)[][] };
    t.diagnostic(`correlation at ε = 100: ${JSON.stringify(correlation.matrix)}`);
    assert.ok(Number(correlation.matrix[0][1]) > 0.5, "x1 and y correlate strongly");
    assert.ok(Math.abs(Number(correlation.matrix[0][2])) < 0.3, "x1 and x2 hardly");

    // The noise report of each: per-value intervals under the result's names, each containing its value.
    const described = async (algorithm: string, params: object, epsilonMilli: number) => {
      const plan = planComputation(algorithm, JSON.stringify(params), schema, { rowCount: BigInt(rows.length), epsilonMilli });
      const columns = Object.fromEntries(names.map((c) => [c, rows.map((r) => r[c] ?? 0n)]));
      const values = await openPlanOnShares(plan, columns);
      return { result: decodeResult(plan, values), noise: describeNoise(plan, values)! };
    };
    const inside = (value: string, [lo, hi]: readonly [string, string]) => Number(lo) <= Number(value) && Number(value) <= Number(hi);
    const fit = await described("regression@1", { x: ["x1", "x3"], y: "y" }, 200_000);
    const fitIntervals = fit.noise.interval95 as Record<string, [string, string]>;
    const coefficients = (fit.result as { coefficients: Record<string, string> }).coefficients;
    assert.deepEqual(Object.keys(fitIntervals), ["coefficient(x1)", "coefficient(x3)", "intercept", "se(x1)", "se(x3)", "se(intercept)", "r2", "n"]);
    assert.ok(inside(coefficients.x1, fitIntervals["coefficient(x1)"]) && inside(coefficients.x3, fitIntervals["coefficient(x3)"]));
    assert.equal(fit.noise.statistics.length, 10);
    const matrix = await described("correlation@1", { columns: ["x1", "y"] }, 20_000);
    assert.deepEqual(Object.keys(matrix.noise.interval95), ["x1,y"]);
    const welch = await described("ttest@1", { column: "y", by: "dept", groups: ["ops", "eng"] }, 50_000);
    const welchIntervals = welch.noise.interval95 as Record<string, [string, string]>;
    assert.deepEqual(Object.keys(welchIntervals), ["mean1", "mean2", "n1", "n2"]);
    assert.ok(inside((welch.result as Record<string, string>).mean1, welchIntervals.mean1));

    const ttest = (await mpc("ttest@1", { column: "y", by: "dept", groups: ["ops", "eng"] }, rows, 50_000)) as Record<string, string>;
    t.diagnostic(`t-test at ε = 50: ${JSON.stringify(ttest)}`);
    const mean = (code: bigint) => rows.filter((r) => r.dept === code).reduce((s, r) => s + Number(r.y), 0) / 10 / rows.filter((r) => r.dept === code).length;
    assert.ok(Math.abs(Number(ttest.mean1) - mean(1n)) < 5 && Math.abs(Number(ttest.mean2) - mean(0n)) < 5, "means");
    assert.ok(Number(ttest.p) >= 0 && Number(ttest.p) <= 1);
  });
});
