// A buyer's purchase, wherever the buyer runs (the CLI, the web market):
// the chain calls, planning, decryption and decoding are here; how the
// buyer's key is kept and how the hosts are asked for release keys is the
// caller's transport (files and gRPC in Node, IndexedDB and HTTPS in a browser).
import { Contract, formatUnits, hexlify, keccak256 } from "ethers";
import type { Log, LogDescription, Provider, Signer } from "ethers";
import { algorithmId as policyId, formatEpsilon, loadArtifact, MAX_REQUEST_EPSILON, toMilliEpsilon } from "@scmpc/contracts";
import {
  datasetRefId,
  decodeJob,
  describeNoise,
  generateBuyerKeyPair,
  jobAlgorithms,
  describeQueryNoise,
  openResult,
  planJob,
  queryFunctions,
  queryParams,
  QUERY_ALGORITHM,
  QUERY_RESTRICTED_ENTRY,
  queryAggregateEntry,
} from "@scmpc/mpc-engine";
import type { AlgorithmResult, JobPlan, JobResult, NoiseDescription, QueryResult, StatisticNoise } from "@scmpc/mpc-engine";
import { parseQuery } from "@scmpc/mpc-engine/query";
import { jobIdOf, jobInputsHash, versionAtRequest, type ChainPosition } from "@scmpc/mpc-engine/host";
import { datasetSchema, PAYMENT_DECIMALS, resolveDatasetId } from "./dataset-policy.ts";
import { collectReleaseKeys, type ReleaseKeyAnswer } from "./key-collection.ts";
import { fetchOffence } from "./penalties.ts";
import type { StackState } from "./state.ts";

/** On-chain request status, as `AlgorithmComputation.RequestStatus`. */
const STATUS = ["None", "Pending", "Fulfilled", "Failed", "Refunded"] as const;

/** ε a buyer spends per dataset when naming none. */
export const DEFAULT_REQUEST_EPSILON = "1";

/** How a differentially private answer of a named algorithm was noised, and what it cost. */
export interface PrivacyReport {
  /** "discrete Laplace"; "none" for count, whose row count is public and released exactly. */
  mechanism: NoiseDescription["mechanism"];
  /** ε this request spent on each dataset, as a decimal. */
  epsilon: string;
  /** Scale of the noise on the answer, in its units (one per value for a regression). */
  noiseScale: NoiseDescription["noiseScale"];
  /** 95% interval of the answer (one per bucket for a histogram, per value for a regression). */
  interval95: NoiseDescription["interval95"];
  /** Whether the interval is the noise's own quantiles ("exact") or a bootstrap ("approximate"). */
  interval: NoiseDescription["interval"];
  /**
   * Every noisy statistic the hosts opened, in its own units: its ε share,
   * sensitivity and the scale of each of its three noise terms, before any
   * clamping of the answer (`noiseScale` above is the spread of the answer
   * as published).
   */
  statistics: NoiseDescription["statistics"];
  /** ε left in each dataset's budget after this request, by dataset id. */
  budgetLeft: Record<string, string>;
}

/**
 * The noise of a query's answer: how the request's ε was split among the
 * statistics the hosts opened (all groups of a statistic share one release),
 * each statistic's noise scale and the half-width of its noise's exact 95%
 * interval, in the statistic's own units (a count's rows; a sum's units of
 * 10^-scale of its column, centred on the bounds' midpoint).
 */
export interface QueryPrivacyReport {
  mechanism: string;
  epsilon: string;
  split: StatisticNoise[];
  /** Per cell of the answer table, its 95% interval (null for group labels): exact for counts, a parametric bootstrap otherwise. */
  interval95: ([string, string] | null)[][];
  budgetLeft: Record<string, string>;
}

/** A computation bought and decrypted. */
export interface PurchasedResult {
  requestId: string;
  algorithm: string;
  datasetIds: string[];
  params: string;
  /** The decoded result: a decimal string, or named values (histogram, regression, correlation, ttest). */
  result: AlgorithmResult;
  /** Paid to the sellers (token units, decimal string). */
  price: string;
  /** Paid to the host operators. */
  fee: string;
  /** How the fee was paid: with a prepaid credit (`buyer prepay`; no token moved), or in the request's transfer. */
  feePaidBy: "credit" | "transfer";
  txHash: string;
  /** The hosts whose release keys opened the result (at least two of 0, 1, 2). */
  keysReleasedBy: number[];
  /** How the answer was noised; absent for an exact answer. */
  dp?: PrivacyReport;
}

