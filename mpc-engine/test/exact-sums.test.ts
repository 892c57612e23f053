import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { boundText, isMpcError, planComputation, Rational } from "../src/index.ts";
import type { AlgorithmResult, DatasetSchema, Plan, PlannedSum, SchemaColumn } from "../src/index.ts";
import { runPlanOnShares } from "./support/plans.ts";

// No silent wrong answer: every algorithm, run by three parties on secret
// shares, over random scales, bounds up to the comparable limit ±(2^62 − 1),
// row counts and in-bounds values (bounds themselves included), is either
// exact — equal to a BigInt/Rational reference computed from the plaintext —
// or refused by planning with RANGE_TOO_WIDE, and which of the two is decided
// here from the bounds alone.

const LIMIT = (1n << 62n) - 1n;
const sum = (v: readonly bigint[]) => v.reduce((a, b) => a + b, 0n);

interface Column {
  scale: number;
  lo: bigint;
  hi: bigint;
}

const schemaColumn = (name: string, c: Column): SchemaColumn => ({ name, scale: c.scale, lo: boundText(c.lo, c.scale), hi: boundText(c.hi, c.scale) });

/** Plans, runs and decodes; a planning refusal comes back as its error code. */
async function mpc(schema: DatasetSchema, columns: Record<string, readonly bigint[]>, algorithm: string, params: object): Promise<AlgorithmResult | { refused: string }> {
  const rowCount = BigInt(Object.values(columns)[0].length);
  let plan: Plan;
  try {
    plan = planComputation(algorithm, JSON.stringify(params), schema, { rowCount, epsilonMilli: 0 });
  } catch (err) {
    if (isMpcError(err, "RANGE_TOO_WIDE")) return { refused: err.code };
    throw err;
  }
  return runPlanOnShares(plan, columns);
}

// The planning rule, restated from the bounds: centre = ⌊(lo + hi)/2⌋, W = the larger distance to a bound.
function halfWidthOf(c: Column): bigint {
  const s = c.lo + c.hi;
  const centre = s >= 0n ? s / 2n : -((-s + 1n) / 2n);
  return c.hi - centre > centre - c.lo ? c.hi - centre : centre - c.lo;
}
const productFits = (...columns: Column[]) => columns.reduce((p, c) => p * halfWidthOf(c), 1n) <= LIMIT;

/**
 * A column: a scale, then bounds whose width has a random number of bits
 * (0..63, often 56 or more: the wrap-prone widths), anywhere within ±(2^62 − 1).
 */
const columnArb: fc.Arbitrary<Column> = fc
  .tuple(
    fc.integer({ min: 0, max: 12 }),
    fc.bigInt({ min: -LIMIT, max: LIMIT }),
    fc.oneof(fc.integer({ min: 0, max: 63 }), fc.integer({ min: 56, max: 63 })),
    fc.bigInt({ min: 0n, max: (1n << 63n) - 1n }),
  )
  .map(([scale, lo, bits, r]) => {
    const width = bits === 0 ? 0n : r % (1n << BigInt(bits));
    const hi = lo + width > LIMIT ? LIMIT : lo + width;
    return { scale, lo, hi };
  });

/** n values within [lo, hi], the bounds themselves often (the wrap-prone extremes). */
function valuesArb(c: Column, n: number): fc.Arbitrary<bigint[]> {
  const v = fc.oneof({ weight: 2, arbitrary: fc.constantFrom(c.lo, c.hi) }, { weight: 3, arbitrary: fc.bigInt({ min: c.lo, max: c.hi }) });
  return fc.array(v, { minLength: n, maxLength: n });
}

const oneColumn = fc
  .tuple(columnArb, fc.integer({ min: 1, max: 40 }))
  .chain(([c, n]) => fc.tuple(fc.constant(c), valuesArb(c, n)));

const twoColumns = fc
  .tuple(columnArb, columnArb, fc.integer({ min: 1, max: 30 }))
  .chain(([x, y, n]) => fc.tuple(fc.constant(x), fc.constant(y), valuesArb(x, n), valuesArb(y, n)));

