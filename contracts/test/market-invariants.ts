/**
 * Property-based test of the market's money: random sequences of dataset
 * registrations, price changes, buyers' requests (with a price bound the
 * current price may exceed), the relay's fulfilments (valid, empty, malformed,
 * badly signed, signed for another chain; on time, in the deadline's last
 * second or late), time travel, refunds after the deadline, fee distributions,
 * withdrawals, deregistrations and stake withdrawals, and the privacy budget's
 * moves (requests spending ε, or exact ones with ε 0, sellers' policy changes
 * of the total budget and of exact answers), run against the real contracts
 * (and the real Chainlink Operator) on the in-process chain. A model computes
 * what every account should have been credited, how each request ends
 * (including the reason a failure names) and what every dataset's budget is;
 * after every step the chain must agree with it and with these invariants:
 *
 * - the AlgorithmComputation contract holds exactly Σ escrow of Pending
 *   requests + Σ withdrawable balances + accrued operators' fees;
 * - the DatasetRegistry holds exactly Σ stakes not yet withdrawn;
 * - nobody is paid twice: what each account withdrew plus what it can still
 *   withdraw equals what the model credited it; a request settles once
 *   (a late fulfilment fails it and credits the buyer, after which no refund
 *   succeeds; a fulfilment after a refund changes nothing);
 * - per dataset, spent + remaining = total (`budgetOf`), neither negative, and
 *   spent is exactly Σ ε of the requests over it that are Pending or Fulfilled:
 *   a Failed or Refunded request gave its ε back to each of its datasets, once
 *   (each settlement's `PrivacyBudgetRestored` events are checked too), and a
 *   request refused for want of budget, of exact permission or over the price
 *   bound spent nothing.
 */
import { expect } from "chai";
import fc from "fast-check";
import { network } from "hardhat";
import type { ContractTransactionReceipt, Log, Signer } from "ethers";
import { algorithmId, deployLocalMarket } from "../src/index.ts";
import { envelopeResult, fulfilmentData, signedPayload } from "./helpers/signed-payload.ts";

const connection = await network.create();
const { ethers, networkHelpers } = connection;
const { loadFixture, time } = networkHelpers;

const ALGORITHM = "mean@1";
const SCHEMA = JSON.stringify({ columns: [{ name: "cost", scale: 2 }] });
const OPERATOR_FEE = ethers.parseEther("1") + 1n; // not a multiple of 3: distribution leaves remainders
const MIN_STAKE = ethers.parseEther("10");
const REQUEST_TIMEOUT = 600;
const STAKE_COOLDOWN = 1200;
const FUNDS = ethers.parseEther("100000");
const FULFIL_GAS_LIMIT = 1_500_000n;
const NUM_RUNS = 40;
const MAX_STEPS = 18;

/** `ComputationFailed` reasons the steps provoke. */
enum Reason {
  BridgeError = 1,
  Malformed = 2,
  BadSignature = 3,
  Late = 6,
}

enum Status {
  None = 0,
  Pending = 1,
  Fulfilled = 2,
  Failed = 3,
  Refunded = 4,
}

