import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readFile, rm } from "node:fs/promises";
import { get as httpsGet } from "node:https";
import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { JsonRpcProvider, Wallet } from "ethers";
import { createGrpcHostsClient } from "@scmpc/bridge";
import { createTlsMaterial, readTlsMaterial, type HostApiTls } from "@scmpc/mpc-engine/tls";
import { DEV_ROLES, devPrivateKey } from "./accounts.ts";
import { deployDevMarket } from "./dev-market.ts";
import { freePort, startProcess, stopProcess, waitUntil } from "./processes.ts";
import type { ManagedProcess } from "./processes.ts";
import { writeState } from "./state.ts";
import { serveWebMarket, spkiHash, WEB_DIST, type WebServer } from "./web-server.ts";
import type { StackState } from "./state.ts";

const REPO_ROOT = path.resolve(fileURLToPath(import.meta.url), "../../..");
const TSX_LOADER = import.meta.resolve("tsx");
const START_TIMEOUT_MS = 60_000;

/** A running local stack: chain, market contracts, three hosts, bridge and relay on 127.0.0.1. */
export interface LocalStack {
  state: StackState;
  dir: string;
  processes: ManagedProcess[];
  /**
   * The bridge's signing key of this stack (made fresh at each start, never
   * written to the state file): the hosts answer Compute and SignResult only
   * when signed by it. For benchmarks and tests that drive the hosts themselves.
   */
  bridgeSigningKey: string;
  /** The bridge's access key of this stack (callers send it as `Authorization: Bearer`); empty without the oracle. */
  bridgeAccessKey: string;
  /** Where the relay answers `GET /health` (its counts of requests by state); empty without the oracle. */
  relayHealthUrl: string;
  /**
   * The SHA-256 hashes (base64) of the three hosts' public keys, for
   * Chromium's `--ignore-certificate-errors-spki-list`: a browser started
   * with them trusts exactly the local hosts' web endpoints.
   */
  webTrust: string[];
  /** Stops every process the stack started (and only those), and the web market's server. */
  stop(): Promise<void>;
  /**
   * Starts a stopped or killed service again ("host-0".."host-2", "bridge",
   * "relay") with the same command, environment and data, and resolves once
   * it is ready. For operators' drills and the crash tests.
   */
  restart(name: string): Promise<ManagedProcess>;
}

/** A compiled contract every part loads; its absence means the contracts were never built. */
const ARTIFACT_PROBE = path.join(REPO_ROOT, "contracts", "artifacts", "contracts", "AlgorithmComputation.sol", "AlgorithmComputation.json");

/**
 * Compiles the contracts (`hardhat build`) when their artifacts are missing,
 * so that a newcomer's `npm install && npx scmpc up` works without a separate
 * build step.
 */
async function ensureContractsBuilt(say: (line: string) => void): Promise<void> {
  if (existsSync(ARTIFACT_PROBE)) return;
  say("contracts  not built yet: compiling them (hardhat build) ...");
  try {
    await promisify(execFile)(process.execPath, [hardhatCli(), "build", "--quiet"], { cwd: path.join(REPO_ROOT, "contracts"), maxBuffer: 16 << 20 });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`compiling the contracts failed: ${(e.stderr || e.message).trim().split("\n").slice(-5).join("\n")}`, { cause: err });
  }
}

/** The web market's build, made when missing (as the contracts are) so that `scmpc up` serves it on a fresh clone. */
async function ensureWebBuilt(say: (line: string) => void): Promise<void> {
  if (existsSync(path.join(WEB_DIST, "index.html"))) return;
  say("web        not built yet: building it (vite build) ...");
  const require = createRequire(path.join(REPO_ROOT, "web", "package.json"));
  const vite = path.join(path.dirname(require.resolve("vite/package.json")), "bin", "vite.js");
  try {
    await promisify(execFile)(process.execPath, [vite, "build", "--logLevel", "error"], { cwd: path.join(REPO_ROOT, "web"), maxBuffer: 16 << 20 });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`building the web market failed: ${(e.stderr || e.message).trim().split("\n").slice(-5).join("\n")}`, { cause: err });
  }
}

