import { Contract, formatUnits, isAddress, keccak256, toUtf8Bytes } from "ethers";
import type { Provider, Signer } from "ethers";
import { algorithmId, DEFAULT_PRIVACY_BUDGET, formatEpsilon, loadArtifact, MARKET_ALGORITHMS, toMilliEpsilon } from "@scmpc/contracts";
import { parseSchemaText, QUERY_RESTRICTED_ENTRY, queryAggregateEntry, type DatasetSchema, type SchemaColumn } from "@scmpc/mpc-engine";
import { AGGREGATE_FUNCTIONS } from "@scmpc/mpc-engine/query";
import { describeColumn } from "./column-description.ts";
import type { StackState } from "./state.ts";

/** Decimals of the market's payment token (mUSD). */
export const PAYMENT_DECIMALS = 18;

/** A dataset's total privacy budget when its seller names none, as ε. */
export const DEFAULT_BUDGET_EPSILON = formatEpsilon(DEFAULT_PRIVACY_BUDGET);

/** Basis points in the whole of a payment (payout shares). */
export const BPS_WHOLE = 10_000;

/** One payee: an account and its share as a percentage with up to two decimals. */
export interface Payee {
  account: string;
  /** e.g. "12.5%". */
  share: string;
}

/** Seconds per unit of a subscription period. */
export const PERIOD_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 7 * 86_400 };

/** A period in seconds, in the largest unit that divides it. */
export function formatPeriod(seconds: number): string {
  for (const unit of ["w", "d", "h", "m"]) if (seconds % PERIOD_UNITS[unit] === 0) return `${seconds / PERIOD_UNITS[unit]}${unit}`;
  return `${seconds}s`;
}

/** A dataset's offer, in words; null when there is none. */
export interface SubscriptionOffer {
  period: string;
  /** Price of one period, mUSD (decimal). */
  periodPrice: string;
  /** Computations per period that pay no per-computation price. */
  quota: number;
}

/**
 * A dataset's subscription offer.
 *
 * @example
 * await readOffer(registry, id) // { period: "30d", periodPrice: "40.0", quota: 10 }
 */
export async function readOffer(registry: Contract, id: string): Promise<SubscriptionOffer | null> {
  const terms = await registry.subscriptionTermsOf(id);
  if ((terms.period as bigint) === 0n) return null;
  return { period: formatPeriod(Number(terms.period)), periodPrice: formatUnits(terms.price as bigint, PAYMENT_DECIMALS), quota: Number(terms.quota) };
}

/** A dataset's policy as the registry holds it, in words. */
export interface DatasetPolicy {
  /** Algorithms buyers may run, `name@version` (with noise, unless also in `exactAlgorithms`). */
  allowedAlgorithms: string[];
  /** Allowed algorithms whose exact answers (no noise, no budget) the seller allows. */
  exactAlgorithms: string[];
  /** Fewest of this dataset's rows a result may aggregate. */
  minRows: number;
  /** The privacy budget as ε decimals: total = spent + remaining. */
  budget: { total: string; spent: string; remaining: string };
}

/** What a buyer sees of a listed dataset before paying. */
export interface DatasetListing {
  id: string;
  /** The permanent address `<seller>/<name>`. */
  address: string;
  seller: string;
  name: string;
  /** False while its seller has paused sales or after deregistration. */
  active: boolean;
  rowCount: number;
  /** The version of its rows on sale: 1 at registration, one more at each `seller refresh`. */
  version: number;
  /** Price per computation, mUSD (decimal). */
  price: string;
  /** Stake its seller locked, mUSD (decimal). */
  stake: string;
  /** Columns with their fixed-point scales, public bounds, and the type and dictionary of category, bool and date columns. */
  schema: SchemaColumn[];
  policy: DatasetPolicy;
  /** Accounts sharing its revenue besides the seller (the seller keeps the rest). */
  payouts: Payee[];
  /** Its period access offer; null: none. */
  subscription: SubscriptionOffer | null;
  /** Free trial computations per buyer; null: the seller offers none. */
  trial: TrialOffer | null;
}

/** Every name a policy may list: the algorithms, and the entries restricting queries to some aggregate functions. */
const POLICY_NAMES: readonly string[] = [...MARKET_ALGORITHMS, QUERY_RESTRICTED_ENTRY, ...AGGREGATE_FUNCTIONS.map(queryAggregateEntry)];
const NAMES = new Map<string, string>(POLICY_NAMES.map((name) => [algorithmId(name), name]));

