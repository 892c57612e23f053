import { getAddress, parseUnits } from "ethers";
import {
  parseAddress,
  parseLogLevel,
  parseNonNegativeInt,
  parsePositiveInt,
  parseUrl,
  parseListen,
  ConfigError,
} from "../config-parsers.ts";
import type { Listen, LogLevel } from "../config-parsers.ts";

/**
 * Whose `OracleRequest`s the relay serves, as a Chainlink node's job filters
 * them with `requesters`:
 * - `factory`: every algorithm contract the market's `AlgorithmFactory` lists
 *   (read at start, and again when a request names a requester not seen yet,
 *   so an algorithm added later is served);
 * - `requesters`: exactly these consumer contracts.
 * Either way the job ids are each consumer's own `jobId()`.
 */
export type RelayMarket = { kind: "factory"; factoryAddress: string } | { kind: "requesters"; requesters: string[] };

/** Configuration of the oracle relay process, built once at start-up. */
export interface RelayConfig {
  rpcUrl: string;
  /** The Chainlink Operator contract whose OracleRequest events the relay serves. */
  operatorAddress: string;
  /** Key of an authorized sender of the Operator. Sensitive: never logged. */
  privateKey: string;
  /** The market's consumers: requests from anyone else are recorded as ignored and cost nothing. */
  market: RelayMarket;
  /** Smallest LINK payment (juels) a request must carry to be served; at least 1, so a free request is never served. */
  minPayment: bigint;
  /** URL of the SC-MPC bridge's External Adapter endpoint. */
  bridgeUrl: string;
  /** Sent to the bridge as `Authorization: Bearer <key>` when set. Sensitive: never logged. */
  bridgeAccessKey: string | undefined;
  /** SQLite file of the relay's durable state (last processed block, one row per request). */
  storePath: string;
  /** First block to scan when nothing was processed before. */
  fromBlock: number;
  /** Blocks to wait on top of a request's block before serving it. */
  confirmations: number;
  pollIntervalMs: number;
  /** Deadline of one bridge call. */
  bridgeTimeoutMs: number;
  /** First pause between bridge retries; it doubles up to 30 s. */
  bridgeBackoffMs: number;
  /**
   * How long, from the first call, the relay keeps retrying a bridge that is
   * unreachable or failing transiently before it fulfils with an error (the
   * buyer is refunded).
   */
  bridgeRetryWindowMs: number;
  /** Requests driven at once (bridge calls in parallel; fulfilments are sent one at a time). */
  concurrency: number;
  /**
   * Base gas limit of `fulfillOracleRequest2`, for a one-dataset request with
   * an empty payload; each request adds to it (see `fulfilmentGasLimit`).
   */
  fulfillGasLimit: number;
  /** A fulfilment is not sent when the consumer's deadline is this close (seconds) or past. */
  deadlineMarginS: number;
  /** A recorded fulfilment not mined after this long is replaced with higher fees (same nonce). */
  replaceAfterMs: number;
  /** Highest `maxFeePerGas` (or legacy `gasPrice`) the relay ever signs, in wei. */
  maxFeePerGas: bigint;
  /** Where the relay answers `GET /health` (its progress), for operators and the local stack. */
  healthListen: Listen;
  logLevel: LogLevel;
}

/** The Operator leaves the consumer at least 400,000 gas; the base must cover that, the Operator's own work and the transaction's. */
export const MIN_FULFIL_GAS_LIMIT = 500_000;

function parseMarket(env: NodeJS.ProcessEnv): RelayMarket {
  const factory = env.SCMPC_FACTORY_ADDRESS?.trim();
  const list = env.SCMPC_RELAY_REQUESTERS?.trim();
  if (factory && list) {
    throw new ConfigError("SCMPC_RELAY_REQUESTERS", "and SCMPC_FACTORY_ADDRESS exclude each other: set the factory (its algorithm contracts are served) or the list, not both");
  }
  if (list) {
    const requesters = [...new Set(list.split(",").map((entry) => getAddress(parseAddress("SCMPC_RELAY_REQUESTERS", entry.trim()).toLowerCase())))];
    return { kind: "requesters", requesters };
  }
  if (!factory) {
    throw new ConfigError(
      "SCMPC_FACTORY_ADDRESS",
      "is required: the market's AlgorithmFactory, whose algorithm contracts the relay serves (or list the consumer contracts in SCMPC_RELAY_REQUESTERS)",
    );
  }
  return { kind: "factory", factoryAddress: getAddress(parseAddress("SCMPC_FACTORY_ADDRESS", factory).toLowerCase()) };
}

function parseMinPayment(value: string): bigint {
  if (!/^\d+$/.test(value) || BigInt(value) < 1n) {
    throw new ConfigError("SCMPC_RELAY_MIN_PAYMENT", `must be a whole number of juels, at least 1 (a request paying nothing is never served); set it to the market's linkFee; got "${value}"`);
  }
  return BigInt(value);
}