function hardhatCli(): string {
  const require = createRequire(path.join(REPO_ROOT, "contracts", "package.json"));
  const pkgPath = require.resolve("hardhat/package.json");
  const pkg = require(pkgPath) as { bin: string | Record<string, string> };
  const bin = typeof pkg.bin === "string" ? pkg.bin : pkg.bin.hardhat;
  return path.join(path.dirname(pkgPath), bin);
}

/**
 * SCMPC_HOST_WORKERS for each of three hosts sharing this machine: a third
 * of its cores, at least 1. A host's own default (all the cores) would put
 * three threads' PRF draws beside three event loops, measured slower on two
 * cores (mpc-engine/README.md, Cores).
 *
 * @example
 * stackHostWorkers() // 1 on a 2-core machine
 */
export function stackHostWorkers(): number {
  return Math.max(1, Math.floor(availableParallelism() / 3));
}

/**
 * Starts the whole market on 127.0.0.1: a Hardhat (EDR) node, the market
 * contracts with Chainlink's Operator and LinkToken, three MPC host
 * processes, the bridge and the relay, each on a free port. Writes the state
 * file other commands read. Host share stores live under `dir/hosts` and are
 * wiped at start, because the local chain they refer to starts empty.
 *
 * @example
 * const stack = await startLocalStack({ dir: ".scmpc" });
 * // ... scmpc seller upload / buyer request ...
 * await stack.stop();
 */
