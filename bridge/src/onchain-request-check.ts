import { Contract, getAddress, JsonRpcProvider, ZeroAddress } from "ethers";
import { readRequest, REQUEST_STATUS_PENDING } from "@scmpc/mpc-engine/host";
import { loadArtifact } from "@scmpc/contracts";
import { ChainUnavailableError, OnChainMismatchError } from "./errors.ts";
import type { ComputationData } from "./schemas.ts";

/**
 * Checks a request against the chain before the bridge drives the hosts: the
 * bridge trusts nothing it is handed, not even by an authenticated caller.
 */
export interface RequestChecker {
  /**
   * Resolves when the consumer contract sells the algorithm asked for, knows
   * the request, holds it Pending, and its `ComputationRequested` event names
   * the same datasets (same order), params and buyer key.
   *
   * @throws OnChainMismatchError naming what differs (definitive)
   * @throws ChainUnavailableError when the chain cannot be read in `timeoutMs` (worth a retry)
   */
  check(data: ComputationData, timeoutMs: number): Promise<void>;
  close(): void;
}

/** The ethers error codes of a call that reached the chain and failed there (not a transport problem). */
const CALL_FAILED = new Set(["CALL_EXCEPTION", "BAD_DATA"]);

/**
 * {@link RequestChecker} over JSON-RPC with ethers v6 and the
 * `AlgorithmComputation` ABI from `@scmpc/contracts`. With `allowedConsumers`,
 * a request to any other contract is refused before anything is read.
 *
 * @example
 * const checker = createChainRequestChecker({ rpcUrl: "http://127.0.0.1:8545" });
 * await checker.check(data, 10_000);
 */
export function createChainRequestChecker(options: { rpcUrl: string; allowedConsumers?: readonly string[] }): RequestChecker {
  // Loaded once at start-up: a bridge without the contracts' build output fails fast.
  const { abi } = loadArtifact("AlgorithmComputation");
  const allowed = options.allowedConsumers && options.allowedConsumers.length > 0 ? new Set(options.allowedConsumers.map((a) => getAddress(a))) : undefined;
  let provider: JsonRpcProvider | undefined;
  const getProvider = (): JsonRpcProvider => (provider ??= new JsonRpcProvider(options.rpcUrl, undefined, { staticNetwork: true, batchMaxCount: 1 }));

  const read = async <T>(what: string, consumer: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (cause) {
      if (CALL_FAILED.has((cause as { code?: string }).code ?? "")) {
        throw new OnChainMismatchError("REQUEST_NOT_FOUND", `consumer ${consumer} did not answer ${what} as an AlgorithmComputation contract does`);
      }
      throw new ChainUnavailableError(`on-chain check failed: ${what} could not be read (${(cause as Error).message.split("\n")[0]})`, { cause });
    }
  };

  const check = async (data: ComputationData): Promise<void> => {
    const consumer = getAddress(data.consumer);
    if (allowed && !allowed.has(consumer)) {
      throw new OnChainMismatchError("REQUEST_MISMATCH", `consumer ${consumer} is not one of the market's algorithm contracts (SCMPC_ALGORITHM_CONTRACTS)`);
    }
    const contract = new Contract(consumer, abi, getProvider());
    const [algorithm, { record: request, requested }] = await Promise.all([
      read("algorithm()", consumer, async () => String(await contract.getFunction("algorithm").staticCall())),
      read(`getRequest(${data.requestId}) and its ComputationRequested event`, consumer, () => readRequest(contract, data.requestId)),
    ]);
    if (algorithm !== data.algorithm) {
      throw new OnChainMismatchError("REQUEST_MISMATCH", `consumer ${consumer} sells ${algorithm}, not ${data.algorithm}`);
    }
    if (request.buyer === ZeroAddress || request.status === 0) {
      throw new OnChainMismatchError("REQUEST_NOT_FOUND", `request ${data.requestId} is unknown to consumer ${consumer}`);
    }
    if (request.status !== REQUEST_STATUS_PENDING) {
      throw new OnChainMismatchError("REQUEST_NOT_PENDING", `request ${data.requestId} has on-chain status ${request.status}, not Pending (1): it is already fulfilled, failed or refunded`);
    }
    if (requested === undefined) {
      throw new OnChainMismatchError("REQUEST_NOT_FOUND", `consumer ${consumer} emitted no ComputationRequested event for request ${data.requestId}`);
    }
    const onChain = { datasetIds: requested.datasetIds.join(","), params: requested.params, buyerKey: requested.buyerKey };
    const asked = { datasetIds: data.datasetIds.toLowerCase(), params: data.params, buyerKey: data.buyerKey.toLowerCase() };
    const differences = (Object.keys(onChain) as (keyof typeof onChain)[]).filter((k) => onChain[k] !== asked[k]);
    if (differences.length > 0) {
      throw new OnChainMismatchError(
        "REQUEST_MISMATCH",
        `request ${data.requestId} differs from what the buyer paid for on-chain: ${differences.map((k) => `${k} is ${JSON.stringify(asked[k])}, on-chain ${JSON.stringify(onChain[k])}`).join("; ")}`,
      );
    }
  };

  return {
    check(data, timeoutMs) {
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new ChainUnavailableError(`on-chain check of request ${data.requestId} did not finish within ${timeoutMs} ms`)),
          timeoutMs,
        );
        check(data).then(resolve, reject).finally(() => clearTimeout(timer));
      });
    },
    close() {
      provider?.destroy();
      provider = undefined;
    },
  };
}
