import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { readdirSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { JsonRpcProvider, Wallet } from "ethers";
import { parse } from "yaml";
import { loadHostConfig } from "@scmpc/mpc-engine/host";
import { loadPeerTls, runTlsCommand } from "@scmpc/mpc-engine/tls";
import { loadBridgeConfig } from "../bridge/src/config.ts";
import { loadRelayConfig } from "../bridge/src/relay/config.ts";
import { DEV_ROLES, devPrivateKey, resolveSigner } from "../client/src/accounts.ts";
import { buyComputation } from "../client/src/buyer.ts";
import { uploadDataset } from "../client/src/seller.ts";
import { startLocalStack, type LocalStack } from "../client/src/stack.ts";
import { readState, type StackState } from "../client/src/state.ts";

// The compose deployment (docker-compose.yml, deploy/docker/*.Dockerfile):
// its services' environments must load with the services' own typed
// configuration, every endpoint one service dials must be one another listens
// on, and a seller upload and a buyer sum must go through it. Containers need
// a container runtime; where there is none (as on the CI machines) that test
// is skipped, and the same scenario runs against the plain-process stack.
const ROOT = path.resolve(fileURLToPath(import.meta.url), "../..");
const SAMPLE = path.join(ROOT, "client", "samples", "salaries.csv");
const COMPOSE_STATE = path.join(ROOT, ".scmpc", "compose");

interface Service {
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
  user?: string;
}
const compose = parse(await readFile(path.join(ROOT, "docker-compose.yml"), "utf8"), { merge: true }) as {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
};
const services = compose.services;
const HOSTS = ["host0", "host1", "host2"];

/** Compose's `${VAR:-default}` with this process's environment. */
function interpolate(value: string): string {
  return value.replace(/\$\{([A-Z0-9_]+)(?::-([^}]*))?\}/g, (_, name: string, fallback: string | undefined) => process.env[name] ?? fallback ?? "");
}
function envOf(name: string): Record<string, string> {
  return Object.fromEntries(Object.entries(services[name].environment ?? {}).map(([k, v]) => [k, interpolate(String(v))]));
}
const portOf = (hostPort: string): number => Number(/:(\d+)$/.exec(hostPort)![1]);
/** The host side of a published port `127.0.0.1:<host>:<container>` whose container side is `containerPort`. */
function published(name: string, containerPort: number): number {
  const entry = (services[name].ports ?? []).find((p) => portOf(p) === containerPort);
  assert.ok(entry, `${name} publishes port ${containerPort}`);
  const parts = entry.split(":");
  assert.equal(parts[0], "127.0.0.1", `${name} publishes on loopback only`);
  return Number(parts[1]);
}
/** Named volume → mount path in a service. */
function mounts(name: string): Map<string, string> {
  return new Map((services[name].volumes ?? []).map((v) => [v.split(":")[0], v.split(":")[1]]));
}
/**
 * The dev scenario, in exact mode: a seller lists the sample table allowing
 * exact sums, a buyer buys the exact sum; the decrypted sum equals the plaintext one.
 */
async function sellAndBuySum(state: StackState, keyDir: string): Promise<void> {
  const provider = new JsonRpcProvider(state.rpcUrl, state.chainId, { staticNetwork: true });
  try {
    const seller = resolveSigner({ defaultRole: "seller" }, provider);
    const buyer = resolveSigner({ defaultRole: "buyer" }, provider);
    const dataset = await uploadDataset({ state, seller, file: SAMPLE, name: `salaries-${Date.now()}`, columns: ["salary"], price: "25", exact: ["sum@1"] });
    const bought = await buyComputation({ state, buyer, algorithm: "sum", datasetIds: [dataset.datasetId], params: JSON.stringify({ column: "salary" }), keyDir, exact: true });
    assert.equal(bought.result, dataset.plaintextSums.salary);
  } finally {
    provider.destroy();
  }
}

