import { mkdirSync } from "node:fs";
import path from "node:path";
import type { OffenceAttestation } from "@scmpc/mpc-engine/host";
import { DatabaseSync } from "./sqlite.ts";

/**
 * Where a job stands:
 * - `running`: accepted (its row is durable) and not finished; after a crash
 *   the bridge runs it again at start-up;
 * - `completed`: `result` holds the on-chain payload, the answer to every later call;
 * - `failed`: `error` holds why; a `retryable` failure runs again when the
 *   request comes back, a definitive one stays the answer.
 */
export type JobState = "running" | "completed" | "failed";

/** What a job computes: the request as the bridge was asked (and as the chain confirmed it). */
export interface JobInputs {
  /** Lowercase 0x bytes32: the key of the job. */
  requestId: string;
  algorithm: string;
  /** Comma-separated 0x dataset ids, as the request data carries them. */
  datasetIds: string;
  params: string;
  buyerKey: string;
  consumer: string;
}

/** A stored job error, as the External Adapter error body reports it. */
export interface JobError {
  name: string;
  message: string;
  statusCode: number;
  code: string;
  retryable: boolean;
  /** Two hosts' signed attestations of a seller's offence (OFFENCE_ATTESTED only). */
  attestations?: OffenceAttestation[];
}

/** One job row. */
export interface JobRow extends JobInputs {
  state: JobState;
  /** How many times the job was started (1 for the first run, +1 for each retry or resume). */
  attempts: number;
  /** 0x payload (abi.encode(bytes result, bytes[3] signatures)) once completed. */
  result: string | null;
  error: JobError | null;
  createdAt: number;
  updatedAt: number;
  finishedAt: number | null;
}

/**
 * Delivery of a finished job to a Chainlink node's `responseURL`:
 * - `waiting`: not delivered yet (the job runs, or a PATCH failed and is retried later);
 * - `delivered`: the node accepted the PATCH;
 * - `failed`: every attempt failed; `lastError` says why.
 */
export type CallbackState = "waiting" | "delivered" | "failed";

/** One callback row: the PATCH owed to one `responseURL` for one job. */
export interface CallbackRow {
  requestId: string;
  url: string;
  jobRunID: string;
  state: CallbackState;
  attempts: number;
  /** Epoch ms before which no new attempt is made. */
  nextAttemptAt: number;
  lastError: string | null;
  createdAt: number;
  updatedAt: number;
}

/** The bridge's durable job state. */
export interface JobStore {
  /** The path of the database file. */
  readonly file: string;
  get(requestId: string): JobRow | undefined;
  /**
   * Records a new running job, and the callback it owes if any, in one
   * transaction that is on disk when this returns.
   *
   * @throws if a job with this request id exists
   */
  insert(inputs: JobInputs, now: number, callback?: { url: string; jobRunID: string }): JobRow;
  /** Starts a failed job again: `running`, one more attempt, the old error cleared. */
  restart(requestId: string, now: number): JobRow;
  complete(requestId: string, result: string, now: number): JobRow;
  fail(requestId: string, error: JobError, now: number): JobRow;
  /** Jobs left `running`, oldest first: what a restarted bridge must finish. */
  running(): JobRow[];
  /** Adds a callback to a job (a second call with the same URL is ignored); returns whether it was new. */
  addCallback(requestId: string, url: string, jobRunID: string, now: number): boolean;
  callbacksOf(requestId: string): CallbackRow[];
  /** Callbacks still `waiting` whose job is finished: what must be (re)delivered. */
  undeliveredCallbacks(): CallbackRow[];
  updateCallback(requestId: string, url: string, change: { state: CallbackState; attempts: number; nextAttemptAt: number; lastError: string | null }, now: number): void;
  /** Number of jobs in each state. */
  countByState(): Record<JobState, number>;
  close(): void;
}

const SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS jobs (
  request_id    TEXT PRIMARY KEY,
  algorithm     TEXT NOT NULL,
  dataset_ids   TEXT NOT NULL,
  params        TEXT NOT NULL,
  buyer_key     TEXT NOT NULL,
  consumer      TEXT NOT NULL,
  state         TEXT NOT NULL CHECK (state IN ('running', 'completed', 'failed')),
  attempts      INTEGER NOT NULL,
  result        TEXT,
  error         TEXT,
  created_at    INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL,
  finished_at   INTEGER
) STRICT;
CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs (state, created_at);
CREATE TABLE IF NOT EXISTS callbacks (
  request_id      TEXT NOT NULL REFERENCES jobs (request_id),
  url             TEXT NOT NULL,
  job_run_id      TEXT NOT NULL,
  state           TEXT NOT NULL CHECK (state IN ('waiting', 'delivered', 'failed')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL DEFAULT 0,
  last_error      TEXT,
  created_at      INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL,
  PRIMARY KEY (request_id, url)
) STRICT;
CREATE INDEX IF NOT EXISTS callbacks_by_state ON callbacks (state);
`;

interface JobRecord {
  request_id: string;
  algorithm: string;
  dataset_ids: string;
  params: string;
  buyer_key: string;
  consumer: string;
  state: JobState;
  attempts: number;
  result: string | null;
  error: string | null;
  created_at: number;
  updated_at: number;
  finished_at: number | null;
}

interface CallbackRecord {
  request_id: string;
  url: string;
  job_run_id: string;
  state: CallbackState;
  attempts: number;
  next_attempt_at: number;
  last_error: string | null;
  created_at: number;
  updated_at: number;
}

function toJob(r: JobRecord): JobRow {
  return {
    requestId: r.request_id,
    algorithm: r.algorithm,
    datasetIds: r.dataset_ids,
    params: r.params,
    buyerKey: r.buyer_key,
    consumer: r.consumer,
    state: r.state,
    attempts: r.attempts,
    result: r.result,
    error: r.error === null ? null : (JSON.parse(r.error) as JobError),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    finishedAt: r.finished_at,
  };
}

function toCallback(r: CallbackRecord): CallbackRow {
  return {
    requestId: r.request_id,
    url: r.url,
    jobRunID: r.job_run_id,
    state: r.state,
    attempts: r.attempts,
    nextAttemptAt: r.next_attempt_at,
    lastError: r.last_error,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/**
 * Opens (creating if needed) the bridge's job store: one SQLite file through
 * `node:sqlite`, in WAL mode with `synchronous = FULL`, so that a write that
 * returned survives a kill -9 or a power cut. Request ids are stored lowercase.
 *
 * @example
 * const store = openJobStore("/var/lib/scmpc/bridge/jobs.sqlite");
 * const job = store.get(requestId);
 */
export function openJobStore(file: string): JobStore {
  if (file !== ":memory:") mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const db = new DatabaseSync(file);
  let open = true;
  db.exec("PRAGMA journal_mode = WAL");
  db.exec("PRAGMA synchronous = FULL");
  db.exec("PRAGMA foreign_keys = ON");
  db.exec("PRAGMA busy_timeout = 5000");
  const version = (db.prepare("PRAGMA user_version").get() as { user_version: number }).user_version;
  if (version > SCHEMA_VERSION) {
    db.close();
    throw new Error(`bridge store ${file} has schema version ${version}; this bridge knows ${SCHEMA_VERSION}`);
  }
  db.exec(SCHEMA);
  db.exec(`PRAGMA user_version = ${SCHEMA_VERSION}`);

  const selectJob = db.prepare("SELECT * FROM jobs WHERE request_id = ?");
  const insertJob = db.prepare(
    `INSERT INTO jobs (request_id, algorithm, dataset_ids, params, buyer_key, consumer, state, attempts, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, 'running', 1, ?, ?)`,
  );
  const restartJob = db.prepare(
    "UPDATE jobs SET state = 'running', attempts = attempts + 1, error = NULL, finished_at = NULL, updated_at = ? WHERE request_id = ? AND state = 'failed'",
  );
  const completeJob = db.prepare(
    "UPDATE jobs SET state = 'completed', result = ?, error = NULL, updated_at = ?, finished_at = ? WHERE request_id = ? AND state = 'running'",
  );
  const failJob = db.prepare(
    "UPDATE jobs SET state = 'failed', error = ?, updated_at = ?, finished_at = ? WHERE request_id = ? AND state = 'running'",
  );
  const selectRunning = db.prepare("SELECT * FROM jobs WHERE state = 'running' ORDER BY created_at, request_id");
  const insertCallback = db.prepare(
    `INSERT OR IGNORE INTO callbacks (request_id, url, job_run_id, state, created_at, updated_at) VALUES (?, ?, ?, 'waiting', ?, ?)`,
  );
  const selectCallbacks = db.prepare("SELECT * FROM callbacks WHERE request_id = ? ORDER BY created_at, url");
  const selectUndelivered = db.prepare(
    `SELECT c.* FROM callbacks c JOIN jobs j ON j.request_id = c.request_id
     WHERE c.state = 'waiting' AND j.state <> 'running' ORDER BY c.next_attempt_at, c.created_at`,
  );
  const updateCallback = db.prepare(
    "UPDATE callbacks SET state = ?, attempts = ?, next_attempt_at = ?, last_error = ?, updated_at = ? WHERE request_id = ? AND url = ?",
  );
  const countStates = db.prepare("SELECT state, COUNT(*) AS n FROM jobs GROUP BY state");

  const key = (requestId: string): string => requestId.toLowerCase();
  const mustGet = (requestId: string): JobRow => {
    const row = selectJob.get(key(requestId)) as JobRecord | undefined;
    if (!row) throw new Error(`no job for request ${requestId}`);
    return toJob(row);
  };
  const transaction = <T>(fn: () => T): T => {
    db.exec("BEGIN IMMEDIATE");
    try {
      const out = fn();
      db.exec("COMMIT");
      return out;
    } catch (err) {
      db.exec("ROLLBACK");
      throw err;
    }
  };
  const changed = (result: { changes: number | bigint }, what: string): void => {
    if (Number(result.changes) !== 1) throw new Error(`bridge store: ${what} changed no job (wrong state?)`);
  };

  return {
    file,
    get(requestId) {
      const row = selectJob.get(key(requestId)) as JobRecord | undefined;
      return row ? toJob(row) : undefined;
    },
    insert(inputs, now, callback) {
      const id = key(inputs.requestId);
      return transaction(() => {
        insertJob.run(id, inputs.algorithm, inputs.datasetIds, inputs.params, inputs.buyerKey, inputs.consumer, now, now);
        if (callback) insertCallback.run(id, callback.url, callback.jobRunID, now, now);
        return mustGet(id);
      });
    },
    restart(requestId, now) {
      changed(restartJob.run(now, key(requestId)), `restart of ${requestId}`);
      return mustGet(requestId);
    },
    complete(requestId, result, now) {
      changed(completeJob.run(result, now, now, key(requestId)), `completion of ${requestId}`);
      return mustGet(requestId);
    },
    fail(requestId, error, now) {
      changed(failJob.run(JSON.stringify(error), now, now, key(requestId)), `failure of ${requestId}`);
      return mustGet(requestId);
    },
    running() {
      return (selectRunning.all() as unknown as JobRecord[]).map(toJob);
    },
    addCallback(requestId, url, jobRunID, now) {
      return Number(insertCallback.run(key(requestId), url, jobRunID, now, now).changes) === 1;
    },
    callbacksOf(requestId) {
      return (selectCallbacks.all(key(requestId)) as unknown as CallbackRecord[]).map(toCallback);
    },
    undeliveredCallbacks() {
      return (selectUndelivered.all() as unknown as CallbackRecord[]).map(toCallback);
    },
    updateCallback(requestId, url, change, now) {
      updateCallback.run(change.state, change.attempts, change.nextAttemptAt, change.lastError, now, key(requestId), url);
    },
    countByState() {
      const counts: Record<JobState, number> = { running: 0, completed: 0, failed: 0 };
      for (const row of countStates.all() as unknown as { state: JobState; n: number }[]) counts[row.state] = Number(row.n);
      return counts;
    },
    close() {
      if (!open) return;
      open = false;
      db.close();
    },
  };
}
