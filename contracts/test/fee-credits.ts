import { expect } from "chai";
import type { ContractTransactionResponse } from "ethers";
import {
  BUYER_KEY,
  EPSILON,
  OPERATOR_FEE,
  PARAMS,
  PRICE,
  deployMarketWithDataset,
  ethers,
  fulfil,
  networkHelpers,
  oracleRequestOf,
  signedPayload,
} from "./fixtures/market.ts";
import { DEFAULT_LINK_FEE, jobIdOf } from "../src/index.ts";

const { loadFixture } = networkHelpers;

// Prepaid operators' fees (AlgorithmComputation.prepayFees): a request that escrows no
// dataset price (covered by a subscription, or a trial) uses one fee credit instead of
// moving any token; a request with a price pays by transfer as before and keeps the credits.
const PERIOD = 30n * 86_400n;
const PERIOD_PRICE = ethers.parseEther("40");
const TRIAL_EPSILON = 100n;
const RESULT = ethers.hexlify(ethers.toUtf8Bytes("ciphertext of the sum for the buyer"));

/** The fixture market, its dataset offering subscriptions (quota 2) and trials (2 per buyer), the buyer approving without limit. */
async function offered() {
  const market = await deployMarketWithDataset();
  const { registry, seller, buyer, paymentToken, sum, datasetId } = market;
  await (await registry.connect(seller).setSubscriptionTerms(datasetId, PERIOD, PERIOD_PRICE, 2)).wait();
  await (await registry.connect(seller).setTrialTerms(datasetId, 2, TRIAL_EPSILON, 10)).wait();
  await (await paymentToken.connect(buyer).approve(await registry.getAddress(), ethers.MaxUint256)).wait();
  await (await paymentToken.connect(buyer).approve(await sum.getAddress(), ethers.MaxUint256)).wait();
  return market;
}

/** The same, the buyer subscribed for one period. */
async function subscribed() {
  const market = await offered();
  await (await market.registry.connect(market.buyer).subscribe(market.datasetId, 1)).wait();
  return market;
}

type Market = Awaited<ReturnType<typeof offered>>;

/** The payment token balances of the buyer and of the computation. */
async function balances({ paymentToken, buyer, sum }: Market): Promise<[bigint, bigint]> {
  return [await paymentToken.balanceOf(buyer.address), await paymentToken.balanceOf(await sum.getAddress())];
}

/** The `ComputationRequested` price and fee of a request transaction. */
async function requestedPriceAndFee({ sum }: Market, tx: ContractTransactionResponse): Promise<[bigint, bigint]> {
  const receipt = await tx.wait();
  const event = receipt!.logs.map((l) => sum.interface.parseLog(l)).find((p) => p?.name === "ComputationRequested");
  return [event!.args.price as bigint, event!.args.fee as bigint];
}

function coveredRequest({ sum, buyer, datasetId }: Market, maxTotalPrice = OPERATOR_FEE) {
  return sum.connect(buyer).requestComputation([datasetId], PARAMS, BUYER_KEY, maxTotalPrice, EPSILON);
}

