import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decodeResult, describeNoise, isMpcError, noiseQuantile, planComputation, type DatasetSchema, type Plan } from "../src/index.ts";

// The buyer's side of DP plans, on opened values chosen by the test (no MPC):
// post-processing clamps what noise pushed out of range, impossible values
// beyond the noise's tail bound are still refused, and describeNoise states
// the exact intervals of the linear answers and reproducible bootstrap ones.

const ring = (v: bigint) => BigInt.asUintN(64, v);
// x: scale 0, [0, 1000], centre 500, W 500; y: scale 0, [0, 100], centre 50, W 50.
const schema: DatasetSchema = {
  columns: [
    { name: "x", scale: 0, lo: "0", hi: "1000" },
    { name: "y", scale: 0, lo: "0", hi: "100" },
  ],
};
const plan = (algorithm: string, params: object, rowCount = 100n, epsilonMilli = 1000): Plan =>
  planComputation(algorithm, JSON.stringify(params), schema, { rowCount, epsilonMilli });

describe("DP decoding: post-processing of the noisy statistics", () => {
  it("clamps a sum, a mean and counts the noise pushed out of range, into it", () => {
    // Opened: Σ(x − 500) and the count of present x. Over 100 rows Σ lies in ±50000; noise may take it a little beyond.
    assert.equal(decodeResult(plan("sum@1", { column: "x" }), [ring(50_100n), 100n]), "100000");
    assert.equal(decodeResult(plan("sum@1", { column: "x" }), [ring(-100n), ring(-2n)]), "0", "a noisy count below 0 counts as 0");
    assert.equal(decodeResult(plan("mean@1", { column: "x" }), [ring(-50_100n), 100n]), "0.000000");
    // A noisy count of present values at or below 0 (small data, small ε): the mean of one row, clamped into the bounds.
    assert.equal(decodeResult(plan("mean@1", { column: "x" }), [ring(300n), ring(-5n)]), "800.000000");
    assert.equal(decodeResult(plan("mean@1", { column: "x" }), [ring(900n), 0n]), "1000.000000");
    assert.equal(decodeResult(plan("count-if@1", { column: "x", op: "lt", threshold: "3" }), [ring(-4n)]), "0");
    assert.equal(decodeResult(plan("count-if@1", { column: "x", op: "lt", threshold: "3" }), [ring(103n)]), "100");
    assert.deepEqual(decodeResult(plan("histogram@1", { column: "x", edges: ["10", "20"] }), [ring(-3n), 40n, 70n].map(ring)), {
      edges: ["10", "20"],
      counts: ["0", "40", "70"],
    });
  });

  it("clamps a negative variance to 0, |r| to 1 and r² to [0, 1]", () => {
    // n·Σ(x−c)² < (Σ(x−c))²: no rows give that, the noise can.
    assert.equal(decodeResult(plan("variance@1", { column: "x" }), [ring(1000n), ring(9_000n), 100n]), "0.000000");
    assert.equal(decodeResult(plan("stddev@1", { column: "x" }), [ring(1000n), ring(9_000n), 100n]), "0.000000");
    // A variance above (hi − lo)²/4 is clamped to it.
    assert.equal(decodeResult(plan("variance@1", { column: "x" }), [0n, ring(30_000_000n), 100n]), "250000.000000");
    // Σx, Σy, Σxy, Σx², Σy², count with cov² > var_x·var_y: r² clamped to 1, the slope cov/var_x.
    const regression = plan("regression@1", { x: "x", y: "y" });
    const r = decodeResult(regression, [0n, 0n, ring(-300_000n), ring(400_000n), ring(100_000n), 100n]) as Record<string, string>;
    assert.equal(r.r2, "1.000000");
    assert.equal(r.slope, "-0.750000");
    // A noisy variance of x at or below 0: no slope.
    assert.throws(
      () => decodeResult(regression, [0n, ring(100n), ring(7n), ring(-5n), ring(9_000n), 100n]),
      (err: unknown) => isMpcError(err, "RESULT_UNDEFINED") && /x is constant/.test(err.message),
    );
    // A covariance beyond what the bounds allow is clamped to ±(1000·100)/4.
    assert.equal(decodeResult(plan("covariance@1", { x: "x", y: "y" }), [0n, 0n, ring(3_000_000n), 100n]), "25000.000000");
  });

  it("still refuses values beyond the bounds plus the noise's tail bound", () => {
    const count = plan("count-if@1", { column: "x", op: "lt", threshold: "3" });
    assert.throws(() => decodeResult(count, [ring(100n + 3n * 64n + 1n)]), (err: unknown) => isMpcError(err, "RESULT_OUT_OF_RANGE") && /tail bound/.test(err.message));
    assert.equal(decodeResult(count, [ring(100n + 3n * 64n)]), "100");
    assert.throws(() => decodeResult(count, [ring(-3n * 64n - 1n)]), (err: unknown) => isMpcError(err, "RESULT_OUT_OF_RANGE"));
    const sum = plan("sum@1", { column: "x" });
    // Σ bound 50000, noise bound 3·⌈64·2000⌉ = 384000 (ε/2 on the sum: t = 1000/0.5).
    assert.throws(() => decodeResult(sum, [ring(434_001n), 100n]), (err: unknown) => isMpcError(err, "RESULT_OUT_OF_RANGE") && /tail bound/.test(err.message));
    assert.equal(decodeResult(sum, [ring(434_000n), 100n]), "100000");
  });

  it("answers min and max from the noisy bins: the first (last) bin above τ, else the busiest", () => {
    // [0, 1000] in 32 bins: edges 31, 62, ...
    const min = plan("min@1", { column: "x" });
    const max = plan("max@1", { column: "x" });
    const bins = min.query.statistics[0];
    assert.ok(bins.kind === "buckets");
    const edges = bins.edges;
    const tau = noiseQuantile({ num: 2n, den: 1n }, 0.05 / 32);
    const counts = Array.from({ length: 32 }, () => 0n);
    counts[1] = tau; // not above τ: noise alone might
    counts[3] = tau + 1n;
    counts[20] = 40n;
    counts[30] = tau + 1n;
    assert.equal(decodeResult(min, counts.map(ring)), String(edges[2])); // bin 3 starts at the third edge
    assert.equal(decodeResult(max, counts.map(ring)), String(edges[30] - 1n)); // bin 30 ends below the 31st edge
    const quiet = Array.from({ length: 32 }, (_, j) => (j === 7 ? tau : 1n));
    assert.equal(decodeResult(min, quiet.map(ring)), String(edges[6]));
  });
});