/** Population variance of integer units as a Rational at the column's scale (n·Σx² − (Σx)²) / (n²·10^2s). */
function varianceOf(xs: readonly bigint[], scale: number): Rational {
  const n = BigInt(xs.length);
  return new Rational(n * sum(xs.map((x) => x * x)) - sum(xs) ** 2n, n * n * 10n ** BigInt(2 * scale));
}

function covarianceOf(xs: readonly bigint[], sx: number, ys: readonly bigint[], sy: number): Rational {
  const n = BigInt(xs.length);
  return new Rational(n * sum(xs.map((x, i) => x * ys[i])) - sum(xs) * sum(ys), n * n * 10n ** BigInt(sx + sy));
}

const runs = { numRuns: 40 };

/**
 * Columns the properties below try first (fast-check's `examples`, within
 * their runs), whatever the random ones: a narrow one (every statistic
 * exact) and one spanning ±(2^62 − 1), whose sum of 3 rows needs the widened
 * accumulation and whose variance is refused. The properties check that
 * both outcomes were exercised, and random draws alone do not always
 * produce each.
 */
const NARROW: [Column, bigint[]] = [{ scale: 0, lo: 0n, hi: 10n }, [0n, 10n, 5n]];
const FULL_RANGE: [Column, bigint[]] = [{ scale: 0, lo: -LIMIT, hi: LIMIT }, [-LIMIT, LIMIT, 0n]];

/** The planned sums of a plan, in the order it opens them. */
function sumsOf(plan: Plan): PlannedSum[] {
  return plan.query.statistics.flatMap((s) => (s.kind === "sum" ? s.sums : []));
}

/** The plan with its first sum changed (to run a broken mechanism on purpose). */
function withSum(plan: Plan, change: (sum: PlannedSum) => PlannedSum): Plan {
  const [first, ...rest] = plan.query.statistics;
  if (first.kind !== "sum") throw new Error("the plan's first statistic is not a sum");
  return { ...plan, query: { ...plan.query, statistics: [{ ...first, sums: [change(first.sums[0])] }, ...rest] } };
}

