import { mkdirSync } from "node:fs";
import path from "node:path";
import { DatabaseSync } from "../sqlite.ts";
import type { ConsumerVerdict } from "./consumer-contract.ts";
import type { OracleRequest } from "./oracle-request.ts";

/**
 * Where a request stands in the relay:
 * - `seen`: its `OracleRequest` log is confirmed and recorded; the bridge has not answered yet.
 * - `answered`: the bridge's answer (or its definitive error, as an empty payload) is kept.
 * - `sent`: a signed transaction for it is recorded (hash, raw bytes, nonce) before it is
 *   broadcast; every hash sent for the request is kept, and their fate is looked up before
 *   anything else is sent.
 * - `fulfilled`: a fulfilment was mined and the consumer emitted `ComputationFulfilled` or
 *   `ComputationFailed` for it (`consumerEvent`, `consumerFailureReason`), by the relay or
 *   by someone else.
 * - `callback-failed`: a fulfilment was mined (the Operator closed the request and kept the
 *   payment) but the consumer emitted neither event: its callback failed. The buyer's
 *   escrow is refundable after the deadline.
 * - `late`: no fulfilment was sent (or the one in flight was cancelled) because the
 *   consumer's deadline was too near or past; no gas was spent on a fulfilment.
 * - `ignored`: not the market's request (job id, requester, callback or payment; `outcome`
 *   says which); recorded so it is logged once and never looked at again. No gas, no bridge call.
 * - `failed`: it can never be fulfilled (cancelled at the Operator, unknown to the consumer,
 *   every fulfilment reverted).
 */
export type RequestState = "seen" | "answered" | "sent" | "fulfilled" | "callback-failed" | "late" | "ignored" | "failed";

/** Every state, in the order a request can pass them. */
export const REQUEST_STATES: readonly RequestState[] = ["seen", "answered", "sent", "fulfilled", "callback-failed", "late", "ignored", "failed"];

/** What a recorded transaction does: fulfil the request, or take its nonce back (a 0-value transfer to the relay itself). */
export type TxKind = "fulfil" | "cancel";

/** One transaction recorded for a request, before it was broadcast. */
export interface RecordedTx {
  hash: string;
  raw: string;
  nonce: number;
  kind: TxKind;
  createdAt: number;
}

/** A request row of the relay store. */
export interface RequestRow {
  request: OracleRequest;
  /** Hash of the block holding the `OracleRequest` log. */
  blockHash: string;
  logIndex: number;
  state: RequestState;
  /** The on-chain payload from the bridge (0x-hex); "0x" when the bridge reported an error. */
  payload: string | null;
  bridgeError: string | null;
  bridgeAttempts: number;
  /** Epoch ms of the first bridge call: the retry window runs from here, across restarts. */
  firstBridgeAttemptAt: number | null;
  /** The latest transaction signed for the request; once it is closed, the one that was mined. */
  fulfilTxHash: string | null;
  /** The latest signed transaction, kept so that exactly this one is re-broadcast after a crash. */
  fulfilTxRaw: string | null;
  /** The nonce of every transaction recorded for the request since its last new-nonce fulfilment. */
  fulfilTxNonce: number | null;
  /** Epoch ms the latest transaction was recorded: a replacement is due `replaceAfterMs` later. */
  lastSentAt: number | null;
  /** Fulfilments signed with a new nonce (replacements do not count). */
  sendAttempts: number;
  /**
   * For `fulfilled` and `callback-failed`: `result`, `error-result` or `fulfilled-elsewhere`;
   * for `late`, `ignored` and `failed`: the reason.
   */
  outcome: string | null;
  /** For `fulfilled`: which event the consumer emitted. */
  consumerEvent: ConsumerVerdict["event"] | null;
  /** For a `ComputationFailed`: its reason code (6: the answer came after the deadline). */
  consumerFailureReason: number | null;
  createdAt: number;
  updatedAt: number;
}

/** The chain a store belongs to; a store is never reused on another chain. */
export interface ChainIdentity {
  chainId: string;
  operator: string;
  /** A block the relay scans from, and its hash: a reset chain or another network has another hash. */
  anchorBlock: number;
  anchorHash: string;
}