/** An algorithm's name from its policy id (the id itself for one this market does not sell). */
function algorithmName(id: string): string {
  return NAMES.get(id.toLowerCase()) ?? id;
}

/**
 * Checks the algorithm lists of a policy: every name one the market sells,
 * every exact one also allowed.
 *
 * @throws Error naming the offending algorithm and flag
 * @example
 * checkAlgorithms(["sum@1", "mean@1"], ["sum@1"]); // fine
 */
export function checkAlgorithms(allow: readonly string[], exact: readonly string[]): void {
  for (const [flag, list] of [["--allow", allow], ["--exact", exact]] as const) {
    const unknown = list.filter((a) => !POLICY_NAMES.includes(a));
    if (unknown.length > 0) throw new Error(`${flag} names unknown algorithm(s) ${unknown.join(", ")}; known: ${MARKET_ALGORITHMS.join(", ")}`);
  }
  const stray = exact.filter((a) => !allow.includes(a));
  if (stray.length > 0) {
    throw new Error(`--exact names ${stray.join(", ")}, which the policy does not allow at all (add it to --allow, or leave it out of --exact)`);
  }
}

/**
 * Parses a total privacy budget written as ε ("10", "2.5") into milli-ε.
 *
 * @example
 * budgetMilli("2.5") // 2500
 */
export function budgetMilli(epsilon: string): number {
  try {
    return toMilliEpsilon(epsilon);
  } catch (err) {
    throw new Error(`--budget: ${(err as Error).message}`);
  }
}

/**
 * One of the seller's own datasets, named as any command names it: its id
 * and its registry record.
 *
 * @throws Error when no such dataset is registered or another account sells it
 * @example
 * const { id, dataset } = await ownDataset(registry, "salaries", await seller.getAddress());
 */
export async function ownDataset(registry: Contract, name: string, me: string): Promise<{ id: string; dataset: Awaited<ReturnType<Contract["getDataset"]>> }> {
  const id = await resolveDatasetId(registry, name, me);
  if (!(await registry.isRegistered(id))) {
    // The id says which namespace a bare name was looked up in.
    throw new Error(`no dataset ${id} is registered${id === name.toLowerCase() ? "" : ` (the id "${name}" names for ${me})`}`);
  }
  const dataset = await registry.getDataset(id);
  if (dataset.seller !== me) throw new Error(`dataset ${id} belongs to ${dataset.seller}, not ${me}`);
  return { id, dataset };
}

/**
 * Resolves a dataset named by id (`0x` + 64 hex digits), by permanent
 * address (`<seller>/<name>`), or by `<name>` alone for a dataset of
 * `owner` (the account running the command) to its id.
 *
 * @example
 * await resolveDatasetId(registry, "0x70997970C51812dc3A010C7d01b50e0d17dc79C8/salaries")
 * await resolveDatasetId(registry, "salaries", await seller.getAddress())
 */
export async function resolveDatasetId(registry: Contract, dataset: string, owner?: string): Promise<string> {
  if (/^0x[0-9a-fA-F]{64}$/.test(dataset)) return dataset.toLowerCase();
  const slash = dataset.indexOf("/");
  if (slash > 0 && isAddress(dataset.slice(0, slash)) && slash < dataset.length - 1) {
    return ((await registry.datasetId(dataset.slice(0, slash), dataset.slice(slash + 1))) as string).toLowerCase();
  }
  // A name alone: not an id-like or address-like text, so a typo in either is not read as a name.
  if (owner !== undefined && dataset.length > 0 && slash < 0 && !/^0x/i.test(dataset)) {
    return ((await registry.datasetId(owner, dataset)) as string).toLowerCase();
  }
  throw new Error(
    `a dataset is named by its 0x-prefixed 32-byte id, by <seller address>/<name>${owner === undefined ? "" : ", or by the name of one of your own datasets"}; got "${dataset}"`,
  );
}

/** The address of a command's account, if it has one (a read-only command runs on a provider). */
async function ownerOf(runner: Signer | Provider): Promise<string | undefined> {
  return "getAddress" in runner && typeof runner.getAddress === "function" ? runner.getAddress() : undefined;
}

/**
 * Reads a dataset's schema from its registration event, checked against the
 * on-chain schema hash, and parses it: names, scales, bounds, and the type
 * and dictionary of category, bool and date columns.
 *
 * @throws Error when the schema is not on-chain or is malformed (naming the column)
 * @example
 * const { columns } = await datasetSchema(registry, id, dataset.schemaHash);
 */
