// An acknowledged upload must survive the host process dying at once: the
// host answers UploadShares only after the share file is written, synced and
// renamed into place. This runs a real host process (src/main.ts configured
// from the environment), uploads, SIGKILLs it right after the answer, starts
// a new process on the same data directory and checks the share is there.
//
// SIGKILL ends the process, not the machine: data still in the page cache
// survives it, so this checks that the answer comes after the write and the
// rename, not that the fsyncs reach the disk.
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
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

after(async () => {
  for (const client of clients) client.close();
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      const exited = new Promise((done) => child.once("exit", done));
      process.kill(child.pid, "SIGKILL");
      await exited;
    }
  }
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
async function startHostProcess(tls: TlsMaterial, dataDir: string): Promise<HostProcess> {
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
    // Uploads never touch the chain; nothing listens here.
    SCMPC_RPC_URL: "http://127.0.0.1:1",
    SCMPC_REGISTRY_ADDRESS: REGISTRY,
    SCMPC_ALGORITHM_CONTRACTS: CONSUMER,
    SCMPC_HOST_SIGNING_KEY: Wallet.createRandom().privateKey,
    SCMPC_HOST_BRIDGE_ADDRESS: Wallet.createRandom().address,
    SCMPC_LOG_LEVEL: "info",
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

    const first = await startHostProcess(tls, dataDir);
    const ack = await callUnary<UploadSharesResponse>(first.client, "uploadShares", request, 30_000);
    // Nothing between the acknowledgement and the kill.
    first.child.kill("SIGKILL");
    assert.deepEqual([ack.datasetId, ack.commitment, ack.hostIndex], [upload.datasetId, upload.commitments[0], 0]);
    assert.deepEqual(await first.exited, { code: null, signal: "SIGKILL" }, "the first host died by SIGKILL, not a graceful close");

    const second = await startHostProcess(tls, dataDir);
    // First a different sharing of the same dataset: refused only if the
    // first share is on disk (were it lost, this upload would be stored).
    const reshared = await buildUploads(seller, "durable", { name: "amount", scale: 0, values });
    assert.notEqual(reshared.commitments[0], upload.commitments[0]);
    await assert.rejects(callUnary(second.client, "uploadShares", reshared.requests[0], 30_000), (err: unknown) => {
      const e = err as grpc.ServiceError;
      assert.equal(e.code, grpc.status.ALREADY_EXISTS, `status ${e.code}: ${e.details}`);
      assert.equal(mpcErrorCodeOf(e), "DATASET_CONFLICT", e.details);
      assert.ok(e.details.includes(upload.commitments[0]), `the refusal names the stored commitment: ${e.details}`);
      return true;
    });
    // Then the original request again: accepted, same commitment.
    const again = await callUnary<UploadSharesResponse>(second.client, "uploadShares", request, 30_000);
    assert.deepEqual([again.datasetId, again.commitment, again.hostIndex], [upload.datasetId, upload.commitments[0], 0]);

    // Stop the second host (gracefully, SIGKILL if it hangs) before opening its store directly.
    second.child.kill("SIGTERM");
    const stop = setTimeout(() => second.child.kill("SIGKILL"), 10_000);
    await second.exited;
    clearTimeout(stop);

    const stored = await createShareStore({ dataDir, hostIndex: 0 }).get(upload.datasetId);
    assert.ok(stored, "the store holds the dataset");
    assert.equal(stored.commitment, upload.commitments[0]);
    assert.equal(stored.rowCount, BigInt(ROWS));
    assert.equal(stored.seller, seller.address);
    assert.deepEqual(Buffer.from(stored.columns[0].a), Buffer.from(request.columns[0].a));
    assert.deepEqual(Buffer.from(stored.columns[0].b), Buffer.from(request.columns[0].b));
    assert.deepEqual(await readdir(join(dataDir, "datasets")), [`${upload.datasetId}.share`], "one share file, no temp files");
  });
});
