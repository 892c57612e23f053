import { Interface } from "ethers";
import type { Provider } from "ethers";
import { loadArtifact } from "@scmpc/contracts";

/**
 * Counts, per request id, the `fulfillOracleRequest2` transactions sent to the
 * Chainlink Operator in blocks `fromBlock..toBlock`, mined successfully or
 * not. Exactly-once delivery means one per request; a second one (even one
 * that reverted) is a duplicate the relay should never have sent.
 *
 * @example
 * const attempts = await fulfilmentAttempts(provider, state.contracts.operator, startBlock, await provider.getBlockNumber());
 * const duplicated = [...attempts.values()].reduce((n, c) => n + c - 1, 0);
 */
export async function fulfilmentAttempts(
  provider: Provider,
  operatorAddress: string,
  fromBlock: number,
  toBlock: number,
): Promise<Map<string, number>> {
  const operator = new Interface(loadArtifact("Operator").abi);
  const selector = operator.getFunction("fulfillOracleRequest2")!.selector;
  const target = operatorAddress.toLowerCase();
  const attempts = new Map<string, number>();
  for (let n = fromBlock; n <= toBlock; n++) {
    const block = await provider.getBlock(n, true);
    for (const tx of block?.prefetchedTransactions ?? []) {
      if (tx.to?.toLowerCase() !== target || !tx.data.startsWith(selector)) continue;
      const requestId = (operator.decodeFunctionData("fulfillOracleRequest2", tx.data)[0] as string).toLowerCase();
      attempts.set(requestId, (attempts.get(requestId) ?? 0) + 1);
    }
  }
  return attempts;
}