export async function datasetSchema(registry: Contract, datasetId: string, schemaHash: string): Promise<DatasetSchema> {
  const logs = await registry.queryFilter(registry.filters.DatasetRegistered(datasetId));
  const text = logs
    .map((log) => (log as unknown as { args: { schema: string } }).args.schema)
    .find((candidate) => keccak256(toUtf8Bytes(candidate)) === schemaHash);
  if (text === undefined) throw new Error(`the schema of dataset ${datasetId} is not on-chain`);
  try {
    return parseSchemaText(text);
  } catch (err) {
    throw new Error(`the on-chain schema of dataset ${datasetId} is malformed: ${(err as Error).message}`, { cause: err });
  }
}

/** Reads a registered dataset's policy and budget. */
export async function readPolicy(registry: Contract, id: string): Promise<DatasetPolicy> {
  const [dataset, allowed, exact, budget] = await Promise.all([
    registry.getDataset(id),
    registry.getAllowedAlgorithms(id),
    registry.getExactAlgorithms(id),
    registry.budgetOf(id),
  ]);
  return {
    allowedAlgorithms: (allowed as string[]).map(algorithmName),
    exactAlgorithms: (exact as string[]).map(algorithmName),
    minRows: Number(dataset.minRows),
    budget: { total: formatEpsilon(budget.total), spent: formatEpsilon(budget.spent), remaining: formatEpsilon(budget.remaining) },
  };
}

/** A dataset's trial offer as the registry holds it; null when there is none. */
export interface TrialOffer {
  /** Free computations per buyer address. */
  perBuyer: number;
  /** The most ε one trial computation may spend. */
  epsilon: string;
  /** Trial computations left for all buyers together. */
  remaining: number;
}

/**
 * A dataset's trial offer, or null.
 *
 * @example
 * const offer = await readTrial(registry, id);
 */
export async function readTrial(registry: Contract, id: string): Promise<TrialOffer | null> {
  const terms = await registry.trialTermsOf(id);
  if (Number(terms.perBuyer) === 0) return null;
  return { perBuyer: Number(terms.perBuyer), epsilon: formatEpsilon(Number(terms.epsilon)), remaining: Number(terms.remaining) };
}

/**
 * A dataset as a buyer sees it before paying: seller, schema and bounds,
 * policy, price and the privacy budget left.
 *
 * @example
 * const listing = await showDataset({ state, runner: provider, dataset: "0x…" });
 */
export async function showDataset(options: { state: StackState; runner: Signer | Provider; dataset: string }): Promise<DatasetListing> {
  const registry = new Contract(options.state.contracts.registry, loadArtifact("DatasetRegistry").abi, options.runner);
  const id = await resolveDatasetId(registry, options.dataset, await ownerOf(options.runner));
  if (!(await registry.isRegistered(id))) throw new Error(`no dataset ${options.dataset} is registered`);
  const dataset = await registry.getDataset(id);
  const [version, schema, policy, payouts, subscription, trial] = await Promise.all([
    registry.versionOf(id),
    datasetSchema(registry, id, dataset.schemaHash),
    readPolicy(registry, id),
    readPayees(registry, id),
    readOffer(registry, id),
    readTrial(registry, id),
  ]);
  return {
    id,
    address: `${dataset.seller}/${dataset.name}`,
    seller: dataset.seller,
    name: dataset.name,
    active: dataset.active,
    rowCount: Number(dataset.rowCount),
    version: Number(version),
    price: formatUnits(dataset.price as bigint, PAYMENT_DECIMALS),
    stake: formatUnits(dataset.stake as bigint, PAYMENT_DECIMALS),
    schema: schema.columns,
    policy,
    payouts,
    subscription,
    trial,
  };
}

/**
 * Changes one of the seller's dataset policies; what is not given stays as
 * it is. The budget cannot go below what requests have already spent.
 *
 * @example
 * await setDatasetPolicy({ state, seller, dataset: id, exact: ["sum@1"], budget: "20" });
 */
