import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import { decodeResult, describeNoise, planComputation, Rational, type DatasetSchema, type NoiseDescription, type Plan } from "../src/index.ts";
import { rerandomize, runPlan } from "../src/algorithms/run.ts";
import { allPresentForTesting, createLocalNetwork, runThreeParties, shareArithForTesting, type LocalNetwork } from "../src/protocol/local-harness.ts";
import { PRF_TAG, type Party, type PartyIndex } from "../src/protocol/party.ts";
import type { ArithShare } from "../src/protocol/shares.ts";

// Differentially private plans on the three-party harness: the noise is
// drawn inside the MPC by the pairs of parties, no single party knows it, a
// fixed seed reproduces it, its intervals cover, and every algorithm's DP
// form gives plausible answers.

const ring = (v: bigint) => BigInt.asUintN(64, v);
const hex = (words: BigUint64Array) => Buffer.from(words.buffer, words.byteOffset, words.byteLength).toString("hex");

/** Three 32-byte party seeds fixed by a label. */
function seedsFor(label: string): [Uint8Array, Uint8Array, Uint8Array] {
  const seed = (i: number) => createHash("sha256").update(`${label}/${i}`).digest();
  return [seed(0), seed(1), seed(2)];
}

type Shared = Record<string, [ArithShare, ArithShare, ArithShare]>;

function share(columns: Record<string, readonly bigint[]>): Shared {
  return Object.fromEntries(Object.entries(columns).map(([name, v]) => [name, shareArithForTesting(BigUint64Array.from(v, ring))]));
}

interface RunOptions {
  seeds?: [Uint8Array, Uint8Array, Uint8Array];
  network?: LocalNetwork;
  /** Replaces each party by what this returns (to change its PRF streams). */
  wrap?: (party: Party) => Party;
}

/** Runs a plan on the harness; returns the opened values and each party's output share. */
async function run(plan: Plan, shared: Shared, options: RunOptions = {}): Promise<{ values: bigint[]; outputs: ArithShare[] }> {
  const outputs = await runThreeParties(
    async (p) => {
      const party = options.wrap ? options.wrap(p) : p;
      const mine = new Map(Object.entries(shared).map(([name, s]) => [name, s[party.index]]));
      const valid = new Map(Object.keys(shared).map((name) => [name, allPresentForTesting(party.index, Number(plan.rowCount))]));
      return rerandomize(party, await runPlan(party, plan, { columns: mine, valid, rowCount: Number(plan.rowCount) }));
    },
    { seeds: options.seeds, network: options.network },
  );
  const values = Array.from(outputs[0].a, (_, k) => {
    for (let i = 0; i < 3; i++) assert.equal(outputs[i].b[k], outputs[(i + 1) % 3].a[k], "replicated components agree");
    return ring(outputs[0].a[k] + outputs[1].a[k] + outputs[2].a[k]);
  });
  return { values, outputs };
}

/** A decimal string as an exact rational. */
function decimal(text: string): Rational {
  const [whole, fraction = ""] = text.split(".");
  return new Rational(BigInt(whole + fraction), 10n ** BigInt(fraction.length));
}

/** Whether `truth` lies in a [lo, hi] interval of decimals. */
function within(truth: Rational, [lo, hi]: readonly [string, string]): boolean {
  return decimal(lo).compare(truth) <= 0 && truth.compare(decimal(hi)) <= 0;
}

/**
 * A local network that records, for one party, every message it sends and
 * receives (peer, step and payload bytes), keyed so that timing does not
 * change the record.
 */
function recordingNetwork(watched: PartyIndex): { network: LocalNetwork; record: Map<string, string> } {
  const inner = createLocalNetwork();
  const record = new Map<string, string>();
  const network: LocalNetwork = {
    get messages() {
      return inner.messages;
    },
    bytesSentBy: (index) => inner.bytesSentBy(index),
    abort: (reason) => inner.abort(reason),
    exchangeFor(index) {
      const exchange = inner.exchangeFor(index);
      if (index !== watched) return exchange;
      return {
        async send(toHost, step, payload) {
          record.set(`sent to ${toHost} at step ${step}`, Buffer.from(payload).toString("hex"));
          return exchange.send(toHost, step, payload);
        },
        async receive(fromHost, step) {
          const payload = await exchange.receive(fromHost, step);
          record.set(`received from ${fromHost} at step ${step}`, payload.toString("hex"));
          return payload;
        },
      };
    },
  };
  return { network, record };
}

