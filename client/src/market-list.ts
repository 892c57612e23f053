import { Contract, formatUnits, type Provider } from "ethers";
import { loadArtifact } from "@scmpc/contracts";
import { parseSchemaText } from "@scmpc/mpc-engine";
import { PAYMENT_DECIMALS, readOffer, readPolicy, type SubscriptionOffer } from "./dataset-policy.ts";
import type { StackState } from "./state.ts";

// The market listing and its ranking. The rank is a public metric computed
// from on-chain facts only, so anyone can recompute it from the chain:
//
//   rank = 10·log2(1 + paid)        paid computations over the dataset in the last RANK_WINDOW_DAYS
//        + 10·log2(1 + subscribers) subscriptions running now
//        +  5·log10(1 + stake)      the seller's locked stake, in mUSD
//        +  5·min(age, 365) / 365   days since registration
//        − 25·penalties             proven offences of the seller (PenaltyCourt), on any of its datasets
//
// rounded to one decimal; a paused dataset keeps its rank but is listed as
// not for sale, a deregistered one is not listed. Paid computations are
// `ComputationFulfilled` events of the market's algorithm contracts, each
// counted once per dataset its `ComputationRequested` named; registration
// time is the block of `DatasetRegistered`; penalties are the registry's
// `DatasetPunished` events of datasets of the same seller (a punished dataset
// itself is deregistered, so the penalty follows its seller to the datasets it
// still lists, or lists anew). The client reads the events
// itself (no indexer service): fine for a local chain and modest markets.

/** Days of paid computations that count towards the rank. */
export const RANK_WINDOW_DAYS = 30;

/** One dataset as `scmpc market list` shows it. */
export interface MarketEntry {
  id: string;
  /** The permanent address `<seller>/<name>`. */
  address: string;
  name: string;
  seller: string;
  /** Price per computation, mUSD (decimal). */
  price: string;
  rank: number;
  /** The privacy budget left, as ε. */
  budgetLeft: string;
  /** Period access terms; null: the seller offers none. */
  subscription: SubscriptionOffer | null;
  active: boolean;
  rowCount: number;
  columns: number;
  /** Stake its seller locked, mUSD (decimal). */
  stake: string;
  /** The rank's inputs, as read from the chain. */
  facts: { paidComputations: number; subscribers: number; penalties: number; ageDays: number };
  /** Registration time, ISO 8601. */
  registeredAt: string;
  allowedAlgorithms: string[];
}

/** The rank of a dataset from its facts (see the formula above). */
export function rankOf(facts: { paidComputations: number; subscribers: number; stake: number; ageDays: number; penalties: number }): number {
  const score =
    10 * Math.log2(1 + facts.paidComputations) +
    10 * Math.log2(1 + facts.subscribers) +
    5 * Math.log10(1 + facts.stake) +
    (5 * Math.min(facts.ageDays, 365)) / 365 -
    25 * facts.penalties;
  return Math.round(score * 10) / 10;
}

/**
 * Every listed dataset with its rank, sorted.
 *
 * @example
 * const entries = await listMarket({ state, provider, sort: "rank" });
 */
