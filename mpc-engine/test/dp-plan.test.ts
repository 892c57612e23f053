import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { ALGORITHMS, isMpcError, openedCount, planComputation, Rational, RING_EXACT_LIMIT, ROW_LIMIT, type DatasetSchema, type Plan } from "../src/index.ts";

// Differentially private planning: each opened statistic's sensitivity,
// share of ε and noise scale as exact rationals, and a no-wrap proof that
// covers the noise, from public facts only.

// x: scale 2, [0.00, 1000.00] = [0, 100000] units, centre 50000, W 50000.
// y: scale 0, [-500, 500], W 500.
const schema: DatasetSchema = {
  columns: [
    { name: "x", scale: 2, lo: "0.00", hi: "1000.00" },
    { name: "y", scale: 0, lo: "-500", hi: "500" },
  ],
};
const plan = (algorithm: string, params: object, epsilonMilli: number, rowCount = 1000n): Plan =>
  planComputation(algorithm, JSON.stringify(params), schema, { rowCount, epsilonMilli });

/** The releases of a plan as [statistic, elements, sensitivity, ε, t]. */
function releases(p: Plan): [string, number, bigint, string, string][] {
  assert.ok(p.dp, `${p.algorithm} is private`);
  assert.equal(p.dp.mechanism, "discrete Laplace");
  const keys = p.query.statistics.map((s) => s.key);
  return (p.query.releases ?? []).flatMap((r, k) => (r === undefined ? [] : [[keys[k], r.statistics.length, r.sensitivity, `${r.epsilon.num}/${r.epsilon.den}`, `${r.scale.num}/${r.scale.den}`]]));
}

/** The planned sum of a plan's first statistic. */
function firstSum(p: Plan) {
  const s = p.query.statistics[0];
  assert.equal(s.kind, "sum");
  return (s as Extract<typeof s, { kind: "sum" }>).sums[0];
}

