import { Contract } from "ethers";
import type { Provider } from "ethers";
import type { RelayMarket } from "./config.ts";
import { FULFILL_SELECTOR, readJobId } from "./consumer-contract.ts";
import type { OracleRequest } from "./oracle-request.ts";

/** The part of `AlgorithmFactory` the relay reads. */
export const FACTORY_ABI = [
  "function algorithmCount() view returns (uint256)",
  "function algorithmAt(uint256 i) view returns (string name, address computation)",
] as const;

/**
 * The market's consumers cannot be read: no AlgorithmFactory at
 * `SCMPC_FACTORY_ADDRESS`, or a listed requester without `jobId()`. The relay
 * stops: serving without its filter would spend gas on anyone's requests.
 */
export class RelayMarketError extends Error {
  readonly code = "RELAY_MARKET_UNREADABLE";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "RelayMarketError";
  }
}

/** One consumer the relay serves. */
export interface MarketConsumer {
  address: string;
  /** Its `jobId()`, lower-case. */
  jobId: string;
  /** Its algorithm (`name@version`) when the factory named it. */
  name?: string;
}

/** The relay's filter of `OracleRequest`s: a Chainlink node job's `requesters` and `minContractPaymentLinkJuels`, and more. */
export interface MarketRequesters {
  /** Consumers known so far. */
  consumers(): MarketConsumer[];
  /** Reads the consumers (the factory's new algorithms since the last read, or the listed ones). */
  load(): Promise<void>;
  /**
   * Why each request is not served, or undefined for one that is. A request
   * from a requester not known yet makes the relay read the factory again
   * first (once per call), so an algorithm created after the relay started
   * is served.
   */
  judge(requests: readonly OracleRequest[]): Promise<(string | undefined)[]>;
}

/** ethers' codes for a call that cannot succeed at that address: no contract, or not this one. */
function isWrongContract(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return code === "CALL_EXCEPTION" || code === "BAD_DATA";
}

/**
 * Builds the filter for `market`: serve a request only when its specId is one
 * of the market's job ids, its requester is one of the market's consumers
 * (the factory's algorithm contracts, or the listed ones), it calls back the
 * requester's own `fulfill(bytes32,bytes)`, it is an Operator (version 2)
 * request, and it pays at least `minPayment` juels.
 *
 * @example
 * const market = createMarketRequesters(provider, { kind: "factory", factoryAddress }, 10n ** 17n);
 * await market.load();
 * const [reason] = await market.judge([request]); // undefined: serve it
 */
export function createMarketRequesters(provider: Provider, market: RelayMarket, minPayment: bigint): MarketRequesters {
  const known = new Map<string, MarketConsumer>();
  const jobIds = new Set<string>();
  let factoryRead = 0;

  function add(consumer: MarketConsumer): void {
    known.set(consumer.address.toLowerCase(), consumer);
    jobIds.add(consumer.jobId);
  }

  async function jobIdOf(address: string, variable: string): Promise<string> {
    try {
      return await readJobId(provider, address);
    } catch (err) {
      if (isWrongContract(err)) throw new RelayMarketError(`${variable}: ${address} has no jobId(); it is not one of the market's algorithm contracts`, { cause: err });
      throw err;
    }
  }

  async function load(): Promise<void> {
    if (market.kind === "requesters") {
      for (const address of market.requesters) {
        if (!known.has(address.toLowerCase())) add({ address, jobId: await jobIdOf(address, "SCMPC_RELAY_REQUESTERS") });
      }
      return;
    }
    const factory = new Contract(market.factoryAddress, FACTORY_ABI, provider);
    let count: number;
    try {
      count = Number(await factory.algorithmCount());
    } catch (err) {
      if (isWrongContract(err)) throw new RelayMarketError(`SCMPC_FACTORY_ADDRESS: no AlgorithmFactory at ${market.factoryAddress}`, { cause: err });
      throw err;
    }
    // Algorithms are only ever appended: read the new ones.
    for (let i = factoryRead; i < count; i++) {
      const [name, computation] = (await factory.algorithmAt(i)) as [string, string];
      add({ address: computation, name, jobId: await jobIdOf(computation, `SCMPC_FACTORY_ADDRESS (algorithm ${name})`) });
      factoryRead = i + 1;
    }
  }

  function reasonFor(r: OracleRequest): string | undefined {
    if (r.dataVersion !== 2n) return `dataVersion ${r.dataVersion}: not an Operator (version 2) request`;
    if (!jobIds.has(r.specId.toLowerCase())) return `specId ${r.specId} is not one of the market's job ids`;
    if (!known.has(r.requester.toLowerCase())) return `requester ${r.requester} is not one of the market's algorithm contracts`;
    if (r.callbackAddr.toLowerCase() !== r.requester.toLowerCase()) return `callback ${r.callbackAddr} is not the requester ${r.requester}`;
    if (r.callbackFunctionId.toLowerCase() !== FULFILL_SELECTOR) return `callback function ${r.callbackFunctionId} is not fulfill(bytes32,bytes) (${FULFILL_SELECTOR})`;
    if (r.payment < minPayment) return `pays ${r.payment} juels, below the minimum ${minPayment} (SCMPC_RELAY_MIN_PAYMENT)`;
    return undefined;
  }

  return {
    consumers: () => [...known.values()],
    load,
    async judge(requests) {
      // An attacker's flood of unknown requesters costs one incremental read per batch, not one per request.
      if (market.kind === "factory" && requests.some((r) => !known.has(r.requester.toLowerCase()))) await load();
      return requests.map(reasonFor);
    },
  };
}
