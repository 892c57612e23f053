// One party's local work of a multiplication round, for the benchmark's
// `workers` part: PRF streams and cross terms of `n` products with the
// given threads (a host's SCMPC_HOST_WORKERS), nothing sent — its peers are
// silent but for the seed round and a fixed reply. Answers with the median
// ms per round and the CPU per round of all its threads: over IPC when
// forked by bench.ts, else as a JSON line on stdout
// (`tsx bench/local-round.ts <workers> <products> [rounds]`).
// First: the hosts' garbage-collector setting, so the figures are theirs.
import "../src/gc-tuning.ts";
import { randomBytes } from "node:crypto";
import { multiply } from "../src/protocol/multiply.ts";
import { setupParty, type PartyExchange } from "../src/protocol/party.ts";
import { createPrfPool } from "../src/protocol/prf-pool.ts";

const WARM_UP = 5;
const workers = Number(process.argv[2]);
const n = Number(process.argv[3]);
const ROUNDS = Number(process.argv[4] ?? 40);
if (!Number.isSafeInteger(workers) || workers < 1 || !Number.isSafeInteger(n) || n < 1 || !Number.isSafeInteger(ROUNDS) || ROUNDS < 1) {
  throw new Error("usage: local-round.ts <workers ≥ 1> <products ≥ 1> [rounds ≥ 1]");
}
const pool = createPrfPool({ workers });
try {
  const reply = Buffer.alloc(8 * n);
  const exchange: PartyExchange = { send: async () => undefined, receive: async (_from, step) => (step === 0 ? Buffer.alloc(32, 1) : reply) };
  const party = await setupParty({ index: 0, exchange, prfPool: pool });
  const share = () => ({ a: new BigUint64Array(randomBytes(8 * n).buffer), b: new BigUint64Array(randomBytes(8 * n).buffer) });
  const x = share();
  const y = share();
  for (let i = 0; i < WARM_UP; i++) await multiply(party, x, y);
  const rounds: number[] = [];
  const cpuBefore = process.cpuUsage();
  for (let i = 0; i < ROUNDS; i++) {
    const started = performance.now();
    await multiply(party, x, y);
    rounds.push(performance.now() - started);
  }
  const cpu = process.cpuUsage(cpuBefore);
  rounds.sort((a, b) => a - b);
  const answer = { ms: rounds[ROUNDS >> 1], cpuMs: (cpu.user + cpu.system) / 1000 / ROUNDS, rounds: ROUNDS };
  if (process.send) process.send(answer);
  else console.log(JSON.stringify({ workers, products: n, ...answer }));
} finally {
  await pool.close();
  if (process.connected) process.disconnect();
}