describe("DP planning: sensitivities, ε splits and noise scales", () => {
  it("needs epsilonMilli, a non-negative integer; 0 plans exactly", () => {
    const exact = plan("mean@1", { column: "x" }, 0);
    assert.equal(exact.dp, undefined);
    assert.equal(exact.query.releases, undefined);
    assert.deepEqual(firstSum(exact), { label: "Σ(x−c)", factors: [{ column: "x", centre: 50000n }], rowBound: 50000n, bound: 50000000n, accumulation: { kind: "ring" } });
    for (const bad of [undefined, -1, 0.5, Number.NaN, "1000"]) {
      assert.throws(
        () => planComputation("mean@1", '{"column":"x"}', schema, { rowCount: 10n, epsilonMilli: bad as number }),
        (err: unknown) => isMpcError(err, "INVALID_ARGUMENT") && /epsilonMilli/.test(err.message),
        String(bad),
      );
    }
  });

  it("sum, mean: Σ(x − c) (Δ = hi − lo) and the count of present values (Δ = 1), ε/2 each", () => {
    assert.deepEqual(releases(plan("sum@1", { column: "x" }, 1000)), [
      ["Σ(x−c)[x]", 1, 100000n, "1/2", "200000/1"],
      ["count[x]", 1, 1n, "1/2", "2/1"],
    ]);
    // ε = 0.3: t = 100000/0.15, exactly.
    assert.deepEqual(releases(plan("mean@1", { column: "x" }, 300)), [
      ["Σ(x−c)[x]", 1, 100000n, "3/20", "2000000/3"],
      ["count[x]", 1, 1n, "3/20", "20/3"],
    ]);
    const p = plan("sum@1", { column: "x" }, 1000);
    // The tail bound of each term, ⌈64·t⌉, and the sum's proof with three of them.
    assert.equal(p.query.releases![0]!.termBound, 12_800_000n);
    assert.equal(firstSum(p).noiseBound, 38_400_000n);
  });

  it("variance and stddev: Σ(x − c) (Δ = hi − lo), Σ(x − c)² (Δ = W²) and the count, ε/3 each", () => {
    for (const algorithm of ["variance@1", "stddev@1"]) {
      assert.deepEqual(releases(plan(algorithm, { column: "x" }, 1000)), [
        ["Σ(x−c)[x]", 1, 100000n, "1/3", "300000/1"],
        ["Σ(x−c)²[x]", 1, 2_500_000_000n, "1/3", "7500000000/1"],
        ["count[x]", 1, 1n, "1/3", "3/1"],
      ]);
    }
  });

  it("covariance: Σx, Σy, Σxy (Δ = 2·Wx·Wy) and the count of rows with both, ε/4 each; regression: five sums and the count, ε/6 each", () => {
    assert.deepEqual(releases(plan("covariance@1", { x: "x", y: "y" }, 1000)), [
      ["Σ(x−c)[x,y]", 1, 100000n, "1/4", "400000/1"],
      ["Σ(y−c)[x,y]", 1, 1000n, "1/4", "4000/1"],
      ["Σ(x−c)(y−c)[x,y]", 1, 50_000_000n, "1/4", "200000000/1"],
      ["count[x,y]", 1, 1n, "1/4", "4/1"],
    ]);
    assert.deepEqual(releases(plan("regression@1", { x: "x", y: "y" }, 2000)), [
      ["Σ(x−c)[x,y]", 1, 100000n, "1/3", "300000/1"],
      ["Σ(y−c)[x,y]", 1, 1000n, "1/3", "3000/1"],
      ["Σ(x−c)(y−c)[x,y]", 1, 50_000_000n, "1/3", "150000000/1"],
      ["Σ(x−c)²[x,y]", 1, 2_500_000_000n, "1/3", "7500000000/1"],
      ["Σ(y−c)²[x,y]", 1, 250_000n, "1/3", "750000/1"],
      ["count[x,y]", 1, 1n, "1/3", "3/1"],
    ]);
  });

  it("count-if: Δ = 1; histogram: bucket counts with L1 sensitivity 2, all of ε", () => {
    assert.deepEqual(releases(plan("count-if@1", { column: "y", op: "ge", threshold: "7" }, 250)), [["count[]", 1, 1n, "1/4", "4/1"]]);
    const h = plan("histogram@1", { column: "y", edges: ["-10", "0", "10"] }, 1000);
    assert.deepEqual(releases(h), [["hist[y](-10,0,10)", 4, 2n, "1/1", "2/1"]]);
    assert.equal(openedCount(h), 4);
  });

  it("min and max: a noisy histogram over 32 public bins spanning the bounds", () => {
    for (const algorithm of ["min@1", "max@1"]) {
      const p = plan(algorithm, { column: "x" }, 1000);
      const bins = p.query.statistics[0];
      assert.ok(bins.kind === "buckets");
      assert.equal(bins.edges.length, 31);
      assert.equal(bins.edges[0], 3125n); // 100001 values in 32 bins
      assert.equal(openedCount(p), 32);
      assert.deepEqual(releases(p)[0].slice(1), [32, 2n, "1/1", "2/1"]);
      // Fewer values than 32 bins: one bin per value.
      const narrow = planComputation(algorithm, '{"column":"v"}', { columns: [{ name: "v", scale: 0, lo: "3", hi: "7" }] }, { rowCount: 5n, epsilonMilli: 1000 });
      const narrowBins = narrow.query.statistics[0];
      assert.ok(narrowBins.kind === "buckets");
      assert.deepEqual(narrowBins.edges, [4n, 5n, 6n, 7n]);
    }
  });

  it("count stays exact: the row count is public, no release", () => {
    const p = plan("count@1", {}, 1000);
    assert.deepEqual(p.dp, { mechanism: "discrete Laplace", epsilonMilli: 1000, releases: [] });
  });

  it("the releases of every plan spend exactly the buyer's ε (basic composition)", () => {
    const cases: [string, object][] = [
      ["sum@1", { column: "x" }],
      ["mean@1", { column: "x" }],
      ["variance@1", { column: "x" }],
      ["stddev@1", { column: "x" }],
      ["covariance@1", { x: "x", y: "y" }],
      ["regression@1", { x: "x", y: "y" }],
      ["count-if@1", { column: "x", op: "lt", threshold: "3" }],
      ["histogram@1", { column: "x", edges: ["1", "2"] }],
      ["min@1", { column: "x" }],
      ["max@1", { column: "x" }],
    ];
    for (const [algorithm, params] of cases) {
      for (const epsilonMilli of [1, 333, 1000, 7001]) {
        const p = plan(algorithm, params, epsilonMilli);
        const spent = p.dp!.releases.reduce((s, r) => s.add(new Rational(r.epsilon.num, r.epsilon.den)), new Rational(0n));
        assert.equal(spent.compare(new Rational(BigInt(epsilonMilli), 1000n)), 0, `${algorithm} at ${epsilonMilli}`);
        for (const r of p.dp!.releases) {
          // t = Δ/ε_r exactly.
          assert.equal(new Rational(r.scale.num, r.scale.den).mul(new Rational(r.epsilon.num, r.epsilon.den)).compare(new Rational(r.sensitivity)), 0);
        }
      }
    }
  });

  it("every algorithm declares its DP form, and its exact-mode leakage", () => {
    for (const a of Object.values(ALGORITHMS)) {
      assert.ok(a.dp.length > 40, a.name);
      assert.ok(a.leakage.length > 10, a.name);
    }
    assert.match(ALGORITHMS["count@1"].dp, /public/);
    assert.match(ALGORITHMS["histogram@1"].dp, /sensitivity 2/);
    assert.match(ALGORITHMS["regression@1"].dp, /ε\/6/);
  });
});

