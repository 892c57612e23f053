import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { DatabaseSync } from "../src/sqlite.ts";
import { openRelayStore, RELAY_STORE_VERSION } from "../src/relay/relay-store.ts";
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
    assert.deepEqual(again.counts(), { seen: 1, answered: 0, sent: 1, fulfilled: 0, "callback-failed": 0, late: 0, ignored: 0, failed: 0 });
    assert.deepEqual(again.transactions(scanned(1, 7).request.requestId).map((t) => [t.hash, t.raw, t.nonce, t.kind]), [[`0x${"0b".repeat(32)}`, "0x02f8", 4, "fulfil"]]);
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
    assert.deepEqual(store.counts(), { seen: 0, answered: 1, sent: 0, fulfilled: 0, "callback-failed": 0, late: 0, ignored: 0, failed: 0 });
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

  it("records a request that is not the market's as ignored, with its reason, and never hands it out", () => {
    const store = openRelayStore(":memory:");
    const foreign = { ...scanned(6, 50), ignored: "requester 0x0202… is not one of the market's algorithm contracts" };
    assert.deepEqual(store.recordScan([foreign, scanned(7, 50)], 50, "0xee").length, 2);
    const row = store.get(foreign.request.requestId)!;
    assert.deepEqual([row.state, row.outcome], ["ignored", foreign.ignored]);
    assert.deepEqual(store.unfinished().map((r) => r.request.requestId), [scanned(7, 50).request.requestId.toLowerCase()]);
    // A replayed scan leaves it ignored; an ignored request takes no other state.
    store.recordScan([{ ...foreign, ignored: undefined }], 51, "0xef");
    assert.equal(store.get(foreign.request.requestId)!.state, "ignored");
    assert.throws(() => store.markAnswered(foreign.request.requestId, "0x", null), /cannot become answered from state ignored/);
    // A request recorded before the relay filtered can be ignored later, from seen or answered only.
    store.markIgnored(scanned(7, 50).request.requestId, "pays 0 juels, below the minimum 1 (SCMPC_RELAY_MIN_PAYMENT)");
    assert.equal(store.counts().ignored, 2);
    store.close();
  });

  it("keeps every transaction sent for a request; a replacement must reuse the nonce", () => {
    const store = openRelayStore(":memory:");
    const req = scanned(8, 60);
    const id = req.request.requestId;
    store.recordScan([req], 60, "0xf0");
    store.markAnswered(id, "0xbeef", null);
    store.markSent(id, { hash: "0xa1", raw: "0xr1", nonce: 9 });
    assert.throws(() => store.markReplaced(id, { hash: "0xa2", raw: "0xr2", nonce: 10, kind: "fulfil" }), /cannot take a replacement with nonce 10/);
    store.markReplaced(id, { hash: "0xa2", raw: "0xr2", nonce: 9, kind: "fulfil" });
    store.markReplaced(id, { hash: "0xa3", raw: "0xr3", nonce: 9, kind: "cancel" });
    const row = store.get(id)!;
    assert.deepEqual([row.state, row.fulfilTxHash, row.fulfilTxRaw, row.fulfilTxNonce, row.sendAttempts], ["sent", "0xa3", "0xr3", 9, 1]);
    assert.deepEqual(store.transactions(id).map((t) => [t.hash, t.nonce, t.kind]), [["0xa1", 9, "fulfil"], ["0xa2", 9, "fulfil"], ["0xa3", 9, "cancel"]]);
    // The one that was mined is what the closed row names.
    store.markFulfilled(id, "result", "0xa1", { event: "ComputationFailed", reason: 6 });
    const closed = store.get(id)!;
    assert.deepEqual([closed.state, closed.fulfilTxHash, closed.consumerEvent, closed.consumerFailureReason], ["fulfilled", "0xa1", "ComputationFailed", 6]);
    assert.throws(() => store.markReplaced(id, { hash: "0xa4", raw: "0xr4", nonce: 9, kind: "fulfil" }), /state fulfilled/);
    store.close();
  });

  it("closes requests as late or callback-failed, which count apart from fulfilled", () => {
    const store = openRelayStore(":memory:");
    const [a, b] = [scanned(9, 70), scanned(10, 70)];
    store.recordScan([a, b], 70, "0xf1");
    store.markLate(a.request.requestId, "deadline within SCMPC_RELAY_DEADLINE_MARGIN_S=30");
    store.markAnswered(b.request.requestId, "0xbeef", null);
    store.markSent(b.request.requestId, { hash: "0xb1", raw: "0xs1", nonce: 1 });
    store.markCallbackFailed(b.request.requestId, "result", "0xb1");
    assert.deepEqual(store.get(a.request.requestId)!.outcome, "deadline within SCMPC_RELAY_DEADLINE_MARGIN_S=30");
    assert.deepEqual([store.get(b.request.requestId)!.state, store.get(b.request.requestId)!.consumerEvent], ["callback-failed", null]);
    const counts = store.counts();
    assert.deepEqual([counts.fulfilled, counts.late, counts["callback-failed"]], [0, 1, 1]);
    assert.deepEqual(store.unfinished(), []);
    store.close();
  });

  it("upgrades a store of the first layout in place: rows, cursor and the fulfilment in flight are kept", () => {
    const file = path.join(dir, "v0", "relay.sqlite");
    const store = openRelayStore(file);
    store.close();
    // Rewrite the file as the first relay left it: its requests table, no fulfil_txs, user_version 0.
    const db = new DatabaseSync(file);
    db.exec(`DROP TABLE fulfil_txs; DROP TABLE requests; PRAGMA user_version = 0;
      CREATE TABLE requests (
        request_id TEXT PRIMARY KEY, spec_id TEXT NOT NULL, requester TEXT NOT NULL, payment TEXT NOT NULL,
        callback_addr TEXT NOT NULL, callback_function_id TEXT NOT NULL, cancel_expiration TEXT NOT NULL,
        data_version TEXT NOT NULL, data TEXT NOT NULL, block_number INTEGER NOT NULL, block_hash TEXT NOT NULL,
        log_tx_hash TEXT NOT NULL, log_index INTEGER NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('seen', 'answered', 'sent', 'fulfilled', 'failed')),
        payload TEXT, bridge_error TEXT, bridge_attempts INTEGER NOT NULL DEFAULT 0, first_bridge_attempt_at INTEGER,
        fulfil_tx_hash TEXT, fulfil_tx_raw TEXT, fulfil_tx_nonce INTEGER, send_attempts INTEGER NOT NULL DEFAULT 0,
        outcome TEXT, created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL) STRICT;
      CREATE INDEX requests_unfinished ON requests (state, block_number, log_index) WHERE state IN ('seen', 'answered', 'sent');
      INSERT INTO relay_meta (key, value) VALUES ('last_block', '80'), ('last_block_hash', '0x50');
      INSERT INTO requests VALUES ('0x01', '0x11', '0x22', '100', '0x22', '0x4357855e', '1700000000', '2', '0x6161', 75, '0x4b', '0x33', 0,
        'sent', '0xbeef', NULL, 1, 1000, '0xh1', '0xraw1', 3, 1, NULL, 1000, 2000);
      INSERT INTO requests VALUES ('0x02', '0x11', '0x22', '100', '0x22', '0x4357855e', '1700000000', '2', '0x6161', 76, '0x4c', '0x34', 0,
        'fulfilled', '0xbeef', NULL, 1, 1000, '0xh2', '0xraw2', 2, 1, 'result', 1000, 2000);`);
    db.close();

    const upgraded = openRelayStore(file);
    assert.deepEqual(upgraded.cursor(), { block: 80, hash: "0x50" });
    const inFlight = upgraded.get("0x01")!;
    assert.deepEqual([inFlight.state, inFlight.fulfilTxHash, inFlight.fulfilTxNonce, inFlight.lastSentAt], ["sent", "0xh1", 3, 2000]);
    assert.deepEqual(upgraded.transactions("0x01").map((t) => [t.hash, t.raw, t.nonce, t.kind]), [["0xh1", "0xraw1", 3, "fulfil"]]);
    assert.deepEqual([upgraded.get("0x02")!.state, upgraded.get("0x02")!.outcome, upgraded.get("0x02")!.consumerEvent], ["fulfilled", "result", null]);
    // The new states are accepted.
    upgraded.markLate("0x01", "deadline passed");
    assert.equal(upgraded.counts().late, 1);
    upgraded.close();
    const check = new DatabaseSync(file);
    assert.equal((check.prepare("PRAGMA user_version").get() as { user_version: number }).user_version, RELAY_STORE_VERSION);
    check.close();
  });

  it("refuses a store written by a newer relay, naming the file and what to do, and leaves it untouched", () => {
    const file = path.join(dir, "newer.sqlite");
    openRelayStore(file).close();
    const db = new DatabaseSync(file);
    db.exec(`PRAGMA user_version = ${RELAY_STORE_VERSION + 1}`);
    db.close();
    assert.throws(() => openRelayStore(file), (err: Error & { code?: string }) => err.code === "RELAY_STORE_VERSION" && err.message.includes(file) && /newer relay/.test(err.message));
    const check = new DatabaseSync(file);
    assert.equal((check.prepare("PRAGMA user_version").get() as { user_version: number }).user_version, RELAY_STORE_VERSION + 1);
    check.close();
  });
});
