// The MPC engine's benchmark: `npm run bench -w mpc-engine -- [--json]`.
// Everything runs on 127.0.0.1 with mutual TLS between the hosts:
//  - multiplications and 64-bit less-than comparisons between three party
//    processes over the hosts' own Peer channel (bench/party-worker.ts);
//  - share-and-upload of 1,000,000 rows to three real host processes (the
//    median of five uploads, the first one's time beside it) and
//    `mean@1` over them, from Compute request to output shares, on a local
//    chain holding the dataset and the request (the hosts check both);
//  - histogram@1 over 1,000,000 rows × 64 edges between the three party
//    processes, with each process's peak resident memory;
//  - mean@1 over 1,000,000 rows between the three party processes, exact
//    and differentially private (ε = 1, noise drawn inside the MPC), to
//    show what the noise costs: time and messages;
//  - the cost curve: share + upload, mean@1 and count-if@1 on three real host
//    processes at 10^4 … 10^7 rows (`--max-rows N` caps them), with the hosts'
//    peak memory at the largest size, a linear fit past 10^5 rows and, with
//    `--chart <file>`, the chart as SVG;
//  - a wide table: 10,000,000 rows × 4 columns (`--max-rows` caps them)
//    shared, uploaded, and mean@1, regression@1 and a filtered group avg
//    (query@1) computed on three real host processes, each answer checked,
//    with the hosts' peak memory;
//  - workers: the hosts' SCMPC_HOST_WORKERS at 1 and 2 (the event loop alone,
//    and with a thread drawing the PRF streams), alternated: one party's local
//    work of a 1M-product round in this process, then multiplications and
//    comparisons between the three party processes.
// `--only <part>[,<part>]` runs some of: primitives, histogram, dp-mean, hosts, curve, wide, workers.
// `--workers N` sets the party processes' threads for the other parts (default: a third of the cores, at least 1,
// as the local stack gives each of its three hosts on one machine).
// First: this process sells (shares and uploads) as the CLI does, with its collector setting.
import "../src/gc-tuning.ts";
import { fork } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { hexlify } from "ethers";
import { freePort, stackHostWorkers } from "@scmpc/client";
import { decodeResult, describeNoise, planComputation, Rational } from "../src/index.ts";
import { costChartSvg, linearFit } from "./cost-chart.ts";
import { openBenchMarket } from "./host-market.ts";
import { createTlsMaterial } from "../src/tls/index.ts";
import { encodeRingVector, shareColumn } from "../src/index.ts";

const json = process.argv.includes("--json");
const PARTS = ["primitives", "histogram", "dp-mean", "hosts", "curve", "wide", "workers"] as const;
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
/**
 * Timed batches of each primitive: a round's garbage collection (every
 * 60 MB or so of buffers) falls in some batches and not others, so more
 * batches than elsewhere; their median and mean are printed.
 */
const PRIMITIVE_REPEATS = 11;
/** Full-size batches run before the timed ones. */
const WARM_UP = 2;
const HISTOGRAM_ROWS = 1_000_000;
const HISTOGRAM_EDGES = 64;
const DP_MEAN_ROWS = 1_000_000;
const DP_MEAN_REPEATS = 5;
const DP_EPSILON_MILLI = 1000;
/** The benchmark's column: values in [0, 200000), as its public bounds say. */
const COLUMN = { name: "v", scale: 0, lo: "0", hi: "200000" };

/** Rows of the cost curve (`--max-rows` caps them). */
const maxRowsAt = process.argv.indexOf("--max-rows");
const CURVE_ROWS = [10_000, 100_000, 1_000_000, 10_000_000].filter((n) => maxRowsAt < 0 || n <= Number(process.argv[maxRowsAt + 1]));
const workersAt = process.argv.indexOf("--workers");
/** Threads of the party processes (a host's SCMPC_HOST_WORKERS), for every part but `workers`. */
// Default as the local stack sets its hosts': the three parties share this machine's cores.
const WORKERS = workersAt >= 0 ? Number(process.argv[workersAt + 1]) : stackHostWorkers();
if (!Number.isSafeInteger(WORKERS) || WORKERS < 1) throw new Error(`--workers: an integer of at least 1, got ${process.argv[workersAt + 1]}`);
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