/** A query bought and decrypted: its answer table, and in DP mode how its ε was split. */
export interface PurchasedQuery extends Omit<PurchasedResult, "result" | "dp"> {
  result: QueryResult;
  dp?: QueryPrivacyReport;
}

/**
 * How far a purchase has gone, for a progress display: the request on-chain
 * (paid into escrow), the job at the hosts (relayed to them by the oracle and
 * the bridge, then computing; reported only with a transport that can ask the
 * hosts), its fulfilment, their release keys in hand. Reported in that order.
 */
export type PurchaseProgress =
  | { stage: "requested"; requestId: string; txHash: string; jobId: string; consumer: string }
  | { stage: "relayed"; requestId: string }
  | { stage: "computing"; requestId: string }
  | { stage: "fulfilled"; requestId: string }
  | { stage: "keys released"; requestId: string; hosts: number[] };

/** What a purchase is asked for: see {@link buyComputation}. */
export interface PurchaseOptions {
  state: StackState;
  buyer: Signer;
  algorithm: string;
  datasetIds: string[];
  /** The algorithm's parameters as JSON text. */
  params: string;
  /** How the buyer's key is kept and the hosts are reached. */
  transport: BuyerTransport;
  /**
   * ε spent on each dataset, as a decimal (at most three decimals, at most
   * 65.535). Default 1; for `count`, whose row count is public, the least
   * the contract takes (0.001), or an exact answer where every seller allows it.
   */
  epsilon?: string;
  /** Ask for the exact answer (no noise, no budget): every dataset's seller must allow it for this algorithm. */
  exact?: boolean;
  /**
   * Use one of the buyer's trial computations on every dataset (the sellers'
   * `seller trial` offers): no dataset's price, only the operators' fee; ε
   * positive and within each trial's (default: the smallest trial ε).
   */
  trial?: boolean;
  timeoutMs?: number;
  /** Told as the purchase goes: requested, fulfilled, keys released. */
  progress?: (event: PurchaseProgress) => void;
}

/**
 * How a purchase reaches what is outside the chain: where the buyer's
 * per-request private key is kept (so the result can be decrypted again),
 * how a host is asked for its release key and, optionally, where a host's job
 * stands (for the relayed and computing stages of the progress).
 */
export interface BuyerTransport {
  keepKey(requestId: string, privateKey: Uint8Array): Promise<void>;
  releaseKey(hostIndex: number, request: { requestId: string; consumer: string }): Promise<ReleaseKeyAnswer>;
  /** Where host `hostIndex` is with a job: unknown to it yet, computing, or answered. */
  jobState?(hostIndex: number, jobId: string): Promise<HostJobState>;
}

/** A host's view of a job, as its web API reports it. */
export type HostJobState = "unknown" | "computing" | "answered" | "failed";

/** What {@link purchase} returns for any job. */
type Purchase = Omit<PurchasedResult, "result" | "dp"> & { job: JobResult; dp?: PrivacyReport | QueryPrivacyReport };

/** Why the contract failed a request (`ComputationFailed.reason`). */
const FAILURE_REASONS: Record<number, string> = {
  1: "the MPC hosts or the bridge reported an error",
  2: "the result was malformed",
  3: "the hosts' signatures did not verify",
  4: "the result was too long",
  5: "the dataset registry could not name the sellers",
  6: "the answer arrived after the request's deadline",
  7: "two MPC hosts proved a dataset's shares missing or corrupt, and its seller was punished",
};

/** The job ended without a result; the price and fee went back to the buyer's withdrawable balance. */
export class ComputationFailedError extends Error {
  readonly code = "COMPUTATION_FAILED";
  constructor(
    readonly requestId: string,
    why: string,
    hint?: string,
  ) {
    super(`computation ${requestId} failed (${why}); the price was refunded to your withdrawable balance${hint === undefined ? "" : `. ${hint}`}`);
    this.name = "ComputationFailedError";
  }
}

