/**
 * Measures the gas of a buyer's whole `requestComputation` transaction and of
 * the relay's whole `Operator.fulfillOracleRequest2` transaction (a properly
 * signed result of the size the hosts send: a job id and three 156-byte
 * wrapped envelopes), over 1, 5 and 20 datasets, on Hardhat's in-process EDR
 * chain with the real Chainlink Operator and LinkToken. The buyer bounds each
 * request by the exact total it was quoted, as the client does. Requests are
 * differentially private, spending ε 1 (1000 milli-ε) of every dataset's
 * budget, the market's default; the same is measured for exact requests (ε 0,
 * which the sellers allow here), which spend no budget.
 *
 * Steady state: every seller has been credited once and the buyer, the
 * contract and the operators' fee pot already hold balances, so the figures
 * are what the market pays once it is running, not its first request.
 *
 * Usage (from the repository root):
 *   npm run gas -w contracts              # human table on stdout
 *   npm run --silent gas -w contracts -- --json    # one JSON object on stdout (--silent: no npm banner):
 *                                                  # { request, fulfill } by dataset count (ε 1), and the same under `exact`,
 *                                                  # and `market`: subscribe, subscribedRequest (fee paid by a
 *                                                  # prepaid credit), subscribedFulfill, subscribedRequestByTransfer
 *                                                  # (the same without credit), prepayFees, trialRequest,
 *                                                  # refresh, refreshAgain, punish
 *   npm run gas -w contracts -- --breakdown  # also the opcode gas of the 20-dataset transactions
 *
 * @example
 * ```sh
 * npm run --silent gas -w contracts -- --json | jq .request
 * ```
 */
import { parseArgs } from "node:util";
import { network } from "hardhat";
import type { ContractTransactionResponse, Signer, TransactionReceipt } from "ethers";
import { algorithmId, deployLocalMarket } from "../src/index.ts";
import { WRAPPED_ENVELOPE_BYTES, envelopeResult, fulfilmentData, signedPayload } from "../test/helpers/signed-payload.ts";

/** Gas of whole transactions by dataset count. */
interface ModeFigures {
  request: Record<string, number>;
  fulfill: Record<string, number>;
}

/** What the gas script measures and prints: ε 1 requests, and exact ones, and the market's other transactions. */
interface GasFigures extends ModeFigures {
  exact: ModeFigures;
  /**
   * Over one dataset, ε 1: a first subscription, a request it covers with its fee paid by a
   * prepaid credit and that request's fulfilment, the same covered request with its fee paid
   * by transfer (no credit), the buyer's first `prepayFees` (2 credits), a trial request, the
   * dataset's first refresh and a second one, a punishment on two attestations.
   */
  market: {
    subscribe: number;
    subscribedRequest: number;
    subscribedFulfill: number;
    subscribedRequestByTransfer: number;
    prepayFees: number;
    trialRequest: number;
    refresh: number;
    refreshAgain: number;
    punish: number;
  };
}

/** Targets from the design review: first dataset, then each further one. */
const TARGETS = { request: 250_000, fulfill: 200_000, perDataset: 30_000 } as const;
const DATASET_COUNTS = [1, 5, 20] as const;
const SELLERS = 20;
const ALGORITHM = "sum@1";
const SCHEMA = JSON.stringify({ columns: [{ name: "cost", scale: 2 }, { name: "age", scale: 0 }] });
const PARAMS = JSON.stringify({ column: "cost" });
/** ε of a differentially private request, in milli-ε: ε 1. */
const EPSILON = 1000;
/** Each dataset's budget: enough for every measured request (milli-ε). */
const BUDGET = 1_000_000;
/** The Operator needs an explicit limit: estimates miss the callback's gas (see the README). */
const FULFIL_GAS_LIMIT = 2_000_000n;
const STATUS_FULFILLED = 2n;

const { values: flags } = parseArgs({
  options: { json: { type: "boolean", default: false }, breakdown: { type: "boolean", default: false } },
});

const connection = await network.create();
const { ethers, networkHelpers } = connection;

async function mined(tx: Promise<ContractTransactionResponse>): Promise<TransactionReceipt> {
  const receipt = await (await tx).wait();
  if (receipt === null || receipt.status !== 1) throw new Error("transaction failed");
  return receipt;
}

