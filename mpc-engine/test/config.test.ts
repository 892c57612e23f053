import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { availableParallelism } from "node:os";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isMpcError } from "../src/index.ts";
import { loadHostConfig } from "../src/host/index.ts";
import { createTlsMaterial, loadPeerTls, type TlsMaterial } from "../src/tls/index.ts";

const fp = (byte: string): string => byte.repeat(32);
const valid = {
  SCMPC_HOST_INDEX: "1",
  SCMPC_HOST_PEER_LISTEN: "127.0.0.1:7102",
  SCMPC_HOST_PEERS: "127.0.0.1:7101,127.0.0.1:7102,127.0.0.1:7103",
  SCMPC_HOST_TLS_CA: "/etc/scmpc/ca.pem",
  SCMPC_HOST_TLS_CERT: "/etc/scmpc/host-1.pem",
  SCMPC_HOST_TLS_KEY: "/etc/scmpc/host-1-key.pem",
  SCMPC_HOST_PEER_FINGERPRINTS: `${fp("aa")},${fp("BB").replace(/(..)(?!$)/g, "$1:")},sha256:${fp("cc")}`,
  SCMPC_HOST_DATA_DIR: "/tmp/h1",
  SCMPC_RPC_URL: "http://127.0.0.1:8545",
  SCMPC_REGISTRY_ADDRESS: "0x5fbdb2315678afecb367f032d93f642f64180aa3",
  SCMPC_ALGORITHM_CONTRACTS: "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512, 0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0",
  SCMPC_HOST_SIGNING_KEY: `0x${"11".repeat(32)}`,
  SCMPC_HOST_BRIDGE_ADDRESS: "0x70997970c51812dc3a010c7d01b50e0d17dc79c8",
};

