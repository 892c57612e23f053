import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { AbiCoder } from "ethers";
import { pino } from "pino";
import { loadRelayConfig } from "../src/relay/config.ts";
import { createRelay } from "../src/relay/relay.ts";
import type { Relay, RelayOptions } from "../src/relay/relay.ts";
import { openRelayStore } from "../src/relay/relay-store.ts";
import { relayEnv, startFakeBridge, startTestChain, STATUS } from "./relay-fixture.ts";
import type { FakeBridge, TestChain } from "./relay-fixture.ts";

// The relay against a real chain (a Hardhat node with the real Chainlink
// Operator) and a fake bridge. Each test drives the relay round by round with
// pollOnce, so nothing depends on timing; a "crash" is a relay instance
// stopped mid-request (an onStage hook throws) and a new instance opened over
// the same store file.
const ACCESS_KEY = "relay-test-access-key-0123456789";
const FAILED_BRIDGE_ERROR = 1n;

describe("relay: exactly-once fulfilment over a durable store", { timeout: 240_000 }, () => {
  let chain: TestChain;
  let bridge: FakeBridge;
  let dir: string;
  const relays: Relay[] = [];
  const logLines: Record<string, unknown>[] = [];
  let rawLog = "";

  before(async () => {
    chain = await startTestChain();
    bridge = await startFakeBridge(chain.hostSigners);
    dir = await mkdtemp(path.join(os.tmpdir(), "scmpc-relay-"));
  });

  after(async () => {
    for (const relay of relays) await relay.stop().catch(() => {});
    await bridge?.close();
    await chain?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** A relay over `store` (a file name in the test's directory), scanning from `fromBlock`. */
  function relayOver(store: string, fromBlock: number, env: Record<string, string> = {}, options: RelayOptions = {}): Relay {
    const config = loadRelayConfig(relayEnv(chain, bridge, { dir, store, fromBlock }, { SCMPC_BRIDGE_ACCESS_KEY: ACCESS_KEY, ...env }));
    const sink = new Writable({
      write(chunk, _encoding, done) {
        rawLog += chunk.toString();
        for (const line of chunk.toString().split("\n").filter(Boolean)) logLines.push(JSON.parse(line));
        done();
      },
    });
    const relay = createRelay(config, pino({ level: "debug" }, sink), options);
    relays.push(relay);
    return relay;
  }

  const nextBlock = async () => (await chain.provider.getBlockNumber()) + 1;
  const statusOf = async (requestId: string) => ((await chain.market.getRequest(requestId)).status as bigint);
  const callsFor = (requestId: string) => bridge.calls.filter((c) => c.body.data.requestId.toLowerCase() === requestId.toLowerCase());
  const rowOf = (store: string, requestId: string) => {
    const s = openRelayStore(path.join(dir, store));
    try {
      return s.get(requestId);
    } finally {
      s.close();
    }
  };

  it("fulfils a request once with the bridge's answer; a restarted relay over the same store sends nothing more", async () => {
    const from = await nextBlock();
    const { requestId } = await chain.request();
    const first = relayOver("once.sqlite", from);
    await first.pollOnce();
    assert.equal(await statusOf(requestId), STATUS.Fulfilled);
    assert.equal(callsFor(requestId).length, 1);
    assert.equal(callsFor(requestId)[0].authorization, `Bearer ${ACCESS_KEY}`);
    assert.deepEqual(Object.keys(callsFor(requestId)[0].body.data).sort(), ["algorithm", "buyerKey", "consumer", "datasetIds", "params", "requestId"]);
    assert.equal(callsFor(requestId)[0].body.data.consumer.toLowerCase(), chain.addresses.algorithms["sum@1"].toLowerCase());
    assert.deepEqual(first.counts(), { seen: 0, answered: 0, sent: 0, fulfilled: 1, "callback-failed": 0, late: 0, ignored: 0, failed: 0 });
    assert.equal(first.fulfilled, 1);
    const scannedTo = first.nextBlock;
    assert.ok(scannedTo > from);
    await first.stop();

    const second = relayOver("once.sqlite", from);
    assert.equal(second.nextBlock, scannedTo, "the restarted relay resumes from the stored block");
    await chain.mine(1);
    await second.pollOnce();
    await second.stop();
    const txs = await chain.fulfilmentTxs(from);
    assert.deepEqual(txs.get(requestId.toLowerCase())?.length, 1);
    assert.equal(callsFor(requestId).length, 1);
    const row = rowOf("once.sqlite", requestId)!;
    assert.equal(row.state, "fulfilled");
    assert.equal(row.outcome, "result");
    assert.equal(row.consumerEvent, "ComputationFulfilled", "judged by the consumer's own event");
    assert.equal(row.fulfilTxHash, txs.get(requestId.toLowerCase())![0]);

    // Every line the relay logged was about this request and names it (but the
    // one line saying which consumers it serves); the access key never appears.
    assert.ok(logLines.length > 0);
    for (const line of logLines.filter((l) => l.msg !== "market algorithm contracts read")) {
      assert.equal((line.requestId as string)?.toLowerCase(), requestId.toLowerCase(), JSON.stringify(line));
    }
    assert.ok(!rawLog.includes(ACCESS_KEY));
    assert.ok(!rawLog.includes(chain.relayKey.slice(2)));
  });

  it("skips a request another authorized sender already fulfilled: no bridge call, no transaction", async () => {
    const from = await nextBlock();
    const { requestId } = await chain.request();
    const req = await chain.oracleRequest(requestId);
    const data = AbiCoder.defaultAbiCoder().encode(["bytes32", "bytes"], [requestId, "0x"]);
    await (
      await (chain.operator.connect(chain.other) as typeof chain.operator).fulfillOracleRequest2(requestId, req.payment, req.callbackAddr, req.callbackFunctionId, req.cancelExpiration, data, { gasLimit: 1_000_000n })
    ).wait();

    const relay = relayOver("elsewhere.sqlite", from);
    await relay.pollOnce();
    await relay.stop();
    assert.equal(callsFor(requestId).length, 0);
    const txs = await chain.fulfilmentTxs(from);
    assert.equal(txs.get(requestId.toLowerCase())?.length, 1, "only the other sender's fulfilment");
    const row = rowOf("elsewhere.sqlite", requestId)!;
    assert.equal(row.state, "fulfilled");
    assert.equal(row.outcome, "fulfilled-elsewhere");
    assert.equal(row.fulfilTxHash, txs.get(requestId.toLowerCase())![0]);
  });

  it("turns a bridge 4xx error into an empty-result fulfilment: the request fails and the buyer is refunded", async () => {
    const from = await nextBlock();
    const { requestId } = await chain.request();
    const creditBefore = (await chain.market.withdrawable(chain.buyer.address)) as bigint;
    const saved = bridge.answer;
    bridge.answer = async (call) => ({
      status: 422,
      body: { jobRunID: call.body.id, status: "errored", statusCode: 422, error: { name: "HostRefusedError", message: "MPC host 0 refused the job: policy" } },
    });
    try {
      const relay = relayOver("refused.sqlite", from);
      await relay.pollOnce();
      await relay.stop();
    } finally {
      bridge.answer = saved;
    }
    assert.equal(callsFor(requestId).length, 1, "a definitive error is not retried");
    assert.equal(await statusOf(requestId), STATUS.Failed);
    const [failed] = await chain.market.queryFilter(chain.market.filters.ComputationFailed(requestId));
    assert.equal((failed as unknown as { args: { reason: bigint } }).args.reason, FAILED_BRIDGE_ERROR);
    assert.ok(((await chain.market.withdrawable(chain.buyer.address)) as bigint) > creditBefore, "the buyer is credited a refund");
    const row = rowOf("refused.sqlite", requestId)!;
    assert.equal(row.outcome, "error-result");
    assert.deepEqual([row.consumerEvent, row.consumerFailureReason], ["ComputationFailed", Number(FAILED_BRIDGE_ERROR)]);
    assert.match(row.bridgeError ?? "", /HostRefusedError/);
  });

  it("retries a bridge answering 5xx, then fulfils with its answer", async () => {
    const from = await nextBlock();
    const { requestId } = await chain.request();
    const saved = bridge.answer;
    let failures = 2;
    bridge.answer = async (call) =>
      failures-- > 0
        ? { status: 502, body: { jobRunID: call.body.id, status: "errored", statusCode: 502, error: { name: "HostUnavailableError", message: "MPC host 1 unavailable" } } }
        : saved(call);
    try {
      const relay = relayOver("retry.sqlite", from);
      await relay.pollOnce();
      await relay.stop();
    } finally {
      bridge.answer = saved;
    }
    assert.equal(callsFor(requestId).length, 3);
    assert.equal(await statusOf(requestId), STATUS.Fulfilled);
    assert.equal(rowOf("retry.sqlite", requestId)!.bridgeAttempts, 3);
  });

  it("waits for the configured confirmations before serving a request", async () => {
    const from = await nextBlock();
    const { requestId, blockNumber } = await chain.request();
    const relay = relayOver("confirmations.sqlite", from, { SCMPC_RELAY_CONFIRMATIONS: "2" });
    await relay.pollOnce();
    assert.equal(rowOf("confirmations.sqlite", requestId), undefined);
    assert.ok(relay.nextBlock <= blockNumber, "the request's block is not processed yet");
    await chain.mine(1);
    await relay.pollOnce();
    assert.equal(rowOf("confirmations.sqlite", requestId), undefined);
    assert.equal(callsFor(requestId).length, 0);
    await chain.mine(1);
    await relay.pollOnce();
    assert.equal(relay.nextBlock, blockNumber + 1);
    await relay.stop();
    assert.equal(await statusOf(requestId), STATUS.Fulfilled);
  });

  for (const crashAt of ["recorded", "answered", "signed", "broadcast"] as const) {
    it(`finishes a request after a crash at "${crashAt}", with one bridge answer and one fulfilment transaction`, async () => {
      const store = `crash-${crashAt}.sqlite`;
      const from = await nextBlock();
      const { requestId } = await chain.request();
      const crashing = relayOver(store, from, {}, {
        onStage: (stage) => {
          if (stage === crashAt) throw new Error(`crash at ${stage}`);
        },
      });
      await crashing.pollOnce().catch(() => {});
      await crashing.stop();
      const before = rowOf(store, requestId)!;
      assert.notEqual(before.state, "fulfilled");
      const sentBefore = (await chain.fulfilmentTxs(from)).get(requestId.toLowerCase()) ?? [];
      assert.equal(sentBefore.length, crashAt === "broadcast" ? 1 : 0);

      const restarted = relayOver(store, from);
      await restarted.pollOnce();
      await restarted.stop();
      assert.equal(await statusOf(requestId), STATUS.Fulfilled);
      const txs = (await chain.fulfilmentTxs(from)).get(requestId.toLowerCase()) ?? [];
      assert.equal(txs.length, 1, "exactly one fulfilment transaction");
      const after = rowOf(store, requestId)!;
      assert.equal(after.state, "fulfilled");
      assert.equal(after.outcome, "result");
      assert.equal(after.fulfilTxHash, txs[0]);
      // A signed transaction is the one that goes out after the restart.
      if (crashAt === "signed" || crashAt === "broadcast") assert.equal(txs[0], before.fulfilTxHash);
      // A stored answer is never asked for again; a crash before it asks once, after the restart.
      assert.equal(callsFor(requestId).length, 1);
    });
  }

  it("refuses a store made on another chain", async () => {
    const file = "other-chain.sqlite";
    const from = await nextBlock();
    await chain.mine(1);
    const s = openRelayStore(path.join(dir, file));
    s.setChainIdentity({ chainId: "31337", operator: chain.addresses.operator, anchorBlock: from, anchorHash: `0x${"ab".repeat(32)}` });
    s.close();
    const relay = relayOver(file, from);
    await assert.rejects(relay.pollOnce(), { name: "RelayStoreChainMismatchError" });
    await relay.stop();
  });
});
