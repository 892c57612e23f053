import { mkdirSync } from "node:fs";
import path from "node:path";
import { DatabaseSync } from "node:sqlite";
import type { OracleRequest } from "./oracle-request.ts";

/**
 * Where a request stands in the relay:
 * - `seen`: its `OracleRequest` log is confirmed and recorded; the bridge has not answered yet.
 * - `answered`: the bridge's answer (or its definitive error, as an empty payload) is kept.
 * - `sent`: a signed `fulfillOracleRequest2` transaction is recorded (hash, raw bytes, nonce)
 *   before it is broadcast; its fate is looked up before anything else is sent.
 * - `fulfilled`: the Operator emitted `OracleResponse` for it (by the relay or by someone else).
 * - `failed`: it can never be fulfilled (cancelled, unknown commitment, unsupported version).
 */
export type RequestState = "seen" | "answered" | "sent" | "fulfilled" | "failed";

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
  fulfilTxHash: string | null;
  /** The signed transaction, kept so that exactly this one is re-broadcast after a crash. */
  fulfilTxRaw: string | null;
  fulfilTxNonce: number | null;
  sendAttempts: number;
  /** For `fulfilled`: `result`, `error-result` or `fulfilled-elsewhere`; for `failed`: the reason. */
  outcome: string | null;
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

/** The durable state of the oracle relay. */
export interface RelayStore {
  chainIdentity(): ChainIdentity | undefined;
  setChainIdentity(identity: ChainIdentity): void;
  /** The last block whose requests are all recorded, and its hash; undefined before the first scan. */
  cursor(): { block: number; hash: string } | undefined;
  /**
   * Records the requests of blocks up to `toBlock` and moves the cursor to
   * `toBlock`, in one transaction: the cursor never passes a request that is
   * not durably recorded. A request already recorded is left as it is.
   * Returns the request ids that were new.
   */
  recordScan(requests: ScannedRequest[], toBlock: number, toBlockHash: string): string[];
  /** Moves the cursor back (after a reorganisation deeper than the confirmations). */
  rewind(toBlock: number, hash: string): void;
  get(requestId: string): RequestRow | undefined;
  /** Rows not yet fulfilled or failed; `sent` ones first (their nonces come first), then by chain order. */
  unfinished(): RequestRow[];
  /** Counts a bridge call; the first one also starts the retry window. */
  noteBridgeAttempt(requestId: string, now: number): RequestRow;
  markAnswered(requestId: string, payload: string, bridgeError: string | null): void;
  markSent(requestId: string, tx: { hash: string; raw: string; nonce: number }): void;
  markFulfilled(requestId: string, outcome: "result" | "error-result" | "fulfilled-elsewhere", txHash?: string | null): void;
  markFailed(requestId: string, reason: string): void;
  counts(): Record<RequestState, number>;
  close(): void;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS relay_meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS requests (
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
  state                   TEXT NOT NULL CHECK (state IN ('seen', 'answered', 'sent', 'fulfilled', 'failed')),
  payload                 TEXT,
  bridge_error            TEXT,
  bridge_attempts         INTEGER NOT NULL DEFAULT 0,
  first_bridge_attempt_at INTEGER,
  fulfil_tx_hash          TEXT,
  fulfil_tx_raw           TEXT,
  fulfil_tx_nonce         INTEGER,
  send_attempts           INTEGER NOT NULL DEFAULT 0,
  outcome                 TEXT,
  created_at              INTEGER NOT NULL,
  updated_at              INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS requests_unfinished ON requests (state, block_number, log_index)
  WHERE state IN ('seen', 'answered', 'sent');
`;

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
    sendAttempts: r.send_attempts as number,
    outcome: r.outcome as string | null,
    createdAt: r.created_at as number,
    updatedAt: r.updated_at as number,
  };
}

/** Request ids are keys: one spelling (lower-case 0x-hex) everywhere in the store. */
export function requestKey(requestId: string): string {
  return requestId.toLowerCase();
}

/**
 * Opens (creating if needed) the relay's SQLite store at `file`, or an
 * in-memory one for ":memory:". WAL with `synchronous=FULL`: a write the
 * relay acts on has reached the disk, so a kill -9 (or a power cut) loses
 * nothing that was acknowledged.
 *
 * @example
 * const store = openRelayStore(".scmpc/relay/relay.sqlite");
 * const cursor = store.cursor();
 */
export function openRelayStore(file: string): RelayStore {
  if (file !== ":memory:") mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const db = new DatabaseSync(file);
  db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000;");
  db.exec(SCHEMA);

  const getMeta = db.prepare("SELECT value FROM relay_meta WHERE key = ?");
  const setMeta = db.prepare("INSERT INTO relay_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value");
  const insertRequest = db.prepare(`
    INSERT INTO requests (request_id, spec_id, requester, payment, callback_addr, callback_function_id,
      cancel_expiration, data_version, data, block_number, block_hash, log_tx_hash, log_index, state, created_at, updated_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'seen', ?, ?)
    ON CONFLICT (request_id) DO NOTHING`);
  const selectRequest = db.prepare("SELECT * FROM requests WHERE request_id = ?");
  const selectUnfinished = db.prepare(`
    SELECT * FROM requests WHERE state IN ('seen', 'answered', 'sent')
    ORDER BY CASE state WHEN 'sent' THEN 0 ELSE 1 END, fulfil_tx_nonce, block_number, log_index`);
  const bridgeAttempt = db.prepare(`
    UPDATE requests SET bridge_attempts = bridge_attempts + 1,
      first_bridge_attempt_at = COALESCE(first_bridge_attempt_at, ?), updated_at = ?
    WHERE request_id = ?`);
  const answered = db.prepare(`
    UPDATE requests SET state = 'answered', payload = ?, bridge_error = ?, updated_at = ?
    WHERE request_id = ? AND state = 'seen'`);
  const sent = db.prepare(`
    UPDATE requests SET state = 'sent', fulfil_tx_hash = ?, fulfil_tx_raw = ?, fulfil_tx_nonce = ?,
      send_attempts = send_attempts + 1, updated_at = ?
    WHERE request_id = ? AND state IN ('answered', 'sent')`);
  const fulfilled = db.prepare(`
    UPDATE requests SET state = 'fulfilled', outcome = ?, fulfil_tx_hash = COALESCE(?, fulfil_tx_hash), updated_at = ?
    WHERE request_id = ? AND state IN ('seen', 'answered', 'sent')`);
  const failed = db.prepare(`
    UPDATE requests SET state = 'failed', outcome = ?, updated_at = ?
    WHERE request_id = ? AND state IN ('seen', 'answered', 'sent')`);
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
        for (const { request: r, blockHash, logIndex } of requests) {
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
      expectChange(sent.run(tx.hash, tx.raw, tx.nonce, Date.now(), requestKey(requestId)), requestId, "sent");
    },
    markFulfilled(requestId, outcome, txHash = null) {
      expectChange(fulfilled.run(outcome, txHash, Date.now(), requestKey(requestId)), requestId, "fulfilled");
    },
    markFailed(requestId, reason) {
      expectChange(failed.run(reason, Date.now(), requestKey(requestId)), requestId, "failed");
    },
    counts() {
      const counts: Record<RequestState, number> = { seen: 0, answered: 0, sent: 0, fulfilled: 0, failed: 0 };
      for (const { state, n } of countStates.all() as { state: RequestState; n: number }[]) counts[state] = n;
      return counts;
    },
    close() {
      if (db.isOpen) db.close();
    },
  };
}
