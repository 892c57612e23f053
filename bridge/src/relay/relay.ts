import { Contract, JsonRpcProvider, Transaction, Wallet } from "ethers";
import type { Logger } from "pino";
import type { TransactionReceipt } from "ethers";
import { callBridge } from "./bridge-call.ts";
import type { RelayConfig } from "./config.ts";
import { ConsumerStatus, consumerVerdict, readConsumerRequest, statusName } from "./consumer-contract.ts";
import { bumpFees, currentFees, feesOf } from "./fulfilment-fees.ts";
import type { TxFees } from "./fulfilment-fees.ts";
import { datasetCount, fulfilmentGasLimit } from "./fulfilment-gas.ts";
import { CANCEL_GAS_LIMIT, dryRunFulfilment, findOracleResponse, fulfilArgs, signCancellation, signFulfilment } from "./fulfilment.ts";
import { createMarketRequesters, RelayMarketError } from "./market-requesters.ts";
import { OPERATOR_ABI, operatorInterface, parseOracleRequest } from "./oracle-request.ts";
import { openRelayStore, RelayStoreChainMismatchError } from "./relay-store.ts";
import type { RecordedTx, RelayStore, RequestRow, RequestState, ScannedRequest, TxKind } from "./relay-store.ts";
import { decodeRequestData } from "./request-data.ts";

/** A relay over its durable store. */
export interface Relay {
  /** Block the next scan starts from. */
  readonly nextBlock: number;
  /**
   * Requests this instance fulfilled (with a result or an error result) and
   * whose consumer emitted `ComputationFulfilled` or `ComputationFailed` for
   * them; a fulfilment whose callback failed is not counted.
   */
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

/**
 * Points in a request's life, in order: `replaced` is a replacement (higher
 * fees, same nonce) recorded but not yet broadcast, `replacement-broadcast`
 * the same once it went out.
 */
export type RelayStage = "recorded" | "answered" | "signed" | "broadcast" | "replaced" | "replacement-broadcast" | "fulfilled";

/** What {@link createRelay} takes besides the configuration. */
export interface RelayOptions {
  /**
   * Called as a request passes each stage, after the stage is durable (and,
   * for `broadcast`, after the transaction went out). Tests throw here to play
   * a crash at that point.
   */
  onStage?: (stage: RelayStage, requestId: string) => void | Promise<void>;
  /** Called when the relay cannot go on (its store belongs to another chain, or the market's consumers cannot be read). */
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

const iso = (unixSeconds: number) => new Date(unixSeconds * 1000).toISOString();

/** Whether a request may still be answered, by the consumer's `getRequest` and the latest block's time. */
type RequestWindow = { open: true } | { open: false; state: "late" | "failed"; reason: string };

/**
 * Creates the oracle relay: it does what a Chainlink node's direct-request
 * job does (decode the `OracleRequest` log, CBOR-decode its data, call the
 * bridge, ABI-encode, send `fulfillOracleRequest2` from an authorized
 * sender), exactly once per request and across crashes:
 *
 * - it serves only the market's requests: the market's job ids, from the
 *   factory's algorithm contracts (or the listed ones), calling back their own
 *   `fulfill`, paying at least `minPayment`; anything else is recorded as
 *   `ignored`, logged once, and costs no gas and no bridge call;
 * - a request is recorded (keyed by its on-chain requestId) once its log has
 *   `confirmations` blocks on top; the last processed block moves only in the
 *   same transaction that records every request up to it;
 * - the bridge's answer is stored before any transaction is made, so a
 *   restart never calls the bridge again for an answered request;
 * - a fulfilment is signed, recorded (hash, raw bytes, nonce), then
 *   broadcast; one not mined after `replaceAfterMs` is replaced by one with
 *   the same nonce and fees at least 12.5% higher (capped at `maxFeePerGas`),
 *   recorded the same way. Every hash is kept, so whichever is mined is found
 *   after a restart; a fulfilment with a new nonce is signed only when none of
 *   the recorded ones can be mined any more (their nonce was used) and the
 *   Operator has not emitted `OracleResponse` for the request;
 * - nothing is signed, broadcast, re-broadcast or replaced once the
 *   consumer's deadline is within `deadlineMarginS` (the request becomes
 *   `late`); a fulfilment already in flight then is replaced by a cancellation
 *   of its nonce, so the fulfilments behind it are not held up;
 * - a mined fulfilment is judged by the consumer's own event
 *   (`ComputationFulfilled` / `ComputationFailed`), not by the receipt's
 *   status: the Operator returns false rather than reverting when the
 *   consumer's callback fails, and such a request is `callback-failed`.
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
  const market = createMarketRequesters(provider, config.market, config.minPayment);
  const abort = new AbortController();
  const inFlight = new Map<string, Promise<void>>();
  /** Requests whose stuck transaction cannot be replaced under the fee cap: warned once. */
  const capWarned = new Set<string>();
  let sendQueue: Promise<unknown> = Promise.resolve();
  /** The nonce of the next fulfilment; undefined: ask the node. */
  let nextNonce: number | undefined;
  let identityChecked = false;
  let marketLoaded = false;
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

