/**
 * Property-based test of the market's money: random sequences of dataset
 * registrations, price changes, buyers' requests (with a price bound the
 * current price may exceed), the relay's fulfilments (valid, empty, malformed,
 * badly signed, signed for another chain; on time, in the deadline's last
 * second or late), time travel, refunds after the deadline, fee distributions,
 * withdrawals, deregistrations and stake withdrawals, and the privacy budget's
 * moves (requests spending ε, or exact ones with ε 0, sellers' policy changes
 * of the total budget and of exact answers), run against the real contracts
 * (and the real Chainlink Operator) on the in-process chain. Since then the
 * market grew, and so did the steps:
 *
 * - subscriptions: sellers' offers (period, price per period, quota; or
 *   withdrawn with zeros, or malformed), subscribing and renewing (refused when
 *   the offer changed while the subscription runs), unsubscribing (the periods
 *   not begun credited back), anyone releasing what the seller earned pro rata
 *   to the second, subscribers reclaiming what was not earned once the dataset
 *   is deregistered, and withdrawals of that registry income; a subscriber's
 *   request within its period's quota costs nothing for the dataset, beyond it
 *   the price (the `ComputationRequested` price is checked against the model);
 * - trials: sellers' trial offers, and trial requests (price 0, only the
 *   operators' fee escrowed; refused without a trial left or with an ε outside
 *   the trial's; a failed or refunded trial gives its ε back, not the trial);
 * - penalties: two hosts' attestations punishing a dataset of a request (a
 *   Pending request fails with reason 7 and a refund, a settled one is left as
 *   is, a fulfilled one cannot be accused; part of the stake slashed, part of
 *   that credited to the buyer, the rest burned; the dataset deregistered), a
 *   forged attestation and a repeat (both refused, changing nothing);
 * - payouts: sellers naming payees, who share every fulfilment and every
 *   subscription release by basis points (rounding stays with the seller);
 * - prepaid operators' fees: buyers prepaying fee credits (a count of 0
 *   refused) and reclaiming them all into their withdrawable balance (none
 *   left: refused); a request that escrows no price (covered by a subscription
 *   on every dataset, or a trial) uses one of its buyer's credits and moves no
 *   token, any other request moves price + fee from its buyer (each request's
 *   `Transfer` events are checked against the model).
 *
 * Every kind of step may come in every run, but a few dozen steps spread evenly
 * over twenty-odd kinds would seldom build the chains that matter (offer,
 * subscribe, buy within the quota and beyond it, change the offer, renew;
 * subscribe, deregister, reclaim; request, answer, punish), so the property is
 * checked in three themes with runs of their own, each favouring one part of the
 * market (see THEMES) and each required to have taken its paths at least once.
 *
 * A model computes what every account should have been credited (computation
 * balances and registry income apart), how each request ends (including the
 * reason a failure names), every dataset's budget, stake, offers and payees and
 * every subscription; the block timestamp of each step whose outcome depends
 * on time is pinned, so the model knows the second it runs in. After every step
 * the chain must agree with it and with these invariants:
 *
 * - the AlgorithmComputation contract holds exactly Σ escrow of Pending
 *   requests + Σ withdrawable balances + accrued operators' fees + Σ fee
 *   credits × the operators' fee, and each buyer's credits are the model's;
 * - the DatasetRegistry holds exactly Σ stakes not yet withdrawn (less what
 *   punishments slashed) + Σ subscription payments held (paid − released −
 *   refunded or reclaimed) + Σ registry income not yet withdrawn;
 * - the burn address received exactly Σ (slashed − compensation);
 * - nobody is paid twice: what each account withdrew plus what it can still
 *   withdraw equals what the model credited it, for the computation's balances
 *   and the registry's income alike; a request settles once (a late
 *   fulfilment fails it and credits the buyer, after which no refund succeeds;
 *   a fulfilment after a refund or a punishment changes nothing);
 * - per dataset, spent + remaining = total (`budgetOf`), neither negative, and
 *   spent is exactly Σ ε of the requests over it (trial requests included) that
 *   are Pending or Fulfilled: a Failed or Refunded request gave its ε back to
 *   each of its datasets, once (each settlement's `PrivacyBudgetRestored`
 *   events are checked too), and a request refused for want of budget, of exact
 *   permission, of a trial or over the price bound spent nothing.
 */
import { expect } from "chai";
import fc from "fast-check";
import { network } from "hardhat";
import type { ContractTransactionReceipt, Interface, Log, Result, Signer } from "ethers";
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
/** Runs of each theme (see THEMES). */
const NUM_RUNS = { money: 36, subscriptions: 20, trialsAndPenalties: 24 };
const MAX_STEPS = 30;
/** The whole of a payment, in basis points. */
const BPS = 10_000n;
/** Where the slashed stake that compensates nobody goes (`DatasetRegistry.BURN_ADDRESS`). */
const BURN_ADDRESS = "0x000000000000000000000000000000000000dEaD";
/** The offences a host may attest (`PenaltyCourt`). */
const OFFENCES = [1, 2] as const;
/** Ordered pairs of distinct hosts, as two attestations name them. */
const HOST_PAIRS: [number, number][] = [
  [0, 1],
  [0, 2],
  [1, 2],
  [1, 0],
  [2, 0],
  [2, 1],
];
/** A key that is no host's signer. */
const FORGER = new ethers.Wallet(ethers.id("invariants forger"));

/** `ComputationFailed` reasons the steps provoke. */
enum Reason {
  BridgeError = 1,
  Malformed = 2,
  BadSignature = 3,
  Late = 6,
  Offence = 7,
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
  const court = await ethers.getContractAt("PenaltyCourt", addresses.penaltyCourt);
  // Sellers stake and buyers subscribe through the registry; buyers pay requests to the computation.
  for (const account of new Set([...sellers, ...buyers])) {
    await (await paymentToken.connect(account).approve(addresses.registry, ethers.MaxUint256)).wait();
  }
  for (const buyer of buyers) {
    await (await paymentToken.connect(buyer).approve(await computation.getAddress(), ethers.MaxUint256)).wait();
  }
  // Everyone who can ever be credited or hold a stake, deduplicated (payees are chosen among them).
  const accounts = [...new Set([...sellers, ...buyers, ...operators])];
  // What the hosts' signatures are bound to.
  const scope = { chainId: (await ethers.provider.getNetwork()).chainId, consumer: await computation.getAddress() };
  const [slashBps, compensationBps] = await court.terms();
  const burnedBefore = await paymentToken.balanceOf(BURN_ADDRESS);
  return {
    addresses,
    relay,
    sellers,
    buyers,
    operators,
    accounts,
    hostSigners,
    scope,
    paymentToken,
    registry,
    operator,
    computation,
    court,
    slashBps,
    compensationBps,
    burnedBefore,
  };
}

type Market = Awaited<ReturnType<typeof deployMarketForInvariants>>;

/** What the model knows about a dataset. */
interface DatasetModel {
  id: string;
  seller: Signer & { address: string };
  price: bigint;
  /** The stake locked: what was staked less what punishments slashed (what `withdrawStake` pays). */
  stake: bigint;
  deregistered: boolean;
  /** When it was deregistered (by its seller or a punishment): subscriptions earn nothing after. */
  deregisteredAt?: bigint;
  stakeWithdrawn: boolean;
  /** Total privacy budget, milli-ε. */
  budget: bigint;
  /** Budget spent by Pending and Fulfilled requests, milli-ε. */
  spent: bigint;
  /** Whether the seller allows exact answers of the algorithm. */
  exact: boolean;
  /** The seller's subscription offer (period 0: none). */
  offer: { period: bigint; price: bigint; quota: bigint };
  /** The seller's trial offer (perBuyer 0: none) and the allowance left. */
  trial: { perBuyer: bigint; epsilon: bigint; remaining: bigint };
  /** Trials each buyer has used. */
  trialsUsed: Map<string, bigint>;
  /** Who shares its revenue besides the seller, in basis points. */
  payees: { account: string; share: bigint }[];
}

/** What the model knows about one buyer's subscription to one dataset. */
interface SubscriptionModel {
  dataset: DatasetModel;
  buyer: string;
  start: bigint;
  end: bigint;
  period: bigint;
  quota: bigint;
  /** The price of a period as bought: the seller earns it per period, pro rata to the second. */
  pricePerPeriod: bigint;
  /** Paid and not refunded or reclaimed. */
  paid: bigint;
  released: bigint;
  /** Covered computations used, per period index from `start`. */
  usedIn: Map<bigint, bigint>;
}

/** What the model knows about a request, and what the relay needs to answer it. */
interface RequestModel {
  requestId: string;
  buyer: string;
  /** What each dataset is paid at fulfilment (0 when a subscription or a trial covers it). */
  payouts: { dataset: DatasetModel; amount: bigint }[];
  price: bigint;
  /** The datasets it spent `epsilon` of, ascending. */
  datasets: DatasetModel[];
  epsilon: bigint;
  trial: boolean;
  /** Its fee was paid by one of its buyer's fee credits (no token moved). */
  prepaid: boolean;
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
  subscriptions: SubscriptionModel[];
  /** Computation balances credited and withdrawn. */
  credited: Map<string, bigint>;
  withdrawn: Map<string, bigint>;
  /** Registry income (subscription releases, refunds, reclaims, compensations) credited and withdrawn. */
  incomeCredited: Map<string, bigint>;
  incomeWithdrawn: Map<string, bigint>;
  accrued: bigint;
  /** Each buyer's prepaid operators' fees, counted in requests. */
  feeCredits: Map<string, bigint>;
  /** Sent to the burn address by punishments. */
  burned: bigint;
  /** `${requestId}/${datasetId}` of every punishment. */
  punished: Set<string>;
  registered: number;
  /** How often each path of interest was taken (over all runs: shared by the runs' models). */
  tally: Map<string, number>;
}