async function deployMarketForInvariants() {
  const signers = await ethers.getSigners();
  const [deployer, relay, seller0, seller1, seller2, buyer0, buyer1, operator0, operator1, operator2] = signers;
  const sellers = [seller0, seller1, seller2];
  // seller0 also buys: one account both credited as a seller and refunded as a buyer.
  const buyers = [buyer0, buyer1, seller0];
  const operators = [operator0, operator1, operator2];
  const hostSigners = [0, 1, 2].map((i) => new ethers.Wallet(ethers.id(`invariants host signer ${i}`)));
  const addresses = await deployLocalMarket({
    deployer,
    relay: relay.address,
    hosts: hostSigners.map((signer, i) => ({
      operator: operators[i].address,
      signer: signer.address,
      endpoint: `host${i}.example:50051`,
      tlsFingerprint: ethers.id(`certificate ${i}`),
    })),
    algorithms: [ALGORITHM],
    minStake: MIN_STAKE,
    stakeCooldown: STAKE_COOLDOWN,
    operatorFee: OPERATOR_FEE,
    requestTimeout: REQUEST_TIMEOUT,
    fund: [...new Set([...sellers, ...buyers])].map((s) => ({ address: s.address, amount: FUNDS })),
  });
  const paymentToken = await ethers.getContractAt("DevPaymentToken", addresses.paymentToken);
  const registry = await ethers.getContractAt("DatasetRegistry", addresses.registry);
  const operator = await ethers.getContractAt("Operator", addresses.operator);
  const computation = await ethers.getContractAt("AlgorithmComputation", addresses.algorithms[ALGORITHM]);
  for (const seller of sellers) await (await paymentToken.connect(seller).approve(addresses.registry, ethers.MaxUint256)).wait();
  for (const buyer of buyers) {
    await (await paymentToken.connect(buyer).approve(await computation.getAddress(), ethers.MaxUint256)).wait();
  }
  // Everyone who can ever be credited or hold a stake, deduplicated.
  const accounts = [...new Set([...sellers, ...buyers, ...operators])];
  // What the hosts' signatures are bound to.
  const scope = { chainId: (await ethers.provider.getNetwork()).chainId, consumer: await computation.getAddress() };
  return { addresses, relay, sellers, buyers, operators, accounts, hostSigners, scope, paymentToken, registry, operator, computation };
}

type Market = Awaited<ReturnType<typeof deployMarketForInvariants>>;

/** What the model knows about a dataset. */
interface DatasetModel {
  id: string;
  seller: Signer & { address: string };
  price: bigint;
  stake: bigint;
  deregistered: boolean;
  stakeWithdrawn: boolean;
  /** Total privacy budget, milli-ε. */
  budget: bigint;
  /** Budget spent by Pending and Fulfilled requests, milli-ε. */
  spent: bigint;
  /** Whether the seller allows exact answers of the algorithm. */
  exact: boolean;
}

/** What the model knows about a request, and what the relay needs to answer it. */
interface RequestModel {
  requestId: string;
  buyer: string;
  payouts: { seller: string; amount: bigint }[];
  price: bigint;
  /** The datasets it spent `epsilon` of, ascending. */
  datasets: DatasetModel[];
  epsilon: bigint;
  /** After this time (unix seconds) the request may be refunded, and an answer is late. */
  deadline: bigint;
  status: Status;
  /** The reason the request failed with, once Failed. */
  reason?: Reason;
  /** The Operator consumed its commitment: a second answer would revert there. */
  answered: boolean;
  oracle: { payment: bigint; callbackAddr: string; callbackFunctionId: string; cancelExpiration: bigint };
}

/** The expected state; every step updates it before the chain is compared with it. */
interface Model {
  datasets: DatasetModel[];
  requests: RequestModel[];
  credited: Map<string, bigint>;
  withdrawn: Map<string, bigint>;
  accrued: bigint;
  registered: number;
  /** Requests refused because the price exceeded the buyer's bound (nothing may change). */
  overBound: number;
  /** Requests refused for want of budget, and exact ones refused for want of permission. */
  exhausted: number;
  exactRefused: number;
  /** Policy changes refused because the new total was below what was spent. */
  belowSpent: number;
}

type FulfilMode = "valid" | "empty" | "malformed" | "wrongSigner" | "wrongResult" | "otherChain";
/** When the answer is mined: as soon as possible, in the deadline's own second, or after it. */
type Timing = "now" | "lastSecond" | "late";

type Step =
  | { kind: "register"; seller: number; price: number; priceWei: number; extraStake: number; budget: number; exact: boolean }
  | { kind: "reprice"; pick: number; price: number; priceWei: number }
  | { kind: "setPolicy"; pick: number; delta: number; exact: boolean }
  | { kind: "request"; buyer: number; picks: number[]; slack: number; epsilon: number }
  | { kind: "fulfil"; pick: number; mode: FulfilMode; timing: Timing }
  | { kind: "warp"; seconds: number }
  | { kind: "refund"; pick: number; early: boolean }
  | { kind: "distribute" }
  | { kind: "withdraw"; who: number }
  | { kind: "deregister"; pick: number }
  | { kind: "withdrawStake"; pick: number };