export async function setDatasetPolicy(options: {
  state: StackState;
  seller: Signer;
  dataset: string;
  allow?: string[];
  exact?: string[];
  minRows?: number;
  /** New total budget as ε. */
  budget?: string;
}): Promise<DatasetPolicy & { id: string; txHash: string }> {
  const registry = new Contract(options.state.contracts.registry, loadArtifact("DatasetRegistry").abi, options.seller);
  const { id, dataset } = await ownDataset(registry, options.dataset, await options.seller.getAddress());
  if (dataset.stakeReleaseTime !== 0n) throw new Error(`dataset ${id} is deregistered; its policy can no longer change`);
  const current = await readPolicy(registry, id);
  const allow = options.allow ?? current.allowedAlgorithms;
  // Narrowing --allow narrows the exact list with it unless --exact is given.
  const exact = options.exact ?? current.exactAlgorithms.filter((a) => allow.includes(a));
  checkAlgorithms(allow, exact);
  const minRows = options.minRows ?? current.minRows;
  if (!Number.isInteger(minRows) || minRows < 0) throw new Error(`--min-rows must be a non-negative integer; got ${minRows}`);
  if (BigInt(minRows) > (dataset.rowCount as bigint)) {
    throw new Error(`--min-rows ${minRows} is above the dataset's ${dataset.rowCount} rows: no computation could run over it alone`);
  }
  const budget = options.budget === undefined ? toMilliEpsilon(current.budget.total) : budgetMilli(options.budget);
  const spent = toMilliEpsilon(current.budget.spent);
  if (budget < spent) {
    throw new Error(`--budget ${formatEpsilon(budget)} is below the ε ${current.budget.spent} requests have already spent from dataset ${id}`);
  }
  const tx = await registry.setPolicy(id, { allowedAlgorithms: allow.map(algorithmId), minRows, budget, exactAlgorithms: exact.map(algorithmId) });
  await tx.wait();
  return { id, ...(await readPolicy(registry, id)), txHash: tx.hash };
}

/**
 * The listing as lines of text for the terminal.
 *
 * @example
 * for (const line of listingLines(listing)) console.log(line);
 */
export function listingLines(listing: DatasetListing): string[] {
  const { policy } = listing;
  const noisy = policy.allowedAlgorithms.filter((a) => !policy.exactAlgorithms.includes(a));
  const width = Math.max(...listing.schema.map((c) => c.name.length));
  return [
    `dataset ${listing.address}${listing.active ? "" : " (not for sale at the moment)"}`,
    `  id       ${listing.id}`,
    `  rows     ${listing.rowCount} (at least ${policy.minRows} of them in any result)${listing.version > 1 ? `, version ${listing.version}` : ""}`,
    "  columns  (types, bounds and category dictionaries are public; any cell may be missing)",
    ...listing.schema.map((c) => `    ${c.name.padEnd(width)}  ${describeColumn(c)}`),
    `  price    ${listing.price} mUSD per computation, plus the operators' fee; seller's stake ${listing.stake} mUSD`,
    `  budget   ε ${policy.budget.remaining} of ${policy.budget.total} left (${policy.budget.spent} spent)`,
    `  noisy    ${noisy.length > 0 ? noisy.join(", ") : "none"}   (differentially private; each request spends the ε it names)`,
    `  exact    ${policy.exactAlgorithms.length > 0 ? policy.exactAlgorithms.join(", ") : "none"}   (the seller allows exact answers: no noise, no budget)`,
    ...(listing.subscription === null
      ? []
      : [`  subscribe ${listing.subscription.periodPrice} mUSD per ${listing.subscription.period}, ${listing.subscription.quota} computations per period without the per-computation price`]),
    ...(listing.trial === null
      ? []
      : [`  trial    ${listing.trial.perBuyer} free computation(s) per buyer at ε ${listing.trial.epsilon} at most, ${listing.trial.remaining} left in all (buyer request --trial)`]),
    ...(listing.payouts.length === 0 ? [] : [`  payouts  ${listing.payouts.map((p) => `${p.account} ${p.share}`).join(", ")}; the seller the rest`]),
  ];
}

/** Basis points as a percentage text. */
export function formatShare(bps: number): string {
  return `${(bps / 100).toFixed(2).replace(/\.?0+$/, "")}%`;
}

/**
 * A dataset's payees, as the registry lists them.
 *
 * @example
 * const payees = await readPayees(registry, id); // [{ account: "0x7099…", share: "10%" }]
 */
export async function readPayees(registry: Contract, datasetId: string): Promise<Payee[]> {
  const [accounts, shares] = (await registry.payoutsOf(datasetId)) as [string[], bigint[]];
  return accounts.map((account, i) => ({ account, share: formatShare(Number(shares[i])) }));
}