async function fundedAccount(label: string): Promise<Signer> {
  const address = ethers.getAddress(ethers.dataSlice(ethers.id(`gas ${label}`), 12));
  await networkHelpers.setBalance(address, ethers.parseEther("100"));
  return ethers.getImpersonatedSigner(address);
}

const [deployer, relay, buyer] = await ethers.getSigners();
const hostSigners = [0, 1, 2].map((i) => new ethers.Wallet(ethers.id(`gas host signer ${i}`)));
const hosts = hostSigners.map((signer, i) => ({
  operator: ethers.getAddress(ethers.dataSlice(ethers.id(`gas host operator ${i}`), 12)),
  signer: signer.address,
  endpoint: `host${i}.market.example:50051`,
  tlsFingerprint: ethers.id(`gas host certificate ${i}`),
}));
const sellers: Signer[] = [];
for (let i = 0; i < SELLERS; i++) sellers.push(await fundedAccount(`seller ${i}`));
const sellerAddresses = await Promise.all(sellers.map((s) => s.getAddress()));

const minStake = ethers.parseEther("10");
const addresses = await deployLocalMarket({
  deployer,
  relay: relay.address,
  hosts,
  algorithms: [ALGORITHM],
  minStake,
  fund: [
    { address: buyer.address, amount: ethers.parseEther("1000000") },
    ...sellerAddresses.map((address) => ({ address, amount: minStake })),
  ],
});
const paymentToken = await ethers.getContractAt("DevPaymentToken", addresses.paymentToken);
const registry = await ethers.getContractAt("DatasetRegistry", addresses.registry);
const operator = await ethers.getContractAt("Operator", addresses.operator);
const computation = await ethers.getContractAt("AlgorithmComputation", addresses.algorithms[ALGORITHM]);
const computationAddress = await computation.getAddress();
/** What the hosts' signatures are bound to. */
const scope = { chainId: (await ethers.provider.getNetwork()).chainId, consumer: computationAddress };

// Exact answers allowed too, so both modes run over the same datasets.
const policy = { allowedAlgorithms: [algorithmId(ALGORITHM)], minRows: 0n, budget: BUDGET, exactAlgorithms: [algorithmId(ALGORITHM)] };
for (const [i, seller] of sellers.entries()) {
  await mined(paymentToken.connect(seller).approve(addresses.registry, minStake));
  const commitments: [string, string, string] = [0, 1, 2].map((h) => ethers.id(`seller ${i} share ${h}`)) as [string, string, string];
  await mined(
    registry
      .connect(seller)
      .registerDataset(`visits-${i}`, SCHEMA, 1000n + BigInt(i), ethers.parseEther(String(i + 1)), commitments, policy, minStake),
  );
}
const datasetIds = (await Promise.all(sellerAddresses.map((a, i) => registry.datasetId(a, `visits-${i}`)))).sort((a, b) =>
  BigInt(a) < BigInt(b) ? -1 : 1,
);
const prices = new Map<string, bigint>();
for (const id of datasetIds) prices.set(id, (await registry.getDataset(id)).price);
const operatorFee = await computation.operatorFee();
// One unlimited approval: a buyer's allowance stays non-zero from request to request.
await mined(paymentToken.connect(buyer).approve(computationAddress, ethers.MaxUint256));

/** One request spending `epsilon` (0: exact) and its signed fulfilment; returns both transactions' receipts. */
async function requestAndFulfil(count: number, epsilon: number): Promise<{ request: TransactionReceipt; fulfill: TransactionReceipt }> {
  const ids = datasetIds.slice(0, count);
  const buyerKey = ethers.id(`buyer key ${count} ${epsilon}`);
  const quote = ids.reduce((total, id) => total + prices.get(id)!, operatorFee);
  const request = await mined(computation.connect(buyer).requestComputation(ids, PARAMS, buyerKey, quote, epsilon));
  return { request, fulfill: await fulfilRequest(request, `gas ${count} ${epsilon}`) };
}