describe("DP planning: the no-wrap proof includes the noise", () => {
  // W = 2^57 over 60 rows: n·W = 60·2^57 < 2^63, exact in one ring element.
  const big: DatasetSchema = { columns: [{ name: "v", scale: 0, lo: String(-(2n ** 57n)), hi: String(2n ** 57n) }] };
  const sumPlan = (rowCount: bigint, epsilonMilli: number) => planComputation("sum@1", '{"column":"v"}', big, { rowCount, epsilonMilli });

  it("a sum exact in the ring is widened once its noise no longer fits beside it", () => {
    const exact = sumPlan(60n, 0);
    assert.equal(firstSum(exact).accumulation.kind, "ring");
    // ε = 60 (30 for the sum): t = 2^58/30, three terms of ⌈64t⌉ ≈ 1.8·10^18 on top of 8.6·10^18.
    const noisy = sumPlan(60n, 60_000);
    const s = firstSum(noisy);
    assert.equal(s.accumulation.kind, "wide");
    assert.ok(s.bound <= RING_EXACT_LIMIT && s.bound + s.noiseBound! > RING_EXACT_LIMIT);
    assert.ok(s.noiseBound! <= ROW_LIMIT, "the noise fits one lifted chunk");
  });

  it("refuses noise that not even a widened sum holds, naming the noise", () => {
    assert.throws(
      () => sumPlan(60n, 1000),
      (err: unknown) => isMpcError(err, "RANGE_TOO_WIDE") && /noise of Σ\(v−c\)/.test(err.message) && /more ε/.test(err.message),
    );
    // The same bounds in exact mode are fine.
    assert.equal(sumPlan(60n, 0).algorithm, "sum@1");
  });

  it("holds for any bounds, rows and ε: ring sums prove |Σ| + noise < 2^63, widened ones lift noise below 2^62 (fast-check)", () => {
    const LIMIT = (1n << 62n) - 1n;
    fc.assert(
      fc.property(
        fc.bigInt({ min: -LIMIT, max: LIMIT }),
        fc.integer({ min: 0, max: 63 }),
        fc.bigInt({ min: 1n, max: 1n << 40n }),
        fc.integer({ min: 1, max: 10_000_000 }),
        (lo, bits, rows, epsilonMilli) => {
          const width = bits === 0 ? 0n : (lo < 0n ? -lo : lo) % (1n << BigInt(bits));
          const hi = lo + width > LIMIT ? LIMIT : lo + width;
          const s: DatasetSchema = { columns: [{ name: "v", scale: 0, lo: String(lo), hi: String(hi) }] };
          let p: Plan;
          try {
            p = planComputation("mean@1", '{"column":"v"}', s, { rowCount: rows, epsilonMilli });
          } catch (err) {
            assert.ok(isMpcError(err, "RANGE_TOO_WIDE"), String(err));
            // Refused only when the noise cannot be one lifted chunk, or the chunks are too many.
            return;
          }
          const sum = firstSum(p);
          const noise = sum.noiseBound!;
          if (sum.accumulation.kind === "ring") assert.ok(sum.bound + noise <= RING_EXACT_LIMIT);
          else assert.ok(noise <= ROW_LIMIT && sum.rowBound * BigInt(sum.accumulation.chunkRows) <= ROW_LIMIT);
        },
      ),
      { numRuns: 300 },
    );
  });
});
