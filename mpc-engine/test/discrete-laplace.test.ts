import assert from "node:assert/strict";
import { createCipheriv, createHash } from "node:crypto";
import { describe, it } from "node:test";
import fc from "fast-check";
import { noiseQuantile, threeTermTail } from "../src/index.ts";
import { sampleBernoulliExp, sampleDiscreteLaplace, type Ratio } from "../src/protocol/discrete-laplace.ts";
import { wordsOf } from "../src/protocol/party.ts";
import { createStreamReader, type RandomSource } from "../src/protocol/stream-reader.ts";

// The exact sampler (CKS20) against the analytic law of the discrete
// Laplace distribution, P[N = k] = (1 − q)/(1 + q)·q^|k| with q = e^{−1/t}.
// Every stream is AES-256-CTR under a key fixed by the test, so each check is
// deterministic: sample sizes and thresholds (5 standard errors; the
// chi-square's 1 − 10^-6 quantile) are chosen so the correct sampler passes
// with a wide margin while a sampler of half the scale fails them by orders
// of magnitude, and the test asserts both.

/** A deterministic word stream: AES-256-CTR under sha256(label). */
function seeded(label: string): RandomSource {
  const key = createHash("sha256").update(label).digest();
  return createStreamReader((n) => wordsOf(createCipheriv("aes-256-ctr", key, Buffer.alloc(16)).update(Buffer.alloc(8 * n))));
}

const toNumber = (r: Ratio): number => Number(r.num) / Number(r.den);

/** The analytic pmf, variance and tail of DLap(t). */
function law(scale: Ratio) {
  const t = toNumber(scale);
  const q = Math.exp(-1 / t);
  const pmf = (k: number) => ((1 - q) / (1 + q)) * q ** Math.abs(k);
  const variance = (2 * q) / (1 - q) ** 2;
  // E[N^4] by summation; the terms beyond 200t are below 10^-80.
  let fourth = 0;
  for (let k = 1; k < 200 * t + 50; k++) fourth += 2 * k ** 4 * pmf(k);
  /** P[|N| > m] for an integer m ≥ 0. */
  const tail = (m: number) => (2 * q ** (m + 1)) / (1 + q);
  return { pmf, variance, fourth, tail };
}

/** Upper 1 − 10^-6 quantile of chi-square with `df` degrees of freedom (Wilson–Hilferty; z = 4.753). */
function chiSquareCritical(df: number): number {
  const z = 4.753;
  const a = 2 / (9 * df);
  return df * (1 - a + z * Math.sqrt(a)) ** 3;
}

interface Verdict {
  failures: string[];
  chiSquare: number;
  critical: number;
  sampleVariance: number;
}

/** Draws `n` samples and checks mean, variance, tail frequencies and a chi-square goodness of fit against DLap(scale). */
function checkAgainstLaw(draw: () => bigint, scale: Ratio, n: number): Verdict {
  const { pmf, variance, fourth, tail } = law(scale);
  const t = toNumber(scale);
  const counts = new Map<number, number>();
  let sum = 0;
  let squares = 0;
  for (let i = 0; i < n; i++) {
    const k = Number(draw());
    counts.set(k, (counts.get(k) ?? 0) + 1);
    sum += k;
    squares += k * k;
  }
  const failures: string[] = [];
  const mean = sum / n;
  if (Math.abs(mean) > 5 * Math.sqrt(variance / n)) failures.push(`mean ${mean}`);
  const sampleVariance = squares / n - mean * mean;
  const varianceError = Math.sqrt((fourth - variance * variance) / n);
  if (Math.abs(sampleVariance - variance) > 5 * varianceError) failures.push(`variance ${sampleVariance} vs ${variance}`);
  for (const m of [Math.floor(t), Math.floor(2 * t), Math.floor(4 * t)]) {
    let beyond = 0;
    for (const [k, c] of counts) if (Math.abs(k) > m) beyond += c;
    const p = tail(m);
    if (Math.abs(beyond / n - p) > 5 * Math.sqrt((p * (1 - p)) / n)) failures.push(`P[|N| > ${m}] ${beyond / n} vs ${p}`);
  }
  // One cell per value with at least 20 expected draws, and one per tail beyond them.
  let edge = 0;
  while (pmf(edge + 1) * n >= 20) edge++;
  let chiSquare = 0;
  for (let k = -edge; k <= edge; k++) {
    const expected = pmf(k) * n;
    chiSquare += ((counts.get(k) ?? 0) - expected) ** 2 / expected;
  }
  const tailExpected = (tail(edge) / 2) * n;
  for (const side of [-1, 1]) {
    let observed = 0;
    for (const [k, c] of counts) if (side * k > edge) observed += c;
    chiSquare += (observed - tailExpected) ** 2 / tailExpected;
  }
  const critical = chiSquareCritical(2 * edge + 2);
  if (chiSquare > critical) failures.push(`chi-square ${chiSquare.toFixed(1)} > ${critical.toFixed(1)}`);
  return { failures, chiSquare, critical, sampleVariance };
}