/**
 * Resolves a short algorithm name ("mean") or a versioned one ("mean@1") to
 * the versioned name the market sells.
 *
 * @example
 * resolveAlgorithm("count-if") // "count-if@1"
 */
export function resolveAlgorithm(name: string): string {
  const versioned = name.includes("@") ? name : `${name}@1`;
  if (!jobAlgorithms().includes(versioned)) {
    throw new Error(`unknown algorithm "${name}"; the market sells: ${jobAlgorithms().map((a) => a.replace(/@\d+$/, "")).join(", ")}`);
  }
  return versioned;
}

/**
 * Buys the answer to a query (`query@1`): the datasets are those its FROM
 * names (ids or `<seller>/<name>` addresses), the SQL text goes on-chain as
 * the request's params and every host parses and plans it again from there.
 *
 * @example
 * const { result } = await purchaseQuery({ state, buyer, sql: 'SELECT dept, avg(salary) FROM "0x…" GROUP BY dept', transport, epsilon: "1" });
 */
export async function purchaseQuery(options: Omit<PurchaseOptions, "algorithm" | "datasetIds" | "params"> & { sql: string }): Promise<PurchasedQuery> {
  const query = parseQuery(options.sql);
  const datasetIds = query.from.map(datasetRefId);
  const { job, dp, ...rest } = await purchase({ ...options, algorithm: QUERY_ALGORITHM, datasetIds, params: queryParams(options.sql) });
  if (job.kind !== "query") throw new Error("a query was answered as a named algorithm");
  return { ...rest, result: job.result, ...(dp && { dp: dp as QueryPrivacyReport }) };
}


/**
 * Buys one computation: checks the datasets and the parameters, approves and
 * escrows the price, sends the request with a fresh X25519 key, waits for the
 * fulfilment, decrypts the three output shares, checks that they agree, adds
 * them up and decodes the result.
 *
 * @example
 * const { result } = await purchaseComputation({ state, buyer, algorithm: "mean@1", datasetIds: [id], params: '{"column":"salary"}', transport });
 */
export async function purchaseComputation(options: PurchaseOptions): Promise<PurchasedResult> {
  if (resolveAlgorithm(options.algorithm) === QUERY_ALGORITHM) throw new Error("a query is bought with buyQuery (scmpc buyer query)");
  const { job, dp, ...rest } = await purchase(options);
  if (job.kind !== "algorithm") throw new Error("a named algorithm was answered as a query");
  return { ...rest, result: job.result, ...(dp && { dp: dp as PrivacyReport }) };
}