/** The relay's signed fulfilment of the request `request` sent; refuses to measure one that does not fulfil. */
async function fulfilRequest(request: TransactionReceipt, seed: string): Promise<TransactionReceipt> {
  const oracleLog = request.logs
    .map((log) => (log.address === addresses.operator ? operator.interface.parseLog(log) : null))
    .find((parsed) => parsed?.name === "OracleRequest");
  if (oracleLog == null) throw new Error("no OracleRequest event");
  const { requestId, payment, callbackAddr, callbackFunctionId, cancelExpiration } = oracleLog.args;
  const payload = await signedPayload(hostSigners, scope, requestId, envelopeResult(seed));
  const fulfill = await mined(
    operator
      .connect(relay)
      .fulfillOracleRequest2(requestId, payment, callbackAddr, callbackFunctionId, cancelExpiration, fulfilmentData(requestId, payload), {
        gasLimit: FULFIL_GAS_LIMIT,
      }),
  );
  // A failed fulfilment (bad signature, out of gas in the callback) would be cheaper: refuse to measure it.
  const settled = await computation.getRequest(requestId);
  if (settled.status !== STATUS_FULFILLED) throw new Error(`request ${requestId} was not fulfilled (status ${settled.status})`);
  return fulfill;
}

// Warm-up: credit every seller once, put fees in the pot, spend some of every budget.
await requestAndFulfil(SELLERS, EPSILON);

const figures: GasFigures = { request: {}, fulfill: {}, exact: { request: {}, fulfill: {} }, market: { subscribe: 0, subscribedRequest: 0, subscribedFulfill: 0, subscribedRequestByTransfer: 0, prepayFees: 0, trialRequest: 0, refresh: 0, refreshAgain: 0, punish: 0 } };
const receipts: Record<number, { request: TransactionReceipt; fulfill: TransactionReceipt }> = {};
for (const count of DATASET_COUNTS) {
  const measured = await requestAndFulfil(count, EPSILON);
  receipts[count] = measured;
  figures.request[count] = Number(measured.request.gasUsed);
  figures.fulfill[count] = Number(measured.fulfill.gasUsed);
}
for (const count of DATASET_COUNTS) {
  const measured = await requestAndFulfil(count, 0);
  figures.exact.request[count] = Number(measured.request.gasUsed);
  figures.exact.fulfill[count] = Number(measured.fulfill.gasUsed);
}

