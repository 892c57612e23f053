// The query benchmark: `npm run bench:queries -- [--json] [--rows N] [--only q6,group_avg,histogram64,median] [--profile] [--seed S]`.
// SQL queries over secret shares of a TPC-H lineitem-shaped table (eight
// columns, 1,000,000 rows by default, 5% of the prices missing), exact mode,
// run by three party processes on 127.0.0.1 over the hosts' mutual-TLS Peer
// channel (bench/query-worker.ts, set up as bench/party-worker.ts is). Each
// party derives its share of the table from a seed the coordinator sends
// (bench/lineitem-table.ts); then, per query, every party plans it and agrees
// the job's keys, and the figure is the time from the coordinator's "go" to
// the last party's re-randomised output shares: the MPC protocol alone, not
// the table's generation nor the planning. Every answer is opened, decoded as
// the buyer does and compared with a plaintext computation of the same query
// over the same table, so a broken run fails instead of printing a figure.
// Peak memory is each party's VmHWM during each query (reset before it).
// `--profile` prints, per query, where party 0's CPU time went by engine
// operator (a module of src/plan/) or protocol primitive, and its messages.
import { fork } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "@scmpc/client/processes";
import { parseIsoDate } from "@scmpc/tables/values";
import { Rational } from "../src/algorithms/rational.ts";
import { decodeQuery } from "../src/plan/decode-query.ts";
import { planQuery } from "../src/plan/plan-query.ts";
import { parseQuery } from "../src/query/index.ts";
import { createTlsMaterial } from "../src/tls/index.ts";
import { LINEITEM_SCHEMA, lineitemPlain, type PlainColumn } from "./lineitem-table.ts";
import type { QueryWorkerCommand, QueryWorkerReply } from "./query-worker.ts";

type Table = Map<string, PlainColumn>;
type Answer = (string | null)[][];

/** One benchmark query: its SQL, its figure's name and target, and its answer computed in plaintext. */
interface BenchQuery {
  key: string;
  figure: string;
  label: string;
  targetMs: number;
  sql: string;
  plain: (table: Table, rows: number) => Answer;
}

const DATASET = `"0x${"5e".repeat(32)}"`;
const PEAK_RSS_TARGET_MIB = 1024;
const WARM_UP_ROWS = 5000;
/** Histogram edges: 64 increasing prices, 2,500.00 to 103,300.00 in steps of 1,600.00 (units of 0.01). */
const EDGES = Array.from({ length: 64 }, (_, j) => 250_000 + 160_000 * j);
const cents = (units: number): string => (units / 100).toFixed(2);

const col = (table: Table, name: string): PlainColumn => table.get(name)!;

