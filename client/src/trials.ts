import { Contract, type Signer } from "ethers";
import { formatEpsilon, loadArtifact, MAX_REQUEST_EPSILON, toMilliEpsilon } from "@scmpc/contracts";
import { ownDataset, readTrial, type TrialOffer } from "./dataset-policy.ts";
import type { StackState } from "./state.ts";

// Try before you buy (the registry's TrialBook): a seller grants every buyer
// address a few free computations at a small ε, from an allowance of trial
// computations for the dataset as a whole (so that fresh addresses cannot
// take more than it). A trial pays no price for the dataset; the operators'
// fee still applies, and its ε is spent from the dataset's budget.

/** The default allowance: this many buyers' worth of trials. */
export const DEFAULT_TRIAL_BUYERS = 20;

/**
 * Offers (or changes, or with `free` 0 withdraws) trials of one of the
 * seller's datasets: `free` computations per buyer address at ε `epsilon` at
 * most each, `allowance` trial computations in all (default
 * {@link DEFAULT_TRIAL_BUYERS} buyers' worth).
 *
 * @throws Error naming the option that is wrong
 * @example
 * await offerTrial({ state, seller, dataset: "salaries", free: 2, epsilon: "0.1" });
 */
export async function offerTrial(options: {
  state: StackState;
  seller: Signer;
  dataset: string;
  free: number;
  epsilon?: string;
  allowance?: number;
}): Promise<{ id: string; offer: TrialOffer | null }> {
  const registry = new Contract(options.state.contracts.registry, loadArtifact("DatasetRegistry").abi, options.seller);
  const { id } = await ownDataset(registry, options.dataset, await options.seller.getAddress());
  if (!Number.isInteger(options.free) || options.free < 0 || options.free > 0xffff) throw new Error(`--free must be a whole number of computations from 0 to 65535; got ${options.free}`);
  if (options.free === 0) {
    await (await registry.setTrialTerms(id, 0, 0, 0)).wait();
    return { id, offer: null };
  }
  if (options.epsilon === undefined) throw new Error("a trial needs --epsilon: the most ε one free computation may spend");
  const milli = toMilliEpsilon(options.epsilon, MAX_REQUEST_EPSILON);
  if (milli === 0) throw new Error("--epsilon of a trial must be positive: trials give differentially private answers only");
  const allowance = options.allowance ?? options.free * DEFAULT_TRIAL_BUYERS;
  if (!Number.isInteger(allowance) || allowance < 1 || allowance > 0xffffffff) throw new Error(`--allowance must be a whole number of computations, at least 1; got ${allowance}`);
  const budget = await registry.budgetOf(id);
  if (BigInt(allowance) * BigInt(milli) > (budget.remaining as bigint)) {
    throw new Error(
      `${allowance} trial computations at ε ${formatEpsilon(milli)} would need ε ${formatEpsilon(allowance * milli)} of the dataset's budget; ` +
        `it has ε ${formatEpsilon(Number(budget.remaining))} left (lower --allowance or --epsilon)`,
    );
  }
  await (await registry.setTrialTerms(id, options.free, milli, allowance)).wait();
  return { id, offer: await readTrial(registry, id) };
}
