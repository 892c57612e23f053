import { Contract, JsonRpcProvider, Wallet } from "ethers";
import type { Logger } from "pino";
import { callBridge } from "./bridge-call.ts";
import type { RelayConfig } from "./config.ts";
import { dryRunFulfilment, findOracleResponse, fulfilArgs, signFulfilment } from "./fulfilment.ts";
import { OPERATOR_ABI, operatorInterface, parseOracleRequest } from "./oracle-request.ts";
import { openRelayStore, RelayStoreChainMismatchError } from "./relay-store.ts";
import type { RelayStore, RequestRow, RequestState, ScannedRequest } from "./relay-store.ts";
import { decodeRequestData } from "./request-data.ts";

/** A relay over its durable store. */
export interface Relay {
  /** Block the next scan starts from. */
  readonly nextBlock: number;
  /** Requests this instance fulfilled (with a result or an error result). */
  readonly fulfilled: number;
  /** Requests in the store by state. */
  counts(): Record<RequestState, number>;
  /**
   * One round: scan the confirmed blocks not yet scanned, then drive every
   * unfinished request as far as it goes now. Resolves when they are done.
   */
  pollOnce(): Promise<void>;
  /** Polls every `pollIntervalMs` until stopped; requests are driven in the background. */
  start(): void;
  /** Stops polling, aborts bridge calls and waits, then closes the store. Nothing acknowledged is lost. */
  stop(): Promise<void>;
}

/** Points in a request's life, in order. */
export type RelayStage = "recorded" | "answered" | "signed" | "broadcast" | "fulfilled";

/** What {@link createRelay} takes besides the configuration. */
export interface RelayOptions {
  /**
   * Called as a request passes each stage, after the stage is durable (and,
   * for `broadcast`, after the transaction went out). Tests throw here to play
   * a crash at that point.
   */
  onStage?: (stage: RelayStage, requestId: string) => void | Promise<void>;
  /** Called when the relay cannot go on (its store belongs to another chain). */
  onFatal?: (err: Error) => void;
}

const MAX_BLOCK_RANGE = 2_000;
const MAX_BACKOFF_MS = 30_000;
/** How far back the scan restarts when the last processed block was reorganised away. */
const REORG_REWIND_BLOCKS = 64;
/** How long one driver waits for a broadcast transaction's receipt before leaving it to the next round. */
const RECEIPT_WAIT_MS = 30_000;
/** Fulfilments sent for one request that all reverted before the relay gives up on it. */
const MAX_SEND_ATTEMPTS = 5;
const ORACLE_REQUEST_TOPIC = operatorInterface.getEvent("OracleRequest")!.topicHash;

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => (clearTimeout(timer), resolve()), { once: true });
  });
}

function messageOf(err: unknown): string {
  const e = err as { shortMessage?: string; message?: string };
  return e?.shortMessage ?? e?.message ?? String(err);
}

/**
 * Creates the oracle relay: it does what a Chainlink node's direct-request
 * job does (decode the `OracleRequest` log, CBOR-decode its data, call the
 * bridge, ABI-encode, send `fulfillOracleRequest2` from an authorized
 * sender), exactly once per request and across crashes:
 *
 * - a request is recorded (keyed by its on-chain requestId) once its log has
 *   `confirmations` blocks on top; the last processed block moves only in the
 *   same transaction that records every request up to it;
 * - the bridge's answer is stored before any transaction is made, so a
 *   restart never calls the bridge again for an answered request;
 * - a fulfilment is signed, recorded (hash, raw bytes, nonce), then
 *   broadcast; after a restart a recorded transaction is looked up by hash and
 *   re-broadcast as is, and a new one is signed only when that one can no
 *   longer be mined (its nonce was used) and the Operator has not emitted
 *   `OracleResponse` for the request;
 * - before every call and every signature it checks on-chain whether the
 *   request is still open (`OracleResponse` event, then a dry run).
 *
 * A definitive bridge error (4xx, an error body) becomes an empty result,
 * which the market contract treats as a failed job and refunds; transient
 * failures (unreachable, 5xx, pending) are retried with backoff for
 * `bridgeRetryWindowMs`.
 *
 * @example
 * const relay = createRelay(loadRelayConfig(process.env), logger);
 * relay.start();
 * await relay.stop();
 */