export async function listMarket(options: { state: StackState; provider: Provider; sort?: "rank" | "price" | "new"; algorithm?: string }): Promise<MarketEntry[]> {
  const { state, provider } = options;
  const registry = new Contract(state.contracts.registry, loadArtifact("DatasetRegistry").abi, provider);
  const latest = await provider.getBlock("latest");
  if (!latest) throw new Error("the chain has no latest block");
  const now = latest.timestamp;

  // Paid computations per dataset within the window, from every algorithm contract's events.
  const paid = new Map<string, number>();
  const computationAbi = loadArtifact("AlgorithmComputation").abi;
  for (const address of Object.values(state.contracts.algorithms)) {
    const market = new Contract(address, computationAbi, provider);
    const [requested, fulfilled] = await Promise.all([market.queryFilter(market.filters.ComputationRequested()), market.queryFilter(market.filters.ComputationFulfilled())]);
    const datasetsOf = new Map(requested.map((e) => [(e as unknown as { args: { requestId: string } }).args.requestId, (e as unknown as { args: { datasetIds: string[] } }).args.datasetIds]));
    for (const event of fulfilled) {
      const block = await event.getBlock();
      if (now - block.timestamp > RANK_WINDOW_DAYS * 86_400) continue;
      for (const id of datasetsOf.get((event as unknown as { args: { requestId: string } }).args.requestId) ?? []) {
        paid.set(id.toLowerCase(), (paid.get(id.toLowerCase()) ?? 0) + 1);
      }
    }
  }

  const registered = new Map<string, { time: number; schema: string }>();
  for (const event of await registry.queryFilter(registry.filters.DatasetRegistered())) {
    const { datasetId, schema } = (event as unknown as { args: { datasetId: string; schema: string } }).args;
    registered.set(datasetId.toLowerCase(), { time: (await event.getBlock()).timestamp, schema });
  }

  // Running subscriptions per dataset, from the Subscribed events and each one's end.
  const subscribers = new Map<string, number>();
  const pairs = new Map<string, { id: string; buyer: string }>();
  for (const event of await registry.queryFilter(registry.filters.Subscribed())) {
    const { datasetId, buyer } = (event as unknown as { args: { datasetId: string; buyer: string } }).args;
    pairs.set(`${datasetId.toLowerCase()}/${buyer}`, { id: datasetId.toLowerCase(), buyer });
  }
  for (const { id, buyer } of pairs.values()) {
    const [sub] = await registry.subscriptionOf(id, buyer);
    if (Number(sub.end) > now && Number(sub.start) <= now) subscribers.set(id, (subscribers.get(id) ?? 0) + 1);
  }

  // Proven offences per seller.
  const penalties = new Map<string, number>();
  for (const event of await registry.queryFilter(registry.filters.DatasetPunished())) {
    const { datasetId } = (event as unknown as { args: { datasetId: string } }).args;
    const seller = ((await registry.getDataset(datasetId)).seller as string).toLowerCase();
    penalties.set(seller, (penalties.get(seller) ?? 0) + 1);
  }

  const count = Number(await registry.datasetCount());
  const entries: MarketEntry[] = [];
  for (let index = 1; index <= count; index++) {
    const id = ((await registry.datasetIdOf(index)) as string).toLowerCase();
    const dataset = await registry.getDataset(id);
    if ((dataset.stakeReleaseTime as bigint) !== 0n) continue;
    const policy = await readPolicy(registry, id);
    if (options.algorithm !== undefined && !policy.allowedAlgorithms.includes(options.algorithm)) continue;
    const registration = registered.get(id);
    const ageDays = registration === undefined ? 0 : Math.max(0, (now - registration.time) / 86_400);
    const stake = Number(formatUnits(dataset.stake as bigint, PAYMENT_DECIMALS));
    const facts = { paidComputations: paid.get(id) ?? 0, subscribers: subscribers.get(id) ?? 0, penalties: penalties.get((dataset.seller as string).toLowerCase()) ?? 0, ageDays: Math.floor(ageDays * 100) / 100 };
    entries.push({
      id,
      address: `${dataset.seller}/${dataset.name}`,
      name: dataset.name,
      seller: dataset.seller,
      price: formatUnits(dataset.price as bigint, PAYMENT_DECIMALS),
      rank: rankOf({ ...facts, stake }),
      budgetLeft: policy.budget.remaining,
      subscription: await readOffer(registry, id),
      active: dataset.active,
      rowCount: Number(dataset.rowCount),
      columns: registration === undefined ? 0 : parseSchemaText(registration.schema).columns.length,
      stake: formatUnits(dataset.stake as bigint, PAYMENT_DECIMALS),
      facts,
      registeredAt: new Date((registration?.time ?? 0) * 1000).toISOString(),
      allowedAlgorithms: policy.allowedAlgorithms,
    });
  }
  const sort = options.sort ?? "rank";
  const byId = (a: MarketEntry, b: MarketEntry): number => (a.id < b.id ? -1 : 1);
  entries.sort((a, b) => {
    if (sort === "price") return Number(a.price) - Number(b.price) || b.rank - a.rank || byId(a, b);
    if (sort === "new") return b.registeredAt.localeCompare(a.registeredAt) || byId(a, b);
    return b.rank - a.rank || byId(a, b);
  });
  return entries;
}

/**
 * The listing as aligned text lines.
 *
 * @example
 * for (const line of marketLines(entries)) console.log(line);
 */
export function marketLines(entries: readonly MarketEntry[]): string[] {
  if (entries.length === 0) return ["no datasets listed"];
  const rows = entries.map((e) => [
    e.rank.toFixed(1),
    e.address,
    `${e.price} mUSD`,
    `ε ${e.budgetLeft} left`,
    `${e.rowCount} rows × ${e.columns}`,
    `${e.facts.paidComputations} paid`,
    e.active ? "" : "(paused)",
  ]);
  const header = ["rank", "dataset", "price", "budget", "size", `last ${RANK_WINDOW_DAYS} d`, ""];
  const widths = header.map((h, j) => Math.max(h.length, ...rows.map((r) => r[j].length)));
  const line = (cells: string[]): string => cells.map((c, j) => (j === 0 ? c.padStart(widths[j]) : c.padEnd(widths[j]))).join("  ").trimEnd();
  return [line(header), ...rows.map(line)];
}
