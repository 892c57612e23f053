// The MPC engine's benchmark: `npm run bench -w mpc-engine -- [--json]`.
// Everything runs on 127.0.0.1 with mutual TLS between the hosts:
//  - multiplications and 64-bit less-than comparisons between three party
//    processes over the hosts' own Peer channel (bench/party-worker.ts);
//  - share-and-upload of 1,000,000 rows to three real host processes and
//    `mean@1` over them, from Compute request to output shares, on a local
//    chain holding the dataset and the request (the hosts check both);
//  - histogram@1 over 1,000,000 rows × 64 edges between the three party
//    processes, with each process's peak resident memory.
import { fork } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { AbiCoder, Contract, hexlify, JsonRpcProvider, MaxUint256, NonceManager, Wallet } from "ethers";
import { createGrpcHostsClient } from "@scmpc/bridge";
import { devPrivateKey, DEV_ROLES, freePort, openFulfilledResult, sendFulfilment, shareAndUpload, startLocalStack } from "@scmpc/client";
import { algorithmId, loadArtifact, MARKET_ALGORITHMS } from "@scmpc/contracts";
import { decodeResult, generateBuyerKeyPair, packResult, planComputation, Rational, schemaText } from "../src/index.ts";
import { createTlsMaterial } from "../src/tls/index.ts";
import { encodeRingVector, shareColumn } from "../src/index.ts";

const json = process.argv.includes("--json");
const say = (line: string): void => {
  if (!json) console.log(line);
};
const HERE = path.dirname(fileURLToPath(import.meta.url));
const MULT_BATCH = 1_000_000;
const CMP_BATCH = 100_000;
const ROWS = 1_000_000;
const REPEATS = 3;
const HISTOGRAM_ROWS = 1_000_000;
const HISTOGRAM_EDGES = 64;
/** The benchmark's column: values in [0, 200000), as its public bounds say. */
const COLUMN = { name: "v", scale: 0, lo: "0", hi: "200000" };

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Multiplications and comparisons between three party processes over the mutual-TLS Peer channel. */
/** Peak resident memory (VmHWM) of a process, in MiB; the kernel resets it on a write of "5" to clear_refs. */
function peakRssMiB(pid: number): number {
  const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
  return Number(kb) / 1024;
}

/** histogram@1 over 1M rows × 64 edges on the three party processes: time, result checked, peak RSS of each process during the job. */
async function histogramRun(
  dir: string,
  workers: ChildProcess[],
  ask: (message: object) => Promise<{ ms: number; output?: string[][] }[]>,
): Promise<{ ms: number; peakMiB: number[] }> {
  const values = new BigUint64Array(HISTOGRAM_ROWS);
  for (let i = 0; i < HISTOGRAM_ROWS; i++) values[i] = BigInt(Math.floor(Math.random() * 200_000));
  const shareFiles = shareColumn(values).map((share, i) => {
    const file = path.join(dir, `histogram-share-${i}.bin`);
    writeFileSync(file, Buffer.concat([encodeRingVector(share.a), encodeRingVector(share.b)]));
    return file;
  });
  const edges = Array.from({ length: HISTOGRAM_EDGES }, (_, j) => String((j + 1) * 3000));
  const params = JSON.stringify({ column: COLUMN.name, edges });
  const schema = { columns: [COLUMN] };
  await ask({ op: "plan", requestId: hexlify(randomBytes(32)), algorithm: "histogram@1", params, schema: JSON.stringify(schema), rows: HISTOGRAM_ROWS, shareFiles });
  // Peaks from here on: the job, not the earlier batches (Linux; elsewhere the peak since start).
  for (const w of workers) {
    try {
      writeFileSync(`/proc/${w.pid}/clear_refs`, "5");
    } catch {
      // not resettable here
    }
  }
  const started = performance.now();
  const replies = await ask({ op: "go" });
  const ms = performance.now() - started;
  const peakMiB = workers.map((w) => peakRssMiB(w.pid!));
  const outputs = replies.map((r) => r.output!.map(([a]) => BigInt(a)));
  const opened = outputs[0].map((_, k) => BigInt.asUintN(64, outputs[0][k] + outputs[1][k] + outputs[2][k]));
  const result = decodeResult(planComputation("histogram@1", params, schema, { rowCount: BigInt(HISTOGRAM_ROWS) }), opened) as { counts: string[] };
  const expected = new Array<number>(HISTOGRAM_EDGES + 1).fill(0);
  for (const v of values) expected[Math.min(HISTOGRAM_EDGES, Math.floor(Number(v) / 3000))]++;
  if (result.counts.join() !== expected.join()) throw new Error(`histogram@1 returned ${result.counts.join()}, expected ${expected.join()}`);
  return { ms, peakMiB };
}