const noRuntime = await import("testcontainers").then(
  async ({ getContainerRuntimeClient }) =>
    getContainerRuntimeClient().then(
      () => undefined,
      (err: Error) => `no container runtime is reachable here (${err.message}); the same scenario runs against the plain-process stack below`,
    ),
  (err: Error) => `testcontainers does not load: ${err.message}`,
);

describe("docker-compose.yml and the services' configuration", () => {
  let dir: string;
  /** Local stand-ins for the compose volumes, by volume name. */
  const volumeDirs = new Map<string, string>();

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "scmpc-compose-"));
    // Run the TLS job's own command, its volumes mapped to local directories.
    const tlsInit = services["tls-init"];
    for (const [volume, target] of mounts("tls-init")) volumeDirs.set(volume, path.join(dir, "volumes", target));
    // Every path the job writes lands under `dir/volumes`, mirroring the container's file system.
    const local = (p: string) => path.join(dir, "volumes", p);
    const args = tlsInit.command!.slice(tlsInit.command!.indexOf("mpc-engine/src/tls/main.ts") + 1);
    assert.ok(args.length > 0, "tls-init runs the TLS command");
    const mapped = args.map((arg, i) => (args[i - 1] === "--owner" ? `${process.getuid!()}:${process.getgid!()}` : arg.startsWith("/") ? local(arg) : arg));
    await runTlsCommand(mapped, { log: () => {} });
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** A service's environment with paths inside its volumes mapped to the local stand-ins. */
  function localEnv(name: string): Record<string, string> {
    const env = envOf(name);
    const mapPath = (p: string): string => {
      for (const [volume, target] of mounts(name)) {
        if (p !== target && !p.startsWith(`${target}/`)) continue;
        const base = volumeDirs.get(volume) ?? path.join(dir, "volumes", name, volume);
        return base + p.slice(target.length);
      }
      return p;
    };
    return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, v.split(",").map((part) => (part.startsWith("/") ? mapPath(part) : part)).join(",")]));
  }

  it("gives every service the variables its configuration requires, valid", async () => {
    for (const [index, name] of HOSTS.entries()) {
      const env = localEnv(name);
      await mkdir(env.SCMPC_HOST_DATA_DIR, { recursive: true });
      const config = loadHostConfig(env);
      assert.equal(config.hostIndex, index, `${name} is host ${index}`);
      // Its TLS files are consistent and it pins its own certificate at its own index.
      loadPeerTls({ hostIndex: config.hostIndex, tls: config.tls, peerFingerprints: config.peerFingerprints });
      assert.equal(new Wallet(config.signingKey).address, new Wallet(devPrivateKey(DEV_ROLES[name as "host0"])).address, `${name} signs with the key the deployer registers`);
    }
    const bridge = loadBridgeConfig(localEnv("bridge"));
    // The bridge and the CLI's state trust the hosts' Host API as the hosts present it.
    const presented = await Promise.all(HOSTS.map(async (name) => new X509Certificate(await readFile(localEnv(name).SCMPC_HOST_TLS_CERT))));
    assert.deepEqual(bridge.hostsTls?.fingerprints, presented.map((c) => c.fingerprint256.replaceAll(":", "").toLowerCase()), "the bridge pins the hosts' certificates");
    assert.equal(bridge.hostsTls?.ca, await readFile(localEnv("host0").SCMPC_HOST_TLS_CA, "utf8"), "the bridge trusts the hosts' CA");
    assert.equal(await readFile(localEnv("deployer").SCMPC_DEPLOY_HOSTS_CA, "utf8"), bridge.hostsTls?.ca);
    const relay = loadRelayConfig(localEnv("relay"));
    assert.equal(relay.bridgeAccessKey, bridge.accessKey, "the relay presents the bridge's access key");
    for (const name of HOSTS) {
      assert.equal(loadHostConfig(localEnv(name)).bridgeAddress, new Wallet(bridge.signingKey).address, `${name} takes Compute from the bridge's key`);
    }
    assert.equal(new Wallet(relay.privateKey).address, new Wallet(devPrivateKey(DEV_ROLES.relay)).address, "the relay sends from the Operator's authorized sender");
    // The deployer fingerprints the certificates the hosts present.
    const deployer = localEnv("deployer");
    const certs = deployer.SCMPC_DEPLOY_HOST_CERTS.split(",");
    for (const [index, name] of HOSTS.entries()) {
      const hostCert = new X509Certificate(await readFile(localEnv(name).SCMPC_HOST_TLS_CERT));
      assert.equal(new X509Certificate(await readFile(certs[index])).fingerprint256, hostCert.fingerprint256, `the deployer registers ${name}'s certificate`);
    }
    // Everyone agrees on the market's addresses.
    for (const name of [...HOSTS, "bridge", "relay", "deployer"]) {
      assert.equal(envOf(name).SCMPC_REGISTRY_ADDRESS, envOf("deployer").SCMPC_REGISTRY_ADDRESS, `${name}'s registry`);
      assert.equal(envOf(name).SCMPC_ALGORITHM_CONTRACTS, envOf("deployer").SCMPC_ALGORITHM_CONTRACTS, `${name}'s algorithm contracts`);
    }
    assert.equal(envOf("relay").SCMPC_OPERATOR_ADDRESS, envOf("deployer").SCMPC_OPERATOR_ADDRESS);
    assert.equal(envOf("relay").SCMPC_FACTORY_ADDRESS, envOf("deployer").SCMPC_FACTORY_ADDRESS);
  });

  it("dials only endpoints that a service listens on, with certificates naming them", async () => {
    const chainPort = Number(services.chain.command![services.chain.command!.indexOf("--port") + 1]);
    for (const name of [...HOSTS, "bridge", "relay", "deployer"]) {
      const rpc = new URL(envOf(name).SCMPC_RPC_URL);
      assert.deepEqual([rpc.hostname, Number(rpc.port)], ["chain", chainPort], `${name} reaches the chain`);
    }
    const peerList = envOf("host0").SCMPC_HOST_PEERS.split(",");
    for (const [index, name] of HOSTS.entries()) {
      const env = envOf(name);
      assert.deepEqual(env.SCMPC_HOST_PEERS.split(","), peerList, `${name} lists the same peers`);
      const [peerHost, peerPort] = peerList[index].split(":");
      assert.equal(peerHost, name, `peer ${index} is ${name}`);
      assert.equal(Number(peerPort), portOf(env.SCMPC_HOST_PEER_LISTEN), `${name}'s peer port`);
      // Its certificate names it as its peers dial it.
      const cert = new X509Certificate(await readFile(localEnv(name).SCMPC_HOST_TLS_CERT));
      assert.ok(cert.subjectAltName!.split(", ").includes(`DNS:${name}`), `${name}'s certificate names ${name}: ${cert.subjectAltName}`);
    }
    const bridgeHosts = envOf("bridge").SCMPC_HOSTS.split(",");
    const publicHosts = envOf("deployer").SCMPC_DEPLOY_HOST_ENDPOINTS.split(",");
    for (const [index, name] of HOSTS.entries()) {
      const apiPort = portOf(envOf(name).SCMPC_HOST_LISTEN);
      assert.equal(bridgeHosts[index], `${name}:${apiPort}`, `the bridge dials ${name}'s Host API`);
      assert.equal(publicHosts[index], `127.0.0.1:${published(name, apiPort)}`, `sellers reach ${name} on its published port`);
    }
    const bridgePort = portOf(envOf("bridge").SCMPC_BRIDGE_LISTEN);
    const bridgeUrl = new URL(envOf("relay").SCMPC_BRIDGE_URL);
    assert.deepEqual([bridgeUrl.hostname, Number(bridgeUrl.port)], ["bridge", bridgePort], "the relay dials the bridge");
    assert.equal(Number(new URL(envOf("deployer").SCMPC_DEPLOY_PUBLIC_BRIDGE_URL).port), published("bridge", bridgePort));
    assert.equal(Number(new URL(envOf("deployer").SCMPC_DEPLOY_PUBLIC_RPC_URL).port), published("chain", chainPort));
  });

  it("gives each host its own data volume and its own TLS identity, and starts services in order", () => {
    const data = HOSTS.map((name) => [...mounts(name)].find(([, target]) => target === envOf(name).SCMPC_HOST_DATA_DIR)?.[0]);
    const tls = HOSTS.map((name) => [...mounts(name)].find(([, target]) => target === path.dirname(envOf(name).SCMPC_HOST_TLS_KEY))?.[0]);
    for (const volumes of [data, tls]) {
      assert.ok(volumes.every((v) => v !== undefined && v in compose.volumes), `named volumes: ${volumes.join(", ")}`);
      assert.equal(new Set(volumes).size, 3, `one per host: ${volumes.join(", ")}`);
    }
    // A host's TLS volume, as tls-init fills it, holds its own key and no other host's.
    for (const [index] of HOSTS.entries()) {
      const keys = readdirSync(volumeDirs.get(tls[index]!)!).filter((f) => f.endsWith("-key.pem"));
      assert.deepEqual(keys, [`host-${index}-key.pem`], `${tls[index]} holds host ${index}'s key only`);
    }
    const waitsFor = (name: string, dependency: string, condition: string) =>
      assert.equal(services[name].depends_on?.[dependency]?.condition, condition, `${name} waits for ${dependency} (${condition})`);
    for (const name of HOSTS) {
      waitsFor(name, "tls-init", "service_completed_successfully");
      waitsFor(name, "deployer", "service_completed_successfully");
      waitsFor("bridge", name, "service_healthy");
    }
    waitsFor("deployer", "chain", "service_healthy");
    waitsFor("relay", "bridge", "service_healthy");
  });
});

