// An acknowledged upload must survive the host process dying at once: the
// host answers UploadShares only after the share file is written, synced and
// renamed into place. This runs a real host process (src/main.ts configured
// from the environment), uploads, SIGKILLs it right after the answer, starts
// a new process on the same data directory and checks the share is there.
// The chain is a stub JSON-RPC node that knows no dataset (an upload reads
// the registry to check a registered dataset's schema).
//
// SIGKILL ends the process, not the machine: data still in the page cache
// survives it, so this checks that the answer comes after the write and the
// rename, not that the fsyncs reach the disk.
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import { Wallet } from "ethers";
import { loadMpcV1, type HealthResponse, type UploadSharesResponse } from "@scmpc/protos";
import { createShareStore, mpcErrorCodeOf } from "../src/host/index.ts";
import { createTlsMaterial, hostApiChannelOptions, hostApiCredentials, readHostApiTls, type TlsMaterial } from "../src/tls/index.ts";
import { buildUploads, callUnary, CONSUMER, freePorts, REGISTRY } from "./support/cluster.ts";

const ROWS = 100_000;
const HERE = dirname(fileURLToPath(import.meta.url));
const MAIN = resolve(HERE, "../src/main.ts");
const REPO_ROOT = resolve(HERE, "../..");
const TSX_LOADER = import.meta.resolve("tsx");
const START_TIMEOUT_MS = 30_000;

const children: ChildProcess[] = [];
const clients: grpc.Client[] = [];
const dirs: string[] = [];
const stubs: { close(): Promise<void> }[] = [];

after(async () => {
  for (const client of clients) client.close();
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      const exited = new Promise((done) => child.once("exit", done));
      process.kill(child.pid, "SIGKILL");
      await exited;
    }
  }
  for (const stub of stubs) await stub.close();
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

interface HostProcess {
  child: ChildProcess;
  client: grpc.Client;
  /** Resolves with how the process ended. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Everything it printed so far (for failure messages). */
  output(): string;
}

/** Starts host 0 as its own process on `dataDir`, with fresh loopback ports, and waits until Health answers. */
async function startHostProcess(tls: TlsMaterial, dataDir: string, rpcUrl: string): Promise<HostProcess> {
  const [api, peer, peer1, peer2] = await freePorts(4);
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "",
    SCMPC_HOST_INDEX: "0",
    SCMPC_HOST_LISTEN: `127.0.0.1:${api}`,
    SCMPC_HOST_PEER_LISTEN: `127.0.0.1:${peer}`,
    // Hosts 1 and 2 are not running; nothing dials them until a Compute job.
    SCMPC_HOST_PEERS: [peer, peer1, peer2].map((p) => `127.0.0.1:${p}`).join(","),
    SCMPC_HOST_TLS_CA: tls.caFile,
    SCMPC_HOST_TLS_CERT: tls.hosts[0].certFile,
    SCMPC_HOST_TLS_KEY: tls.hosts[0].keyFile,
    SCMPC_HOST_PEER_FINGERPRINTS: tls.hosts.map((h) => h.fingerprint).join(","),
    SCMPC_HOST_DATA_DIR: dataDir,
    SCMPC_RPC_URL: rpcUrl,
    SCMPC_REGISTRY_ADDRESS: REGISTRY,
    SCMPC_ALGORITHM_CONTRACTS: CONSUMER,
    SCMPC_HOST_SIGNING_KEY: Wallet.createRandom().privateKey,
    SCMPC_HOST_BRIDGE_ADDRESS: Wallet.createRandom().address,
    SCMPC_LOG_LEVEL: "info",
    // Room for exactly one version of the test's share: whether a second one fits tells whether the first is on disk.
    SCMPC_HOST_SELLER_QUOTA_BYTES: String(ROWS * 32),
  };
  const child = spawn(process.execPath, ["--import", TSX_LOADER, MAIN], { cwd: REPO_ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((done) =>
    child.once("exit", (code, signal) => done({ code, signal })),
  );

  const { Host } = loadMpcV1();
  // The Host API is served over TLS by default; the client pins host 0's certificate.
  const hostTls = readHostApiTls({ caFile: tls.caFile, certFiles: tls.hosts.map((h) => h.certFile) });
  const client = new Host(`127.0.0.1:${api}`, hostApiCredentials(hostTls, 0), hostApiChannelOptions(hostTls, 0));
  clients.push(client);

  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      assert.fail(`host process exited (${child.exitCode ?? child.signalCode}) before serving:\n${output}`);
    }
    const health = await callUnary<HealthResponse>(client, "health", {}, 1000).catch(() => undefined);
    if (health) {
      assert.deepEqual([health.hostIndex, health.status], [0, "SERVING"]);
      break;
    }
    if (Date.now() > deadline) assert.fail(`host process did not answer Health within ${START_TIMEOUT_MS} ms:\n${output}`);
    await new Promise((done) => setTimeout(done, 100));
  }
  return { child, client, exited, output: () => output };
}