describe("no silent wrong answer: exact or refused before payment", () => {
  it("count, sum, mean, min, max: always exact, over any bounds and scale", async () => {
    let widened = 0;
    await fc.assert(
      fc.asyncProperty(oneColumn, async ([c, xs]) => {
        const schema = { columns: [schemaColumn("x", c)] };
        const n = BigInt(xs.length);
        const plan = planComputation("sum@1", '{"column":"x"}', schema, { rowCount: n, epsilonMilli: 0 });
        // The rule: one ring element exactly when n·W < 2^63.
        const kind = sumsOf(plan)[0].accumulation.kind;
        assert.equal(kind, n * halfWidthOf(c) < 1n << 63n ? "ring" : "wide");
        if (kind === "wide") widened++;
        const s = c.scale;
        assert.equal(await mpc(schema, { x: xs }, "count@1", {}), String(xs.length));
        assert.equal(await mpc(schema, { x: xs }, "sum@1", { column: "x" }), Rational.scaled(sum(xs), s).toDecimal(s));
        assert.equal(await mpc(schema, { x: xs }, "mean@1", { column: "x" }), Rational.scaled(sum(xs), s).div(new Rational(n)).toDecimal(s + 6));
        const min = xs.reduce((a, b) => (b < a ? b : a));
        const max = xs.reduce((a, b) => (b > a ? b : a));
        assert.equal(await mpc(schema, { x: xs }, "min@1", { column: "x" }), boundText(min, s));
        assert.equal(await mpc(schema, { x: xs }, "max@1", { column: "x" }), boundText(max, s));
      }),
      { ...runs, examples: [[NARROW], [FULL_RANGE]] },
    );
    assert.ok(widened > 0, "some sums were widened");
  });

  it("variance and stddev: exact when (half-width)² < 2^62, else RANGE_TOO_WIDE", async () => {
    let exact = 0;
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(oneColumn, async ([c, xs]) => {
        const schema = { columns: [schemaColumn("x", c)] };
        const variance = await mpc(schema, { x: xs }, "variance@1", { column: "x" });
        const stddev = await mpc(schema, { x: xs }, "stddev@1", { column: "x" });
        if (!productFits(c, c)) {
          refused++;
          assert.deepEqual(variance, { refused: "RANGE_TOO_WIDE" });
          assert.deepEqual(stddev, { refused: "RANGE_TOO_WIDE" });
          return;
        }
        exact++;
        assert.equal(variance, varianceOf(xs, c.scale).toDecimal(c.scale + 6));
        assert.equal(stddev, varianceOf(xs, c.scale).sqrtDecimal(c.scale + 6));
      }),
      { numRuns: 60, examples: [[NARROW], [FULL_RANGE]] },
    );
    assert.ok(exact > 0 && refused > 0, `both outcomes exercised (exact ${exact}, refused ${refused})`);
  });

  it("covariance and regression: exact when every product of half-widths is below 2^62, else RANGE_TOO_WIDE", async () => {
    await fc.assert(
      fc.asyncProperty(twoColumns, async ([cx, cy, xs, ys]) => {
        const schema = { columns: [schemaColumn("x", cx), schemaColumn("y", cy)] };
        const covariance = await mpc(schema, { x: xs, y: ys }, "covariance@1", { x: "x", y: "y" });
        if (productFits(cx, cy)) {
          assert.equal(covariance, covarianceOf(xs, cx.scale, ys, cy.scale).toDecimal(Math.max(cx.scale, cy.scale) + 6));
        } else {
          assert.deepEqual(covariance, { refused: "RANGE_TOO_WIDE" });
        }

        const fits = productFits(cx, cx) && productFits(cx, cy) && productFits(cy, cy);
        let regression: AlgorithmResult | { refused: string };
        try {
          regression = await mpc(schema, { x: xs, y: ys }, "regression@1", { x: "x", y: "y" });
        } catch (err) {
          // A constant x has no slope: refused after the run, and only then.
          assert.ok(isMpcError(err, "RESULT_UNDEFINED") && fits && varianceOf(xs, cx.scale).isZero(), String(err));
          return;
        }
        if (!fits) {
          assert.deepEqual(regression, { refused: "RANGE_TOO_WIDE" });
          return;
        }
        const vx = varianceOf(xs, cx.scale);
        const vy = varianceOf(ys, cy.scale);
        const cov = covarianceOf(xs, cx.scale, ys, cy.scale);
        const n = new Rational(BigInt(xs.length));
        const slope = cov.div(vx);
        const meanX = Rational.scaled(sum(xs), cx.scale).div(n);
        const meanY = Rational.scaled(sum(ys), cy.scale).div(n);
        const digits = Math.max(cx.scale, cy.scale) + 6;
        assert.deepEqual(regression, {
          slope: slope.toDecimal(digits),
          intercept: meanY.sub(slope.mul(meanX)).toDecimal(digits),
          r2: (vy.isZero() ? new Rational(1n) : cov.mul(cov).div(vx.mul(vy))).toDecimal(6),
        });
      }),
      runs,
    );
  });

  it("histogram and count-if: exact over any bounds (thresholds within ±2^62)", async () => {
    const threshold = (c: Column) => fc.oneof(fc.bigInt({ min: c.lo, max: c.hi }), fc.constantFrom(c.lo, c.hi, c.hi + 1n > LIMIT ? LIMIT : c.hi + 1n));
    const input = oneColumn.chain(([c, xs]) =>
      fc.tuple(fc.constant(c), fc.constant(xs), fc.uniqueArray(threshold(c), { minLength: 1, maxLength: 5 }), threshold(c)),
    );
    await fc.assert(
      fc.asyncProperty(input, async ([c, xs, edgeSet, t]) => {
        const schema = { columns: [schemaColumn("x", c)] };
        const edges = [...edgeSet].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
        const counts = [xs.filter((x) => x < edges[0]), ...edges.slice(1).map((e, i) => xs.filter((x) => x >= edges[i] && x < e)), xs.filter((x) => x >= edges[edges.length - 1])];
        assert.deepEqual(await mpc(schema, { x: xs }, "histogram@1", { column: "x", edges: edges.map((e) => boundText(e, c.scale)) }), {
          edges: edges.map((e) => boundText(e, c.scale)),
          counts: counts.map((b) => String(b.length)),
        });
        const ops = { lt: (x: bigint) => x < t, le: (x: bigint) => x <= t, gt: (x: bigint) => x > t, ge: (x: bigint) => x >= t, eq: (x: bigint) => x === t, ne: (x: bigint) => x !== t };
        for (const [op, f] of Object.entries(ops)) {
          assert.equal(await mpc(schema, { x: xs }, "count-if@1", { column: "x", op, threshold: boundText(t, c.scale) }), String(xs.filter(f).length), op);
        }
      }),
      { numRuns: 15 },
    );
  });

  it("a histogram spanning several comparison blocks counts every row once", async () => {
    // 4,100 rows × 64 edges is more than one block of 2^18 comparisons.
    const xs = Array.from({ length: 4100 }, (_, i) => BigInt((i * 7919) % 6500) - 100n);
    const edges = Array.from({ length: 64 }, (_, j) => BigInt(j * 100));
    const schema = { columns: [{ name: "x", scale: 0, lo: "-100", hi: "6400" }] };
    const result = (await mpc(schema, { x: xs }, "histogram@1", { column: "x", edges: edges.map(String) })) as { counts: string[] };
    const expected = [xs.filter((x) => x < 0n).length, ...edges.map((e, j) => xs.filter((x) => x >= e && (j === 63 || x < edges[j + 1])).length)];
    assert.deepEqual(result.counts, expected.map(String));
  });
});

