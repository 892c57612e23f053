import { Contract, formatUnits, parseUnits, type Signer } from "ethers";
import { loadArtifact } from "@scmpc/contracts";
import { formatPeriod, PAYMENT_DECIMALS, ownDataset, PERIOD_UNITS, readOffer, resolveDatasetId, type SubscriptionOffer } from "./dataset-policy.ts";
import type { StackState } from "./state.ts";

// Subscriptions (the registry's SubscriptionBook): a seller offers period
// access (period, price per period, a quota of computations per period); a
// buyer pays whole periods in advance; within the quota its computations over
// the dataset pay no per-computation price (the operators' fee and any ε
// still apply). The payment is earned by the seller pro rata to the second
// and released on demand; unsubscribing gives back the periods not begun.

/**
 * A period as `30d`, `12h`, `90m`, `3600s` or `2w`, in seconds.
 *
 * @throws Error for anything else
 * @example
 * parsePeriod("30d") // 2592000
 */
export function parsePeriod(text: string): number {
  const match = /^(\d+)\s*([smhdw])$/.exec(text.trim());
  if (!match || Number(match[1]) === 0) throw new Error(`a period is a positive whole number of s, m, h, d or w (e.g. 30d); got "${text}"`);
  return Number(match[1]) * PERIOD_UNITS[match[2]];
}

/** One of a buyer's subscriptions. */
export interface BuyerSubscription {
  id: string;
  address: string;
  start: string;
  end: string;
  active: boolean;
  period: string;
  quota: number;
  /** Computations left in the current period without the per-computation price. */
  quotaLeft: number;
  /** Paid and not refunded, mUSD. */
  paid: string;
  /** Earned by the seller so far, mUSD. */
  earned: string;
}

function registryOf(state: StackState, runner: Signer): Contract {
  return new Contract(state.contracts.registry, loadArtifact("DatasetRegistry").abi, runner);
}

/**
 * Offers (or changes, or with `period` "off" withdraws) period access to one
 * of the seller's datasets. Running subscriptions keep their terms.
 *
 * @example
 * await offerSubscription({ state, seller, dataset: "salaries", period: "30d", periodPrice: "40", quota: 10 });
 */
export async function offerSubscription(options: {
  state: StackState;
  seller: Signer;
  dataset: string;
  period: string;
  periodPrice?: string;
  quota?: number;
}): Promise<{ id: string; offer: SubscriptionOffer | null }> {
  const registry = registryOf(options.state, options.seller);
  const { id } = await ownDataset(registry, options.dataset, await options.seller.getAddress());
  if (options.period === "off") {
    await (await registry.setSubscriptionTerms(id, 0, 0, 0)).wait();
    return { id, offer: null };
  }
  const period = parsePeriod(options.period);
  if (options.periodPrice === undefined || options.quota === undefined) throw new Error("an offer needs --period-price and --quota");
  let price: bigint;
  try {
    price = parseUnits(options.periodPrice, PAYMENT_DECIMALS);
  } catch {
    throw new Error(`--period-price must be a decimal amount of the payment token; got "${options.periodPrice}"`);
  }
  if (!Number.isInteger(options.quota) || options.quota < 1 || options.quota > 0xffffffff) throw new Error(`--quota must be a whole number of computations, at least 1; got ${options.quota}`);
  await (await registry.setSubscriptionTerms(id, period, price, options.quota)).wait();
  return { id, offer: await readOffer(registry, id) };
}

/**
 * Subscribes for `periods` periods, or renews a running subscription from its end.
 *
 * @example
 * await subscribe({ state, buyer, dataset: "0x7099…/salaries", periods: 1 });
 */
export async function subscribe(options: { state: StackState; buyer: Signer; dataset: string; periods: number }): Promise<BuyerSubscription & { paidNow: string }> {
  const registry = registryOf(options.state, options.buyer);
  const me = await options.buyer.getAddress();
  const id = await resolveDatasetId(registry, options.dataset, me);
  if (!(await registry.isRegistered(id))) throw new Error(`no dataset ${options.dataset} is registered`);
  if (!Number.isInteger(options.periods) || options.periods < 1) throw new Error(`--periods must be a whole number, at least 1; got ${options.periods}`);
  const terms = await registry.subscriptionTermsOf(id);
  if ((terms.period as bigint) === 0n) throw new Error(`dataset ${id} offers no subscription`);
  const amount = (terms.price as bigint) * BigInt(options.periods);
  const token = new Contract(options.state.contracts.paymentToken, loadArtifact("DevPaymentToken").abi, options.buyer);
  const balance: bigint = await token.balanceOf(me);
  if (balance < amount) throw new Error(`${options.periods} period(s) cost ${formatUnits(amount, PAYMENT_DECIMALS)} mUSD but ${me} holds ${formatUnits(balance, PAYMENT_DECIMALS)}`);
  if ((await token.allowance(me, options.state.contracts.registry)) < amount) await (await token.approve(options.state.contracts.registry, amount)).wait();
  await (await registry.subscribe(id, options.periods)).wait();
  return { ...(await subscriptionOf(registry, id, me)), paidNow: formatUnits(amount, PAYMENT_DECIMALS) };
}