type FulfilMode = "valid" | "empty" | "malformed" | "wrongSigner" | "wrongResult" | "otherChain";
/** When the answer is mined: as soon as possible, in the deadline's own second, or after it. */
type Timing = "now" | "lastSecond" | "late";

/**
 * Which requests a punishment picks from (none such: the step does nothing); "punished": a
 * dataset of a request it was punished for already.
 */
type PunishTarget = "any" | "pending" | "fulfilled" | "settled" | "punished";

type Step =
  | { kind: "register"; seller: number; price: number; priceWei: number; extraStake: number; budget: number; exact: boolean }
  | { kind: "reprice"; pick: number; price: number; priceWei: number }
  | { kind: "setPolicy"; pick: number; delta: number; exact: boolean }
  | { kind: "request"; buyer: number; picks: number[]; slack: number; epsilon: number; asSubscriber: boolean }
  | { kind: "fulfil"; pick: number; mode: FulfilMode; timing: Timing }
  | { kind: "warp"; seconds: number }
  | { kind: "refund"; pick: number; early: boolean; pending: boolean }
  | { kind: "distribute" }
  | { kind: "withdraw"; who: number }
  | { kind: "deregister"; pick: number }
  | { kind: "withdrawStake"; pick: number }
  | { kind: "offerSubscription"; pick: number; period: number; price: number; priceWei: number; quota: number; subscribed: boolean }
  | { kind: "subscribe"; buyer: number; pick: number; periods: number; renew: boolean }
  | { kind: "unsubscribe"; buyer: number; pick: number; any: boolean }
  | { kind: "releaseSubscription"; pick: number }
  | { kind: "reclaimSubscription"; buyer: number; pick: number; any: boolean }
  | { kind: "withdrawIncome"; who: number }
  | { kind: "setTrialTerms"; pick: number; perBuyer: number; epsilon: number; allowance: number; bad: boolean }
  | { kind: "trialRequest"; buyer: number; picks: number[]; slack: number; epsilon: number; offered: boolean }
  | { kind: "punish"; pick: number; state: PunishTarget; datasetPick: number; hosts: number; offences: [number, number]; forged: number }
  | { kind: "setPayouts"; pick: number; payees: { who: number; share: number }[] }
  | { kind: "prepayFees"; buyer: number; count: number }
  | { kind: "reclaimFeeCredits"; buyer: number };

/**
 * A registration. Mostly the default total budget; some of only a few requests or none, so
 * that budgets run out within a run, unless `friendly` (runs about other things).
 */
function registerArbitraryOf(friendly: boolean): fc.Arbitrary<Step> {
  return fc.record({
    kind: fc.constant("register" as const),
    seller: fc.nat(2),
    price: fc.nat(40),
    priceWei: fc.nat(1000),
    extraStake: fc.nat(3),
    budget: friendly ? fc.constantFrom(10_000, 20_000) : fc.constantFrom(0, 2000, 10_000, 10_000, 10_000),
    exact: fc.constantFrom(true, true, false),
  });
}

/**
 * A subscription offer. Periods of one to a few request timeouts, so that a run sees
 * periods roll over and subscriptions end, and sees a subscriber buy twice in one period.
 */
function offerArbitraryOf(valid: boolean): fc.Arbitrary<Step> {
  return fc.record({
    kind: fc.constant("offerSubscription" as const),
    pick: fc.nat(30),
    // 0 withdraws the offer (all zeros); a positive period with quota 0 is malformed.
    period: valid ? fc.constantFrom(900, 1800, 3600) : fc.constantFrom(0, 900, 1800, 3600, 3600),
    price: fc.nat(20),
    priceWei: fc.nat(1000),
    quota: valid ? fc.constantFrom(1, 1, 2) : fc.constantFrom(1, 1, 1, 2, 0),
    // A dataset with a running subscription, if any: its subscriber's renewal then meets new terms.
    subscribed: fc.boolean(),
  });
}
const offerArbitrary = offerArbitraryOf(false);

/** A trial offer; `valid` ones neither withdraw the offer nor are malformed. */
function trialTermsArbitraryOf(valid: boolean): fc.Arbitrary<Step> {
  return fc.record({
    kind: fc.constant("setTrialTerms" as const),
    pick: fc.nat(30),
    // 0 withdraws the offer (all zeros); `bad` sends a positive per-buyer count with ε 0.
    perBuyer: valid ? fc.constantFrom(1, 2) : fc.constantFrom(0, 1, 1, 2, 2),
    epsilon: fc.constantFrom(500, 1000, 1000),
    allowance: fc.constantFrom(1, 2, 3),
    bad: valid ? fc.constant(false) : fc.constantFrom(false, false, false, false, true),
  });
}
const trialTermsArbitrary = trialTermsArbitraryOf(false);

/** A prepayment of operators' fees; a count of 0 is refused. */
const prepayArbitrary: fc.Arbitrary<Step> = fc.record({
  kind: fc.constant("prepayFees" as const),
  buyer: fc.nat(2),
  count: fc.constantFrom(0, 1, 2, 2, 3),
});

const payoutsArbitrary: fc.Arbitrary<Step> = fc.record({
  kind: fc.constant("setPayouts" as const),
  pick: fc.nat(30),
  // Up to two payees (among every account but the seller); 5000 + 9999 is over the whole and refused.
  payees: fc.array(fc.record({ who: fc.nat(20), share: fc.constantFrom(1, 333, 2500, 5000, 9999) }), { maxLength: 2 }),
});

/**
 * Each kind of step's arbitrary. `friendly` ones are for runs about other things than
 * refusals of requests and failures of answers (which the money runs cover): requests within
 * the buyer's bound and the budget, answers mostly valid and on time.
 */
function stepArbitraries(friendly: boolean): Record<Step["kind"], fc.Arbitrary<Step>> {
  return {
    register: registerArbitraryOf(friendly),
    reprice: fc.record({ kind: fc.constant("reprice" as const), pick: fc.nat(30), price: fc.nat(40), priceWei: fc.nat(1000) }),
    // The new total is what is spent plus `delta` (at least 0): below what is spent when `delta` < 0.
    setPolicy: fc.record({
      kind: fc.constant("setPolicy" as const),
      pick: fc.nat(30),
      delta: fc.integer({ min: -1500, max: 3000 }),
      exact: fc.boolean(),
    }),
    request: fc.record({
      kind: fc.constant("request" as const),
      buyer: fc.nat(2),
      picks: fc.uniqueArray(fc.nat(30), { minLength: 1, maxLength: friendly ? 2 : 3 }),
      // The buyer's bound over the current total: under it (a quote taken before a price rise), exact, or above.
      slack: friendly ? fc.constantFrom(0, 1, 1000) : fc.constantFrom(-1, 0, 0, 1, 1000),
      // ε in milli-ε; 0 asks for an exact answer.
      epsilon: friendly ? fc.constantFrom(500, 1000, 1000) : fc.constantFrom(0, 1000, 1000, 1000, 1500),
      // A running subscription's buyer buying over its dataset (and maybe others), if there is one.
      asSubscriber: fc.constantFrom(false, true, true),
    }),
    fulfil: fc.record({
      kind: fc.constant("fulfil" as const),
      pick: fc.nat(30),
      mode: friendly
        ? fc.constantFrom<FulfilMode>("valid", "valid", "valid", "valid", "empty", "wrongSigner")
        : fc.constantFrom<FulfilMode>("valid", "valid", "valid", "empty", "malformed", "wrongSigner", "wrongResult", "otherChain"),
      timing: friendly ? fc.constantFrom<Timing>("now", "now", "now", "lastSecond", "late") : fc.constantFrom<Timing>("now", "now", "lastSecond", "late"),
    }),
    warp: fc.record({ kind: fc.constant("warp" as const), seconds: fc.nat(2 * REQUEST_TIMEOUT) }),
    // `pending`: among Pending requests, if any (else any request: mostly settled, refused).
    refund: fc.record({ kind: fc.constant("refund" as const), pick: fc.nat(30), early: fc.boolean(), pending: fc.boolean() }),
    distribute: fc.record({ kind: fc.constant("distribute" as const) }),
    withdraw: fc.record({ kind: fc.constant("withdraw" as const), who: fc.nat(20) }),
    deregister: fc.record({ kind: fc.constant("deregister" as const), pick: fc.nat(30) }),
    withdrawStake: fc.record({ kind: fc.constant("withdrawStake" as const), pick: fc.nat(30) }),
    offerSubscription: offerArbitrary,
    subscribe: fc.record({
      kind: fc.constant("subscribe" as const),
      buyer: fc.nat(2),
      pick: fc.nat(30),
      // Mostly several periods: unsubscribing then has periods not begun to give back.
      periods: fc.constantFrom(2, 3, 1),
      // Renew a running subscription (its buyer, its dataset), if there is one.
      renew: fc.boolean(),
    }),
    // `any`: a dataset and buyer picked blindly (mostly no running subscription: refused).
    unsubscribe: fc.record({ kind: fc.constant("unsubscribe" as const), buyer: fc.nat(2), pick: fc.nat(30), any: fc.constantFrom(false, false, false, true) }),
    releaseSubscription: fc.record({ kind: fc.constant("releaseSubscription" as const), pick: fc.nat(30) }),
    reclaimSubscription: fc.record({
      kind: fc.constant("reclaimSubscription" as const),
      buyer: fc.nat(2),
      pick: fc.nat(30),
      any: fc.constantFrom(false, false, false, true),
    }),
    withdrawIncome: fc.record({ kind: fc.constant("withdrawIncome" as const), who: fc.nat(20) }),
    setTrialTerms: trialTermsArbitrary,
    trialRequest: fc.record({
      kind: fc.constant("trialRequest" as const),
      buyer: fc.nat(2),
      picks: fc.uniqueArray(fc.nat(30), { minLength: 1, maxLength: 2 }),
      slack: fc.constantFrom(-1, 0, 0, 0, 1000),
      epsilon: fc.constantFrom(0, 500, 500, 1000, 1000, 1500),
      // Among datasets offering trials, if any.
      offered: fc.constantFrom(false, true, true, true),
    }),
    punish: fc.record({
      kind: fc.constant("punish" as const),
      pick: fc.nat(30),
      state: fc.constantFrom<PunishTarget>("fulfilled", "pending", "settled", "punished", "any", "fulfilled", "pending", "settled"),
      datasetPick: fc.nat(3),
      hosts: fc.nat(HOST_PAIRS.length - 1),
      offences: fc.tuple(fc.constantFrom(...OFFENCES), fc.constantFrom(...OFFENCES)),
      // The index of the attestation a forger signs; -1: none.
      forged: fc.constantFrom(-1, -1, -1, 0, 1),
    }),
    setPayouts: payoutsArbitrary,
    prepayFees: prepayArbitrary,
    reclaimFeeCredits: fc.record({ kind: fc.constant("reclaimFeeCredits" as const), buyer: fc.nat(2) }),
  };
}

