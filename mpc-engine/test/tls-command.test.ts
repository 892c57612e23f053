// The operators' TLS material (`scmpc tls create`, `npm run tls -w mpc-engine`):
// what it writes, and that three hosts configured from its per-host bundles
// (pinning each other through SCMPC_HOST_PEER_CERTS) compute together, while
// a host whose certificate comes from another CA is refused.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes, X509Certificate } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { hexlify, Wallet } from "ethers";
import type { ComputeResponse } from "@scmpc/protos";
import { generateBuyerKeyPair, ringSum } from "../src/index.ts";
import { loadHostConfig, mpcErrorCodeOf } from "../src/host/index.ts";
import { runTlsCommand, TlsUsageError } from "../src/tls/index.ts";
import { buildUploads, callUnary, CONSUMER, schemaHashOf, settleAndOpen, startCluster, type Cluster } from "./support/cluster.ts";

/** Runs the command, returning what it printed. */
async function tls(args: string[]): Promise<string[]> {
  const lines: string[] = [];
  await runTlsCommand(args, { log: (line) => lines.push(line) });
  return lines;
}

/** What a host's operator sets from its bundle, through the real configuration loader. */
function bundleConfig(bundles: string, index: number, pinsFrom = bundles) {
  const dir = join(bundles, `host-${index}`);
  const pinDir = join(pinsFrom, `host-${index}`);
  const config = loadHostConfig({
    SCMPC_HOST_INDEX: String(index),
    SCMPC_HOST_PEER_LISTEN: "127.0.0.1:1",
    SCMPC_HOST_PEERS: "127.0.0.1:1,127.0.0.1:2,127.0.0.1:3",
    SCMPC_HOST_TLS_CA: join(dir, "ca.pem"),
    SCMPC_HOST_TLS_CERT: join(dir, `host-${index}.pem`),
    SCMPC_HOST_TLS_KEY: join(dir, `host-${index}-key.pem`),
    SCMPC_HOST_PEER_CERTS: [0, 1, 2].map((j) => join(pinDir, `host-${j}.pem`)).join(","),
    SCMPC_HOST_DATA_DIR: "/unused",
    SCMPC_RPC_URL: "http://127.0.0.1:1",
    SCMPC_REGISTRY_ADDRESS: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
    SCMPC_ALGORITHM_CONTRACTS: CONSUMER,
    SCMPC_HOST_SIGNING_KEY: `0x${"11".repeat(32)}`,
    SCMPC_HOST_BRIDGE_ADDRESS: `0x${"22".repeat(20)}`,
  });
  return { tls: config.tls, peerFingerprints: config.peerFingerprints };
}

describe("tls create / show", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "scmpc-tls-command-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("writes a CA and three host certificates with the given names, and one bundle per host with only its own key", async () => {
    const out = await tls(["create", "--dir", join(dir, "a"), "--name", "0=host0,10.1.2.3", "--name", "2=mpc-2.example.org", "--per-host", join(dir, "a-bundles"), "--public", join(dir, "a-public"), "--json"]);
    const { fingerprints, bundles, public: publicDir } = JSON.parse(out[0]) as { fingerprints: string[]; bundles: string[]; public: string };
    assert.deepEqual((await readdir(publicDir)).sort(), ["ca.pem", "host-0.pem", "host-1.pem", "host-2.pem"], "the public set holds no key");
    assert.equal(fingerprints.length, 3);
    const cert0 = new X509Certificate(await readFile(join(dir, "a", "host-0.pem")));
    assert.equal(cert0.subjectAltName, "DNS:scmpc-host-0, IP Address:127.0.0.1, DNS:localhost, DNS:host0, IP Address:10.1.2.3");
    assert.match(new X509Certificate(await readFile(join(dir, "a", "host-2.pem"))).subjectAltName!, /DNS:mpc-2\.example\.org/);
    assert.ok(cert0.checkIssued(new X509Certificate(await readFile(join(dir, "a", "ca.pem")))));
    assert.deepEqual(bundles, [0, 1, 2].map((i) => join(dir, "a-bundles", `host-${i}`)));
    for (const [i, bundle] of bundles.entries()) {
      const files = (await readdir(bundle)).sort();
      assert.deepEqual(files, ["ca.pem", `host-${i}-key.pem`, "host-0.pem", "host-1.pem", "host-2.pem"].sort());
      assert.equal((await stat(join(bundle, `host-${i}-key.pem`))).mode & 0o777, 0o600);
    }
    const shown = await tls(["show", "--dir", join(dir, "a")]);
    assert.ok(shown.includes(`SCMPC_HOST_PEER_FINGERPRINTS=${fingerprints.join(",")}`), shown.join("\n"));
  });

  it("refuses to overwrite material without --force, and names bad arguments", async () => {
    await tls(["create", "--dir", join(dir, "b")]);
    const before = await readFile(join(dir, "b", "ca.pem"), "utf8");
    await assert.rejects(tls(["create", "--dir", join(dir, "b")]), /already holds TLS material.*--force/);
    assert.equal(await readFile(join(dir, "b", "ca.pem"), "utf8"), before);
    await tls(["create", "--dir", join(dir, "b"), "--force"]);
    assert.notEqual(await readFile(join(dir, "b", "ca.pem"), "utf8"), before);
    // --keep-existing keeps valid material (and rewrites the bundles), or makes it when there is none.
    const kept = await readFile(join(dir, "b", "ca.pem"), "utf8");
    await tls(["create", "--dir", join(dir, "b"), "--keep-existing", "--per-host", join(dir, "b-bundles")]);
    assert.equal(await readFile(join(dir, "b", "ca.pem"), "utf8"), kept);
    assert.equal(await readFile(join(dir, "b-bundles", "host-2", "ca.pem"), "utf8"), kept);
    await tls(["create", "--dir", join(dir, "fresh"), "--keep-existing"]);
    assert.match(await readFile(join(dir, "fresh", "ca.pem"), "utf8"), /BEGIN CERTIFICATE/);
    // --owner: chown to the given user (here the current one, which needs no privilege).
    const me = `${process.getuid!()}:${process.getgid!()}`;
    await tls(["create", "--dir", join(dir, "owned"), "--owner", me]);
    assert.equal(`${(await stat(join(dir, "owned", "host-0-key.pem"))).uid}:${(await stat(join(dir, "owned", "host-0-key.pem"))).gid}`, me);
    await assert.rejects(tls(["create", "--dir", join(dir, "c"), "--owner", "root"]), (err: unknown) => err instanceof TlsUsageError && /--owner/.test(err.message));
    await assert.rejects(tls(["create", "--dir", join(dir, "c"), "--force", "--keep-existing"]), (err: unknown) => err instanceof TlsUsageError);
    await assert.rejects(tls(["create"]), (err: unknown) => err instanceof TlsUsageError && /--dir/.test(err.message));
    await assert.rejects(tls(["create", "--dir", join(dir, "c"), "--name", "3=x"]), (err: unknown) => err instanceof TlsUsageError && /--name/.test(err.message));
    await assert.rejects(tls(["create", "--dir", join(dir, "c"), "--name", "1=not a name"]), /neither a DNS name nor an IP address/);
    await assert.rejects(tls(["rotate", "--dir", join(dir, "c")]), (err: unknown) => err instanceof TlsUsageError && /unknown tls action/.test(err.message));
    await assert.rejects(tls(["show", "--dir", join(dir, "nothing")]), /no complete, valid TLS material/);
  });
});

