// One party of the primitives benchmark, as its own process: the Peer
// port (mutual TLS, pinned certificates) and the channel to the two other
// parties, exactly as a host runs them, driven over IPC by bench.ts.
// First: the hosts' garbage-collector setting, so the figures are theirs.
import "../src/gc-tuning.ts";
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { pino } from "pino";
import { createPeerBoots } from "../src/channel/peer-boots.ts";
import { createPeerReceiver } from "../src/channel/peer-receiver.ts";
import type { HostConfig } from "../src/host/config.ts";
import { createJobExchange } from "../src/host/job-exchange.ts";
import { createPeerClients } from "../src/host/peer-client.ts";
import { createPeerMailbox } from "../src/host/peer-mailbox.ts";
import { planComputation } from "../src/algorithms/catalog.ts";
import { rerandomize, runPlan } from "../src/algorithms/run.ts";
import { lessThanBit } from "../src/protocol/compare.ts";
import { allPresentForTesting } from "../src/protocol/local-harness.ts";
import { multiply } from "../src/protocol/multiply.ts";
import { setupParty } from "../src/protocol/party.ts";
import { createPrfPool } from "../src/protocol/prf-pool.ts";
import { loadPeerTls } from "../src/tls/peer-tls.ts";

interface Setup {
  index: 0 | 1 | 2;
  peers: [string, string, string];
  tls: { caFile: string; certFile: string; keyFile: string };
  fingerprints: [string, string, string];
  /** The hosts' SCMPC_HOST_WORKERS: threads a round's local work runs on. */
  workers: number;
}
type Command =
  | { op: "mult" | "cmp"; n: number; requestId: string }
  /**
   * An algorithm over this party's share of one column, read from `shareFiles[index]` (component a, then b, little-endian u64);
   * `epsilonMilli` > 0 plans it differentially private (noise drawn inside the MPC), 0 exact.
   */
  | { op: "plan"; requestId: string; algorithm: string; params: string; schema: string; rows: number; shareFiles: string[]; epsilonMilli: number };

const setup = JSON.parse(process.argv[2]) as Setup;
const logger = pino({ level: "silent" });
const tls = loadPeerTls({ hostIndex: setup.index, tls: setup.tls, peerFingerprints: setup.fingerprints });
const mailbox = createPeerMailbox({ retentionMs: 60_000 });
const config = { hostIndex: setup.index, peers: setup.peers } as unknown as HostConfig;
const prfPool = createPrfPool({ workers: setup.workers });
const boots = createPeerBoots();
const peers = createPeerClients(config, tls, { boots });
const receiver = createPeerReceiver({ hostIndex: setup.index, tls, mailbox, boots, logger });
await receiver.listen(setup.peers[setup.index]);

function randomVector(n: number): BigUint64Array {
  const v = new BigUint64Array(n);
  new Uint8Array(v.buffer).set(randomBytes(v.byteLength));
  return v;
}

type Share = { a: BigUint64Array; b: BigUint64Array };
let inputs: { n: number; x: Share; y: Share } | undefined;
const randomShare = (n: number): Share => ({ a: randomVector(n), b: randomVector(n) });

/** A prepared batch: inputs generated and the job's pairwise keys agreed, so "go" times the primitive alone. */
let prepared:
  | { run: () => Promise<string[][] | void>; bytesBefore: () => number; bytesNow: () => number; messagesBefore: number; messagesNow: () => number; requestId: string }
  | undefined;

async function prepare(command: Command): Promise<void> {
  const exchange = createJobExchange({
    hostIndex: setup.index,
    // The benchmark's job ids: any fresh bytes32 per batch.
    jobId: command.requestId,
    mailbox,
    peers,
    // A histogram over 1M rows × 64 edges is 64M comparisons: minutes on a small machine.
    deadline: Date.now() + (command.op === "plan" ? 900_000 : 120_000),
    signal: new AbortController().signal,
  });
  const party = await setupParty({ index: setup.index, exchange, prfPool });
  if (command.op === "plan") {
    const bytes = await readFile(command.shareFiles[setup.index]);
    const words = new BigUint64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    const column = { a: words.subarray(0, command.rows), b: words.subarray(command.rows) };
    const schema = JSON.parse(command.schema);
    const plan = planComputation(command.algorithm, command.params, schema, { rowCount: BigInt(command.rows), epsilonMilli: command.epsilonMilli });
    const before = party.bytesSent;
    prepared = {
      messagesBefore: party.messagesSent,
      messagesNow: () => party.messagesSent,
      requestId: command.requestId,
      run: async () => {
        const name = schema.columns[0].name;
        // Every cell present: the named algorithms read the values only.
        const valid = new Map([[name, allPresentForTesting(setup.index, command.rows)]]);
        const out = await rerandomize(party, await runPlan(party, plan, { columns: new Map([[name, column]]), valid, rowCount: command.rows }));
        return Array.from(out.a, (a, k) => [a.toString(), out.b[k].toString()]);
      },
      bytesBefore: () => before,
      bytesNow: () => party.bytesSent,
    };
    return;
  }
  // Shares of random values: the primitives' cost does not depend on them.
  // Made once per size, so that a batch's time (and the garbage collections
  // in it) comes from the primitive's own buffers, not from making inputs.
  if (inputs?.n !== command.n) inputs = { n: command.n, x: randomShare(command.n), y: randomShare(command.n) };
  const { x, y } = inputs;
  const before = party.bytesSent;
  prepared = {
    messagesBefore: party.messagesSent,
    messagesNow: () => party.messagesSent,
    requestId: command.requestId,
    run: async () => {
      if (command.op === "mult") await multiply(party, x, y);
      else await lessThanBit(party, x, y);
    },
    bytesBefore: () => before,
    bytesNow: () => party.bytesSent,
  };
}

async function go(): Promise<{ ms: number; cpuMs: number; bytes: number; messages: number; output?: string[][] }> {
  if (!prepared) throw new Error("nothing prepared");
  const job = prepared;
  prepared = undefined;
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  const output = await job.run();
  const ms = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  mailbox.finish(job.requestId);
  return {
    ms,
    cpuMs: (cpu.user + cpu.system) / 1000,
    bytes: job.bytesNow() - job.bytesBefore(),
    messages: job.messagesNow() - job.messagesBefore,
    ...(output ? { output } : {}),
  };
}

process.on("message", (message: Command | { op: "go" } | { op: "exit" }) => {
  if (message.op === "exit") {
    peers.close();
    mailbox.close();
    receiver.close();
    void prfPool.close().finally(() => process.exit(0));
    return;
  }
  const work = message.op === "go" ? go() : prepare(message as Command).then(() => ({ ms: 0, bytes: 0 }));
  work.then(
    (outcome) => process.send!({ ok: true, ...outcome }),
    (err: Error) => process.send!({ ok: false, error: err.message }),
  );
});
process.send!({ ready: true });