const registerArbitrary: fc.Arbitrary<Step> = fc.record({
  kind: fc.constant("register" as const),
  seller: fc.nat(2),
  price: fc.nat(40),
  priceWei: fc.nat(1000),
  extraStake: fc.nat(3),
  // Mostly the default total; some of only a few requests or none, so budgets run out within a run.
  budget: fc.constantFrom(0, 2000, 10_000, 10_000, 10_000),
  exact: fc.constantFrom(true, true, false),
});

const stepArbitrary: fc.Arbitrary<Step> = fc.oneof(
  { weight: 2, arbitrary: registerArbitrary },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant("reprice" as const), pick: fc.nat(30), price: fc.nat(40), priceWei: fc.nat(1000) }),
  },
  {
    weight: 1,
    // The new total is what is spent plus `delta` (at least 0): below what is spent when `delta` < 0.
    arbitrary: fc.record({
      kind: fc.constant("setPolicy" as const),
      pick: fc.nat(30),
      delta: fc.integer({ min: -1500, max: 3000 }),
      exact: fc.boolean(),
    }),
  },
  {
    weight: 5,
    arbitrary: fc.record({
      kind: fc.constant("request" as const),
      buyer: fc.nat(2),
      picks: fc.uniqueArray(fc.nat(30), { minLength: 1, maxLength: 3 }),
      // The buyer's bound over the current total: under it (a quote taken before a price rise), exact, or above.
      slack: fc.constantFrom(-1, 0, 0, 1, 1000),
      // ε in milli-ε; 0 asks for an exact answer.
      epsilon: fc.constantFrom(0, 1000, 1000, 1000, 1500),
    }),
  },
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant("fulfil" as const),
      pick: fc.nat(30),
      mode: fc.constantFrom<FulfilMode>("valid", "valid", "valid", "empty", "malformed", "wrongSigner", "wrongResult", "otherChain"),
      timing: fc.constantFrom<Timing>("now", "now", "lastSecond", "late"),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("warp" as const), seconds: fc.nat(2 * REQUEST_TIMEOUT) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("refund" as const), pick: fc.nat(30), early: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("distribute" as const) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("withdraw" as const), who: fc.nat(20) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("deregister" as const), pick: fc.nat(30) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("withdrawStake" as const), pick: fc.nat(30) }) },
);

/**
 * A sequence of at most MAX_STEPS steps that starts by registering one or two datasets,
 * so that most sequences reach requests and their settlement.
 */
const sequenceArbitrary: fc.Arbitrary<Step[]> = fc
  .tuple(fc.array(registerArbitrary, { minLength: 1, maxLength: 2 }), fc.array(stepArbitrary, { minLength: 8, maxLength: MAX_STEPS - 2 }))
  .map(([prefix, rest]) => [...prefix, ...rest]);

function credit(model: Model, account: string, amount: bigint): void {
  model.credited.set(account, (model.credited.get(account) ?? 0n) + amount);
}

function owed(model: Model, account: string): bigint {
  return (model.credited.get(account) ?? 0n) - (model.withdrawn.get(account) ?? 0n);
}

async function mined(pending: Promise<{ wait(): Promise<ContractTransactionReceipt | null> }>): Promise<ContractTransactionReceipt> {
  const receipt = await (await pending).wait();
  if (receipt === null || receipt.status !== 1) throw new Error("transaction failed");
  return receipt;
}

/** The reason a Pending request answered in time fails with, or undefined if it is fulfilled. */
function failureReason(mode: FulfilMode): Reason | undefined {
  switch (mode) {
    case "valid":
      return undefined;
    case "empty":
      return Reason.BridgeError;
    case "malformed":
      return Reason.Malformed;
    case "wrongSigner":
    case "wrongResult":
    case "otherChain":
      return Reason.BadSignature;
  }
}

/** The registry's `PrivacyBudgetRestored` events in a receipt, as [datasetId, epsilon]. */
function restoredEvents(registry: Market["registry"], logs: readonly Log[]): [string, bigint][] {
  const address = (registry.target as string).toLowerCase();
  return logs
    .filter((log) => log.address.toLowerCase() === address)
    .map((log) => registry.interface.parseLog(log))
    .filter((parsed) => parsed?.name === "PrivacyBudgetRestored")
    .map((parsed) => [parsed!.args.datasetId as string, parsed!.args.epsilon as bigint]);
}