/**
 * A JSON-RPC node that knows no dataset: chain id 31337, and every eth_call
 * answers 32 zero bytes (the registry's isRegistered: false). Counts the calls.
 */
async function startChainStub(): Promise<{ url: string; calls: () => number; close(): Promise<void> }> {
  let calls = 0;
  const answer = (request: { id: unknown; method: string }) => {
    if (request.method === "eth_chainId") return { jsonrpc: "2.0", id: request.id, result: "0x7a69" };
    if (request.method === "eth_call") {
      calls++;
      return { jsonrpc: "2.0", id: request.id, result: `0x${"00".repeat(32)}` };
    }
    return { jsonrpc: "2.0", id: request.id, error: { code: -32601, message: `method ${request.method} not served by the stub` } };
  };
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk.toString()));
    req.on("end", () => {
      const parsed = JSON.parse(body) as { id: unknown; method: string } | { id: unknown; method: string }[];
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify(Array.isArray(parsed) ? parsed.map(answer) : answer(parsed)));
    });
  });
  await new Promise<void>((listening) => server.listen(0, "127.0.0.1", listening));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls: () => calls,
    close: () => new Promise((closed) => server.close(() => closed())),
  };
}

function randomColumn(rows: number): BigUint64Array {
  const values = new BigUint64Array(rows);
  new Uint8Array(values.buffer).set(randomBytes(values.byteLength));
  return values;
}

describe("host process durability", { timeout: 60_000 }, () => {
  it("keeps an acknowledged upload across kill -9 of the host process", async () => {
    const tlsDir = await mkdtemp(join(tmpdir(), "scmpc-durability-tls-"));
    dirs.push(tlsDir);
    const dataDir = await mkdtemp(join(tmpdir(), "scmpc-durability-data-"));
    dirs.push(dataDir);
    const tls = await createTlsMaterial({ hosts: 3, dir: tlsDir });

    const seller = Wallet.createRandom();
    const values = randomColumn(ROWS);
    const upload = await buildUploads(seller, "durable", { name: "amount", scale: 0, values });
    const request = upload.requests[0];

    const chain = await startChainStub();
    stubs.push(chain);

    const first = await startHostProcess(tls, dataDir, chain.url);
    const ack = await callUnary<UploadSharesResponse>(first.client, "uploadShares", request, 30_000);
    // Nothing between the acknowledgement and the kill.
    first.child.kill("SIGKILL");
    assert.deepEqual([ack.datasetId, ack.commitment, ack.hostIndex], [upload.datasetId, upload.commitments[0], 0]);
    assert.deepEqual(await first.exited, { code: null, signal: "SIGKILL" }, "the first host died by SIGKILL, not a graceful close");
    assert.ok(chain.calls() > 0, "the upload read the registry");

    const second = await startHostProcess(tls, dataDir, chain.url);
    // First a different sharing of the same dataset (another version): the
    // seller's quota has room for one, so it is refused only if the first
    // share is on disk (were it lost, this upload would be stored).
    const reshared = await buildUploads(seller, "durable", { name: "amount", scale: 0, values });
    assert.notEqual(reshared.commitments[0], upload.commitments[0]);
    await assert.rejects(callUnary(second.client, "uploadShares", reshared.requests[0], 30_000), (err: unknown) => {
      const e = err as grpc.ServiceError;
      assert.equal(e.code, grpc.status.RESOURCE_EXHAUSTED, `status ${e.code}: ${e.details}`);
      assert.equal(mpcErrorCodeOf(e), "QUOTA_EXCEEDED", e.details);
      assert.ok(e.details.includes(`stores ${ROWS * 32} bytes`), `the refusal counts the stored share: ${e.details}`);
      return true;
    });
    // Then the original request again: accepted (the same version takes no new room), same commitment.
    const again = await callUnary<UploadSharesResponse>(second.client, "uploadShares", request, 30_000);
    assert.deepEqual([again.datasetId, again.commitment, again.hostIndex], [upload.datasetId, upload.commitments[0], 0]);

    // Stop the second host (gracefully, SIGKILL if it hangs) before opening its store directly.
    second.child.kill("SIGTERM");
    const stop = setTimeout(() => second.child.kill("SIGKILL"), 10_000);
    await second.exited;
    clearTimeout(stop);

    const stored = await createShareStore({ dataDir, hostIndex: 0 }).get(upload.datasetId, upload.commitments[0]);
    assert.ok(stored, "the store holds the dataset");
    assert.equal(stored.commitment, upload.commitments[0]);
    assert.equal(stored.rowCount, BigInt(ROWS));
    assert.equal(stored.seller, seller.address);
    assert.deepEqual(Buffer.from(stored.columns[0].a), Buffer.from(request.columns[0].a));
    assert.deepEqual(Buffer.from(stored.columns[0].b), Buffer.from(request.columns[0].b));
    assert.deepEqual(await readdir(join(dataDir, "datasets")), [`${upload.datasetId}.${upload.commitments[0].slice(2)}.share`], "one share file, no temp files");
  });
});