  /** Reads the market's consumers once before the first scan: a wrong factory address stops the relay at start. */
  async function loadMarket(): Promise<void> {
    if (marketLoaded) return;
    await market.load();
    marketLoaded = true;
    const consumers = market.consumers();
    logger.info(
      { market: config.market.kind, consumers: consumers.length, algorithms: consumers.map((c) => c.name ?? c.address), minPayment: config.minPayment.toString() },
      "market algorithm contracts read",
    );
  }

  /** Records the requests of newly confirmed blocks; the market's filter decides which are served. */
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
      const reasons = await market.judge(scanned.map((s) => s.request));
      scanned.forEach((s, i) => (s.ignored = reasons[i]));
      const added = store.recordScan(scanned, toBlock, last.hash);
      for (const requestId of added) {
        const row = store.get(requestId)!;
        const log = logger.child({ requestId });
        if (row.state === "ignored") {
          // Logged here only: the row is closed, so this line is the only one.
          const r = row.request;
          log.warn({ reason: row.outcome, requester: r.requester, specId: r.specId, payment: r.payment.toString(), tx: r.transactionHash }, "request ignored: not the market's; no bridge call, no gas");
          continue;
        }
        log.info({ block: row.request.blockNumber, requester: row.request.requester }, "request recorded");
        await stage("recorded", requestId);
      }
      from = toBlock + 1;
    }
  }

  /** Reads the consumer's status and deadline against the latest block's time. */
  async function requestWindow(row: RequestRow): Promise<RequestWindow> {
    const [request, latest] = await Promise.all([
      readConsumerRequest(provider, row.request.callbackAddr, row.request.requestId),
      provider.getBlock("latest"),
    ]);
    if (!latest) throw new Error("the node has no latest block");
    if (request.status === ConsumerStatus.None) {
      return { open: false, state: "failed", reason: "the consumer holds no such request (status None): its callback could only fail" };
    }
    if (request.status === ConsumerStatus.Refunded) return { open: false, state: "late", reason: "the consumer already refunded the buyer (deadline passed)" };
    if (request.status !== ConsumerStatus.Pending) {
      return { open: false, state: "failed", reason: `the consumer already closed the request (status ${statusName(request.status)})` };
    }
    const left = request.deadline - latest.timestamp;
    if (left < 0) {
      return { open: false, state: "late", reason: `deadline ${iso(request.deadline)} passed ${-left} s before the latest block (${iso(latest.timestamp)})` };
    }
    if (left <= config.deadlineMarginS) {
      return {
        open: false,
        state: "late",
        reason: `deadline ${iso(request.deadline)} is only ${left} s after the latest block (${iso(latest.timestamp)}), within SCMPC_RELAY_DEADLINE_MARGIN_S=${config.deadlineMarginS}`,
      };
    }
    return { open: true };
  }

  /** Closes a request whose window is shut, before anything is sent for it. */
  function closeShut(row: RequestRow, window: Extract<RequestWindow, { open: false }>, log: Logger): void {
    if (window.state === "late") {
      store.markLate(row.request.requestId, window.reason);
      log.warn({ reason: window.reason }, "too late to answer: nothing sent, no gas spent; the buyer can refund after the deadline");
    } else {
      store.markFailed(row.request.requestId, window.reason);
      log.warn({ reason: window.reason }, "the consumer cannot take an answer: nothing sent");
    }
  }

  /**
   * Closes a request whose fulfilment was mined (by the relay or by someone
   * else), by what the consumer said in that transaction.
   */
  async function closeMined(row: RequestRow, outcome: "result" | "error-result" | "fulfilled-elsewhere", receipt: TransactionReceipt, log: Logger): Promise<void> {
    const requestId = row.request.requestId;
    const hash = receipt.hash;
    const verdict = consumerVerdict(receipt.logs, row.request.callbackAddr, requestId);
    if (verdict) {
      store.markFulfilled(requestId, outcome, hash, verdict);
      const detail = { tx: hash, block: receipt.blockNumber, gasUsed: receipt.gasUsed.toString(), outcome, consumerEvent: verdict.event, failureReason: verdict.reason ?? undefined };
      if (outcome === "fulfilled-elsewhere") {
        log.info(detail, "request already fulfilled on-chain by another sender; nothing to send");
        return;
      }
      fulfilled++;
      log.info(detail, "request fulfilled");
      await stage("fulfilled", requestId);
      return;
    }
    // The Operator took the answer (and the payment) but the consumer said
    // nothing: its callback failed, or the request was no longer Pending.
    const consumer = await readConsumerRequest(provider, row.request.callbackAddr, requestId);
    if (consumer.status === ConsumerStatus.Refunded) {
      store.markLate(requestId, "the fulfilment was mined after the buyer's refund; the consumer ignored it", hash);
      log.warn({ tx: hash }, "fulfilment mined after the buyer's refund; the consumer ignored it");
      return;
    }
    store.markCallbackFailed(requestId, outcome, hash);
    log.error(
      { tx: hash, block: receipt.blockNumber, outcome, consumerStatus: statusName(consumer.status), deadline: iso(consumer.deadline) },
      "the consumer's callback failed: no ComputationFulfilled or ComputationFailed in the fulfilment; the request is closed at the Operator and the buyer can take a refund (refund(requestId)) after the deadline",
    );
  }

  /** Closes a request that the chain shows fulfilled or closed; true when it did. */
  async function settledOnChain(row: RequestRow, log: Logger): Promise<boolean> {
    const response = await findOracleResponse(provider, config.operatorAddress, row.request.requestId, row.request.blockNumber);
    if (!response) return false;
    const receipt = await provider.getTransactionReceipt(response.transactionHash);
    if (!receipt) return false; // the node has the log but not yet the receipt: look again next round
    const ours = store.transactions(row.request.requestId).some((t) => t.hash.toLowerCase() === response.transactionHash.toLowerCase());
    await closeMined(row, ours ? (row.payload === "0x" ? "error-result" : "result") : "fulfilled-elsewhere", receipt, log);
    return true;
  }

  /** `seen` → `answered` (or closed). False when the bridge call must wait for a later round. */
  async function answer(row: RequestRow, log: Logger): Promise<boolean> {
    const requestId = row.request.requestId;
    // Recorded before this relay filtered (an older store), or under another configuration: judge again.
    const [ignored] = await market.judge([row.request]);
    if (ignored) {
      store.markIgnored(requestId, ignored);
      log.warn({ reason: ignored, requester: row.request.requester }, "request ignored: not the market's; no bridge call, no gas");
      return true;
    }
    // Someone may have answered it already: no MPC run for a closed request.
    if (await settledOnChain(row, log)) return true;
    const window = await requestWindow(row);
    if (!window.open) {
      closeShut(row, window, log);
      return true;
    }
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

  /** The gas limit of this request's fulfilment: grows with its datasets and its payload (see `fulfilmentGasLimit`). */
  function gasLimitFor(row: RequestRow, payload: string): number {
    let data: Record<string, unknown> | undefined;
    try {
      data = decodeRequestData(row.request.data);
    } catch {
      data = undefined; // an unreadable request gets the empty answer: the base is enough
    }
    return fulfilmentGasLimit(config.fulfillGasLimit, datasetCount(data), (payload.length - 2) / 2);
  }

  /**
   * `answered` (or a `sent` whose transactions can never be mined) → `sent`,
   * or closed. The on-chain checks run concurrently; signing, recording and
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
    // Never sign an answer the consumer would only reject as late.
    const window = await requestWindow(row);
    if (!window.open) {
      closeShut(row, window, log);
      return;
    }
    const payload = row.payload ?? "0x";
    const args = fulfilArgs(row.request, payload);
    const gasLimit = gasLimitFor(row, payload);
    const dry = await dryRunFulfilment(operator, args, gasLimit);
    if (!dry.ok && dry.closed) {
      store.markFailed(requestId, `closed on-chain: ${dry.reason}`);
      log.warn({ reason: dry.reason }, "the Operator holds no commitment for the request any more (cancelled?); nothing sent");
      return;
    }
    if (!dry.ok) throw new Error(`the Operator refuses the relay's fulfilment: ${dry.reason}`);
    if (!dry.callbackSucceeds) {
      // Sent all the same, as a Chainlink node would: the Operator closes the
      // request and pays its LINK either way, and the mined fulfilment is
      // judged by the consumer's event (here: callback-failed, logged as an error).
      log.warn("the consumer's callback fails in a dry run; sending the fulfilment all the same");
    }
    const job = sendQueue.then(async () => {
      if (stopping) return;
      nextNonce ??= await provider.getTransactionCount(wallet.address, "pending");
      const fees = await currentFees(provider, config.maxFeePerGas);
      const tx = await signFulfilment(wallet, config.operatorAddress, args, { gasLimit, nonce: nextNonce, fees });
      // Recorded before it leaves: after a crash this very transaction is
      // looked up and re-broadcast, never a second one beside it. Its nonce is
      // taken from then on, whether or not the broadcast below succeeds.
      store.markSent(requestId, tx);
      nextNonce = tx.nonce + 1;
      log.info({ tx: tx.hash, nonce: tx.nonce, gasLimit, ...feeFields(fees), errorResult: payload === "0x" }, "fulfilment signed and recorded");
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
      // "already known" / "nonce too low" / "replacement underpriced" and the
      // like: what happened to the transaction is settled by looking it up,
      // not by this error.
      log.warn({ err: messageOf(err) }, "broadcast not accepted; the transaction is looked up next");
      // The node may count this account's nonces differently (another sender): ask it again.
      nextNonce = undefined;
    }
  }

  /** The first of the request's transactions that was mined, newest first (a replacement is the likelier one). */
  async function findMined(txs: RecordedTx[]): Promise<{ tx: RecordedTx; receipt: TransactionReceipt } | undefined> {
    for (const tx of [...txs].reverse()) {
      const receipt = await provider.getTransactionReceipt(tx.hash);
      if (receipt) return { tx, receipt };
    }
    return undefined;
  }

  /** Polls the request's transactions for a receipt for up to `ms`. */
  async function waitForMined(requestId: string, ms: number): Promise<{ tx: RecordedTx; receipt: TransactionReceipt } | undefined> {
    const until = Date.now() + ms;
    for (;;) {
      const mined = await findMined(store.transactions(requestId));
      if (mined || stopping || Date.now() >= until) return mined;
      await sleep(Math.min(config.pollIntervalMs, until - Date.now()), abort.signal);
    }
  }

  /**
   * Re-signs the request's latest transaction with the same nonce and raised
   * fees, records it, then broadcasts it. `kind` is `fulfil` for a stuck
   * fulfilment (checked not late just before), `cancel` to take back the
   * nonce of one that must not be mined any more.
   */
  async function replace(row: RequestRow, latest: RecordedTx, kind: TxKind, known: boolean, log: Logger): Promise<void> {
    const requestId = row.request.requestId;
    const previous = feesOf(latest.raw);
    let fees = bumpFees(previous, await currentFees(provider, config.maxFeePerGas), config.maxFeePerGas);
    // A fulfilment the node dropped has nothing in its pool to outbid: at the
    // cap, its cancellation may carry the same fees (it is another transaction).
    if (!fees && kind === "cancel" && latest.kind === "fulfil" && !known) fees = previous;
    if (!fees) {
      if (!capWarned.has(requestId)) {
        capWarned.add(requestId);
        log.warn({ tx: latest.hash, ...feeFields(previous), maxFeePerGas: config.maxFeePerGas.toString() }, "stuck transaction not replaced: 12.5% more would pass SCMPC_RELAY_MAX_FEE_GWEI; waiting for it");
      }
      // Re-broadcast only what may still go out: never a fulfilment being cancelled.
      if (!known && (kind === "fulfil" || latest.kind === "cancel")) await broadcast(latest.raw, log);
      return;
    }
    const params = { nonce: latest.nonce, fees };
    const tx =
      kind === "fulfil"
        ? await signFulfilment(wallet, config.operatorAddress, fulfilArgs(row.request, row.payload ?? "0x"), { ...params, gasLimit: Number(Transaction.from(latest.raw).gasLimit) })
        : await signCancellation(wallet, { ...params, gasLimit: CANCEL_GAS_LIMIT });
    // Recorded before it leaves, like the first: whichever of the two is mined is found.
    store.markReplaced(requestId, { ...tx, kind });
    const what = kind === "fulfil" ? "stuck fulfilment replaced with higher fees" : "fulfilment in flight cancelled (same nonce, higher fees): the deadline is too near";
    log.info({ tx: tx.hash, replaces: latest.hash, nonce: tx.nonce, ...feeFields(fees) }, what);
    await stage("replaced", requestId);
    await broadcast(tx.raw, log);
    await stage("replacement-broadcast", requestId);
  }

  /**
   * `sent` → closed, or a new fulfilment when the recorded ones can never be
   * mined; replaces a stuck one (or cancels it when late). False: wait.
   */
  async function settle(row: RequestRow, log: Logger): Promise<boolean> {
    const requestId = row.request.requestId;
    const txs = store.transactions(requestId);
    if (txs.length === 0) {
      // A `sent` row without its transaction (never written by this relay): look at the request afresh.
      await send(requestId, log);
      return true;
    }
    const mined = await findMined(txs);
    if (mined) return judge(row, mined.tx, mined.receipt, log);
    const nonce = row.fulfilTxNonce!;
    const used = await provider.getTransactionCount(wallet.address, "latest");
    if (used > nonce) {
      // The block that used the nonce may have come between the two reads.
      const again = await findMined(txs);
      if (again) return judge(row, again.tx, again.receipt, log);
      // Its nonce went to another transaction: none of the recorded ones can
      // ever be mined, so a new one is safe unless the request is answered.
      log.warn({ nonce, txs: txs.map((t) => t.hash) }, "no recorded transaction of the request was mined and their nonce is used; preparing a new fulfilment");
      await send(requestId, log);
      return true;
    }
    const latest = txs.at(-1)!;
    const known = (await provider.getTransaction(latest.hash)) !== null;
    const due = Date.now() - (row.lastSentAt ?? 0) >= config.replaceAfterMs;
    const window = await requestWindow(row);
    if (!window.open || latest.kind === "cancel") {
      // No fulfilment goes out again. The nonce is taken back with a
      // cancellation, so the fulfilments behind it are not held up; a pending
      // fulfilment not yet due for replacement is left alone (it may still be
      // mined, and is judged by the consumer's event if it is).
      if (latest.kind === "fulfil" && (due || !known)) await replace(row, latest, "cancel", known, log);
      else if (latest.kind === "cancel" && due) await replace(row, latest, "cancel", known, log);
      else if (latest.kind === "cancel" && !known) await broadcast(latest.raw, log);
    } else if (due) {
      await replace(row, latest, "fulfil", known, log);
    } else if (!known) {
      log.info({ tx: latest.hash }, "re-broadcasting the recorded fulfilment");
      await broadcast(latest.raw, log);
    }
    const current = store.get(requestId)!;
    const waitMs = Math.max(0, Math.min(RECEIPT_WAIT_MS, (current.lastSentAt ?? 0) + config.replaceAfterMs - Date.now()));
    const found = await waitForMined(requestId, waitMs);
    return found ? judge(current, found.tx, found.receipt, log) : false;
  }

  /** A recorded transaction of the request was mined: close the request by what it did. */
  async function judge(row: RequestRow, tx: RecordedTx, receipt: TransactionReceipt, log: Logger): Promise<boolean> {
    const requestId = row.request.requestId;
    if (tx.kind === "cancel") {
      // The nonce is back and no fulfilment of ours was mined: look at the
      // request afresh (late, answered by someone else, or still open).
      log.info({ tx: tx.hash, block: receipt.blockNumber }, "the cancellation was mined; no fulfilment of the relay's went out");
      await send(requestId, log);
      return true;
    }
    if (receipt.status !== 1) {
      // Reverted (someone fulfilled it in between, or it was cancelled): the
      // nonce is spent, so a new transaction would be the only one in flight.
      log.warn({ tx: tx.hash }, "fulfilment reverted; checking the request on-chain");
      await send(requestId, log);
      return true;
    }
    await closeMined(row, row.payload === "0x" ? "error-result" : "result", receipt, log);
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
      if (err instanceof RelayMarketError) throw err;
      if (!stopping) log.error({ err: messageOf(err) }, "request not finished this round; retrying");
    }
  }

  /** Starts drivers for unfinished requests, up to `concurrency` at once. */
  function driveUnfinished(): void {
    for (const row of store.unfinished()) {
      if (inFlight.size >= config.concurrency) return;
      const requestId = row.request.requestId;
      if (inFlight.has(requestId)) continue;
      inFlight.set(
        requestId,
        drive(requestId)
          .catch((err: Error) => fail(err))
          .finally(() => inFlight.delete(requestId)),
      );
    }
  }

  async function round(): Promise<void> {
    if (!(await checkIdentity())) return;
    await loadMarket();
    await scan();
    if (!stopping) driveUnfinished();
  }

  function fail(err: Error): void {
    stopping = true;
    logger.fatal({ err: err.message, code: (err as { code?: string }).code }, "relay cannot continue");
    options.onFatal?.(err);
  }

  const isFatal = (err: unknown) => err instanceof RelayStoreChainMismatchError || err instanceof RelayMarketError;

  function schedule(): void {
    if (stopping) return;
    timer = setTimeout(() => {
      loop = round()
        .catch((err: Error) => {
          if (isFatal(err)) fail(err);
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
        {
          operator: config.operatorAddress,
          relay: wallet.address,
          nextBlock: nextBlock(),
          confirmations: config.confirmations,
          store: config.storePath,
          market: config.market.kind === "factory" ? config.market.factoryAddress : config.market.requesters,
          minPayment: config.minPayment.toString(),
        },
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

/** Fee fields for a log line (decimal strings, wei). */
function feeFields(fees: TxFees): Record<string, string> {
  return fees.type === 2 ? { maxFeePerGas: fees.maxFeePerGas.toString(), maxPriorityFeePerGas: fees.maxPriorityFeePerGas.toString() } : { gasPrice: fees.gasPrice.toString() };
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