/** A confirmed `OracleRequest` log, as the scanner hands it to the store. */
export interface ScannedRequest {
  request: OracleRequest;
  blockHash: string;
  logIndex: number;
  /** Why the relay does not serve it; recorded as `ignored` with this reason. */
  ignored?: string;
}

/** The store refuses to serve another chain than the one it recorded. */
export class RelayStoreChainMismatchError extends Error {
  readonly code = "RELAY_STORE_CHAIN_MISMATCH";
  constructor(stored: ChainIdentity, actual: ChainIdentity) {
    super(
      `the relay store belongs to chain ${stored.chainId} / Operator ${stored.operator} / block ${stored.anchorBlock} ${stored.anchorHash}, ` +
        `but the chain now shows ${actual.chainId} / ${actual.operator} / ${actual.anchorHash}; ` +
        "point SCMPC_RELAY_STORE at a new file for a new chain",
    );
    this.name = "RelayStoreChainMismatchError";
  }
}

/** The store file was written by a newer relay, or an older one could not be brought up to date. */
export class RelayStoreVersionError extends Error {
  readonly code = "RELAY_STORE_VERSION";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "RelayStoreVersionError";
  }
}

/** The durable state of the oracle relay. */
export interface RelayStore {
  chainIdentity(): ChainIdentity | undefined;
  setChainIdentity(identity: ChainIdentity): void;
  /** The last block whose requests are all recorded, and its hash; undefined before the first scan. */
  cursor(): { block: number; hash: string } | undefined;
  /**
   * Records the requests of blocks up to `toBlock` and moves the cursor to
   * `toBlock`, in one transaction: the cursor never passes a request that is
   * not durably recorded. A request already recorded is left as it is; one
   * with `ignored` set is recorded as `ignored`. Returns the request ids that
   * were new.
   */
  recordScan(requests: ScannedRequest[], toBlock: number, toBlockHash: string): string[];
  /** Moves the cursor back (after a reorganisation deeper than the confirmations). */
  rewind(toBlock: number, hash: string): void;
  get(requestId: string): RequestRow | undefined;
  /** Every transaction recorded for the request, oldest first. */
  transactions(requestId: string): RecordedTx[];
  /** Rows not yet closed; `sent` ones first (their nonces come first), then by chain order. */
  unfinished(): RequestRow[];
  /** Counts a bridge call; the first one also starts the retry window. */
  noteBridgeAttempt(requestId: string, now: number): RequestRow;
  markAnswered(requestId: string, payload: string, bridgeError: string | null): void;
  /** Records a fulfilment with a nonce of its own (the first one, or one after every earlier one can no longer be mined). */
  markSent(requestId: string, tx: { hash: string; raw: string; nonce: number }): void;
  /**
   * Records a replacement of the request's latest transaction: the same nonce
   * (refused otherwise, so a request never has two live nonces), higher fees;
   * a `cancel` takes the nonce back instead of fulfilling.
   */
  markReplaced(requestId: string, tx: { hash: string; raw: string; nonce: number; kind: TxKind }): void;
  markFulfilled(requestId: string, outcome: "result" | "error-result" | "fulfilled-elsewhere", txHash: string | null, verdict?: ConsumerVerdict): void;
  markCallbackFailed(requestId: string, outcome: "result" | "error-result" | "fulfilled-elsewhere", txHash: string): void;
  markLate(requestId: string, reason: string, txHash?: string | null): void;
  markIgnored(requestId: string, reason: string): void;
  markFailed(requestId: string, reason: string): void;
  counts(): Record<RequestState, number>;
  close(): void;
}

/** The schema version this relay writes (`PRAGMA user_version`). */
export const RELAY_STORE_VERSION = 1;

