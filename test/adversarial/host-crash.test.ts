import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { decodeResult, planComputation } from "@scmpc/mpc-engine";
import type { AlgorithmResult } from "@scmpc/mpc-engine";
import { buyComputation } from "../../client/src/buyer.ts";
import { fulfilmentAttempts } from "../../client/src/fulfilments.ts";
import { openFulfilledResult } from "../../client/src/key-release.ts";
import { uploadDataset, type UploadedDataset } from "../../client/src/seller.ts";
import { logOf, request, startMarket, STATUS, waitFor, type Market } from "./support.ts";

// A host killed with SIGKILL at a random round of a running job, then started
// again: the job completes with the right result (the bridge's attempt fails
// with a named error and the relay's retry completes it), never hangs past the
// deadline, and is fulfilled exactly once. Twenty runs over the three hosts and
// several algorithms, each killed at a round drawn at random.
const RUNS = 20;
const ROWS = 1500;
const JOBS: { algorithm: string; params: object }[] = [
  { algorithm: "min@1", params: { column: "x" } },
  { algorithm: "histogram@1", params: { column: "x", edges: ["25000", "50000", "75000"] } },
  { algorithm: "variance@1", params: { column: "y" } },
  { algorithm: "count-if@1", params: { column: "x", op: "ge", threshold: "50000" } },
  { algorithm: "regression@1", params: { x: "x", y: "y" } },
  { algorithm: "max@1", params: { column: "y" } },
  { algorithm: "mean@1", params: { column: "x" } },
];

/** A deterministic pseudo-random stream (so a failing run can be replayed from its printed seed). */
function stream(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x297a2d39) >>> 0;
    return s / 2 ** 32;
  };
}

