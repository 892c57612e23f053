import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type * as grpc from "@grpc/grpc-js";
import { getBytes, Wallet } from "ethers";
import { loadMpcV1, type UploadSharesRequest, type UploadSharesResponse } from "@scmpc/protos";
import { encodeUploadBody, MpcError, uploadDigest } from "../src/index.ts";
import { toHttpError } from "../src/host/http-status.ts";
import { createHost, createShareStore, HOST_VERSION, loadHostConfig, type HostConfig, type MpcHost } from "../src/host/index.ts";
import { createTlsMaterial, hostApiChannelOptions, hostApiCredentials, type TlsMaterial } from "../src/tls/index.ts";
import { buildUploads, callUnary, CONSUMER, FakeChain, REGISTRY } from "./support/cluster.ts";

// The web API is the browsers' way to a host: it must take exactly what the
// gRPC Host API takes, refuse exactly what it refuses, and never buffer a
// body larger than the host accepts.

/** Largest upload the hosts of this file take: room for the test shares, small enough to exceed cheaply. */
const MAX_UPLOAD = 256 * 1024;

interface WebHost {
  host: MpcHost;
  config: HostConfig;
  port: number;
  webPort: number | undefined;
}

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  json: () => Record<string, unknown>;
}

const column = (rows: number) => ({ name: "v", scale: 0, values: BigUint64Array.from({ length: rows }, (_, i) => BigInt(i * 3)) });