describe("the seller's column of ten values near 4,000,000 at scale 12", () => {
  // Nine rows of 4,000,000 and one of 4,000,000.000000000001: 4·10^18 units each,
  // so Σx = 4·10^19 + 1 does not fit a signed 64-bit ring element.
  const xs = [4000000000000000001n, ...Array.from({ length: 9 }, () => 4000000000000000000n)];
  // The bounds the seller's client derives: 4·10^6 and (5·10^6 being out of range) 4.1·10^6.
  const schema = { columns: [{ name: "x", scale: 12, lo: "4000000.000000000000", hi: "4100000.000000000000" }] };
  const plan = planComputation("sum@1", '{"column":"x"}', schema, { rowCount: 10n, epsilonMilli: 0 });

  it("sells the exact sum and mean", async () => {
    assert.equal(await runPlanOnShares(plan, { x: xs }), "40000000.000000000001");
    assert.equal(await mpc(schema, { x: xs }, "mean@1", { column: "x" }), "4000000.000000000000100000");
    assert.match(String(((await mpc(schema, { x: xs }, "variance@1", { column: "x" })) as { refused: string }).refused), /RANGE_TOO_WIDE/);
  });

  it("the old mechanism (no centre, one 64-bit sum) gives the wrong answer the property above flags", async () => {
    // Un-centred and un-widened, with no bound to check the opened value against: as before bounds existed.
    const old = withSum(plan, (s) => ({ ...s, factors: [{ column: "x", centre: 0n }], bound: 1n << 63n, accumulation: { kind: "ring" } }));
    const wrong = await runPlanOnShares(old, { x: xs });
    assert.equal(wrong, "3106511.852580896769");
    assert.notEqual(wrong, Rational.scaled(sum(xs), 12).toDecimal(12));
    // With the planned bound kept, even the broken mechanism's value is refused as impossible rather than sold.
    const unwidened = withSum(old, (s) => ({ ...s, bound: sumsOf(plan)[0].bound }));
    await assert.rejects(runPlanOnShares(unwidened, { x: xs }), (err: unknown) => isMpcError(err, "RESULT_OUT_OF_RANGE"));
  });

  it("widens a sum the bounds cannot prove, and stays exact", async () => {
    // Bounds around zero: centring gains nothing, 10 rows of 4·10^18 units need the widened sum.
    const wide = { columns: [{ name: "x", scale: 12, lo: "-4100000.000000000000", hi: "4100000.000000000000" }] };
    const widePlan = planComputation("mean@1", '{"column":"x"}', wide, { rowCount: 10n, epsilonMilli: 0 });
    assert.equal(sumsOf(widePlan)[0].accumulation.kind, "wide");
    assert.equal(await runPlanOnShares(widePlan, { x: xs }), "4000000.000000000000100000");
    const negative = xs.map((x) => -x);
    assert.equal(await mpc(wide, { x: negative }, "sum@1", { column: "x" }), "-40000000.000000000001");
  });

  it("widens sums of products whose rows fit 2^62 but whose total does not", async () => {
    // Half-widths just below 2^31: a square fits 2^62, forty of them do not fit 2^63.
    const w = (1n << 31n) - 1n;
    const schema = { columns: [{ name: "x", scale: 0, lo: String(-w), hi: String(w) }, { name: "y", scale: 3, lo: boundText(-w, 3), hi: boundText(w, 3) }] };
    const xs = Array.from({ length: 40 }, (_, i) => (i % 3 === 0 ? w : i % 3 === 1 ? -w : BigInt(i) * 1000003n));
    const ys = xs.map((x, i) => (i % 2 === 0 ? x : -w + BigInt(i)));
    const plan = planComputation("regression@1", '{"x":"x","y":"y"}', schema, { rowCount: 40n, epsilonMilli: 0 });
    // Σx, Σy, then Σxy, Σx², Σy²: a row of each product fits 2^62, forty do not fit 2^63.
    assert.deepEqual(sumsOf(plan).map((s) => s.accumulation.kind), ["ring", "ring", "wide", "wide", "wide"]);
    assert.equal(await mpc(schema, { x: xs }, "variance@1", { column: "x" }), varianceOf(xs, 0).toDecimal(6));
    const vx = varianceOf(xs, 0);
    const cov = covarianceOf(xs, 0, ys, 3);
    const slope = cov.div(vx);
    const n = new Rational(40n);
    const intercept = Rational.scaled(sum(ys), 3).div(n).sub(slope.mul(new Rational(sum(xs)).div(n)));
    assert.deepEqual(await runPlanOnShares(plan, { x: xs, y: ys }), {
      slope: slope.toDecimal(9),
      intercept: intercept.toDecimal(9),
      r2: cov.mul(cov).div(vx.mul(varianceOf(ys, 3))).toDecimal(6),
    });
  });
});

