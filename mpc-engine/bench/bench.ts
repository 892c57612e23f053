// The MPC engine's benchmark: `npm run bench -w mpc-engine -- [--json]`.
// Everything runs on 127.0.0.1 with mutual TLS between the hosts:
//  - multiplications and 64-bit less-than comparisons between three party
//    processes over the hosts' own Peer channel (bench/party-worker.ts);
//  - share-and-upload of 1,000,000 rows to three real host processes and
//    `mean@1` over them, from Compute request to output shares, on a local
//    chain holding the dataset and the request (the hosts check both);
//  - histogram@1 over 1,000,000 rows × 64 edges between the three party
//    processes, with each process's peak resident memory;
//  - mean@1 over 1,000,000 rows between the three party processes, exact
//    and differentially private (ε = 1, noise drawn inside the MPC), to
//    show what the noise costs: time and messages.
// `--only <part>[,<part>]` runs some of: primitives, histogram, dp-mean, hosts.
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
import { decodeResult, describeNoise, generateBuyerKeyPair, packResult, planComputation, Rational, schemaText } from "../src/index.ts";
import { createTlsMaterial } from "../src/tls/index.ts";
import { encodeRingVector, shareColumn } from "../src/index.ts";

const json = process.argv.includes("--json");
const PARTS = ["primitives", "histogram", "dp-mean", "hosts"] as const;
const onlyAt = process.argv.indexOf("--only");
const only = onlyAt >= 0 ? new Set(process.argv[onlyAt + 1]?.split(",")) : new Set<string>(PARTS);
for (const part of only) {
  if (!PARTS.includes(part as (typeof PARTS)[number])) throw new Error(`--only: unknown part ${JSON.stringify(part)}; known: ${PARTS.join(", ")}`);
}
const say = (line: string): void => {
  if (!json) console.log(line);
};
const HERE = path.dirname(fileURLToPath(import.meta.url));
const MULT_BATCH = 1_000_000;
const CMP_BATCH = 100_000;
const ROWS = 1_000_000;
const REPEATS = 5;
/** Full-size batches run before the timed ones. */
const WARM_UP = 2;
const HISTOGRAM_ROWS = 1_000_000;
const HISTOGRAM_EDGES = 64;
const DP_MEAN_ROWS = 1_000_000;
const DP_MEAN_REPEATS = 5;
const DP_EPSILON_MILLI = 1000;
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
  await ask({ op: "plan", requestId: hexlify(randomBytes(32)), algorithm: "histogram@1", params, schema: JSON.stringify(schema), rows: HISTOGRAM_ROWS, shareFiles, epsilonMilli: 0 });
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
  const result = decodeResult(planComputation("histogram@1", params, schema, { rowCount: BigInt(HISTOGRAM_ROWS), epsilonMilli: 0 }), opened) as { counts: string[] };
  const expected = new Array<number>(HISTOGRAM_EDGES + 1).fill(0);
  for (const v of values) expected[Math.min(HISTOGRAM_EDGES, Math.floor(Number(v) / 3000))]++;
  if (result.counts.join() !== expected.join()) throw new Error(`histogram@1 returned ${result.counts.join()}, expected ${expected.join()}`);
  return { ms, peakMiB };
}

interface DpMean {
  exactMs: number;
  dpMs: number;
  exactMessages: number;
  dpMessages: number;
}

/**
 * mean@1 over 1M rows on the three party processes, exact and at ε = 1,
 * interleaved (median of 5 each): the exact answer checked against the
 * plaintext, the DP one against its stated interval; messages per party.
 */
