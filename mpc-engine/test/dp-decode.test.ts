import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decodeResult, describeNoise, isMpcError, noiseQuantile, planComputation, Rational, type DatasetSchema, type Plan } from "../src/index.ts";

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
    // Σ(x − 500) over 100 rows lies in ±50000; noise may take it a little beyond.
    assert.equal(decodeResult(plan("sum@1", { column: "x" }), [ring(50_100n)]), "100000");
    assert.equal(decodeResult(plan("mean@1", { column: "x" }), [ring(-50_100n), 100n]), "0.000000");
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
    // Σx, Σy, Σx², Σxy, Σy², n with cov² > var_x·var_y: r² = 1, slope ±√(var_y/var_x).
    const regression = plan("regression@1", { x: "x", y: "y" });
    const r = decodeResult(regression, [0n, 0n, ring(400_000n), ring(-300_000n), ring(100_000n), 100n]) as Record<string, string>;
    assert.equal(r.r2, "1.000000");
    assert.equal(r.slope, "-0.500000");
    // A noisy variance of x at or below 0: the flat line through the mean of y, r² = 0.
    const flat = decodeResult(regression, [0n, ring(100n), ring(-5n), ring(7n), ring(9_000n), 100n]) as Record<string, string>;
    assert.deepEqual(flat, { slope: "0.000000", intercept: "51.000000", r2: "0.000000" });
    // A covariance beyond what the bounds allow is clamped to ±(1000·100)/4.
    assert.equal(decodeResult(plan("covariance@1", { x: "x", y: "y" }), [0n, 0n, ring(3_000_000n), 100n]), "25000.000000");
  });

  it("still refuses values beyond the bounds plus the noise's tail bound", () => {
    const count = plan("count-if@1", { column: "x", op: "lt", threshold: "3" });
    assert.throws(() => decodeResult(count, [ring(100n + 3n * 64n + 1n)]), (err: unknown) => isMpcError(err, "RESULT_OUT_OF_RANGE"));
    assert.equal(decodeResult(count, [ring(100n + 3n * 64n)]), "100");
    const sum = plan("sum@1", { column: "x" });
    // Σ bound 50000, noise bound 3·⌈64·1000⌉ = 192000.
    assert.throws(() => decodeResult(sum, [ring(242_001n)]), (err: unknown) => isMpcError(err, "RESULT_OUT_OF_RANGE") && /tail bound/.test(err.message));
  });

  it("answers min and max from the noisy bins: the first (last) bin above τ, else the busiest", () => {
    // [0, 1000] in 32 bins: edges 31, 62, ...
    const min = plan("min@1", { column: "x" });
    const max = plan("max@1", { column: "x" });
    assert.ok(min.algorithm === "min@1" && min.edges);
    const tau = noiseQuantile({ num: 2n, den: 1n }, 0.05 / 32);
    const counts = Array.from({ length: 32 }, () => 0n);
    counts[1] = tau; // not above τ: noise alone might
    counts[3] = tau + 1n;
    counts[20] = 40n;
    counts[30] = tau + 1n;
    assert.equal(decodeResult(min, counts.map(ring)), String(min.edges[2])); // bin 3 starts at the third edge
    assert.equal(decodeResult(max, counts.map(ring)), String(min.edges[30] - 1n)); // bin 30 ends below the 31st edge
    const quiet = Array.from({ length: 32 }, (_, j) => (j === 7 ? tau : 1n));
    assert.equal(decodeResult(min, quiet.map(ring)), String(min.edges[6]));
  });
});

describe("describeNoise", () => {
  it("is undefined for an exact plan; count@1 is exact and public in DP mode", () => {
    assert.equal(describeNoise(plan("mean@1", { column: "x" }, 100n, 0), [0n, 100n]), undefined);
    const count = describeNoise(plan("count@1", {}), [100n])!;
    assert.deepEqual([count.mechanism, count.interval95, count.statistics], ["none", ["100", "100"], []]);
  });

  it("gives the exact interval of a mean: the noisy sum ± the three-term quantile, over n", () => {
    const p = plan("mean@1", { column: "x" }, 100n, 500); // t = 1000/0.5 = 2000 on the sum
    const m = noiseQuantile({ num: 2000n, den: 1n }, 0.025);
    const noisySum = 1234n;
    const d = describeNoise(p, [ring(noisySum), 100n])!;
    assert.equal(d.mechanism, "discrete Laplace");
    assert.equal(d.epsilon, "0.5");
    assert.equal(d.noiseScale, "20.000000");
    assert.equal(d.interval, "exact");
    const at = (s: bigint) => new Rational(s + 100n * 500n, 100n);
    assert.deepEqual(d.interval95, [at(noisySum - m).toDecimal(6, "down"), at(noisySum + m).toDecimal(6, "up")]);
    assert.deepEqual(d.statistics, [{ label: "Σx", sensitivity: "1000", epsilon: "0.5", noiseScale: "2000.00" }]);
  });

  it("gives one exact interval per bucket of a histogram, clamped to [0, n]", () => {
    const p = plan("histogram@1", { column: "x", edges: ["500"] }, 100n, 1000);
    const m = noiseQuantile({ num: 2n, den: 1n }, 0.025);
    const d = describeNoise(p, [ring(2n), 98n])!;
    assert.deepEqual(d.interval95, [
      ["0", String(2n + m)],
      [String(98n - m), "100"],
    ]);
    assert.equal(d.noiseScale, "2.00000");
  });

  it("bootstraps derived answers reproducibly, with the answer inside its interval", () => {
    const p = plan("regression@1", { x: "x", y: "y" }, 1000n, 5000);
    // 1000 rows of y ≈ x/10: Σ(x−500) = 0, Σ(y−50) = 0, Σ(x−500)² = 1000·83333, Σ(x−500)(y−50) = 1000·8333, Σ(y−50)² = 1000·833.
    const values = [0n, 0n, 83_333_000n, 8_333_300n, 833_330n, 1000n].map(ring);
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
