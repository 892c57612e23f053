import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { AbiCoder, Wallet } from "ethers";
import { packResult } from "@scmpc/mpc-engine";
import { BODY_LIMIT_BYTES } from "../src/app.ts";
import { ChainUnavailableError, HostRefusedError, HostUnavailableError, OnChainMismatchError } from "../src/errors.ts";
import { createGrpcHostsClient } from "../src/hosts-client.ts";
import { createBridgeMetrics } from "../src/metrics.ts";
import { ACCESS_KEY, AUTH, data, envelopes, fixtures, gate, jobId, payload, recordingChecker, recordingHosts, signatures } from "./bridge-fixture.ts";

// The bridge's HTTP contract (External Adapter protocol) through inject, every
// route and every error. The hosts and the on-chain check are recording
// doubles here; async.test.ts covers the asynchronous path and the real hosts.
const fx = fixtures();
after(() => fx.cleanup());

const post = (app: Awaited<ReturnType<typeof fx.app>>["app"], body: unknown, headers: Record<string, string> = AUTH) =>
  app.inject({ method: "POST", url: "/", headers, payload: body as Record<string, unknown> });

describe("bridge: POST / (External Adapter, synchronous)", () => {
  it("checks the request on-chain, then answers with the packed encrypted output shares and the hosts' signatures", async () => {
    const { hosts, calls, signed } = recordingHosts();
    const { checker, checked } = recordingChecker();
    const { app } = await fx.app({ hosts, checker });
    const res = await post(app, { id: "run-1", data });
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json();
    assert.deepEqual(body, { jobRunID: "run-1", statusCode: 200, data: { result: payload }, result: payload });
    assert.deepEqual(checked, [data]);
    assert.deepEqual(signed, [{ requestId: data.requestId, result: packResult(jobId, envelopes), consumer: data.consumer }]);
    const [result, sigs] = AbiCoder.defaultAbiCoder().decode(["bytes", "bytes[3]"], body.result);
    assert.equal(result, packResult(jobId, envelopes));
    assert.deepEqual([...sigs], signatures);
    assert.deepEqual(calls, [
      {
        requestId: data.requestId,
        algorithm: "sum@1",
        datasetIds: [`0x${"22".repeat(32)}`, `0x${"55".repeat(32)}`],
        params: '{"column":"salary"}',
        buyerKey: data.buyerKey,
        consumer: data.consumer,
      },
    ]);
  });

  it("accepts exactly the body a Chainlink node's bridge task sends (numeric id, data, meta)", async () => {
    const { app } = await fx.app({ hosts: recordingHosts().hosts });
    const res = await post(app, { id: 7, data, meta: { oracleRequest: { requestId: data.requestId } } });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().jobRunID, "7");
    assert.equal(res.json().data.result, payload);
  });

  it("refuses unknown fields, naming them, before anything runs", async () => {
    const { hosts, calls } = recordingHosts();
    const { checker, checked } = recordingChecker();
    const { app } = await fx.app({ hosts, checker });
    const inData = await post(app, { id: "u1", data: { ...data, extra: "x" } });
    assert.equal(inData.statusCode, 400);
    assert.equal(inData.json().error.name, "InvalidRequestError");
    assert.match(inData.json().error.message, /body\/data has unknown field "extra"/);
    const topLevel = await post(app, { id: "u2", data, callbackUrl: "http://127.0.0.1:1/" });
    assert.equal(topLevel.statusCode, 400);
    assert.match(topLevel.json().error.message, /unknown field "callbackUrl"/);
    assert.equal(calls.length + checked.length, 0);
  });

  it("runs one MPC job for a repeated request id, concurrent or later, and answers later calls from the store", async () => {
    const g = gate();
    const { hosts, calls } = recordingHosts(async () => {
      await g.wait;
      return envelopes;
    });
    const { checker, checked } = recordingChecker();
    const { app, store } = await fx.app({ hosts, checker });
    const first = post(app, { id: "1", data });
    const second = post(app, { id: "2", data });
    // Both calls are in: the job row exists and is running.
    while (store.get(data.requestId)?.state !== "running" || calls.length === 0) await new Promise((r) => setImmediate(r));
    g.open();
    const [a, b] = await Promise.all([first, second]);
    const third = await post(app, { id: "3", data: { ...data, requestId: data.requestId.toUpperCase().replace("0X", "0x") } });
    assert.equal(calls.length, 1);
    assert.equal(checked.length, 1, "the on-chain check runs once, for the admission");
    for (const res of [a, b, third]) assert.equal(res.json().result, payload);
    assert.deepEqual([a, b, third].map((r) => r.json().jobRunID), ["1", "2", "3"]);
  });

  it("refuses a request id already used with other inputs (409 naming what differs)", async () => {
    const { hosts, calls } = recordingHosts();
    const { app } = await fx.app({ hosts });
    assert.equal((await post(app, { id: "a", data })).statusCode, 200);
    const res = await post(app, { id: "b", data: { ...data, params: '{"column":"bonus"}' } });
    assert.equal(res.statusCode, 409);
    assert.equal(res.json().error.name, "RequestIdReusedError");
    assert.match(res.json().error.message, /different params/);
    assert.equal(calls.length, 1);
  });

  it("rejects a malformed request with the error body naming the field", async () => {
    const { hosts, calls } = recordingHosts();
    const { app } = await fx.app({ hosts });
    const res = await post(app, { id: "7", data: { ...data, buyerKey: "0x1234" } });
    assert.equal(res.statusCode, 400);
    const body = res.json();
    assert.equal(body.jobRunID, "7");
    assert.equal(body.status, "errored");
    assert.equal(body.statusCode, 400);
    assert.equal(body.error.name, "InvalidRequestError");
    assert.match(body.error.message, /buyerKey/);
    const missing = await post(app, { id: "8" });
    assert.equal(missing.statusCode, 400);
    assert.match(missing.json().error.message, /missing required field "data"/);
    const garbage = await app.inject({ method: "POST", url: "/", headers: { ...AUTH, "content-type": "application/json" }, payload: "{not json" });
    assert.equal(garbage.statusCode, 400);
    assert.equal(garbage.json().status, "errored");
    const xml = await app.inject({ method: "POST", url: "/", headers: { ...AUTH, "content-type": "application/xml" }, payload: "<a/>" });
    assert.equal(xml.statusCode, 415);
    assert.equal(xml.json().status, "errored");
    assert.equal(calls.length, 0);
  });

  it("rejects an oversized body with 413 naming the limit", async () => {
    const { hosts, calls } = recordingHosts();
    const { app } = await fx.app({ hosts });
    const res = await post(app, { id: "9", data: { ...data, params: "x".repeat(BODY_LIMIT_BYTES) } });
    assert.equal(res.statusCode, 413);
    assert.equal(res.json().statusCode, 413);
    assert.match(res.json().error.message, new RegExp(`${BODY_LIMIT_BYTES} bytes`));
    assert.equal(calls.length, 0);
  });

  it("reports a host's refusal as 422, an unreachable host as 502, and hides unexpected errors behind a 500", async () => {
    const refused = recordingHosts(async () => {
      throw new HostRefusedError(1, "share commitment does not match the on-chain commitment");
    });
    const r1 = await post((await fx.app({ hosts: refused.hosts })).app, { id: "r", data });
    assert.equal(r1.statusCode, 422);
    assert.deepEqual(r1.json().error, { name: "HostRefusedError", message: "MPC host 1 refused the job: share commitment does not match the on-chain commitment" });

    const down = recordingHosts(async () => {
      throw new HostUnavailableError(2, "connect ECONNREFUSED");
    });
    const r2 = await post((await fx.app({ hosts: down.hosts })).app, { id: "d", data });
    assert.equal(r2.statusCode, 502);
    assert.equal(r2.json().error.name, "HostUnavailableError");

    const broken = recordingHosts(async () => {
      throw new Error("secret internal detail");
    });
    const r3 = await post((await fx.app({ hosts: broken.hosts })).app, { id: "x", data });
    assert.equal(r3.statusCode, 500);
    assert.equal(r3.json().error.name, "InternalError");
    assert.doesNotMatch(r3.body, /secret internal detail/);
  });

  it("runs a job again after a failure a retry can cure, but answers a refusal from the store", async () => {
    let fail = true;
    const flaky = recordingHosts(async () => {
      if (fail) throw new HostUnavailableError(0, "deadline exceeded");
      return envelopes;
    });
    const { app, store } = await fx.app({ hosts: flaky.hosts });
    assert.equal((await post(app, { id: "1", data })).statusCode, 502);
    fail = false;
    const retried = await post(app, { id: "2", data });
    assert.equal(retried.statusCode, 200);
    assert.equal(retried.json().result, payload);
    assert.equal(flaky.calls.length, 2);
    assert.equal(store.get(data.requestId)?.attempts, 2);

    const refusing = recordingHosts(async () => {
      throw new HostRefusedError(0, "POLICY_REFUSED: the seller does not allow sum@1");
    });
    const second = await fx.app({ hosts: refusing.hosts });
    assert.equal((await post(second.app, { id: "1", data })).statusCode, 422);
    const again = await post(second.app, { id: "2", data });
    assert.equal(again.statusCode, 422);
    assert.match(again.json().error.message, /POLICY_REFUSED/);
    assert.equal(refusing.calls.length, 1, "a refused job is not run again");
  });

  it("ends a job whose hosts do not answer by its deadline with 504, giving the hosts the job's deadline", async () => {
    const { hosts, timeouts } = recordingHosts(() => new Promise<Buffer[]>(() => {}));
    const { app, store } = await fx.app({ hosts, jobTimeoutMs: 200 });
    const res = await post(app, { id: "slow", data });
    assert.equal(res.statusCode, 504);
    assert.equal(res.json().error.name, "JobTimeoutError");
    assert.match(res.json().error.message, /within 200 ms/);
    assert.ok(timeouts[0] <= 200 && timeouts[0] > 0, `gRPC deadline ${timeouts[0]} ms`);
    assert.equal(store.get(data.requestId)?.error?.retryable, true);
  });
});

