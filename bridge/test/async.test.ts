import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { AbiCoder, hexlify, Wallet } from "ethers";
import { generateBuyerKeyPair, ringSum, unpackResult } from "@scmpc/mpc-engine";
import type { UploadSharesResponse } from "@scmpc/protos";
import { buildUploads, callUnary, CONSUMER, schemaHashOf, settleAndOpen, startCluster } from "../../mpc-engine/test/support/cluster.ts";
import type { Cluster } from "../../mpc-engine/test/support/cluster.ts";
import { HostRefusedError } from "../src/errors.ts";
import { createGrpcHostsClient } from "../src/hosts-client.ts";
import { AUTH, data, envelopes, fixtures, gate, payload, recordingHosts, startCallbackServer } from "./bridge-fixture.ts";

// The asynchronous External Adapter path end to end: a local HTTP server plays
// the Chainlink node's responseURL and receives the PATCH. Then what a
// restarted bridge does with the jobs and callbacks a killed one left in its
// store, first with host doubles, then with three real MPC hosts.
const fx = fixtures();
after(() => fx.cleanup());

describe("bridge: asynchronous jobs (responseURL)", () => {
  it("answers { pending: true } once the job is durable, then PATCHes the result to responseURL", async () => {
    const node = await startCallbackServer();
    fx.onCleanup(node.close);
    const g = gate();
    const { hosts, calls } = recordingHosts(async () => {
      await g.wait;
      return envelopes;
    });
    const { app, store } = await fx.app({ hosts });
    const res = await app.inject({ method: "POST", url: "/", headers: AUTH, payload: { id: "run-a", data, responseURL: node.url("task-a") } });
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(res.json(), { jobRunID: "run-a", pending: true });
    assert.equal(res.headers["x-chainlink-pending"], "true");
    // Acknowledged: the job and its callback are in the store before the hosts answer.
    assert.equal(store.get(data.requestId)?.state, "running");
    assert.equal(store.callbacksOf(data.requestId)[0].state, "waiting");

    // A node's retry of the same request (a new task run, a new responseURL) joins the job.
    const retry = await app.inject({ method: "POST", url: "/", headers: AUTH, payload: { id: "run-b", data, responseURL: node.url("task-b") } });
    assert.deepEqual(retry.json(), { jobRunID: "run-b", pending: true });

    g.open();
    const patches = [await node.next(), await node.next()].sort((a, b) => a.path.localeCompare(b.path));
    assert.equal(calls.length, 1, "one MPC run for both calls");
    assert.deepEqual(patches.map((p) => [p.method, p.path]), [["PATCH", "/v2/resume/task-a"], ["PATCH", "/v2/resume/task-b"]]);
    const answer = { jobRunID: "run-a", statusCode: 200, data: { result: payload }, result: payload };
    // `value` is what a Chainlink node's resume endpoint reads; data.result is the EA shape.
    assert.deepEqual(patches[0].body, { ...answer, value: answer });
    assert.equal(patches[1].body.jobRunID, "run-b");
    assert.equal("error" in patches[0].body, false);

    // Delivered is recorded after the node answered; wait for the store to say so.
    while (store.callbacksOf(data.requestId).some((c) => c.state !== "delivered")) await new Promise((r) => setImmediate(r));
    const status = await app.inject({ method: "GET", url: `/jobs/${data.requestId}`, headers: AUTH });
    assert.equal(status.json().state, "completed");
    assert.deepEqual(
      status.json().callbacks.map((c: { origin: string; state: string; attempts: number }) => [c.origin, c.state, c.attempts]),
      [[node.origin, "delivered", 1], [node.origin, "delivered", 1]],
    );

    // A call after the job finished is answered at once, with no callback.
    const late = await app.inject({ method: "POST", url: "/", headers: AUTH, payload: { id: "run-c", data, responseURL: node.url("task-c") } });
    assert.equal(late.json().result, payload);
    assert.equal(store.callbacksOf(data.requestId).length, 2);
  });

  it("PATCHes { error: '<name>: <message>' } when the job fails", async () => {
    const node = await startCallbackServer();
    fx.onCleanup(node.close);
    const { hosts } = recordingHosts(async () => {
      throw new HostRefusedError(2, "POLICY_REFUSED: the seller requires at least 100 rows");
    });
    const { app } = await fx.app({ hosts });
    const res = await app.inject({ method: "POST", url: "/", headers: AUTH, payload: { id: "e", data, responseURL: node.url("err") } });
    assert.deepEqual(res.json(), { jobRunID: "e", pending: true });
    const patch = await node.next();
    assert.deepEqual(patch.body, {
      jobRunID: "e",
      status: "errored",
      statusCode: 422,
      error: "HostRefusedError: MPC host 2 refused the job: POLICY_REFUSED: the seller requires at least 100 rows",
    });
    assert.equal("value" in patch.body, false, "a Chainlink node accepts exactly one of value and error");
  });

  it("retries a PATCH the node did not accept, with backoff, and records the outcome", async () => {
    const node = await startCallbackServer((n) => (n === 1 ? 503 : 200));
    fx.onCleanup(node.close);
    const { app, store } = await fx.app({ hosts: recordingHosts().hosts, callbacks: { baseDelayMs: 5 } });
    await app.inject({ method: "POST", url: "/", headers: AUTH, payload: { id: "r", data, responseURL: node.url("retry") } });
    const first = await node.next();
    const second = await node.next();
    assert.deepEqual(second.body, first.body);
    while (store.callbacksOf(data.requestId)[0].state !== "delivered") await new Promise((r) => setImmediate(r));
    const [callback] = store.callbacksOf(data.requestId);
    assert.equal(callback.attempts, 2);
    assert.equal(callback.lastError, null);
  });

  it("gives a callback up after its last attempt, keeping the error for GET /jobs", async () => {
    const node = await startCallbackServer(() => 500);
    fx.onCleanup(node.close);
    const { app, store } = await fx.app({ hosts: recordingHosts().hosts, callbacks: { baseDelayMs: 1, maxAttempts: 3, token: "node-incoming-token-123" } });
    await app.inject({ method: "POST", url: "/", headers: AUTH, payload: { id: "g", data, responseURL: node.url("gone") } });
    for (let i = 0; i < 3; i++) assert.equal((await node.next()).headers.authorization, "Bearer node-incoming-token-123");
    while (store.callbacksOf(data.requestId)[0].state === "waiting") await new Promise((r) => setImmediate(r));
    const status = await app.inject({ method: "GET", url: `/jobs/${data.requestId}`, headers: AUTH });
    assert.deepEqual(status.json().callbacks[0], { origin: node.origin, jobRunID: "g", state: "failed", attempts: 3, lastError: "responseURL answered HTTP 500" });
  });

  it("refuses a responseURL outside the allowed origins, before anything runs", async () => {
    const { hosts, calls } = recordingHosts();
    const { app } = await fx.app({ hosts, callbacks: { allowedOrigins: ["http://127.0.0.1:6688"] } });
    const res = await app.inject({ method: "POST", url: "/", headers: AUTH, payload: { id: "o", data, responseURL: "http://169.254.169.254/latest" } });
    assert.equal(res.statusCode, 400);
    assert.match(res.json().error.message, /origin http:\/\/169\.254\.169\.254 is not one the bridge calls back/);
    const scheme = await app.inject({ method: "POST", url: "/", headers: AUTH, payload: { id: "o", data, responseURL: "file:///etc/passwd" } });
    assert.equal(scheme.statusCode, 400);
    assert.match(scheme.json().error.message, /responseURL/);
    assert.equal(calls.length, 0);
  });
});

