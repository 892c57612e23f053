import { Contract, type Signer } from "ethers";
import { loadArtifact } from "@scmpc/contracts";
import type { StackState } from "./state.ts";
import { releaseEarnings } from "./subscriptions.ts";

// One account's money held by the market: credited per algorithm contract (a
// seller's payments, a buyer's refunds) and by the registry (subscription
// income and refunds). Read and withdrawn the same way by the CLI and the web market.

/** What the market holds for an account, in token units: the total and, per algorithm contract (and `subscriptions` for the registry), what is not zero. */
export interface MarketBalance {
  account: string;
  total: bigint;
  byAlgorithm: Record<string, bigint>;
}

/** Every algorithm contract of the market, and the registry. */
function holders(state: StackState, signer: Signer) {
  const abi = loadArtifact("AlgorithmComputation").abi;
  return {
    markets: Object.entries(state.contracts.algorithms).map(([name, address]) => ({ name, contract: new Contract(address, abi, signer) })),
    registry: new Contract(state.contracts.registry, loadArtifact("DatasetRegistry").abi, signer),
  };
}

/**
 * What the market holds for the signer's account. A seller's subscription
 * earnings count once released; a balance releases nothing, so it reads them
 * as owed (`incomeOf`).
 *
 * @example
 * const { total } = await marketBalance(state, signer);
 */
export async function marketBalance(state: StackState, signer: Signer): Promise<MarketBalance> {
  return settle(state, signer, { withdraw: false });
}

/**
 * Withdraws everything the market holds for the signer's account to it: each
 * algorithm contract's credit, then the registry's subscription income (a
 * seller's earnings are released first when `releaseEarnings` is set).
 * Resolves to what was withdrawn.
 *
 * @example
 * const { total } = await withdrawAll(state, signer, { releaseEarnings: true });
 */
export async function withdrawAll(state: StackState, signer: Signer, options: { releaseEarnings: boolean }): Promise<MarketBalance> {
  return settle(state, signer, { withdraw: true, ...options });
}

async function settle(state: StackState, signer: Signer, mode: { withdraw: boolean; releaseEarnings?: boolean }): Promise<MarketBalance> {
  const account = await signer.getAddress();
  const { markets, registry } = holders(state, signer);
  const byAlgorithm: Record<string, bigint> = {};
  let total = 0n;
  for (const { name, contract } of markets) {
    const amount: bigint = await contract.withdrawable(account);
    if (amount === 0n) continue;
    if (mode.withdraw) await (await contract.withdraw()).wait();
    byAlgorithm[name] = amount;
    total += amount;
  }
  if (mode.withdraw && mode.releaseEarnings) await releaseEarnings(registry, account);
  const income: bigint = await registry.incomeOf(account);
  if (income > 0n) {
    if (mode.withdraw) await (await registry.withdrawIncome()).wait();
    byAlgorithm.subscriptions = income;
    total += income;
  }
  return { account, total, byAlgorithm };
}