async function dpMeanRun(
  dir: string,
  ask: (message: object) => Promise<{ ms: number; messages: number; output?: string[][] }[]>,
): Promise<DpMean> {
  const values = new BigUint64Array(DP_MEAN_ROWS);
  let plainSum = 0n;
  for (let i = 0; i < DP_MEAN_ROWS; i++) {
    values[i] = BigInt(Math.floor(Math.random() * 200_000));
    plainSum += values[i];
  }
  const shareFiles = shareColumn(values).map((share, i) => {
    const file = path.join(dir, `mean-share-${i}.bin`);
    writeFileSync(file, Buffer.concat([encodeRingVector(share.a), encodeRingVector(share.b)]));
    return file;
  });
  const schema = { columns: [COLUMN] };
  const params = JSON.stringify({ column: COLUMN.name });
  const truth = new Rational(plainSum, BigInt(DP_MEAN_ROWS));
  const once = async (epsilonMilli: number): Promise<{ ms: number; messages: number; result: string; interval?: [string, string] }> => {
    await ask({ op: "plan", requestId: hexlify(randomBytes(32)), algorithm: "mean@1", params, schema: JSON.stringify(schema), rows: DP_MEAN_ROWS, shareFiles, epsilonMilli });
    const started = performance.now();
    const replies = await ask({ op: "go" });
    const ms = performance.now() - started;
    const outputs = replies.map((r) => r.output!.map(([a]) => BigInt(a)));
    const opened = outputs[0].map((_, k) => BigInt.asUintN(64, outputs[0][k] + outputs[1][k] + outputs[2][k]));
    const plan = planComputation("mean@1", params, schema, { rowCount: BigInt(DP_MEAN_ROWS), epsilonMilli });
    const result = decodeResult(plan, opened) as string;
    const noise = describeNoise(plan, opened);
    return { ms, messages: Math.max(...replies.map((r) => r.messages)), result, interval: noise?.interval95 as [string, string] | undefined };
  };
  await once(0);
  await once(DP_EPSILON_MILLI);
  const exact: number[] = [];
  const dp: number[] = [];
  let messages = { exact: 0, dp: 0 };
  let covered = 0;
  for (let i = 0; i < DP_MEAN_REPEATS; i++) {
    const e = await once(0);
    if (e.result !== truth.toDecimal(6)) throw new Error(`exact mean@1 returned ${e.result}, expected ${truth.toDecimal(6)}`);
    const d = await once(DP_EPSILON_MILLI);
    const [lo, hi] = d.interval!;
    // The interval covers with probability ≥ 95%; an answer 10 noise scales off would be a broken mechanism.
    if (Math.abs(Number(d.result) - Number(truth.toDecimal(6))) > 10 * (Number(hi) - Number(lo))) throw new Error(`DP mean@1 returned ${d.result}, far from ${truth.toDecimal(6)}`);
    if (Number(lo) <= Number(truth.toDecimal(6)) && Number(truth.toDecimal(6)) <= Number(hi)) covered++;
    exact.push(e.ms);
    dp.push(d.ms);
    messages = { exact: e.messages, dp: d.messages };
  }
  const exactMs = median(exact);
  const dpMs = median(dp);
  say(
    `mean@1 DP vs exact   ${exactMs.toFixed(0)} ms exact, ${dpMs.toFixed(0)} ms at ε = ${DP_EPSILON_MILLI / 1000} (${dpMs >= exactMs ? "+" : ""}${(((dpMs - exactMs) / exactMs) * 100).toFixed(1)}%) ` +
      `for ${DP_MEAN_ROWS.toLocaleString("en")} rows, party processes (median of ${DP_MEAN_REPEATS} each); ` +
      `messages per party ${messages.exact} vs ${messages.dp}; DP answers within their 95% interval ${covered} of ${DP_MEAN_REPEATS}`,
  );
  return { exactMs, dpMs, exactMessages: messages.exact, dpMessages: messages.dp };
}

/** A party process's answer to a command (bench/party-worker.ts). */
interface PartyReply {
  ok: boolean;
  ms: number;
  /** CPU time (user + system) the party spent on the command. */
  cpuMs: number;
  bytes: number;
  messages: number;
  error?: string;
  output?: string[][];
}

