import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { AbiCoder } from "ethers";
import { packResult } from "@scmpc/mpc-engine";
import type { ComputeRequest } from "@scmpc/protos";
import { buildApp } from "../src/app.ts";
import { HostRefusedError, HostUnavailableError } from "../src/errors.ts";
import type { HostHealth, HostsClient } from "../src/hosts-client.ts";

// The bridge's HTTP contract (External Adapter protocol) through inject. The
// hosts are replaced by a recording double here; the end-to-end test drives
// the real hosts.
function recordingHosts(behaviour: (req: ComputeRequest) => Promise<Buffer[]>, health?: HostHealth[]) {
  const calls: ComputeRequest[] = [];
  const signed: { requestId: string; result: string }[] = [];
  const hosts: HostsClient = {
    async compute(req) {
      calls.push(req);
      return behaviour(req);
    },
    async signResult(requestId, result) {
      signed.push({ requestId, result });
      return [0, 1, 2].map((i) => `0x${String(i + 1).repeat(130)}`);
    },
    async health() {
      return health ?? [0, 1, 2].map((index) => ({ index, endpoint: `127.0.0.1:${7000 + index}`, reachable: true }));
    },
    close() {},
  };
  return { hosts, calls, signed };
}

const data = {
  requestId: `0x${"11".repeat(32)}`,
  algorithm: "sum@1",
  datasetIds: `0x${"22".repeat(32)},0x${"55".repeat(32)}`,
  params: JSON.stringify({ column: "salary" }),
  buyerKey: `0x${"33".repeat(32)}`,
  consumer: `0x${"44".repeat(20)}`,
};
const envelopes = [Buffer.from("aa", "hex"), Buffer.from("bbbb", "hex"), Buffer.from("cccccc", "hex")];
const signatures = [0, 1, 2].map((i) => `0x${String(i + 1).repeat(130)}`);
/** What the bridge answers: the packed envelopes with the three hosts' signatures, as the contract decodes it. */
const payload = AbiCoder.defaultAbiCoder().encode(["bytes", "bytes[3]"], [packResult(envelopes), signatures]);