describe("hosts configured from the per-host bundles", () => {
  let dir: string;
  let cluster: Cluster | undefined;
  const seller = Wallet.createRandom();
  const buyer = generateBuyerKeyPair();
  const values = new BigUint64Array([5n, 7n, 11n, 13n]);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "scmpc-tls-hosts-"));
    await tls(["create", "--dir", join(dir, "market"), "--per-host", join(dir, "bundles")]);
    await tls(["create", "--dir", join(dir, "rogue"), "--per-host", join(dir, "rogue-bundles")]);
  });
  after(async () => {
    await cluster?.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function runSum(c: Cluster): Promise<PromiseSettledResult<ComputeResponse>[]> {
    const upload = await buildUploads(seller, `t-${randomBytes(4).toString("hex")}`, { name: "v", scale: 0, values });
    for (const i of [0, 1, 2]) await callUnary(c.clients[i], "uploadShares", upload.requests[i]);
    c.chain.datasets.set(upload.datasetId, {
      seller: seller.address, name: "t", schemaHash: schemaHashOf([{ name: "v", scale: 0 }]), rowCount: BigInt(values.length), price: 1n,
      commitments: upload.commitments, active: true, minRows: 0n,
    });
    const requestId = hexlify(randomBytes(32));
    const buyerKey = hexlify(buyer.publicKey);
    c.chain.setRequest(CONSUMER, requestId, { buyer: seller.address, datasetIds: [upload.datasetId], params: '{"column":"v"}', buyerKey, price: 1n, status: 1 });
    const request = { requestId, algorithm: "sum@1", datasetIds: [upload.datasetId], params: '{"column":"v"}', buyerKey, consumer: CONSUMER };
    const settled = await Promise.allSettled([0, 1, 2].map((i) => c.asBridge<ComputeResponse>(i, "Compute", request)));
    if (settled.every((s) => s.status === "fulfilled")) {
      const responses = settled.map((s) => (s as PromiseFulfilledResult<ComputeResponse>).value);
      assert.deepEqual(await settleAndOpen(c, { requestId, responses, buyerPrivateKey: buyer.privateKey }), [ringSum(values), BigInt(values.length)]); // the sum and the count of present values
    }
    return settled;
  }

  it("compute together over mutual TLS, pinning each other from the certificates", async () => {
    cluster = await startCluster({ jobTimeoutMs: 5000, tlsOf: (i) => bundleConfig(join(dir, "bundles"), i) });
    const outcomes = await runSum(cluster);
    assert.deepEqual(outcomes.map((o) => o.status), ["fulfilled", "fulfilled", "fulfilled"], outcomes.map((o) => String((o as PromiseRejectedResult).reason ?? "")).join("; "));
    await cluster.close();
    cluster = undefined;
  });

  it("refuse a host whose certificate comes from another CA", async () => {
    // Host 2 runs with a rogue identity; hosts 0 and 1 keep the market's CA and pins.
    cluster = await startCluster({
      jobTimeoutMs: 1500,
      tlsOf: (i) => (i === 2 ? bundleConfig(join(dir, "rogue-bundles"), 2) : bundleConfig(join(dir, "bundles"), i)),
    });
    const outcomes = await runSum(cluster);
    for (const i of [0, 1]) {
      assert.equal(outcomes[i].status, "rejected", `host ${i} computed with a rogue peer`);
      const code = mpcErrorCodeOf((outcomes[i] as PromiseRejectedResult).reason as grpc.ServiceError);
      assert.ok(code === "PEER_UNAVAILABLE" || code === "PEER_TIMEOUT", `host ${i}: ${code}`);
    }
  });
});
