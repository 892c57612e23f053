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

/** Configuration of the oracle relay process, built once at start-up. */
export interface RelayConfig {
  rpcUrl: string;
  /** The Chainlink Operator contract whose OracleRequest events the relay serves. */
  operatorAddress: string;
  /** Key of an authorized sender of the Operator. Sensitive: never logged. */
  privateKey: string;
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
  /** Gas limit of fulfillOracleRequest2; the Operator needs >= 400k left for the callback. */
  fulfillGasLimit: number;
  /** Where the relay answers `GET /health` (its progress), for operators and the local stack. */
  healthListen: Listen;
  logLevel: LogLevel;
}

/**
 * Builds the relay configuration from the environment (the only place the
 * relay reads it). Throws an error naming the variable that is wrong.
 *
 * @example
 * const config = loadRelayConfig(process.env);
 */
export function loadRelayConfig(env: NodeJS.ProcessEnv): RelayConfig {
  const privateKey = env.SCMPC_RELAY_PRIVATE_KEY;
  if (!privateKey || !/^0x[0-9a-fA-F]{64}$/.test(privateKey)) {
    throw new ConfigError("SCMPC_RELAY_PRIVATE_KEY", "must be a 0x-prefixed 32-byte hex private key");
  }
  const fulfillGasLimit = parsePositiveInt("SCMPC_RELAY_FULFILL_GAS_LIMIT", env.SCMPC_RELAY_FULFILL_GAS_LIMIT ?? "1000000");
  if (fulfillGasLimit < 500_000) {
    throw new ConfigError("SCMPC_RELAY_FULFILL_GAS_LIMIT", "must be at least 500000 (the Operator requires 400000 for the callback)");
  }
  return {
    rpcUrl: parseUrl("SCMPC_RPC_URL", env.SCMPC_RPC_URL),
    operatorAddress: parseAddress("SCMPC_OPERATOR_ADDRESS", env.SCMPC_OPERATOR_ADDRESS),
    privateKey,
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
    healthListen: parseListen("SCMPC_RELAY_HEALTH_LISTEN", env.SCMPC_RELAY_HEALTH_LISTEN ?? "127.0.0.1:8081"),
    logLevel: parseLogLevel(env.SCMPC_LOG_LEVEL),
  };
}