describe("a seller upload and a buyer sum through the deployment", { timeout: 600_000 }, () => {
  // Skipped, with `noRuntime` as the reason, where no Docker engine (or compatible runtime) is
  // reachable, as on the CI machines: the next test runs the same scenario on plain processes.
  it("on the compose stack (containers, testcontainers)", { skip: noRuntime }, async () => {
    const { DockerComposeEnvironment, Wait } = await import("testcontainers");
    await mkdir(COMPOSE_STATE, { recursive: true });
    const environment = await new DockerComposeEnvironment(ROOT, "docker-compose.yml")
      .withBuild()
      .withEnvironment({ SCMPC_UID: String(process.getuid!()), SCMPC_GID: String(process.getgid!()) })
      .withWaitStrategy("relay-1", Wait.forHealthCheck())
      .withStartupTimeout(600_000)
      .up();
    try {
      await sellAndBuySum(await readState(COMPOSE_STATE), path.join(COMPOSE_STATE, "buyer-keys"));
    } finally {
      await environment.down({ removeVolumes: true });
    }
  });

  describe("on the same services as plain processes, with mutual TLS between hosts", () => {
    let home: string;
    let stack: LocalStack;
    before(async () => {
      home = await mkdtemp(path.join(os.tmpdir(), "scmpc-processes-"));
      stack = await startLocalStack({ dir: home });
    });
    after(async () => {
      await stack?.stop();
      await rm(home, { recursive: true, force: true });
    });

    it("sells and buys the sum, at the contract addresses the compose services expect", async () => {
      // The hosts pin each other over mutual TLS (the stack's certificates).
      for (const name of ["host-0", "host-1", "host-2"]) {
        const log = await readFile(path.join(home, "logs", `${name}.log`), "utf8");
        assert.match(log, /"peerPort":\d+/, `${name} serves its peers`);
      }
      const expected = envOf("deployer");
      assert.equal(stack.state.contracts.registry, expected.SCMPC_REGISTRY_ADDRESS);
      assert.equal(stack.state.contracts.operator, expected.SCMPC_OPERATOR_ADDRESS);
      assert.equal(stack.state.contracts.factory, expected.SCMPC_FACTORY_ADDRESS);
      assert.equal(Object.values(stack.state.contracts.algorithms).join(","), expected.SCMPC_ALGORITHM_CONTRACTS);
      await sellAndBuySum(stack.state, path.join(home, "buyer-keys"));
    });
  });
});
