import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { openRelayStore } from "../src/relay/relay-store.ts";
import type { ScannedRequest } from "../src/relay/relay-store.ts";

function scanned(n: number, block: number): ScannedRequest {
  return {
    request: {
      specId: `0x${"01".repeat(32)}`,
      requester: `0x${"02".repeat(20)}`,
      requestId: `0x${n.toString(16).padStart(64, "0").toUpperCase()}`,
      payment: 10n ** 17n,
      callbackAddr: `0x${"03".repeat(20)}`,
      callbackFunctionId: "0x12345678",
      cancelExpiration: 1_700_000_000n + BigInt(n),
      dataVersion: 2n,
      data: "0x6161",
      blockNumber: block,
      transactionHash: `0x${"04".repeat(32)}`,
    },
    blockHash: `0x${block.toString(16).padStart(64, "0")}`,
    logIndex: n,
  };
}

describe("relay store (SQLite)", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "scmpc-relay-store-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("keeps the last processed block, the chain identity and every request row across a reopen", () => {
    const file = path.join(dir, "reopen", "relay.sqlite");
    const store = openRelayStore(file);
    assert.equal(store.cursor(), undefined);
    store.setChainIdentity({ chainId: "31337", operator: `0x${"AB".repeat(20)}`, anchorBlock: 5, anchorHash: `0x${"05".repeat(32)}` });
    assert.deepEqual(store.recordScan([scanned(1, 7), scanned(2, 9)], 10, `0x${"0a".repeat(32)}`), [scanned(1, 7).request.requestId.toLowerCase(), scanned(2, 9).request.requestId.toLowerCase()]);
    store.markAnswered(scanned(1, 7).request.requestId, "0xbeef", null);
    store.markSent(scanned(1, 7).request.requestId, { hash: `0x${"0b".repeat(32)}`, raw: "0x02f8", nonce: 4 });
    store.close();

    const again = openRelayStore(file);
    assert.deepEqual(again.cursor(), { block: 10, hash: `0x${"0a".repeat(32)}` });
    assert.deepEqual(again.chainIdentity(), { chainId: "31337", operator: `0x${"ab".repeat(20)}`, anchorBlock: 5, anchorHash: `0x${"05".repeat(32)}` });
    const row = again.get(scanned(1, 7).request.requestId.toLowerCase())!;
    assert.equal(row.state, "sent");
    assert.equal(row.payload, "0xbeef");
    assert.deepEqual([row.fulfilTxHash, row.fulfilTxRaw, row.fulfilTxNonce, row.sendAttempts], [`0x${"0b".repeat(32)}`, "0x02f8", 4, 1]);
    assert.deepEqual(row.request, { ...scanned(1, 7).request, requestId: scanned(1, 7).request.requestId.toLowerCase() });
    // Sent rows come first: their nonces must be settled before new ones are used.
    assert.deepEqual(again.unfinished().map((r) => r.state), ["sent", "seen"]);
    assert.deepEqual(again.counts(), { seen: 1, answered: 0, sent: 1, fulfilled: 0, failed: 0 });
    again.close();
  });

  it("records a request once: a replayed scan neither duplicates nor resets it", () => {
    const store = openRelayStore(path.join(dir, "idempotent.sqlite"));
    const req = scanned(3, 20);
    assert.equal(store.recordScan([req], 20, "0xaa").length, 1);
    store.markAnswered(req.request.requestId, "0x", "HostRefusedError: policy");
    assert.deepEqual(store.recordScan([req, req], 25, "0xbb"), []);
    const row = store.get(req.request.requestId)!;
    assert.equal(row.state, "answered");
    assert.equal(row.bridgeError, "HostRefusedError: policy");
    assert.deepEqual(store.cursor(), { block: 25, hash: "0xbb" });
    assert.deepEqual(store.counts(), { seen: 0, answered: 1, sent: 0, fulfilled: 0, failed: 0 });
    store.close();
  });

  it("refuses transitions that skip or reverse a state", () => {
    const store = openRelayStore(":memory:");
    const req = scanned(4, 30);
    store.recordScan([req], 30, "0xcc");
    const id = req.request.requestId;
    assert.throws(() => store.markSent(id, { hash: "0x01", raw: "0x02", nonce: 0 }), /cannot become sent from state seen/);
    store.markAnswered(id, "0x", null);
    assert.throws(() => store.markAnswered(id, "0x1234", null), /cannot become answered from state answered/);
    store.markFulfilled(id, "error-result", "0x03");
    assert.throws(() => store.markFailed(id, "late"), /cannot become failed from state fulfilled/);
    assert.equal(store.get(id)!.outcome, "error-result");
    assert.deepEqual(store.unfinished(), []);
    store.close();
  });

  it("counts bridge attempts and keeps the first attempt's time", () => {
    const store = openRelayStore(":memory:");
    const req = scanned(5, 40);
    store.recordScan([req], 40, "0xdd");
    store.noteBridgeAttempt(req.request.requestId, 1000);
    const row = store.noteBridgeAttempt(req.request.requestId, 5000);
    assert.equal(row.bridgeAttempts, 2);
    assert.equal(row.firstBridgeAttemptAt, 1000);
    store.close();
  });
});