describe("adversarial: a host killed at a random round of a job", { timeout: 1_800_000 }, () => {
  let market: Market;
  let dataset: UploadedDataset;
  /** The result of each algorithm bought with no crash: what every crashed run must give too. */
  const expected = new Map<string, AlgorithmResult>();
  /** How many rounds each algorithm runs (from its uncrashed run). */
  const roundsOf = new Map<string, number>();

  before(async () => {
    // Debug logs: each host logs every round it sends, which is how a run picks its round.
    market = await startMarket({ logLevel: "debug" });
    const rand = stream(1);
    const lines = ["x,y", ...Array.from({ length: ROWS }, () => `${Math.floor(rand() * 100_000)},${(rand() * 500).toFixed(2)}`)];
    const csv = path.join(market.stack.dir, "crash.csv");
    await writeFile(csv, lines.join("\n") + "\n");
    // Exact mode: a crashed run must give exactly the uncrashed run's answer, which fresh noise would hide.
    dataset = await uploadDataset({
      state: market.stack.state,
      seller: market.seller,
      file: csv,
      name: "crash",
      columns: ["x", "y"],
      price: "1",
      exact: [...new Set(JOBS.map((job) => job.algorithm))],
    });
    for (const job of JOBS) {
      const bought = await buyComputation({
        state: market.stack.state,
        buyer: market.buyer,
        algorithm: job.algorithm,
        datasetIds: [dataset.datasetId],
        params: JSON.stringify(job.params),
        keyDir: path.join(market.stack.dir, "buyer-keys"),
        exact: true,
      });
      expected.set(job.algorithm, bought.result);
    }
    // How many rounds each algorithm's uncrashed run sent (host 0's log): kill rounds are drawn from them.
    const log = await logOf(market, "host-0");
    const byRequest = new Map<string, number>();
    for (const line of log.split("\n")) {
      if (!line.includes('"msg":"round"')) continue;
      const requestId = /"requestId":"(0x[0-9a-f]+)"/.exec(line)?.[1];
      const step = Number(/"step":(\d+)/.exec(line)?.[1]);
      if (requestId) byRequest.set(requestId, Math.max(byRequest.get(requestId) ?? 0, step));
    }
    for (const line of log.split("\n").filter((l) => l.includes('"msg":"job started"'))) {
      const requestId = /"requestId":"(0x[0-9a-f]+)"/.exec(line)?.[1];
      const algorithm = /"algorithm":"([^"]+)"/.exec(line)?.[1];
      if (requestId && algorithm && byRequest.has(requestId)) roundsOf.set(algorithm, byRequest.get(requestId)!);
    }
  });
  after(async () => {
    await market?.close();
  });

  it(`completes every job with the right result, exactly once, over ${RUNS} kills`, async (t) => {
    const seed = Number(process.env.SCMPC_CRASH_SEED ?? Date.now() % 1_000_000);
    const rand = stream(seed);
    const startBlock = await market.provider.getBlockNumber();
    const runs: { requestId: string; host: number; algorithm: string; step: number; killedAt: number }[] = [];
    for (let run = 0; run < RUNS; run++) {
      const host = run % 3;
      const job = JOBS[Math.floor(rand() * JOBS.length)];
      const name = `host-${host}`;
      const logBefore = (await logOf(market, name)).length;
      const purchase = await request(market, job.algorithm, [dataset.datasetId], JSON.stringify(job.params), { epsilonMilli: 0 });
      // The round to kill at: drawn from the rounds this algorithm runs (learnt from its uncrashed run's log), at least the first.
      const target = 1 + Math.floor(rand() * (roundsOf.get(job.algorithm) ?? 8));
      const rounds = await waitFor(`host ${host} to run round ${target} of ${purchase.requestId}`, async () => {
        const text = (await logOf(market, name)).slice(logBefore);
        const mine = text.split("\n").filter((l) => l.includes(purchase.requestId.toLowerCase()));
        const steps = mine.filter((l) => l.includes('"msg":"round"')).map((l) => Number(/"step":(\d+)/.exec(l)?.[1] ?? 0));
        const finished = mine.some((l) => l.includes('"msg":"job finished"'));
        const reached = steps.length > 0 && Math.max(...steps) >= target;
        return reached || finished ? Math.max(0, ...steps) : undefined;
      }, 60_000);
      const proc = market.stack.processes.find((p) => p.name === name)!;
      proc.child.kill("SIGKILL");
      await proc.exited;
      runs.push({ requestId: purchase.requestId, host, algorithm: job.algorithm, step: rounds, killedAt: Date.now() });
      await market.stack.restart(name);

      // The job ends fulfilled, before the request's deadline, with the answer an uncrashed run gives.
      const computation = market.computation(job.algorithm);
      const status = await waitFor(`request ${purchase.requestId} (${job.algorithm}, host ${host} killed at round ${rounds}; seed ${seed}) to settle`, async () => {
        const s = (await computation.getRequest(purchase.requestId)).status as bigint;
        return s === STATUS.Pending ? undefined : s;
      }, 180_000);
      assert.equal(status, STATUS.Fulfilled, `run ${run}: ${job.algorithm}, host ${host} killed at round ${rounds} (seed ${seed})`);
      const [event] = await computation.queryFilter(computation.filters.ComputationFulfilled(purchase.requestId));
      const result = (event as unknown as { args: { result: string } }).args.result;
      const values = await openFulfilledResult({
        hosts: market.stack.state.hosts,
        tls: market.stack.state.hostTls,
        requestId: purchase.requestId,
        consumer: purchase.consumer,
        result,
        buyerPrivateKey: purchase.keys.privateKey,
      });
      const plan = planComputation(job.algorithm, JSON.stringify(job.params), { columns: dataset.columns }, { rowCount: BigInt(dataset.rowCount), epsilonMilli: 0 });
      assert.deepEqual(decodeResult(plan, values), expected.get(job.algorithm), `run ${run}: ${job.algorithm} after host ${host} was killed at round ${rounds} (seed ${seed})`);
    }
    // Exactly one fulfilment transaction per request, whatever was retried.
    const attempts = await fulfilmentAttempts(market.provider, market.stack.state.contracts.operator, startBlock + 1, await market.provider.getBlockNumber());
    for (const run of runs) assert.equal(attempts.get(run.requestId.toLowerCase()), 1, `request ${run.requestId}: ${attempts.get(run.requestId.toLowerCase()) ?? 0} fulfilments`);
    t.diagnostic(`seed ${seed}: ${runs.map((r) => `${r.algorithm} host ${r.host} round ${r.step}`).join("; ")}`);
    // The kills landed mid-job, on every host, at various rounds.
    assert.deepEqual(new Set(runs.map((r) => r.host)), new Set([0, 1, 2]));
    assert.ok(new Set(runs.map((r) => r.step)).size > 3, `kills at rounds ${runs.map((r) => r.step).join(", ")}`);
  });
});