const REQUESTS_TABLE = (name: string) => `
CREATE TABLE ${name} (
  request_id              TEXT PRIMARY KEY,
  spec_id                 TEXT NOT NULL,
  requester               TEXT NOT NULL,
  payment                 TEXT NOT NULL,
  callback_addr           TEXT NOT NULL,
  callback_function_id    TEXT NOT NULL,
  cancel_expiration       TEXT NOT NULL,
  data_version            TEXT NOT NULL,
  data                    TEXT NOT NULL,
  block_number            INTEGER NOT NULL,
  block_hash              TEXT NOT NULL,
  log_tx_hash             TEXT NOT NULL,
  log_index               INTEGER NOT NULL,
  state                   TEXT NOT NULL CHECK (state IN ('seen', 'answered', 'sent', 'fulfilled', 'callback-failed', 'late', 'ignored', 'failed')),
  payload                 TEXT,
  bridge_error            TEXT,
  bridge_attempts         INTEGER NOT NULL DEFAULT 0,
  first_bridge_attempt_at INTEGER,
  fulfil_tx_hash          TEXT,
  fulfil_tx_raw           TEXT,
  fulfil_tx_nonce         INTEGER,
  last_sent_at            INTEGER,
  send_attempts           INTEGER NOT NULL DEFAULT 0,
  outcome                 TEXT,
  consumer_event          TEXT CHECK (consumer_event IN ('ComputationFulfilled', 'ComputationFailed')),
  consumer_failure_reason INTEGER,
  created_at              INTEGER NOT NULL,
  updated_at              INTEGER NOT NULL
) STRICT;`;

const AUXILIARY = `
CREATE INDEX requests_unfinished ON requests (state, block_number, log_index)
  WHERE state IN ('seen', 'answered', 'sent');
CREATE TABLE IF NOT EXISTS fulfil_txs (
  hash        TEXT PRIMARY KEY,
  request_id  TEXT NOT NULL,
  nonce       INTEGER NOT NULL,
  raw         TEXT NOT NULL,
  kind        TEXT NOT NULL CHECK (kind IN ('fulfil', 'cancel')),
  created_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS fulfil_txs_request ON fulfil_txs (request_id, created_at);
`;

const META_TABLE = `
CREATE TABLE IF NOT EXISTS relay_meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) STRICT;`;

/** The columns of the first store layout (before `user_version` was set), all kept by the migration. */
const V0_COLUMNS = [
  "request_id", "spec_id", "requester", "payment", "callback_addr", "callback_function_id", "cancel_expiration",
  "data_version", "data", "block_number", "block_hash", "log_tx_hash", "log_index", "state", "payload", "bridge_error",
  "bridge_attempts", "first_bridge_attempt_at", "fulfil_tx_hash", "fulfil_tx_raw", "fulfil_tx_nonce", "send_attempts",
  "outcome", "created_at", "updated_at",
].join(", ");

/**
 * Brings the store to {@link RELAY_STORE_VERSION}, in one transaction: a new
 * file gets the schema; a store of the first layout (version 0) has its
 * requests table rebuilt (SQLite cannot widen a CHECK constraint in place)
 * with the new states and columns, every row kept, and the transaction of
 * each `sent` row copied into `fulfil_txs`, so a fulfilment in flight during
 * the upgrade is still found. A newer store is refused.
 */
function migrate(db: DatabaseSync, file: string): void {
  const version = Number((db.prepare("PRAGMA user_version").get() as { user_version: number }).user_version);
  if (version === RELAY_STORE_VERSION) return;
  if (version > RELAY_STORE_VERSION) {
    throw new RelayStoreVersionError(
      `the relay store ${file} has schema version ${version}, written by a newer relay than this one (version ${RELAY_STORE_VERSION}); run that relay, or point SCMPC_RELAY_STORE at a new file`,
    );
  }
  const hasRequests = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'requests'").get() !== undefined;
  db.exec("BEGIN IMMEDIATE");
  try {
    db.exec(META_TABLE);
    if (!hasRequests) {
      db.exec(REQUESTS_TABLE("requests"));
    } else {
      db.exec(REQUESTS_TABLE("requests_v1"));
      db.exec(`INSERT INTO requests_v1 (${V0_COLUMNS}) SELECT ${V0_COLUMNS} FROM requests`);
      db.exec("UPDATE requests_v1 SET last_sent_at = updated_at WHERE state = 'sent'");
      db.exec("DROP INDEX IF EXISTS requests_unfinished");
      db.exec("DROP TABLE requests");
      db.exec("ALTER TABLE requests_v1 RENAME TO requests");
    }
    db.exec(AUXILIARY);
    if (hasRequests) {
      db.exec(`
        INSERT INTO fulfil_txs (hash, request_id, nonce, raw, kind, created_at)
        SELECT fulfil_tx_hash, request_id, fulfil_tx_nonce, fulfil_tx_raw, 'fulfil', updated_at FROM requests
        WHERE state = 'sent' AND fulfil_tx_hash IS NOT NULL AND fulfil_tx_raw IS NOT NULL AND fulfil_tx_nonce IS NOT NULL`);
    }
    db.exec(`PRAGMA user_version = ${RELAY_STORE_VERSION}`);
    db.exec("COMMIT");
  } catch (err) {
    db.exec("ROLLBACK");
    throw new RelayStoreVersionError(
      `the relay store ${file} (schema version ${version}) could not be upgraded to version ${RELAY_STORE_VERSION}: ${(err as Error).message}; it is left unchanged`,
      { cause: err },
    );
  }
}