/**
 * A run's theme: how often each kind of step comes, and the setup after the first
 * registrations. Every kind may come in every theme (so that they interleave), but a run of
 * a few dozen steps spread evenly over all of them would seldom build the chains the
 * invariants are about (offer, subscribe, request within the quota and beyond it, change the
 * offer, renew; subscribe, deregister, reclaim; trial offer, trial request, punishment), so
 * each theme favours one part of the market.
 */
interface Theme {
  name: string;
  runs: number;
  /** The paths (tallies) its runs must take at least once between them, or the property would pass vacuously. */
  exercises: string[];
  /** fast-check's seed for its runs. */
  seed: number;
  weights: Record<Step["kind"], number>;
  friendly: boolean;
  /** What follows the first registrations. */
  setup: fc.Arbitrary<Step[]>;
}

/** Requests and answers as in the runs that are not about their refusals and failures. */
const FRIENDLY = stepArbitraries(true);

/** A first subscription (to an offered dataset, if any). */
const subscribeArbitrary: fc.Arbitrary<Step> = fc.record({
  kind: fc.constant("subscribe" as const),
  buyer: fc.nat(2),
  pick: fc.nat(30),
  periods: fc.constantFrom(2, 3, 1),
  renew: fc.constant(false),
});

const MONEY: Theme = {
  // Requests, their settlement and withdrawals: the original test's mix, and now and then each newer step.
  name: "requests, their settlement and withdrawals",
  runs: NUM_RUNS.money,
  seed: 1,
  exercises: [
    "fulfilled",
    "failed",
    "late",
    "refunded",
    "overBound",
    "gave back",
    "exhausted",
    "exactRefused",
    "exact sold",
    "policies",
    "withdrawals",
    "fees prepaid",
    "zero prepayments refused",
    "fee credits reclaimed",
    "no fee credits refused",
  ],
  weights: {
    register: 2, reprice: 1, setPolicy: 1, request: 5, fulfil: 6, warp: 1, refund: 2, distribute: 1, withdraw: 3, deregister: 1, withdrawStake: 1,
    offerSubscription: 1, subscribe: 1, unsubscribe: 1, releaseSubscription: 1, reclaimSubscription: 1, withdrawIncome: 1,
    setTrialTerms: 1, trialRequest: 1, punish: 1, setPayouts: 1, prepayFees: 2, reclaimFeeCredits: 1,
  },
  friendly: false,
  setup: fc.array(fc.oneof(payoutsArbitrary, offerArbitraryOf(true), trialTermsArbitraryOf(true)), { maxLength: 2 }),
};

const SUBSCRIPTIONS: Theme = {
  // Offers, subscribers' requests within and beyond the quota, offers changed under running
  // subscriptions, renewals, releases, unsubscriptions, deregistrations (also by punishment) and reclaims.
  name: "subscriptions",
  runs: NUM_RUNS.subscriptions,
  seed: 2,
  exercises: [
    "subscriptions",
    "covered by a subscription",
    "beyond the quota",
    "renewals",
    "terms changed",
    "unsubscribe refunds",
    "releases",
    "reclaims",
    "payee credited",
    "income withdrawals",
    "fee paid by a credit",
    "no price, fee paid by transfer",
    "credit-paid requests refunded",
  ],
  weights: {
    register: 1, reprice: 1, setPolicy: 0, request: 8, fulfil: 3, warp: 3, refund: 1, distribute: 0, withdraw: 1, deregister: 3, withdrawStake: 1,
    offerSubscription: 4, subscribe: 6, unsubscribe: 3, releaseSubscription: 2, reclaimSubscription: 4, withdrawIncome: 2,
    setTrialTerms: 0, trialRequest: 1, punish: 2, setPayouts: 1, prepayFees: 2, reclaimFeeCredits: 1,
  },
  friendly: true,
  // An offer, payees, one or two subscriptions (maybe with fee credits prepaid by the
  // subscriber), the subscribers' first requests, and maybe a new offer under them.
  setup: fc
    .tuple(
      offerArbitraryOf(true),
      payoutsArbitrary,
      fc.array(fc.tuple(subscribeArbitrary, fc.constantFrom(0, 1, 2)), { minLength: 1, maxLength: 2 }),
      fc.array(FRIENDLY.request, { maxLength: 2 }),
      fc.array(offerArbitraryOf(true), { maxLength: 1 }),
    )
    .map(([offer, payouts, subscriptions, requests, changes]) => [
      offer,
      payouts,
      ...subscriptions.flatMap(([subscribe, credits]): Step[] =>
        credits === 0 || subscribe.kind !== "subscribe" ? [subscribe] : [subscribe, { kind: "prepayFees", buyer: subscribe.buyer, count: credits }],
      ),
      ...requests.map((r) => ({ ...r, asSubscriber: true })),
      ...changes.map((c) => ({ ...c, subscribed: true })),
    ]),
};

const TRIALS_AND_PENALTIES: Theme = {
  // Trial offers and requests, their settlement, and punishments of requests in every state.
  name: "trials and penalties",
  runs: NUM_RUNS.trialsAndPenalties,
  seed: 3,
  exercises: [
    "trial requests",
    "no trial",
    "trial ε refused",
    "trials gave ε back",
    "pending requests punished",
    "settled requests punished",
    "fulfilled requests not punishable",
    "forged attestations refused",
    "repeat punishments refused",
    "income withdrawals",
    "trial fee paid by a credit",
  ],
  weights: {
    register: 1, reprice: 0, setPolicy: 1, request: 5, fulfil: 8, warp: 1, refund: 2, distribute: 1, withdraw: 1, deregister: 1, withdrawStake: 1,
    offerSubscription: 0, subscribe: 1, unsubscribe: 0, releaseSubscription: 0, reclaimSubscription: 1, withdrawIncome: 2,
    setTrialTerms: 2, trialRequest: 6, punish: 6, setPayouts: 2, prepayFees: 2, reclaimFeeCredits: 1,
  },
  friendly: true,
  // One or two trial offers, maybe payees, a request and a trial request (something to answer
  // and to punish), maybe with a fee credit its buyer prepaid.
  setup: fc
    .tuple(
      fc.array(trialTermsArbitraryOf(true), { minLength: 1, maxLength: 2 }),
      fc.array(payoutsArbitrary, { maxLength: 1 }),
      FRIENDLY.request,
      FRIENDLY.trialRequest,
      fc.boolean(),
    )
    .map(([trials, payouts, request, trialRequest, prepay]): Step[] => [
      ...trials,
      ...payouts,
      request,
      ...(prepay && trialRequest.kind === "trialRequest" ? [{ kind: "prepayFees" as const, buyer: trialRequest.buyer, count: 1 }] : []),
      trialRequest,
    ]),
};

/** Each theme is a property of its own, with a fixed number of runs. */
const THEMES: Theme[] = [MONEY, SUBSCRIPTIONS, TRIALS_AND_PENALTIES];

/**
 * A sequence of at most MAX_STEPS steps of one theme that starts by registering one or two
 * datasets and setting up offers or payees, so that most sequences reach requests,
 * subscriptions and their settlement.
 */
