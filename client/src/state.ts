import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import type { MarketAddresses } from "@scmpc/contracts";
import type { HostApiTls } from "@scmpc/mpc-engine/tls";

/** What `scmpc up` writes for the other commands: where the chain, contracts, hosts and bridge are. */
export interface StackState {
  rpcUrl: string;
  chainId: number;
  contracts: MarketAddresses;
  /** gRPC endpoints of the three MPC hosts, in host-index order. */
  hosts: string[];
  /** How their Host API is trusted over TLS: the deployment CA and the hosts' fingerprints (absent: plaintext). */
  hostTls?: HostApiTls;
  /**
   * Base URLs of the three hosts' web API for browsers (`SCMPC_HOST_WEB_LISTEN`:
   * `POST /v1/upload`, `POST /v1/release-key`, `GET /v1/health`), in host-index
   * order, e.g. `https://127.0.0.1:PORT`: HTTPS with the same certificates as
   * the Host API (trust `hostTls.ca`; they name 127.0.0.1). `scmpc up`
   * always writes it; absent where the hosts serve no web API (the compose
   * deployer's state, state files of earlier stacks).
   */
  hostWebUrls?: string[];
  /** The web market `scmpc up` serves (`http://127.0.0.1:PORT/`); absent when it serves none. */
  webUrl?: string;
  bridgeUrl: string;
  /** Process ids of the stack's processes, for operators. */
  pids: Record<string, number>;
  startedAt: string;
}

/**
 * The directory holding the state file, logs and buyer keys:
 * `$SCMPC_HOME`, or `.scmpc` in the current directory.
 *
 * @example
 * const dir = stateDir(process.env);
 */
export function stateDir(env: NodeJS.ProcessEnv): string {
  return path.resolve(env.SCMPC_HOME ?? ".scmpc");
}

/** Path of the state file inside `dir`. */
export function stateFile(dir: string): string {
  return path.join(dir, "state.json");
}

/** Writes the state file atomically (temp file, then rename). */
export async function writeState(dir: string, state: StackState): Promise<void> {
  await mkdir(dir, { recursive: true });
  const tmp = `${stateFile(dir)}.tmp`;
  await writeFile(tmp, JSON.stringify(state, null, 2) + "\n");
  await rename(tmp, stateFile(dir));
}

/**
 * Reads the state file, with a clear error when no stack was started.
 *
 * @example
 * const state = await readState(stateDir(process.env));
 */
export async function readState(dir: string): Promise<StackState> {
  let text: string;
  try {
    text = await readFile(stateFile(dir), "utf8");
  } catch {
    throw new Error(`no local stack state at ${stateFile(dir)}: start one with \`scmpc up\` (or set SCMPC_HOME)`);
  }
  return JSON.parse(text) as StackState;
}