type SqlRow = Record<string, string | number | null>;

function toRow(r: SqlRow): RequestRow {
  return {
    request: {
      requestId: r.request_id as string,
      specId: r.spec_id as string,
      requester: r.requester as string,
      payment: BigInt(r.payment as string),
      callbackAddr: r.callback_addr as string,
      callbackFunctionId: r.callback_function_id as string,
      cancelExpiration: BigInt(r.cancel_expiration as string),
      dataVersion: BigInt(r.data_version as string),
      data: r.data as string,
      blockNumber: r.block_number as number,
      transactionHash: r.log_tx_hash as string,
    },
    blockHash: r.block_hash as string,
    logIndex: r.log_index as number,
    state: r.state as RequestState,
    payload: r.payload as string | null,
    bridgeError: r.bridge_error as string | null,
    bridgeAttempts: r.bridge_attempts as number,
    firstBridgeAttemptAt: r.first_bridge_attempt_at as number | null,
    fulfilTxHash: r.fulfil_tx_hash as string | null,
    fulfilTxRaw: r.fulfil_tx_raw as string | null,
    fulfilTxNonce: r.fulfil_tx_nonce as number | null,
    lastSentAt: r.last_sent_at as number | null,
    sendAttempts: r.send_attempts as number,
    outcome: r.outcome as string | null,
    consumerEvent: r.consumer_event as RequestRow["consumerEvent"],
    consumerFailureReason: r.consumer_failure_reason as number | null,
    createdAt: r.created_at as number,
    updatedAt: r.updated_at as number,
  };
}

/** Request ids are keys: one spelling (lower-case 0x-hex) everywhere in the store. */
export function requestKey(requestId: string): string {
  return requestId.toLowerCase();
}

const OPEN = "('seen', 'answered', 'sent')";

/**
 * Opens (creating or upgrading if needed) the relay's SQLite store at `file`,
 * or an in-memory one for ":memory:". WAL with `synchronous=FULL`: a write the
 * relay acts on has reached the disk, so a kill -9 (or a power cut) loses
 * nothing that was acknowledged. Throws {@link RelayStoreVersionError} for a
 * store it cannot use.
 *
 * @example
 * const store = openRelayStore(".scmpc/relay/relay.sqlite");
 * const cursor = store.cursor();
 */