function sequenceArbitrary({ weights, friendly, setup }: Theme): fc.Arbitrary<Step[]> {
  const arbitraries = stepArbitraries(friendly);
  return fc
    .tuple(
      fc.array(arbitraries.register, { minLength: 1, maxLength: 2 }),
      setup,
      fc.array(
        fc.oneof(
          ...Object.entries(weights)
            .filter(([, weight]) => weight > 0)
            .map(([kind, weight]) => ({ weight, arbitrary: arbitraries[kind as Step["kind"]] })),
        ),
        {
          minLength: 10,
          maxLength: MAX_STEPS - 4,
        },
      ),
    )
    .map(([registers, setups, rest]) => [...registers, ...setups, ...rest].slice(0, MAX_STEPS));
}

function add(map: Map<string, bigint>, key: string, amount: bigint): void {
  map.set(key, (map.get(key) ?? 0n) + amount);
}

function credit(model: Model, account: string, amount: bigint): void {
  add(model.credited, account, amount);
}

function owed(model: Model, account: string): bigint {
  return (model.credited.get(account) ?? 0n) - (model.withdrawn.get(account) ?? 0n);
}

function creditIncome(model: Model, account: string, amount: bigint): void {
  add(model.incomeCredited, account, amount);
}

function owedIncome(model: Model, account: string): bigint {
  return (model.incomeCredited.get(account) ?? 0n) - (model.incomeWithdrawn.get(account) ?? 0n);
}

function tally(model: Model, what: string): void {
  model.tally.set(what, (model.tally.get(what) ?? 0) + 1);
}

/**
 * A payment for a dataset split by its payees: each payee its basis points of the amount
 * rounded down, the seller the rest (rounding stays with the seller).
 */
function splitPayment(model: Model, dataset: DatasetModel, amount: bigint): [string, bigint][] {
  let rest = amount;
  const parts: [string, bigint][] = [];
  for (const { account, share } of dataset.payees) {
    const part = (amount * share) / BPS;
    rest -= part;
    parts.push([account, part]);
    if (part > 0n) tally(model, "payee credited");
  }
  return [[dataset.seller.address, rest], ...parts];
}

async function mined(pending: Promise<{ wait(): Promise<ContractTransactionReceipt | null> }>): Promise<ContractTransactionReceipt> {
  const receipt = await (await pending).wait();
  if (receipt === null || receipt.status !== 1) throw new Error("transaction failed");
  return receipt;
}

/**
 * Pins the next block's timestamp to the second after the latest block's and returns it:
 * both the gas estimate (where an expected revert shows) and the mined transaction run in
 * that second, so the model decides in the same second as the contracts.
 */
async function pinNextTimestamp(): Promise<bigint> {
  const next = (await time.latest()) + 1;
  await time.setNextBlockTimestamp(next);
  return BigInt(next);
}