/**
 * A party whose noise stream with one neighbour is replaced by another
 * (every word XORed with a constant): applied to both members of a pair, it
 * changes that pair's noise term and nothing else.
 */
function withOtherNoise(party: Party, side: "next" | "prev"): Party {
  const flip = (words: BigUint64Array) => words.map((w) => w ^ 0x5deece66d5deece6n);
  const prf = {
    withNext: (step: number, tag: number, n: number) => (side === "next" && tag === PRF_TAG.NOISE ? flip(party.prf.withNext(step, tag, n)) : party.prf.withNext(step, tag, n)),
    withPrev: (step: number, tag: number, n: number) => (side === "prev" && tag === PRF_TAG.NOISE ? flip(party.prf.withPrev(step, tag, n)) : party.prf.withPrev(step, tag, n)),
    // Pieces are drawn only for the rounds' zero sharings, never for noise.
    eachPiece: (...args: Parameters<Party["prf"]["eachPiece"]>) => party.prf.eachPiece(...args),
    // Noise is never drawn in the background: only the rounds' zero sharings are.
    inBackground: (step: number, tag: number, n: number) => (tag === PRF_TAG.NOISE ? undefined : party.prf.inBackground(step, tag, n)),
  };
  return new Proxy(party, {
    get(target, key) {
      if (key === "prf") return prf;
      const value = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

// x: scale 2, [0.00, 1000.00]; y: scale 0, [-500, 500].
const schema: DatasetSchema = {
  columns: [
    { name: "x", scale: 2, lo: "0.00", hi: "1000.00" },
    { name: "y", scale: 0, lo: "-500", hi: "500" },
  ],
};

/** n rows: x uniform in [200.00, 700.00], y ≈ x/3 − 100 plus a little scatter, from a fixed generator. */
function dataset(n: number, label: string): { x: bigint[]; y: bigint[] } {
  let state = BigInt("0x" + createHash("sha256").update(label).digest("hex").slice(0, 16));
  const next = () => {
    state = (state * 6364136223846793005n + 1442695040888963407n) & ((1n << 64n) - 1n);
    return Number(state >> 11n) / 2 ** 53;
  };
  const x = Array.from({ length: n }, () => 20000n + BigInt(Math.floor(next() * 50001)));
  const y = x.map((v) => BigInt(Math.round(Number(v) / 300 - 100 + (next() - 0.5) * 60)));
  return { x, y };
}

const total = (v: readonly bigint[]) => v.reduce((a, b) => a + b, 0n);

describe("DP plans on the three-party harness", () => {
  it("one host's whole view is the same whatever the noise of the pair it is not in", async () => {
    const { x } = dataset(500, "view");
    const shared = share({ x });
    for (const [algorithm, params] of [
      ["mean@1", { column: "x" }],
      ["histogram@1", { column: "x", edges: ["300", "400", "500", "600"] }],
    ] as const) {
      const plan = planComputation(algorithm, JSON.stringify(params), schema, { rowCount: 500n, epsilonMilli: 1000 });
      for (const host of [0, 1, 2] as const) {
        const seeds = seedsFor(`view/${algorithm}`);
        const views = [];
        for (const other of [false, true]) {
          const { network, record } = recordingNetwork(host);
          // The pair (host+1, host+2) shares the stream keyed by host+1's seed: its "next" for host+1, "prev" for host+2.
          const wrap = (p: Party) => (!other ? p : p.index === (host + 1) % 3 ? withOtherNoise(p, "next") : p.index === (host + 2) % 3 ? withOtherNoise(p, "prev") : p);
          const { values, outputs } = await run(plan, shared, { seeds, network, wrap });
          const inputs = `${hex(shared.x[host].a)}|${hex(shared.x[host].b)}`;
          views.push({ values, transcript: JSON.stringify({ inputs, output: [hex(outputs[host].a), hex(outputs[host].b)], messages: [...record].sort() }), messages: record.size });
        }
        assert.ok(views[0].messages > 0, "the host exchanged messages");
        assert.equal(views[1].transcript, views[0].transcript, `${algorithm}: host ${host}'s inputs, messages and output`);
        assert.notDeepEqual(views[1].values, views[0].values, `${algorithm}: the released values differ, so the other pair's noise did change`);
      }
    }
  });

  it("a fixed seed reproduces a job's noise exactly; another seed draws other noise", async () => {
    const { x } = dataset(300, "reproduce");
    const shared = share({ x });
    const plan = planComputation("histogram@1", '{"column":"x","edges":["300","450","600"]}', schema, { rowCount: 300n, epsilonMilli: 500 });
    const a = await run(plan, shared, { seeds: seedsFor("reproduce") });
    const b = await run(plan, shared, { seeds: seedsFor("reproduce") });
    const c = await run(plan, shared, { seeds: seedsFor("reproduce-other") });
    assert.deepEqual(b.values, a.values);
    for (let i = 0; i < 3; i++) assert.deepEqual([hex(b.outputs[i].a), hex(b.outputs[i].b)], [hex(a.outputs[i].a), hex(a.outputs[i].b)], `party ${i}`);
    assert.notDeepEqual(c.values, a.values);
  });

  it("adds no round: a DP mean sends the same messages as an exact one", async () => {
    const { x } = dataset(200, "rounds");
    const shared = share({ x });
    const count = async (epsilonMilli: number) => {
      const network = createLocalNetwork();
      await run(planComputation("mean@1", '{"column":"x"}', schema, { rowCount: 200n, epsilonMilli }), shared, { network });
      return network.messages.map((m) => `${m.from}>${m.to}:${m.bytes}`).sort();
    };
    assert.deepEqual(await count(1000), await count(0));
  });

  it("the noise the hosts add has the variance of three discrete Laplace terms of the plan's scale (sum: t = 200, ε/2 on Σ; count-if: t = 1)", async (t) => {
    // A mechanism adding too little noise (one of the three terms missing: ratio 2/3; a wrong scale) would still cover most
    // intervals; its variance would not. Fixed seeds: the same draws every run.
    const column: DatasetSchema = { columns: [{ name: "v", scale: 0, lo: "0", hi: "100" }] };
    const values = Array.from({ length: 20 }, (_, i) => BigInt((i * 37) % 101));
    const shared = share({ v: values });
    const signed = (v: bigint) => BigInt.asIntN(64, v);
    const dlapVariance = (scale: number) => {
      const p = Math.exp(-1 / scale);
      return (2 * p) / (1 - p) ** 2;
    };
    for (const [algorithm, params, scale] of [
      ["sum@1", '{"column":"v"}', 200],
      ["count-if@1", '{"column":"v","op":"lt","threshold":"50"}', 1],
    ] as const) {
      const exact = (await run(planComputation(algorithm, params, column, { rowCount: 20n, epsilonMilli: 0 }), shared)).values;
      const plan = planComputation(algorithm, params, column, { rowCount: 20n, epsilonMilli: 1000 });
      const draws: number[] = [];
      for (let r = 0; r < 200; r++) {
        const { values: opened } = await run(plan, shared, { seeds: seedsFor(`variance/${algorithm}/${r}`) });
        assert.equal(opened.length, exact.length);
        draws.push(Number(signed(opened[0]) - signed(exact[0])));
      }
      const mean = draws.reduce((a, b) => a + b, 0) / draws.length;
      const variance = draws.reduce((a, b) => a + (b - mean) ** 2, 0) / (draws.length - 1);
      const ratio = variance / (3 * dlapVariance(scale));
      t.diagnostic(`${algorithm}: noise variance ${variance.toFixed(2)} over 200 runs, ${ratio.toFixed(3)} of 3·Var DLap(${scale})`);
      assert.ok(ratio > 0.75 && ratio < 1.3, `${algorithm}: variance ratio ${ratio}`);
    }
  });

  it("the DP mean of a 200,000-row column at ε = 1 lies in its stated 95% interval in at least 90 of 100 repetitions", async (t) => {
    const n = 200_000;
    const column: DatasetSchema = { columns: [{ name: "v", scale: 0, lo: "0", hi: "100000" }] };
    const values = Array.from({ length: n }, (_, i) => BigInt((i * 7919) % 100001));
    const truth = new Rational(total(values), BigInt(n));
    const shared = share({ v: values });
    const plan = planComputation("mean@1", '{"column":"v"}', column, { rowCount: BigInt(n), epsilonMilli: 1000 });
    let covered = 0;
    let exact = 0;
    for (let r = 0; r < 100; r++) {
      const { values: opened } = await run(plan, shared, { seeds: seedsFor(`coverage/${r}`) });
      const noise = describeNoise(plan, opened)!;
      assert.equal(noise.interval, "approximate");
      // t = (hi − lo)/(ε/2) = 200000 on the sum, over n: about 1 on the mean (the count's noise adds little).
      const scale = Number(noise.noiseScale);
      assert.ok(scale > 0.8 && scale < 1.25, `noise scale ${scale}`);
      if (within(truth, noise.interval95 as [string, string])) covered++;
      if (decodeResult(plan, opened) === truth.toDecimal(6)) exact++;
    }
    t.diagnostic(`covered ${covered} of 100; ${exact} answers equal to the exact mean`);
    assert.ok(covered >= 90, `covered ${covered} of 100`);
    assert.ok(exact < 10, "the answers are noisy");
  });

  it("every algorithm's DP form runs end to end, plausibly against the plaintext", async (t) => {
    const n = 3000;
    const { x, y } = dataset(n, "algorithms");
    const shared = share({ x, y });
    const N = BigInt(n);
    const X = (v: bigint) => new Rational(v, 100n);
    const mean = (v: Rational) => v.div(new Rational(N));
    const mx = mean(X(total(x)));
    const my = mean(new Rational(total(y)));
    const cxx = mean(new Rational(total(x.map((v) => v * v)), 10000n)).sub(mx.mul(mx));
    const cyy = mean(new Rational(total(y.map((v) => v * v)))).sub(my.mul(my));
    const cxy = mean(X(total(x.map((v, i) => v * y[i])))).sub(mx.mul(my));
    const slope = cxy.div(cxx);
    const min = x.reduce((a, b) => (b < a ? b : a));
    const max = x.reduce((a, b) => (b > a ? b : a));
    const dp = async (algorithm: string, params: object, epsilonMilli = 1000) => {
      const plan = planComputation(algorithm, JSON.stringify(params), schema, { rowCount: N, epsilonMilli });
      const { values } = await run(plan, shared, { seeds: seedsFor(`algorithms/${algorithm}`) });
      const result = decodeResult(plan, values);
      const noise = describeNoise(plan, values) as NoiseDescription;
      t.diagnostic(`${algorithm}: ${JSON.stringify(result)} ± ${JSON.stringify(noise.interval95)} (scale ${JSON.stringify(noise.noiseScale)})`);
      assert.equal(noise.mechanism, algorithm === "count@1" ? "none" : "discrete Laplace");
      return { result, noise };
    };
    /** Within the interval widened by `factor` times its width on each side. */
    const plausible = (truth: Rational, [lo, hi]: readonly [string, string], factor = new Rational(1n)) => {
      const width = decimal(hi).sub(decimal(lo)).mul(factor);
      return decimal(lo).sub(width).compare(truth) <= 0 && truth.compare(decimal(hi).add(width)) <= 0;
    };
    // Exact 95% intervals: each covers with probability ≥ 95% (the coverage test above checks that over 100
    // repetitions), so of these seven (sum, mean, count-if, four buckets) most cover; all lie within the
    // interval widened by half its width on each side (±~10t: missed with probability below 10^-3 each).
    const exactChecks: { what: string; truth: Rational; interval: [string, string] }[] = [];

    assert.equal((await dp("count@1", {})).result, "3000");

    for (const [algorithm, truth] of [
      ["sum@1", X(total(x))],
      ["mean@1", mx],
    ] as const) {
      const { result, noise } = await dp(algorithm, { column: "x" });
      assert.equal(noise.interval, "approximate");
      exactChecks.push({ what: algorithm, truth, interval: noise.interval95 as [string, string] });
      assert.ok(within(decimal(result as string), noise.interval95 as [string, string]));
    }

    const countIf = await dp("count-if@1", { column: "x", op: "lt", threshold: "400" });
    exactChecks.push({ what: "count-if@1", truth: new Rational(BigInt(x.filter((v) => v < 40000n).length)), interval: countIf.noise.interval95 as [string, string] });

    const edges = [30000n, 45000n, 60000n];
    const histogram = await dp("histogram@1", { column: "x", edges: ["300", "450", "600"] });
    const buckets = [0, 1, 2, 3].map((j) => x.filter((v) => (j === 0 || v >= edges[j - 1]) && (j === 3 || v < edges[j])).length);
    assert.equal((histogram.result as { counts: string[] }).counts.length, 4);
    (histogram.noise.interval95 as [string, string][]).forEach((interval, j) => exactChecks.push({ what: `bucket ${j}`, truth: new Rational(BigInt(buckets[j])), interval }));
    const covered = exactChecks.filter((c) => within(c.truth, c.interval));
    t.diagnostic(`exact intervals covering the plaintext: ${covered.length} of ${exactChecks.length}`);
    assert.ok(covered.length >= exactChecks.length - 2, exactChecks.map((c) => `${c.what}: ${c.truth.toDecimal(8)} in ${c.interval}`).join("; "));
    for (const c of exactChecks) assert.ok(plausible(c.truth, c.interval, new Rational(1n, 2n)), `${c.what}: ${c.truth.toDecimal(8)} near ${c.interval}`);

    const variance = await dp("variance@1", { column: "x" });
    assert.equal(variance.noise.interval, "approximate");
    assert.ok(plausible(cxx, variance.noise.interval95 as [string, string]));
    const stddev = await dp("stddev@1", { column: "x" });
    assert.ok(plausible(decimal(cxx.sqrtDecimal(8)), stddev.noise.interval95 as [string, string]));
    const covariance = await dp("covariance@1", { x: "x", y: "y" });
    assert.ok(plausible(cxy, covariance.noise.interval95 as [string, string]));
    // Regression splits ε five ways: at ε = 5 each sum gets ε = 1.
    const regression = await dp("regression@1", { x: "x", y: "y" }, 5000);
    const intervals = regression.noise.interval95 as Record<string, [string, string]>;
    assert.ok(plausible(slope, intervals.slope), "slope");
    assert.ok(plausible(my.sub(slope.mul(mx)), intervals.intercept), "intercept");
    assert.ok(plausible(cxy.mul(cxy).div(cxx.mul(cyy)), intervals.r2), "r2");
    const r2 = decimal((regression.result as Record<string, string>).r2);
    assert.ok(r2.compare(new Rational(0n)) >= 0 && r2.compare(new Rational(1n)) <= 0);

    // Bins of 100001/32 units ≈ 31.25: the lowest and highest bins holding data hold about 190 rows each.
    const bin = 3125n;
    const dpMin = await dp("min@1", { column: "x" });
    const lowest = decimal(dpMin.result as string).mul(new Rational(100n)).num;
    assert.ok(lowest <= min && min - lowest < bin, `min ${lowest} for ${min}`);
    assert.ok(within(new Rational(min, 100n), dpMin.noise.interval95 as [string, string]), "the minimum lies in its interval");
    const dpMax = await dp("max@1", { column: "x" });
    const highest = decimal(dpMax.result as string).mul(new Rational(100n)).num;
    assert.ok(highest >= max && highest - max < bin, `max ${highest} for ${max}`);
    assert.ok(within(new Rational(max, 100n), dpMax.noise.interval95 as [string, string]), "the maximum lies in its interval");
  });

  it("a widened sum carries its noise as one more lifted chunk, and decodes within its interval", async () => {
    // W = 2^57 over 60 rows: exact in one ring element; with noise at ε = 30 it is widened.
    const big: DatasetSchema = { columns: [{ name: "v", scale: 0, lo: String(-(2n ** 57n)), hi: String(2n ** 57n) }] };
    const values = Array.from({ length: 60 }, (_, i) => (i % 3 === 0 ? 2n ** 57n : i % 3 === 1 ? 2n ** 57n - 12345n : -(2n ** 56n)));
    const plan = planComputation("sum@1", '{"column":"v"}', big, { rowCount: 60n, epsilonMilli: 30_000 });
    const first = plan.query.statistics[0];
    assert.ok(first.kind === "sum" && first.sums[0].accumulation.kind === "wide");
    const { values: opened } = await run(plan, share({ v: values }), { seeds: seedsFor("wide") });
    const noise = describeNoise(plan, opened)!;
    const result = decodeResult(plan, opened) as string;
    assert.ok(within(new Rational(total(values)), noise.interval95 as [string, string]), `${total(values)} in ${noise.interval95}`);
    assert.notEqual(result, total(values).toString(), "noisy");
  });
});