async function primitives(dir: string): Promise<{
  multPerS?: number;
  cmpPerS?: number;
  bytesPerMult?: number;
  bytesPerCmp?: number;
  histogram?: { ms: number; peakMiB: number[] };
  dpMean?: DpMean;
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
            new Promise<PartyReply>((resolve) => {
              w.once("message", (m) => resolve(m as PartyReply));
              w.send(message);
            }),
        ),
      ).then((replies) => {
        const failed = replies.find((r) => !r.ok);
        if (failed) throw new Error(`party failed: ${failed.error}`);
        return replies;
      });
    const op = async (kind: "mult" | "cmp", n: number): Promise<{ ms: number; cpuMs: number[]; bytes: number }> => {
      // Inputs and the job's pairwise keys first; then the primitive alone is timed, from
      // the coordinator's "go" to the last party's answer (all three run it together).
      await ask({ op: kind, n, requestId: hexlify(randomBytes(32)) });
      const started = performance.now();
      const replies = await ask({ op: "go" });
      return { ms: performance.now() - started, cpuMs: replies.map((r) => r.cpuMs), bytes: replies.reduce((s, r) => s + r.bytes, 0) };
    };
    const out: Awaited<ReturnType<typeof primitives>> = {};
    if (only.has("primitives")) {
      // Warm-up at full size (compiled code, connections, windows), as in a host that has run jobs before; not counted.
      for (let i = 0; i < WARM_UP; i++) {
        await op("mult", MULT_BATCH);
        await op("cmp", CMP_BATCH);
      }
      const mult = [];
      for (let i = 0; i < REPEATS; i++) mult.push(await op("mult", MULT_BATCH));
      const cmp = [];
      for (let i = 0; i < REPEATS; i++) cmp.push(await op("cmp", CMP_BATCH));
      const multMs = median(mult.map((r) => r.ms));
      const cmpMs = median(cmp.map((r) => r.ms));
      const cpu = (runs: { cpuMs: number[] }[]): string => [0, 1, 2].map((p) => median(runs.map((r) => r.cpuMs[p])).toFixed(0)).join("/");
      say(
        `multiplications      ${Math.round(MULT_BATCH / (multMs / 1000)).toLocaleString("en")} /s   (batch ${MULT_BATCH.toLocaleString("en")}, median of ${REPEATS}: ${multMs.toFixed(0)} ms; ` +
          `CPU per party ${cpu(mult)} ms)`,
      );
      say(
        `64-bit less-than     ${Math.round(CMP_BATCH / (cmpMs / 1000)).toLocaleString("en")} /s   (batch ${CMP_BATCH.toLocaleString("en")}, median of ${REPEATS}: ${cmpMs.toFixed(0)} ms; ` +
          `CPU per party ${cpu(cmp)} ms)`,
      );
      const bytesPerMult = mult[0].bytes / MULT_BATCH;
      const bytesPerCmp = cmp[0].bytes / CMP_BATCH;
      say(`bytes sent           ${bytesPerMult.toFixed(1)} per multiplication, ${bytesPerCmp.toFixed(1)} per comparison (payload, all three hosts)`);
      Object.assign(out, { multPerS: MULT_BATCH / (multMs / 1000), cmpPerS: CMP_BATCH / (cmpMs / 1000), bytesPerMult, bytesPerCmp });
    }
    if (only.has("histogram")) {
      out.histogram = await histogramRun(dir, workers, ask);
      say(
        `histogram@1          ${(out.histogram.ms / 1000).toFixed(1)} s for ${HISTOGRAM_ROWS.toLocaleString("en")} rows × ${HISTOGRAM_EDGES} edges (result checked); ` +
          `peak RSS of the 3 party processes ${out.histogram.peakMiB.map((m) => m.toFixed(0)).join(", ")} MiB`,
      );
    }
    if (only.has("dp-mean")) out.dpMean = await dpMeanRun(dir, ask);
    return out;
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
    // Exact mode: the seller allows exact means, so the answer is checked against the plaintext.
    const policy = { allowedAlgorithms: MARKET_ALGORITHMS.map(algorithmId), minRows: 0, budget: 0, exactAlgorithms: [algorithmId("mean@1")] };
    await (await registry.registerDataset(name, schema, ROWS, 1n, commitments, policy, stake)).wait();
    const consumer = stack.state.contracts.algorithms["mean@1"];
    const market = new Contract(consumer, loadArtifact("AlgorithmComputation").abi, buyer);
    const token = new Contract(stack.state.contracts.paymentToken, tokenAbi, buyer);
    // Each request escrows the price (1 unit) and the operators' fee.
    const perRequest = 1n + ((await market.operatorFee()) as bigint);
    await (await token.approve(consumer, perRequest * BigInt(REPEATS))).wait();
    const params = JSON.stringify({ column: "v" });
    const plan = planComputation("mean@1", params, { columns: [COLUMN] }, { rowCount: BigInt(ROWS), epsilonMilli: 0 });
    const times: number[] = [];
    for (let i = 0; i < REPEATS; i++) {
      const keys = generateBuyerKeyPair();
      const receipt = await (await market.requestComputation([datasetId], params, hexlify(keys.publicKey), MaxUint256, 0)).wait();
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
  const p = only.has("primitives") || only.has("histogram") || only.has("dp-mean") ? await primitives(dir) : {};
  const h = only.has("hosts") ? await hostJobs(dir) : undefined;
  if (json) {
    const round = (v: number | undefined, digits = 0) => (v === undefined ? undefined : Number(v.toFixed(digits)));
    console.log(
      JSON.stringify({
        mult_per_s: round(p.multPerS),
        cmp_per_s: round(p.cmpPerS),
        mean_1m_ms: round(h?.meanMs),
        upload_1m_ms: round(h?.uploadMs),
        bytes_per_mult: round(p.bytesPerMult, 2),
        bytes_per_cmp: round(p.bytesPerCmp, 2),
        histogram_1m_64_ms: round(p.histogram?.ms),
        histogram_peak_rss_mib: p.histogram ? Math.round(Math.max(...p.histogram.peakMiB)) : undefined,
        mean_1m_exact_party_ms: round(p.dpMean?.exactMs),
        mean_1m_dp_party_ms: round(p.dpMean?.dpMs),
        mean_1m_dp_extra_messages: p.dpMean ? p.dpMean.dpMessages - p.dpMean.exactMessages : undefined,
      }),
    );
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