async function timestampOf(receipt: ContractTransactionReceipt): Promise<bigint> {
  return BigInt((await ethers.provider.getBlock(receipt.blockNumber))!.timestamp);
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

/** The parsed events a contract emitted in a receipt, in order. */
function eventsOf(contract: { target: unknown; interface: Interface }, logs: readonly Log[]) {
  const address = (contract.target as string).toLowerCase();
  return logs
    .filter((log) => log.address.toLowerCase() === address)
    .map((log) => contract.interface.parseLog(log))
    .filter((parsed) => parsed !== null);
}

/** The payment token's `Transfer` events in a receipt, as [from, to, value]. */
function tokenTransfers(market: Market, receipt: ContractTransactionReceipt): unknown[][] {
  return eventsOf(market.paymentToken, receipt.logs)
    .filter((parsed) => parsed.name === "Transfer")
    .map((parsed) => [...parsed.args]);
}

/** The computation's events of one name in a receipt, as arrays of their arguments. */
function computationEvents(computation: Market["computation"], logs: readonly Log[], name: string): unknown[][] {
  return eventsOf(computation, logs)
    .filter((parsed) => parsed.name === name)
    .map((parsed) => [...parsed.args]);
}

/** The registry's events of one name in a receipt, as arrays of their arguments. */
function registryEvents(registry: Market["registry"], logs: readonly Log[], name: string): unknown[][] {
  return eventsOf(registry, logs)
    .filter((parsed) => parsed.name === name)
    .map((parsed) => [...parsed.args]);
}

/** The registry's `PrivacyBudgetRestored` events in a receipt, as [datasetId, epsilon]. */
function restoredEvents(registry: Market["registry"], logs: readonly Log[]): [string, bigint][] {
  return registryEvents(registry, logs, "PrivacyBudgetRestored").map(([id, epsilon]) => [id as string, epsilon as bigint]);
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
  const names: string[] = [];
  for (const parsed of eventsOf(computation, logs)) {
    if (parsed.name === "ComputationFailed") names.push(`ComputationFailed(${parsed.args.reason})`);
    else if (parsed.name === "ComputationFulfilled" || parsed.name === "ComputationRefunded") names.push(parsed.name);
  }
  return names;
}

function findSubscription(model: Model, dataset: DatasetModel, buyer: string): SubscriptionModel | undefined {
  return model.subscriptions.find((s) => s.dataset === dataset && s.buyer === buyer);
}

/**
 * What the seller has earned of a subscription at `now`: the price of a period for every
 * period's worth of seconds elapsed (rounded down), up to its end or the dataset's
 * deregistration, and never more than was paid.
 */
function earnedBy(sub: SubscriptionModel, now: bigint): bigint {
  let until = now;
  const cutoff = sub.dataset.deregisteredAt;
  if (cutoff !== undefined && cutoff < until) until = cutoff;
  if (until > sub.end) until = sub.end;
  if (until <= sub.start) return 0n;
  const earned = (sub.pricePerPeriod * (until - sub.start)) / sub.period;
  return earned < sub.paid ? earned : sub.paid;
}

/** Credits the seller and payees what a subscription earned beyond what was released. */
function release(model: Model, sub: SubscriptionModel, upTo: bigint): bigint {
  const amount = upTo - sub.released;
  if (amount > 0n) tally(model, "releases");
  for (const [account, part] of splitPayment(model, sub.dataset, amount)) creditIncome(model, account, part);
  sub.released = upTo;
  return amount;
}

/** Whether a buyer's running subscription covers a request over the dataset at `now`, and in which period. */
function coverage(model: Model, dataset: DatasetModel, buyer: string, now: bigint): { sub?: SubscriptionModel; index: bigint; covered: boolean } {
  const sub = findSubscription(model, dataset, buyer);
  if (sub === undefined || dataset.deregistered || !(sub.end > now)) return { index: 0n, covered: false };
  const index = (now - sub.start) / sub.period;
  return { sub, index, covered: (sub.usedIn.get(index) ?? 0n) < sub.quota };
}

function buyerSigner(market: Market, address: string) {
  const signer = market.buyers.find((b) => b.address === address);
  if (signer === undefined) throw new Error(`no buyer ${address}`);
  return signer;
}

/** Records a request that was just escrowed and sent: its Operator request and what it escrowed. */
async function recordRequest(
  market: Market,
  model: Model,
  receipt: ContractTransactionReceipt,
  request: { buyer: string; payouts: RequestModel["payouts"]; price: bigint; datasets: DatasetModel[]; epsilon: bigint; trial: boolean },
): Promise<RequestModel> {
  const { operator, computation } = market;
  const parsed = eventsOf(operator, receipt.logs).find((p) => p.name === "OracleRequest");
  if (parsed === undefined) throw new Error("no OracleRequest event");
  const { requestId, payment, callbackAddr, callbackFunctionId, cancelExpiration } = parsed.args;
  const requested = eventsOf(computation, receipt.logs).find((p) => p.name === "ComputationRequested");
  if (requested === undefined) throw new Error("no ComputationRequested event");
  // The price escrowed for the datasets: 0 for those a subscription's quota or a trial covers.
  expect(requested.args.price, "price of the request").to.equal(request.price);
  expect(requested.args.fee).to.equal(OPERATOR_FEE);
  const deadline = (await timestampOf(receipt)) + BigInt(REQUEST_TIMEOUT);
  expect(requested.args.deadline).to.equal(deadline);
  // A request with no price to move pays its fee with one of its buyer's credits, if any, and
  // moves no token; any other moves price + fee from its buyer.
  const credits = model.feeCredits.get(request.buyer) ?? 0n;
  const prepaid = request.price === 0n && credits > 0n;
  if (prepaid) model.feeCredits.set(request.buyer, credits - 1n);
  expect(tokenTransfers(market, receipt), "tokens the request moved").to.deep.equal(
    prepaid ? [] : [[request.buyer, market.scope.consumer, request.price + OPERATOR_FEE]],
  );
  if (prepaid) tally(model, request.trial ? "trial fee paid by a credit" : "fee paid by a credit");
  else if (request.price === 0n) tally(model, "no price, fee paid by transfer");
  for (const dataset of request.datasets) dataset.spent += request.epsilon;
  const model_: RequestModel = {
    requestId,
    ...request,
    prepaid,
    deadline,
    status: Status.Pending,
    answered: false,
    oracle: { payment, callbackAddr, callbackFunctionId, cancelExpiration },
  };
  model.requests.push(model_);
  return model_;
}

async function runStep(market: Market, model: Model, step: Step): Promise<void> {
  const { registry, computation, operator, paymentToken, relay, hostSigners, court } = market;
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
      model.datasets.push({
        id,
        seller,
        price,
        stake,
        deregistered: false,
        stakeWithdrawn: false,
        budget,
        spent: 0n,
        exact: step.exact,
        offer: { period: 0n, price: 0n, quota: 0n },
        trial: { perBuyer: 0n, epsilon: 0n, remaining: 0n },
        trialsUsed: new Map(),
        payees: [],
      });
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
        tally(model, "belowSpent");
        return;
      }
      await expect(send()).to.emit(registry, "PrivacyBudgetUpdated").withArgs(dataset.id, budget, budget - dataset.spent);
      dataset.budget = budget;
      dataset.exact = step.exact;
      tally(model, "policies");
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
      // Quotas are counted per period: the model must know the second the request runs in.
      const now = await pinNextTimestamp();
      let buyer = market.buyers[step.buyer];
      const picked = step.picks.map((p) => listed[p % listed.length]);
      const running = model.subscriptions.filter((s) => !s.dataset.deregistered && s.end > now);
      if (step.asSubscriber && running.length > 0) {
        const sub = running[step.picks[0] % running.length];
        buyer = buyerSigner(market, sub.buyer);
        picked[0] = sub.dataset;
      }
      const chosen = [...new Set(picked)].sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
      const covers = chosen.map((d) => coverage(model, d, buyer.address, now));
      const amounts = chosen.map((d, i) => (covers[i].covered ? 0n : d.price));
      const price = amounts.reduce((sum, a) => sum + a, 0n);
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
      // The registry spends first, dataset by dataset in id order (using subscriptions' quotas);
      // then the computation checks each dataset (exact permission), then the total against the
      // bound. Any refusal spends, escrows, uses and sends nothing: the invariants after this
      // step check it.
      const short = epsilon > 0n ? chosen.find((d) => d.budget - d.spent < epsilon) : undefined;
      if (short !== undefined) {
        await expect(send())
          .to.be.revertedWithCustomError(registry, "DatasetRegistry__BudgetExhausted")
          .withArgs(short.id, short.budget - short.spent, epsilon);
        tally(model, "exhausted");
        return;
      }
      const inexact = epsilon === 0n ? chosen.find((d) => !d.exact) : undefined;
      if (inexact !== undefined) {
        await expect(send()).to.be.revertedWithCustomError(computation, "AlgorithmComputation__ExactNotAllowed").withArgs(inexact.id);
        tally(model, "exactRefused");
        return;
      }
      if (maxTotalPrice < total) {
        await expect(send()).to.be.revertedWithCustomError(computation, "AlgorithmComputation__PriceAboveMaximum").withArgs(total, maxTotalPrice);
        tally(model, "overBound");
        return;
      }
      const receipt = await mined(send());
      expect(await timestampOf(receipt)).to.equal(now);
      tally(model, "requests");
      for (const { sub, index, covered } of covers) {
        if (sub === undefined) continue;
        if (covered) {
          sub.usedIn.set(index, (sub.usedIn.get(index) ?? 0n) + 1n);
          tally(model, "covered by a subscription");
        } else {
          tally(model, "beyond the quota");
        }
      }
      await recordRequest(market, model, receipt, {
        buyer: buyer.address,
        payouts: chosen.map((dataset, i) => ({ dataset, amount: amounts[i] })),
        price,
        datasets: chosen,
        epsilon,
        trial: false,
      });
      return;
    }
    case "trialRequest": {
      const listed = model.datasets.filter((d) => !d.deregistered);
      if (listed.length === 0) return;
      const offering = listed.filter((d) => d.trial.perBuyer > 0n);
      const candidates = step.offered && offering.length > 0 ? offering : listed;
      const buyer = market.buyers[step.buyer];
      const chosen = [...new Set(step.picks.map((p) => candidates[p % candidates.length]))].sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1));
      const epsilon = BigInt(step.epsilon);
      const maxTotalPrice = OPERATOR_FEE + BigInt(step.slack);
      const send = () =>
        computation.connect(buyer).requestTrialComputation(
          chosen.map((d) => d.id),
          JSON.stringify({ column: "cost" }),
          ethers.hexlify(ethers.randomBytes(32)),
          maxTotalPrice,
          epsilon,
        );
      // Dataset by dataset in id order: its budget, then its trial (one left for this buyer,
      // and in the dataset's allowance), then ε within the trial's.
      for (const d of chosen) {
        if (epsilon > 0n && d.budget - d.spent < epsilon) {
          await expect(send())
            .to.be.revertedWithCustomError(registry, "DatasetRegistry__BudgetExhausted")
            .withArgs(d.id, d.budget - d.spent, epsilon);
          tally(model, "exhausted");
          return;
        }
        const used = d.trialsUsed.get(buyer.address) ?? 0n;
        if (!(d.trial.perBuyer > used) || d.trial.remaining === 0n) {
          await expect(send()).to.be.revertedWithCustomError(registry, "TrialBook__NoTrial").withArgs(d.id, buyer.address);
          tally(model, "no trial");
          return;
        }
        if (epsilon === 0n || epsilon > d.trial.epsilon) {
          await expect(send()).to.be.revertedWithCustomError(registry, "TrialBook__TrialEpsilon").withArgs(d.id, epsilon, d.trial.epsilon);
          tally(model, "trial ε refused");
          return;
        }
      }
      if (maxTotalPrice < OPERATOR_FEE) {
        await expect(send()).to.be.revertedWithCustomError(computation, "AlgorithmComputation__PriceAboveMaximum").withArgs(OPERATOR_FEE, maxTotalPrice);
        tally(model, "overBound");
        return;
      }
      const receipt = await mined(send());
      const expectedUses: unknown[][] = [];
      for (const d of chosen) {
        const used = (d.trialsUsed.get(buyer.address) ?? 0n) + 1n;
        d.trialsUsed.set(buyer.address, used);
        d.trial.remaining -= 1n;
        expectedUses.push([d.id, buyer.address, used, d.trial.remaining]);
      }
      expect(registryEvents(registry, receipt.logs, "TrialUsed"), "trials used").to.deep.equal(expectedUses);
      await recordRequest(market, model, receipt, {
        buyer: buyer.address,
        payouts: chosen.map((dataset) => ({ dataset, amount: 0n })),
        price: 0n,
        datasets: chosen,
        epsilon,
        trial: true,
      });
      tally(model, "trial requests");
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
        // An answer after a refund or a punishment changes nothing.
        expect(events, "events of an answer to a settled request").to.deep.equal([]);
        expect(restored, "budget given back by an answer to a settled request").to.deep.equal([]);
        return;
      }
      const minedAt = await timestampOf(receipt);
      const reason = minedAt > request.deadline ? Reason.Late : failureReason(step.mode);
      if (reason === undefined) {
        request.status = Status.Fulfilled;
        // Each dataset's price split between its seller and its payees as they are now.
        for (const { dataset, amount } of request.payouts) {
          for (const [account, part] of splitPayment(model, dataset, amount)) credit(model, account, part);
        }
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
      const pending = model.requests.filter((r) => r.status === Status.Pending);
      const candidates = step.pending && pending.length > 0 ? pending : model.requests;
      const request = candidates[step.pick % candidates.length];
      const { deadline } = request;
      if (request.status !== Status.Pending) {
        // Settled once: neither a second refund nor a refund after a (late) failure, a punishment or a fulfilment.
        await expect(computation.refund(request.requestId))
          .to.be.revertedWithCustomError(computation, "AlgorithmComputation__NotPending")
          .withArgs(request.requestId, request.status);
        return;
      }
      if (step.early && (await pinNextTimestamp()) <= deadline) {
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
      add(model.withdrawn, account.address, received);
      tally(model, "withdrawals");
      return;
    }
    case "prepayFees": {
      const buyer = market.buyers[step.buyer];
      const count = BigInt(step.count);
      const send = () => computation.connect(buyer).prepayFees(count);
      if (count === 0n) {
        await expect(send()).to.be.revertedWithCustomError(computation, "AlgorithmComputation__ZeroCount");
        tally(model, "zero prepayments refused");
        return;
      }
      const receipt = await mined(send());
      const amount = count * OPERATOR_FEE;
      expect(computationEvents(computation, receipt.logs, "FeesPrepaid")).to.deep.equal([[buyer.address, count, amount]]);
      expect(tokenTransfers(market, receipt), "tokens a prepayment moved").to.deep.equal([[buyer.address, market.scope.consumer, amount]]);
      add(model.feeCredits, buyer.address, count);
      tally(model, "fees prepaid");
      return;
    }
    case "reclaimFeeCredits": {
      const buyer = market.buyers[step.buyer];
      const count = model.feeCredits.get(buyer.address) ?? 0n;
      const send = () => computation.connect(buyer).reclaimFeeCredits();
      if (count === 0n) {
        await expect(send()).to.be.revertedWithCustomError(computation, "AlgorithmComputation__NoFeeCredits").withArgs(buyer.address);
        tally(model, "no fee credits refused");
        return;
      }
      const receipt = await mined(send());
      const amount = count * OPERATOR_FEE;
      expect(computationEvents(computation, receipt.logs, "FeeCreditsReclaimed")).to.deep.equal([[buyer.address, count, amount]]);
      // Into the withdrawable balance: no token moves until `withdraw`.
      expect(tokenTransfers(market, receipt), "tokens a reclaim moved").to.deep.equal([]);
      model.feeCredits.set(buyer.address, 0n);
      credit(model, buyer.address, amount);
      tally(model, "fee credits reclaimed");
      return;
    }
    case "withdrawIncome": {
      const account = market.accounts[step.who % market.accounts.length];
      const due = owedIncome(model, account.address);
      if (due === 0n) {
        await expect(registry.connect(account).withdrawIncome()).to.be.revertedWithCustomError(registry, "SubscriptionBook__NothingDue");
        return;
      }
      const before = await paymentToken.balanceOf(account.address);
      await mined(registry.connect(account).withdrawIncome());
      // What arrived, not what the model expected: the invariant compares them.
      add(model.incomeWithdrawn, account.address, (await paymentToken.balanceOf(account.address)) - before);
      tally(model, "income withdrawals");
      return;
    }
    case "deregister": {
      const listed = model.datasets.filter((d) => !d.deregistered);
      if (listed.length === 0) return;
      const dataset = listed[step.pick % listed.length];
      const receipt = await mined(registry.connect(dataset.seller).deregisterDataset(dataset.id));
      dataset.deregistered = true;
      dataset.deregisteredAt = await timestampOf(receipt);
      return;
    }
    case "withdrawStake": {
      const waiting = model.datasets.filter((d) => d.deregistered && !d.stakeWithdrawn);
      if (waiting.length === 0) return;
      const dataset = waiting[step.pick % waiting.length];
      const { stakeReleaseTime } = await registry.getDataset(dataset.id);
      if ((await time.latest()) + 1 < Number(stakeReleaseTime)) await time.increaseTo(Number(stakeReleaseTime));
      if (dataset.stake === 0n) {
        await expect(registry.connect(dataset.seller).withdrawStake(dataset.id)).to.be.revertedWithCustomError(registry, "DatasetRegistry__NoStake");
        return;
      }
      const before = await paymentToken.balanceOf(dataset.seller.address);
      await mined(registry.connect(dataset.seller).withdrawStake(dataset.id));
      // What punishments left of the stake, no more.
      expect((await paymentToken.balanceOf(dataset.seller.address)) - before).to.equal(dataset.stake);
      dataset.stakeWithdrawn = true;
      await expect(registry.connect(dataset.seller).withdrawStake(dataset.id))
        .to.be.revertedWithCustomError(registry, "DatasetRegistry__NoStake")
        .withArgs(dataset.id);
      return;
    }
    case "offerSubscription": {
      if (model.datasets.length === 0) return;
      const now = BigInt(await time.latest());
      const subscribed = [...new Set(model.subscriptions.filter((s) => s.end > now && !s.dataset.deregistered).map((s) => s.dataset))];
      const candidates = step.subscribed && subscribed.length > 0 ? subscribed : model.datasets;
      const dataset = candidates[step.pick % candidates.length];
      const offer =
        step.period === 0
          ? { period: 0n, price: 0n, quota: 0n }
          : { period: BigInt(step.period), price: BigInt(step.price) * 10n ** 18n + BigInt(step.priceWei), quota: BigInt(step.quota) };
      const send = () => registry.connect(dataset.seller).setSubscriptionTerms(dataset.id, offer.period, offer.price, offer.quota);
      if (dataset.deregistered) {
        await expect(send()).to.be.revertedWithCustomError(registry, "DatasetRegistry__Deregistered").withArgs(dataset.id);
        return;
      }
      if ((offer.period === 0n) !== (offer.quota === 0n)) {
        await expect(send()).to.be.revertedWithCustomError(registry, "SubscriptionBook__BadTerms");
        return;
      }
      await mined(send());
      dataset.offer = offer;
      tally(model, "offers");
      return;
    }
    case "subscribe": {
      if (model.datasets.length === 0) return;
      const now = await pinNextTimestamp();
      const running = model.subscriptions.filter((s) => s.end > now);
      let dataset: DatasetModel;
      let buyer: string;
      if (step.renew && running.length > 0) {
        const sub = running[step.pick % running.length];
        ({ dataset, buyer } = sub);
      } else {
        const offered = model.datasets.filter((d) => d.offer.period > 0n && !d.deregistered);
        const candidates = offered.length > 0 ? offered : model.datasets;
        dataset = candidates[step.pick % candidates.length];
        buyer = market.buyers[step.buyer].address;
      }
      const periods = BigInt(step.periods);
      const send = () => registry.connect(buyerSigner(market, buyer)).subscribe(dataset.id, periods);
      const { offer } = dataset;
      if (offer.period === 0n || dataset.deregistered) {
        await expect(send()).to.be.revertedWithCustomError(registry, "SubscriptionBook__NotOffered").withArgs(dataset.id);
        tally(model, "not offered");
        return;
      }
      const amount = offer.price * periods;
      const length = offer.period * periods;
      let sub = findSubscription(model, dataset, buyer);
      let released = 0n;
      if (sub !== undefined && sub.end > now) {
        // A renewal, on the terms the running subscription was bought on only.
        if (sub.period !== offer.period || sub.quota !== offer.quota || sub.pricePerPeriod !== offer.price) {
          await expect(send()).to.be.revertedWithCustomError(registry, "SubscriptionBook__TermsChanged").withArgs(dataset.id);
          tally(model, "terms changed");
          return;
        }
        const receipt = await mined(send());
        expect(await timestampOf(receipt)).to.equal(now);
        sub.end += length;
        sub.paid += amount;
        tally(model, "renewals");
        expect(registryEvents(registry, receipt.logs, "Subscribed")).to.deep.equal([[dataset.id, buyer, sub.start, sub.end, amount]]);
        expect(registryEvents(registry, receipt.logs, "SubscriptionReleased")).to.deep.equal([]);
        return;
      }
      const receipt = await mined(send());
      expect(await timestampOf(receipt)).to.equal(now);
      if (sub !== undefined && sub.paid > sub.released) {
        // The ended subscription earned all it held: the seller's before the new one starts.
        released = release(model, sub, sub.paid);
      }
      if (sub === undefined) {
        sub = { dataset, buyer } as SubscriptionModel;
        model.subscriptions.push(sub);
      }
      Object.assign(sub, {
        start: now,
        end: now + length,
        period: offer.period,
        quota: offer.quota,
        pricePerPeriod: offer.price,
        paid: amount,
        released: 0n,
        usedIn: new Map(),
      });
      tally(model, "subscriptions");
      expect(registryEvents(registry, receipt.logs, "Subscribed")).to.deep.equal([[dataset.id, buyer, now, now + length, amount]]);
      expect(registryEvents(registry, receipt.logs, "SubscriptionReleased")).to.deep.equal(released > 0n ? [[dataset.id, buyer, released]] : []);
      return;
    }
    case "unsubscribe": {
      if (model.datasets.length === 0) return;
      const now = await pinNextTimestamp();
      const running = model.subscriptions.filter((s) => s.end > now);
      let dataset: DatasetModel;
      let buyer: string;
      if (!step.any && running.length > 0) {
        ({ dataset, buyer } = running[step.pick % running.length]);
      } else {
        dataset = model.datasets[step.pick % model.datasets.length];
        buyer = market.buyers[step.buyer].address;
      }
      const send = () => registry.connect(buyerSigner(market, buyer)).unsubscribe(dataset.id);
      const sub = findSubscription(model, dataset, buyer);
      if (sub === undefined || !(sub.end > now)) {
        await expect(send()).to.be.revertedWithCustomError(registry, "SubscriptionBook__NotSubscribed").withArgs(dataset.id, buyer);
        return;
      }
      // It ends with the current period; the periods not begun are paid back.
      const end = sub.start + ((now - sub.start) / sub.period + 1n) * sub.period;
      const refund = (sub.pricePerPeriod * (sub.end - end)) / sub.period;
      const receipt = await mined(send());
      expect(registryEvents(registry, receipt.logs, "Unsubscribed")).to.deep.equal([[dataset.id, buyer, end, refund]]);
      sub.paid -= refund;
      sub.end = end;
      creditIncome(model, buyer, refund);
      if (refund > 0n) tally(model, "unsubscribe refunds");
      return;
    }
    case "releaseSubscription": {
      if (model.datasets.length === 0) return;
      const now = await pinNextTimestamp();
      let dataset: DatasetModel;
      let buyer: string;
      if (model.subscriptions.length > 0) {
        ({ dataset, buyer } = model.subscriptions[step.pick % model.subscriptions.length]);
      } else {
        dataset = model.datasets[step.pick % model.datasets.length];
        buyer = market.buyers[step.pick % market.buyers.length].address;
      }
      // Anyone may release: here the relay, who is nobody's payee.
      const send = () => registry.connect(relay).releaseSubscription(dataset.id, buyer);
      const sub = findSubscription(model, dataset, buyer);
      const earned = sub === undefined ? 0n : earnedBy(sub, now);
      if (sub === undefined || !(earned > sub.released)) {
        await expect(send()).to.be.revertedWithCustomError(registry, "SubscriptionBook__NothingDue");
        return;
      }
      const receipt = await mined(send());
      const amount = release(model, sub, earned);
      expect(registryEvents(registry, receipt.logs, "SubscriptionReleased")).to.deep.equal([[dataset.id, buyer, amount]]);
      return;
    }
    case "reclaimSubscription": {
      if (model.datasets.length === 0) return;
      const now = await pinNextTimestamp();
      const reclaimable = model.subscriptions.filter((s) => s.dataset.deregistered);
      let dataset: DatasetModel;
      let buyer: string;
      if (!step.any && reclaimable.length > 0) {
        ({ dataset, buyer } = reclaimable[step.pick % reclaimable.length]);
      } else {
        dataset = model.datasets[step.pick % model.datasets.length];
        buyer = market.buyers[step.buyer].address;
      }
      const send = () => registry.connect(buyerSigner(market, buyer)).reclaimSubscription(dataset.id);
      if (!dataset.deregistered) {
        await expect(send()).to.be.revertedWithCustomError(registry, "SubscriptionBook__StillListed").withArgs(dataset.id);
        return;
      }
      const sub = findSubscription(model, dataset, buyer);
      const earned = sub === undefined ? 0n : earnedBy(sub, now);
      if (sub === undefined || sub.paid === earned) {
        await expect(send()).to.be.revertedWithCustomError(registry, "SubscriptionBook__NothingDue");
        return;
      }
      const receipt = await mined(send());
      // The seller keeps what was earned by the deregistration; the subscriber takes the rest.
      const released = earned > sub.released ? release(model, sub, earned) : 0n;
      const refund = sub.paid - sub.released;
      creditIncome(model, buyer, refund);
      sub.paid = sub.released;
      const cutoff = dataset.deregisteredAt!;
      if (sub.end > cutoff) sub.end = cutoff > sub.start ? cutoff : sub.start;
      expect(registryEvents(registry, receipt.logs, "SubscriptionReleased")).to.deep.equal(released > 0n ? [[dataset.id, buyer, released]] : []);
      expect(registryEvents(registry, receipt.logs, "SubscriptionReclaimed")).to.deep.equal([[dataset.id, buyer, refund]]);
      tally(model, "reclaims");
      return;
    }
    case "setTrialTerms": {
      if (model.datasets.length === 0) return;
      const dataset = model.datasets[step.pick % model.datasets.length];
      const [perBuyer, epsilon, allowance] =
        step.perBuyer === 0 ? [0n, 0n, 0n] : [BigInt(step.perBuyer), step.bad ? 0n : BigInt(step.epsilon), BigInt(step.allowance)];
      const send = () => registry.connect(dataset.seller).setTrialTerms(dataset.id, perBuyer, epsilon, allowance);
      if (dataset.deregistered) {
        await expect(send()).to.be.revertedWithCustomError(registry, "DatasetRegistry__Deregistered").withArgs(dataset.id);
        return;
      }
      if (perBuyer > 0n && epsilon === 0n) {
        await expect(send()).to.be.revertedWithCustomError(registry, "TrialBook__BadTerms");
        return;
      }
      await mined(send());
      // The allowance is set, not added to; trials already used stay used.
      dataset.trial = { perBuyer, epsilon, remaining: allowance };
      return;
    }
    case "setPayouts": {
      if (model.datasets.length === 0) return;
      const dataset = model.datasets[step.pick % model.datasets.length];
      const others = market.accounts.filter((a) => a.address !== dataset.seller.address);
      const payees: { account: string; share: bigint }[] = [];
      for (const { who, share } of step.payees) {
        const account = others[who % others.length].address;
        if (!payees.some((p) => p.account === account)) payees.push({ account, share: BigInt(share) });
      }
      const send = () =>
        registry.connect(dataset.seller).setPayouts(
          dataset.id,
          payees.map((p) => p.account),
          payees.map((p) => p.share),
        );
      let total = 0n;
      const over = payees.findIndex((p) => (total += p.share) > BPS);
      if (over >= 0) {
        await expect(send()).to.be.revertedWithCustomError(registry, "DatasetRegistry__BadPayouts").withArgs(over);
        return;
      }
      await mined(send());
      dataset.payees = payees;
      return;
    }
    case "punish": {
      if (model.requests.length === 0) return;
      const punishedFor = (r: RequestModel) => r.datasets.filter((d) => model.punished.has(`${r.requestId}/${d.id}`));
      const inState = (r: RequestModel): boolean => {
        switch (step.state) {
          case "any":
            return true;
          case "pending":
            return r.status === Status.Pending;
          case "fulfilled":
            return r.status === Status.Fulfilled;
          case "settled":
            return r.status === Status.Failed || r.status === Status.Refunded;
          case "punished":
            return punishedFor(r).length > 0;
        }
      };
      const candidates = model.requests.filter(inState);
      if (candidates.length === 0) return;
      const request = candidates[step.pick % candidates.length];
      const datasets = step.state === "punished" ? punishedFor(request) : request.datasets;
      const dataset = datasets[step.datasetPick % datasets.length];
      const consumer = market.scope.consumer;
      const hosts = HOST_PAIRS[step.hosts];
      const attestations = await Promise.all(
        hosts.map(async (host, i) => {
          const offence = step.offences[i];
          const digest = await court.offenceDigest(consumer, request.requestId, dataset.id, offence);
          const signer = step.forged === i ? FORGER : hostSigners[host];
          return { host, offence, signature: await signer.signMessage(ethers.getBytes(digest)) };
        }),
      );
      const send = () =>
        court.connect(relay).punish(consumer, request.requestId, dataset.id, [attestations[0], attestations[1]]);
      const key = `${request.requestId}/${dataset.id}`;
      if (model.punished.has(key)) {
        await expect(send()).to.be.revertedWithCustomError(court, "PenaltyCourt__AlreadyPunished").withArgs(consumer, request.requestId, dataset.id);
        tally(model, "repeat punishments refused");
        return;
      }
      if (step.forged >= 0) {
        await expect(send()).to.be.revertedWithCustomError(court, "PenaltyCourt__BadAttestation").withArgs(step.forged);
        tally(model, "forged attestations refused");
        return;
      }
      if (request.status === Status.Fulfilled) {
        // All three hosts signed its result: an accusation contradicts them.
        await expect(send()).to.be.revertedWithCustomError(computation, "AlgorithmComputation__NotPending").withArgs(request.requestId, Status.Fulfilled);
        tally(model, "fulfilled requests not punishable");
        return;
      }
      const receipt = await mined(send());
      const minedAt = await timestampOf(receipt);
      const events = settlementEvents(computation, receipt.logs);
      const restored = restoredEvents(registry, receipt.logs);
      if (request.status === Status.Pending) {
        request.status = Status.Failed;
        request.reason = Reason.Offence;
        credit(model, request.buyer, request.price + OPERATOR_FEE);
        expect(events).to.deep.equal([`ComputationFailed(${Reason.Offence})`]);
        expect(restored, "budget given back by a punishment").to.deep.equal(expectedRestores(request));
        giveBack(request);
        tally(model, "pending requests punished");
      } else {
        // Failed or Refunded: its buyer was refunded already, and gets no second refund.
        expect(events, "events of a punishment of a settled request").to.deep.equal([]);
        expect(restored, "budget given back by a punishment of a settled request").to.deep.equal([]);
        tally(model, "settled requests punished");
      }
      const slashed = dataset.stakeWithdrawn ? 0n : (dataset.stake * BigInt(market.slashBps)) / BPS;
      const compensation = (slashed * BigInt(market.compensationBps)) / BPS;
      if (!dataset.stakeWithdrawn) dataset.stake -= slashed;
      creditIncome(model, request.buyer, compensation);
      model.burned += slashed - compensation;
      expect(registryEvents(registry, receipt.logs, "DatasetPunished")).to.deep.equal([[dataset.id, request.buyer, slashed, compensation]]);
      expect(registryEvents(registry, receipt.logs, "DatasetDeregistered").length, "deregistered by the punishment").to.equal(dataset.deregistered ? 0 : 1);
      if (!dataset.deregistered) {
        dataset.deregistered = true;
        dataset.deregisteredAt = minedAt;
      }
      model.punished.add(key);
      return;
    }
  }
}

