import type { MarketAddresses } from "@scmpc/contracts";
import type { StackState } from "../../../client/src/state.ts";

/** A development account of a local chain, offered in the account list (never on a public chain). */
export interface DevAccount {
  label: string;
  address: string;
  privateKey: string;
}

/**
 * What the web market needs to know about its market: `config.json` beside
 * `index.html`, written by `scmpc up` for the local stack, by the operator
 * for a static deployment.
 */
export interface MarketConfig {
  /** The chain's JSON-RPC URL (the browser reads the chain through it; an injected wallet signs). */
  rpcUrl: string;
  chainId: number;
  /** The market's contracts, as `scmpc up` deploys them. */
  contracts: MarketAddresses;
  /** The three MPC hosts' web endpoints (`https://host:port`), in host-index order. */
  hostWebUrls: string[];
  /** Local chains only: development accounts to act as without a wallet. */
  devAccounts?: DevAccount[];
}

/** Reads and checks `config.json`; the error says what is missing. */
export async function loadConfig(url = "config.json"): Promise<MarketConfig> {
  let response: Response;
  try {
    response = await fetch(url, { cache: "no-store" });
  } catch (err) {
    throw new Error(`cannot load the market's configuration (${url}): ${(err as Error).message}`);
  }
  if (!response.ok) throw new Error(`cannot load the market's configuration (${url}): HTTP ${response.status}`);
  const config = (await response.json()) as Partial<MarketConfig>;
  const missing = (["rpcUrl", "chainId", "contracts", "hostWebUrls"] as const).filter((key) => config[key] === undefined);
  if (missing.length > 0) throw new Error(`the market's configuration (${url}) lacks ${missing.join(", ")}`);
  if (config.hostWebUrls!.length !== 3) throw new Error(`the market's configuration names ${config.hostWebUrls!.length} hosts' web endpoints; it needs 3`);
  return config as MarketConfig;
}

/** The client library's view of the market (what the CLI reads from its state file). */
export function marketState(config: MarketConfig): StackState {
  return {
    rpcUrl: config.rpcUrl,
    chainId: config.chainId,
    contracts: config.contracts,
    // The browser reaches the hosts through their web endpoints, not gRPC.
    hosts: [],
    bridgeUrl: "",
    pids: {},
    startedAt: "",
  };
}
