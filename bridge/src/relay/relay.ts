import { AbiCoder, Contract, JsonRpcProvider, Wallet } from "ethers";
import type { Logger } from "pino";
import type { RelayConfig } from "./config.ts";
import { OPERATOR_ABI, operatorInterface, parseOracleRequest } from "./oracle-request.ts";
import type { OracleRequest } from "./oracle-request.ts";
import { decodeRequestData } from "./request-data.ts";

/** A running relay. */
export interface Relay {
  /** Block the next scan starts from. */
  readonly nextBlock: number;
  /** Number of requests fulfilled (successfully or with an error result) since start. */
  readonly fulfilled: number;
  stop(): Promise<void>;
}

/** Outcome of one bridge call: a result to post on-chain, or the bridge's error. */
type BridgeOutcome = { ok: true; result: string } | { ok: false; error: string };

const MAX_BLOCK_RANGE = 2_000;
const BRIDGE_RETRIES = 5;
const ORACLE_REQUEST_TOPIC = operatorInterface.getEvent("OracleRequest")!.topicHash;

/**
 * Starts the oracle relay: it does what a Chainlink node's direct-request job
 * does (decode the `OracleRequest` log, CBOR-decode its data, call the
 * bridge, ABI-encode, send `fulfillOracleRequest2` from an authorized sender).
 * A bridge error becomes an empty result, which the market contract treats as
 * a failed job and refunds.
 *
 * @example
 * const relay = startRelay(loadRelayConfig(process.env), logger);
 * await relay.stop();
 */
export function startRelay(config: RelayConfig, logger: Logger): Relay {
  const provider = new JsonRpcProvider(config.rpcUrl, undefined, { staticNetwork: true, pollingInterval: config.pollIntervalMs });
  const wallet = new Wallet(config.privateKey, provider);
  const operator = new Contract(config.operatorAddress, OPERATOR_ABI, wallet);
  const abi = AbiCoder.defaultAbiCoder();

  let nextBlock = config.fromBlock;
  let fulfilled = 0;
  let stopping = false;
  let timer: NodeJS.Timeout | undefined;
  let loop: Promise<void> = Promise.resolve();

  async function callBridge(request: OracleRequest, fields: Record<string, unknown>, log: Logger): Promise<BridgeOutcome> {
    const body = { id: request.requestId, data: { ...fields, requestId: request.requestId, consumer: request.callbackAddr } };
    for (let attempt = 1; ; attempt++) {
      try {
        const response = await fetch(config.bridgeUrl, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(config.bridgeTimeoutMs),
        });
        const answer = (await response.json()) as { result?: unknown; error?: { name?: string; message?: string } };
        if (response.ok && typeof answer.result === "string") return { ok: true, result: answer.result };
        return { ok: false, error: `${answer.error?.name ?? "Error"}: ${answer.error?.message ?? `HTTP ${response.status}`}` };
      } catch (err) {
        // The bridge is unreachable or did not answer: the job may still be
        // fine, so retry before giving the buyer a refund.
        if (attempt >= BRIDGE_RETRIES || stopping) return { ok: false, error: `bridge unreachable: ${(err as Error).message}` };
        log.warn({ attempt, err: (err as Error).message }, "bridge call failed; retrying");
        await new Promise((r) => setTimeout(r, 500 * attempt));
      }
    }
  }

  async function serve(request: OracleRequest): Promise<void> {
    const log = logger.child({ requestId: request.requestId });
    if (request.dataVersion !== 2n) {
      log.warn({ dataVersion: request.dataVersion.toString() }, "request is not an operator (version 2) request; skipped");
      return;
    }
    let outcome: BridgeOutcome;
    try {
      outcome = await callBridge(request, decodeRequestData(request.data), log);
    } catch (err) {
      outcome = { ok: false, error: (err as Error).message };
    }
    if (!outcome.ok) log.warn({ error: outcome.error }, "bridge reported an error; fulfilling with an empty result so the buyer is refunded");
    const data = abi.encode(["bytes32", "bytes"], [request.requestId, outcome.ok ? outcome.result : "0x"]);
    const args = [
      request.requestId,
      request.payment,
      request.callbackAddr,
      request.callbackFunctionId,
      request.cancelExpiration,
      data,
    ] as const;
    // A dry run first: a request already fulfilled (or cancelled) makes the
    // Operator revert, and then there is nothing to send.
    try {
      await operator.fulfillOracleRequest2.staticCall(...args, { gasLimit: config.fulfillGasLimit });
    } catch (err) {
      log.warn({ err: (err as Error).message }, "Operator refuses the fulfilment (already fulfilled or cancelled); skipped");
      return;
    }
    const tx = await operator.fulfillOracleRequest2(...args, { gasLimit: config.fulfillGasLimit });
    const receipt = await tx.wait();
    fulfilled++;
    log.info({ tx: tx.hash, gasUsed: receipt?.gasUsed.toString(), ok: outcome.ok }, "request fulfilled");
  }

  async function tick(): Promise<void> {
    const head = await provider.getBlockNumber();
    const safe = head - config.confirmations;
    while (!stopping && nextBlock <= safe) {
      const toBlock = Math.min(safe, nextBlock + MAX_BLOCK_RANGE - 1);
      const logs = await provider.getLogs({
        address: config.operatorAddress,
        topics: [ORACLE_REQUEST_TOPIC],
        fromBlock: nextBlock,
        toBlock,
      });
      for (const entry of logs) {
        if (stopping) return;
        await serve(parseOracleRequest(entry));
      }
      nextBlock = toBlock + 1;
    }
  }

  function schedule(): void {
    if (stopping) return;
    timer = setTimeout(() => {
      loop = tick()
        .catch((err: Error) => logger.error({ err: err.message }, "relay poll failed; will retry"))
        .finally(schedule);
    }, config.pollIntervalMs);
  }

  logger.info({ operator: config.operatorAddress, relay: wallet.address, fromBlock: config.fromBlock }, "relay started");
  schedule();

  return {
    get nextBlock() {
      return nextBlock;
    },
    get fulfilled() {
      return fulfilled;
    },
    async stop() {
      stopping = true;
      if (timer) clearTimeout(timer);
      await loop;
      provider.destroy();
    },
  };
}
