// One party of the query benchmark, as its own process: the Peer port
// (mutual TLS, pinned certificates) and the channel to the two other
// parties, set up exactly as bench/party-worker.ts does (as a host runs
// them), driven over IPC by bench/queries.ts. It derives its share of the
// benchmark table from a seed (bench/lineitem-table.ts), plans each SQL
// query itself as a host does, and runs it on a "go".
// First: the hosts' garbage-collector setting, so the figures are theirs.
import "../src/gc-tuning.ts";
import { Session } from "node:inspector/promises";
import { pino } from "pino";
import { rerandomize } from "../src/algorithms/run.ts";
import { createPeerBoots } from "../src/channel/peer-boots.ts";
import { createPeerReceiver } from "../src/channel/peer-receiver.ts";
import type { HostConfig } from "../src/host/config.ts";
import { createJobExchange } from "../src/host/job-exchange.ts";
import { createPeerClients } from "../src/host/peer-client.ts";
import { createPeerMailbox } from "../src/host/peer-mailbox.ts";
import { planQuery } from "../src/plan/plan-query.ts";
import { runQuery } from "../src/plan/run-query.ts";
import { setupParty, type PartyExchange } from "../src/protocol/party.ts";
import type { ArithShare } from "../src/protocol/shares.ts";
import { parseQuery } from "../src/query/index.ts";
import { loadPeerTls } from "../src/tls/peer-tls.ts";
import { LINEITEM_SCHEMA, lineitemShares } from "./lineitem-table.ts";

interface Setup {
  index: 0 | 1 | 2;
  peers: [string, string, string];
  tls: { caFile: string; certFile: string; keyFile: string };
  fingerprints: [string, string, string];
}

/** The coordinator's commands: derive the table share, plan a query (job keys agreed), run it, or exit. */
export type QueryWorkerCommand =
  | { op: "table"; seed: string; rows: number }
  /** Plans a query over the table's first `rows` rows (all of them, or a prefix to warm up on). */
  | { op: "plan"; requestId: string; sql: string; rows: number }
  | { op: "go"; profile: boolean }
  | { op: "exit" };

/** CPU time of one run attributed to the engine module (and function) it was spent under, in ms. */
export interface ProfileEntry {
  where: string;
  ms: number;
}

/** Payload bytes and messages one party sent under an engine operator (and the primitive that sent them). */
export interface TrafficEntry {
  where: string;
  bytes: number;
  messages: number;
}

/** A worker's answer to a command. */
export interface QueryWorkerReply {
  ok: boolean;
  error?: string;
  ms: number;
  /** CPU time (user + system) of this process during the run, in ms. */
  cpuMs?: number;
  bytes: number;
  messages: number;
  /** The re-randomised shares to open, as [a, b] decimal strings. */
  output?: [string, string][];
  profile?: ProfileEntry[];
  traffic?: TrafficEntry[];
}

const setup = JSON.parse(process.argv[2]) as Setup;
const logger = pino({ level: "silent" });
const tls = loadPeerTls({ hostIndex: setup.index, tls: setup.tls, peerFingerprints: setup.fingerprints });
const mailbox = createPeerMailbox({ retentionMs: 60_000 });
const config = { hostIndex: setup.index, peers: setup.peers } as unknown as HostConfig;
const boots = createPeerBoots();
const peers = createPeerClients(config, tls, { boots });
const receiver = createPeerReceiver({ hostIndex: setup.index, tls, mailbox, boots, logger });
await receiver.listen(setup.peers[setup.index]);

let table: { values: Map<string, ArithShare>; valid: Map<string, ArithShare>; rows: number } | undefined;
let prepared: { run: () => Promise<ArithShare>; requestId: string; bytes: () => number; messages: () => number } | undefined;
/** With --profile: each message's bytes by the operator that sent it (undefined: not recording). */
let traffic: Map<string, TrafficEntry> | undefined;

const ENGINE_SRC = "/mpc-engine/src/";

/**
 * Where a message is sent from: the innermost operator (src/plan/) on the
 * stack, V8's async stack trace included, and the outermost protocol
 * primitive (src/protocol/) under it.
 */
function sender(): string {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 64;
  const stack = new Error().stack ?? "";
  Error.stackTraceLimit = limit;
  let operator: string | undefined;
  let primitive: string | undefined;
  for (const line of stack.split("\n")) {
    const frame = /at (?:async )?(\S+) \((.*?)(?::\d+){2}\)/.exec(line);
    const at = frame?.[2].indexOf(ENGINE_SRC) ?? -1;
    if (frame === null || at < 0) continue;
    const name = `${frame[2].slice(at + ENGINE_SRC.length)} ${frame[1]}`;
    if (name.startsWith("plan/")) {
      operator = name;
      break;
    }
    // The outermost primitive under the operator (a2b rather than the reshare inside it).
    if (name.startsWith("protocol/") && !name.startsWith("protocol/party.ts")) primitive = name;
  }
  return `${operator ?? "(no operator)"}${primitive ? ` ← ${primitive}` : ""}`;
}

/** The job's exchange, recording each message's sender while `traffic` is set. */
function recorded(exchange: PartyExchange): PartyExchange {
  return {
    send(toHost, step, payload) {
      if (traffic !== undefined) {
        const where = sender();
        const entry = traffic.get(where) ?? { where, bytes: 0, messages: 0 };
        entry.bytes += payload.length;
        entry.messages++;
        traffic.set(where, entry);
      }
      return exchange.send(toHost, step, payload);
    },
    receive: (fromHost, step) => exchange.receive(fromHost, step),
  };
}

