import assert from "node:assert/strict";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, describe, it } from "node:test";
import { Contract, JsonRpcProvider, NonceManager } from "ethers";
import { algorithmId, DEFAULT_PRIVACY_BUDGET, loadArtifact, MARKET_ALGORITHMS } from "@scmpc/contracts";
import { schemaText } from "@scmpc/mpc-engine";
import { resolveSigner } from "../../client/src/accounts.ts";
import { buyComputation } from "../../client/src/buyer.ts";
import { DEFAULT_MIN_ROWS, uploadDataset, type UploadedDataset } from "../../client/src/seller.ts";
import { startLocalStack, type LocalStack } from "../../client/src/stack.ts";
import { SAMPLE } from "./support.ts";

// A chain reset that kept the hosts' disks: the new chain deploys the market at
// the same addresses, so the first purchase gets the same request id as on the
// old chain. The hosts must treat it as the new job it is (its buyer key and
// job identity differ) and never serve the old job's answer or keys for it.
describe("adversarial: a request id that repeats on a reset chain", { timeout: 600_000 }, () => {
  const dirs: string[] = [];
  let stack: LocalStack | undefined;
  after(async () => {
    await stack?.stop();
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  const buySum = async (s: LocalStack, datasetId: string, provider: JsonRpcProvider) =>
    buyComputation({
      state: s.state,
      buyer: new NonceManager(resolveSigner({ defaultRole: "buyer" }, provider)),
      algorithm: "sum@1",
      datasetIds: [datasetId],
      params: JSON.stringify({ column: "salary" }),
      keyDir: path.join(s.dir, "buyer-keys"),
      exact: true,
    });

  it("computes the new request afresh under a new job id, and the buyer reads its own result", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "scmpc-reset-"));
    dirs.push(dir);

    // The old chain: a sale and a purchase, in exact mode (the seller allows exact sums) so both answers are checked.
    stack = await startLocalStack({ dir });
    let provider = new JsonRpcProvider(stack.state.rpcUrl, stack.state.chainId, { staticNetwork: true });
    const seller = new NonceManager(resolveSigner({ defaultRole: "seller" }, provider));
    const dataset: UploadedDataset = await uploadDataset({ state: stack.state, seller, file: SAMPLE, name: "salaries", columns: ["salary"], price: "2", exact: ["sum@1"] });
    const first = await buySum(stack, dataset.datasetId, provider);
    assert.equal(first.result, dataset.plaintextSums.salary);
    provider.destroy();
    await stack.stop();

    // The chain starts empty again; the hosts keep their shares and finished jobs.
    stack = await startLocalStack({ dir, keepHostData: true });
    provider = new JsonRpcProvider(stack.state.rpcUrl, stack.state.chainId, { staticNetwork: true });
    // The seller lists the same shares again (the hosts hold them): same id, same commitments.
    const owner = new NonceManager(resolveSigner({ defaultRole: "seller" }, provider));
    const registry = new Contract(stack.state.contracts.registry, loadArtifact("DatasetRegistry").abi, owner);
    const token = new Contract(stack.state.contracts.paymentToken, loadArtifact("DevPaymentToken").abi, owner);
    const stake: bigint = await registry.minStake();
    await (await token.approve(stack.state.contracts.registry, stake)).wait();
    const policy = {
      allowedAlgorithms: MARKET_ALGORITHMS.map(algorithmId),
      minRows: DEFAULT_MIN_ROWS,
      budget: DEFAULT_PRIVACY_BUDGET,
      exactAlgorithms: [algorithmId("sum@1")],
    };
    await (await registry.registerDataset("salaries", schemaText(dataset.columns), dataset.rowCount, 2n * 10n ** 18n, dataset.commitments, policy, stake)).wait();

    const second = await buySum(stack, dataset.datasetId, provider);
    provider.destroy();
    assert.equal(second.requestId, first.requestId, "the reset chain repeats the request id");
    assert.equal(second.result, dataset.plaintextSums.salary);
    assert.deepEqual(second.keysReleasedBy, [0, 1, 2]);
    // Each host holds two finished jobs for the one request id: the old job's answer was not reused.
    for (const host of [0, 1, 2]) {
      const jobs = (await readdir(path.join(dir, "hosts", String(host), "results"))).filter((f) => f.endsWith(".json"));
      assert.equal(jobs.length, 2, `host ${host} ran the job of each chain: ${jobs.join(", ")}`);
    }
  });
});