/** The three party processes over the hosts' Peer channel, each with `workers` threads for a round's local work. */
async function openParties(dir: string, workers: number): Promise<{
  processes: ChildProcess[];
  ask: (message: object) => Promise<PartyReply[]>;
  /** One batch of a primitive, timed from the coordinator's "go" to the last party's answer. */
  op: (kind: "mult" | "cmp", n: number) => Promise<{ ms: number; cpuMs: number[]; bytes: number }>;
  close: () => Promise<void>;
}> {
  const tls = await createTlsMaterial({ hosts: 3, dir: await mkdtemp(path.join(dir, "tls-")) });
  const peers = [await freePort(), await freePort(), await freePort()].map((p) => `127.0.0.1:${p}`);
  const processes: ChildProcess[] = [0, 1, 2].map((index) =>
    fork(path.join(HERE, "party-worker.ts"), [
      JSON.stringify({
        index,
        peers,
        tls: { caFile: tls.caFile, certFile: tls.hosts[index].certFile, keyFile: tls.hosts[index].keyFile },
        fingerprints: tls.hosts.map((h) => h.fingerprint),
        workers,
      }),
    ], { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] }),
  );
  const close = async (): Promise<void> => {
    for (const w of processes) if (w.connected) w.send({ op: "exit" });
    await Promise.all(processes.map((w) => (w.exitCode === null ? new Promise((r) => w.once("exit", r)) : undefined)));
  };
  try {
    await Promise.all(processes.map((w) => new Promise((resolve) => w.once("message", resolve))));
  } catch (err) {
    await close();
    throw err;
  }
  const ask = (message: object) =>
    Promise.all(
      processes.map(
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
  return { processes, ask, op, close };
}

/** Multiplications and comparisons between the party processes: warm-up batches, then the median and mean of PRIMITIVE_REPEATS of each. */
async function timePrimitives(op: Awaited<ReturnType<typeof openParties>>["op"]): Promise<{
  multMs: number;
  multMeanMs: number;
  cmpMs: number;
  cmpMeanMs: number;
  multCpu: string;
  cmpCpu: string;
  bytesPerMult: number;
  bytesPerCmp: number;
}> {
  // Warm-up at full size (compiled code, connections, windows), as in a host that has run jobs before; not counted.
  for (let i = 0; i < WARM_UP; i++) {
    await op("mult", MULT_BATCH);
    await op("cmp", CMP_BATCH);
  }
  const mult = [];
  for (let i = 0; i < PRIMITIVE_REPEATS; i++) mult.push(await op("mult", MULT_BATCH));
  const cmp = [];
  for (let i = 0; i < PRIMITIVE_REPEATS; i++) cmp.push(await op("cmp", CMP_BATCH));
  // CPU as the mean over the batches: a batch's share of the collections its buffers cause.
  const mean = (values: number[]): number => values.reduce((sum, v) => sum + v, 0) / values.length;
  const cpu = (runs: { cpuMs: number[] }[]): string => [0, 1, 2].map((p) => mean(runs.map((r) => r.cpuMs[p])).toFixed(0)).join("/");
  return {
    multMs: median(mult.map((r) => r.ms)),
    multMeanMs: mean(mult.map((r) => r.ms)),
    cmpMs: median(cmp.map((r) => r.ms)),
    cmpMeanMs: mean(cmp.map((r) => r.ms)),
    multCpu: cpu(mult),
    cmpCpu: cpu(cmp),
    bytesPerMult: mult[0].bytes / MULT_BATCH,
    bytesPerCmp: cmp[0].bytes / CMP_BATCH,
  };
}

async function primitives(dir: string): Promise<{
  multPerS?: number;
  cmpPerS?: number;
  bytesPerMult?: number;
  bytesPerCmp?: number;
  histogram?: { ms: number; peakMiB: number[] };
  dpMean?: DpMean;
}> {
  const parties = await openParties(dir, WORKERS);
  try {
    const out: Awaited<ReturnType<typeof primitives>> = {};
    if (only.has("primitives")) {
      const t = await timePrimitives(parties.op);
      say(
        `multiplications      ${Math.round(MULT_BATCH / (t.multMs / 1000)).toLocaleString("en")} /s   (batch ${MULT_BATCH.toLocaleString("en")}, median of ${PRIMITIVE_REPEATS}: ${t.multMs.toFixed(0)} ms, ` +
          `mean ${t.multMeanMs.toFixed(0)} ms; CPU per party ${t.multCpu} ms; ${WORKERS} worker${WORKERS === 1 ? "" : "s"})`,
      );
      say(
        `64-bit less-than     ${Math.round(CMP_BATCH / (t.cmpMs / 1000)).toLocaleString("en")} /s   (batch ${CMP_BATCH.toLocaleString("en")}, median of ${PRIMITIVE_REPEATS}: ${t.cmpMs.toFixed(0)} ms, ` +
          `mean ${t.cmpMeanMs.toFixed(0)} ms; CPU per party ${t.cmpCpu} ms)`,
      );
      say(`bytes sent           ${t.bytesPerMult.toFixed(1)} per multiplication, ${t.bytesPerCmp.toFixed(1)} per comparison (payload, all three hosts)`);
      Object.assign(out, { multPerS: MULT_BATCH / (t.multMs / 1000), cmpPerS: CMP_BATCH / (t.cmpMs / 1000), bytesPerMult: t.bytesPerMult, bytesPerCmp: t.bytesPerCmp });
    }
    if (only.has("histogram")) {
      out.histogram = await histogramRun(dir, parties.processes, parties.ask);
      say(
        `histogram@1          ${(out.histogram.ms / 1000).toFixed(1)} s for ${HISTOGRAM_ROWS.toLocaleString("en")} rows × ${HISTOGRAM_EDGES} edges (result checked); ` +
          `peak RSS of the 3 party processes ${out.histogram.peakMiB.map((m) => m.toFixed(0)).join(", ")} MiB`,
      );
    }
    if (only.has("dp-mean")) out.dpMean = await dpMeanRun(dir, parties.ask);
    return out;
  } finally {
    await parties.close();
  }
}

/**
 * One party's local work of a round of MULT_BATCH products with `workers`
 * threads, in its own process with the hosts' garbage-collector setting
 * (bench/local-round.ts): ms per round and CPU per round (all threads).
 */
async function localRound(workers: number): Promise<{ ms: number; cpuMs: number; rounds: number }> {
  const child = fork(path.join(HERE, "local-round.ts"), [String(workers), String(MULT_BATCH)], {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const [reply] = await Promise.all([
    new Promise<{ ms: number; cpuMs: number; rounds: number }>((resolve, reject) => {
      child.once("message", (m) => resolve(m as { ms: number; cpuMs: number; rounds: number }));
      child.once("exit", (code) => reject(new Error(`local-round.ts exited with code ${code} before answering`)));
    }),
    new Promise((resolve) => child.once("exit", resolve)),
  ]);
  return reply;
}

/** The hosts' workers setting at 1 and 2, alternated: one party's local round, then the three party processes. */
async function workersRun(dir: string): Promise<Record<1 | 2, { localMs: number; multPerS: number; cmpPerS: number }>> {
  const settings = [1, 2, 1, 2] as const;
  const local: Record<1 | 2, number[]> = { 1: [], 2: [] };
  for (const w of settings) {
    const r = await localRound(w);
    local[w].push(r.ms);
    say(`  local round, ${w} worker${w === 1 ? " " : "s"}  ${r.ms.toFixed(1).padStart(6)} ms per ${MULT_BATCH.toLocaleString("en")} products (median of ${r.rounds}; CPU ${r.cpuMs.toFixed(1)} ms, all threads)`);
  }
  const mult: Record<1 | 2, number[]> = { 1: [], 2: [] };
  const cmp: Record<1 | 2, number[]> = { 1: [], 2: [] };
  for (const w of settings) {
    const parties = await openParties(dir, w);
    try {
      const t = await timePrimitives(parties.op);
      mult[w].push(MULT_BATCH / (t.multMs / 1000));
      cmp[w].push(CMP_BATCH / (t.cmpMs / 1000));
      say(
        `  3 parties, ${w} worker${w === 1 ? " " : "s"}  ${Math.round(MULT_BATCH / (t.multMs / 1000)).toLocaleString("en").padStart(10)} mult/s (CPU per party ${t.multCpu} ms)  ` +
          `${Math.round(CMP_BATCH / (t.cmpMs / 1000)).toLocaleString("en").padStart(9)} less-than/s (CPU ${t.cmpCpu} ms)`,
      );
    } finally {
      await parties.close();
    }
  }
  const best = (xs: number[], pick: (a: number, b: number) => number) => xs.reduce(pick);
  const of = (w: 1 | 2) => ({ localMs: best(local[w], Math.min), multPerS: best(mult[w], Math.max), cmpPerS: best(cmp[w], Math.max) });
  return { 1: of(1), 2: of(2) };
}

/** Uniform values in the benchmark column's bounds, and their plaintext sum. */
function columnValues(rows: number): { values: BigUint64Array; sum: bigint } {
  const values = new BigUint64Array(rows);
  let sum = 0n;
  for (let i = 0; i < rows; i++) {
    const v = Math.floor(Math.random() * 200_000);
    values[i] = BigInt(v);
    sum += BigInt(v);
  }
  return { values, sum };
}

/** Share-and-upload of 1M rows and mean@1 over them on three real host processes. */
async function hostJobs(dir: string): Promise<{ uploadMs: number; meanMs: number }> {
  const market = await openBenchMarket(dir, COLUMN);
  try {
    const { values, sum } = columnValues(ROWS);
    // Each upload a new dataset: the first one in the process pays its start-up (compilation, first connections), shown beside the median.
    const uploads: number[] = [];
    let datasetId = "";
    for (let i = 0; i < REPEATS; i++) {
      const listed = await market.list(`bench-1m-${i}`, values);
      uploads.push(listed.uploadMs);
      if (i === 0) datasetId = listed.datasetId;
    }
    const uploadMs = median(uploads);
    say(
      `share + upload       ${uploadMs.toFixed(0)} ms for ${ROWS.toLocaleString("en")} rows to 3 hosts (acknowledged durable; median of ${REPEATS}, ` +
        `the first in the process ${uploads[0].toFixed(0)} ms)`,
    );
    const expected = new Rational(sum, BigInt(ROWS)).toDecimal(6);
    const times: number[] = [];
    for (let i = 0; i < REPEATS; i++) {
      const { ms, result } = await market.compute(datasetId, ROWS, "mean@1", { column: COLUMN.name });
      if (result !== expected) throw new Error(`mean@1 returned ${result}, expected ${expected}`);
      times.push(ms);
    }
    const meanMs = median(times);
    say(`mean@1 over 1M rows  ${meanMs.toFixed(0)} ms from Compute request to the 3 output shares (median of ${REPEATS}; result checked)`);
    return { uploadMs, meanMs };
  } finally {
    await market.close();
  }
}

interface CurvePoint {
  rows: number;
  uploadMs: number;
  meanMs: number;
  countIfMs: number;
}

/**
 * Time against rows on three real host processes: share + upload, mean@1
 * (sums only) and count-if@1 (one comparison with a public threshold per
 * row), each answer checked; the hosts' peak resident memory over the largest
 * size; the table, a linear fit past 10^5 rows and the chart (SVG).
 */
async function costCurve(dir: string): Promise<{ points: CurvePoint[]; peakMiB: number[] }> {
  const market = await openBenchMarket(dir, COLUMN);
  const points: CurvePoint[] = [];
  let peakMiB: number[] = [];
  try {
    // Compiled code and connections warm, as in a host that has run jobs before; not counted.
    const warm = columnValues(10_000);
    const warmId = (await market.list("curve-warm-up", warm.values)).datasetId;
    await market.compute(warmId, 10_000, "mean@1", { column: COLUMN.name });
    await market.compute(warmId, 10_000, "count-if@1", { column: COLUMN.name, op: "lt", threshold: "50000" });
    for (const rows of CURVE_ROWS) {
      const { values, sum } = columnValues(rows);
      const largest = rows === CURVE_ROWS[CURVE_ROWS.length - 1];
      // Peaks from here on (Linux): this size's upload and jobs, not the earlier ones.
      if (largest) for (const pid of market.hostPids) resetPeakRss(pid);
      const { datasetId, uploadMs } = await market.list(`curve-${rows}`, values);
      const mean = await market.compute(datasetId, rows, "mean@1", { column: COLUMN.name });
      const expectedMean = new Rational(sum, BigInt(rows)).toDecimal(6);
      if (mean.result !== expectedMean) throw new Error(`mean@1 over ${rows} rows returned ${mean.result}, expected ${expectedMean}`);
      const countIf = await market.compute(datasetId, rows, "count-if@1", { column: COLUMN.name, op: "lt", threshold: "50000" });
      const expectedCount = values.reduce((n, v) => (v < 50_000n ? n + 1 : n), 0);
      if (countIf.result !== String(expectedCount)) throw new Error(`count-if@1 over ${rows} rows returned ${countIf.result}, expected ${expectedCount}`);
      if (largest) peakMiB = market.hostPids.map(peakRssMiB);
      points.push({ rows, uploadMs, meanMs: mean.ms, countIfMs: countIf.ms });
      say(`  ${rows.toLocaleString("en").padStart(12)} rows   upload ${uploadMs.toFixed(0).padStart(7)} ms   mean@1 ${mean.ms.toFixed(0).padStart(6)} ms   count-if@1 ${countIf.ms.toFixed(0).padStart(7)} ms`);
    }
  } finally {
    await market.close();
  }
  const fits = (["uploadMs", "meanMs", "countIfMs"] as const).map((key) => linearFit(points.map((p) => [p.rows, p[key]]), 1e5));
  say(
    `  linear fit past 10^5 rows: upload ${(fits[0].perRowMs * 1000).toFixed(2)} µs/row + ${fits[0].fixedMs.toFixed(0)} ms, ` +
      `mean@1 ${(fits[1].perRowMs * 1000).toFixed(3)} µs/row + ${fits[1].fixedMs.toFixed(0)} ms, ` +
      `count-if@1 ${(fits[2].perRowMs * 1000).toFixed(2)} µs/row + ${fits[2].fixedMs.toFixed(0)} ms`,
  );
  if (peakMiB.length > 0) say(`  peak RSS of the 3 hosts over ${CURVE_ROWS[CURVE_ROWS.length - 1].toLocaleString("en")} rows: ${peakMiB.map((m) => m.toFixed(0)).join(", ")} MiB`);
  const chartAt = process.argv.indexOf("--chart");
  if (chartAt >= 0) {
    const file = process.argv[chartAt + 1];
    writeFileSync(
      file,
      costChartSvg(`sc-mpc on ${os.cpus().length} cores: time against rows (3 host processes, mutual TLS)`, [
        { label: "share + upload", colour: "#d62728", points: points.map((p) => [p.rows, p.uploadMs]) },
        { label: "count-if@1", colour: "#ff7f0e", points: points.map((p) => [p.rows, p.countIfMs]) },
        { label: "mean@1", colour: "#1f77b4", points: points.map((p) => [p.rows, p.meanMs]) },
      ]),
    );
    say(`  chart written to ${file}`);
  }
  return { points, peakMiB };
}

/** Rows of the wide table (`--max-rows` caps them). */
const WIDE_ROWS = Math.min(10_000_000, maxRowsAt < 0 ? Infinity : Number(process.argv[maxRowsAt + 1]));
/** The wide table: x, y ≈ 3x + noise, a filter column f and a group column g. */
const WIDE = [
  { name: "x", scale: 0, lo: "0", hi: "200000" },
  { name: "y", scale: 0, lo: "0", hi: "1000000" },
  { name: "f", scale: 0, lo: "0", hi: "100" },
  { name: "g", scale: 0, lo: "0", hi: "3", type: "category" as const, categories: ["a", "b", "c", "d"] },
];

interface WideRun {
  rows: number;
  uploadMs: number;
  meanMs: number;
  regressionMs: number;
  groupAvgMs: number;
  peakMiB: number[];
}

/**
 * A wide table on three real host processes: shared and uploaded, then
 * mean@1 over x, regression@1 of y on x and `SELECT g, avg(y) ... WHERE
 * f < 50 GROUP BY g`, each answer checked against the plaintext; the hosts'
 * peak resident memory over all of it (the share is larger than a host's
 * memory for shares: jobs read it from disk a block of rows at a time).
 */
async function wideTable(dir: string): Promise<WideRun> {
  const rows = WIDE_ROWS;
  const market = await openBenchMarket(dir, ...WIDE);
  try {
    const x = new BigUint64Array(rows);
    const y = new BigUint64Array(rows);
    const f = new BigUint64Array(rows);
    const g = new BigUint64Array(rows);
    let sx = 0n, sy = 0n, sxx = 0n, sxy = 0n, syy = 0n;
    const groupSum = [0n, 0n, 0n, 0n];
    const groupCount = [0, 0, 0, 0];
    for (let i = 0; i < rows; i++) {
      const xi = Math.floor(Math.random() * 200_000);
      const yi = 3 * xi + Math.floor(Math.random() * 400_000);
      const fi = Math.floor(Math.random() * 101);
      const gi = Math.floor(Math.random() * 4);
      x[i] = BigInt(xi);
      y[i] = BigInt(yi);
      f[i] = BigInt(fi);
      g[i] = BigInt(gi);
      sx += x[i];
      sy += y[i];
      sxx += x[i] * x[i];
      sxy += x[i] * y[i];
      syy += y[i] * y[i];
      if (fi < 50) {
        groupSum[gi] += y[i];
        groupCount[gi]++;
      }
    }
    // Warm: compiled code and connections, on a small table of the same columns; not counted.
    const warm = (await market.list("wide-warm-up", x.subarray(0, 10_000), y.subarray(0, 10_000), f.subarray(0, 10_000), g.subarray(0, 10_000))).datasetId;
    await market.compute(warm, 10_000, "mean@1", { column: "x" });
    for (const pid of market.hostPids) resetPeakRss(pid);
    const { datasetId, uploadMs } = await market.list(`wide-${rows}`, x, y, f, g);
    say(`  share + upload   ${uploadMs.toFixed(0).padStart(6)} ms   (${(rows * WIDE.length * 32 / 1e9).toFixed(2)} GB share per host)`);
    const n = BigInt(rows);
    const mean = await market.compute(datasetId, rows, "mean@1", { column: "x" });
    const expectedMean = new Rational(sx, n).toDecimal(6);
    if (mean.result !== expectedMean) throw new Error(`mean@1 returned ${JSON.stringify(mean.result)}, expected ${expectedMean}`);
    say(`  mean@1 (x)       ${mean.ms.toFixed(0).padStart(6)} ms   ${expectedMean}`);
    const regression = await market.compute(datasetId, rows, "regression@1", { x: "x", y: "y" });
    const mx = new Rational(sx, n);
    const my = new Rational(sy, n);
    const cxy = new Rational(sxy, n).sub(mx.mul(my));
    const cxx = new Rational(sxx, n).sub(mx.mul(mx));
    const cyy = new Rational(syy, n).sub(my.mul(my));
    const slope = cxy.div(cxx);
    const expectedFit = { slope: slope.toDecimal(6), intercept: my.sub(slope.mul(mx)).toDecimal(6), r2: cxy.mul(cxy).div(cxx.mul(cyy)).toDecimal(6) };
    if (JSON.stringify(regression.result) !== JSON.stringify(expectedFit)) throw new Error(`regression@1 returned ${JSON.stringify(regression.result)}, expected ${JSON.stringify(expectedFit)}`);
    say(`  regression@1     ${regression.ms.toFixed(0).padStart(6)} ms   slope ${expectedFit.slope}`);
    const sql = `SELECT g, avg(y) FROM "${datasetId}" WHERE f < 50 GROUP BY g`;
    const groups = await market.compute(datasetId, rows, "query@1", { sql });
    const got = (groups.result as { rows: (string | null)[][] }).rows.filter((r) => r[0] !== null);
    const expectedGroups = ["a", "b", "c", "d"].map((label, k) => [label, new Rational(groupSum[k], BigInt(groupCount[k])).toDecimal(6)]);
    if (JSON.stringify(got) !== JSON.stringify(expectedGroups)) throw new Error(`${sql} returned ${JSON.stringify(got)}, expected ${JSON.stringify(expectedGroups)}`);
    say(`  group avg (query) ${groups.ms.toFixed(0).padStart(5)} ms   ${sql.replace(datasetId, "<dataset>")}`);
    const peakMiB = market.hostPids.map(peakRssMiB);
    say(`  peak RSS of the 3 hosts over upload and jobs: ${peakMiB.map((m) => m.toFixed(0)).join(", ")} MiB`);
    return { rows, uploadMs, meanMs: mean.ms, regressionMs: regression.ms, groupAvgMs: groups.ms, peakMiB };
  } finally {
    await market.close();
  }
}

/** Starts a process's peak-RSS count afresh (Linux: a write of "5" to clear_refs); elsewhere the peak since start stays. */
function resetPeakRss(pid: number): void {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, "5");
  } catch {
    // not resettable here
  }
}

const dir = await mkdtemp(path.join(os.tmpdir(), "scmpc-bench-"));
try {
  say(`sc-mpc engine benchmark (${os.cpus().length} cores, Node ${process.versions.node}, loopback, mutual TLS between hosts)`);
  const p = only.has("primitives") || only.has("histogram") || only.has("dp-mean") ? await primitives(dir) : {};
  const h = only.has("hosts") ? await hostJobs(dir) : undefined;
  if (only.has("curve")) say("cost curve (time from the upload's start / the Compute call, each answer checked):");
  const curve = only.has("curve") ? await costCurve(dir) : undefined;
  if (only.has("wide")) say(`wide table: ${WIDE_ROWS.toLocaleString("en")} rows × ${WIDE.length} columns on 3 host processes (each answer checked):`);
  const wide = only.has("wide") ? await wideTable(dir) : undefined;
  const wide10m = wide?.rows === 10_000_000 ? wide : undefined;
  if (only.has("workers")) say(`workers (SCMPC_HOST_WORKERS; 1: the event loop alone, 2: and a thread drawing the PRF streams), alternated:`);
  const threads = only.has("workers") ? await workersRun(dir) : undefined;
  const at = (rows: number) => curve?.points.find((p) => p.rows === rows);
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
        mean_10m_ms: round(at(10_000_000)?.meanMs),
        upload_10m_ms: round(at(10_000_000)?.uploadMs),
        count_if_10m_ms: round(at(10_000_000)?.countIfMs),
        peak_rss_10m_mb: at(10_000_000) && curve?.peakMiB.length ? Math.round(Math.max(...curve.peakMiB)) : undefined,
        wide_upload_10m_ms: round(wide10m?.uploadMs),
        wide_mean_10m_ms: round(wide10m?.meanMs),
        wide_regression_10m_ms: round(wide10m?.regressionMs),
        wide_group_avg_10m_ms: round(wide10m?.groupAvgMs),
        wide_peak_rss_10m_mb: wide10m ? Math.round(Math.max(...wide10m.peakMiB)) : undefined,
        local_round_1m_ms_workers_1: round(threads?.[1].localMs, 1),
        local_round_1m_ms_workers_2: round(threads?.[2].localMs, 1),
        mult_per_s_workers_1: round(threads?.[1].multPerS),
        mult_per_s_workers_2: round(threads?.[2].multPerS),
        cmp_per_s_workers_1: round(threads?.[1].cmpPerS),
        cmp_per_s_workers_2: round(threads?.[2].cmpPerS),
      }),
    );
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