/** The budget a settled request gives back: ε to each of its datasets, if it spent any. */
function expectedRestores(request: RequestModel): [string, bigint][] {
  return request.epsilon === 0n ? [] : request.datasets.map((d) => [d.id, request.epsilon]);
}

/** Gives a Failed or Refunded request's ε back in the model. */
function giveBack(request: RequestModel): void {
  for (const dataset of request.datasets) dataset.spent -= request.epsilon;
}

/** The policy a step registers or sets: the market's algorithm, with or without exact answers. */
function policyOf(budget: bigint, exact: boolean) {
  return { allowedAlgorithms: [algorithmId(ALGORITHM)], minRows: 0n, budget, exactAlgorithms: exact ? [algorithmId(ALGORITHM)] : [] };
}

/** The computation's settlement events in a receipt: "ComputationFulfilled", "ComputationFailed(<reason>)", "ComputationRefunded". */
function settlementEvents(computation: Market["computation"], logs: readonly Log[]): string[] {
  const address = (computation.target as string).toLowerCase();
  const names: string[] = [];
  for (const log of logs) {
    if (log.address.toLowerCase() !== address) continue;
    const parsed = computation.interface.parseLog(log);
    if (parsed?.name === "ComputationFailed") names.push(`ComputationFailed(${parsed.args.reason})`);
    else if (parsed?.name === "ComputationFulfilled" || parsed?.name === "ComputationRefunded") names.push(parsed.name);
  }
  return names;
}

