import { Contract, formatUnits, type Signer } from "ethers";
import { loadArtifact } from "@scmpc/contracts";
import { resolveAlgorithm } from "./buyer.ts";
import { PAYMENT_DECIMALS } from "./dataset-policy.ts";
import type { StackState } from "./state.ts";

// Prepaid operators' fees: a buyer buys fee credits on an algorithm's
// contract in advance; a request that escrows no dataset price (every
// dataset covered by the buyer's subscription, or a trial) then pays its fee
// with one credit and moves no token at all. Credits not used can be turned
// back into withdrawable tokens at any time.

/** A buyer's fee credits on one algorithm's contract. */
export interface FeeCredits {
  algorithm: string;
  /** Requests' worth of operators' fees paid in advance. */
  credits: number;
  /** The operators' fee of one request, mUSD. */
  fee: string;
}

function marketOf(state: StackState, algorithm: string, runner: Signer): { algorithm: string; market: Contract } {
  const name = resolveAlgorithm(algorithm);
  const address = state.contracts.algorithms[name];
  if (address === undefined) throw new Error(`this market has no contract for ${name}`);
  return { algorithm: name, market: new Contract(address, loadArtifact("AlgorithmComputation").abi, runner) };
}

/**
 * Pays `count` requests' operators' fees in advance on one algorithm's
 * contract (approving the amount first when needed).
 *
 * @example
 * const { credits } = await prepayFees({ state, buyer, algorithm: "mean", count: 10 });
 */
export async function prepayFees(options: { state: StackState; buyer: Signer; algorithm: string; count: number }): Promise<FeeCredits & { paid: string; txHash: string }> {
  const { state, buyer, count } = options;
  if (!Number.isSafeInteger(count) || count <= 0) throw new Error(`--count must be a positive whole number of requests; got ${count}`);
  const { algorithm, market } = marketOf(state, options.algorithm, buyer);
  const me = await buyer.getAddress();
  const fee: bigint = await market.operatorFee();
  if (fee === 0n) throw new Error(`${algorithm} charges no operators' fee: there is nothing to prepay`);
  const amount = fee * BigInt(count);
  const token = new Contract(state.contracts.paymentToken, loadArtifact("DevPaymentToken").abi, buyer);
  const held: bigint = await token.balanceOf(me);
  if (held < amount) throw new Error(`${count} fees of ${algorithm} cost ${formatUnits(amount, PAYMENT_DECIMALS)} mUSD but ${me} holds ${formatUnits(held, PAYMENT_DECIMALS)}`);
  if (((await token.allowance(me, await market.getAddress())) as bigint) < amount) await (await token.approve(await market.getAddress(), amount)).wait();
  const tx = await market.prepayFees(count);
  await tx.wait();
  return { algorithm, credits: Number(await market.feeCreditsOf(me)), fee: formatUnits(fee, PAYMENT_DECIMALS), paid: formatUnits(amount, PAYMENT_DECIMALS), txHash: tx.hash };
}

/**
 * The buyer's fee credits on every algorithm's contract of the market (those with none left out).
 *
 * @example
 * for (const c of await listFeeCredits({ state, buyer })) console.log(c.algorithm, c.credits);
 */
export async function listFeeCredits(options: { state: StackState; buyer: Signer }): Promise<FeeCredits[]> {
  const me = await options.buyer.getAddress();
  const all = await Promise.all(
    Object.keys(options.state.contracts.algorithms).map(async (name) => {
      const { algorithm, market } = marketOf(options.state, name, options.buyer);
      const [credits, fee] = await Promise.all([market.feeCreditsOf(me), market.operatorFee()]);
      return { algorithm, credits: Number(credits), fee: formatUnits(fee as bigint, PAYMENT_DECIMALS) };
    }),
  );
  return all.filter((c) => c.credits > 0);
}

/**
 * Turns every unused fee credit on one algorithm's contract back into the
 * buyer's withdrawable balance there (`buyer withdraw` collects it).
 *
 * @example
 * const { reclaimed } = await reclaimFeeCredits({ state, buyer, algorithm: "mean" });
 */
export async function reclaimFeeCredits(options: { state: StackState; buyer: Signer; algorithm: string }): Promise<{ algorithm: string; credits: number; reclaimed: string; txHash: string }> {
  const { algorithm, market } = marketOf(options.state, options.algorithm, options.buyer);
  const me = await options.buyer.getAddress();
  const credits = Number(await market.feeCreditsOf(me));
  if (credits === 0) throw new Error(`${me} holds no fee credits on ${algorithm}`);
  const fee: bigint = await market.operatorFee();
  const tx = await market.reclaimFeeCredits();
  await tx.wait();
  return { algorithm, credits, reclaimed: formatUnits(fee * BigInt(credits), PAYMENT_DECIMALS), txHash: tx.hash };
}