describe("describeNoise", () => {
  it("is undefined for an exact plan; count@1 is exact and public in DP mode", () => {
    assert.equal(describeNoise(plan("mean@1", { column: "x" }, 100n, 0), [0n, 100n]), undefined);
    const count = describeNoise(plan("count@1", {}), [100n])!;
    assert.deepEqual([count.mechanism, count.interval95, count.statistics], ["none", ["100", "100"], []]);
  });

  it("describes a mean: its two noisy statistics, the ε split, a bootstrap interval around the answer of about ±2 scales of the sum over n", () => {
    const p = plan("mean@1", { column: "x" }, 100n, 500); // ε 0.25 each: t = 1000/0.25 = 4000 on the sum, 4 on the count
    const d = describeNoise(p, [ring(1234n), 100n])!;
    assert.equal(d.mechanism, "discrete Laplace");
    assert.equal(d.epsilon, "0.5");
    assert.equal(d.interval, "approximate");
    assert.deepEqual(d.statistics, [
      { label: "Σ(x−c) (rows with x present)", sensitivity: "1000", epsilon: "0.250000", noiseScale: "4000.000000" },
      { label: "count (rows with x present)", sensitivity: "1", epsilon: "0.250000", noiseScale: "4.000000" },
    ]);
    const answer = Number(decodeResult(p, [ring(1234n), 100n]));
    const [lo, hi] = (d.interval95 as [string, string]).map(Number);
    assert.ok(lo <= answer && answer <= hi, `${answer} in [${lo}, ${hi}]`);
    // The sum's noise alone is ±(2.6·4000·√6/√... ): its 95% quantile over 100 rows is about ±m/100.
    const m = Number(noiseQuantile({ num: 4000n, den: 1n }, 0.025)) / 100;
    assert.ok(hi - lo > m && hi - lo < 4 * m, `width ${hi - lo} vs ${m}`);
    assert.equal(describeNoise(p, [ring(1234n), 100n])!.interval95[0], d.interval95[0], "reproducible");
  });

  it("gives one exact interval per bucket of a histogram, clamped to [0, n]", () => {
    const p = plan("histogram@1", { column: "x", edges: ["500"] }, 100n, 1000);
    const m = noiseQuantile({ num: 2n, den: 1n }, 0.025);
    const d = describeNoise(p, [ring(2n), 98n])!;
    assert.deepEqual(d.interval95, [
      ["0", String(2n + m)],
      [String(98n - m), "100"],
    ]);
    assert.equal(d.noiseScale, "2.000000");
    assert.equal(d.interval, "exact");
  });

  it("bootstraps derived answers reproducibly, with the answer inside its interval", () => {
    const p = plan("regression@1", { x: "x", y: "y" }, 1000n, 5000);
    // 1000 rows of y ≈ x/10: Σ(x−500) = 0, Σ(y−50) = 0, Σ(x−500)(y−50) = 1000·8333, Σ(x−500)² = 1000·83333, Σ(y−50)² = 1000·833.
    const values = [0n, 0n, 8_333_300n, 83_333_000n, 833_330n, 1000n].map(ring);
    const a = describeNoise(p, values)!;
    const b = describeNoise(p, values)!;
    assert.deepEqual(a, b);
    assert.equal(a.interval, "approximate");
    const result = decodeResult(p, values) as Record<string, string>;
    for (const name of ["slope", "intercept", "r2"]) {
      const [lo, hi] = (a.interval95 as Record<string, [string, string]>)[name];
      assert.ok(Number(lo) <= Number(result[name]) && Number(result[name]) <= Number(hi), `${name}: ${result[name]} in [${lo}, ${hi}]`);
    }
    assert.ok(Number((a.noiseScale as Record<string, string>).slope) > 0);
  });
});