const QUERIES: readonly BenchQuery[] = [
  {
    key: "q6",
    figure: "q6_1m_ms",
    label: "q6 (TPC-H Q6 shape)",
    targetMs: 4000,
    sql:
      `SELECT sum(price * discount) FROM ${DATASET} WHERE shipdate >= '1994-01-01' AND shipdate < '1995-01-01' ` +
      `AND discount BETWEEN 0.05 AND 0.07 AND quantity < 24`,
    plain: (table, rows) => {
      const [ship, discount, quantity, price] = ["shipdate", "discount", "quantity", "price"].map((n) => col(table, n));
      const [from, to] = [parseIsoDate("1994-01-01")!, parseIsoDate("1995-01-01")!];
      let total = 0n;
      let count = 0;
      for (let i = 0; i < rows; i++) {
        if (!(ship.values[i] >= from && ship.values[i] < to && discount.values[i] >= 5 && discount.values[i] <= 7 && quantity.values[i] < 24)) continue;
        if (!price.present[i] || !discount.present[i]) continue;
        total += BigInt(price.values[i]) * BigInt(discount.values[i]);
        count++;
      }
      return [[count === 0 ? null : Rational.scaled(total, 4).toDecimal(4)]];
    },
  },
  {
    key: "group_avg",
    figure: "group_avg_1m_ms",
    label: "avg by region (8 groups)",
    targetMs: 5000,
    sql: `SELECT region, avg(price) FROM ${DATASET} WHERE quantity < 30 GROUP BY region`,
    plain: (table, rows) => {
      const [region, quantity, price] = ["region", "quantity", "price"].map((n) => col(table, n));
      const categories = LINEITEM_SCHEMA.columns.find((c) => c.name === "region")!.categories!;
      // The dictionary's groups, then NULL (rows missing the region: none here).
      const totals = Array.from({ length: categories.length + 1 }, () => ({ sum: 0n, count: 0n }));
      for (let i = 0; i < rows; i++) {
        if (!quantity.present[i] || quantity.values[i] >= 30 || !price.present[i]) continue;
        const g = totals[region.present[i] ? region.values[i] : categories.length];
        g.sum += BigInt(price.values[i]);
        g.count++;
      }
      return totals.map((g, k) => [k < categories.length ? categories[k] : null, g.count === 0n ? null : Rational.scaled(g.sum, 2).div(new Rational(g.count)).toDecimal(2 + 6)]);
    },
  },
  {
    key: "histogram64",
    figure: "histogram64_1m_ms",
    label: "histogram, 64 edges",
    targetMs: 20_000,
    sql: `SELECT histogram(price, ${EDGES.map(cents).join(", ")}) FROM ${DATASET}`,
    plain: (table, rows) => {
      const price = col(table, "price");
      const counts = new Array<number>(EDGES.length + 1).fill(0);
      for (let i = 0; i < rows; i++) {
        if (!price.present[i]) continue;
        let bucket = 0;
        while (bucket < EDGES.length && price.values[i] >= EDGES[bucket]) bucket++;
        counts[bucket]++;
      }
      return [counts.map(String)];
    },
  },
  {
    key: "median",
    figure: "median_1m_ms",
    label: "median",
    targetMs: 15_000,
    sql: `SELECT median(price) FROM ${DATASET}`,
    plain: (table, rows) => {
      const price = col(table, "price");
      const present = price.values.subarray(0, rows).filter((_, i) => price.present[i] === 1).sort();
      if (present.length === 0) return [[null]];
      // SQL's percentile_disc(0.5): the ⌈c/2⌉-th smallest.
      return [[cents(present[Math.ceil(present.length / 2) - 1])]];
    },
  },
];

/** The command line, validated once here. */
interface Options {
  json: boolean;
  rows: number;
  only: BenchQuery[];
  profile: boolean;
  seed: string;
}

function options(argv: readonly string[]): Options {
  const value = (flag: string): string | undefined => {
    const at = argv.indexOf(flag);
    if (at < 0) return undefined;
    const v = argv[at + 1];
    if (v === undefined || v.startsWith("--")) throw new Error(`${flag} needs a value`);
    return v;
  };
  const known = new Set(["--json", "--profile", "--rows", "--only", "--seed"]);
  for (const a of argv) if (a.startsWith("--") && !known.has(a)) throw new Error(`unknown option ${a}; known: ${[...known].join(", ")}`);
  const rowsText = value("--rows") ?? "1000000";
  const rows = Number(rowsText.replaceAll("_", ""));
  if (!Number.isSafeInteger(rows) || rows < 1) throw new Error(`--rows: a positive integer, got ${JSON.stringify(rowsText)}`);
  const onlyText = value("--only");
  const only = onlyText === undefined ? [...QUERIES] : onlyText.split(",").map((k) => {
    const q = QUERIES.find((x) => x.key === k);
    if (q === undefined) throw new Error(`--only: unknown query ${JSON.stringify(k)}; known: ${QUERIES.map((x) => x.key).join(", ")}`);
    return q;
  });
  return { json: argv.includes("--json"), rows, only, profile: argv.includes("--profile"), seed: value("--seed") ?? randomBytes(8).toString("hex") };
}

const opts = options(process.argv.slice(2));
const say = (line: string): void => {
  if (!opts.json) console.log(line);
};
const HERE = path.dirname(fileURLToPath(import.meta.url));
const fmt = (x: number): string => Math.round(x).toLocaleString("en");

/** Peak resident memory (VmHWM) of a process, in MiB; the kernel resets it on a write of "5" to clear_refs. */
function peakRssMiB(pid: number): number {
  const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
  return Number(kb) / 1024;
}

function resetPeak(pid: number): void {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, "5");
  } catch {
    // Not resettable here (not Linux): the peak since the process started.
  }
}

/** The three parties: their processes and a way to send all three the same command and collect their replies. */
interface Parties {
  workers: ChildProcess[];
  ask: (command: QueryWorkerCommand) => Promise<QueryWorkerReply[]>;
}