/**
 * A view call by raw `eth_call`: a few times quicker than a contract method's call, which
 * matters for reading the whole market after every step.
 */
async function view(contract: { target: unknown; interface: Interface }, method: string, ...args: unknown[]): Promise<Result> {
  const data = contract.interface.encodeFunctionData(method, args);
  const raw = await connection.provider.request({ method: "eth_call", params: [{ to: contract.target as string, data }, "latest"] });
  return contract.interface.decodeFunctionResult(method, raw as string);
}

/** A view call's single return value. */
async function view1(contract: { target: unknown; interface: Interface }, method: string, ...args: unknown[]) {
  return (await view(contract, method, ...args))[0];
}

async function checkInvariants(market: Market, model: Model, where: string): Promise<void> {
  const { computation, registry, paymentToken, court } = market;
  const computationAddress = market.scope.consumer;
  const registryAddress = market.addresses.registry;
  const algorithm = algorithmId(ALGORITHM);
  // Every read at once (they do not depend on each other), then every comparison.
  const [requests, accounts, datasets, subscriptions, punished, accrued, computationTokens, registryTokens, burnTokens, feeCredits] = await Promise.all([
    Promise.all(model.requests.map((r) => view1(computation, "getRequest", r.requestId))),
    Promise.all(market.accounts.map((a) => Promise.all([view1(computation, "withdrawable", a.address), view1(registry, "incomeOf", a.address)]))),
    Promise.all(
      model.datasets.map((d) =>
        Promise.all([
          view1(registry, "getDataset", d.id),
          view(registry, "budgetOf", d.id),
          view1(registry, "getSaleTerms", d.id, algorithm),
          view1(registry, "subscriptionTermsOf", d.id),
          view1(registry, "trialTermsOf", d.id),
          view(registry, "payoutsOf", d.id),
        ]),
      ),
    ),
    Promise.all(model.subscriptions.map((s) => view1(registry, "subscriptionOf", s.dataset.id, s.buyer))),
    Promise.all([...model.punished].map((key) => view1(court, "isPunished", computationAddress, ...key.split("/")))),
    view1(computation, "operatorFeesAccrued"),
    view1(paymentToken, "balanceOf", computationAddress),
    view1(paymentToken, "balanceOf", registryAddress),
    view1(paymentToken, "balanceOf", BURN_ADDRESS),
    Promise.all(market.buyers.map((b) => view1(computation, "feeCreditsOf", b.address))),
  ]);

  let escrow = 0n;
  for (const [i, request] of model.requests.entries()) {
    const onChain = requests[i];
    expect(Number(onChain.status), `${where}: status of ${request.requestId}`).to.equal(request.status);
    expect(onChain.buyer).to.equal(request.buyer);
    expect(onChain.deadline, `${where}: deadline of ${request.requestId}`).to.equal(request.deadline);
    expect(onChain.price, `${where}: escrowed price`).to.equal(request.price);
    expect(onChain.fee).to.equal(OPERATOR_FEE);
    if (request.status === Status.Pending) escrow += onChain.price + onChain.fee;
  }
  let balances = 0n;
  let income = 0n;
  for (const [i, account] of market.accounts.entries()) {
    const [withdrawable, incomeOf] = accounts[i] as [bigint, bigint];
    balances += withdrawable;
    // Nobody is paid twice: withdrawn + still withdrawable == credited by the model.
    expect(
      (model.withdrawn.get(account.address) ?? 0n) + withdrawable,
      `${where}: withdrawn + withdrawable of ${account.address}`,
    ).to.equal(model.credited.get(account.address) ?? 0n);
    // Likewise the registry's income (subscription releases, refunds, reclaims, compensations).
    expect(
      (model.incomeWithdrawn.get(account.address) ?? 0n) + incomeOf,
      `${where}: income withdrawn + withdrawable of ${account.address}`,
    ).to.equal(model.incomeCredited.get(account.address) ?? 0n);
    income += owedIncome(model, account.address);
  }
  expect(accrued, `${where}: accrued operators' fees`).to.equal(model.accrued);
  // Prepaid fees not yet used or reclaimed (only buyers prepay), each credit one operators' fee.
  let credits = 0n;
  for (const [i, buyer] of market.buyers.entries()) {
    const onChain = feeCredits[i] as bigint;
    expect(onChain, `${where}: fee credits of ${buyer.address}`).to.equal(model.feeCredits.get(buyer.address) ?? 0n);
    credits += onChain;
  }
  expect(computationTokens, `${where}: computation contract's tokens = escrow + withdrawable + accrued fees + fee credits`).to.equal(
    escrow + balances + accrued + credits * OPERATOR_FEE,
  );

  let locked = 0n;
  let lockedOnChain = 0n;
  for (const [i, dataset] of model.datasets.entries()) {
    const [onChain, [total, spent, remaining], saleTerms, offer, trial, [payees, shares]] = datasets[i] as unknown as [Result, [bigint, bigint, bigint], Result, Result, Result, [string[], bigint[]]];
    if (!dataset.stakeWithdrawn) locked += dataset.stake;
    lockedOnChain += onChain.stake;
    expect(onChain.stake, `${where}: stake of ${dataset.id}`).to.equal(dataset.stakeWithdrawn ? 0n : dataset.stake);
    expect(onChain.active, `${where}: ${dataset.id} for sale`).to.equal(!dataset.deregistered);
    expect(onChain.stakeReleaseTime, `${where}: stake release of ${dataset.id}`).to.equal(
      dataset.deregisteredAt === undefined ? 0n : dataset.deregisteredAt + BigInt(STAKE_COOLDOWN),
    );
    // Unsigned on chain: neither can be negative; the model's must agree.
    expect([total, spent, remaining], `${where}: budget of ${dataset.id}`).to.deep.equal([dataset.budget, dataset.spent, dataset.budget - dataset.spent]);
    expect(spent + remaining, `${where}: spent + remaining of ${dataset.id}`).to.equal(total);
    // Independently of the model's running count: what the requests still holding ε spent
    // (trial requests included).
    const held = model.requests
      .filter((r) => (r.status === Status.Pending || r.status === Status.Fulfilled) && r.datasets.includes(dataset))
      .reduce((sum, r) => sum + r.epsilon, 0n);
    expect(spent, `${where}: budget spent on ${dataset.id} by Pending and Fulfilled requests`).to.equal(held);
    expect(saleTerms.exactAllowed).to.equal(dataset.exact);
    expect([...offer], `${where}: subscription offer of ${dataset.id}`).to.deep.equal([dataset.offer.period, dataset.offer.price, dataset.offer.quota]);
    expect([...trial], `${where}: trial offer of ${dataset.id}`).to.deep.equal([dataset.trial.perBuyer, dataset.trial.epsilon, dataset.trial.remaining]);
    expect([[...payees], [...shares]], `${where}: payees of ${dataset.id}`).to.deep.equal([dataset.payees.map((p) => p.account), dataset.payees.map((p) => p.share)]);
  }
  expect(lockedOnChain, `${where}: Σ stakes on chain`).to.equal(locked);

  let held = 0n;
  for (const [i, sub] of model.subscriptions.entries()) {
    const onChain = subscriptions[i];
    expect(
      [onChain.start, onChain.end, onChain.period, onChain.quota, onChain.paid, onChain.released],
      `${where}: subscription of ${sub.buyer} to ${sub.dataset.id}`,
    ).to.deep.equal([sub.start, sub.end, sub.period, sub.quota, sub.paid, sub.released]);
    held += sub.paid - sub.released;
  }
  expect(punished, `${where}: punishments recorded by the court`).to.deep.equal([...model.punished].map(() => true));

  expect(registryTokens, `${where}: registry's tokens = stakes + subscriptions held + income`).to.equal(locked + held + income);
  expect(burnTokens - market.burnedBefore, `${where}: burned`).to.equal(model.burned);
}

