/**
 * End-to-end benchmark: N buyer requests sent at once through the whole market
 * (chain → Operator → relay → bridge → three MPC hosts → relay → chain),
 * against a freshly started local stack on 127.0.0.1.
 *
 * A seller lists the bundled salaries table; one buyer approves once and
 * sends N `sum@1` requests without waiting between them (explicit nonces).
 * Each request is timed from the moment its transaction is sent to the moment
 * its `ComputationFulfilled` event is seen on-chain. A job is completed when
 * its result decrypts to the plaintext sum; lost when it is still pending at
 * the end; duplicated counts every `fulfillOracleRequest2` transaction beyond
 * the first for a request (sent or reverted), found by scanning every block.
 *
 * Usage (from the repository root):
 *   npm run bench:e2e -- --jobs 100
 *   npm run --silent bench:e2e -- --jobs 1000 --json
 *
 * @example
 * ```sh
 * npm run --silent bench:e2e -- --jobs 100 --json | jq .p95_ms
 * ```
 */
import path from "node:path";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { Interface, JsonRpcProvider, hexlify } from "ethers";
import type { Log } from "ethers";
import { loadArtifact } from "@scmpc/contracts";
import { decodeResult, generateBuyerKeyPair, planComputation } from "@scmpc/mpc-engine";
import { openFulfilledResult } from "../src/key-release.ts";
import { resolveSigner } from "../src/accounts.ts";
import { fulfilmentAttempts, requestMany } from "../src/fulfilments.ts";
import { uploadDataset } from "../src/seller.ts";
import { startLocalStack } from "../src/stack.ts";
import { stateDir } from "../src/state.ts";

const { values: flags } = parseArgs({
  options: {
    jobs: { type: "string", default: "100" },
    json: { type: "boolean", default: false },
    "timeout-s": { type: "string", default: "900" },
  },
});
const jobs = Number(flags.jobs);
if (!Number.isInteger(jobs) || jobs < 1) throw new Error(`--jobs must be a positive integer; got "${flags.jobs}"`);
const timeoutMs = Number(flags["timeout-s"]) * 1000;
if (!(timeoutMs > 0)) throw new Error(`--timeout-s must be a positive number; got "${flags["timeout-s"]}"`);

const ALGORITHM = "sum@1";
const COLUMN = "salary";
const PARAMS = JSON.stringify({ column: COLUMN });
const POLL_MS = 100;
const SAMPLE = fileURLToPath(new URL("../samples/salaries.csv", import.meta.url));
const say = (line: string): void => {
  if (!flags.json) console.log(line);
};