describe("host web API", () => {
  let tls: TlsMaterial;
  let ca: string;
  const dirs: string[] = [];
  const hosts: MpcHost[] = [];
  const clients: grpc.Client[] = [];

  /** Starts host 0 alone with a fake chain (peers unreachable; none are needed for uploads and refusals). */
  const startHost = async (overrides: Partial<HostConfig> = {}, chain: FakeChain = new FakeChain()): Promise<WebHost> => {
    const dataDir = await mkdtemp(join(tmpdir(), "scmpc-web-host-"));
    dirs.push(dataDir);
    const config: HostConfig = {
      hostIndex: 0,
      listen: "127.0.0.1:0",
      apiTls: true,
      webListen: "127.0.0.1:0",
      peerListen: "127.0.0.1:0",
      peers: ["127.0.0.1:1", "127.0.0.1:1", "127.0.0.1:1"],
      tls: { caFile: tls.caFile, certFile: tls.hosts[0].certFile, keyFile: tls.hosts[0].keyFile },
      peerFingerprints: tls.hosts.map((h) => h.fingerprint) as [string, string, string],
      dataDir,
      rpcUrl: "http://127.0.0.1:1",
      registryAddress: REGISTRY,
      algorithmContracts: [CONSUMER],
      jobTimeoutMs: 5_000,
      bridgeAddress: Wallet.createRandom().address,
      releaseConfirmations: 0,
      deadlineMarginS: 60,
      maxUploadBytes: MAX_UPLOAD,
      maxShareBytes: 1 << 30,
      shareMemoryBytes: 1 << 29,
      workers: 1,
      sellerQuotaBytes: 1 << 30,
      unregisteredTtlMs: 3_600_000,
      unregisteredMaxBytes: 1 << 30,
      signingKey: Wallet.createRandom().privateKey,
      logLevel: "silent",
      ...overrides,
    };
    const host = createHost(config, { chainReader: chain });
    hosts.push(host);
    const { port, webPort } = await host.start();
    return { host, config, port, webPort };
  };

  /** One HTTPS (or HTTP) call to a web API, trusting the deployment CA; the certificates name 127.0.0.1. */
  const call = (
    port: number,
    method: string,
    path: string,
    options: { body?: Uint8Array | string; headers?: Record<string, string>; plaintext?: boolean } = {},
  ): Promise<Answer> =>
    new Promise((resolve, reject) => {
      const send = options.plaintext ? httpRequest : httpsRequest;
      const req = send({ host: "127.0.0.1", port, method, path, headers: options.headers, agent: false, ...(options.plaintext ? {} : { ca }) }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) as Record<string, unknown> });
        });
      });
      req.on("error", reject);
      req.end(options.body);
    });

  const upload = (port: number, body: Uint8Array): Promise<Answer> =>
    call(port, "POST", "/v1/upload", { body, headers: { "content-type": "application/octet-stream" } });

  /** Asserts a refusal: status, `{error: {code, message}}` with the message matching, CORS open. */
  const refused = (answer: Answer, status: number, code: string, message?: RegExp): Record<string, unknown> => {
    assert.equal(answer.status, status, answer.text);
    assert.equal(answer.headers["access-control-allow-origin"], "*");
    assert.match(String(answer.headers["content-type"]), /^application\/json/);
    const error = answer.json().error as Record<string, unknown>;
    assert.equal(error.code, code, answer.text);
    if (message !== undefined) assert.match(String(error.message), message);
    return error;
  };

  let web: WebHost;
  before(async () => {
    const tlsDir = await mkdtemp(join(tmpdir(), "scmpc-web-tls-"));
    dirs.push(tlsDir);
    tls = await createTlsMaterial({ hosts: 3, dir: tlsDir });
    ca = readFileSync(tls.caFile, "utf8");
    web = await startHost();
  });
  after(async () => {
    for (const c of clients) c.close();
    await Promise.all(hosts.map((h) => h.close()));
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it("binds a web port only when configured, from SCMPC_HOST_WEB_LISTEN", async () => {
    assert.equal(typeof web.webPort, "number");
    assert.notEqual(web.webPort, web.port);
    const without = await startHost({ webListen: undefined });
    assert.equal(without.webPort, undefined);
    const env = {
      SCMPC_HOST_INDEX: "0",
      SCMPC_HOST_PEER_LISTEN: "127.0.0.1:7101",
      SCMPC_HOST_PEERS: "127.0.0.1:7101,127.0.0.1:7102,127.0.0.1:7103",
      SCMPC_HOST_TLS_CA: "ca.pem",
      SCMPC_HOST_TLS_CERT: "host-0.pem",
      SCMPC_HOST_TLS_KEY: "host-0-key.pem",
      SCMPC_HOST_PEER_FINGERPRINTS: tls.hosts.map((h) => h.fingerprint).join(","),
      SCMPC_HOST_DATA_DIR: "data",
      SCMPC_RPC_URL: "http://127.0.0.1:8545",
      SCMPC_REGISTRY_ADDRESS: REGISTRY,
      SCMPC_ALGORITHM_CONTRACTS: CONSUMER,
      SCMPC_HOST_BRIDGE_ADDRESS: CONSUMER,
      SCMPC_HOST_SIGNING_KEY: Wallet.createRandom().privateKey,
    };
    assert.equal(loadHostConfig(env).webListen, undefined);
    assert.equal(loadHostConfig({ ...env, SCMPC_HOST_WEB_LISTEN: "0.0.0.0:8443" }).webListen, "0.0.0.0:8443");
    assert.throws(() => loadHostConfig({ ...env, SCMPC_HOST_WEB_LISTEN: "8443" }), /SCMPC_HOST_WEB_LISTEN must be host:port, got "8443"/);
    assert.throws(
      () => loadHostConfig({ ...env, SCMPC_HOST_LISTEN: "127.0.0.1:7001", SCMPC_HOST_WEB_LISTEN: "127.0.0.1:7001" }),
      /SCMPC_HOST_WEB_LISTEN must differ from SCMPC_HOST_LISTEN/,
    );
  });

  it("answers health over HTTPS with the host's certificate", async () => {
    const answer = await call(web.webPort!, "GET", "/v1/health");
    assert.equal(answer.status, 200, answer.text);
    assert.equal(answer.headers["access-control-allow-origin"], "*");
    assert.deepEqual(answer.json(), { hostIndex: 0, status: "SERVING", version: HOST_VERSION });
  });

  it("stores a valid upload exactly as the gRPC Host API stores it", async () => {
    const seller = Wallet.createRandom();
    const { datasetId, requests } = await buildUploads(seller, "via-web", [
      { ...column(50), valid: Array.from({ length: 50 }, (_, i) => (i % 7 === 0 ? 0 : 1)) },
      { name: "kind", scale: 0, type: "category", categories: ["x", "y", "z"], lo: "0", hi: "2", values: new BigUint64Array(50).fill(2n) },
    ]);
    const answer = await upload(web.webPort!, encodeUploadBody(requests[0]));
    assert.equal(answer.status, 200, answer.text);
    assert.equal(answer.headers["access-control-allow-origin"], "*");
    assert.deepEqual(answer.json(), { datasetId, commitment: requests[0].commitment.toLowerCase(), hostIndex: 0 });

    // The same request through gRPC, to a second host of index 0.
    const other = await startHost({ webListen: undefined });
    const hostTls = { ca, fingerprints: tls.hosts.map((h) => h.fingerprint) };
    const { Host } = loadMpcV1();
    const client = new Host(`127.0.0.1:${other.port}`, hostApiCredentials(hostTls, 0), hostApiChannelOptions(hostTls, 0));
    clients.push(client);
    assert.deepEqual(await callUnary<UploadSharesResponse>(client, "uploadShares", requests[0]), answer.json());

    const viaWeb = await createShareStore({ dataDir: web.config.dataDir, hostIndex: 0 }).get(datasetId);
    const viaGrpc = await createShareStore({ dataDir: other.config.dataDir, hostIndex: 0 }).get(datasetId);
    assert.ok(viaWeb, "the web upload is stored");
    assert.deepEqual(viaWeb, viaGrpc);
    assert.equal(viaWeb.rowCount, 50n);
    assert.deepEqual([...viaWeb.columns[0].validA], [...requests[0].columns[0].validA]);
    assert.deepEqual(viaWeb.columns[1].categories, ["x", "y", "z"]);
  });

  it("refuses a share with one byte flipped (COMMITMENT_MISMATCH, 400) and stores nothing", async () => {
    const { datasetId, requests } = await buildUploads(Wallet.createRandom(), "tampered", column(20));
    const body = encodeUploadBody(requests[0]);
    body[body.length - 100] ^= 0x01;
    refused(await upload(web.webPort!, body), 400, "COMMITMENT_MISMATCH", /does not match the uploaded bytes/);
    assert.equal(await createShareStore({ dataDir: web.config.dataDir, hostIndex: 0 }).get(datasetId), undefined);
  });

  it("refuses a signature by another key (SIGNATURE_INVALID, 403) and an upload for another host (WRONG_HOST, 400)", async () => {
    const seller = Wallet.createRandom();
    const { datasetId, requests } = await buildUploads(seller, "forged", column(20));
    const stranger = Wallet.createRandom();
    const forged: UploadSharesRequest = {
      ...requests[0],
      signature: await stranger.signMessage(getBytes(uploadDigest(datasetId, 0, requests[0].commitment))),
    };
    refused(await upload(web.webPort!, encodeUploadBody(forged)), 403, "SIGNATURE_INVALID", new RegExp(`made by ${stranger.address}, not by seller`));
    const error = refused(await upload(web.webPort!, encodeUploadBody(requests[1])), 400, "WRONG_HOST");
    assert.deepEqual(error.details, { hostIndex: 0, requested: 1 });
    assert.equal(await createShareStore({ dataDir: web.config.dataDir, hostIndex: 0 }).get(datasetId), undefined);
  });

  it("refuses a body above maxUploadBytes with 413 at once, declared or streamed, without reading it all", async () => {
    // Declared too large: refused from the headers, before a byte of the body is sent.
    const declared = await new Promise<Answer>((resolve, reject) => {
      const req = httpsRequest(
        {
          host: "127.0.0.1",
          port: web.webPort,
          method: "POST",
          path: "/v1/upload",
          ca,
          agent: false,
          headers: { "content-type": "application/octet-stream", "content-length": String(MAX_UPLOAD + 1) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            req.destroy();
            const text = Buffer.concat(chunks).toString("utf8");
            resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) as Record<string, unknown> });
          });
        },
      );
      req.on("error", reject);
      req.flushHeaders();
    });
    refused(declared, 413, "UPLOAD_TOO_LARGE", new RegExp(`larger than the ${MAX_UPLOAD} bytes`));
    assert.equal(declared.headers.connection, "close");

    // Streamed without a length: the host answers as soon as the count passes the limit and
    // reads no further, so the client is still far from the end of its body when the answer comes.
    const total = 256 * 1024 * 1024;
    const chunk = new Uint8Array(64 * 1024);
    const { status, code, sentWhenAnswered } = await new Promise<{ status: number; code: string; sentWhenAnswered: number }>((resolve, reject) => {
      let sent = 0;
      let answered = false;
      const req = httpsRequest(
        { host: "127.0.0.1", port: web.webPort, method: "POST", path: "/v1/upload", ca, agent: false, headers: { "content-type": "application/octet-stream", "transfer-encoding": "chunked" } },
        (res) => {
          answered = true;
          const sentWhenAnswered = sent;
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            req.destroy();
            const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { error: { code: string } };
            resolve({ status: res.statusCode ?? 0, code: body.error.code, sentWhenAnswered });
          });
        },
      );
      // The host closes the connection after its answer: a reset of the rest of the body is expected.
      req.on("error", (err) => {
        if (!answered) reject(err);
      });
      const pump = (): void => {
        while (!answered && sent < total) {
          sent += chunk.length;
          if (!req.write(chunk)) {
            req.once("drain", pump);
            return;
          }
        }
        if (!answered) req.end();
      };
      pump();
    });
    assert.equal(status, 413);
    assert.equal(code, "UPLOAD_TOO_LARGE");
    assert.ok(sentWhenAnswered < total / 8, `the answer came after ${sentWhenAnswered} of ${total} bytes were sent`);

    // The host still serves.
    assert.equal((await call(web.webPort!, "GET", "/v1/health")).status, 200);
  });

  it("tells a client that asks first (Expect: 100-continue) to send its body only when it will be read", async () => {
    const { requests } = await buildUploads(Wallet.createRandom(), "expect", column(10));
    const body = encodeUploadBody(requests[0]);
    const ask = (declared: number): Promise<{ status: number; continued: boolean }> =>
      new Promise((resolve, reject) => {
        let continued = false;
        const req = httpsRequest(
          {
            host: "127.0.0.1",
            port: web.webPort,
            method: "POST",
            path: "/v1/upload",
            ca,
            agent: false,
            headers: { "content-type": "application/octet-stream", "content-length": String(declared), expect: "100-continue" },
          },
          (res) => {
            res.resume();
            res.on("end", () => {
              req.destroy();
              resolve({ status: res.statusCode ?? 0, continued });
            });
          },
        );
        req.on("continue", () => {
          continued = true;
          req.end(body);
        });
        req.on("error", reject);
        req.flushHeaders();
      });
    assert.deepEqual(await ask(body.length), { status: 200, continued: true });
    assert.deepEqual(await ask(MAX_UPLOAD + 1), { status: 413, continued: false });
  });

  it("answers a host's limits with 429 and an unreadable chain with 503 and Retry-After", async () => {
    const seller = Wallet.createRandom();
    const first = await buildUploads(seller, "first", column(100));
    const second = await buildUploads(seller, "second", column(100));
    // Room for one 100-row share (32 bytes a row) per seller.
    const quota = await startHost({ sellerQuotaBytes: 100 * 32 });
    assert.equal((await upload(quota.webPort!, encodeUploadBody(first.requests[0]))).status, 200);
    refused(await upload(quota.webPort!, encodeUploadBody(second.requests[0])), 429, "QUOTA_EXCEEDED", /would pass its quota/);

    const chain = new FakeChain();
    chain.getDataset = async () => {
      throw new Error("connection refused");
    };
    const blind = await startHost({}, chain);
    const answer = await upload(blind.webPort!, encodeUploadBody(first.requests[0]));
    const error = refused(answer, 503, "CHAIN_UNAVAILABLE", /try again/);
    assert.equal(answer.headers["retry-after"], "5");
    assert.equal(error.details, undefined);
  });

  it("refuses truncated framing and a malformed header with 400, naming the problem", async () => {
    const { requests } = await buildUploads(Wallet.createRandom(), "framing", column(10));
    const body = encodeUploadBody(requests[0]);
    refused(await upload(web.webPort!, body.subarray(0, body.length - 8)), 400, "ENCODING_INVALID", /truncated body/);
    refused(await upload(web.webPort!, body.subarray(0, 3)), 400, "ENCODING_INVALID", /fewer than the 4-byte header length/);
    const bad = new TextEncoder().encode("{\"datasetId\": ");
    const framed = new Uint8Array(4 + bad.length);
    new DataView(framed.buffer).setUint32(0, bad.length, true);
    framed.set(bad, 4);
    refused(await upload(web.webPort!, framed), 400, "ENCODING_INVALID", /the header is not valid JSON/);
    refused(
      await call(web.webPort!, "POST", "/v1/upload", { body, headers: { "content-type": "application/json" } }),
      415,
      "UNSUPPORTED_MEDIA_TYPE",
      /takes Content-Type application\/octet-stream/,
    );
  });

  it("answers CORS preflights and refuses unknown routes and wrong methods", async () => {
    const preflight = await call(web.webPort!, "OPTIONS", "/v1/upload", {
      headers: { origin: "https://market.example", "access-control-request-method": "POST", "access-control-request-headers": "content-type" },
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers["access-control-allow-origin"], "*");
    assert.equal(preflight.headers["access-control-allow-methods"], "POST, GET, OPTIONS");
    assert.equal(preflight.headers["access-control-allow-headers"], "content-type");
    assert.equal(preflight.headers["access-control-max-age"], "86400");
    assert.equal(preflight.text, "");

    refused(await call(web.webPort!, "GET", "/v1/nothing"), 404, "ROUTE_NOT_FOUND", /no route \/v1\/nothing/);
    const wrong = await call(web.webPort!, "GET", "/v1/upload");
    refused(wrong, 405, "METHOD_NOT_ALLOWED", /takes POST, not GET/);
    assert.equal(wrong.headers.allow, "POST, OPTIONS");
    refused(await call(web.webPort!, "POST", "/v1/health"), 405, "METHOD_NOT_ALLOWED");
  });

  it("maps release-key refusals: unknown request 404, consumer not allowed 403, bad body 400", async () => {
    const releaseKey = (body: string) => call(web.webPort!, "POST", "/v1/release-key", { body, headers: { "content-type": "application/json" } });
    const requestId = `0x${"ab".repeat(32)}`;
    refused(await releaseKey(JSON.stringify({ requestId, consumer: CONSUMER })), 404, "REQUEST_NOT_FOUND", new RegExp(`request ${requestId} is unknown`));
    refused(await releaseKey(JSON.stringify({ requestId, consumer: Wallet.createRandom().address })), 403, "CONSUMER_NOT_ALLOWED");
    refused(await releaseKey(JSON.stringify({ requestId: "12", consumer: CONSUMER })), 400, "INVALID_ARGUMENT", /request_id must be/);
    refused(await releaseKey("{"), 400, "INVALID_ARGUMENT", /not UTF-8 JSON/);
    refused(await releaseKey(JSON.stringify({ requestId })), 400, "INVALID_ARGUMENT", /consumer must be a string/);
    refused(await releaseKey(JSON.stringify({ requestId, consumer: CONSUMER, pad: "x".repeat(20_000) })), 413, "BODY_TOO_LARGE");
  });

  it("says where a job stands (unknown to it here) and refuses malformed job ids", async () => {
    const jobId = `0x${"cd".repeat(32)}`;
    const answer = await call(web.webPort!, "GET", `/v1/jobs/${jobId.toUpperCase().replace("0X", "0x")}`);
    assert.equal(answer.status, 200, answer.text);
    assert.equal(answer.headers["access-control-allow-origin"], "*");
    assert.deepEqual(answer.json(), { jobId, state: "unknown" });
    refused(await call(web.webPort!, "GET", "/v1/jobs/0x12"), 404, "ROUTE_NOT_FOUND");
    refused(await call(web.webPort!, "POST", `/v1/jobs/${jobId}`), 405, "METHOD_NOT_ALLOWED");
  });

  it("serves plain HTTP when the Host API is plaintext", async () => {
    const plain = await startHost({ apiTls: false });
    const answer = await call(plain.webPort!, "GET", "/v1/health", { plaintext: true });
    assert.equal(answer.status, 200);
    assert.deepEqual(answer.json(), { hostIndex: 0, status: "SERVING", version: HOST_VERSION });
  });

  it("closes its web port with the host", async () => {
    const closing = await startHost();
    await call(closing.webPort!, "GET", "/v1/health");
    await closing.host.close();
    hosts.splice(hosts.indexOf(closing.host), 1);
    await assert.rejects(call(closing.webPort!, "GET", "/v1/health"), /ECONNREFUSED/);
  });
});

describe("web API status mapping", () => {
  it("hides what an unexpected error says, and carries an engine error's details as JSON", () => {
    const unexpected = toHttpError(new Error("secret path /var/lib/x"));
    assert.deepEqual(unexpected, { status: 500, headers: {}, body: { error: { code: "INTERNAL", message: "internal error" } } });
    const refusal = toHttpError(new MpcError("WRONG_HOST", "wrong host", { details: { hostIndex: 0, rows: 5n } }));
    assert.deepEqual(refusal, { status: 400, headers: {}, body: { error: { code: "WRONG_HOST", message: "wrong host", details: { hostIndex: 0, rows: "5" } } } });
    assert.equal(toHttpError(new MpcError("KEY_NOT_RELEASED", "not yet")).status, 409);
    assert.equal(toHttpError(new MpcError("SCHEMA_CHANGED", "schema")).status, 409);
    assert.equal(toHttpError(new MpcError("DATASET_ID_MISMATCH", "id")).status, 400);
    assert.deepEqual(toHttpError(new MpcError("HOST_CLOSING", "closing")).headers, { "retry-after": "5" });
  });
});