export function createRelay(config: RelayConfig, logger: Logger, options: RelayOptions = {}): Relay {
  // No response cache: two fulfilments signed within ethers' default 250 ms
  // would otherwise read the same nonce, and a receipt looked up again must be fresh.
  const provider = new JsonRpcProvider(config.rpcUrl, undefined, { staticNetwork: true, pollingInterval: config.pollIntervalMs, cacheTimeout: -1 });
  const wallet = new Wallet(config.privateKey, provider);
  const operator = new Contract(config.operatorAddress, OPERATOR_ABI, wallet);
  const store: RelayStore = openRelayStore(config.storePath);
  const abort = new AbortController();
  const inFlight = new Map<string, Promise<void>>();
  let sendQueue: Promise<unknown> = Promise.resolve();
  /** The nonce of the next fulfilment; undefined: ask the node. */
  let nextNonce: number | undefined;
  let identityChecked = false;
  let fulfilled = 0;
  let stopping = false;
  let timer: NodeJS.Timeout | undefined;
  let loop: Promise<void> = Promise.resolve();

  const stage = async (name: RelayStage, requestId: string) => options.onStage?.(name, requestId);
  const nextBlock = () => {
    const cursor = store.cursor();
    return cursor ? cursor.block + 1 : config.fromBlock;
  };

  /** Binds the store to this chain on first use; refuses a store made on another chain. */
  async function checkIdentity(): Promise<boolean> {
    if (identityChecked) return true;
    const [network, anchor] = await Promise.all([provider.getNetwork(), provider.getBlock(config.fromBlock)]);
    if (!anchor?.hash) return false; // the chain has not reached fromBlock yet
    const actual = {
      chainId: network.chainId.toString(),
      operator: config.operatorAddress.toLowerCase(),
      anchorBlock: config.fromBlock,
      anchorHash: anchor.hash,
    };
    const stored = store.chainIdentity();
    if (stored === undefined) store.setChainIdentity(actual);
    else if (stored.chainId !== actual.chainId || stored.operator !== actual.operator || stored.anchorBlock !== actual.anchorBlock || stored.anchorHash !== actual.anchorHash) {
      throw new RelayStoreChainMismatchError(stored, actual);
    }
    identityChecked = true;
    return true;
  }

  /** Records the requests of newly confirmed blocks. */
  async function scan(): Promise<void> {
    const cursor = store.cursor();
    if (cursor && cursor.hash !== "") {
      const block = await provider.getBlock(cursor.block);
      if (block?.hash !== cursor.hash) {
        // The last processed block is no longer on the chain: a reorganisation
        // deeper than the confirmations. Scan again from a little before it;
        // recorded requests stay (each is re-checked on-chain before sending).
        const back = Math.max(config.fromBlock - 1, cursor.block - REORG_REWIND_BLOCKS);
        const backHash = back >= config.fromBlock ? ((await provider.getBlock(back))?.hash ?? "") : "";
        logger.warn({ block: cursor.block, rewindTo: back }, "last processed block was reorganised away; scanning again");
        store.rewind(back, backHash);
      }
    }
    const head = await provider.getBlockNumber();
    const safe = head - config.confirmations;
    let from = nextBlock();
    while (!stopping && from <= safe) {
      const toBlock = Math.min(safe, from + MAX_BLOCK_RANGE - 1);
      const [logs, last] = await Promise.all([
        provider.getLogs({ address: config.operatorAddress, topics: [ORACLE_REQUEST_TOPIC], fromBlock: from, toBlock }),
        provider.getBlock(toBlock),
      ]);
      if (!last?.hash) return;
      const scanned: ScannedRequest[] = [];
      for (const entry of logs) {
        if (entry.removed) continue;
        try {
          scanned.push({ request: parseOracleRequest(entry), blockHash: entry.blockHash, logIndex: entry.index });
        } catch (err) {
          logger.error({ tx: entry.transactionHash, err: messageOf(err) }, "unreadable OracleRequest log skipped");
        }
      }
      const added = store.recordScan(scanned, toBlock, last.hash);
      for (const requestId of added) {
        const row = store.get(requestId)!;
        logger.child({ requestId }).info({ block: row.request.blockNumber, requester: row.request.requester }, "request recorded");
        await stage("recorded", requestId);
      }
      from = toBlock + 1;
    }
  }

  /** Closes a request that the chain shows fulfilled or closed; true when it did. */
  async function settledOnChain(row: RequestRow, log: Logger): Promise<boolean> {
    const response = await findOracleResponse(provider, config.operatorAddress, row.request.requestId, row.request.blockNumber);
    if (response) {
      store.markFulfilled(row.request.requestId, "fulfilled-elsewhere", response.transactionHash);
      log.info({ tx: response.transactionHash }, "request already fulfilled on-chain; nothing to send");
      return true;
    }
    return false;
  }

  /** `seen` → `answered` (or closed). False when the bridge call must wait for a later round. */
  async function answer(row: RequestRow, log: Logger): Promise<boolean> {
    const requestId = row.request.requestId;
    if (row.request.dataVersion !== 2n) {
      store.markFailed(requestId, `unsupported dataVersion ${row.request.dataVersion}`);
      log.warn({ dataVersion: row.request.dataVersion.toString() }, "not an Operator (version 2) request; not served");
      return true;
    }
    // Someone may have answered it already: no MPC run for a closed request.
    if (await settledOnChain(row, log)) return true;
    const dry = await dryRunFulfilment(operator, fulfilArgs(row.request, "0x"), config.fulfillGasLimit);
    if (!dry.ok && dry.closed) {
      store.markFailed(requestId, `closed on-chain: ${dry.reason}`);
      log.warn({ reason: dry.reason }, "the Operator holds no commitment for the request (cancelled?); not served");
      return true;
    }
    if (!dry.ok) throw new Error(`the Operator refuses the relay's fulfilment: ${dry.reason}`);

    let data: Record<string, unknown>;
    try {
      data = decodeRequestData(row.request.data);
    } catch (err) {
      store.markAnswered(requestId, "0x", messageOf(err));
      log.warn({ error: messageOf(err) }, "request data unreadable; fulfilling with an empty result so the buyer is refunded");
      await stage("answered", requestId);
      return true;
    }
    const body = { id: requestId, data: { ...data, requestId, consumer: row.request.callbackAddr } };
    for (;;) {
      if (stopping) return false;
      const attempt = store.noteBridgeAttempt(requestId, Date.now());
      log.info({ attempt: attempt.bridgeAttempts, algorithm: data.algorithm }, "calling the bridge");
      const outcome = await callBridge({
        url: config.bridgeUrl,
        accessKey: config.bridgeAccessKey,
        timeoutMs: config.bridgeTimeoutMs,
        body,
        signal: abort.signal,
      });
      if (stopping) return false;
      if (outcome.kind === "result") {
        store.markAnswered(requestId, outcome.payload, null);
        log.info({ bytes: (outcome.payload.length - 2) / 2 }, "bridge answered");
        break;
      }
      if (outcome.kind === "refused") {
        store.markAnswered(requestId, "0x", outcome.error);
        log.warn({ status: outcome.status, error: outcome.error }, "bridge reported an error; fulfilling with an empty result so the buyer is refunded");
        break;
      }
      const elapsed = Date.now() - (attempt.firstBridgeAttemptAt ?? Date.now());
      if (elapsed >= config.bridgeRetryWindowMs) {
        store.markAnswered(requestId, "0x", `bridge unavailable for ${elapsed} ms: ${outcome.error}`);
        log.error({ error: outcome.error, elapsedMs: elapsed }, "bridge unavailable for the whole retry window; fulfilling with an empty result so the buyer is refunded");
        break;
      }
      const pause = Math.min(MAX_BACKOFF_MS, config.bridgeBackoffMs * 2 ** Math.min(attempt.bridgeAttempts - 1, 16));
      const level = outcome.status === 401 || outcome.status === 403 ? "error" : "warn";
      log[level]({ attempt: attempt.bridgeAttempts, status: outcome.status, error: outcome.error, retryInMs: pause }, "bridge call failed; retrying");
      await sleep(pause, abort.signal);
    }
    await stage("answered", requestId);
    return true;
  }

  /**
   * `answered` (or a `sent` whose transaction can never be mined) → `sent`, or
   * closed. The on-chain checks run concurrently; signing, recording and
   * broadcasting run one at a time, with the nonce counted here (re-read from
   * the node after any broadcast it did not accept).
   */
  async function send(requestId: string, log: Logger): Promise<void> {
    if (stopping) return;
    const row = store.get(requestId)!;
    if (await settledOnChain(row, log)) return;
    if (row.sendAttempts >= MAX_SEND_ATTEMPTS) {
      store.markFailed(requestId, `${row.sendAttempts} fulfilments sent and none succeeded`);
      log.error({ attempts: row.sendAttempts }, "giving up: every fulfilment sent for the request reverted or was lost");
      return;
    }
    const args = fulfilArgs(row.request, row.payload ?? "0x");
    const dry = await dryRunFulfilment(operator, args, config.fulfillGasLimit);
    if (!dry.ok && dry.closed) {
      store.markFailed(requestId, `closed on-chain: ${dry.reason}`);
      log.warn({ reason: dry.reason }, "the Operator holds no commitment for the request any more (cancelled?); nothing sent");
      return;
    }
    if (!dry.ok) throw new Error(`the Operator refuses the relay's fulfilment: ${dry.reason}`);
    const job = sendQueue.then(async () => {
      if (stopping) return;
      nextNonce ??= await provider.getTransactionCount(wallet.address, "pending");
      const tx = await signFulfilment(wallet, config.operatorAddress, args, config.fulfillGasLimit, nextNonce);
      // Recorded before it leaves: after a crash this very transaction is
      // looked up and re-broadcast, never a second one beside it. Its nonce is
      // taken from then on, whether or not the broadcast below succeeds.
      store.markSent(requestId, tx);
      nextNonce = tx.nonce + 1;
      log.info({ tx: tx.hash, nonce: tx.nonce, errorResult: row.payload === "0x" }, "fulfilment signed and recorded");
      await stage("signed", requestId);
      await broadcast(tx.raw, log);
      await stage("broadcast", requestId);
    });
    sendQueue = job.catch(() => {
      nextNonce = undefined;
    });
    return job;
  }

  async function broadcast(raw: string, log: Logger): Promise<void> {
    try {
      await provider.broadcastTransaction(raw);
    } catch (err) {
      // "already known" / "nonce too low" and the like: what happened to the
      // transaction is settled by looking it up, not by this error.
      log.warn({ err: messageOf(err) }, "broadcast not accepted; the transaction is looked up next");
      // The node may count this account's nonces differently (another sender): ask it again.
      nextNonce = undefined;
    }
  }

  /** `sent` → `fulfilled`, or back to sending when the recorded transaction can never be mined. False: wait. */
  async function settle(row: RequestRow, log: Logger): Promise<boolean> {
    const requestId = row.request.requestId;
    const hash = row.fulfilTxHash!;
    let receipt = await provider.getTransactionReceipt(hash);
    if (!receipt) {
      const known = await provider.getTransaction(hash);
      if (!known) {
        const used = await provider.getTransactionCount(wallet.address, "latest");
        if (used > row.fulfilTxNonce!) {
          // Its nonce went to another transaction: this one can never be
          // mined, so a new one is safe unless the request is answered.
          log.warn({ tx: hash, nonce: row.fulfilTxNonce }, "recorded fulfilment was never mined and its nonce is used; preparing a new one");
          await send(requestId, log);
          return true;
        }
        log.info({ tx: hash }, "re-broadcasting the recorded fulfilment");
        await broadcast(row.fulfilTxRaw!, log);
      }
      receipt = await Promise.race([
        provider.waitForTransaction(hash, 1, RECEIPT_WAIT_MS).catch(() => null),
        sleep(RECEIPT_WAIT_MS + 1_000, abort.signal).then(() => null),
      ]);
      if (!receipt) return false;
    }
    if (receipt.status === 1) {
      const outcome = row.payload === "0x" ? "error-result" : "result";
      store.markFulfilled(requestId, outcome, hash);
      fulfilled++;
      log.info({ tx: hash, block: receipt.blockNumber, gasUsed: receipt.gasUsed.toString(), outcome }, "request fulfilled");
      await stage("fulfilled", requestId);
      return true;
    }
    // Reverted (someone fulfilled it in between, or it was cancelled): the
    // nonce is spent, so a new transaction would be the only one in flight.
    log.warn({ tx: hash }, "fulfilment reverted; checking the request on-chain");
    await send(requestId, log);
    return true;
  }

  /** Drives one request through its states until it is closed or must wait. */
  async function drive(requestId: string): Promise<void> {
    const log = logger.child({ requestId });
    try {
      for (let steps = 0; !stopping && steps < 16; steps++) {
        const row = store.get(requestId)!;
        if (row.state === "seen") {
          if (!(await answer(row, log))) return;
        } else if (row.state === "answered") {
          await send(requestId, log);
          if (store.get(requestId)!.state === "answered") return;
        } else if (row.state === "sent") {
          if (!(await settle(row, log))) return;
        } else return;
      }
    } catch (err) {
      if (!stopping) log.error({ err: messageOf(err) }, "request not finished this round; retrying");
    }
  }

  /** Starts drivers for unfinished requests, up to `concurrency` at once. */
  function driveUnfinished(): void {
    for (const row of store.unfinished()) {
      if (inFlight.size >= config.concurrency) return;
      const requestId = row.request.requestId;
      if (inFlight.has(requestId)) continue;
      inFlight.set(requestId, drive(requestId).finally(() => inFlight.delete(requestId)));
    }
  }

  async function round(): Promise<void> {
    if (!(await checkIdentity())) return;
    await scan();
    if (!stopping) driveUnfinished();
  }

  function fail(err: Error): void {
    stopping = true;
    logger.fatal({ err: err.message }, "relay cannot continue");
    options.onFatal?.(err);
  }

  function schedule(): void {
    if (stopping) return;
    timer = setTimeout(() => {
      loop = round()
        .catch((err: Error) => {
          if (err instanceof RelayStoreChainMismatchError) fail(err);
          else logger.error({ err: messageOf(err) }, "relay poll failed; will retry");
        })
        .finally(schedule);
    }, config.pollIntervalMs);
  }

  return {
    get nextBlock() {
      return nextBlock();
    },
    get fulfilled() {
      return fulfilled;
    },
    counts: () => store.counts(),
    async pollOnce() {
      await round();
      await Promise.all(inFlight.values());
    },
    start() {
      logger.info(
        { operator: config.operatorAddress, relay: wallet.address, nextBlock: nextBlock(), confirmations: config.confirmations, store: config.storePath },
        "relay started",
      );
      schedule();
    },
    async stop() {
      stopping = true;
      abort.abort();
      if (timer) clearTimeout(timer);
      await loop;
      await Promise.all(inFlight.values());
      await sendQueue;
      provider.destroy();
      store.close();
    },
  };
}

/**
 * Creates and starts the relay (see {@link createRelay}).
 *
 * @example
 * const relay = startRelay(loadRelayConfig(process.env), logger);
 */
export function startRelay(config: RelayConfig, logger: Logger, options: RelayOptions = {}): Relay {
  const relay = createRelay(config, logger, options);
  relay.start();
  return relay;
}
