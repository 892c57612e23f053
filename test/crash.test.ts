import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { Contract, hexlify, JsonRpcProvider } from "ethers";
import { loadArtifact } from "@scmpc/contracts";
import { decodeResult, generateBuyerKeyPair, planComputation } from "@scmpc/mpc-engine";
import { openFulfilledResult } from "../client/src/key-release.ts";
import { resolveSigner } from "../client/src/accounts.ts";
import { fulfilmentAttempts, requestMany } from "../client/src/fulfilments.ts";
import type { ManagedProcess } from "../client/src/processes.ts";
import { uploadDataset } from "../client/src/seller.ts";
import { startLocalStack, type LocalStack } from "../client/src/stack.ts";

// Crash safety of the oracle path, on the real stack as processes: several
// requests are sent at once, the bridge is killed with SIGKILL while it runs
// their jobs, then the relay; both are started again over their durable
// stores. Every request must end fulfilled, with the right result, by exactly
// one fulfilment transaction.
const ROOT = path.resolve(fileURLToPath(import.meta.url), "../..");
const SAMPLE = path.join(ROOT, "client", "samples", "salaries.csv");
const REQUESTS = 8;
const STATUS_PENDING = 1n;
const STATUS_FULFILLED = 2n;

/** Resolves once `file` contains `needle` (a service's log mentioning a request). */
async function logMentions(file: string, needle: string, timeoutMs = 60_000): Promise<void> {
  const giveUpAt = Date.now() + timeoutMs;
  for (;;) {
    const text = await readFile(file, "utf8").catch(() => "");
    if (text.toLowerCase().includes(needle.toLowerCase())) return;
    if (Date.now() > giveUpAt) throw new Error(`${path.basename(file)} never mentioned ${needle}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function killHard(proc: ManagedProcess): Promise<void> {
  proc.child.kill("SIGKILL");
  await proc.exited;
}

describe("crash safety: kill -9 of the bridge and of the relay mid-job", { timeout: 300_000 }, () => {
  let dir: string;
  let stack: LocalStack;
  let provider: JsonRpcProvider;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "scmpc-crash-"));
    stack = await startLocalStack({ dir });
    provider = new JsonRpcProvider(stack.state.rpcUrl, stack.state.chainId, { staticNetwork: true });
  });

  after(async () => {
    provider?.destroy();
    await stack?.stop();
    // Every process the stack started has exited.
    for (const proc of stack?.processes ?? []) assert.ok(proc.child.exitCode !== null || proc.child.signalCode !== null, `${proc.name} still running`);
    await rm(dir, { recursive: true, force: true });
  });

  it("fulfils every acknowledged request exactly once, with the right result", async () => {
    const seller = resolveSigner({ defaultRole: "seller" }, provider);
    const dataset = await uploadDataset({ state: stack.state, seller, file: SAMPLE, name: "crash-salaries", columns: ["salary"], price: "2", exact: ["sum@1"] });
    const market = new Contract(stack.state.contracts.algorithms["sum@1"], loadArtifact("AlgorithmComputation").abi, provider);
    const keys = generateBuyerKeyPair();
    const params = JSON.stringify({ column: "salary" });
    const startBlock = await provider.getBlockNumber();
    const sent = await requestMany({
      state: stack.state,
      buyer: resolveSigner({ defaultRole: "buyer" }, provider),
      algorithm: "sum@1",
      datasetIds: [dataset.datasetId],
      params,
      buyerKey: hexlify(keys.publicKey),
      // Exact mode (the seller allows exact sums): every answer is checked against the plaintext sum.
      epsilonMilli: 0,
      count: REQUESTS,
    });
    const requestIds = sent.map((s) => s.requestId);

    // The bridge dies while it works on the first job; it comes back over its store.
    const logs = path.join(stack.dir, "logs");
    const byName = (name: string) => stack.processes.find((p) => p.name === name)!;
    await logMentions(path.join(logs, "bridge.log"), requestIds[0]);
    await killHard(byName("bridge"));
    await stack.restart("bridge");

    // Then the relay dies with requests still unanswered; it replays from its store.
    const pendingNow = async () => {
      const statuses = await Promise.all(requestIds.map(async (id) => (await market.getRequest(id)).status as bigint));
      return statuses.filter((s) => s === STATUS_PENDING).length;
    };
    await logMentions(path.join(logs, "relay.log"), requestIds[REQUESTS / 2]);
    const pendingAtRelayCrash = await pendingNow();
    await killHard(byName("relay"));
    await stack.restart("relay");

    const giveUpAt = Date.now() + 180_000;
    while ((await pendingNow()) > 0 && Date.now() < giveUpAt) await new Promise((resolve) => setTimeout(resolve, 250));

    const plan = planComputation("sum@1", params, { columns: dataset.columns }, { rowCount: BigInt(dataset.rowCount), epsilonMilli: 0 });
    for (const requestId of requestIds) {
      const request = await market.getRequest(requestId);
      assert.equal(request.status, STATUS_FULFILLED, `request ${requestId} ended with status ${request.status}`);
      const [event] = await market.queryFilter(market.filters.ComputationFulfilled(requestId));
      const result = (event as unknown as { args: { result: string } }).args.result;
      const values = await openFulfilledResult({ hosts: stack.state.hosts, tls: stack.state.hostTls, requestId, consumer: await market.getAddress(), result, buyerPrivateKey: keys.privateKey });
      assert.equal(decodeResult(plan, values), dataset.plaintextSums.salary);
    }
    const attempts = await fulfilmentAttempts(provider, stack.state.contracts.operator, startBlock + 1, await provider.getBlockNumber());
    for (const requestId of requestIds) {
      assert.equal(attempts.get(requestId.toLowerCase()), 1, `request ${requestId}: ${attempts.get(requestId.toLowerCase()) ?? 0} fulfilment transactions`);
    }
    assert.equal(attempts.size, REQUESTS, "fulfilment transactions for requests nobody sent");
    // The relay crash really happened with work outstanding.
    assert.ok(pendingAtRelayCrash > 0, "every request was already fulfilled when the relay was killed; the test did not exercise a relay crash");
  });
});