async function runStep(market: Market, model: Model, step: Step): Promise<void> {
  const { registry, computation, operator, paymentToken, relay, hostSigners } = market;
  switch (step.kind) {
    case "register": {
      const seller = market.sellers[step.seller];
      const name = `dataset-${model.registered++}`;
      const price = BigInt(step.price) * 10n ** 18n + BigInt(step.priceWei);
      const stake = MIN_STAKE + BigInt(step.extraStake) * 10n ** 18n;
      const commitments: [string, string, string] = [ethers.id(`${name} share 0`), ethers.id(`${name} share 1`), ethers.id(`${name} share 2`)];
      const budget = BigInt(step.budget);
      await mined(registry.connect(seller).registerDataset(name, SCHEMA, 100n, price, commitments, policyOf(budget, step.exact), stake));
      const id = await registry.datasetId(seller.address, name);
      model.datasets.push({ id, seller, price, stake, deregistered: false, stakeWithdrawn: false, budget, spent: 0n, exact: step.exact });
      return;
    }
    case "setPolicy": {
      const listed = model.datasets.filter((d) => !d.deregistered);
      if (listed.length === 0) return;
      // A cut below what is spent needs something spent: prefer such a dataset then.
      const spending = listed.filter((d) => d.spent > 0n);
      const candidates = step.delta < 0 && spending.length > 0 ? spending : listed;
      const dataset = candidates[step.pick % candidates.length];
      const wanted = dataset.spent + BigInt(step.delta);
      const budget = wanted < 0n ? 0n : wanted;
      const send = () => registry.connect(dataset.seller).setPolicy(dataset.id, policyOf(budget, step.exact));
      if (budget < dataset.spent) {
        await expect(send()).to.be.revertedWithCustomError(registry, "DatasetRegistry__BudgetBelowSpent").withArgs(budget, dataset.spent);
        model.belowSpent++;
        return;
      }
      await expect(send()).to.emit(registry, "PrivacyBudgetUpdated").withArgs(dataset.id, budget, budget - dataset.spent);
      dataset.budget = budget;
      dataset.exact = step.exact;
      return;
    }
    case "reprice": {
      const listed = model.datasets.filter((d) => !d.deregistered);
      if (listed.length === 0) return;
      const dataset = listed[step.pick % listed.length];
      const price = BigInt(step.price) * 10n ** 18n + BigInt(step.priceWei);
      await mined(registry.connect(dataset.seller).setPrice(dataset.id, price));
      dataset.price = price;
      return;
    }
    case "request": {
      const listed = model.datasets.filter((d) => !d.deregistered);
      if (listed.length === 0) return;
      const chosen = [...new Set(step.picks.map((p) => listed[p % listed.length]))].sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
      const buyer = market.buyers[step.buyer];
      const price = chosen.reduce((sum, d) => sum + d.price, 0n);
      const total = price + OPERATOR_FEE;
      const maxTotalPrice = total + BigInt(step.slack);
      const epsilon = BigInt(step.epsilon);
      const send = () =>
        computation.connect(buyer).requestComputation(
          chosen.map((d) => d.id),
          JSON.stringify({ column: "cost" }),
          ethers.hexlify(ethers.randomBytes(32)),
          maxTotalPrice,
          epsilon,
        );
      // The registry spends first, dataset by dataset in id order; then the computation checks
      // each dataset (exact permission), then the total against the bound. Any refusal spends,
      // escrows and sends nothing: the invariants after this step check it.
      const short = epsilon > 0n ? chosen.find((d) => d.budget - d.spent < epsilon) : undefined;
      if (short !== undefined) {
        await expect(send())
          .to.be.revertedWithCustomError(registry, "DatasetRegistry__BudgetExhausted")
          .withArgs(short.id, short.budget - short.spent, epsilon);
        model.exhausted++;
        return;
      }
      const inexact = epsilon === 0n ? chosen.find((d) => !d.exact) : undefined;
      if (inexact !== undefined) {
        await expect(send()).to.be.revertedWithCustomError(computation, "AlgorithmComputation__ExactNotAllowed").withArgs(inexact.id);
        model.exactRefused++;
        return;
      }
      if (maxTotalPrice < total) {
        // Escrows nothing, sends nothing: the invariants after this step check it.
        await expect(send()).to.be.revertedWithCustomError(computation, "AlgorithmComputation__PriceAboveMaximum").withArgs(total, maxTotalPrice);
        model.overBound++;
        return;
      }
      const receipt = await mined(send());
      const oracleAddress = (await operator.getAddress()).toLowerCase();
      const parsed = receipt.logs
        .filter((log) => log.address.toLowerCase() === oracleAddress)
        .map((log) => operator.interface.parseLog(log))
        .find((p) => p?.name === "OracleRequest");
      if (parsed == null) throw new Error("no OracleRequest event");
      const { requestId, payment, callbackAddr, callbackFunctionId, cancelExpiration } = parsed.args;
      const block = await ethers.provider.getBlock(receipt.blockNumber);
      for (const dataset of chosen) dataset.spent += epsilon;
      model.requests.push({
        requestId,
        buyer: buyer.address,
        payouts: chosen.map((d) => ({ seller: d.seller.address, amount: d.price })),
        price,
        datasets: chosen,
        epsilon,
        deadline: BigInt(block!.timestamp) + BigInt(REQUEST_TIMEOUT),
        status: Status.Pending,
        answered: false,
        oracle: { payment, callbackAddr, callbackFunctionId, cancelExpiration },
      });
      return;
    }
    case "fulfil": {
      const open = model.requests.filter((r) => !r.answered);
      if (open.length === 0) return;
      const request = open[step.pick % open.length];
      const result = envelopeResult();
      let payload: string;
      switch (step.mode) {
        case "valid":
          payload = await signedPayload(hostSigners, market.scope, request.requestId, result);
          break;
        case "empty":
          payload = "0x";
          break;
        case "malformed":
          payload = "0xdeadbeef";
          break;
        case "wrongSigner":
          payload = await signedPayload([hostSigners[0], new ethers.Wallet(ethers.id("impostor")), hostSigners[2]], market.scope, request.requestId, result);
          break;
        case "wrongResult": {
          // Signed over another result than the one delivered.
          const signed = await signedPayload(hostSigners, market.scope, request.requestId, envelopeResult());
          const [, signatures] = ethers.AbiCoder.defaultAbiCoder().decode(["bytes", "bytes[3]"], signed);
          payload = ethers.AbiCoder.defaultAbiCoder().encode(["bytes", "bytes[3]"], [result, [...signatures]]);
          break;
        }
        case "otherChain":
          // The same market and request id on another chain: the registered hosts' valid signatures there.
          payload = await signedPayload(hostSigners, { ...market.scope, chainId: market.scope.chainId + 1n }, request.requestId, result);
          break;
      }
      const now = BigInt(await time.latest());
      if (step.timing === "lastSecond" && now < request.deadline) await time.setNextBlockTimestamp(request.deadline);
      if (step.timing === "late" && now < request.deadline) await time.setNextBlockTimestamp(request.deadline + 1n);
      const { payment, callbackAddr, callbackFunctionId, cancelExpiration } = request.oracle;
      const receipt = await mined(
        operator
          .connect(relay)
          .fulfillOracleRequest2(
            request.requestId,
            payment,
            callbackAddr,
            callbackFunctionId,
            cancelExpiration,
            fulfilmentData(request.requestId, payload),
            { gasLimit: FULFIL_GAS_LIMIT },
          ),
      );
      request.answered = true;
      const events = settlementEvents(computation, receipt.logs);
      const restored = restoredEvents(registry, receipt.logs);
      if (request.status !== Status.Pending) {
        // An answer after a refund changes nothing.
        expect(events, "events of an answer to a settled request").to.deep.equal([]);
        expect(restored, "budget given back by an answer to a settled request").to.deep.equal([]);
        return;
      }
      const minedAt = BigInt((await ethers.provider.getBlock(receipt.blockNumber))!.timestamp);
      const reason = minedAt > request.deadline ? Reason.Late : failureReason(step.mode);
      if (reason === undefined) {
        request.status = Status.Fulfilled;
        for (const { seller, amount } of request.payouts) credit(model, seller, amount);
        model.accrued += OPERATOR_FEE;
        expect(events).to.deep.equal(["ComputationFulfilled"]);
        expect(restored, "budget given back by a fulfilment").to.deep.equal([]);
      } else {
        request.status = Status.Failed;
        request.reason = reason;
        credit(model, request.buyer, request.price + OPERATOR_FEE);
        expect(events).to.deep.equal([`ComputationFailed(${reason})`]);
        expect(restored, "budget given back by a failure").to.deep.equal(expectedRestores(request));
        giveBack(request);
      }
      return;
    }
    case "warp": {
      if (step.seconds > 0) await time.increase(step.seconds);
      return;
    }
    case "refund": {
      if (model.requests.length === 0) return;
      const request = model.requests[step.pick % model.requests.length];
      const { deadline } = request;
      if (request.status !== Status.Pending) {
        // Settled once: neither a second refund nor a refund after a (late) failure or a fulfilment.
        await expect(computation.refund(request.requestId))
          .to.be.revertedWithCustomError(computation, "AlgorithmComputation__NotPending")
          .withArgs(request.requestId, request.status);
        return;
      }
      if (step.early && BigInt(await time.latest()) + 1n <= deadline) {
        await expect(computation.refund(request.requestId))
          .to.be.revertedWithCustomError(computation, "AlgorithmComputation__NotExpired")
          .withArgs(request.requestId, deadline);
        return;
      }
      if (BigInt(await time.latest()) <= deadline) await time.increaseTo(deadline + 1n);
      const receipt = await mined(computation.refund(request.requestId));
      expect(settlementEvents(computation, receipt.logs)).to.deep.equal(["ComputationRefunded"]);
      expect(restoredEvents(registry, receipt.logs), "budget given back by a refund").to.deep.equal(expectedRestores(request));
      request.status = Status.Refunded;
      credit(model, request.buyer, request.price + OPERATOR_FEE);
      giveBack(request);
      return;
    }
    case "distribute": {
      const share = model.accrued / 3n;
      if (share === 0n) {
        await expect(computation.distributeOperatorFees()).to.be.revertedWithCustomError(
          computation,
          "AlgorithmComputation__NothingToDistribute",
        );
        return;
      }
      await mined(computation.distributeOperatorFees());
      model.accrued -= share * 3n;
      for (const op of market.operators) credit(model, op.address, share);
      return;
    }
    case "withdraw": {
      const account = market.accounts[step.who % market.accounts.length];
      const due = owed(model, account.address);
      if (due === 0n) {
        await expect(computation.connect(account).withdraw())
          .to.be.revertedWithCustomError(computation, "AlgorithmComputation__NothingToWithdraw")
          .withArgs(account.address);
        return;
      }
      const before = await paymentToken.balanceOf(account.address);
      await mined(computation.connect(account).withdraw());
      const received = (await paymentToken.balanceOf(account.address)) - before;
      // Record what actually arrived, not what the model expected: the invariant compares them.
      model.withdrawn.set(account.address, (model.withdrawn.get(account.address) ?? 0n) + received);
      return;
    }
    case "deregister": {
      const listed = model.datasets.filter((d) => !d.deregistered);
      if (listed.length === 0) return;
      const dataset = listed[step.pick % listed.length];
      await mined(registry.connect(dataset.seller).deregisterDataset(dataset.id));
      dataset.deregistered = true;
      return;
    }
    case "withdrawStake": {
      const waiting = model.datasets.filter((d) => d.deregistered && !d.stakeWithdrawn);
      if (waiting.length === 0) return;
      const dataset = waiting[step.pick % waiting.length];
      const { stakeReleaseTime } = await registry.getDataset(dataset.id);
      if ((await time.latest()) + 1 < Number(stakeReleaseTime)) await time.increaseTo(Number(stakeReleaseTime));
      const before = await paymentToken.balanceOf(dataset.seller.address);
      await mined(registry.connect(dataset.seller).withdrawStake(dataset.id));
      expect((await paymentToken.balanceOf(dataset.seller.address)) - before).to.equal(dataset.stake);
      dataset.stakeWithdrawn = true;
      await expect(registry.connect(dataset.seller).withdrawStake(dataset.id))
        .to.be.revertedWithCustomError(registry, "DatasetRegistry__NoStake")
        .withArgs(dataset.id);
      return;
    }
  }
}

