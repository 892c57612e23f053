// The MPC engine's benchmark: `npm run bench -w mpc-engine -- [--json]`.
// Everything runs on 127.0.0.1 with mutual TLS between the hosts:
//  - multiplications and 64-bit less-than comparisons between three party
//    processes over the hosts' own Peer channel (bench/party-worker.ts);
//  - share-and-upload of 1,000,000 rows to three real host processes and
//    `mean@1` over them, from Compute request to output shares, on a local
//    chain holding the dataset and the request (the hosts check both).
import { fork } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Contract, hexlify, JsonRpcProvider, NonceManager, Wallet } from "ethers";
import { createGrpcHostsClient } from "@scmpc/bridge";
import { devPrivateKey, DEV_ROLES, freePort, shareAndUpload, startLocalStack } from "@scmpc/client";
import { algorithmId, loadArtifact, MARKET_ALGORITHMS } from "@scmpc/contracts";
import { decodeResult, generateBuyerKeyPair, openResult, packResult, planComputation, Rational, schemaText } from "../src/index.ts";
import { createTlsMaterial } from "../src/tls/index.ts";

const json = process.argv.includes("--json");
const say = (line: string): void => {
  if (!json) console.log(line);
};
const HERE = path.dirname(fileURLToPath(import.meta.url));
const MULT_BATCH = 1_000_000;
const CMP_BATCH = 100_000;
const ROWS = 1_000_000;
const REPEATS = 3;

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Multiplications and comparisons between three party processes over the mutual-TLS Peer channel. */
async function primitives(dir: string): Promise<{ multPerS: number; cmpPerS: number; bytesPerMult: number; bytesPerCmp: number }> {
  const tls = await createTlsMaterial({ hosts: 3, dir: path.join(dir, "tls") });
  const peers = [await freePort(), await freePort(), await freePort()].map((p) => `127.0.0.1:${p}`);
  const workers: ChildProcess[] = [0, 1, 2].map((index) =>
    fork(path.join(HERE, "party-worker.ts"), [
      JSON.stringify({
        index,
        peers,
        tls: { caFile: tls.caFile, certFile: tls.hosts[index].certFile, keyFile: tls.hosts[index].keyFile },
        fingerprints: tls.hosts.map((h) => h.fingerprint),
      }),
    ], { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] }),
  );
  try {
    await Promise.all(workers.map((w) => new Promise((resolve) => w.once("message", resolve))));
    const ask = (message: object) =>
      Promise.all(
        workers.map(
          (w) =>
            new Promise<{ ok: boolean; ms: number; bytes: number; error?: string }>((resolve) => {
              w.once("message", (m) => resolve(m as { ok: boolean; ms: number; bytes: number }));
              w.send(message);
            }),
        ),
      ).then((replies) => {
        const failed = replies.find((r) => !r.ok);
        if (failed) throw new Error(`party failed: ${failed.error}`);
        return replies;
      });
    const op = async (kind: "mult" | "cmp", n: number): Promise<{ ms: number; bytes: number }> => {
      // Inputs and the job's pairwise keys first; then the primitive alone is timed, from
      // the coordinator's "go" to the last party's answer (all three run it together).
      await ask({ op: kind, n, requestId: hexlify(randomBytes(32)) });
      const started = performance.now();
      const replies = await ask({ op: "go" });
      return { ms: performance.now() - started, bytes: replies.reduce((s, r) => s + r.bytes, 0) };
    };
    await op("mult", 10_000);
    await op("cmp", 1_000);
    const mult = [];
    for (let i = 0; i < REPEATS; i++) mult.push(await op("mult", MULT_BATCH));
    const cmp = [];
    for (let i = 0; i < REPEATS; i++) cmp.push(await op("cmp", CMP_BATCH));
    const multMs = median(mult.map((r) => r.ms));
    const cmpMs = median(cmp.map((r) => r.ms));
    say(`multiplications      ${Math.round(MULT_BATCH / (multMs / 1000)).toLocaleString("en")} /s   (batch ${MULT_BATCH.toLocaleString("en")}, median of ${REPEATS}: ${multMs.toFixed(0)} ms)`);
    say(`64-bit less-than     ${Math.round(CMP_BATCH / (cmpMs / 1000)).toLocaleString("en")} /s   (batch ${CMP_BATCH.toLocaleString("en")}, median of ${REPEATS}: ${cmpMs.toFixed(0)} ms)`);
    const bytesPerMult = mult[0].bytes / MULT_BATCH;
    const bytesPerCmp = cmp[0].bytes / CMP_BATCH;
    say(`bytes sent           ${bytesPerMult.toFixed(1)} per multiplication, ${bytesPerCmp.toFixed(1)} per comparison (payload, all three hosts)`);
    return { multPerS: MULT_BATCH / (multMs / 1000), cmpPerS: CMP_BATCH / (cmpMs / 1000), bytesPerMult, bytesPerCmp };
  } finally {
    for (const w of workers) w.send({ op: "exit" });
    await Promise.all(workers.map((w) => (w.exitCode === null ? new Promise((r) => w.once("exit", r)) : undefined)));
  }
}