describe("bridge: POST / (External Adapter)", () => {
  const apps: ReturnType<typeof buildApp>[] = [];
  const make = (hosts: HostsClient) => {
    const app = buildApp({ hosts, computeTimeoutMs: 1_000, fastify: { logger: false } });
    apps.push(app);
    return app;
  };
  after(async () => {
    for (const app of apps) await app.close();
  });

  it("answers a request with the packed encrypted output shares and the hosts' signatures", async () => {
    const { hosts, calls, signed } = recordingHosts(async () => envelopes);
    const res = await make(hosts).inject({ method: "POST", url: "/", payload: { id: "run-1", data } });
    assert.equal(res.statusCode, 200);
    const body = res.json();
    assert.deepEqual(body, { jobRunID: "run-1", statusCode: 200, data: { result: payload }, result: payload });
    assert.deepEqual(signed, [{ requestId: data.requestId, result: packResult(envelopes) }]);
    const [result, sigs] = AbiCoder.defaultAbiCoder().decode(["bytes", "bytes[3]"], body.result);
    assert.equal(result, packResult(envelopes));
    assert.deepEqual([...sigs], signatures);
    assert.equal(calls.length, 1);
    assert.deepEqual(calls[0], {
      requestId: data.requestId,
      algorithm: "sum@1",
      datasetIds: [`0x${"22".repeat(32)}`, `0x${"55".repeat(32)}`],
      params: '{"column":"salary"}',
      buyerKey: data.buyerKey,
      consumer: data.consumer,
    });
  });

  it("accepts exactly the body a Chainlink node's bridge task sends (id, data, meta, responseURL)", async () => {
    const { hosts } = recordingHosts(async () => envelopes);
    const res = await make(hosts).inject({
      method: "POST",
      url: "/",
      payload: { id: "a1b2", data: { ...data, extra: "kept by the node" }, meta: { oracleRequest: {} }, responseURL: "http://127.0.0.1:6688/v2/resume/a1b2" },
    });
    assert.equal(res.statusCode, 200);
    assert.equal(res.json().data.result, payload);
  });

  it("runs one MPC job for a repeated request id", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { hosts, calls } = recordingHosts(async () => {
      await gate;
      return envelopes;
    });
    const app = make(hosts);
    const first = app.inject({ method: "POST", url: "/", payload: { id: "1", data } });
    const second = app.inject({ method: "POST", url: "/", payload: { id: "2", data } });
    await new Promise((r) => setTimeout(r, 50));
    release();
    const [a, b] = await Promise.all([first, second]);
    const third = await app.inject({ method: "POST", url: "/", payload: { id: "3", data } });
    assert.equal(calls.length, 1);
    for (const res of [a, b, third]) assert.equal(res.json().result, payload);
    assert.equal(third.json().jobRunID, "3");
  });

  it("rejects a malformed request with the error body naming the field", async () => {
    const { hosts, calls } = recordingHosts(async () => envelopes);
    const res = await make(hosts).inject({ method: "POST", url: "/", payload: { id: "7", data: { ...data, buyerKey: "0x1234" } } });
    assert.equal(res.statusCode, 400);
    const body = res.json();
    assert.equal(body.jobRunID, "7");
    assert.equal(body.status, "errored");
    assert.equal(body.statusCode, 400);
    assert.equal(body.error.name, "InvalidRequestError");
    assert.match(body.error.message, /buyerKey/);
    assert.equal(calls.length, 0);
  });

  it("rejects a body without data, and a body that is not JSON", async () => {
    const { hosts } = recordingHosts(async () => envelopes);
    const app = make(hosts);
    const missing = await app.inject({ method: "POST", url: "/", payload: { id: "8" } });
    assert.equal(missing.statusCode, 400);
    assert.match(missing.json().error.message, /data/);
    const garbage = await app.inject({ method: "POST", url: "/", headers: { "content-type": "application/json" }, payload: "{not json" });
    assert.equal(garbage.statusCode, 400);
    assert.equal(garbage.json().status, "errored");
  });

  it("rejects an oversized body with 413", async () => {
    const { hosts } = recordingHosts(async () => envelopes);
    const res = await make(hosts).inject({ method: "POST", url: "/", payload: { id: "9", data: { ...data, padding: "x".repeat(100_000) } } });
    assert.equal(res.statusCode, 413);
    assert.equal(res.json().status, "errored");
    assert.equal(res.json().statusCode, 413);
  });

  it("reports a host's refusal as 422 and an unreachable host as 502", async () => {
    const refused = recordingHosts(async () => {
      throw new HostRefusedError(1, "share commitment does not match the on-chain commitment");
    });
    const r1 = await make(refused.hosts).inject({ method: "POST", url: "/", payload: { id: "r", data } });
    assert.equal(r1.statusCode, 422);
    assert.deepEqual(r1.json().error, { name: "HostRefusedError", message: "MPC host 1 refused the job: share commitment does not match the on-chain commitment" });

    const down = recordingHosts(async () => {
      throw new HostUnavailableError(2, "connect ECONNREFUSED");
    });
    const r2 = await make(down.hosts).inject({ method: "POST", url: "/", payload: { id: "d", data } });
    assert.equal(r2.statusCode, 502);
    assert.equal(r2.json().error.name, "HostUnavailableError");
  });

  it("hides unexpected errors behind a generic 500", async () => {
    const broken = recordingHosts(async () => {
      throw new Error("secret internal detail");
    });
    const res = await make(broken.hosts).inject({ method: "POST", url: "/", payload: { id: "x", data } });
    assert.equal(res.statusCode, 500);
    assert.doesNotMatch(res.body, /secret internal detail/);
  });
});

describe("bridge: GET /health", () => {
  it("is 200 when every host answers and 503 naming the host that does not", async () => {
    const okApp = buildApp({ hosts: recordingHosts(async () => envelopes).hosts, computeTimeoutMs: 1_000, fastify: { logger: false } });
    const ok = await okApp.inject({ method: "GET", url: "/health" });
    assert.equal(ok.statusCode, 200);
    assert.equal(ok.json().status, "ok");
    await okApp.close();

    const health = [
      { index: 0, endpoint: "127.0.0.1:1", reachable: true },
      { index: 1, endpoint: "127.0.0.1:2", reachable: false, error: "connect ECONNREFUSED" },
      { index: 2, endpoint: "127.0.0.1:3", reachable: true },
    ];
    const badApp = buildApp({ hosts: recordingHosts(async () => envelopes, health).hosts, computeTimeoutMs: 1_000, fastify: { logger: false } });
    const bad = await badApp.inject({ method: "GET", url: "/health" });
    assert.equal(bad.statusCode, 503);
    assert.equal(bad.json().status, "degraded");
    assert.equal(bad.json().hosts[1].reachable, false);
    await badApp.close();
  });
});
