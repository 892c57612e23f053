import { expect } from "chai";
import type { ContractTransactionResponse } from "ethers";
import { BUYER_KEY, EPSILON, OPERATOR_FEE, PARAMS, PRICE, deployMarketWithDataset, ethers, networkHelpers } from "./fixtures/market.ts";

const { loadFixture, time } = networkHelpers;

// Period access to a dataset (DatasetRegistry's SubscriptionBook): a subscriber's
// computations within quota pay no per-computation price; the payment is earned by the
// seller pro rata to the second; unsubscribing and deregistration give back what was not.
const DAY = 86_400n;
const PERIOD = 30n * DAY;
const PERIOD_PRICE = ethers.parseEther("40");

async function offered() {
  const market = await deployMarketWithDataset();
  const { registry, seller, buyer, paymentToken, sum, datasetId } = market;
  await (await registry.connect(seller).setSubscriptionTerms(datasetId, PERIOD, PERIOD_PRICE, 2)).wait();
  await (await paymentToken.connect(buyer).approve(await registry.getAddress(), ethers.MaxUint256)).wait();
  await (await paymentToken.connect(buyer).approve(await sum.getAddress(), ethers.MaxUint256)).wait();
  return market;
}

async function timeOf(tx: ContractTransactionResponse): Promise<bigint> {
  const block = await ethers.provider.getBlock((await tx.wait())!.blockNumber);
  return BigInt(block!.timestamp);
}