const DRAWS = 100_000;
const SCALES: Ratio[] = [
  { num: 3n, den: 1n },
  { num: 7n, den: 3n },
];

describe("discrete Laplace sampler (CKS20, exact)", () => {
  for (const scale of SCALES) {
    it(`matches the analytic law at t = ${scale.num}/${scale.den}: mean, variance, tails, chi-square over ${DRAWS} draws`, (t) => {
      const random = seeded(`dlap-${scale.num}-${scale.den}`);
      const verdict = checkAgainstLaw(() => sampleDiscreteLaplace(scale, random), scale, DRAWS);
      t.diagnostic(`chi-square ${verdict.chiSquare.toFixed(1)} (critical ${verdict.critical.toFixed(1)}), variance ${verdict.sampleVariance.toFixed(3)}`);
      assert.deepEqual(verdict.failures, []);
    });

    it(`rejects a sampler of half the scale at t = ${scale.num}/${scale.den}`, (t) => {
      const random = seeded(`dlap-half-${scale.num}-${scale.den}`);
      const half: Ratio = { num: scale.num, den: 2n * scale.den };
      const verdict = checkAgainstLaw(() => sampleDiscreteLaplace(half, random), scale, DRAWS);
      t.diagnostic(`half-scale sampler: ${verdict.failures.join("; ")}`);
      assert.ok(verdict.failures.some((f) => f.startsWith("variance")), "the variance check catches it");
      assert.ok(verdict.failures.some((f) => f.startsWith("chi-square")), "the chi-square check catches it");
      assert.ok(verdict.failures.some((f) => f.startsWith("P[|N| >")), "a tail check catches it");
      assert.ok(verdict.chiSquare > 100 * verdict.critical, "by a wide margin");
    });
  }

  it("Bernoulli(exp(−γ)) has frequency e^{−γ}, for γ below, at and above 1", () => {
    const random = seeded("bernoulli-exp");
    const n = 40_000;
    for (const [num, den] of [
      [0n, 1n],
      [1n, 3n],
      [1n, 1n],
      [5n, 2n],
    ] as const) {
      let hits = 0;
      for (let i = 0; i < n; i++) if (sampleBernoulliExp(num, den, random)) hits++;
      const p = Math.exp(-Number(num) / Number(den));
      assert.ok(Math.abs(hits / n - p) <= 5 * Math.sqrt((p * (1 - p)) / n) + 1e-12, `γ = ${num}/${den}: ${hits / n} vs ${p}`);
    }
  });

  it("scale 0 is the point mass at 0 and reads no randomness", () => {
    const random = createStreamReader(() => assert.fail("no words should be drawn"));
    assert.equal(sampleDiscreteLaplace({ num: 0n, den: 1n }, random), 0n);
  });

  it("reads its stream deterministically: the same stream gives the same samples (fast-check)", () => {
    fc.assert(
      fc.property(fc.string(), fc.bigInt({ min: 1n, max: 1n << 70n }), fc.bigInt({ min: 1n, max: 1000n }), (label, num, den) => {
        const a = seeded(label);
        const b = seeded(label);
        for (let i = 0; i < 5; i++) assert.equal(sampleDiscreteLaplace({ num, den }, a), sampleDiscreteLaplace({ num, den }, b));
      }),
      { numRuns: 50 },
    );
  });
});