describe("AlgorithmComputation prepaid operators' fees", function () {
  it("prepayFees pulls count × fee, credits count fee credits and emits FeesPrepaid", async function () {
    const market = await loadFixture(offered);
    const { sum, buyer, stranger } = market;
    expect(OPERATOR_FEE).to.be.greaterThan(0n);
    const [buyerBefore, heldBefore] = await balances(market);
    await expect(sum.connect(buyer).prepayFees(3)).to.emit(sum, "FeesPrepaid").withArgs(buyer.address, 3n, 3n * OPERATOR_FEE);
    expect(await balances(market)).to.deep.equal([buyerBefore - 3n * OPERATOR_FEE, heldBefore + 3n * OPERATOR_FEE]);
    expect(await sum.feeCreditsOf(buyer.address)).to.equal(3n);
    // Credits add up; they are the buyer's alone.
    await expect(sum.connect(buyer).prepayFees(1)).to.emit(sum, "FeesPrepaid").withArgs(buyer.address, 1n, OPERATOR_FEE);
    expect(await sum.feeCreditsOf(buyer.address)).to.equal(4n);
    expect(await sum.feeCreditsOf(stranger.address)).to.equal(0n);
    expect(await sum.withdrawable(buyer.address)).to.equal(0n);
  });

  it("refuses a count of 0, a fee of 0 and an unpaid prepayment, crediting nothing", async function () {
    const market = await loadFixture(offered);
    const { sum, buyer, stranger, addresses, deployer } = market;
    await expect(sum.connect(buyer).prepayFees(0)).to.be.revertedWithCustomError(sum, "AlgorithmComputation__ZeroCount").withArgs();
    // The stranger approved nothing: the transfer fails and the credit recorded before it is undone.
    await expect(sum.connect(stranger).prepayFees(1)).to.be.revertedWith("ERC20: insufficient allowance");
    expect(await sum.feeCreditsOf(stranger.address)).to.equal(0n);
    // An algorithm whose operators' fee is 0 has nothing to prepay.
    const free = await ethers.deployContract(
      "AlgorithmComputation",
      [addresses.linkToken, addresses.operator, jobIdOf("sum@1"), DEFAULT_LINK_FEE, addresses.paymentToken, addresses.registry, addresses.hostRegistry, "sum@1", 0n, 3600n],
      deployer,
    );
    await expect(free.connect(buyer).prepayFees(1)).to.be.revertedWithCustomError(free, "AlgorithmComputation__NoOperatorFee").withArgs();
    expect(await free.feeCreditsOf(buyer.address)).to.equal(0n);
  });

  it("a request covered by a subscription uses a credit and moves no token; its fee still reaches the operators", async function () {
    const market = await loadFixture(subscribed);
    const { sum, registry, buyer, seller, paymentToken, datasetId } = market;
    await (await sum.connect(buyer).prepayFees(2)).wait();
    const before = await balances(market);
    const tx = await coveredRequest(market);
    await expect(tx).to.not.emit(paymentToken, "Transfer");
    expect(await balances(market), "buyer's and computation's tokens").to.deep.equal(before);
    expect(await sum.feeCreditsOf(buyer.address)).to.equal(1n);
    expect((await registry.subscriptionOf(datasetId, buyer.address))[1], "quota left").to.equal(1n);
    // The request reads as any other: price 0, the fee escrowed.
    expect(await requestedPriceAndFee(market, tx)).to.deep.equal([0n, OPERATOR_FEE]);
    const req = await oracleRequestOf(market, tx);
    const request = await sum.getRequest(req.requestId);
    expect([request.price, request.fee]).to.deep.equal([0n, OPERATOR_FEE]);

    const fulfilled = await fulfil(market, req, await signedPayload(sum, req.requestId, RESULT));
    await expect(fulfilled).to.emit(sum, "ComputationFulfilled");
    expect(await sum.operatorFeesAccrued()).to.equal(OPERATOR_FEE);
    expect(await sum.withdrawable(seller.address)).to.equal(0n);
    expect(await sum.withdrawable(buyer.address)).to.equal(0n);
  });

  it("a covered request over the buyer's bound is refused and uses no credit", async function () {
    const market = await loadFixture(subscribed);
    const { sum, buyer } = market;
    await (await sum.connect(buyer).prepayFees(1)).wait();
    await expect(coveredRequest(market, OPERATOR_FEE - 1n))
      .to.be.revertedWithCustomError(sum, "AlgorithmComputation__PriceAboveMaximum")
      .withArgs(OPERATOR_FEE, OPERATOR_FEE - 1n);
    expect(await sum.feeCreditsOf(buyer.address)).to.equal(1n);
  });

  it("a trial request uses a credit too", async function () {
    const market = await loadFixture(offered);
    const { sum, buyer, paymentToken, datasetId } = market;
    await (await sum.connect(buyer).prepayFees(1)).wait();
    const before = await balances(market);
    const tx = await sum.connect(buyer).requestTrialComputation([datasetId], PARAMS, BUYER_KEY, OPERATOR_FEE, TRIAL_EPSILON);
    await expect(tx).to.not.emit(paymentToken, "Transfer");
    expect(await balances(market)).to.deep.equal(before);
    expect(await sum.feeCreditsOf(buyer.address)).to.equal(0n);
    expect(await requestedPriceAndFee(market, tx)).to.deep.equal([0n, OPERATOR_FEE]);
  });

  it("a plain request (price > 0) pays price and fee by transfer and keeps the credits", async function () {
    const market = await loadFixture(offered);
    const { sum, buyer, paymentToken } = market;
    await (await sum.connect(buyer).prepayFees(2)).wait();
    const [buyerBefore, heldBefore] = await balances(market);
    const tx = await coveredRequest(market, PRICE + OPERATOR_FEE);
    await expect(tx)
      .to.emit(paymentToken, "Transfer")
      .withArgs(buyer.address, await sum.getAddress(), PRICE + OPERATOR_FEE);
    expect(await balances(market)).to.deep.equal([buyerBefore - PRICE - OPERATOR_FEE, heldBefore + PRICE + OPERATOR_FEE]);
    expect(await sum.feeCreditsOf(buyer.address)).to.equal(2n);
    expect(await requestedPriceAndFee(market, tx)).to.deep.equal([PRICE, OPERATOR_FEE]);
  });

  it("a covered request with no credit left pays the fee by transfer", async function () {
    const market = await loadFixture(subscribed);
    const { sum, buyer, paymentToken } = market;
    await (await sum.connect(buyer).prepayFees(1)).wait();
    await expect(coveredRequest(market)).to.not.emit(paymentToken, "Transfer");
    expect(await sum.feeCreditsOf(buyer.address)).to.equal(0n);
    const [buyerBefore, heldBefore] = await balances(market);
    const tx = await coveredRequest(market);
    await expect(tx).to.emit(paymentToken, "Transfer").withArgs(buyer.address, await sum.getAddress(), OPERATOR_FEE);
    expect(await balances(market)).to.deep.equal([buyerBefore - OPERATOR_FEE, heldBefore + OPERATOR_FEE]);
    expect(await requestedPriceAndFee(market, tx)).to.deep.equal([0n, OPERATOR_FEE]);
  });

  it("a failed request paid by a credit refunds price + fee to the buyer's withdrawable balance", async function () {
    const market = await loadFixture(subscribed);
    const { sum, buyer, paymentToken } = market;
    await (await sum.connect(buyer).prepayFees(1)).wait();
    const tx = await coveredRequest(market);
    const req = await oracleRequestOf(market, tx);
    const failed = await fulfil(market, req, "0x");
    await expect(failed).to.emit(sum, "ComputationFailed").withArgs(req.requestId, 1);
    await expect(failed).to.emit(sum, "PaymentCredited").withArgs(buyer.address, req.requestId, OPERATOR_FEE);
    // Price 0 + the fee, paid by the credit, which is not given back as a credit.
    expect(await sum.withdrawable(buyer.address)).to.equal(OPERATOR_FEE);
    expect(await sum.feeCreditsOf(buyer.address)).to.equal(0n);
    expect(await sum.operatorFeesAccrued()).to.equal(0n);
    const [buyerBefore, heldBefore] = await balances(market);
    await expect(sum.connect(buyer).withdraw()).to.emit(sum, "PaymentWithdrawn").withArgs(buyer.address, OPERATOR_FEE);
    expect(await balances(market)).to.deep.equal([buyerBefore + OPERATOR_FEE, heldBefore - OPERATOR_FEE]);
    expect(heldBefore - OPERATOR_FEE).to.equal(0n);
  });

  it("reclaimFeeCredits turns every credit into a withdrawable balance, once", async function () {
    const market = await loadFixture(subscribed);
    const { sum, buyer, stranger } = market;
    await (await sum.connect(buyer).prepayFees(3)).wait();
    await (await coveredRequest(market)).wait();
    const reclaimed = sum.connect(buyer).reclaimFeeCredits();
    await expect(reclaimed).to.emit(sum, "FeeCreditsReclaimed").withArgs(buyer.address, 2n, 2n * OPERATOR_FEE);
    await expect(reclaimed).to.emit(sum, "PaymentCredited").withArgs(buyer.address, ethers.ZeroHash, 2n * OPERATOR_FEE);
    expect(await sum.withdrawable(buyer.address)).to.equal(2n * OPERATOR_FEE);
    expect(await sum.feeCreditsOf(buyer.address)).to.equal(0n);
    await expect(sum.connect(buyer).reclaimFeeCredits()).to.be.revertedWithCustomError(sum, "AlgorithmComputation__NoFeeCredits").withArgs(buyer.address);
    await expect(sum.connect(stranger).reclaimFeeCredits()).to.be.revertedWithCustomError(sum, "AlgorithmComputation__NoFeeCredits").withArgs(stranger.address);
    // The next covered request, with no credit left, pays by transfer; the reclaimed fees are withdrawn like a refund.
    const [buyerBefore] = await balances(market);
    await (await coveredRequest(market)).wait();
    await (await sum.connect(buyer).withdraw()).wait();
    expect((await balances(market))[0]).to.equal(buyerBefore - OPERATOR_FEE + 2n * OPERATOR_FEE);
  });
});