/**
 * Ends a subscription with its current period; the periods not begun are
 * credited back (withdraw with `scmpc buyer withdraw`).
 *
 * @example
 * const { refund } = await unsubscribe({ state, buyer, dataset: id });
 */
export async function unsubscribe(options: { state: StackState; buyer: Signer; dataset: string }): Promise<{ id: string; end: string; refund: string }> {
  const registry = registryOf(options.state, options.buyer);
  const me = await options.buyer.getAddress();
  const id = await resolveDatasetId(registry, options.dataset, me);
  const current = await subscriptionOf(registry, id, me);
  if (!current.active) throw new Error(`you have no running subscription to ${id}`);
  const receipt = await (await registry.unsubscribe(id)).wait();
  const event = receipt.logs.map((l: { topics: string[]; data: string }) => registry.interface.parseLog(l)).find((p: { name: string } | null) => p?.name === "Unsubscribed");
  return { id, end: new Date(Number(event.args.end) * 1000).toISOString(), refund: formatUnits(event.args.refund as bigint, PAYMENT_DECIMALS) };
}

async function subscriptionOf(registry: Contract, id: string, buyer: string): Promise<BuyerSubscription> {
  const [dataset, [sub, quotaLeft, earned], latest] = await Promise.all([registry.getDataset(id), registry.subscriptionOf(id, buyer), registry.runner!.provider!.getBlock("latest")]);
  const now = BigInt(latest!.timestamp);
  return {
    id,
    address: `${dataset.seller}/${dataset.name}`,
    start: new Date(Number(sub.start) * 1000).toISOString(),
    end: new Date(Number(sub.end) * 1000).toISOString(),
    active: (sub.end as bigint) > now && (sub.start as bigint) <= now,
    period: formatPeriod(Number(sub.period)),
    quota: Number(sub.quota),
    quotaLeft: Number(quotaLeft),
    paid: formatUnits(sub.paid as bigint, PAYMENT_DECIMALS),
    earned: formatUnits(earned as bigint, PAYMENT_DECIMALS),
  };
}

/**
 * The buyer's subscriptions, running or ended, from its `Subscribed` events.
 *
 * @example
 * const subs = await listSubscriptions({ state, buyer });
 */
export async function listSubscriptions(options: { state: StackState; buyer: Signer }): Promise<BuyerSubscription[]> {
  const registry = registryOf(options.state, options.buyer);
  const me = await options.buyer.getAddress();
  const events = await registry.queryFilter(registry.filters.Subscribed(null, me));
  const ids = [...new Set(events.map((e) => ((e as unknown as { args: { datasetId: string } }).args.datasetId as string).toLowerCase()))];
  return Promise.all(ids.map((id) => subscriptionOf(registry, id, me)));
}

/**
 * Releases to the seller (and payees) what it has earned of every
 * subscription to its datasets, so that `withdraw` can send it.
 *
 * @example
 * await releaseEarnings(registry, seller);
 */
export async function releaseEarnings(registry: Contract, seller: string): Promise<void> {
  const mine = new Set(
    (await registry.queryFilter(registry.filters.DatasetRegistered(null, seller))).map((e) => ((e as unknown as { args: { datasetId: string } }).args.datasetId as string).toLowerCase()),
  );
  for (const event of await registry.queryFilter(registry.filters.Subscribed())) {
    const { datasetId, buyer } = (event as unknown as { args: { datasetId: string; buyer: string } }).args;
    if (!mine.has(datasetId.toLowerCase())) continue;
    const [sub, , earned] = await registry.subscriptionOf(datasetId, buyer);
    if ((earned as bigint) > (sub.released as bigint)) await (await registry.releaseSubscription(datasetId, buyer)).wait();
  }
}