/**
 * Starts the three party processes, each added to `started` as soon as it is
 * forked (so the caller can stop them whatever fails next). `ask` fails if a
 * party reports a failure or dies.
 */
async function startParties(dir: string, started: ChildProcess[]): Promise<Parties> {
  const tls = await createTlsMaterial({ hosts: 3, dir: path.join(dir, "tls") });
  const peers = [await freePort(), await freePort(), await freePort()].map((p) => `127.0.0.1:${p}`);
  const workers = [0, 1, 2].map((index) => {
    const w = fork(
      path.join(HERE, "query-worker.ts"),
      [JSON.stringify({ index, peers, tls: { caFile: tls.caFile, certFile: tls.hosts[index].certFile, keyFile: tls.hosts[index].keyFile }, fingerprints: tls.hosts.map((h) => h.fingerprint) })],
      // --expose-gc: a party collects the previous query's garbage before its peak memory is reset.
      { execArgv: ["--import", "tsx", "--expose-gc"], stdio: ["ignore", "inherit", "inherit", "ipc"] },
    );
    started.push(w);
    return w;
  });
  const reply = (w: ChildProcess): Promise<QueryWorkerReply> =>
    new Promise((resolve, reject) => {
      const onExit = (code: number | null, signal: string | null): void => reject(new Error(`party process ${w.pid} exited (${signal ?? `code ${code}`})`));
      w.once("exit", onExit);
      w.once("message", (m) => {
        w.off("exit", onExit);
        resolve(m as QueryWorkerReply);
      });
    });
  await Promise.all(workers.map(reply));
  const ask = async (command: QueryWorkerCommand): Promise<QueryWorkerReply[]> => {
    const replies = await Promise.all(
      workers.map((w) => {
        const r = reply(w);
        w.send(command);
        return r;
      }),
    );
    const failed = replies.find((r) => !r.ok);
    if (failed) throw new Error(`a party failed: ${failed.error}`);
    return replies;
  };
  return { workers, ask };
}