describe("planning refusals name what would fit", () => {
  it("names the algorithm, the columns, the bits needed and the narrower bounds or fewer decimals", () => {
    const schema = {
      columns: [
        { name: "x", scale: 12, lo: "4000000.000000000000", hi: "4100000.000000000000" },
        { name: "y", scale: 0, lo: "-4000000000000000000", hi: "4000000000000000000" },
      ],
    };
    assert.throws(
      () => planComputation("variance@1", '{"column":"x"}', schema, { rowCount: 10n, epsilonMilli: 0 }),
      (err: unknown) =>
        isMpcError(err, "RANGE_TOO_WIDE") &&
        /^variance@1: Σ\(x−c\)² needs products of up to 111 bits per row over "x" \(scale 12/.test(err.message) &&
        /within ±0\.002147483647 of their centre/.test(err.message) &&
        /"x" at scale 4/.test(err.message),
    );
    assert.throws(
      () => planComputation("covariance@1", '{"x":"x","y":"y"}', schema, { rowCount: 10n, epsilonMilli: 0 }),
      (err: unknown) =>
        isMpcError(err, "RANGE_TOO_WIDE") &&
        /^covariance@1: Σ\(x−c\)\(y−c\) needs products of up to \d+ bits per row over "x" .* and "y" /.test(err.message) &&
        /fewer decimals alone cannot/.test(err.message),
    );
    assert.throws(() => planComputation("regression@1", '{"x":"y","y":"x"}', schema, { rowCount: 10n, epsilonMilli: 0 }), /regression@1: Σ\(y−c\)\(x−c\) needs/);
  });
});