// The market's other transactions, over the first dataset. Its seller offers a subscription
// (quota 2 per 30 days) and trials (1 per buyer); the buyer subscribes and buys once covered
// paying the operators' fee by transfer, then prepays two fees and buys covered again, the
// fee paid by a credit (no token call: what a covered request costs a buyer who prepays);
// a second buyer takes a trial; the seller refreshes the dataset twice (new shares as
// versions 2 and 3); then two hosts attest that a pending request's dataset was missing and
// a stranger has it punished.
{
  const id = datasetIds[0];
  const seller = sellers[sellerAddresses.findIndex((address, i) => ethers.solidityPackedKeccak256(["address", "string"], [address, `visits-${i}`]) === id)];
  await mined(registry.connect(seller).setSubscriptionTerms(id, 30 * 86_400, ethers.parseEther("40"), 2));
  await mined(registry.connect(seller).setTrialTerms(id, 1, EPSILON, 10));
  await mined(paymentToken.connect(buyer).approve(addresses.registry, ethers.MaxUint256));
  figures.market.subscribe = Number((await mined(registry.connect(buyer).subscribe(id, 1))).gasUsed);
  if ((await computation.feeCreditsOf(buyer.address)) !== 0n) throw new Error("the buyer already holds fee credits");
  const byTransfer = await mined(computation.connect(buyer).requestComputation([id], PARAMS, ethers.id("covered by transfer"), operatorFee, EPSILON));
  figures.market.subscribedRequestByTransfer = Number(byTransfer.gasUsed);
  // Two credits: the covered request below leaves one, so it measures the steady state (a
  // last credit's write to zero earns a refund the steady state would not see).
  figures.market.prepayFees = Number((await mined(computation.connect(buyer).prepayFees(2))).gasUsed);
  const covered = await mined(computation.connect(buyer).requestComputation([id], PARAMS, ethers.id("covered"), operatorFee, EPSILON));
  // Refuse to measure a covered request that did not use a credit (or moved a token after all).
  if ((await computation.feeCreditsOf(buyer.address)) !== 1n) throw new Error("the covered request did not use a fee credit");
  if (covered.logs.some((log) => log.address === addresses.paymentToken)) throw new Error("the covered request moved payment tokens");
  figures.market.subscribedRequest = Number(covered.gasUsed);
  figures.market.subscribedFulfill = Number((await fulfilRequest(covered, "covered")).gasUsed);
  const trialBuyer = await fundedAccount("trial buyer");
  await mined(paymentToken.connect(buyer).transfer(await trialBuyer.getAddress(), operatorFee));
  await mined(paymentToken.connect(trialBuyer).approve(computationAddress, ethers.MaxUint256));
  figures.market.trialRequest = Number((await mined(computation.connect(trialBuyer).requestTrialComputation([id], PARAMS, ethers.id("trial"), operatorFee, EPSILON))).gasUsed);
  // The first refresh writes the version counter's slot for the first time; later ones overwrite it.
  const refresh = (version: number, rows: bigint) =>
    mined(registry.connect(seller).refreshDataset(id, rows, [0, 1, 2].map((h) => ethers.id(`version ${version} share ${h}`)) as [string, string, string]));
  figures.market.refresh = Number((await refresh(2, 1200n)).gasUsed);
  figures.market.refreshAgain = Number((await refresh(3, 1300n)).gasUsed);
  const pending = await mined(computation.connect(buyer).requestComputation([id], PARAMS, ethers.id("let down"), prices.get(id)! + operatorFee, EPSILON));
  const requestId = pending.logs
    .map((log) => (log.address === addresses.operator ? operator.interface.parseLog(log) : null))
    .find((parsed) => parsed?.name === "OracleRequest")!.args.requestId as string;
  const court = await ethers.getContractAt("PenaltyCourt", addresses.penaltyCourt);
  const digest = await court.offenceDigest(computationAddress, requestId, id, 1);
  const attestations = await Promise.all([0, 1].map(async (host) => ({ host, offence: 1, signature: await hostSigners[host].signMessage(ethers.getBytes(digest)) })));
  const stranger = await fundedAccount("stranger");
  figures.market.punish = Number((await mined(court.connect(stranger).punish(computationAddress, requestId, id, [attestations[0], attestations[1]]))).gasUsed);
}

/** One step of EDR's struct-log trace. */
interface StructLog {
  op: string;
  gas: number;
  gasCost: number;
  depth: number;
}

/**
 * Gas per opcode of one transaction, over all call frames, from EDR's struct-log trace.
 * A call is charged only its own overhead (address access, memory, value): the callee's
 * opcodes are counted where they run. Precompiles (ecrecover) show as the STATICCALL.
 */
async function opcodeBreakdown(txHash: string): Promise<{ byOp: [string, number][]; execution: number }> {
  const trace = (await connection.provider.request({
    method: "debug_traceTransaction",
    params: [txHash, { disableStack: true, disableMemory: true, disableStorage: true }],
  })) as { gas: number; structLogs: StructLog[] };
  const logs = trace.structLogs;
  const totals = new Map<string, number>();
  for (let i = 0; i < logs.length; i++) {
    const { op, depth, gas, gasCost } = logs[i];
    let cost = gasCost;
    const next = logs[i + 1];
    if (next !== undefined && next.depth > depth) {
      // Entered a frame: find where it returned, subtract what the callee itself used.
      let j = i + 1;
      while (j < logs.length && logs[j].depth > depth) j++;
      const last = logs[j - 1];
      const calleeUsed = next.gas - (last.gas - last.gasCost);
      const after = logs[j]?.gas ?? gas - gasCost;
      cost = gas - after - calleeUsed;
    } else if (next !== undefined && next.depth === depth && op.endsWith("CALL")) {
      cost = gas - next.gas;
    }
    const family = /^(PUSH|DUP|SWAP)/.test(op) ? "PUSH/DUP/SWAP" : op.startsWith("LOG") ? "LOG0-4" : op;
    totals.set(family, (totals.get(family) ?? 0) + cost);
  }
  return { byOp: [...totals.entries()].sort((a, b) => b[1] - a[1]), execution: trace.gas };
}