export async function startLocalStack(options: {
  dir: string;
  /** Called with a short line as each part comes up. */
  progress?: (line: string) => void;
  logLevel?: string;
  /** Start the bridge and the relay (default true); without them requests stay pending on-chain. */
  oracle?: boolean;
  /** Serve the web market (default true). */
  web?: boolean;
  /**
   * Keep the hosts' share stores and finished jobs from the previous start
   * (default false: the chain starts empty, so they are wiped). For drills of
   * a chain reset that kept the hosts' disks.
   */
  keepHostData?: boolean;
}): Promise<LocalStack> {
  const dir = path.resolve(options.dir);
  const say = options.progress ?? (() => {});
  const logDir = path.join(dir, "logs");
  if (!options.keepHostData) await rm(path.join(dir, "hosts"), { recursive: true, force: true });
  // The chain is new on every start, so the relay's store of the last one is stale too.
  await rm(path.join(dir, "relay"), { recursive: true, force: true });
  // So is the bridge's job store: a new chain repeats the old request ids.
  await rm(path.join(dir, "bridge"), { recursive: true, force: true });
  await mkdir(logDir, { recursive: true });
  await ensureContractsBuilt(say);
  const processes: ManagedProcess[] = [];
  // The bridge's key: the hosts take Compute and SignResult from it alone.
  const bridgeWallet = Wallet.createRandom();
  const baseEnv = { ...process.env, SCMPC_LOG_LEVEL: options.logLevel ?? process.env.SCMPC_LOG_LEVEL ?? "info" };
  const entries = new Map<string, { entry: string; env: NodeJS.ProcessEnv }>();
  /** How to tell that a restarted service is ready, by name. */
  const readiness = new Map<string, () => Promise<boolean>>();
  const tsEntry = (name: string, entry: string, env: NodeJS.ProcessEnv) => {
    entries.set(name, { entry, env });
    const proc = startProcess(name, process.execPath, ["--import", TSX_LOADER, path.join(REPO_ROOT, entry)], {
      cwd: REPO_ROOT,
      env: { ...baseEnv, ...env },
      logFile: path.join(logDir, `${name}.log`),
    });
    processes.push(proc);
    return proc;
  };
  const restart = async (name: string): Promise<ManagedProcess> => {
    const spec = entries.get(name);
    const ready = readiness.get(name);
    if (spec === undefined || ready === undefined) throw new Error(`the stack has no restartable service "${name}"`);
    const old = processes.findIndex((p) => p.name === name);
    if (old >= 0) {
      await stopProcess(processes[old]);
      processes.splice(old, 1);
    }
    const proc = tsEntry(name, spec.entry, spec.env);
    await waitUntil(proc, ready, START_TIMEOUT_MS);
    return proc;
  };

  let web: WebServer | undefined;
  const stop = async () => {
    await web?.close();
    // Reverse order: the relay and the bridge go before what they depend on.
    for (const proc of [...processes].reverse()) await stopProcess(proc);
  };

  try {
    const chainPort = await freePort();
    const rpcUrl = `http://127.0.0.1:${chainPort}`;
    const chain = startProcess("chain", process.execPath, [hardhatCli(), "node", "--hostname", "127.0.0.1", "--port", String(chainPort)], {
      cwd: path.join(REPO_ROOT, "contracts"),
      env: baseEnv,
      logFile: path.join(logDir, "chain.log"),
    });
    processes.push(chain);
    let chainId = 0;
    await waitUntil(
      chain,
      async () => {
        const res = await fetch(rpcUrl, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
        });
        chainId = Number(((await res.json()) as { result: string }).result);
        return chainId > 0;
      },
      START_TIMEOUT_MS,
    );
    // One request per HTTP call: the deployment makes a few hundred calls one
    // after the other, and ethers' default batching would stall each by 10 ms.
    const provider = new JsonRpcProvider(rpcUrl, chainId, { staticNetwork: true, batchMaxCount: 1 });
    say(`chain      ${rpcUrl} (chain id ${chainId})`);

    // Host-to-host mutual TLS: one CA and three host certificates, made on
    // the first run and reused (they do not depend on the chain).
    const tlsDir = path.join(dir, "tls");
    const tls = (await readTlsMaterial({ hosts: 3, dir: tlsDir })) ?? (await createTlsMaterial({ hosts: 3, dir: tlsDir }));
    const hostPorts = [await freePort(), await freePort(), await freePort()];
    const hosts = hostPorts.map((port) => `127.0.0.1:${port}`);
    const peerPorts = [await freePort(), await freePort(), await freePort()];
    const peerEndpoints = peerPorts.map((port) => `127.0.0.1:${port}`);
    // Each host's web API for browsers, over HTTPS with its Host API certificate (which names 127.0.0.1).
    const webPorts = [await freePort(), await freePort(), await freePort()];
    const hostWebUrls = webPorts.map((port) => `https://127.0.0.1:${port}`);
    // Each host's operator and result signer: development accounts 6, 7, 8.
    const hostKeys = [DEV_ROLES.host0, DEV_ROLES.host1, DEV_ROLES.host2].map((i) => devPrivateKey(i));
    const relayKey = devPrivateKey(DEV_ROLES.relay);
    // The Hardhat Ignition module LocalMarket (contracts/ignition/modules), run
    // in memory: the chain starts empty every time, so no journal is kept.
    const contracts = await deployDevMarket(
      provider,
      hosts.map((endpoint, index) => ({ endpoint, tlsFingerprint: tls.hosts[index].fingerprint })),
    );
    provider.destroy();
    say(`contracts  (Ignition module LocalMarket) registry ${contracts.registry}, hosts ${contracts.hostRegistry}, factory ${contracts.factory}, ${Object.keys(contracts.algorithms).length} algorithm contracts`);

    const hostProcs = hosts.map((endpoint, index) =>
      tsEntry(`host-${index}`, "mpc-engine/src/main.ts", {
        SCMPC_HOST_INDEX: String(index),
        SCMPC_HOST_LISTEN: endpoint,
        SCMPC_HOST_PEER_LISTEN: peerEndpoints[index],
        SCMPC_HOST_WEB_LISTEN: `127.0.0.1:${webPorts[index]}`,
        SCMPC_HOST_PEERS: peerEndpoints.join(","),
        SCMPC_HOST_TLS_CA: tls.caFile,
        SCMPC_HOST_TLS_CERT: tls.hosts[index].certFile,
        SCMPC_HOST_TLS_KEY: tls.hosts[index].keyFile,
        SCMPC_HOST_PEER_FINGERPRINTS: tls.hosts.map((h) => h.fingerprint).join(","),
        SCMPC_HOST_DATA_DIR: path.join(dir, "hosts", String(index)),
        SCMPC_RPC_URL: rpcUrl,
        SCMPC_REGISTRY_ADDRESS: contracts.registry,
        SCMPC_ALGORITHM_CONTRACTS: Object.values(contracts.algorithms).join(","),
        SCMPC_HOST_SIGNING_KEY: hostKeys[index],
        SCMPC_HOST_BRIDGE_ADDRESS: bridgeWallet.address,
        SCMPC_HOST_WORKERS: process.env.SCMPC_HOST_WORKERS ?? String(stackHostWorkers()),
      }),
    );
    // The bridge's own client asks each host for its health (and its index).
    // Sellers, the bridge and this readiness check reach the Host API over TLS,
    // pinning the same certificates the hosts present to each other.
    const hostTls: HostApiTls = { ca: await readFile(tls.caFile, "utf8"), fingerprints: tls.hosts.map((h) => h.fingerprint) };
    // A host is up once both its Host API and its web API answer health.
    const hostsClient = createGrpcHostsClient(hosts, { tls: hostTls });
    try {
      await Promise.all(
        hostProcs.map((proc, index) =>
          waitUntil(
            proc,
            async () => (await hostsClient.health(1_000))[index].reachable && (await webHealthy(hostWebUrls[index], hostTls.ca, index)),
            START_TIMEOUT_MS,
          ),
        ),
      );
    } finally {
      hostsClient.close();
    }
    hosts.forEach((_, index) =>
      readiness.set(`host-${index}`, async () => {
        const client = createGrpcHostsClient(hosts, { tls: hostTls });
        try {
          return (await client.health(1_000))[index].reachable && (await webHealthy(hostWebUrls[index], hostTls.ca, index));
        } finally {
          client.close();
        }
      }),
    );
    say(`hosts      ${hosts.join(", ")} (web ${hostWebUrls.join(", ")}; peer mTLS ${peerEndpoints.join(", ")}, certificates in ${tlsDir})`);

    let bridgeUrl = "";
    let bridgeAccessKey = "";
    let relayHealthUrl = "";
    if (options.oracle ?? true) {
      const bridgePort = await freePort();
      bridgeUrl = `http://127.0.0.1:${bridgePort}`;
      // A fresh access key per stack start; the relay presents it as Authorization: Bearer.
      bridgeAccessKey = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("hex");
      const bridge = tsEntry("bridge", "bridge/src/server.ts", {
        SCMPC_BRIDGE_LISTEN: `127.0.0.1:${bridgePort}`,
        SCMPC_HOSTS: hosts.join(","),
        SCMPC_HOSTS_TLS_CA: tls.caFile,
        SCMPC_HOSTS_FINGERPRINTS: hostTls.fingerprints.join(","),
        SCMPC_BRIDGE_ACCESS_KEY: bridgeAccessKey,
        SCMPC_BRIDGE_SIGNING_KEY: bridgeWallet.privateKey,
        // Durable job state (one row per request id); a restarted bridge finishes what it acknowledged.
        SCMPC_BRIDGE_STORE: path.join(dir, "bridge", "jobs.sqlite"),
        // The bridge checks every request on-chain before it drives the hosts.
        SCMPC_RPC_URL: rpcUrl,
        SCMPC_ALGORITHM_CONTRACTS: Object.values(contracts.algorithms).join(","),
      });
      readiness.set("bridge", async () => (await fetch(`${bridgeUrl}/health`)).ok);
      await waitUntil(bridge, readiness.get("bridge")!, START_TIMEOUT_MS);
      say(`bridge     ${bridgeUrl}`);

      const relayHealthPort = await freePort();
      const relay = tsEntry("relay", "bridge/src/relay/main.ts", {
        SCMPC_RELAY_HEALTH_LISTEN: `127.0.0.1:${relayHealthPort}`,
        SCMPC_RPC_URL: rpcUrl,
        SCMPC_OPERATOR_ADDRESS: contracts.operator,
        // Serve the factory's algorithm contracts only, paying the market's LINK fee.
        SCMPC_FACTORY_ADDRESS: contracts.factory,
        SCMPC_RELAY_MIN_PAYMENT: contracts.linkFee,
        SCMPC_RELAY_PRIVATE_KEY: relayKey,
        SCMPC_BRIDGE_URL: bridgeUrl,
        SCMPC_BRIDGE_ACCESS_KEY: bridgeAccessKey,
        SCMPC_RELAY_FROM_BLOCK: String(contracts.deployBlock),
        SCMPC_RELAY_POLL_MS: "200",
        // Durable relay state (last block, one row per request); a restart of
        // the relay resumes from it. Hardhat mines a block per transaction, so
        // waiting for confirmations would stall requests: 0.
        SCMPC_RELAY_STORE: path.join(dir, "relay", "relay.sqlite"),
        SCMPC_RELAY_CONFIRMATIONS: "0",
      });
      relayHealthUrl = `http://127.0.0.1:${relayHealthPort}/health`;
      readiness.set("relay", async () => (await fetch(relayHealthUrl)).ok);
      await waitUntil(relay, readiness.get("relay")!, START_TIMEOUT_MS);
      say(`relay      ${new Wallet(relayKey).address} (authorized sender of the Operator)`);
    }

    // The web market: the static build and its config.json, with the local chain's development accounts to act as.
    const webTrust = await Promise.all(tls.hosts.map(async (h) => spkiHash(await readFile(h.certFile, "utf8"))));
    let webUrl: string | undefined;
    if (options.web ?? true) {
      await ensureWebBuilt(say);
      const devAccounts = (["seller", "buyer", "seller2", "buyer2"] as const).map((label) => {
        const privateKey = devPrivateKey(DEV_ROLES[label]);
        return { label, address: new Wallet(privateKey).address, privateKey };
      });
      web = await serveWebMarket({ port: await freePort(), config: { rpcUrl, chainId, contracts, hostWebUrls, devAccounts } });
      webUrl = web.url;
      // The hosts' web endpoints present the stack's own certificates: a browser must be told to trust them.
      say(`web        ${webUrl} (hosts' certificates for Chromium: --ignore-certificate-errors-spki-list=${webTrust.join(",")})`);
    }

    const state: StackState = {
      rpcUrl,
      chainId,
      contracts,
      hosts,
      hostTls,
      hostWebUrls,
      ...(webUrl === undefined ? {} : { webUrl }),
      bridgeUrl,
      pids: Object.fromEntries(processes.map((p) => [p.name, p.child.pid ?? -1])),
      startedAt: new Date().toISOString(),
    };
    await writeState(dir, state);
    return { state, dir, processes, stop, restart, webTrust, bridgeSigningKey: bridgeWallet.privateKey, bridgeAccessKey, relayHealthUrl };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * Whether the web API at `url` answers `GET /v1/health` as host `hostIndex`,
 * over HTTPS trusting only the deployment CA `ca`.
 */
function webHealthy(url: string, ca: string, hostIndex: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = httpsGet(`${url}/v1/health`, { ca, timeout: 1_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => {
        try {
          const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { hostIndex?: number; status?: string };
          resolve(res.statusCode === 200 && body.hostIndex === hostIndex && body.status === "SERVING");
        } catch {
          resolve(false);
        }
      });
      res.on("error", () => resolve(false));
    });
    req.on("timeout", () => req.destroy(new Error("timed out")));
    req.on("error", () => resolve(false));
  });
}