describe("bridge: the on-chain check comes before the hosts", () => {
  it("refuses a request the chain does not confirm (422 naming the mismatch), runs nothing and stores nothing", async () => {
    const { hosts, calls } = recordingHosts();
    const { checker } = recordingChecker(async () => {
      throw new OnChainMismatchError("REQUEST_MISMATCH", `request ${data.requestId} differs from what the buyer paid for on-chain: params is "x", on-chain "y"`);
    });
    const { app, store } = await fx.app({ hosts, checker });
    const res = await post(app, { id: "m", data });
    assert.equal(res.statusCode, 422);
    assert.equal(res.json().error.name, "OnChainMismatchError");
    assert.match(res.json().error.message, /params is "x", on-chain "y"/);
    assert.equal(calls.length, 0);
    assert.equal(store.get(data.requestId), undefined);
  });

  it("answers 503 while the chain cannot be read, and runs the job once it can", async () => {
    let chainUp = false;
    const { hosts, calls } = recordingHosts();
    const { checker } = recordingChecker(async () => {
      if (!chainUp) throw new ChainUnavailableError("on-chain check failed: getRequest could not be read (ECONNREFUSED)");
    });
    const { app } = await fx.app({ hosts, checker });
    const down = await post(app, { id: "c1", data });
    assert.equal(down.statusCode, 503);
    assert.equal(down.json().error.name, "ChainUnavailableError");
    assert.equal(calls.length, 0);
    chainUp = true;
    assert.equal((await post(app, { id: "c2", data })).statusCode, 200);
    assert.equal(calls.length, 1);
  });
});

