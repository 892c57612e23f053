import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { Contract, hexlify, Interface, keccak256, toUtf8Bytes, Wallet } from "ethers";
import { loadArtifact } from "@scmpc/contracts";
import { generateBuyerKeyPair } from "@scmpc/mpc-engine";
import { loadMpcV1 } from "@scmpc/protos";
import { mpcErrorCodeOf, signBridgeCall } from "@scmpc/mpc-engine/host";
import { hostApiChannelOptions, hostApiCredentials } from "@scmpc/mpc-engine/tls";
import { buyComputation } from "../../client/src/buyer.ts";
import { devPrivateKey, DEV_ROLES } from "../../client/src/accounts.ts";
import { fulfilmentAttempts } from "../../client/src/fulfilments.ts";
import { logOf, relayCounts, sellSalaries, startMarket, waitFor, type Market } from "./support.ts";

// Strangers on the public ports: the Host API (a stranger who watches the
// chain and calls Compute for a pending purchase with one field changed) and
// the Chainlink Operator (a stranger's own OracleRequests for the relay to pay for).
describe("adversarial: strangers on the public ports", { timeout: 600_000 }, () => {
  let market: Market;
  let datasetId: string;
  let plaintextSum: string;

  before(async () => {
    market = await startMarket();
    // Exact mode (the seller allows exact sums): the purchase the stranger races must give the plaintext sum.
    const dataset = await sellSalaries(market, "salaries", { exact: ["sum@1"] });
    datasetId = dataset.datasetId;
    plaintextSum = dataset.plaintextSums.salary;
  });
  after(async () => {
    await market?.close();
  });

  it("a stranger's Compute on all three hosts, racing a purchase with a wrong buyer key, is refused and the purchase completes", async () => {
    const { Host } = loadMpcV1();
    const { hosts, hostTls } = market.stack.state;
    const clients = hosts.map((endpoint, i) => new Host(endpoint, hostApiCredentials(hostTls, i), hostApiChannelOptions(hostTls, i)));
    const sum = new Contract(market.stack.state.contracts.algorithms["sum@1"], loadArtifact("AlgorithmComputation").abi, market.provider);
    const stranger = new Wallet(Wallet.createRandom().privateKey);
    const attackerKey = hexlify(generateBuyerKeyPair().publicKey);
    const outcomes: grpc.ServiceError[] = [];
    const attacked = new Set<string>();
    const from = await market.provider.getBlockNumber();
    let buying = true;

    // The stranger watches the chain and fires the moment a request appears: unsigned, and signed by its own key.
    const attack = (async () => {
      while (buying) {
        const events = await sum.queryFilter(sum.filters.ComputationRequested(), from + 1);
        for (const event of events) {
          const { requestId, datasetIds, params } = (event as unknown as { args: { requestId: string; datasetIds: string[]; params: string } }).args;
          if (attacked.has(requestId)) continue;
          attacked.add(requestId);
          const forged = { requestId, algorithm: "sum@1", datasetIds: [...datasetIds], params, buyerKey: attackerKey, consumer: await sum.getAddress() };
          const calls = clients.flatMap((client, i) => [
            new Promise<grpc.ServiceError>((resolve) => (client as unknown as Record<string, Function>).Compute(forged, { deadline: Date.now() + 10_000 }, (e: grpc.ServiceError) => resolve(e))),
            signBridgeCall(stranger, { method: "Compute", request: forged }, i).then((headers) => {
              const metadata = new grpc.Metadata();
              for (const [k, v] of Object.entries(headers)) metadata.set(k, v);
              return new Promise<grpc.ServiceError>((resolve) =>
                (client as unknown as Record<string, Function>).Compute(forged, metadata, { deadline: Date.now() + 10_000 }, (e: grpc.ServiceError) => resolve(e)),
              );
            }),
          ]);
          outcomes.push(...(await Promise.all(calls)));
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    try {
      const bought = await buyComputation({
        state: market.stack.state,
        buyer: market.buyer,
        algorithm: "sum@1",
        datasetIds: [datasetId],
        params: JSON.stringify({ column: "salary" }),
        keyDir: `${market.stack.dir}/buyer-keys`,
        exact: true,
      });
      assert.equal(bought.result, plaintextSum);
      assert.deepEqual(bought.keysReleasedBy, [0, 1, 2]);
      assert.ok(attacked.has(bought.requestId), "the stranger attacked this very purchase");
    } finally {
      buying = false;
      await attack;
      for (const c of clients) c.close();
    }
    assert.ok(outcomes.length >= 6);
    for (const err of outcomes) {
      assert.ok(err, "a stranger's Compute was answered");
      assert.equal(err.code, grpc.status.UNAUTHENTICATED, err.details);
      assert.equal(mpcErrorCodeOf(err), "BRIDGE_UNAUTHENTICATED");
    }
  });

  it("the relay serves none of a stranger's OracleRequests (0 LINK, a foreign job id): recorded as ignored, no transaction", async () => {
    const { operator, linkToken } = market.stack.state.contracts;
    const relay = new Wallet(devPrivateKey(DEV_ROLES.relay)).address;
    const nonceBefore = await market.provider.getTransactionCount(relay);
    const ignoredBefore = (await relayCounts(market)).ignored ?? 0;
    const from = await market.provider.getBlockNumber();
    // The stranger (development account 9, with ETH and LINK of its own) sends requests straight to the Operator.
    const stranger = new Wallet(devPrivateKey(9), market.provider);
    const minter = new Wallet(devPrivateKey(DEV_ROLES.deployer), market.provider);
    await (await (new Contract(linkToken, loadArtifact("LinkToken").abi, minter) as Contract).mint(stranger.address, 10n ** 18n)).wait();
    const link = new Contract(linkToken, loadArtifact("LinkToken").abi, stranger);
    const operatorAbi = new Interface(["function operatorRequest(address sender, uint256 payment, bytes32 specId, bytes4 callbackFunctionId, uint256 nonce, uint256 dataVersion, bytes data)"]);
    const fulfil = new Interface(["function fulfill(bytes32,bytes)"]).getFunction("fulfill")!.selector;
    const sumJob = await new Contract(market.stack.state.contracts.algorithms["sum@1"], loadArtifact("AlgorithmComputation").abi, market.provider).jobId();
    const requests = [
      { what: "0 LINK for the market's job", payment: 0n, specId: sumJob },
      { what: "a foreign job id", payment: 10n ** 17n, specId: keccak256(toUtf8Bytes("someone else's job")) },
    ];
    for (const [n, r] of requests.entries()) {
      const data = operatorAbi.encodeFunctionData("operatorRequest", [stranger.address, r.payment, r.specId, fulfil, 1000 + n, 2, "0x"]);
      await (await link.transferAndCall(operator, r.payment, data, { gasLimit: 500_000n })).wait();
    }
    // Two relay rounds later, both are recorded as ignored; the relay sent nothing.
    await waitFor("the relay to record the stranger's requests", async () => ((await relayCounts(market)).ignored ?? 0) >= ignoredBefore + requests.length, 30_000);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    assert.equal(await market.provider.getTransactionCount(relay), nonceBefore, "the relay spent no gas on them");
    const attempts = await fulfilmentAttempts(market.provider, operator, from + 1, await market.provider.getBlockNumber());
    assert.equal(attempts.size, 0, "no fulfilment was sent");
    const log = await logOf(market, "relay");
    assert.match(log, /ignored/);
  });

  it("the registry's owner cannot swap a host at once: the change waits for its delay, and a seller uploading meanwhile is warned", async () => {
    const owner = new Wallet(devPrivateKey(DEV_ROLES.deployer), market.provider);
    const registry = new Contract(market.stack.state.contracts.hostRegistry, loadArtifact("HostRegistry").abi, owner);
    const before = [...((await registry.signers()) as string[])];
    const intruder = Wallet.createRandom();
    const current = await registry.getHost(0);
    await (await registry.proposeHostChange(0, { operator: intruder.address, signer: intruder.address, endpoint: "intruder.example:50051", tlsFingerprint: current.tlsFingerprint })).wait();
    try {
      // Not applicable before its delay; the hosts whose keys sign results stay the same.
      await assert.rejects(registry.applyHostChange.staticCall(0), (err: unknown) => (err as { revert?: { name: string } }).revert?.name === "HostRegistry__ChangeNotDue");
      assert.deepEqual([...((await registry.signers()) as string[])], before);
      const dataset = await sellSalaries(market, "during-a-change");
      assert.equal(dataset.pendingHostChanges.length, 1);
      assert.match(dataset.pendingHostChanges[0], /^host 0 is to be replaced by intruder\.example:50051/);
    } finally {
      await (await registry.cancelHostChange(0)).wait();
    }
    const after = await sellSalaries(market, "after-the-change");
    assert.deepEqual(after.pendingHostChanges, []);
  });
});