/** Share-and-upload of 1M rows and mean@1 over them on three real host processes. */
async function hostJobs(dir: string): Promise<{ uploadMs: number; meanMs: number }> {
  const stack = await startLocalStack({ dir: path.join(dir, "stack"), oracle: false, logLevel: "warn" });
  const provider = new JsonRpcProvider(stack.state.rpcUrl, stack.state.chainId, { staticNetwork: true });
  const hosts = createGrpcHostsClient(stack.state.hosts, { tls: stack.state.hostTls });
  try {
    const seller = new NonceManager(new Wallet(devPrivateKey(DEV_ROLES.seller), provider));
    const buyer = new NonceManager(new Wallet(devPrivateKey(DEV_ROLES.buyer), provider));
    const values = new BigUint64Array(ROWS);
    let plainSum = 0n;
    for (let i = 0; i < ROWS; i++) {
      const v = BigInt(Math.floor(Math.random() * 200_000));
      values[i] = v;
      plainSum += v;
    }
    const name = "bench-1m";
    const datasetId = await new Contract(stack.state.contracts.registry, loadArtifact("DatasetRegistry").abi, provider).datasetId(await seller.getAddress(), name);
    const started = performance.now();
    const commitments = await shareAndUpload({ state: stack.state, seller, datasetId, name, columns: [{ name: "v", scale: 0, values }] });
    const uploadMs = performance.now() - started;
    say(`share + upload       ${uploadMs.toFixed(0)} ms for ${ROWS.toLocaleString("en")} rows to 3 hosts (acknowledged durable)`);

    // Registration as the seller's CLI does it: the stake approved, then locked by the registry.
    const registry = new Contract(stack.state.contracts.registry, loadArtifact("DatasetRegistry").abi, seller);
    const tokenAbi = loadArtifact("DevPaymentToken").abi;
    const stake: bigint = await registry.minStake();
    await (await new Contract(stack.state.contracts.paymentToken, tokenAbi, seller).approve(stack.state.contracts.registry, stake)).wait();
    const schema = schemaText([{ name: "v", scale: 0 }]);
    const policy = { allowedAlgorithms: MARKET_ALGORITHMS.map(algorithmId), minRows: 0 };
    await (await registry.registerDataset(name, schema, ROWS, 1n, commitments, policy, stake)).wait();
    const consumer = stack.state.contracts.algorithms["mean@1"];
    const market = new Contract(consumer, loadArtifact("AlgorithmComputation").abi, buyer);
    const token = new Contract(stack.state.contracts.paymentToken, tokenAbi, buyer);
    // Each request escrows the price (1 unit) and the operators' fee.
    const perRequest = 1n + ((await market.operatorFee()) as bigint);
    await (await token.approve(consumer, perRequest * BigInt(REPEATS))).wait();
    const params = JSON.stringify({ column: "v" });
    const plan = planComputation("mean@1", params, { columns: [{ name: "v", scale: 0 }] });
    const times: number[] = [];
    for (let i = 0; i < REPEATS; i++) {
      const keys = generateBuyerKeyPair();
      const receipt = await (await market.requestComputation([datasetId], params, hexlify(keys.publicKey))).wait();
      const requestId = receipt.logs.map((l: { topics: string[]; data: string }) => market.interface.parseLog(l)).find((p: { name: string } | null) => p?.name === "ComputationRequested").args.requestId;
      const t0 = performance.now();
      const envelopes = await hosts.compute({ requestId, algorithm: "mean@1", datasetIds: [datasetId.toLowerCase()], params, buyerKey: hexlify(keys.publicKey), consumer }, 120_000);
      times.push(performance.now() - t0);
      const mean = decodeResult(plan, openResult({ requestId, buyerPrivateKey: keys.privateKey, result: packResult(envelopes) }));
      const expected = new Rational(plainSum, BigInt(ROWS)).toDecimal(6);
      if (mean !== expected) throw new Error(`mean@1 returned ${mean}, expected ${expected}`);
    }
    const meanMs = median(times);
    say(`mean@1 over 1M rows  ${meanMs.toFixed(0)} ms from Compute request to the 3 output shares (median of ${REPEATS}; result checked)`);
    return { uploadMs, meanMs };
  } finally {
    hosts.close();
    provider.destroy();
    await stack.stop();
  }
}

const dir = await mkdtemp(path.join(os.tmpdir(), "scmpc-bench-"));
try {
  say(`sc-mpc engine benchmark (${os.cpus().length} cores, Node ${process.versions.node}, loopback, mutual TLS between hosts)`);
  const p = await primitives(dir);
  const h = await hostJobs(dir);
  if (json) {
    console.log(
      JSON.stringify({
        mult_per_s: Math.round(p.multPerS),
        cmp_per_s: Math.round(p.cmpPerS),
        mean_1m_ms: Math.round(h.meanMs),
        upload_1m_ms: Math.round(h.uploadMs),
        bytes_per_mult: Number(p.bytesPerMult.toFixed(2)),
        bytes_per_cmp: Number(p.bytesPerCmp.toFixed(2)),
      }),
    );
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