describe("stream reader", () => {
  it("reads the stream's words in order across its growing draws, and uniform integers below any bound (fast-check)", () => {
    const key = createHash("sha256").update("reader").digest();
    const stream = (n: number) => wordsOf(createCipheriv("aes-256-ctr", key, Buffer.alloc(16)).update(Buffer.alloc(8 * n)));
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 600 }), (n) => {
        const reader = createStreamReader(stream);
        const read = Array.from({ length: n }, () => reader.nextWord());
        assert.deepEqual(read, [...stream(n)]);
      }),
      { numRuns: 30 },
    );
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: 1n << 130n }), fc.string(), (m, label) => {
        const reader = seeded(label);
        for (let i = 0; i < 20; i++) {
          const v = reader.uniformBelow(m);
          assert.ok(v >= 0n && v < m);
        }
      }),
      { numRuns: 100 },
    );
  });

  it("draws uniform integers without modulo bias (chi-square over a bound just above a power of two)", () => {
    const reader = seeded("uniform");
    const m = 5n; // 3 bits per try: a modulo reduction would favour 0..2
    const n = 50_000;
    const counts = [0, 0, 0, 0, 0];
    for (let i = 0; i < n; i++) counts[Number(reader.uniformBelow(m))]++;
    const chi = counts.reduce((s, c) => s + (c - n / 5) ** 2 / (n / 5), 0);
    assert.ok(chi < chiSquareCritical(4), `chi-square ${chi}`);
  });
});

describe("the law of N_0 + N_1 + N_2 (noise-tail.ts)", () => {
  /** P[S = s] for three DLap(t) terms by direct convolution. */
  function convolved(t: number): Map<number, number> {
    const q = Math.exp(-1 / t);
    const c = (1 - q) / (1 + q);
    const reach = Math.ceil(80 * t) + 5;
    const one = new Map<number, number>();
    for (let k = -reach; k <= reach; k++) one.set(k, c * q ** Math.abs(k));
    const convolve = (a: Map<number, number>, b: Map<number, number>) => {
      const out = new Map<number, number>();
      for (const [x, px] of a) for (const [y, py] of b) out.set(x + y, (out.get(x + y) ?? 0) + px * py);
      return out;
    };
    return convolve(convolve(one, one), one);
  }

  for (const scale of [
    { num: 2n, den: 5n },
    { num: 1n, den: 1n },
    { num: 5n, den: 2n },
    { num: 7n, den: 1n },
    { num: 20n, den: 1n },
  ]) {
    it(`closed-form tail and 95% quantile match a direct convolution at t = ${scale.num}/${scale.den}`, () => {
      const t = toNumber(scale);
      const pmf = convolved(t);
      const tailOf = (m: number) => [...pmf].reduce((s, [k, p]) => (k > m ? s + p : s), 0);
      for (let m = 0; m <= 12 * t; m++) {
        const exact = tailOf(m);
        const closed = threeTermTail(scale, BigInt(m));
        assert.ok(Math.abs(closed - exact) <= 1e-12 + 1e-9 * exact, `m = ${m}: ${closed} vs ${exact}`);
      }
      const m = Number(noiseQuantile(scale, 0.025));
      assert.ok(tailOf(m) <= 0.025, `P[S > ${m}] = ${tailOf(m)}`);
      if (m > 0) assert.ok(tailOf(m - 1) > 0.025, `${m} is the smallest such m`);
    });
  }

  it("is right for scales far beyond any convolution: the quantile of a large t is about 4.97·t", () => {
    const m = noiseQuantile({ num: 10n ** 12n, den: 1n }, 0.025);
    assert.ok(m > 4_960_000_000_000n && m < 4_980_000_000_000n, String(m));
    assert.equal(noiseQuantile({ num: 1n, den: 1000n }, 0.025), 0n);
  });
});
