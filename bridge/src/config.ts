import { parseEndpointList, parseListen, parseLogLevel, parsePositiveInt } from "./config-parsers.ts";
import type { Listen, LogLevel } from "./config-parsers.ts";

/** Configuration of the bridge process, built once at start-up. */
export interface BridgeConfig {
  listen: Listen;
  /** The three MPC hosts' gRPC endpoints, in host-index order. */
  hosts: string[];
  /** Deadline of one MPC job, from the bridge's call to the hosts' answers. */
  computeTimeoutMs: number;
  logLevel: LogLevel;
}

/**
 * Builds the bridge configuration from the environment (the only place the
 * bridge reads it). Throws an error naming the variable that is wrong.
 *
 * @example
 * const config = loadBridgeConfig(process.env);
 */
export function loadBridgeConfig(env: NodeJS.ProcessEnv): BridgeConfig {
  return {
    listen: parseListen("SCMPC_BRIDGE_LISTEN", env.SCMPC_BRIDGE_LISTEN ?? "127.0.0.1:8080"),
    hosts: parseEndpointList("SCMPC_HOSTS", env.SCMPC_HOSTS, 3),
    computeTimeoutMs: parsePositiveInt("SCMPC_COMPUTE_TIMEOUT_MS", env.SCMPC_COMPUTE_TIMEOUT_MS ?? "60000"),
    logLevel: parseLogLevel(env.SCMPC_LOG_LEVEL),
  };
}