const dir = path.join(stateDir(process.env), "bench-e2e");
say(`starting a fresh local stack in ${dir} ...`);
const stack = await startLocalStack({ dir, logLevel: process.env.SCMPC_LOG_LEVEL ?? "warn", progress: (line) => say(`  ${line}`) });
const provider = new JsonRpcProvider(stack.state.rpcUrl, stack.state.chainId, { staticNetwork: true, batchMaxCount: 1 });
let exitCode = 1;
try {
  const seller = resolveSigner({ defaultRole: "seller" }, provider);
  // Exact mode: the seller allows exact sums (1000 requests would exhaust any privacy budget), so each answer can be checked.
  const dataset = await uploadDataset({ state: stack.state, seller, file: SAMPLE, name: "bench-salaries", columns: [COLUMN], price: "1", exact: [ALGORITHM] });
  const expected = dataset.plaintextSums[COLUMN];

  const marketAddress = stack.state.contracts.algorithms[ALGORITHM];
  const marketInterface = new Interface(loadArtifact("AlgorithmComputation").abi);
  const keys = generateBuyerKeyPair();
  const plan = planComputation(ALGORITHM, PARAMS, { columns: dataset.columns }, { rowCount: BigInt(dataset.rowCount), epsilonMilli: 0 });
  const startBlock = await provider.getBlockNumber();

  // Send every request without waiting for the previous one to be mined.
  say(`sending ${jobs} ${ALGORITHM} requests at once ...`);
  const firstSent = performance.now();
  const sent = await requestMany({
    state: stack.state,
    buyer: resolveSigner({ defaultRole: "buyer" }, provider),
    algorithm: ALGORITHM,
    datasetIds: [dataset.datasetId],
    params: PARAMS,
    buyerKey: hexlify(keys.publicKey),
    epsilonMilli: 0,
    count: jobs,
  });
  const sentAtByRequest = new Map(sent.map(({ requestId, sentAt }) => [requestId, sentAt]));
  say(`${jobs} requests mined in ${Math.round(performance.now() - firstSent)} ms; waiting for the fulfilments ...`);

  // Watch the market's settlement events until every request is settled or time runs out.
  const settledAt = new Map<string, number>();
  const results = new Map<string, string>();
  let failed = 0;
  const fulfilledTopic = marketInterface.getEvent("ComputationFulfilled")!.topicHash;
  const failedTopic = marketInterface.getEvent("ComputationFailed")!.topicHash;
  let fromBlock = startBlock + 1;
  const giveUpAt = Date.now() + timeoutMs;
  while (settledAt.size < jobs && Date.now() < giveUpAt) {
    const head = await provider.getBlockNumber();
    if (head >= fromBlock) {
      const logs: Log[] = await provider.getLogs({ address: marketAddress, topics: [[fulfilledTopic, failedTopic]], fromBlock, toBlock: head });
      const now = performance.now();
      for (const log of logs) {
        const parsed = marketInterface.parseLog(log);
        const requestId = parsed?.args.requestId as string;
        if (!sentAtByRequest.has(requestId) || settledAt.has(requestId)) continue;
        settledAt.set(requestId, now);
        if (parsed?.name === "ComputationFulfilled") results.set(requestId, parsed.args.result as string);
        else failed++;
      }
      fromBlock = head + 1;
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  const lastSettled = Math.max(firstSent, ...settledAt.values());

  // A job is completed only if its result, opened with the keys the hosts release, decrypts to the plaintext answer.
  let completed = 0;
  let wrong = 0;
  for (const [requestId, result] of results) {
    const values = await openFulfilledResult({ hosts: stack.state.hosts, tls: stack.state.hostTls, requestId, consumer: marketAddress, result, buyerPrivateKey: keys.privateKey }).catch(() => undefined);
    const decoded = values === undefined ? undefined : decodeResult(plan, values);
    if (decoded === expected) completed++;
    else wrong++;
  }
  const lost = jobs - settledAt.size;

  // Every fulfillOracleRequest2 transaction, whatever its outcome, per request id.
  const attempts = await fulfilmentAttempts(provider, stack.state.contracts.operator, startBlock + 1, await provider.getBlockNumber());
  const duplicated = [...attempts.values()].reduce((n, count) => n + count - 1, 0);

  const latencies = [...settledAt.entries()]
    .filter(([requestId]) => results.has(requestId))
    .map(([requestId, at]) => at - sentAtByRequest.get(requestId)!)
    .sort((a, b) => a - b);
  const percentile = (p: number): number =>
    latencies.length === 0 ? 0 : Math.round(latencies[Math.min(latencies.length - 1, Math.ceil((p / 100) * latencies.length) - 1)]);
  const seconds = (lastSettled - firstSent) / 1000;
  const figures = {
    jobs,
    completed,
    lost,
    duplicated,
    jobs_per_s: seconds > 0 ? Math.round((completed / seconds) * 10) / 10 : 0,
    p50_ms: percentile(50),
    p95_ms: percentile(95),
    p99_ms: percentile(99),
  };
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(figures)}\n`);
  } else {
    console.log(`jobs                ${jobs} concurrent ${ALGORITHM} requests, one dataset of ${dataset.rowCount} rows`);
    console.log(`completed           ${completed} (result decrypted and equal to the plaintext sum)`);
    console.log(`failed              ${failed} (refunded)${wrong > 0 ? `, ${wrong} with a wrong result` : ""}`);
    console.log(`lost                ${lost}`);
    console.log(`duplicated          ${duplicated} (fulfilment transactions beyond one per request)`);
    console.log(`throughput          ${figures.jobs_per_s} jobs/s (${seconds.toFixed(1)} s from the first request sent to the last fulfilment seen)`);
    console.log(`latency             p50 ${figures.p50_ms} ms, p95 ${figures.p95_ms} ms, p99 ${figures.p99_ms} ms (request sent → ComputationFulfilled seen)`);
  }
  exitCode = completed === jobs && duplicated === 0 ? 0 : 1;
} finally {
  provider.destroy();
  await stack.stop();
}
process.exit(exitCode);
