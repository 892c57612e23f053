// Test support for the bridge's own tests: recording doubles of the hosts and
// of the on-chain check, an app over a store in a temporary directory, and a
// local HTTP server playing a Chainlink node's responseURL.
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:http";
import type { IncomingHttpHeaders } from "node:http";
import os from "node:os";
import path from "node:path";
import { AbiCoder } from "ethers";
import { packResult } from "@scmpc/mpc-engine";
import type { ComputeRequest } from "@scmpc/protos";
import { buildApp } from "../src/app.ts";
import type { BridgeDeps } from "../src/app.ts";
import type { HostHealth, HostsClient } from "../src/hosts-client.ts";
import { openJobStore } from "../src/job-store.ts";
import type { JobStore } from "../src/job-store.ts";
import type { RequestChecker } from "../src/onchain-request-check.ts";
import type { ComputationData } from "../src/schemas.ts";

export const ACCESS_KEY = "bridge-test-access-key-0123456789";
export const AUTH = { authorization: `Bearer ${ACCESS_KEY}` };

export const data = {
  requestId: `0x${"11".repeat(32)}`,
  algorithm: "sum@1",
  datasetIds: `0x${"22".repeat(32)},0x${"55".repeat(32)}`,
  params: JSON.stringify({ column: "salary" }),
  buyerKey: `0x${"33".repeat(32)}`,
  consumer: `0x${"44".repeat(20)}`,
};
export const envelopes = [Buffer.from("aa", "hex"), Buffer.from("bbbb", "hex"), Buffer.from("cccccc", "hex")];
/** The job id the hosts derived for `data` (made up: the doubles do not read a chain). */
export const jobId = `0x${"66".repeat(32)}`;
export const signatures = [0, 1, 2].map((i) => `0x${String(i + 1).repeat(130)}`);
/** What the bridge answers for `envelopes`: the job id and packed envelopes with the three hosts' signatures. */
export const payload = AbiCoder.defaultAbiCoder().encode(["bytes", "bytes[3]"], [packResult(jobId, envelopes), signatures]);

/** A hosts double that records every call; `behaviour` decides what Compute does. */
export function recordingHosts(behaviour: (req: ComputeRequest) => Promise<Buffer[]> = async () => envelopes, health?: HostHealth[]) {
  const calls: ComputeRequest[] = [];
  const timeouts: number[] = [];
  const signed: { requestId: string; result: string; consumer: string }[] = [];
  const hosts: HostsClient = {
    async compute(req, timeoutMs) {
      calls.push(req);
      timeouts.push(timeoutMs);
      return { jobId, envelopes: await behaviour(req) };
    },
    async signResult(request) {
      signed.push(request);
      return signatures;
    },
    async health() {
      return health ?? [0, 1, 2].map((index) => ({ index, endpoint: `127.0.0.1:${7000 + index}`, reachable: true }));
    },
    close() {},
  };
  return { hosts, calls, timeouts, signed };
}

/** An on-chain check double: records what it checked; `verdict` may throw. */
export function recordingChecker(verdict: (data: ComputationData) => Promise<void> = async () => {}) {
  const checked: ComputationData[] = [];
  const checker: RequestChecker = {
    async check(d) {
      checked.push(d);
      return verdict(d);
    },
    close() {},
  };
  return { checker, checked };
}

/** A gate a test opens when it wants the hosts to answer. */
export function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}

/**
 * Origins of the fake nodes' responseURLs started so far: the apps built by
 * {@link fixtures} allow them (the bridge calls back only allowed origins).
 */
const callbackOrigins: string[] = [];

/** Temporary directories and apps, cleaned up by `cleanup()`. */
export function fixtures() {
  const dirs: string[] = [];
  const closers: (() => Promise<void> | void)[] = [];
  return {
    /** A new store file in a new temporary directory. */
    async storeFile(): Promise<string> {
      const dir = await mkdtemp(path.join(os.tmpdir(), "scmpc-bridge-"));
      dirs.push(dir);
      return path.join(dir, "bridge", "jobs.sqlite");
    },
    /** Opens a store (closed at cleanup). */
    openStore(file: string): JobStore {
      const store = openJobStore(file);
      closers.push(() => store.close());
      return store;
    },
    /** An app over `store` (or a new one), with the test access key and silent logs. */
    async app(deps: Partial<BridgeDeps> & Pick<BridgeDeps, "hosts">, storeFile?: string) {
      const store = deps.store ?? this.openStore(storeFile ?? (await this.storeFile()));
      const app = buildApp({
        checker: recordingChecker().checker,
        accessKey: ACCESS_KEY,
        jobTimeoutMs: 5_000,
        fastify: { logger: false },
        ...deps,
        callbacks: { allowedOrigins: callbackOrigins, ...deps.callbacks },
        store,
      });
      closers.unshift(() => app.close());
      return { app, store };
    },
    onCleanup(fn: () => Promise<void> | void) {
      closers.unshift(fn);
    },
    async cleanup() {
      for (const close of closers.splice(0)) await close();
      for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
    },
  };
}

/** One request the fake Chainlink node received on its responseURL. */
export interface ReceivedCallback {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
}

/**
 * A local HTTP server playing a Chainlink node's `/v2/resume/<id>` endpoint.
 * `status` decides the answer to each PATCH (default 200); `next()` resolves
 * with the next PATCH received.
 */
export async function startCallbackServer(status: (n: number) => number = () => 200) {
  const received: ReceivedCallback[] = [];
  const waiters: ((c: ReceivedCallback) => void)[] = [];
  const server = createServer((req, res) => {
    let text = "";
    req.on("data", (chunk: Buffer) => (text += chunk.toString()));
    req.on("end", () => {
      const callback = { method: req.method ?? "", path: req.url ?? "", headers: req.headers, body: JSON.parse(text || "{}") as Record<string, unknown> };
      received.push(callback);
      res.writeHead(status(received.length)).end();
      const waiter = waiters.shift();
      if (waiter) waiter(callback);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  let seen = 0;
  return {
    url: (id: string) => `http://127.0.0.1:${port}/v2/resume/${id}`,
    origin: registerOrigin(`http://127.0.0.1:${port}`),
    received,
    /** The next PATCH not yet handed out by `next()`. */
    next(): Promise<ReceivedCallback> {
      const index = seen++;
      if (received[index]) return Promise.resolve(received[index]);
      return new Promise((resolve) => waiters.push(resolve));
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function registerOrigin(origin: string): string {
  callbackOrigins.push(origin);
  return origin;
}
