import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { AbiCoder, Contract, Interface, keccak256, toQuantity, Wallet, zeroPadValue } from "ethers";
import { loadArtifact } from "@scmpc/contracts";
import { decryptOutputShare, isMpcError, unpackResult } from "@scmpc/mpc-engine";
import { devPrivateKey, DEV_ROLES } from "../../client/src/accounts.ts";
import { sendFulfilment } from "../../client/src/fulfilments.ts";
import { askForKeys, askForKeysOverWeb, logOf, relayCounts, request, sellSalaries, startMarket, STATUS, stopService, waitFor, type Market, type Purchase } from "./support.ts";

// Fair exchange: no buyer reads a result unless the chain shows the sellers
// paid for it. The fulfilment's envelopes are public calldata whatever
// happens to the request; what must hold is that they stay unreadable, and
// the hosts' release keys stay refused, for a request that ends refunded,
// failed or late.
const OPERATOR = new Interface(loadArtifact("Operator").abi);
const PARAMS = JSON.stringify({ column: "salary" });
// Differentially private mode: each purchase spends ε 1 of the dataset's budget, which a refund or failure must give back.
const EPSILON_MILLI = 1000;

describe("adversarial: a result is readable only once the sellers are paid", { timeout: 900_000 }, () => {
  let market: Market;
  let datasetId: string;
  let timeout: bigint;

  before(async () => {
    market = await startMarket();
    datasetId = (await sellSalaries(market, "salaries")).datasetId;
    timeout = await market.computation("sum@1").requestTimeout();
  });
  after(async () => {
    await market?.rpc("evm_setAutomine", [true]).catch(() => undefined);
    await market?.close();
  });

  const statusOf = async (p: Purchase) => (await market.computation("sum@1").getRequest(p.requestId)).status as bigint;
  const withdrawable = (who: string) => market.computation("sum@1").withdrawable(who) as Promise<bigint>;
  /** The dataset's privacy budget left, milli-ε. */
  const budgetLeft = async (): Promise<bigint> => {
    const registry = new Contract(market.stack.state.contracts.registry, loadArtifact("DatasetRegistry").abi, market.provider);
    return (await registry.budgetOf(datasetId)).remaining as bigint;
  };

  /**
   * Every host refuses its key, naming the request's state, through the Host API and through the
   * web API a browser calls; the buyer's own key opens none of the wrapped envelopes.
   */
  async function unreadable(p: Purchase, result: string, state: RegExp): Promise<void> {
    const answers = [...(await askForKeys(market, p.requestId, p.consumer)), ...(await askForKeysOverWeb(market, p.requestId, p.consumer))];
    assert.equal(answers.length, 6);
    answers.forEach((answer, k) => {
      assert.ok("refused" in answer, `host ${k % 3} released its key (${k < 3 ? "gRPC" : "web"})`);
      assert.match(answer.refused, /KEY_NOT_RELEASED/);
      assert.match(answer.refused, state);
    });
    const { envelopes } = unpackResult(result);
    envelopes.forEach((wrapped, hostIndex) =>
      assert.throws(() => decryptOutputShare({ requestId: p.requestId, hostIndex, buyerPrivateKey: p.keys.privateKey, envelope: wrapped }), (err: unknown) =>
        isMpcError(err),
      ),
    );
  }

  /** The signed payload the bridge answers for a request (what the relay would send), asked of the bridge directly. */
  async function bridgeAnswer(p: Purchase): Promise<string> {
    const data = { requestId: p.requestId, algorithm: "sum@1", datasetIds: datasetId, params: PARAMS, buyerKey: `0x${p.keys.publicKey.toString("hex")}`, consumer: p.consumer };
    const res = await fetch(market.stack.state.bridgeUrl, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${market.stack.bridgeAccessKey}` },
      body: JSON.stringify({ id: "test", data }),
    });
    const body = (await res.json()) as { result?: string; error?: unknown };
    assert.equal(res.status, 200, JSON.stringify(body));
    return body.result!;
  }

  /** Sends the Operator's fulfilment of `p` with `payload`, from the relay's account (an authorized sender). */
  const fulfil = (p: Purchase, payload: string): Promise<string> =>
    sendFulfilment({
      operatorAddress: market.stack.state.contracts.operator,
      sender: new Wallet(devPrivateKey(DEV_ROLES.relay), market.provider),
      requestReceipt: p.receipt,
      requestId: p.requestId,
      payload,
    });

  /** The result bytes a fulfilment transaction carried in its calldata. */
  async function resultInCalldata(txHash: string): Promise<string> {
    const tx = (await market.provider.getTransaction(txHash))!;
    const args = OPERATOR.decodeFunctionData("fulfillOracleRequest2", tx.data);
    const [, payload] = AbiCoder.defaultAbiCoder().decode(["bytes32", "bytes"], args[5]);
    const [result] = AbiCoder.defaultAbiCoder().decode(["bytes", "bytes[3]"], payload);
    return result as string;
  }

  it("a refund raced against a pending fulfilment (both in one block): refunded, and the result in the calldata stays unreadable", async () => {
    const relayAddress = new Wallet(devPrivateKey(DEV_ROLES.relay)).address;
    const budgetBefore = await budgetLeft();
    await market.rpc("evm_setAutomine", [false]);
    let purchase: Purchase;
    try {
      purchase = await request(market, "sum@1", [datasetId], PARAMS, { mine: true, epsilonMilli: EPSILON_MILLI });
      // The relay answers: its fulfilment waits in the mempool.
      await waitFor("the relay's fulfilment in the mempool", async () =>
        (await market.provider.getTransactionCount(relayAddress, "pending")) > (await market.provider.getTransactionCount(relayAddress, "latest")),
      );
      // The deadline passes before the fulfilment is mined; the buyer's refund outbids it into the same block.
      await market.rpc("evm_increaseTime", [Number(timeout) + 1]);
      const refund = await market.computation("sum@1").refund(purchase.requestId, { maxPriorityFeePerGas: 10n ** 11n, maxFeePerGas: 10n ** 12n, gasLimit: 200_000n });
      await market.rpc("evm_mine");
      await refund.wait();
    } finally {
      await market.rpc("evm_setAutomine", [true]);
    }
    assert.equal(await statusOf(purchase), STATUS.Refunded);
    assert.equal(await withdrawable(await market.buyer.getAddress()), purchase.price + purchase.fee);
    assert.equal(await budgetLeft(), budgetBefore, "the refund gave the ε back");
    const block = await market.provider.getBlock(purchase.receipt.blockNumber + 1, true);
    const fulfilment = block!.prefetchedTransactions.find((t) => t.from === relayAddress && t.to?.toLowerCase() === market.stack.state.contracts.operator.toLowerCase());
    assert.ok(fulfilment, "the relay's fulfilment was mined with the refund");
    await unreadable(purchase, await resultInCalldata(fulfilment.hash), /is Refunded on-chain/);
    // The relay does not count it fulfilled: the consumer emitted nothing for it (it was refunded first).
    const counts = await waitFor("the relay to settle the request", async () => {
      const c = await relayCounts(market);
      return (c.late ?? 0) + (c["callback-failed"] ?? 0) >= 1 ? c : undefined;
    }, 60_000);
    assert.equal(counts.fulfilled, 0);
    assert.match(await logOf(market, "relay"), /mined after the buyer's refund/);
  });

  it("a fulfilment landing after the deadline fails (reason 6) or, after a refund, changes nothing: unreadable either way", async () => {
    await stopService(market, "relay");
    const budgetBefore = await budgetLeft();
    try {
      const late = await request(market, "sum@1", [datasetId], PARAMS, { epsilonMilli: EPSILON_MILLI });
      const refunded = await request(market, "sum@1", [datasetId], PARAMS, { epsilonMilli: EPSILON_MILLI });
      // The hosts computed and signed in time (the bridge answers now), but the fulfilments are held back.
      const [latePayload, refundedPayload] = [await bridgeAnswer(late), await bridgeAnswer(refunded)];
      assert.equal(await budgetLeft(), budgetBefore - 2n * BigInt(EPSILON_MILLI), "each pending request holds its ε");
      await market.rpc("evm_increaseTime", [Number(timeout) + 1]);
      await market.rpc("evm_mine");
      await (await market.computation("sum@1").refund(refunded.requestId)).wait();
      const buyerBefore = await withdrawable(await market.buyer.getAddress());

      const lateTx = await fulfil(late, latePayload);
      assert.equal(await statusOf(late), STATUS.Failed);
      const [failed] = await market.computation("sum@1").queryFilter(market.computation("sum@1").filters.ComputationFailed(late.requestId));
      assert.equal((failed as unknown as { args: { reason: bigint } }).args.reason, 6n);
      const afterTx = await fulfil(refunded, refundedPayload);
      assert.equal(await statusOf(refunded), STATUS.Refunded);
      // The late one is refunded by the failure; the refunded one is not paid twice.
      assert.equal(await withdrawable(await market.buyer.getAddress()), buyerBefore + late.price + late.fee);

      // Failed and refunded alike gave their ε back, once (the refunded one's fulfilment changed nothing).
      assert.equal(await budgetLeft(), budgetBefore);
      await unreadable(late, await resultInCalldata(lateTx), /is Failed on-chain/);
      await unreadable(refunded, await resultInCalldata(afterTx), /is Refunded on-chain/);
    } finally {
      await market.stack.restart("relay");
    }
  });

  it("a consumer callback that fails: the relay does not call it fulfilled, the buyer takes a refund, the result stays unreadable", async () => {
    await stopService(market, "relay");
    let purchase: Purchase;
    try {
      purchase = await request(market, "sum@1", [datasetId], PARAMS, { epsilonMilli: EPSILON_MILLI });
      // Make the consumer's callback revert for this request, as a broken consumer would: its
      // ChainlinkClient forgets the request (the record of which Operator may answer it).
      const consumer = purchase.consumer;
      const operatorWord = zeroPadValue(market.stack.state.contracts.operator, 32).toLowerCase();
      let cleared = false;
      for (let slot = 0; slot < 64 && !cleared; slot++) {
        const key = keccak256(AbiCoder.defaultAbiCoder().encode(["bytes32", "uint256"], [purchase.requestId, slot]));
        if ((await market.provider.getStorage(consumer, key)).toLowerCase() !== operatorWord) continue;
        await market.rpc("hardhat_setStorageAt", [consumer, toQuantity(key), zeroPadValue("0x", 32)]);
        cleared = true;
      }
      assert.ok(cleared, "found the consumer's pending-request record");
    } finally {
      await market.stack.restart("relay");
    }
    const before = (await relayCounts(market))["callback-failed"] ?? 0;
    await waitFor("the relay to settle the request", async () => ((await relayCounts(market))["callback-failed"] ?? 0) > before, 120_000);
    assert.equal(await statusOf(purchase), STATUS.Pending, "the consumer never took the answer");
    assert.match(await logOf(market, "relay"), /callback failed/);
    const [tx] = (await market.provider.getLogs({ address: market.stack.state.contracts.operator, topics: [OPERATOR.getEvent("OracleResponse")!.topicHash, purchase.requestId], fromBlock: purchase.receipt.blockNumber })).map((l) => l.transactionHash);
    assert.ok(tx, "the Operator closed the request");
    // The buyer waits for the deadline and takes its refund; the keys stay refused.
    await market.rpc("evm_increaseTime", [Number(timeout) + 1]);
    await market.rpc("evm_mine");
    await (await market.computation("sum@1").refund(purchase.requestId)).wait();
    assert.equal(await statusOf(purchase), STATUS.Refunded);
    await unreadable(purchase, await resultInCalldata(tx), /is Refunded on-chain/);
  });

  it("a paid request's keys come out of both routes alike (the control: the refusals above are not a broken route)", async () => {
    const purchase = await request(market, "sum@1", [datasetId], PARAMS, { epsilonMilli: EPSILON_MILLI });
    await waitFor("the relay's fulfilment", async () => (await statusOf(purchase)) === STATUS.Fulfilled, 120_000);
    const overGrpc = await askForKeys(market, purchase.requestId, purchase.consumer);
    const overWeb = await askForKeysOverWeb(market, purchase.requestId, purchase.consumer);
    overWeb.forEach((answer, host) => {
      assert.ok("key" in answer, `host ${host} refused its key over the web: ${"refused" in answer ? answer.refused : ""}`);
      const grpcAnswer = overGrpc[host];
      assert.ok("key" in grpcAnswer);
      assert.ok(answer.key.equals(grpcAnswer.key), `host ${host} released one key`);
    });
  });
});
