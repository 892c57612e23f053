import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { createTlsMaterial, type TlsMaterial } from "@scmpc/mpc-engine/tls";
import { loadBridgeConfig } from "../src/config.ts";

describe("bridge configuration: how the hosts' Host API is trusted", () => {
  let dir: string;
  let tls: TlsMaterial;
  const base = {
    SCMPC_BRIDGE_ACCESS_KEY: "a-long-enough-access-key",
    SCMPC_BRIDGE_SIGNING_KEY: `0x${"4b".repeat(32)}`,
    SCMPC_HOSTS: "127.0.0.1:1,127.0.0.1:2,127.0.0.1:3",
    SCMPC_RPC_URL: "http://127.0.0.1:8545",
  };
  const fails = (env: NodeJS.ProcessEnv, pattern: RegExp) =>
    assert.throws(() => loadBridgeConfig(env), (err: unknown) => (err as { code?: string }).code === "CONFIG_INVALID" && pattern.test((err as Error).message));

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "scmpc-bridge-config-"));
    tls = await createTlsMaterial({ hosts: 3, dir });
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("pins the three hosts' certificates, given as files or as fingerprints, under their CA", () => {
    const fingerprints = tls.hosts.map((h) => h.fingerprint);
    const fromFiles = loadBridgeConfig({ ...base, SCMPC_HOSTS_TLS_CA: tls.caFile, SCMPC_HOSTS_CERTS: tls.hosts.map((h) => h.certFile).join(",") });
    assert.deepEqual(fromFiles.hostsTls?.fingerprints, fingerprints);
    assert.match(fromFiles.hostsTls!.ca, /BEGIN CERTIFICATE/);
    const fromPins = loadBridgeConfig({ ...base, SCMPC_HOSTS_TLS_CA: tls.caFile, SCMPC_HOSTS_FINGERPRINTS: fingerprints.map((f) => f.toUpperCase()).join(",") });
    assert.deepEqual(fromPins.hostsTls, fromFiles.hostsTls);
  });

  it("requires TLS to the hosts unless SCMPC_HOSTS_INSECURE=true, and names what is wrong", () => {
    fails(base, /SCMPC_HOSTS_TLS_CA is required/);
    assert.equal(loadBridgeConfig({ ...base, SCMPC_HOSTS_INSECURE: "true" }).hostsTls, undefined);
    fails({ ...base, SCMPC_HOSTS_INSECURE: "true", SCMPC_HOSTS_TLS_CA: tls.caFile }, /exclude each other/);
    fails({ ...base, SCMPC_HOSTS_TLS_CA: tls.caFile }, /SCMPC_HOSTS_CERTS or SCMPC_HOSTS_FINGERPRINTS/);
    fails(
      { ...base, SCMPC_HOSTS_TLS_CA: tls.caFile, SCMPC_HOSTS_CERTS: tls.hosts[0].certFile, SCMPC_HOSTS_FINGERPRINTS: tls.hosts[0].fingerprint },
      /exactly one of them/,
    );
    fails({ ...base, SCMPC_HOSTS_TLS_CA: tls.caFile, SCMPC_HOSTS_CERTS: tls.hosts[0].certFile }, /three hosts/);
    fails({ ...base, SCMPC_HOSTS_TLS_CA: path.join(dir, "missing.pem"), SCMPC_HOSTS_FINGERPRINTS: tls.hosts.map((h) => h.fingerprint).join(",") }, /ENOENT/);
    fails({ ...base, SCMPC_HOSTS_TLS_CA: tls.caFile, SCMPC_HOSTS_FINGERPRINTS: "aa,bb,cc" }, /not 64 hex digits/);
  });

  it("requires the bridge's signing key (the hosts take Compute only from it) without echoing a bad one", () => {
    const { SCMPC_BRIDGE_SIGNING_KEY: _, ...withoutKey } = base;
    fails({ ...withoutKey, SCMPC_HOSTS_INSECURE: "true" }, /SCMPC_BRIDGE_SIGNING_KEY is required/);
    const secretish = `0x${"4b".repeat(31)}zz`;
    assert.throws(
      () => loadBridgeConfig({ ...base, SCMPC_HOSTS_INSECURE: "true", SCMPC_BRIDGE_SIGNING_KEY: secretish }),
      (err: unknown) => /SCMPC_BRIDGE_SIGNING_KEY/.test((err as Error).message) && !(err as Error).message.includes(secretish),
    );
    assert.equal(loadBridgeConfig({ ...base, SCMPC_HOSTS_INSECURE: "true" }).signingKey, base.SCMPC_BRIDGE_SIGNING_KEY);
  });

  it("calls back only a Chainlink node's own API by default, or the origins listed", () => {
    const config = loadBridgeConfig({ ...base, SCMPC_HOSTS_INSECURE: "true" });
    assert.deepEqual(config.callbacks.allowedOrigins, ["http://localhost:6688", "http://127.0.0.1:6688"]);
    const listed = loadBridgeConfig({ ...base, SCMPC_HOSTS_INSECURE: "true", SCMPC_BRIDGE_CALLBACK_ORIGINS: "https://node.example:6689/" });
    assert.deepEqual(listed.callbacks.allowedOrigins, ["https://node.example:6689"]);
  });
});