if (flags.json) {
  process.stdout.write(`${JSON.stringify(figures)}\n`);
} else {
  /** One table of `mode`'s figures against the targets. */
  const table = (mode: ModeFigures): string[] => {
    const perDataset = (kind: "request" | "fulfill", count: number): string =>
      count === 1 ? "" : `${Math.round((mode[kind][count] - mode[kind][1]) / (count - 1)).toLocaleString("en-US")}/dataset`;
    const check = (ok: boolean): string => (ok ? "ok" : "OVER");
    const rows = DATASET_COUNTS.map((count) => {
      const extra = count - 1;
      const requestOk = mode.request[count] <= TARGETS.request + extra * TARGETS.perDataset;
      const fulfillOk = mode.fulfill[count] <= TARGETS.fulfill + extra * TARGETS.perDataset;
      return [
        String(count),
        mode.request[count].toLocaleString("en-US"),
        perDataset("request", count),
        `${(TARGETS.request + extra * TARGETS.perDataset).toLocaleString("en-US")} ${check(requestOk)}`,
        mode.fulfill[count].toLocaleString("en-US"),
        perDataset("fulfill", count),
        `${(TARGETS.fulfill + extra * TARGETS.perDataset).toLocaleString("en-US")} ${check(fulfillOk)}`,
      ];
    });
    const header = ["datasets", "requestComputation", "marginal", "target", "fulfillOracleRequest2", "marginal", "target"];
    const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
    const line = (cells: string[]): string => cells.map((cell, c) => cell.padStart(widths[c])).join("  ");
    return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)];
  };
  console.log(
    `Gas per whole transaction (steady state; result = job id and three ${WRAPPED_ENVELOPE_BYTES}-byte wrapped envelopes as (bytes32,bytes,bytes,bytes), 3 signatures)`,
  );
  console.log(`\nDifferentially private requests, ε ${EPSILON / 1000} (${EPSILON} milli-ε) spent on every dataset:`);
  for (const row of table(figures)) console.log(row);
  console.log("\nExact requests (ε 0, no budget spent):");
  for (const row of table(figures.exact)) console.log(row);
  const { market } = figures;
  const fmt = (gas: number): string => gas.toLocaleString("en-US").padStart(9);
  console.log("\nMarket mechanics, one dataset, ε 1:");
  console.log(`  subscribe (first period)                 ${fmt(market.subscribe)}`);
  console.log(`  requestComputation covered by it         ${fmt(market.subscribedRequest)}  (plain request ${figures.request[1].toLocaleString("en-US")}; fee paid by a prepaid credit)`);
  console.log(`  its fulfilment (nothing to credit)       ${fmt(market.subscribedFulfill)}  (plain fulfilment ${figures.fulfill[1].toLocaleString("en-US")})`);
  console.log(`  covered, fee paid by transfer            ${fmt(market.subscribedRequestByTransfer)}  (no fee credit)`);
  console.log(`  prepayFees (2 credits, the buyer's first)${fmt(market.prepayFees)}`);
  console.log(`  requestTrialComputation                  ${fmt(market.trialRequest)}`);
  console.log(`  refreshDataset (first refresh)           ${fmt(market.refresh)}`);
  console.log(`  refreshDataset (a second one)            ${fmt(market.refreshAgain)}`);
  console.log(`  PenaltyCourt.punish (two attestations)   ${fmt(market.punish)}`);
  if (flags.breakdown) {
    for (const kind of ["request", "fulfill"] as const) {
      const one = new Map((await opcodeBreakdown(receipts[1][kind].hash)).byOp);
      const twenty = new Map((await opcodeBreakdown(receipts[20][kind].hash)).byOp);
      const ops = [...new Set([...one.keys(), ...twenty.keys()])]
        .map((op): [string, number, number] => [op, one.get(op) ?? 0, ((twenty.get(op) ?? 0) - (one.get(op) ?? 0)) / 19])
        .sort((a, b) => b[2] - a[2] || b[1] - a[1]);
      console.log(`\n${kind}: execution gas by opcode (all frames, before refunds), 1 dataset and each further one`);
      for (const [op, first, marginal] of ops.slice(0, 12)) {
        console.log(`  ${op.padEnd(14)} ${first.toLocaleString("en-US").padStart(9)}  ${Math.round(marginal).toLocaleString("en-US").padStart(7)}/dataset`);
      }
    }
  }
}