export function openRelayStore(file: string): RelayStore {
  if (file !== ":memory:") mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const db = new DatabaseSync(file);
  db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;");
  try {
    migrate(db, file);
  } catch (err) {
    db.close();
    throw err;
  }

  const getMeta = db.prepare("SELECT value FROM relay_meta WHERE key = ?");
  const setMeta = db.prepare("INSERT INTO relay_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value");
  const insertRequest = db.prepare(`
    INSERT INTO requests (request_id, spec_id, requester, payment, callback_addr, callback_function_id,
      cancel_expiration, data_version, data, block_number, block_hash, log_tx_hash, log_index, state, outcome, created_at, updated_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (request_id) DO NOTHING`);
  const selectRequest = db.prepare("SELECT * FROM requests WHERE request_id = ?");
  const selectTxs = db.prepare("SELECT hash, raw, nonce, kind, created_at FROM fulfil_txs WHERE request_id = ? ORDER BY created_at, rowid");
  const insertTx = db.prepare("INSERT INTO fulfil_txs (hash, request_id, nonce, raw, kind, created_at) VALUES (?, ?, ?, ?, ?, ?)");
  const selectUnfinished = db.prepare(`
    SELECT * FROM requests WHERE state IN ${OPEN}
    ORDER BY CASE state WHEN 'sent' THEN 0 ELSE 1 END, fulfil_tx_nonce, block_number, log_index`);
  const bridgeAttempt = db.prepare(`
    UPDATE requests SET bridge_attempts = bridge_attempts + 1,
      first_bridge_attempt_at = COALESCE(first_bridge_attempt_at, ?), updated_at = ?
    WHERE request_id = ?`);
  const answered = db.prepare(`
    UPDATE requests SET state = 'answered', payload = ?, bridge_error = ?, updated_at = ?
    WHERE request_id = ? AND state = 'seen'`);
  const sent = db.prepare(`
    UPDATE requests SET state = 'sent', fulfil_tx_hash = ?, fulfil_tx_raw = ?, fulfil_tx_nonce = ?, last_sent_at = ?,
      send_attempts = send_attempts + 1, updated_at = ?
    WHERE request_id = ? AND state IN ('answered', 'sent')`);
  const replaced = db.prepare(`
    UPDATE requests SET fulfil_tx_hash = ?, fulfil_tx_raw = ?, last_sent_at = ?, updated_at = ?
    WHERE request_id = ? AND state = 'sent' AND fulfil_tx_nonce = ?`);
  const fulfilled = db.prepare(`
    UPDATE requests SET state = 'fulfilled', outcome = ?, fulfil_tx_hash = COALESCE(?, fulfil_tx_hash),
      consumer_event = ?, consumer_failure_reason = ?, updated_at = ?
    WHERE request_id = ? AND state IN ${OPEN}`);
  const callbackFailed = db.prepare(`
    UPDATE requests SET state = 'callback-failed', outcome = ?, fulfil_tx_hash = ?, updated_at = ?
    WHERE request_id = ? AND state IN ${OPEN}`);
  const late = db.prepare(`
    UPDATE requests SET state = 'late', outcome = ?, fulfil_tx_hash = COALESCE(?, fulfil_tx_hash), updated_at = ?
    WHERE request_id = ? AND state IN ${OPEN}`);
  const ignored = db.prepare(`
    UPDATE requests SET state = 'ignored', outcome = ?, updated_at = ?
    WHERE request_id = ? AND state IN ('seen', 'answered')`);
  const failed = db.prepare(`
    UPDATE requests SET state = 'failed', outcome = ?, updated_at = ?
    WHERE request_id = ? AND state IN ${OPEN}`);
  const countStates = db.prepare("SELECT state, COUNT(*) AS n FROM requests GROUP BY state");

  const meta = (key: string) => (getMeta.get(key) as { value: string } | undefined)?.value;
  const mustGet = (requestId: string) => {
    const row = selectRequest.get(requestKey(requestId)) as SqlRow | undefined;
    if (!row) throw new Error(`relay store: no request ${requestId}`);
    return toRow(row);
  };
  const expectChange = (result: { changes: number | bigint }, requestId: string, what: string) => {
    if (Number(result.changes) !== 1) throw new Error(`relay store: request ${requestId} cannot become ${what} from state ${mustGet(requestId).state}`);
  };
  const transaction = <T>(body: () => T): T => {
    db.exec("BEGIN IMMEDIATE");
    try {
      const result = body();
      db.exec("COMMIT");
      return result;
    } catch (err) {
      db.exec("ROLLBACK");
      throw err;
    }
  };

  return {
    chainIdentity() {
      const chainId = meta("chain_id");
      if (chainId === undefined) return undefined;
      return { chainId, operator: meta("operator")!, anchorBlock: Number(meta("anchor_block")), anchorHash: meta("anchor_hash")! };
    },
    setChainIdentity(identity) {
      transaction(() => {
        setMeta.run("chain_id", identity.chainId);
        setMeta.run("operator", identity.operator.toLowerCase());
        setMeta.run("anchor_block", String(identity.anchorBlock));
        setMeta.run("anchor_hash", identity.anchorHash);
      });
    },
    cursor() {
      const block = meta("last_block");
      return block === undefined ? undefined : { block: Number(block), hash: meta("last_block_hash")! };
    },
    recordScan(requests, toBlock, toBlockHash) {
      const now = Date.now();
      return transaction(() => {
        const added: string[] = [];
        for (const { request: r, blockHash, logIndex, ignored: reason } of requests) {
          const result = insertRequest.run(
            requestKey(r.requestId),
            r.specId,
            r.requester,
            r.payment.toString(),
            r.callbackAddr,
            r.callbackFunctionId,
            r.cancelExpiration.toString(),
            r.dataVersion.toString(),
            r.data,
            r.blockNumber,
            blockHash,
            r.transactionHash,
            logIndex,
            reason === undefined ? "seen" : "ignored",
            reason ?? null,
            now,
            now,
          );
          if (Number(result.changes) === 1) added.push(requestKey(r.requestId));
        }
        setMeta.run("last_block", String(toBlock));
        setMeta.run("last_block_hash", toBlockHash);
        return added;
      });
    },
    rewind(toBlock, hash) {
      transaction(() => {
        setMeta.run("last_block", String(toBlock));
        setMeta.run("last_block_hash", hash);
      });
    },
    get(requestId) {
      const row = selectRequest.get(requestKey(requestId)) as SqlRow | undefined;
      return row ? toRow(row) : undefined;
    },
    transactions(requestId) {
      return (selectTxs.all(requestKey(requestId)) as SqlRow[]).map((t) => ({
        hash: t.hash as string,
        raw: t.raw as string,
        nonce: t.nonce as number,
        kind: t.kind as TxKind,
        createdAt: t.created_at as number,
      }));
    },
    unfinished() {
      return (selectUnfinished.all() as SqlRow[]).map(toRow);
    },
    noteBridgeAttempt(requestId, now) {
      bridgeAttempt.run(now, now, requestKey(requestId));
      return mustGet(requestId);
    },
    markAnswered(requestId, payload, bridgeError) {
      expectChange(answered.run(payload, bridgeError, Date.now(), requestKey(requestId)), requestId, "answered");
    },
    markSent(requestId, tx) {
      const now = Date.now();
      transaction(() => {
        expectChange(sent.run(tx.hash, tx.raw, tx.nonce, now, now, requestKey(requestId)), requestId, "sent");
        insertTx.run(tx.hash, requestKey(requestId), tx.nonce, tx.raw, "fulfil", now);
      });
    },
    markReplaced(requestId, tx) {
      const now = Date.now();
      transaction(() => {
        const result = replaced.run(tx.hash, tx.raw, now, now, requestKey(requestId), tx.nonce);
        if (Number(result.changes) !== 1) {
          const row = mustGet(requestId);
          throw new Error(
            `relay store: request ${requestId} (state ${row.state}, nonce ${row.fulfilTxNonce}) cannot take a replacement with nonce ${tx.nonce}: a replacement reuses the recorded nonce of a sent request`,
          );
        }
        insertTx.run(tx.hash, requestKey(requestId), tx.nonce, tx.raw, tx.kind, now);
      });
    },
    markFulfilled(requestId, outcome, txHash, verdict) {
      expectChange(
        fulfilled.run(outcome, txHash, verdict?.event ?? null, verdict?.reason ?? null, Date.now(), requestKey(requestId)),
        requestId,
        "fulfilled",
      );
    },
    markCallbackFailed(requestId, outcome, txHash) {
      expectChange(callbackFailed.run(outcome, txHash, Date.now(), requestKey(requestId)), requestId, "callback-failed");
    },
    markLate(requestId, reason, txHash = null) {
      expectChange(late.run(reason, txHash, Date.now(), requestKey(requestId)), requestId, "late");
    },
    markIgnored(requestId, reason) {
      expectChange(ignored.run(reason, Date.now(), requestKey(requestId)), requestId, "ignored");
    },
    markFailed(requestId, reason) {
      expectChange(failed.run(reason, Date.now(), requestKey(requestId)), requestId, "failed");
    },
    counts() {
      const counts = Object.fromEntries(REQUEST_STATES.map((s) => [s, 0])) as Record<RequestState, number>;
      for (const { state, n } of countStates.all() as { state: RequestState; n: number }[]) counts[state] = n;
      return counts;
    },
    close() {
      if (db.isOpen) db.close();
    },
  };
}