function parseGwei(variable: string, value: string): bigint {
  if (!/^\d+(\.\d{1,9})?$/.test(value) || parseUnits(value, "gwei") <= 0n) {
    throw new ConfigError(variable, `must be a positive number of gwei (up to 9 decimals), got "${value}"`);
  }
  return parseUnits(value, "gwei");
}

/**
 * Builds the relay configuration from the environment (the only place the
 * relay reads it). Throws a `ConfigError` (code `CONFIG_INVALID`) naming the
 * variable that is wrong.
 *
 * @example
 * const config = loadRelayConfig(process.env);
 * // { market: { kind: "factory", factoryAddress: "0x…" }, minPayment: 100000000000000000n, … }
 */
export function loadRelayConfig(env: NodeJS.ProcessEnv): RelayConfig {
  const privateKey = env.SCMPC_RELAY_PRIVATE_KEY;
  if (!privateKey || !/^0x[0-9a-fA-F]{64}$/.test(privateKey)) {
    throw new ConfigError("SCMPC_RELAY_PRIVATE_KEY", "must be a 0x-prefixed 32-byte hex private key");
  }
  const fulfillGasLimit = parsePositiveInt("SCMPC_RELAY_FULFILL_GAS_LIMIT", env.SCMPC_RELAY_FULFILL_GAS_LIMIT ?? String(MIN_FULFIL_GAS_LIMIT));
  if (fulfillGasLimit < MIN_FULFIL_GAS_LIMIT) {
    throw new ConfigError("SCMPC_RELAY_FULFILL_GAS_LIMIT", `must be at least ${MIN_FULFIL_GAS_LIMIT} (the Operator requires 400000 left for the callback)`);
  }
  return {
    rpcUrl: parseUrl("SCMPC_RPC_URL", env.SCMPC_RPC_URL),
    operatorAddress: parseAddress("SCMPC_OPERATOR_ADDRESS", env.SCMPC_OPERATOR_ADDRESS),
    privateKey,
    market: parseMarket(env),
    // 1 juel, not 0: a request paying nothing would cost the relay gas and pay
    // nothing back. Operators set the market's linkFee (what its consumers pay).
    minPayment: parseMinPayment(env.SCMPC_RELAY_MIN_PAYMENT ?? "1"),
    bridgeUrl: parseUrl("SCMPC_BRIDGE_URL", env.SCMPC_BRIDGE_URL),
    bridgeAccessKey: env.SCMPC_BRIDGE_ACCESS_KEY || undefined,
    storePath: env.SCMPC_RELAY_STORE ?? "scmpc-relay.sqlite",
    fromBlock: parseNonNegativeInt("SCMPC_RELAY_FROM_BLOCK", env.SCMPC_RELAY_FROM_BLOCK ?? "0"),
    // 0 suits a local automining chain, where a block is mined only when a
    // transaction arrives: waiting for one more block would stall a request
    // until somebody else transacts. On a real network use the chain's reorg
    // depth (e.g. 3-12 on Ethereum L1; see the README).
    confirmations: parseNonNegativeInt("SCMPC_RELAY_CONFIRMATIONS", env.SCMPC_RELAY_CONFIRMATIONS ?? "0"),
    pollIntervalMs: parsePositiveInt("SCMPC_RELAY_POLL_MS", env.SCMPC_RELAY_POLL_MS ?? "500"),
    bridgeTimeoutMs: parsePositiveInt("SCMPC_RELAY_BRIDGE_TIMEOUT_MS", env.SCMPC_RELAY_BRIDGE_TIMEOUT_MS ?? "120000"),
    bridgeBackoffMs: parsePositiveInt("SCMPC_RELAY_BRIDGE_BACKOFF_MS", env.SCMPC_RELAY_BRIDGE_BACKOFF_MS ?? "500"),
    bridgeRetryWindowMs: parsePositiveInt("SCMPC_RELAY_BRIDGE_RETRY_WINDOW_MS", env.SCMPC_RELAY_BRIDGE_RETRY_WINDOW_MS ?? "600000"),
    concurrency: parsePositiveInt("SCMPC_RELAY_CONCURRENCY", env.SCMPC_RELAY_CONCURRENCY ?? "8"),
    fulfillGasLimit,
    // 30 s: a couple of blocks on most chains, time for a fulfilment sent now
    // to be mined before the consumer would answer it with "late" (reason 6).
    deadlineMarginS: parseNonNegativeInt("SCMPC_RELAY_DEADLINE_MARGIN_S", env.SCMPC_RELAY_DEADLINE_MARGIN_S ?? "30"),
    replaceAfterMs: parsePositiveInt("SCMPC_RELAY_REPLACE_AFTER_MS", env.SCMPC_RELAY_REPLACE_AFTER_MS ?? "60000"),
    maxFeePerGas: parseGwei("SCMPC_RELAY_MAX_FEE_GWEI", env.SCMPC_RELAY_MAX_FEE_GWEI ?? "500"),
    healthListen: parseListen("SCMPC_RELAY_HEALTH_LISTEN", env.SCMPC_RELAY_HEALTH_LISTEN ?? "127.0.0.1:8081"),
    logLevel: parseLogLevel(env.SCMPC_LOG_LEVEL),
  };
}