async function plan(command: QueryWorkerCommand & { op: "plan" }): Promise<void> {
  if (!table) throw new Error("no table");
  const n = command.rows;
  if (!Number.isSafeInteger(n) || n < 1 || n > table.rows) throw new Error(`rows: 1 to ${table.rows}, got ${n}`);
  const prefix = (shares: Map<string, ArithShare>): Map<string, ArithShare> => new Map([...shares].map(([name, s]) => [name, { a: s.a.subarray(0, n), b: s.b.subarray(0, n) }]));
  const inputs = { values: prefix(table.values), valid: prefix(table.valid), rowCount: n };
  const queryPlan = planQuery(parseQuery(command.sql), LINEITEM_SCHEMA, { rowCount: BigInt(n), epsilonMilli: 0 });
  const exchange = createJobExchange({
    hostIndex: setup.index,
    // The benchmark's job ids: any fresh bytes32 per query.
    jobId: command.requestId,
    mailbox,
    peers,
    // A 64-edge histogram over 1M rows sends gigabytes: allow an hour on a small, busy machine.
    deadline: Date.now() + 3_600_000,
    signal: new AbortController().signal,
  });
  const party = await setupParty({ index: setup.index, exchange: recorded(exchange) });
  const bytes0 = party.bytesSent;
  const messages0 = party.messagesSent;
  prepared = {
    requestId: command.requestId,
    run: async () => rerandomize(party, await runQuery(party, queryPlan, inputs)),
    bytes: () => party.bytesSent - bytes0,
    messages: () => party.messagesSent - messages0,
  };
  // The previous query's garbage goes before the coordinator resets the peak-memory mark.
  globalThis.gc?.();
}

/**
 * Attributes each CPU sample to the innermost engine operator on its stack
 * (a module of src/plan/), else the innermost protocol primitive
 * (src/protocol/), else what V8 names it ("(idle)": waiting for the peers).
 * After an await only the resumed function is on the stack, so a primitive's
 * work after its round shows under the primitive, not its operator.
 */
function summarize(profile: { nodes: { id: number; callFrame: { functionName: string; url: string }; children?: number[] }[]; samples?: number[]; timeDeltas?: number[] }): ProfileEntry[] {
  const parent = new Map<number, number>();
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const label = new Map<number, string>();
  const labelOf = (id: number): string => {
    const cached = label.get(id);
    if (cached !== undefined) return cached;
    let found: string | undefined;
    let fallback: string | undefined;
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const { url, functionName } = byId.get(at)!.callFrame;
      const src = url.indexOf(ENGINE_SRC);
      if (src < 0) continue;
      const file = url.slice(src + ENGINE_SRC.length);
      if (file.startsWith("plan/")) {
        found = `${file} ${functionName || "(anonymous)"}`;
        break;
      }
      if (fallback === undefined && file.startsWith("protocol/")) fallback = `${file} ${functionName || "(anonymous)"}`;
    }
    const own = byId.get(id)!.callFrame.functionName;
    const result = found ?? fallback ?? (own.startsWith("(") ? own : "other (gRPC, TLS, IPC)");
    label.set(id, result);
    return result;
  };
  const totals = new Map<string, number>();
  (profile.samples ?? []).forEach((id, k) => {
    const where = labelOf(id);
    totals.set(where, (totals.get(where) ?? 0) + (profile.timeDeltas?.[k] ?? 0) / 1000);
  });
  return [...totals].map(([where, ms]) => ({ where, ms })).sort((x, y) => y.ms - x.ms);
}

async function go(profile: boolean): Promise<Omit<QueryWorkerReply, "ok">> {
  if (!prepared) throw new Error("nothing planned");
  const job = prepared;
  prepared = undefined;
  const session = profile ? new Session() : undefined;
  if (session) {
    session.connect();
    await session.post("Profiler.enable");
    await session.post("Profiler.start");
    traffic = new Map();
  }
  const started = performance.now();
  const cpu = process.cpuUsage();
  const out = await job.run();
  const ms = performance.now() - started;
  const { user, system } = process.cpuUsage(cpu);
  const summary = session ? summarize((await session.post("Profiler.stop")).profile) : undefined;
  session?.disconnect();
  const sent = traffic ? [...traffic.values()].sort((x, y) => y.bytes - x.bytes) : undefined;
  traffic = undefined;
  mailbox.finish(job.requestId);
  const output = Array.from(out.a, (a, k): [string, string] => [a.toString(), out.b[k].toString()]);
  return { ms, cpuMs: (user + system) / 1000, bytes: job.bytes(), messages: job.messages(), output, ...(summary ? { profile: summary } : {}), ...(sent ? { traffic: sent } : {}) };
}

async function handle(command: QueryWorkerCommand): Promise<Omit<QueryWorkerReply, "ok">> {
  switch (command.op) {
    case "table": {
      const started = performance.now();
      table = { ...lineitemShares(command.seed, command.rows, setup.index), rows: command.rows };
      return { ms: performance.now() - started, bytes: 0, messages: 0 };
    }
    case "plan":
      await plan(command);
      return { ms: 0, bytes: 0, messages: 0 };
    case "go":
      return go(command.profile);
    case "exit":
      throw new Error("unreachable");
  }
}

process.on("message", (command: QueryWorkerCommand) => {
  if (command.op === "exit") {
    peers.close();
    mailbox.close();
    receiver.close();
    process.exit(0);
  }
  handle(command).then(
    (reply) => process.send!({ ok: true, ...reply } satisfies QueryWorkerReply),
    (err: Error) => process.send!({ ok: false, error: err.message, ms: 0, bytes: 0, messages: 0 } satisfies QueryWorkerReply),
  );
});
// The coordinator's own end: a worker never outlives it.
process.on("disconnect", () => process.exit(1));
process.send!({ ready: true });