describe("bridge: a restarted bridge finishes what a killed one acknowledged", () => {
  it("resumes a job left running and delivers its callback, without a second on-chain check", async () => {
    const file = await fx.storeFile();
    // What a bridge killed mid-job leaves: an acknowledged job and its callback, both waiting.
    const node = await startCallbackServer();
    fx.onCleanup(node.close);
    const crashed = fx.openStore(file);
    crashed.insert(data, Date.now(), { url: node.url("after-crash"), jobRunID: "before-crash" });
    crashed.close();
    const reopened = fx.openStore(file);

    const { hosts, calls } = recordingHosts();
    let checks = 0;
    const { app } = await fx.app({ hosts, store: reopened, checker: { async check() { checks++; }, close() {} } });
    await app.ready();
    const patch = await node.next();
    assert.equal(patch.path, "/v2/resume/after-crash");
    assert.equal((patch.body.value as { result: string }).result, payload);
    assert.equal(calls.length, 1);
    assert.equal(checks, 0);
    // The relay's synchronous retry of the same request gets the same answer, with no new run.
    const res = await app.inject({ method: "POST", url: "/", headers: AUTH, payload: { id: "again", data } });
    assert.equal(res.json().result, payload);
    assert.equal(calls.length, 1);
  });

  it("delivers a finished job's callback that a killed bridge had not delivered", async () => {
    const file = await fx.storeFile();
    const node = await startCallbackServer();
    fx.onCleanup(node.close);
    const store = fx.openStore(file);
    store.insert(data, Date.now(), { url: node.url("owed"), jobRunID: "owed" });
    store.complete(data.requestId, payload, Date.now());
    const { hosts, calls } = recordingHosts();
    const { app } = await fx.app({ hosts, store });
    await app.ready();
    const patch = await node.next();
    assert.equal(patch.path, "/v2/resume/owed");
    assert.equal(patch.body.result, payload);
    assert.equal(calls.length, 0, "a finished job never runs again");
  });
});