async function checkInvariants(market: Market, model: Model, where: string): Promise<void> {
  const { computation, registry, paymentToken } = market;
  const computationAddress = await computation.getAddress();

  let escrow = 0n;
  for (const request of model.requests) {
    const onChain = await computation.getRequest(request.requestId);
    expect(Number(onChain.status), `${where}: status of ${request.requestId}`).to.equal(request.status);
    expect(onChain.buyer).to.equal(request.buyer);
    expect(onChain.deadline, `${where}: deadline of ${request.requestId}`).to.equal(request.deadline);
    expect(onChain.price, `${where}: escrowed price`).to.equal(request.price);
    expect(onChain.fee).to.equal(OPERATOR_FEE);
    if (request.status === Status.Pending) escrow += onChain.price + onChain.fee;
  }
  let balances = 0n;
  for (const account of market.accounts) {
    const withdrawable = await computation.withdrawable(account.address);
    balances += withdrawable;
    // Nobody is paid twice: withdrawn + still withdrawable == credited by the model.
    expect(
      (model.withdrawn.get(account.address) ?? 0n) + withdrawable,
      `${where}: withdrawn + withdrawable of ${account.address}`,
    ).to.equal(model.credited.get(account.address) ?? 0n);
  }
  const accrued = await computation.operatorFeesAccrued();
  expect(accrued, `${where}: accrued operators' fees`).to.equal(model.accrued);
  expect(await paymentToken.balanceOf(computationAddress), `${where}: computation contract's tokens`).to.equal(
    escrow + balances + accrued,
  );

  let locked = 0n;
  let lockedOnChain = 0n;
  for (const dataset of model.datasets) {
    if (!dataset.stakeWithdrawn) locked += dataset.stake;
    lockedOnChain += (await registry.getDataset(dataset.id)).stake;
  }
  expect(lockedOnChain, `${where}: Σ stakes on chain`).to.equal(locked);

  for (const dataset of model.datasets) {
    const [total, spent, remaining] = await registry.budgetOf(dataset.id);
    // Unsigned on chain: neither can be negative; the model's must agree.
    expect([total, spent, remaining], `${where}: budget of ${dataset.id}`).to.deep.equal([dataset.budget, dataset.spent, dataset.budget - dataset.spent]);
    expect(spent + remaining, `${where}: spent + remaining of ${dataset.id}`).to.equal(total);
    // Independently of the model's running count: what the requests still holding ε spent.
    const held = model.requests
      .filter((r) => (r.status === Status.Pending || r.status === Status.Fulfilled) && r.datasets.includes(dataset))
      .reduce((sum, r) => sum + r.epsilon, 0n);
    expect(spent, `${where}: budget spent on ${dataset.id} by Pending and Fulfilled requests`).to.equal(held);
    expect((await registry.getSaleTerms(dataset.id, algorithmId(ALGORITHM))).exactAllowed).to.equal(dataset.exact);
  }
  expect(await paymentToken.balanceOf(await registry.getAddress()), `${where}: registry's tokens`).to.equal(locked);
}