/** Asks the parties to exit, then kills any that has not within 5 s. */
async function stopParties(workers: readonly ChildProcess[]): Promise<void> {
  await Promise.all(
    workers.map(async (w) => {
      if (w.exitCode !== null || w.signalCode !== null) return;
      const exited = new Promise((resolve) => w.once("exit", resolve));
      if (w.connected) w.send({ op: "exit" } satisfies QueryWorkerCommand);
      const timer = setTimeout(() => w.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
    }),
  );
}

interface Measured {
  query: BenchQuery;
  ms: number;
  peakMiB: number[];
  /** Messages and payload bytes party 0 sent. */
  messages: number;
  bytes: number;
  cpuMs: number[];
}

/** Runs a query over the table's first `rows` rows, checks its answer and measures it; `report` prints its profile (with --profile). */
async function runOne(query: BenchQuery, table: Table, parties: Parties, rows: number, report: boolean): Promise<Measured> {
  const plan = planQuery(parseQuery(query.sql), LINEITEM_SCHEMA, { rowCount: BigInt(rows), epsilonMilli: 0 });
  await parties.ask({ op: "plan", requestId: `0x${randomBytes(32).toString("hex")}`, sql: query.sql, rows });
  for (const w of parties.workers) resetPeak(w.pid!);
  const started = performance.now();
  const replies = await parties.ask({ op: "go", profile: opts.profile && report });
  const ms = performance.now() - started;
  const peakMiB = parties.workers.map((w) => peakRssMiB(w.pid!));
  const outputs = replies.map((r) => r.output!.map(([a, b]) => [BigInt(a), BigInt(b)] as const));
  const opened = outputs[0].map((_, k) => {
    // Replicated components must agree: party i's b is party i+1's a.
    for (let i = 0; i < 3; i++) if (outputs[i][k][1] !== outputs[(i + 1) % 3][k][0]) throw new Error(`${query.key}: parties ${i} and ${(i + 1) % 3} disagree on output ${k}`);
    return BigInt.asUintN(64, outputs[0][k][0] + outputs[1][k][0] + outputs[2][k][0]);
  });
  const answer = decodeQuery(plan, opened).rows;
  const expected = query.plain(table, rows);
  if (JSON.stringify(answer) !== JSON.stringify(expected)) {
    throw new Error(`${query.key} answered ${JSON.stringify(answer)}, the plaintext gives ${JSON.stringify(expected)}\n${query.sql}`);
  }
  if (opts.profile && report) {
    const total = replies[0].profile!.reduce((s, e) => s + e.ms, 0);
    say(`  party 0's time by operator (CPU profile, ${fmt(total)} ms sampled; "(idle)" is waiting for the peers):`);
    for (const e of replies[0].profile!.slice(0, 12)) say(`    ${fmt(e.ms).padStart(7)} ms  ${((e.ms / total) * 100).toFixed(1).padStart(5)}%  ${e.where}`);
    const sent = replies[0].bytes;
    say(`  party 0's messages by operator ← primitive (${fmt(sent / 2 ** 20)} MiB, ${replies[0].messages} messages):`);
    for (const e of replies[0].traffic!.slice(0, 10)) {
      say(`    ${fmt(e.bytes / 2 ** 20).padStart(7)} MiB  ${((e.bytes / sent) * 100).toFixed(1).padStart(5)}%  ${String(e.messages).padStart(5)} msgs  ${e.where}`);
    }
  }
  return { query, ms, peakMiB, messages: replies[0].messages, bytes: replies[0].bytes, cpuMs: replies.map((r) => r.cpuMs ?? 0) };
}

const dir = await mkdtemp(path.join(os.tmpdir(), "scmpc-bench-queries-"));
const workers: ChildProcess[] = [];
const stopOnSignal = (signal: NodeJS.Signals): void => {
  for (const w of workers) w.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
  process.kill(process.pid, signal);
};
process.once("SIGINT", stopOnSignal);
process.once("SIGTERM", stopOnSignal);
try {
  const rowsText = opts.rows.toLocaleString("en");
  say(
    `sc-mpc query benchmark (${os.cpus().length} cores, load average ${os.loadavg()[0].toFixed(1)}, Node ${process.versions.node}, ` +
      `3 party processes on loopback, mutual TLS, exact mode)`,
  );
  say(`table: ${rowsText} rows × ${LINEITEM_SCHEMA.columns.length} columns (5% of prices missing), seed ${opts.seed}`);
  const parties = await startParties(dir, workers);
  const started = performance.now();
  // The parties derive their shares while the coordinator derives the plaintext.
  const [shared, table] = await Promise.all([parties.ask({ op: "table", seed: opts.seed, rows: opts.rows }), Promise.resolve().then(() => lineitemPlain(opts.seed, opts.rows))]);
  say(`table shares derived in ${fmt(Math.max(...shared.map((r) => r.ms)))} ms per party (${fmt(performance.now() - started)} ms with the plaintext; not timed below)`);
  // A host is a long-lived process: each query first runs once, untimed (answer checked), over the
  // first rows, so the figures do not include compiling the engine's code paths.
  const warmRows = Math.min(opts.rows, WARM_UP_ROWS);
  for (const query of opts.only) await runOne(query, table, parties, warmRows, false);
  const results: Measured[] = [];
  for (const query of opts.only) {
    const r = await runOne(query, table, parties, opts.rows, true);
    results.push(r);
    say(
      `${query.label} over ${rowsText} rows: ${fmt(r.ms)} ms (target ≤ ${fmt(query.targetMs)} ms) — answer checked; ` +
        `party 0 sent ${r.messages} messages, ${fmt(r.bytes / 2 ** 20)} MiB; CPU of the parties ${r.cpuMs.map((c) => (c / 1000).toFixed(1)).join(" / ")} s, ` +
        `peak RSS ${r.peakMiB.map((m) => m.toFixed(0)).join(" / ")} MiB`,
    );
  }
  const peak = Math.max(...results.flatMap((r) => r.peakMiB));
  say(`peak RSS of any party over ${rowsText} rows × ${LINEITEM_SCHEMA.columns.length} columns: ${fmt(peak)} MiB (target ≤ ${fmt(PEAK_RSS_TARGET_MIB)} MiB)`);
  if (opts.json) {
    // Every figure, null for a query left out by --only.
    const figures = Object.fromEntries(QUERIES.map((q) => [q.figure, results.find((r) => r.query === q)?.ms ?? null]));
    console.log(JSON.stringify({ ...figures, peak_rss_mb: peak }, (_, v: unknown) => (typeof v === "number" ? Math.round(v) : v)));
  }
} finally {
  await stopParties(workers);
  await rm(dir, { recursive: true, force: true });
}