describe("DatasetRegistry subscriptions", function () {
  it("within the period's quota a subscriber pays no price for the dataset; the fee and the ε still apply", async function () {
    const { registry, sum, buyer, paymentToken, datasetId } = await loadFixture(offered);
    expect([...(await registry.subscriptionTermsOf(datasetId))]).to.deep.equal([PERIOD, PERIOD_PRICE, 2n]);
    const before = await paymentToken.balanceOf(buyer.address);
    const subscribed = await registry.connect(buyer).subscribe(datasetId, 2);
    const start = await timeOf(subscribed);
    await expect(subscribed).to.emit(registry, "Subscribed").withArgs(datasetId, buyer.address, start, start + 2n * PERIOD, 2n * PERIOD_PRICE);
    expect(await paymentToken.balanceOf(buyer.address)).to.equal(before - 2n * PERIOD_PRICE);

    const buy = () => sum.connect(buyer).requestComputation([datasetId], PARAMS, BUYER_KEY, PRICE + OPERATOR_FEE, EPSILON);
    const priceOf = async (tx: ContractTransactionResponse) => {
      const receipt = await tx.wait();
      const event = receipt!.logs.map((l) => sum.interface.parseLog(l)).find((p) => p?.name === "ComputationRequested");
      return event!.args.price as bigint;
    };
    const first = await buy();
    expect((await registry.subscriptionOf(datasetId, buyer.address))[1]).to.equal(1n);
    await expect(first).to.emit(registry, "PrivacyBudgetSpent");
    expect(await priceOf(first)).to.equal(0n);
    expect(await priceOf(await buy())).to.equal(0n);
    const [, quotaLeft] = await registry.subscriptionOf(datasetId, buyer.address);
    expect(quotaLeft).to.equal(0n);
    // The quota is spent: the third computation pays the price.
    const third = await buy();
    expect(await priceOf(third)).to.equal(PRICE);

    // The next period has its own quota.
    await time.increaseTo(start + PERIOD);
    const fourth = await buy();
    expect((await registry.subscriptionOf(datasetId, buyer.address))[1]).to.equal(1n);
    expect(await priceOf(fourth)).to.equal(0n);
    // After the end, the price again.
    await time.increaseTo(start + 2n * PERIOD);
    expect(await priceOf(await buy())).to.equal(PRICE);
  });

  it("a stranger's purchase neither uses nor is covered by another buyer's subscription", async function () {
    const { registry, sum, buyer, stranger, paymentToken, datasetId } = await loadFixture(offered);
    await (await registry.connect(buyer).subscribe(datasetId, 1)).wait();
    await (await paymentToken.connect(stranger).approve(await sum.getAddress(), ethers.MaxUint256)).wait();
    const tx = await sum.connect(stranger).requestComputation([datasetId], PARAMS, BUYER_KEY, PRICE + OPERATOR_FEE, EPSILON);
    const requested = (await tx.wait())!.logs.map((l) => sum.interface.parseLog(l)).find((p) => p?.name === "ComputationRequested");
    expect(requested!.args.price).to.equal(PRICE);
    const [, quotaLeft] = await registry.subscriptionOf(datasetId, buyer.address);
    expect(quotaLeft).to.equal(2n);
  });

  it("the payment is earned pro rata, released to the seller and payees; unsubscribing gives back the periods not begun", async function () {
    const { registry, seller, buyer, stranger, paymentToken, datasetId } = await loadFixture(offered);
    await (await registry.connect(seller).setPayouts(datasetId, [stranger.address], [1000])).wait();
    const start = await timeOf(await registry.connect(buyer).subscribe(datasetId, 3));
    const paid = 3n * PERIOD_PRICE;
    await time.increaseTo(start + PERIOD / 2n);
    const release = await registry.connect(stranger).releaseSubscription(datasetId, buyer.address);
    const earned = (paid * ((await timeOf(release)) - start)) / (3n * PERIOD);
    await expect(release).to.emit(registry, "SubscriptionReleased").withArgs(datasetId, buyer.address, earned);
    expect(await registry.incomeOf(stranger.address)).to.equal(earned / 10n);
    expect(await registry.incomeOf(seller.address)).to.equal(earned - earned / 10n);

    // Unsubscribing in the first period ends it with that period: two periods come back.
    const unsubscribed = await registry.connect(buyer).unsubscribe(datasetId);
    await expect(unsubscribed).to.emit(registry, "Unsubscribed").withArgs(datasetId, buyer.address, start + PERIOD, 2n * PERIOD_PRICE);
    expect(await registry.incomeOf(buyer.address)).to.equal(2n * PERIOD_PRICE);
    const balance = await paymentToken.balanceOf(buyer.address);
    await expect(registry.connect(buyer).withdrawIncome()).to.emit(registry, "IncomeWithdrawn").withArgs(buyer.address, 2n * PERIOD_PRICE);
    expect(await paymentToken.balanceOf(buyer.address)).to.equal(balance + 2n * PERIOD_PRICE);

    // After the period, the rest of the first period's price is the seller's, all of it.
    await time.increaseTo(start + PERIOD + 1n);
    await (await registry.releaseSubscription(datasetId, buyer.address)).wait();
    expect((await registry.incomeOf(seller.address)) + (await registry.incomeOf(stranger.address))).to.equal(PERIOD_PRICE);
    await expect(registry.releaseSubscription(datasetId, buyer.address)).to.be.revertedWithCustomError(registry, "SubscriptionBook__NothingDue");
    await expect(registry.connect(buyer).unsubscribe(datasetId))
      .to.be.revertedWithCustomError(registry, "SubscriptionBook__NotSubscribed")
      .withArgs(datasetId, buyer.address);
  });

  it("renews on the same terms from the end; changed terms wait until the running subscription ends", async function () {
    const { registry, seller, buyer, datasetId } = await loadFixture(offered);
    const start = await timeOf(await registry.connect(buyer).subscribe(datasetId, 1));
    await expect(registry.connect(buyer).subscribe(datasetId, 2))
      .to.emit(registry, "Subscribed")
      .withArgs(datasetId, buyer.address, start, start + 3n * PERIOD, 2n * PERIOD_PRICE);
    await (await registry.connect(seller).setSubscriptionTerms(datasetId, PERIOD, PERIOD_PRICE * 2n, 2)).wait();
    await expect(registry.connect(buyer).subscribe(datasetId, 1)).to.be.revertedWithCustomError(registry, "SubscriptionBook__TermsChanged").withArgs(datasetId);
    await time.increaseTo(start + 3n * PERIOD);
    // A new subscription on the new terms; what the ended one held is the seller's.
    await expect(registry.connect(buyer).subscribe(datasetId, 1)).to.emit(registry, "SubscriptionReleased");
    expect(await registry.incomeOf(seller.address)).to.equal(3n * PERIOD_PRICE);
  });

  it("after deregistration the subscriber takes back what the seller had not earned by then", async function () {
    const { registry, seller, buyer, datasetId } = await loadFixture(offered);
    const start = await timeOf(await registry.connect(buyer).subscribe(datasetId, 2));
    await expect(registry.connect(buyer).reclaimSubscription(datasetId)).to.be.revertedWithCustomError(registry, "SubscriptionBook__StillListed");
    await time.increaseTo(start + PERIOD / 4n);
    const cutoff = await timeOf(await registry.connect(seller).deregisterDataset(datasetId));
    await time.increase(PERIOD);
    const paid = 2n * PERIOD_PRICE;
    const earned = (paid * (cutoff - start)) / (2n * PERIOD);
    await expect(registry.connect(buyer).reclaimSubscription(datasetId))
      .to.emit(registry, "SubscriptionReclaimed")
      .withArgs(datasetId, buyer.address, paid - earned);
    expect(await registry.incomeOf(seller.address)).to.equal(earned);
    expect(await registry.incomeOf(buyer.address)).to.equal(paid - earned);
    await expect(registry.connect(buyer).reclaimSubscription(datasetId)).to.be.revertedWithCustomError(registry, "SubscriptionBook__NothingDue");
    // No new subscription to a deregistered dataset.
    await expect(registry.connect(buyer).subscribe(datasetId, 1)).to.be.revertedWithCustomError(registry, "SubscriptionBook__NotOffered");
  });

  it("refuses terms from anyone but the seller, malformed terms, and subscriptions nobody offers", async function () {
    const { registry, seller, buyer, stranger, datasetId } = await loadFixture(offered);
    await expect(registry.connect(stranger).setSubscriptionTerms(datasetId, PERIOD, 1n, 1))
      .to.be.revertedWithCustomError(registry, "DatasetRegistry__NotSeller")
      .withArgs(datasetId, stranger.address);
    await expect(registry.connect(seller).setSubscriptionTerms(datasetId, PERIOD, 1n, 0)).to.be.revertedWithCustomError(registry, "SubscriptionBook__BadTerms");
    await expect(registry.connect(seller).setSubscriptionTerms(datasetId, 0n, 1n, 3)).to.be.revertedWithCustomError(registry, "SubscriptionBook__BadTerms");
    await expect(registry.connect(buyer).subscribe(datasetId, 0)).to.be.revertedWithCustomError(registry, "SubscriptionBook__BadTerms");
    await expect(registry.connect(seller).setSubscriptionTerms(datasetId, 0n, 0n, 0)).to.emit(registry, "SubscriptionTermsSet").withArgs(datasetId, 0n, 0n, 0n);
    await expect(registry.connect(buyer).subscribe(datasetId, 1)).to.be.revertedWithCustomError(registry, "SubscriptionBook__NotOffered").withArgs(datasetId);
    await expect(registry.connect(buyer).withdrawIncome()).to.be.revertedWithCustomError(registry, "SubscriptionBook__NothingDue");
  });
});
