import { expect } from "chai";
import type { ContractTransactionResponse } from "ethers";
import {
  BUDGET,
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
} from "./fixtures/market.ts";

const { loadFixture } = networkHelpers;

// Try before you buy (DatasetRegistry's TrialBook): each buyer address gets a few free
// computations at a small ε, out of an allowance for the dataset as a whole, so that
// any number of fresh addresses cannot take more than the allowance.
const TRIAL_EPSILON = 100n;
const PER_BUYER = 2n;
const ALLOWANCE = 3n;

async function offered() {
  const market = await deployMarketWithDataset();
  const { registry, seller, buyer, paymentToken, sum, datasetId } = market;
  await (await registry.connect(seller).setTrialTerms(datasetId, PER_BUYER, TRIAL_EPSILON, ALLOWANCE)).wait();
  await (await paymentToken.connect(buyer).approve(await sum.getAddress(), ethers.MaxUint256)).wait();
  return market;
}

function priceOf(market: Awaited<ReturnType<typeof offered>>, receipt: Awaited<ReturnType<ContractTransactionResponse["wait"]>>): bigint {
  const event = receipt!.logs.map((l) => market.sum.interface.parseLog(l)).find((p) => p?.name === "ComputationRequested");
  return event!.args.price as bigint;
}

describe("DatasetRegistry trials", function () {
  it("a trial computation escrows only the operators' fee and spends its ε from the budget", async function () {
    const market = await loadFixture(offered);
    const { registry, sum, buyer, paymentToken, datasetId } = market;
    expect([...(await registry.trialTermsOf(datasetId))]).to.deep.equal([PER_BUYER, TRIAL_EPSILON, ALLOWANCE]);
    expect(await registry.trialsLeft(datasetId, buyer.address)).to.equal(PER_BUYER);
    const before = await paymentToken.balanceOf(buyer.address);
    const tx = await sum.connect(buyer).requestTrialComputation([datasetId], PARAMS, BUYER_KEY, OPERATOR_FEE, TRIAL_EPSILON);
    await expect(tx).to.emit(registry, "TrialUsed").withArgs(datasetId, buyer.address, 1n, ALLOWANCE - 1n);
    await expect(tx).to.emit(registry, "PrivacyBudgetSpent").withArgs(datasetId, TRIAL_EPSILON, BUDGET - TRIAL_EPSILON);
    expect(priceOf(market, await tx.wait())).to.equal(0n);
    expect(await paymentToken.balanceOf(buyer.address)).to.equal(before - OPERATOR_FEE);
    expect(await registry.trialsLeft(datasetId, buyer.address)).to.equal(PER_BUYER - 1n);
    // A plain request right after uses no trial and pays the price.
    const plain = await sum.connect(buyer).requestComputation([datasetId], PARAMS, BUYER_KEY, PRICE + OPERATOR_FEE, EPSILON);
    await expect(plain).to.not.emit(registry, "TrialUsed");
    expect(priceOf(market, await plain.wait())).to.equal(PRICE);
  });

  it("each buyer gets its own trials; the allowance bounds all buyers together (sybils)", async function () {
    const { registry, sum, buyer, stranger, paymentToken, datasetId } = await loadFixture(offered);
    const trial = (who: typeof buyer) => sum.connect(who).requestTrialComputation([datasetId], PARAMS, BUYER_KEY, OPERATOR_FEE, TRIAL_EPSILON);
    await (await trial(buyer)).wait();
    await (await trial(buyer)).wait();
    await expect(trial(buyer)).to.be.revertedWithCustomError(registry, "TrialBook__NoTrial").withArgs(datasetId, buyer.address);
    // A fresh address has its own, until the dataset's allowance (3) is spent.
    await (await paymentToken.connect(stranger).approve(await sum.getAddress(), ethers.MaxUint256)).wait();
    expect(await registry.trialsLeft(datasetId, stranger.address)).to.equal(1n);
    await (await trial(stranger)).wait();
    const [, , remaining] = await registry.trialTermsOf(datasetId);
    expect(remaining).to.equal(0n);
    // Fresh addresses funded by the same person get nothing more.
    for (let i = 0; i < 3; i++) {
      const sybil = ethers.Wallet.createRandom().connect(ethers.provider);
      await (await buyer.sendTransaction({ to: sybil.address, value: ethers.parseEther("1") })).wait();
      await (await paymentToken.connect(buyer).transfer(sybil.address, OPERATOR_FEE)).wait();
      await (await paymentToken.connect(sybil).approve(await sum.getAddress(), OPERATOR_FEE)).wait();
      expect(await registry.trialsLeft(datasetId, sybil.address)).to.equal(0n);
      await expect(
        sum.connect(sybil).requestTrialComputation([datasetId], PARAMS, BUYER_KEY, OPERATOR_FEE, TRIAL_EPSILON),
      ).to.be.revertedWithCustomError(registry, "TrialBook__NoTrial");
    }
    const [, spent] = await registry.budgetOf(datasetId);
    expect(spent).to.equal(ALLOWANCE * TRIAL_EPSILON);
  });

  it("refuses ε above the trial's, an exact trial, and a dataset without a trial; nothing is used", async function () {
    const { registry, sum, buyer, seller, datasetId } = await loadFixture(offered);
    const trial = (epsilon: bigint) => sum.connect(buyer).requestTrialComputation([datasetId], PARAMS, BUYER_KEY, OPERATOR_FEE, epsilon);
    await expect(trial(TRIAL_EPSILON + 1n))
      .to.be.revertedWithCustomError(registry, "TrialBook__TrialEpsilon")
      .withArgs(datasetId, TRIAL_EPSILON + 1n, TRIAL_EPSILON);
    await expect(trial(0n)).to.be.revertedWithCustomError(registry, "TrialBook__TrialEpsilon").withArgs(datasetId, 0n, TRIAL_EPSILON);
    expect(await registry.trialsLeft(datasetId, buyer.address)).to.equal(PER_BUYER);
    // Withdrawn: all zeros.
    await expect(registry.connect(seller).setTrialTerms(datasetId, 0, 0, 0)).to.emit(registry, "TrialTermsSet").withArgs(datasetId, 0n, 0n, 0n);
    await expect(trial(TRIAL_EPSILON)).to.be.revertedWithCustomError(registry, "TrialBook__NoTrial").withArgs(datasetId, buyer.address);
    // A paused dataset is refused by the computation and uses no trial.
    await (await registry.connect(seller).setTrialTerms(datasetId, PER_BUYER, TRIAL_EPSILON, ALLOWANCE)).wait();
    await (await registry.connect(seller).setDatasetActive(datasetId, false)).wait();
    await expect(trial(TRIAL_EPSILON)).to.be.revertedWithCustomError(sum, "AlgorithmComputation__DatasetInactive").withArgs(datasetId);
    expect(await registry.trialsLeft(datasetId, buyer.address)).to.equal(PER_BUYER);
  });

  it("only the seller of a listed dataset sets terms, and only consistent ones", async function () {
    const { registry, seller, stranger, datasetId } = await loadFixture(offered);
    await expect(registry.connect(stranger).setTrialTerms(datasetId, 1, 10, 10))
      .to.be.revertedWithCustomError(registry, "DatasetRegistry__NotSeller")
      .withArgs(datasetId, stranger.address);
    for (const [perBuyer, epsilon, allowance] of [
      [1, 0, 10],
      [1, 10, 0],
      [0, 10, 10],
    ]) {
      await expect(registry.connect(seller).setTrialTerms(datasetId, perBuyer, epsilon, allowance)).to.be.revertedWithCustomError(
        registry,
        "TrialBook__BadTerms",
      );
    }
    await (await registry.connect(seller).deregisterDataset(datasetId)).wait();
    await expect(registry.connect(seller).setTrialTerms(datasetId, 1, 10, 10)).to.be.revertedWithCustomError(registry, "DatasetRegistry__Deregistered");
  });

  it("a failed trial request gives back its ε and the fee, not the trial", async function () {
    const market = await loadFixture(offered);
    const { registry, sum, buyer, datasetId } = market;
    const tx = await sum.connect(buyer).requestTrialComputation([datasetId], PARAMS, BUYER_KEY, OPERATOR_FEE, TRIAL_EPSILON);
    const req = await oracleRequestOf(market, tx);
    await expect(fulfil(market, req, "0x")).to.emit(sum, "ComputationFailed");
    expect(await sum.withdrawable(buyer.address)).to.equal(OPERATOR_FEE);
    const [, spent] = await registry.budgetOf(datasetId);
    expect(spent).to.equal(0n);
    expect(await registry.trialsLeft(datasetId, buyer.address)).to.equal(PER_BUYER - 1n);
  });
});