/** Buys any job (a named algorithm or a query): see {@link buyComputation}. */
async function purchase(options: PurchaseOptions): Promise<Purchase> {
  const { state, buyer, params } = options;
  const algorithm = resolveAlgorithm(options.algorithm);
  const marketAddress = state.contracts.algorithms[algorithm];
  if (!marketAddress) throw new Error(`this market has no contract for ${algorithm}`);
  if (options.datasetIds.length === 0) throw new Error("name at least one --dataset");
  const registry = new Contract(state.contracts.registry, loadArtifact("DatasetRegistry").abi, buyer);
  const me = await buyer.getAddress();
  const named = await Promise.all(options.datasetIds.map((dataset) => resolveDatasetId(registry, dataset, me)));
  // The contract wants strictly ascending ids.
  const datasetIds = [...new Set(named)].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));

  const market = new Contract(marketAddress, loadArtifact("AlgorithmComputation").abi, buyer);
  const token = new Contract(state.contracts.paymentToken, loadArtifact("DevPaymentToken").abi, buyer);

  if (options.exact && options.epsilon !== undefined) throw new Error("ask for either an exact answer or one spending ε, not both");
  if (options.trial && options.exact) throw new Error("a trial gives a differentially private answer only; drop --exact");
  const algorithmId: string = await market.algorithmId();
  let price = 0n;
  let schemaHash: string | undefined;
  let rows = 0n;
  const commitments: [string, string, string][] = [];
  const exactAllowed: boolean[] = [];
  const trialEpsilon: number[] = [];
  for (const id of datasetIds) {
    if (!(await registry.isRegistered(id))) throw new Error(`no dataset ${id} is registered`);
    const dataset = await registry.getDataset(id);
    if (!dataset.active) throw new Error(`dataset ${id} is not for sale at the moment (its seller paused it)`);
    if (!(await registry.isAlgorithmAllowed(id, algorithmId))) {
      throw new Error(`the seller of dataset ${id} does not allow ${algorithm}`);
    }
    exactAllowed.push(await registry.isExactAllowed(id, algorithmId));
    if (algorithm === QUERY_ALGORITHM && (await registry.isAlgorithmAllowed(id, policyId(QUERY_RESTRICTED_ENTRY)))) {
      // The seller sells queries with some aggregates only.
      for (const fn of queryFunctions(parseQuery(JSON.parse(params).sql))) {
        if (!(await registry.isAlgorithmAllowed(id, policyId(queryAggregateEntry(fn))))) {
          throw new Error(`the seller of dataset ${id} does not allow ${fn}() in queries`);
        }
      }
    }
    if (schemaHash !== undefined && dataset.schemaHash !== schemaHash) throw new Error(`dataset ${id} has a different schema from the others`);
    schemaHash = dataset.schemaHash;
    // A seller's minimum is a rule about its own dataset: other datasets in the request do not count.
    if ((dataset.rowCount as bigint) < (dataset.minRows as bigint)) {
      throw new Error(`dataset ${id} holds ${dataset.rowCount} rows but its seller requires at least ${dataset.minRows} of its own in a result`);
    }
    if (options.trial) {
      // A trial covers the price; the contract decides, this says why before paying.
      const left = Number(await registry.trialsLeft(id, me));
      if (left === 0) {
        const terms = await registry.trialTermsOf(id);
        throw new Error(
          Number(terms.perBuyer) === 0
            ? `dataset ${id} offers no trial`
            : `no trial left on dataset ${id} for ${me}: ${Number(terms.remaining) === 0 ? "its trial allowance is spent" : `each buyer gets ${terms.perBuyer}`}`,
        );
      }
      trialEpsilon.push(Number((await registry.trialTermsOf(id)).epsilon));
    } else {
      // A running subscription with quota left covers the dataset's price (the contract decides; this is the quote).
      const [, quotaLeft] = await registry.subscriptionOf(id, me);
      if ((quotaLeft as bigint) === 0n) price += dataset.price as bigint;
    }
    rows += dataset.rowCount as bigint;
    commitments.push([dataset.commitments[0], dataset.commitments[1], dataset.commitments[2]].map((c: string) => c.toLowerCase()) as [string, string, string]);
  }
  const trialMax = trialEpsilon.length === 0 ? undefined : Math.min(...trialEpsilon);
  const epsilonMilli =
    trialMax !== undefined && options.epsilon === undefined ? trialMax : requestEpsilon(algorithm, options, exactAllowed.every(Boolean) && !options.trial);
  if (trialMax !== undefined && epsilonMilli > trialMax) {
    throw new Error(`ε ${formatEpsilon(epsilonMilli)} is above the trial's ε ${formatEpsilon(trialMax)}: a trial computation spends at most that`);
  }
  if (epsilonMilli === 0) {
    const refused = datasetIds.filter((_, k) => !exactAllowed[k]);
    if (refused.length > 0) {
      throw new Error(
        `the seller of dataset ${refused.join(", ")} does not allow exact answers to ${algorithm}; ask for a differentially private one (--epsilon)`,
      );
    }
  } else {
    // The contract would revert; saying which dataset ran out, before paying, is kinder.
    for (const id of datasetIds) {
      const budget = await registry.budgetOf(id);
      if (BigInt(budget.remaining) < BigInt(epsilonMilli)) {
        throw new Error(
          `dataset ${id} has ε ${formatEpsilon(budget.remaining)} of its privacy budget (ε ${formatEpsilon(budget.total)}) left; ` +
            `this request would spend ε ${formatEpsilon(epsilonMilli)}`,
        );
      }
    }
  }
  const schema = await datasetSchema(registry, datasetIds[0], schemaHash!);
  // Validating here, before paying, turns a typo into an error instead of a refund.
  let plan = planJob(algorithm, params, schema, { rowCount: rows, epsilonMilli, datasetIds });

  const fee: bigint = await market.operatorFee();
  const total = price + fee;
  const buyerAddress = await buyer.getAddress();
  // A request with no dataset price to escrow (covered by subscriptions, or a trial) pays its fee with a prepaid credit if it has one: no token moves.
  const byCredit = price === 0n && ((await market.feeCreditsOf(buyerAddress)) as bigint) > 0n;
  if (!byCredit) {
    const balance: bigint = await token.balanceOf(buyerAddress);
    if (balance < total) {
      throw new Error(`the price with the operators' fee is ${formatUnits(total, PAYMENT_DECIMALS)} mUSD but ${buyerAddress} holds ${formatUnits(balance, PAYMENT_DECIMALS)} mUSD`);
    }
    const allowance: bigint = await token.allowance(buyerAddress, marketAddress);
    if (allowance < total) await (await token.approve(marketAddress, total)).wait();
  }

  const keys = generateBuyerKeyPair();
  // The price seen here is the most this purchase pays: a seller raising it in between makes the request revert.
  const tx = options.trial
    ? await market.requestTrialComputation(datasetIds, params, hexlify(keys.publicKey), total, epsilonMilli)
    : await market.requestComputation(datasetIds, params, hexlify(keys.publicKey), total, epsilonMilli);
  const receipt = await tx.wait();
  let requestLog: { index: number } | undefined;
  let requested: LogDescription | undefined;
  for (const log of receipt.logs as Log[]) {
    const parsed = (() => {
      try {
        return market.interface.parseLog(log);
      } catch {
        return null;
      }
    })();
    if (parsed?.name === "ComputationRequested") [requestLog, requested] = [log, parsed];
  }
  if (!requested || !requestLog) throw new Error(`transaction ${tx.hash} emitted no ComputationRequested event`);
  const requestId: string = requested.args.requestId;
  // The hosts compute over the versions current when the request was made: a seller's refresh
  // between the quote and the request changes the rows and commitments the job is planned with.
  const bought = await datasetsAtRequest(registry, datasetIds, { block: BigInt(receipt.blockNumber), logIndex: requestLog.index });
  const boughtRows = bought.reduce((n, d) => n + d.rowCount, 0n);
  if (boughtRows !== rows || bought.some((d, k) => d.commitments.some((c, h) => c !== commitments[k][h]))) {
    commitments.splice(0, commitments.length, ...bought.map((d) => d.commitments));
    plan = planJob(algorithm, params, schema, { rowCount: boughtRows, epsilonMilli, datasetIds });
  }
  // The job the hosts must answer, derived from the chain as each host derives it.
  const jobId = jobIdOf(
    { chainId: (await buyer.provider!.getNetwork()).chainId, consumer: marketAddress, requestId },
    jobInputsHash({ algorithm, datasetIds, params, buyerKey: hexlify(keys.publicKey).toLowerCase(), epsilonMilli, commitments }),
  );
  await options.transport.keepKey(requestId, keys.privateKey);
  options.progress?.({ stage: "requested", requestId, txHash: tx.hash, jobId, consumer: marketAddress });

  const timeoutMs = options.timeoutMs ?? 300_000;
  const waitUntil = Date.now() + timeoutMs;
  const atHosts = hostProgress(options, requestId, jobId);
  for (;;) {
    const request = await market.getRequest(requestId);
    const status = STATUS[Number(request.status)];
    if (status === "Pending") await atHosts.look();
    if (status === "Fulfilled") {
      const opened = await openFulfilled({
        market,
        registry,
        request: { requestId, consumer: marketAddress, resultHash: request.resultHash },
        job: { plan, jobId, datasetIds, epsilonMilli },
        privateKey: keys.privateKey,
        transport: options.transport,
        timeoutMs: Math.max(10_000, waitUntil - Date.now()),
        progress: options.progress,
      });
      return {
        requestId,
        algorithm,
        datasetIds,
        params,
        ...opened,
        price: (requested.args.price as bigint).toString(),
        fee: fee.toString(),
        feePaidBy: byCredit ? "credit" : "transfer",
        txHash: tx.hash,
      };
    }
    if (status === "Failed") {
      const [event] = await market.queryFilter(market.filters.ComputationFailed(requestId));
      const reason = Number((event as unknown as { args: { reason: bigint } } | undefined)?.args.reason ?? 0);
      throw new ComputationFailedError(requestId, FAILURE_REASONS[reason] ?? `reason ${reason}`, reason === 1 ? await offenceHint(state.bridgeUrl, requestId) : undefined);
    }
    if (status === "Refunded") throw new ComputationFailedError(requestId, "it passed its deadline and was refunded");
    if (Date.now() > waitUntil) {
      const deadline = new Date(Number(request.deadline) * 1000).toISOString();
      throw new Error(
        `request ${requestId} was not fulfilled within ${timeoutMs / 1000} s; is the relay running? ` +
          `After its deadline (${deadline}) \`scmpc buyer refund --request ${requestId}\` (or "Refund" in the web market's account page) returns the price.`,
      );
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * Opens a fulfilled request: the result from its ComputationFulfilled event
 * (checked against the stored hash), the hosts' release keys for the job the
 * buyer derived, the envelopes decrypted and added up, the answer decoded,
 * and its privacy report.
 */
async function openFulfilled(args: {
  market: Contract;
  registry: Contract;
  request: { requestId: string; consumer: string; resultHash: string };
  job: { plan: JobPlan; jobId: string; datasetIds: string[]; epsilonMilli: number };
  privateKey: Uint8Array;
  transport: BuyerTransport;
  timeoutMs: number;
  progress?: (event: PurchaseProgress) => void;
}): Promise<{ job: JobResult; dp?: PrivacyReport | QueryPrivacyReport; keysReleasedBy: number[] }> {
  const { requestId, consumer } = args.request;
  const { plan, jobId } = args.job;
  // The contract keeps only the result's hash; the bytes are in the event.
  const [event] = await args.market.queryFilter(args.market.filters.ComputationFulfilled(requestId));
  const result = (event as unknown as { args: { result: string } } | undefined)?.args.result;
  if (result === undefined || keccak256(result) !== args.request.resultHash) {
    throw new Error(`the ComputationFulfilled event of ${requestId} is missing or does not match the stored result hash`);
  }
  args.progress?.({ stage: "fulfilled", requestId });
  // The envelopes on-chain are wrapped: each host releases its key now that the chain shows the sellers paid.
  const released = await collectReleaseKeys({ ask: (hostIndex) => args.transport.releaseKey(hostIndex, { requestId, consumer }), jobId, timeoutMs: args.timeoutMs });
  if (released.from.length < 2) {
    const why = Object.entries(released.refusals).map(([host, reason]) => `host ${host}: ${reason}`).join("; ");
    throw new Error(`request ${requestId} is fulfilled but fewer than two hosts released their keys (${why}); run the command again later`);
  }
  args.progress?.({ stage: "keys released", requestId, hosts: released.from });
  const values = openResult({ requestId, buyerPrivateKey: args.privateKey, result, releaseKeys: released.keys, jobId });
  const dp = await privacyOf(args.registry, args.job.datasetIds, args.job.epsilonMilli, plan, values);
  return { job: decodeJob(plan, values), keysReleasedBy: released.from, ...(dp && { dp }) };
}

/** A purchase opened again: see {@link reopenPurchase}. */
export type ReopenedPurchase = Omit<Purchase, "feePaidBy">;

/**
 * Opens again a request the buyer made and still holds the key of (after a
 * reload, on another day): derives its job from the chain as the hosts do —
 * the request's datasets, parameters, ε and key from its ComputationRequested
 * event, the dataset versions it bought — asks the hosts for their release
 * keys and decrypts. The request must be fulfilled.
 *
 * @throws Error when the request is unknown to the algorithm's contract, or not fulfilled
 * @example
 * const { job } = await reopenPurchase({ state, runner: provider, algorithm: "mean@1", requestId, privateKey, transport });
 */
export async function reopenPurchase(options: {
  state: StackState;
  runner: Signer | Provider;
  algorithm: string;
  requestId: string;
  privateKey: Uint8Array;
  transport: BuyerTransport;
  timeoutMs?: number;
}): Promise<ReopenedPurchase> {
  const { state, runner, requestId } = options;
  const algorithm = resolveAlgorithm(options.algorithm);
  const consumer = state.contracts.algorithms[algorithm];
  if (!consumer) throw new Error(`this market has no contract for ${algorithm}`);
  const market = new Contract(consumer, loadArtifact("AlgorithmComputation").abi, runner);
  const registry = new Contract(state.contracts.registry, loadArtifact("DatasetRegistry").abi, runner);
  const [requested] = await market.queryFilter(market.filters.ComputationRequested(requestId));
  if (requested === undefined) throw new Error(`the ${algorithm} contract knows no request ${requestId}`);
  const args = (requested as unknown as { args: { datasetIds: string[]; params: string; buyerKey: string; epsilon: bigint; price: bigint; fee: bigint } }).args;
  const request = await market.getRequest(requestId);
  const status = STATUS[Number(request.status)];
  if (status !== "Fulfilled") throw new Error(`request ${requestId} is ${status}, not fulfilled: there is no result to open`);
  const datasetIds = [...args.datasetIds].map((d) => d.toLowerCase());
  const epsilonMilli = Number(args.epsilon);
  const bought = await datasetsAtRequest(registry, datasetIds, { block: BigInt(requested.blockNumber), logIndex: requested.index });
  const current = await registry.getDataset(datasetIds[0]);
  const schema = await datasetSchema(registry, datasetIds[0], current.schemaHash);
  const plan = planJob(algorithm, args.params, schema, { rowCount: bought.reduce((n, d) => n + d.rowCount, 0n), epsilonMilli, datasetIds });
  // A signer's provider, or the provider itself (an ethers Provider is its own).
  const provider = runner.provider!;
  const jobId = jobIdOf(
    { chainId: (await provider.getNetwork()).chainId, consumer, requestId },
    jobInputsHash({ algorithm, datasetIds, params: args.params, buyerKey: args.buyerKey.toLowerCase(), epsilonMilli, commitments: bought.map((d) => d.commitments) }),
  );
  const opened = await openFulfilled({
    market,
    registry,
    request: { requestId, consumer, resultHash: request.resultHash },
    job: { plan, jobId, datasetIds, epsilonMilli },
    privateKey: options.privateKey,
    transport: options.transport,
    timeoutMs: options.timeoutMs ?? 60_000,
  });
  return { requestId, algorithm, datasetIds, params: args.params, ...opened, price: args.price.toString(), fee: args.fee.toString(), txHash: requested.transactionHash };
}

/**
 * The relayed and computing stages, from the hosts' view of the job (when
 * the transport can ask): relayed once any host knows the job, computing once
 * any host works on it or has answered. Each stage is reported once; a host
 * that cannot be asked is simply not counted.
 */
function hostProgress(options: PurchaseOptions, requestId: string, jobId: string): { look(): Promise<void> } {
  const ask = options.transport.jobState?.bind(options.transport);
  let reached = 0;
  return {
    async look() {
      if (ask === undefined || reached === 2) return;
      const states = await Promise.all([0, 1, 2].map((host) => ask(host, jobId).catch((): HostJobState => "unknown")));
      const now = states.some((s) => s === "computing" || s === "answered") ? 2 : states.some((s) => s !== "unknown") ? 1 : 0;
      for (; reached < now; reached++) options.progress?.({ stage: reached === 0 ? "relayed" : "computing", requestId });
    },
  };
}

/** What to do when two hosts attested a seller's offence at a failed request; undefined when they did not (or the bridge cannot say). */
async function offenceHint(bridgeUrl: string, requestId: string): Promise<string | undefined> {
  try {
    const { attestations } = await fetchOffence(bridgeUrl, requestId);
    const hosts = attestations.map((a) => a.host).join(" and ");
    return `MPC hosts ${hosts} attest that dataset ${attestations[0].datasetId}'s shares were missing or did not match its commitments: \`scmpc buyer punish --request ${requestId}\` has its seller's stake slashed, part of it to you`;
  } catch {
    return undefined;
  }
}

/**
 * The ε a purchase spends per dataset, in milli-ε (0: exact).
 *
 * @example
 * requestEpsilon("mean@1", { epsilon: "0.5" }, false) // 500
 */
function requestEpsilon(algorithm: string, options: { epsilon?: string; exact?: boolean }, everyDatasetAllowsExact: boolean): number {
  if (options.exact) return 0;
  if (options.epsilon === undefined && algorithm === "count@1") {
    // The row count is public on-chain: a count's answer is exact whatever it spends.
    return everyDatasetAllowsExact ? 0 : 1;
  }
  const milli = toMilliEpsilon(options.epsilon ?? DEFAULT_REQUEST_EPSILON, MAX_REQUEST_EPSILON);
  if (milli === 0) throw new Error("ε must be above 0 (at least 0.001); for an exact answer, where the sellers allow one, ask for it (--exact)");
  return milli;
}

/** The privacy report of a job's answer; undefined for an exact one. */
async function privacyOf(registry: Contract, datasetIds: string[], epsilonMilli: number, plan: JobPlan, values: bigint[]): Promise<PrivacyReport | QueryPrivacyReport | undefined> {
  if (plan.kind === "algorithm") {
    const noise = describeNoise(plan.plan, values);
    return noise && privacyReport(registry, datasetIds, epsilonMilli, noise);
  }
  const noise = describeQueryNoise(plan.plan, values);
  if (noise === undefined) return undefined;
  const budgetLeft: Record<string, string> = {};
  for (const id of datasetIds) budgetLeft[id] = formatEpsilon((await registry.budgetOf(id)).remaining);
  return { mechanism: noise.mechanism, epsilon: formatEpsilon(epsilonMilli), split: noise.split, interval95: noise.intervals, budgetLeft };
}

async function privacyReport(registry: Contract, datasetIds: string[], epsilonMilli: number, noise: NoiseDescription): Promise<PrivacyReport> {
  const budgetLeft: Record<string, string> = {};
  for (const id of datasetIds) budgetLeft[id] = formatEpsilon((await registry.budgetOf(id)).remaining);
  return {
    mechanism: noise.mechanism,
    // What the chain deducted (a count's answer is exact but its request still spent ε).
    epsilon: formatEpsilon(epsilonMilli),
    noiseScale: noise.noiseScale,
    interval95: noise.interval95,
    interval: noise.interval,
    statistics: noise.statistics,
    budgetLeft,
  };
}

/**
 * Takes back the price and fee of a request that was not fulfilled by its
 * deadline: finds the request among the market's algorithm contracts and
 * calls `refund`; the amount becomes withdrawable.
 *
 * @example
 * await refundRequest({ state, buyer, requestId });
 */
export async function refundRequest(options: { state: StackState; buyer: Signer; requestId: string }): Promise<{ algorithm: string; amount: bigint }> {
  const { state, buyer, requestId } = options;
  if (!/^0x[0-9a-fA-F]{64}$/.test(requestId)) throw new Error(`--request must be a 0x-prefixed 32-byte request id; got "${requestId}"`);
  const abi = loadArtifact("AlgorithmComputation").abi;
  for (const [algorithm, address] of Object.entries(state.contracts.algorithms)) {
    const market = new Contract(address, abi, buyer);
    const request = await market.getRequest(requestId);
    const status = STATUS[Number(request.status)];
    if (status === "None") continue;
    if (status !== "Pending") throw new Error(`request ${requestId} is ${status}; only a pending request can be refunded`);
    const latest = await buyer.provider!.getBlock("latest");
    if (latest && BigInt(latest.timestamp) <= (request.deadline as bigint)) {
      throw new Error(`request ${requestId} is still within its deadline (${new Date(Number(request.deadline) * 1000).toISOString()})`);
    }
    await (await market.refund(requestId)).wait();
    return { algorithm, amount: (request.price as bigint) + (request.fee as bigint) };
  }
  throw new Error(`no algorithm contract of this market knows request ${requestId}`);
}

/**
 * Each dataset's row count and commitments as a request at `at` bought them,
 * as every host reads them: the version a later refresh replaced, or the
 * current one.
 */
async function datasetsAtRequest(registry: Contract, datasetIds: string[], at: ChainPosition): Promise<{ rowCount: bigint; commitments: [string, string, string] }[]> {
  return Promise.all(
    datasetIds.map(async (id) => {
      const pinned = await versionAtRequest(registry, id, at);
      if (pinned !== undefined) return pinned;
      const current = await registry.getDataset(id);
      return { rowCount: current.rowCount as bigint, commitments: [...current.commitments].map((c: string) => c.toLowerCase()) as [string, string, string] };
    }),
  );
}