describe("bridge: access key, rate limit, security headers, unknown routes", () => {
  it("requires Authorization: Bearer <access key> on POST / and GET /jobs, and runs nothing without it", async () => {
    const { hosts, calls } = recordingHosts();
    const { app } = await fx.app({ hosts });
    const refused: Record<string, string>[] = [{}, { authorization: "Bearer wrong-key-wrong-key-wrong" }, { authorization: ACCESS_KEY }, { authorization: `Basic ${ACCESS_KEY}` }];
    for (const headers of refused) {
      const res = await post(app, { id: "k", data }, headers);
      assert.equal(res.statusCode, 401, JSON.stringify(headers));
      assert.equal(res.json().error.name, "UnauthorizedError");
      // The key is checked before the body is even read.
      assert.equal(res.json().jobRunID, "");
      assert.doesNotMatch(res.body, new RegExp(ACCESS_KEY));
    }
    const status = await app.inject({ method: "GET", url: `/jobs/${data.requestId}` });
    assert.equal(status.statusCode, 401);
    assert.equal(calls.length, 0);
    const lowercase = await post(app, { id: "k", data }, { authorization: `bearer ${ACCESS_KEY}` });
    assert.equal(lowercase.statusCode, 200);
  });

  it("limits the calls per client, answering 429 in the error shape", async () => {
    const { app } = await fx.app({ hosts: recordingHosts().hosts, rateLimit: { max: 2, windowMs: 60_000 } });
    const codes = [];
    for (let i = 0; i < 3; i++) codes.push((await post(app, { id: String(i), data })).statusCode);
    assert.deepEqual(codes, [200, 200, 429]);
    const limited = await post(app, { id: "4", data });
    assert.equal(limited.json().error.name, "RateLimitedError");
    assert.equal(limited.json().statusCode, 429);
    // Health and metrics stay reachable for probes.
    assert.equal((await app.inject({ method: "GET", url: "/health" })).statusCode, 200);
  });

  it("sends security headers, and answers an unknown route 404 in the error shape", async () => {
    const { app } = await fx.app({ hosts: recordingHosts().hosts });
    const res = await post(app, { id: "h", data });
    assert.equal(res.headers["x-content-type-options"], "nosniff");
    assert.equal(res.headers["x-frame-options"], "SAMEORIGIN");
    assert.ok(res.headers["content-security-policy"]);
    const missing = await app.inject({ method: "GET", url: "/nope?x=1" });
    assert.equal(missing.statusCode, 404);
    assert.deepEqual(missing.json(), { jobRunID: "", status: "errored", statusCode: 404, error: { name: "NotFoundError", message: "no route GET /nope" } });
  });
});