describe("host config", () => {
  it("builds a typed config with defaults", () => {
    const config = loadHostConfig(valid);
    assert.equal(config.hostIndex, 1);
    assert.equal(config.listen, "127.0.0.1:0");
    assert.equal(config.peerListen, "127.0.0.1:7102");
    assert.deepEqual(config.peers, ["127.0.0.1:7101", "127.0.0.1:7102", "127.0.0.1:7103"]);
    assert.deepEqual(config.tls, { caFile: "/etc/scmpc/ca.pem", certFile: "/etc/scmpc/host-1.pem", keyFile: "/etc/scmpc/host-1-key.pem" });
    // Colons, upper case and a sha256: prefix are accepted and normalised.
    assert.deepEqual(config.peerFingerprints, [fp("aa"), fp("bb"), fp("cc")]);
    assert.equal(config.jobTimeoutMs, 30_000);
    assert.equal(config.logLevel, "info");
    assert.equal(config.registryAddress, "0x5FbDB2315678afecb367f032d93F642f64180aa3");
    assert.equal(config.algorithmContracts.length, 2);
    assert.equal(config.signingKey, `0x${"11".repeat(32)}`);
    assert.equal(config.bridgeAddress, "0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
    assert.equal(config.releaseConfirmations, 0);
    assert.equal(config.deadlineMarginS, 60);
    assert.equal(config.maxUploadBytes, 512 * 1024 * 1024);
    assert.equal(config.maxShareBytes, 4 * 1024 ** 3);
    assert.equal(config.shareMemoryBytes, 512 * 1024 ** 2);
    assert.equal(config.workers, availableParallelism());
    assert.equal(config.sellerQuotaBytes, 4 * 1024 ** 3);
    assert.equal(config.unregisteredTtlMs, 3_600_000);
    assert.equal(config.unregisteredMaxBytes, 8 * 1024 ** 3);
  });

  it("takes Compute only from a bridge address it is given, and checks the guards' numbers", () => {
    const { SCMPC_HOST_BRIDGE_ADDRESS: _, ...withoutBridge } = valid;
    assert.throws(() => loadHostConfig(withoutBridge), (err: unknown) => isMpcError(err, "CONFIG_INVALID") && /SCMPC_HOST_BRIDGE_ADDRESS is required/.test(err.message));
    assert.throws(
      () => loadHostConfig({ ...valid, SCMPC_HOST_BRIDGE_ADDRESS: "bridge", SCMPC_HOST_RELEASE_CONFIRMATIONS: "-1", SCMPC_HOST_UNREGISTERED_TTL_S: "0", SCMPC_HOST_WORKERS: "0" }),
      (err: unknown) =>
        isMpcError(err, "CONFIG_INVALID") &&
        /SCMPC_HOST_BRIDGE_ADDRESS is not an address/.test(err.message) &&
        /SCMPC_HOST_RELEASE_CONFIRMATIONS must be an integer of at least 0/.test(err.message) &&
        /SCMPC_HOST_UNREGISTERED_TTL_S must be an integer of at least 1/.test(err.message) &&
        /SCMPC_HOST_WORKERS must be an integer of at least 1, got "0"/.test(err.message),
    );
    const tuned = loadHostConfig({ ...valid, SCMPC_HOST_RELEASE_CONFIRMATIONS: "12", SCMPC_HOST_DEADLINE_MARGIN_S: "300", SCMPC_HOST_SELLER_QUOTA_BYTES: "1048576", SCMPC_HOST_WORKERS: "1" });
    assert.deepEqual([tuned.releaseConfirmations, tuned.deadlineMarginS, tuned.sellerQuotaBytes, tuned.workers], [12, 300, 1048576, 1]);
  });

  it("requires a well-formed signing key and never repeats it in the error", () => {
    const secretish = `0x${"ab".repeat(31)}`;
    assert.throws(
      () => loadHostConfig({ ...valid, SCMPC_HOST_SIGNING_KEY: secretish }),
      (err: unknown) =>
        isMpcError(err, "CONFIG_INVALID") && /SCMPC_HOST_SIGNING_KEY must be a 0x-prefixed 32-byte hex private key/.test(err.message) && !err.message.includes(secretish),
    );
    const { SCMPC_HOST_SIGNING_KEY: _, ...missing } = valid;
    assert.throws(() => loadHostConfig(missing), (err: unknown) => isMpcError(err, "CONFIG_INVALID") && /SCMPC_HOST_SIGNING_KEY is required/.test(err.message));
  });

  it("pins peers from their certificate files instead of fingerprints, and says what is wrong with them", () => {
    const { SCMPC_HOST_PEER_FINGERPRINTS: _, ...withoutPins } = valid;
    assert.throws(
      () => loadHostConfig({ ...withoutPins, SCMPC_HOST_PEER_CERTS: "/nonexistent/a.pem,/nonexistent/b.pem,/nonexistent/c.pem" }),
      (err: unknown) => isMpcError(err, "CONFIG_INVALID") && /SCMPC_HOST_PEER_CERTS entry 0 \(\/nonexistent\/a\.pem\) is not a readable PEM certificate/.test(err.message),
    );
    assert.throws(
      () => loadHostConfig({ ...withoutPins, SCMPC_HOST_PEER_CERTS: "/x.pem,/y.pem" }),
      (err: unknown) => isMpcError(err, "CONFIG_INVALID") && /SCMPC_HOST_PEER_CERTS must list exactly 3 certificate files, got 2/.test(err.message),
    );
    assert.throws(
      () => loadHostConfig({ ...valid, SCMPC_HOST_PEER_CERTS: "/x.pem,/y.pem,/z.pem" }),
      (err: unknown) => isMpcError(err, "CONFIG_INVALID") && /not both/.test(err.message),
    );
    assert.throws(
      () => loadHostConfig(withoutPins),
      (err: unknown) => isMpcError(err, "CONFIG_INVALID") && /SCMPC_HOST_PEER_FINGERPRINTS is required/.test(err.message),
    );
  });

  it("serves the Host API over TLS unless SCMPC_HOST_API_TLS=false", () => {
    assert.equal(loadHostConfig(valid).apiTls, true);
    assert.equal(loadHostConfig({ ...valid, SCMPC_HOST_API_TLS: "FALSE" }).apiTls, false);
    assert.equal(loadHostConfig({ ...valid, SCMPC_HOST_API_TLS: "true" }).apiTls, true);
    assert.throws(
      () => loadHostConfig({ ...valid, SCMPC_HOST_API_TLS: "off" }),
      (err: unknown) => isMpcError(err, "CONFIG_INVALID") && /SCMPC_HOST_API_TLS must be true or false, got "off"/.test(err.message),
    );
  });

  it("reports every invalid variable at once", () => {
    assert.throws(
      () =>
        loadHostConfig({ ...valid, SCMPC_HOST_INDEX: "3", SCMPC_HOST_PEERS: "a:1,b:2", SCMPC_JOB_TIMEOUT_MS: "-5", SCMPC_RPC_URL: undefined }),
      (err: unknown) =>
        isMpcError(err, "CONFIG_INVALID") &&
        ["SCMPC_HOST_INDEX", "SCMPC_HOST_PEERS", "SCMPC_JOB_TIMEOUT_MS", "SCMPC_RPC_URL"].every((v) => err.message.includes(v)),
    );
  });

  it("requires the peer port and TLS variables, and checks the fingerprints", () => {
    const { SCMPC_HOST_PEER_LISTEN: _, SCMPC_HOST_TLS_CA: __, SCMPC_HOST_TLS_KEY: ___, ...missing } = valid;
    assert.throws(
      () => loadHostConfig({ ...missing, SCMPC_HOST_TLS_CERT: "", SCMPC_HOST_PEER_FINGERPRINTS: `${fp("aa")},zz` }),
      (err: unknown) =>
        isMpcError(err, "CONFIG_INVALID") &&
        ["SCMPC_HOST_PEER_LISTEN is required", "SCMPC_HOST_TLS_CA is required", "SCMPC_HOST_TLS_CERT is required", "SCMPC_HOST_TLS_KEY is required"].every(
          (m) => err.message.includes(m),
        ) &&
        /exactly 3 fingerprints, got 2/.test(err.message) &&
        /entry 1 is not a SHA-256 fingerprint/.test(err.message),
    );
    assert.throws(
      () => loadHostConfig({ ...valid, SCMPC_HOST_PEER_FINGERPRINTS: `${fp("aa")},${fp("aa")},${fp("cc")}` }),
      (err: unknown) => isMpcError(err, "CONFIG_INVALID") && /one certificate for two hosts/.test(err.message),
    );
    assert.throws(
      () => loadHostConfig({ ...valid, SCMPC_HOST_LISTEN: "127.0.0.1:7102" }),
      (err: unknown) => isMpcError(err, "CONFIG_INVALID") && /SCMPC_HOST_PEER_LISTEN must differ from SCMPC_HOST_LISTEN/.test(err.message),
    );
  });
});

describe("host TLS material at start-up (loadPeerTls)", () => {
  let dir: string;
  let m: TlsMaterial;
  let other: TlsMaterial;
  const pins = (): string[] => m.hosts.map((h) => h.fingerprint);
  const files = (i: number) => ({ caFile: m.caFile, certFile: m.hosts[i].certFile, keyFile: m.hosts[i].keyFile });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "scmpc-config-tls-"));
    m = await createTlsMaterial({ hosts: 3, dir: join(dir, "a") });
    other = await createTlsMaterial({ hosts: 3, dir: join(dir, "b") });
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("loads consistent material", () => {
    const tls = loadPeerTls({ hostIndex: 2, tls: files(2), peerFingerprints: pins() });
    assert.match(tls.cert.toString(), /BEGIN CERTIFICATE/);
    assert.deepEqual(tls.fingerprints, pins());
  });

  it("names each problem: unreadable file, foreign CA, key of another certificate, wrong pin", async () => {
    const garbage = join(dir, "garbage.pem");
    await writeFile(garbage, "not a certificate");
    const expectProblems = (input: Parameters<typeof loadPeerTls>[0], patterns: RegExp[]) =>
      assert.throws(
        () => loadPeerTls(input),
        (err: unknown) => isMpcError(err, "CONFIG_INVALID") && patterns.every((p) => p.test(err.message)),
      );
    expectProblems({ hostIndex: 0, tls: { ...files(0), caFile: join(dir, "missing.pem") }, peerFingerprints: pins() }, [
      /SCMPC_HOST_TLS_CA ".*missing.pem" cannot be read \(ENOENT\)/,
    ]);
    expectProblems({ hostIndex: 0, tls: { ...files(0), certFile: garbage }, peerFingerprints: pins() }, [/SCMPC_HOST_TLS_CERT is not a PEM certificate/]);
    expectProblems({ hostIndex: 0, tls: { ...files(0), caFile: other.caFile }, peerFingerprints: pins() }, [
      /SCMPC_HOST_TLS_CERT is not issued by SCMPC_HOST_TLS_CA/,
    ]);
    expectProblems({ hostIndex: 0, tls: { ...files(0), keyFile: m.hosts[1].keyFile }, peerFingerprints: pins() }, [
      /SCMPC_HOST_TLS_KEY does not belong to SCMPC_HOST_TLS_CERT/,
    ]);
    expectProblems({ hostIndex: 1, tls: files(0), peerFingerprints: pins() }, [
      new RegExp(`fingerprint ${m.hosts[0].fingerprint} but SCMPC_HOST_PEER_FINGERPRINTS pins ${m.hosts[1].fingerprint} for host 1`),
    ]);
    expectProblems({ hostIndex: 0, tls: { ...files(0), caFile: m.hosts[1].certFile }, peerFingerprints: pins() }, [
      /SCMPC_HOST_TLS_CA is not a CA certificate/,
    ]);
  });
});