async function primitives(dir: string): Promise<{
  multPerS: number;
  cmpPerS: number;
  bytesPerMult: number;
  bytesPerCmp: number;
  histogram: { ms: number; peakMiB: number[] };
}> {
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
            new Promise<{ ok: boolean; ms: number; bytes: number; error?: string; output?: string[][] }>((resolve) => {
              w.once("message", (m) => resolve(m as { ok: boolean; ms: number; bytes: number; output?: string[][] }));
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
    const histogram = await histogramRun(dir, workers, ask);
    say(
      `histogram@1          ${(histogram.ms / 1000).toFixed(1)} s for ${HISTOGRAM_ROWS.toLocaleString("en")} rows × ${HISTOGRAM_EDGES} edges (result checked); ` +
        `peak RSS of the 3 party processes ${histogram.peakMiB.map((m) => m.toFixed(0)).join(", ")} MiB`,
    );
    return { multPerS: MULT_BATCH / (multMs / 1000), cmpPerS: CMP_BATCH / (cmpMs / 1000), bytesPerMult, bytesPerCmp, histogram };
  } finally {
    for (const w of workers) w.send({ op: "exit" });
    await Promise.all(workers.map((w) => (w.exitCode === null ? new Promise((r) => w.once("exit", r)) : undefined)));
  }
}

/** Share-and-upload of 1M rows and mean@1 over them on three real host processes. */
async function hostJobs(dir: string): Promise<{ uploadMs: number; meanMs: number }> {
  const stack = await startLocalStack({ dir: path.join(dir, "stack"), oracle: false, logLevel: "warn" });
  const provider = new JsonRpcProvider(stack.state.rpcUrl, stack.state.chainId, { staticNetwork: true });
  // The benchmark drives the hosts as the bridge does, with this stack's bridge key.
  const hosts = createGrpcHostsClient(stack.state.hosts, { tls: stack.state.hostTls, signer: new Wallet(stack.bridgeSigningKey) });
  try {
    const seller = new NonceManager(new Wallet(devPrivateKey(DEV_ROLES.seller), provider));
    const buyer = new NonceManager(new Wallet(devPrivateKey(DEV_ROLES.buyer), provider));
    const relay = new NonceManager(new Wallet(devPrivateKey(DEV_ROLES.relay), provider));
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
    const commitments = await shareAndUpload({ state: stack.state, seller, datasetId, name, columns: [{ ...COLUMN, values }] });
    const uploadMs = performance.now() - started;
    say(`share + upload       ${uploadMs.toFixed(0)} ms for ${ROWS.toLocaleString("en")} rows to 3 hosts (acknowledged durable)`);

    // Registration as the seller's CLI does it: the stake approved, then locked by the registry.
    const registry = new Contract(stack.state.contracts.registry, loadArtifact("DatasetRegistry").abi, seller);
    const tokenAbi = loadArtifact("DevPaymentToken").abi;
    const stake: bigint = await registry.minStake();
    await (await new Contract(stack.state.contracts.paymentToken, tokenAbi, seller).approve(stack.state.contracts.registry, stake)).wait();
    const schema = schemaText([COLUMN]);
    const policy = { allowedAlgorithms: MARKET_ALGORITHMS.map(algorithmId), minRows: 0 };
    await (await registry.registerDataset(name, schema, ROWS, 1n, commitments, policy, stake)).wait();
    const consumer = stack.state.contracts.algorithms["mean@1"];
    const market = new Contract(consumer, loadArtifact("AlgorithmComputation").abi, buyer);
    const token = new Contract(stack.state.contracts.paymentToken, tokenAbi, buyer);
    // Each request escrows the price (1 unit) and the operators' fee.
    const perRequest = 1n + ((await market.operatorFee()) as bigint);
    await (await token.approve(consumer, perRequest * BigInt(REPEATS))).wait();
    const params = JSON.stringify({ column: "v" });
    const plan = planComputation("mean@1", params, { columns: [COLUMN] }, { rowCount: BigInt(ROWS) });
    const times: number[] = [];
    for (let i = 0; i < REPEATS; i++) {
      const keys = generateBuyerKeyPair();
      const receipt = await (await market.requestComputation([datasetId], params, hexlify(keys.publicKey), MaxUint256)).wait();
      const requestId = receipt.logs.map((l: { topics: string[]; data: string }) => market.interface.parseLog(l)).find((p: { name: string } | null) => p?.name === "ComputationRequested").args.requestId;
      const t0 = performance.now();
      const { jobId, envelopes } = await hosts.compute({ requestId, algorithm: "mean@1", datasetIds: [datasetId.toLowerCase()], params, buyerKey: hexlify(keys.publicKey), consumer }, 120_000);
      times.push(performance.now() - t0);
      // Checked as a buyer would: fulfilled on-chain (by the relay's account), then opened with the released keys.
      const result = packResult(jobId, envelopes);
      const signatures = await hosts.signResult({ requestId, result, consumer }, 30_000);
      const payload = AbiCoder.defaultAbiCoder().encode(["bytes", "bytes[3]"], [result, signatures]);
      await sendFulfilment({ operatorAddress: stack.state.contracts.operator, sender: relay, requestReceipt: receipt, requestId, payload });
      const values = await openFulfilledResult({ hosts: stack.state.hosts, tls: stack.state.hostTls, requestId, consumer, result, buyerPrivateKey: keys.privateKey });
      const mean = decodeResult(plan, values);
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
        histogram_1m_64_ms: Math.round(p.histogram.ms),
        histogram_peak_rss_mib: Math.round(Math.max(...p.histogram.peakMiB)),
      }),
    );
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