describe("market invariants (property-based)", function () {
  this.timeout(180_000);

  it(`keeps escrow, balances and stakes backed by tokens, settles each request once, late or not, pays nobody twice, and keeps every budget's spent + remaining = total, giving ε back once (${NUM_RUNS} runs of ≤ ${MAX_STEPS} steps)`, async function () {
    const seen = { steps: 0, fulfilled: 0, failed: 0, late: 0, refunded: 0, overBound: 0, withdrawals: 0, gaveBack: 0, exhausted: 0, exactRefused: 0, exactSold: 0, belowSpent: 0, policies: 0 };
    await fc.assert(
      fc.asyncProperty(sequenceArbitrary, async (steps) => {
        const market = await loadFixture(deployMarketForInvariants);
        const model: Model = {
          datasets: [],
          requests: [],
          credited: new Map(),
          withdrawn: new Map(),
          accrued: 0n,
          registered: 0,
          overBound: 0,
          exhausted: 0,
          exactRefused: 0,
          belowSpent: 0,
        };
        await checkInvariants(market, model, "initial");
        for (const [i, step] of steps.entries()) {
          await runStep(market, model, step);
          await checkInvariants(market, model, `after step ${i} (${step.kind})`);
          seen.steps++;
          if (step.kind === "withdraw") seen.withdrawals++;
          if (step.kind === "setPolicy") seen.policies++;
        }
        for (const r of model.requests) {
          if (r.status === Status.Fulfilled) seen.fulfilled++;
          if (r.status === Status.Failed) seen.failed++;
          if (r.reason === Reason.Late) seen.late++;
          if (r.status === Status.Refunded) seen.refunded++;
          if ((r.status === Status.Failed || r.status === Status.Refunded) && r.epsilon > 0n) seen.gaveBack++;
          if (r.epsilon === 0n) seen.exactSold++;
        }
        seen.overBound += model.overBound;
        seen.exhausted += model.exhausted;
        seen.exactRefused += model.exactRefused;
        seen.belowSpent += model.belowSpent;
        // Drain: everyone withdraws what is left; then only escrow of Pending requests and
        // undistributed fees may remain.
        for (const account of market.accounts) {
          if (owed(model, account.address) > 0n) await runStep(market, model, { kind: "withdraw", who: market.accounts.indexOf(account) });
        }
        await checkInvariants(market, model, "after draining");
      }),
      { numRuns: NUM_RUNS },
    );
    // A property that never exercised the paths it is about would pass vacuously.
    expect(seen.fulfilled, "fulfilled requests over all runs").to.be.greaterThan(0);
    expect(seen.failed + seen.refunded, "failed or refunded requests over all runs").to.be.greaterThan(0);
    expect(seen.late, "late fulfilments over all runs").to.be.greaterThan(0);
    expect(seen.refunded, "refunded requests over all runs").to.be.greaterThan(0);
    expect(seen.overBound, "purchases refused over the buyer's bound over all runs").to.be.greaterThan(0);
    expect(seen.gaveBack, "failed or refunded requests that gave budget back over all runs").to.be.greaterThan(0);
    expect(seen.exhausted, "purchases refused for want of budget over all runs").to.be.greaterThan(0);
    expect(seen.exactRefused, "exact purchases refused over all runs").to.be.greaterThan(0);
    expect(seen.exactSold, "exact purchases sold over all runs").to.be.greaterThan(0);
    expect(seen.policies, "policy changes over all runs").to.be.greaterThan(0);
  });
});