describe("bridge: GET /jobs/:requestId", () => {
  it("reports a job's state, attempts, result and error; 404 for an unknown request; 400 for a malformed id", async () => {
    const { app } = await fx.app({ hosts: recordingHosts().hosts });
    const unknown = await app.inject({ method: "GET", url: `/jobs/${data.requestId}`, headers: AUTH });
    assert.equal(unknown.statusCode, 404);
    assert.equal(unknown.json().error.name, "NotFoundError");
    await post(app, { id: "j", data });
    const res = await app.inject({ method: "GET", url: `/jobs/${data.requestId.toUpperCase().replace("0X", "0x")}`, headers: AUTH });
    assert.equal(res.statusCode, 200, res.body);
    const job = res.json();
    assert.equal(job.requestId, data.requestId);
    assert.equal(job.state, "completed");
    assert.equal(job.attempts, 1);
    assert.equal(job.result, payload);
    assert.deepEqual(job.callbacks, []);
    assert.ok(Date.parse(job.finishedAt) >= Date.parse(job.createdAt));
    const bad = await app.inject({ method: "GET", url: "/jobs/0x1234", headers: AUTH });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.json().error.message, /params\/requestId/);
  });
});

describe("bridge: GET /health, GET /metrics, OpenAPI", () => {
  it("is 200 when every host answers and the store reads, 503 naming the host that does not", async () => {
    const ok = await (await fx.app({ hosts: recordingHosts().hosts })).app.inject({ method: "GET", url: "/health" });
    assert.equal(ok.statusCode, 200);
    assert.equal(ok.json().status, "ok");
    assert.deepEqual(ok.json().store, { ok: true });

    const health = [
      { index: 0, endpoint: "127.0.0.1:1", reachable: true },
      { index: 1, endpoint: "127.0.0.1:2", reachable: false, error: "connect ECONNREFUSED" },
      { index: 2, endpoint: "127.0.0.1:3", reachable: true },
    ];
    const bad = await (await fx.app({ hosts: recordingHosts(undefined, health).hosts })).app.inject({ method: "GET", url: "/health" });
    assert.equal(bad.statusCode, 503);
    assert.equal(bad.json().status, "degraded");
    assert.deepEqual(bad.json().hosts[1], health[1]);
  });

  it("exports jobs by state, the job latency histogram and host call errors by host and code", async () => {
    const metrics = createBridgeMetrics();
    // A real gRPC client to three dead endpoints: the hosts are unreachable.
    const dead = createGrpcHostsClient(["127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"], {
      signer: Wallet.createRandom(),
      onCallError: (host, method, code) => metrics.hostCallErrors.inc({ host: String(host), method, code }),
    });
    fx.onCleanup(() => dead.close());
    const { app } = await fx.app({ hosts: dead, metrics });
    const failed = await post(app, { id: "dead", data });
    assert.equal(failed.statusCode, 502);
    assert.equal(failed.json().error.name, "HostUnavailableError");
    const ok = await (await fx.app({ hosts: recordingHosts().hosts, metrics })).app.inject({
      method: "POST",
      url: "/",
      headers: AUTH,
      payload: { id: "ok", data: { ...data, requestId: `0x${"99".repeat(32)}` } },
    });
    assert.equal(ok.statusCode, 200);

    const res = await app.inject({ method: "GET", url: "/metrics" });
    assert.equal(res.statusCode, 200);
    assert.match(res.headers["content-type"] as string, /^text\/plain/);
    const text = res.body;
    for (const host of [0, 1, 2]) assert.match(text, new RegExp(`scmpc_bridge_host_call_errors_total\\{host="${host}",method="Compute",code="UNAVAILABLE"\\} 1`));
    assert.match(text, /scmpc_bridge_jobs_finished_total\{outcome="failed"\} 1/);
    assert.match(text, /scmpc_bridge_jobs_finished_total\{outcome="completed"\} 1/);
    assert.match(text, /scmpc_bridge_job_duration_seconds_count\{outcome="completed"\} 1/);
    // By state, read from the store of the app built last with these metrics: its one job completed.
    assert.match(text, /scmpc_bridge_jobs\{state="completed"\} 1/);
    assert.match(text, /scmpc_bridge_jobs\{state="failed"\} 0/);
    assert.match(text, /scmpc_bridge_jobs\{state="running"\} 0/);
  });

  it("serves its OpenAPI document and the Swagger UI (assets from the npm package)", async () => {
    const { app } = await fx.app({ hosts: recordingHosts().hosts });
    const spec = await app.inject({ method: "GET", url: "/openapi.json" });
    assert.equal(spec.statusCode, 200);
    const doc = spec.json();
    assert.equal(doc.openapi, "3.0.3");
    assert.deepEqual(Object.keys(doc.paths).sort(), ["/", "/health", "/jobs/{requestId}", "/metrics", "/offences/{requestId}"]);
    assert.deepEqual(Object.keys(doc.paths["/"].post.responses).sort(), ["200", "400", "401", "409", "413", "415", "422", "429", "500", "502", "503", "504"]);
    assert.deepEqual(doc.paths["/"].post.security, [{ bearerAuth: [] }]);
    const ui = await app.inject({ method: "GET", url: "/docs/" });
    assert.equal(ui.statusCode, 200);
    assert.match(ui.headers["content-type"] as string, /text\/html/);
    const asset = await app.inject({ method: "GET", url: "/docs/static/swagger-ui-bundle.js" });
    assert.equal(asset.statusCode, 200);
  });
});