describe("market invariants (property-based)", function () {
  this.timeout(180_000);

  for (const theme of THEMES) {
    it(`${theme.name}: keeps escrow, balances, fee credits, stakes, subscriptions and income backed by tokens, burns exactly what punishments do not compensate, settles each request once, pays nobody twice, prices subscribers' and trial requests right, and keeps every budget's spent + remaining = total (${theme.runs} runs of ≤ ${MAX_STEPS} steps)`, async function () {
      const seen = new Map<string, number>();
      const count = (what: string) => seen.set(what, (seen.get(what) ?? 0) + 1);
      await fc.assert(
        fc.asyncProperty(sequenceArbitrary(theme), async (steps) => {
          const market = await loadFixture(deployMarketForInvariants);
          const model: Model = {
            datasets: [],
            requests: [],
            subscriptions: [],
            credited: new Map(),
            withdrawn: new Map(),
            incomeCredited: new Map(),
            incomeWithdrawn: new Map(),
            accrued: 0n,
            feeCredits: new Map(),
            burned: 0n,
            punished: new Set(),
            registered: 0,
            tally: seen,
          };
          await checkInvariants(market, model, "initial");
          for (const [i, step] of steps.entries()) {
            await runStep(market, model, step);
            await checkInvariants(market, model, `after step ${i} (${step.kind})`);
            count("steps");
          }
          for (const r of model.requests) {
            if (r.status === Status.Fulfilled) count("fulfilled");
            if (r.status === Status.Failed) count("failed");
            if (r.reason === Reason.Late) count("late");
            if (r.status === Status.Refunded) count("refunded");
            if ((r.status === Status.Failed || r.status === Status.Refunded) && r.epsilon > 0n) count("gave back");
            if ((r.status === Status.Failed || r.status === Status.Refunded) && r.trial) count("trials gave ε back");
            if ((r.status === Status.Failed || r.status === Status.Refunded) && r.prepaid) count("credit-paid requests refunded");
            if (r.epsilon === 0n) count("exact sold");
          }
          // Drain: every buyer reclaims its fee credits and everyone withdraws what is left;
          // then only escrow of Pending requests, undistributed fees, stakes and subscriptions
          // not yet released may remain.
          for (const account of market.accounts) {
            const who = market.accounts.indexOf(account);
            const buyer = market.buyers.indexOf(account);
            if (buyer >= 0 && (model.feeCredits.get(account.address) ?? 0n) > 0n) await runStep(market, model, { kind: "reclaimFeeCredits", buyer });
            if (owed(model, account.address) > 0n) await runStep(market, model, { kind: "withdraw", who });
            if (owedIncome(model, account.address) > 0n) await runStep(market, model, { kind: "withdrawIncome", who });
          }
          await checkInvariants(market, model, "after draining");
        }),
        // A fixed seed per theme: the runs are the same from one CI run to the next, so the
        // paths each must take are known to be taken (checked below) rather than likely.
        // INVARIANTS_SEED explores other sequences (a failure prints the seed to replay).
        { numRuns: theme.runs, seed: Number(process.env.INVARIANTS_SEED ?? theme.seed) },
      );
      if (process.env.INVARIANTS_TALLY) console.log(Object.fromEntries([...seen].sort()));
      // A property that never exercised the paths it is about would pass vacuously.
      for (const what of theme.exercises) {
        expect(seen.get(what) ?? 0, `${what} over all runs`).to.be.greaterThan(0);
      }
    });
  }
});