describe("bridge: with three real MPC hosts", { timeout: 120_000 }, () => {
  let cluster: Cluster;
  const seller = Wallet.createRandom();
  const buyer = generateBuyerKeyPair();
  const buyerKey = hexlify(buyer.publicKey);
  const values = BigUint64Array.from({ length: 200 }, (_, i) => BigInt(i * 7 + 3));
  let datasetId: string;

  before(async () => {
    cluster = await startCluster({ jobTimeoutMs: 20_000 });
    const upload = await buildUploads(seller, "salaries", { name: "salary", scale: 0, values });
    datasetId = upload.datasetId;
    cluster.chain.datasets.set(datasetId, {
      seller: seller.address, name: "salaries", schemaHash: schemaHashOf([{ name: "salary", scale: 0 }]), rowCount: BigInt(values.length),
      price: 1n, commitments: upload.commitments, active: true, minRows: 0n,
    });
    await Promise.all(upload.requests.map((req, i) => callUnary<UploadSharesResponse>(cluster.clients[i], "uploadShares", req)));
  });
  after(async () => {
    await cluster?.close();
  });

  it("runs the job asynchronously, and a restarted bridge re-asks the hosts and gets the same result", async () => {
    const requestId = hexlify(randomBytes(32));
    const params = JSON.stringify({ column: "salary" });
    cluster.chain.setRequest(CONSUMER, requestId, { buyer: Wallet.createRandom().address, datasetIds: [datasetId], params, buyerKey, price: 1n, status: 1 });
    const request = { requestId, algorithm: "sum@1", datasetIds: datasetId, params, buyerKey, consumer: CONSUMER };
    const node = await startCallbackServer();
    fx.onCleanup(node.close);
    const hosts = createGrpcHostsClient(cluster.ports.map((p) => `127.0.0.1:${p}`), { tls: cluster.hostTls, signer: cluster.bridge });
    fx.onCleanup(() => hosts.close());
    const file = await fx.storeFile();

    const first = await fx.app({ hosts, jobTimeoutMs: 30_000 }, file);
    const res = await first.app.inject({ method: "POST", url: "/", headers: AUTH, payload: { id: "1", data: request, responseURL: node.url("real") } });
    assert.deepEqual(res.json(), { jobRunID: "1", pending: true });
    const patch = await node.next();
    const result = (patch.body.value as { result: string }).result;
    const [packed, sigs] = AbiCoder.defaultAbiCoder().decode(["bytes", "bytes[3]"], result);
    assert.equal(sigs.length, 3);
    const { jobId, envelopes: wrapped } = unpackResult(packed);
    const responses = wrapped.map((encryptedOutput) => ({ jobId, encryptedOutput }));
    await first.app.close();
    first.store.close();

    // A bridge killed before it recorded the outcome: the row says running.
    const replay = fx.openStore(file);
    const row = replay.get(requestId)!;
    replay.close();
    const copy = fx.openStore(await fx.storeFile());
    copy.insert(row, Date.now());
    const second = await fx.app({ hosts, store: copy, jobTimeoutMs: 30_000 });
    await second.app.ready();
    const again = await second.app.inject({ method: "POST", url: "/", headers: AUTH, payload: { id: "2", data: request } });
    assert.equal(again.statusCode, 200, again.body);
    // The hosts answer a repeated Compute from their finished job: the same envelopes, the same signatures.
    assert.equal(again.json().result, result);
    assert.equal(copy.get(requestId)?.state, "completed");
    // Once the chain shows it fulfilled, the hosts' keys open it for the buyer.
    assert.deepEqual(await settleAndOpen(cluster, { requestId, responses, buyerPrivateKey: buyer.privateKey }), [ringSum(values), BigInt(values.length)]); // sum@1 opens the sum and the count of present values
  });
});
