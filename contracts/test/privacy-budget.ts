/**
 * Each dataset's differential-privacy budget through the real contracts: a
 * request spends its ε on every dataset in the same transaction (or reverts,
 * spending and escrowing nothing), exact requests (ε 0) go only where the
 * seller allowed them, every way a request can end Failed or Refunded gives
 * the ε back exactly once, and nobody but the factory's computations can spend
 * or give back budget.
 */
import { expect } from "chai";
import type { ContractTransactionResponse } from "ethers";
import {
  BUDGET,
  BUYER_FUNDS,
  BUYER_KEY,
  COMMITMENTS,
  EPSILON,
  OPERATOR_FEE,
  PARAMS,
  POLICY,
  PRICE,
  QUOTE,
  SCHEMA,
  STAKE,
  deployMarket,
  deployMarketWithDataset,
  encodePayload,
  ethers,
  fulfil,
  networkHelpers,
  marketWithTestRegistry,
  oracleRequestOf,
  signResult,
  signedPayload,
} from "./fixtures/market.ts";
import { DEFAULT_LINK_FEE, DEFAULT_REQUEST_TIMEOUT, algorithmId, jobIdOf } from "../src/index.ts";

const { loadFixture, time } = networkHelpers;
const SUM = algorithmId("sum@1");
const MEAN = algorithmId("mean@1");
const RESULT = ethers.hexlify(ethers.toUtf8Bytes("ciphertext of the sum for the buyer"));
const PRICE_2 = ethers.parseEther("7");
const Status = { Pending: 1n, Fulfilled: 2n, Failed: 3n, Refunded: 4n } as const;
const Reason = { BridgeError: 1n, Malformed: 2n, BadSignature: 3n, TooLong: 4n, SellersUnreadable: 5n, Late: 6n } as const;

type Market = Awaited<ReturnType<typeof deployMarket>>;

/** [total, spent, remaining] of a dataset's budget. */
async function budget(market: Pick<Market, "registry">, id: string): Promise<bigint[]> {
  return [...(await market.registry.budgetOf(id))];
}

/** Two datasets of two sellers (ids ascending), the buyer approved the payment contracts without limit. */
async function twoDatasets() {
  const market = await deployMarketWithDataset();
  const { registry, stranger: seller2, buyer, paymentToken, sum, mean, datasetId } = market;
  await (await registry.connect(seller2).registerDataset("clinic-b", SCHEMA, 500n, PRICE_2, COMMITMENTS, POLICY, STAKE)).wait();
  const datasetId2 = await registry.datasetId(seller2.address, "clinic-b");
  for (const computation of [sum, mean]) {
    await (await paymentToken.connect(buyer).approve(await computation.getAddress(), ethers.MaxUint256)).wait();
  }
  const ids = [datasetId, datasetId2].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
  return { ...market, seller2, datasetId2, ids, quote: PRICE + PRICE_2 + OPERATOR_FEE };
}

/** Both datasets of {@link twoDatasets}, one request spending EPSILON on each. */
async function requestedOverTwo() {
  const market = await twoDatasets();
  const tx = await market.sum.connect(market.buyer).requestComputation(market.ids, PARAMS, BUYER_KEY, market.quote, EPSILON);
  const oracleRequest = await oracleRequestOf(market, tx);
  const block = await ethers.provider.getBlock((await tx.wait())!.blockNumber);
  const deadline = BigInt(block!.timestamp) + BigInt(DEFAULT_REQUEST_TIMEOUT);
  return { ...market, tx, oracleRequest, requestId: oracleRequest.requestId, deadline };
}

/** Expects the transaction to give EPSILON back to each dataset in `ids`, once, and nothing else. */
async function expectRestored(market: Pick<Market, "registry">, tx: ContractTransactionResponse, ids: string[]) {
  const receipt = (await tx.wait())!;
  const restored = receipt.logs
    .map((log) => (log.address === market.registry.target ? market.registry.interface.parseLog(log) : null))
    .filter((parsed) => parsed?.name === "PrivacyBudgetRestored")
    .map((parsed) => [parsed!.args.datasetId, parsed!.args.epsilon, parsed!.args.remaining]);
  expect(restored).to.deep.equal(ids.map((id) => [id, EPSILON, BUDGET]));
  for (const id of ids) expect(await budget(market, id)).to.deep.equal([BUDGET, 0n, BUDGET]);
}

describe("privacy budget", function () {
  describe("spending", function () {
    it("spends ε on every dataset of the request in the same transaction, with events", async function () {
      const market = await loadFixture(requestedOverTwo);
      const { registry, sum, tx, ids, requestId } = market;
      for (const id of ids) {
        await expect(tx).to.emit(registry, "PrivacyBudgetSpent").withArgs(id, EPSILON, BUDGET - EPSILON);
        expect(await budget(market, id)).to.deep.equal([BUDGET, EPSILON, BUDGET - EPSILON]);
        expect((await registry.getSaleTerms(id, SUM)).budgetRemaining).to.equal(BUDGET - EPSILON);
      }
      await expect(tx).to.emit(sum, "ComputationRequested");
      expect((await sum.getRequest(requestId)).epsilon).to.equal(EPSILON);
    });

    it("refuses a request when any dataset has less left than ε: nothing spent, escrowed or sent", async function () {
      const market = await loadFixture(twoDatasets);
      const { registry, sum, buyer, seller2, datasetId2, ids, quote, paymentToken, linkToken, addresses } = market;
      const other = ids.find((id) => id !== datasetId2)!;
      await (await registry.connect(seller2).setPolicy(datasetId2, { ...POLICY, budget: EPSILON - 1n })).wait();
      const sumAddress = await sum.getAddress();
      const linkBefore = await linkToken.balanceOf(sumAddress);

      await expect(sum.connect(buyer).requestComputation(ids, PARAMS, BUYER_KEY, quote, EPSILON))
        .to.be.revertedWithCustomError(registry, "DatasetRegistry__BudgetExhausted")
        .withArgs(datasetId2, EPSILON - 1n, EPSILON);
      expect(await budget(market, other)).to.deep.equal([BUDGET, 0n, BUDGET]);
      expect(await budget(market, datasetId2)).to.deep.equal([EPSILON - 1n, 0n, EPSILON - 1n]);
      expect(await paymentToken.balanceOf(buyer.address)).to.equal(BUYER_FUNDS);
      expect(await paymentToken.balanceOf(sumAddress)).to.equal(0n);
      expect(await linkToken.balanceOf(sumAddress)).to.equal(linkBefore);
      expect(await linkToken.balanceOf(addresses.operator)).to.equal(0n);
      expect(await sum.queryFilter(sum.filters.ComputationRequested())).to.have.length(0);

      // Exactly what is left can be spent; then nothing more.
      await expect(sum.connect(buyer).requestComputation(ids, PARAMS, BUYER_KEY, quote, EPSILON - 1n))
        .to.emit(registry, "PrivacyBudgetSpent")
        .withArgs(datasetId2, EPSILON - 1n, 0n);
      expect(await budget(market, datasetId2)).to.deep.equal([EPSILON - 1n, EPSILON - 1n, 0n]);
      await expect(sum.connect(buyer).requestComputation(ids, '{"column":"again"}', BUYER_KEY, quote, 1n))
        .to.be.revertedWithCustomError(registry, "DatasetRegistry__BudgetExhausted")
        .withArgs(datasetId2, 0n, 1n);
    });

    it("shares one budget between the algorithms sold over a dataset", async function () {
      const market = await loadFixture(twoDatasets);
      const { registry, sum, mean, buyer, seller, datasetId } = market;
      await (await registry.connect(seller).setPolicy(datasetId, { ...POLICY, allowedAlgorithms: [SUM, MEAN], budget: 2n * EPSILON })).wait();
      await (await sum.connect(buyer).requestComputation([datasetId], PARAMS, BUYER_KEY, QUOTE, EPSILON)).wait();
      await (await mean.connect(buyer).requestComputation([datasetId], PARAMS, BUYER_KEY, QUOTE, EPSILON)).wait();
      expect(await budget(market, datasetId)).to.deep.equal([2n * EPSILON, 2n * EPSILON, 0n]);
      await expect(sum.connect(buyer).requestComputation([datasetId], '{"column":"x"}', BUYER_KEY, QUOTE, 1n))
        .to.be.revertedWithCustomError(registry, "DatasetRegistry__BudgetExhausted")
        .withArgs(datasetId, 0n, 1n);
    });

    it("caps ε per request at MAX_EPSILON (65,535 milli-ε)", async function () {
      const market = await loadFixture(deployMarketWithDataset);
      const { registry, sum, buyer, seller, datasetId } = market;
      const max = await sum.MAX_EPSILON();
      await (await registry.connect(seller).setPolicy(datasetId, { ...POLICY, budget: 2n ** 32n - 1n })).wait();
      await expect(sum.connect(buyer).requestComputation([datasetId], PARAMS, BUYER_KEY, QUOTE, max + 1n))
        .to.be.revertedWithCustomError(sum, "AlgorithmComputation__EpsilonTooHigh")
        .withArgs(max + 1n, max);
      const { requestId } = await oracleRequestOf(market, await sum.connect(buyer).requestComputation([datasetId], PARAMS, BUYER_KEY, QUOTE, max));
      expect((await sum.getRequest(requestId)).epsilon).to.equal(max);
      expect(await budget(market, datasetId)).to.deep.equal([2n ** 32n - 1n, max, 2n ** 32n - 1n - max]);
    });

    it("a request over a paused or disallowed dataset reports that, not the budget, and spends nothing", async function () {
      const market = await loadFixture(twoDatasets);
      const { registry, sum, mean, buyer, seller, datasetId, ids, quote } = market;
      await (await registry.connect(seller).setPolicy(datasetId, { ...POLICY, budget: 0n })).wait();
      await expect(mean.connect(buyer).requestComputation(ids, PARAMS, BUYER_KEY, quote, EPSILON))
        .to.be.revertedWithCustomError(mean, "AlgorithmComputation__AlgorithmNotAllowed")
        .withArgs(ids[0], "mean@1");
      await (await registry.connect(seller).setDatasetActive(datasetId, false)).wait();
      await expect(sum.connect(buyer).requestComputation(ids, PARAMS, BUYER_KEY, quote, EPSILON))
        .to.be.revertedWithCustomError(sum, "AlgorithmComputation__DatasetInactive")
        .withArgs(datasetId);
      for (const id of ids) expect((await budget(market, id))[1]).to.equal(0n);
    });
  });

  describe("exact requests (ε 0)", function () {
    it("are refused where the seller did not allow exact answers of the algorithm, spending nothing", async function () {
      const market = await loadFixture(twoDatasets);
      const { registry, sum, mean, buyer, seller2, datasetId2, ids, quote } = market;
      await expect(sum.connect(buyer).requestComputation(ids, PARAMS, BUYER_KEY, quote, 0n))
        .to.be.revertedWithCustomError(sum, "AlgorithmComputation__ExactNotAllowed")
        .withArgs(ids[0]);
      // One of the two sellers allowing it is not enough.
      await (await registry.connect(seller2).setPolicy(datasetId2, { ...POLICY, allowedAlgorithms: [SUM, MEAN], exactAlgorithms: [MEAN] })).wait();
      await expect(mean.connect(buyer).requestComputation([datasetId2], PARAMS, BUYER_KEY, PRICE_2 + OPERATOR_FEE, 0n)).to.emit(
        mean,
        "ComputationRequested",
      );
      const other = ids.find((id) => id !== datasetId2)!;
      await expect(sum.connect(buyer).requestComputation([datasetId2], PARAMS, BUYER_KEY, PRICE_2 + OPERATOR_FEE, 0n))
        .to.be.revertedWithCustomError(sum, "AlgorithmComputation__ExactNotAllowed")
        .withArgs(datasetId2);
      await (await registry.connect(seller2).setPolicy(datasetId2, { ...POLICY, exactAlgorithms: [SUM] })).wait();
      await expect(sum.connect(buyer).requestComputation(ids, PARAMS, BUYER_KEY, quote, 0n))
        .to.be.revertedWithCustomError(sum, "AlgorithmComputation__ExactNotAllowed")
        .withArgs(other);
      for (const id of ids) expect((await budget(market, id))[1]).to.equal(0n);
    });

    it("are sold where every seller allowed them, spending no budget, even from an empty one", async function () {
      const market = await loadFixture(twoDatasets);
      const { registry, sum, buyer, seller, seller2, datasetId, datasetId2, ids, quote } = market;
      await (await registry.connect(seller).setPolicy(datasetId, { ...POLICY, budget: 0n, exactAlgorithms: [SUM] })).wait();
      await (await registry.connect(seller2).setPolicy(datasetId2, { ...POLICY, exactAlgorithms: [SUM] })).wait();
      const tx = await sum.connect(buyer).requestComputation(ids, PARAMS, BUYER_KEY, quote, 0n);
      const { requestId } = await oracleRequestOf(market, tx);
      await expect(tx).to.not.emit(registry, "PrivacyBudgetSpent");
      const request = await sum.getRequest(requestId);
      expect([request.status, request.epsilon]).to.deep.equal([Status.Pending, 0n]);
      const [event] = await sum.queryFilter(sum.filters.ComputationRequested(requestId));
      expect(event.args.epsilon).to.equal(0n);
      expect(await budget(market, datasetId)).to.deep.equal([0n, 0n, 0n]);
      expect(await budget(market, datasetId2)).to.deep.equal([BUDGET, 0n, BUDGET]);
      // A differentially private answer still needs budget, exact allowed or not.
      await expect(sum.connect(buyer).requestComputation(ids, '{"column":"x"}', BUYER_KEY, quote, 1n))
        .to.be.revertedWithCustomError(registry, "DatasetRegistry__BudgetExhausted")
        .withArgs(datasetId, 0n, 1n);

      // A failed exact request has nothing to give back.
      await time.increase(DEFAULT_REQUEST_TIMEOUT + 1);
      const refund = await sum.refund(requestId);
      await expect(refund).to.emit(sum, "ComputationRefunded");
      await expect(refund).to.not.emit(registry, "PrivacyBudgetRestored");
      expect(await budget(market, datasetId2)).to.deep.equal([BUDGET, 0n, BUDGET]);
    });
  });

  describe("giving back", function () {
    const failures: [string, bigint, (market: Awaited<ReturnType<typeof requestedOverTwo>>) => Promise<string>][] = [
      ["the bridge reports an error (1)", Reason.BridgeError, async () => "0x"],
      ["the payload is malformed (2)", Reason.Malformed, async () => "0x1234"],
      [
        "a signature is not a host's (3)",
        Reason.BadSignature,
        async ({ sum, requestId }) => encodePayload(RESULT, await signResult(sum, requestId, RESULT, [new ethers.Wallet(ethers.id("x")), new ethers.Wallet(ethers.id("y")), new ethers.Wallet(ethers.id("z"))])),
      ],
      ["the result is too long (4)", Reason.TooLong, async ({ sum, requestId }) => signedPayload(sum, requestId, ethers.hexlify(new Uint8Array(4097)))],
    ];
    for (const [what, reason, payloadOf] of failures) {
      it(`gives ε back to every dataset, once, when ${what}`, async function () {
        const market = await loadFixture(requestedOverTwo);
        const { sum, buyer, requestId, oracleRequest, ids, quote } = market;
        const tx = await fulfil(market, oracleRequest, await payloadOf(market));
        await expect(tx).to.emit(sum, "ComputationFailed").withArgs(requestId, reason);
        await expect(tx).to.not.emit(sum, "PrivacyBudgetRestoreFailed");
        await expectRestored(market, tx, ids);
        expect(await sum.withdrawable(buyer.address)).to.equal(quote);
        // Settled: neither a refund nor anything else gives it back again.
        await time.increase(DEFAULT_REQUEST_TIMEOUT + 1);
        await expect(sum.refund(requestId)).to.be.revertedWithCustomError(sum, "AlgorithmComputation__NotPending").withArgs(requestId, Status.Failed);
        for (const id of ids) expect(await budget(market, id)).to.deep.equal([BUDGET, 0n, BUDGET]);
      });
    }

    it("gives ε back, once, to a late answer (reason 6), and the refund that follows is refused", async function () {
      const market = await loadFixture(requestedOverTwo);
      const { sum, requestId, oracleRequest, ids, deadline } = market;
      await time.setNextBlockTimestamp(deadline + 1n);
      const tx = await fulfil(market, oracleRequest, await signedPayload(sum, requestId, RESULT));
      await expect(tx).to.emit(sum, "ComputationFailed").withArgs(requestId, Reason.Late);
      await expectRestored(market, tx, ids);
      await expect(sum.refund(requestId)).to.be.revertedWithCustomError(sum, "AlgorithmComputation__NotPending").withArgs(requestId, Status.Failed);
      for (const id of ids) expect(await budget(market, id)).to.deep.equal([BUDGET, 0n, BUDGET]);
    });

    it("gives ε back, once, to a refunded request; an answer after the refund changes nothing", async function () {
      const market = await loadFixture(requestedOverTwo);
      const { sum, registry, stranger, requestId, oracleRequest, ids } = market;
      await time.increase(DEFAULT_REQUEST_TIMEOUT + 1);
      const tx = await sum.connect(stranger).refund(requestId);
      await expect(tx).to.emit(sum, "ComputationRefunded").withArgs(requestId);
      await expectRestored(market, tx, ids);
      await expect(sum.refund(requestId)).to.be.revertedWithCustomError(sum, "AlgorithmComputation__NotPending").withArgs(requestId, Status.Refunded);
      const late = await fulfil(market, oracleRequest, await signedPayload(sum, requestId, RESULT));
      await expect(late).to.not.emit(registry, "PrivacyBudgetRestored");
      await expect(late).to.not.emit(sum, "ComputationFailed");
      for (const id of ids) expect(await budget(market, id)).to.deep.equal([BUDGET, 0n, BUDGET]);
    });

    it("keeps ε spent for a fulfilled request", async function () {
      const market = await loadFixture(requestedOverTwo);
      const { sum, registry, requestId, oracleRequest, ids } = market;
      const tx = await fulfil(market, oracleRequest, await signedPayload(sum, requestId, RESULT));
      await expect(tx).to.emit(sum, "ComputationFulfilled");
      await expect(tx).to.not.emit(registry, "PrivacyBudgetRestored");
      await time.increase(DEFAULT_REQUEST_TIMEOUT + 1);
      await expect(sum.refund(requestId)).to.be.revertedWithCustomError(sum, "AlgorithmComputation__NotPending");
      for (const id of ids) expect(await budget(market, id)).to.deep.equal([BUDGET, EPSILON, BUDGET - EPSILON]);
    });

    it("gives ε back to a dataset deregistered or re-budgeted while the request was pending, never above its total", async function () {
      const market = await loadFixture(requestedOverTwo);
      const { sum, registry, seller, seller2, datasetId, datasetId2, requestId } = market;
      await (await registry.connect(seller).deregisterDataset(datasetId)).wait();
      // The second seller lowers its total to exactly what is spent: nothing left.
      await (await registry.connect(seller2).setPolicy(datasetId2, { ...POLICY, budget: EPSILON })).wait();
      expect(await budget(market, datasetId2)).to.deep.equal([EPSILON, EPSILON, 0n]);
      await time.increase(DEFAULT_REQUEST_TIMEOUT + 1);
      const tx = await sum.refund(requestId);
      await expect(tx).to.emit(registry, "PrivacyBudgetRestored").withArgs(datasetId, EPSILON, BUDGET);
      await expect(tx).to.emit(registry, "PrivacyBudgetRestored").withArgs(datasetId2, EPSILON, EPSILON);
      expect(await budget(market, datasetId)).to.deep.equal([BUDGET, 0n, BUDGET]);
      expect(await budget(market, datasetId2)).to.deep.equal([EPSILON, 0n, EPSILON]);
    });

    it("gives ε back over 20 datasets with the least gas the Operator lets reach the callback", async function () {
      const market = await loadFixture(deployMarket);
      const { registry, sum, buyer, seller, stranger, paymentToken } = market;
      const ids: string[] = [];
      for (let i = 0; i < 20; i++) {
        const who = i % 2 === 0 ? seller : stranger;
        await (await registry.connect(who).registerDataset(`part-${i}`, SCHEMA, 10n, 1n, COMMITMENTS, POLICY, STAKE)).wait();
      }
      for (let i = 0; i < 20; i++) ids.push(await registry.datasetId((i % 2 === 0 ? seller : stranger).address, `part-${i}`));
      ids.sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
      await (await paymentToken.connect(buyer).approve(await sum.getAddress(), ethers.MaxUint256)).wait();
      const oracleRequest = await oracleRequestOf(market, await sum.connect(buyer).requestComputation(ids, PARAMS, BUYER_KEY, ethers.MaxUint256, EPSILON));
      // The costliest failure: a longest result, decoded and hashed, whose first signature is wrong.
      const longest = ethers.hexlify(new Uint8Array(4096).fill(7));
      const intruder = new ethers.Wallet(ethers.id("intruder"));
      const payload = encodePayload(longest, await signResult(sum, oracleRequest.requestId, longest, [intruder, intruder, intruder]));
      const data = ethers.AbiCoder.defaultAbiCoder().encode(["bytes32", "bytes"], [oracleRequest.requestId, payload]);
      const args = [oracleRequest.requestId, oracleRequest.payment, oracleRequest.callbackAddr, oracleRequest.callbackFunctionId, oracleRequest.cancelExpiration, data] as const;
      const least = await market.operator.connect(market.relay).fulfillOracleRequest2.estimateGas(...args);
      await expect(market.operator.connect(market.relay).fulfillOracleRequest2(...args, { gasLimit: least - 1000n })).to.be.revertedWith(
        "Must provide consumer enough gas",
      );
      const tx = await market.operator.connect(market.relay).fulfillOracleRequest2(...args, { gasLimit: least });
      await expect(tx).to.emit(sum, "ComputationFailed").withArgs(oracleRequest.requestId, Reason.BadSignature);
      await expect(tx).to.not.emit(sum, "PrivacyBudgetRestoreFailed");
      await expectRestored(market, tx, ids);
    });
  });

  describe("a stranger who refunds with too little gas", function () {
    it("cannot burn a 20-dataset request's ε: a refund whose restore runs out of gas reverts whole", async function () {
      const market = await loadFixture(deployMarket);
      const { registry, sum, buyer, seller, stranger, paymentToken } = market;
      for (let i = 0; i < 20; i++) {
        const who = i % 2 === 0 ? seller : stranger;
        await (await registry.connect(who).registerDataset(`part-${i}`, SCHEMA, 10n, 1n, COMMITMENTS, POLICY, STAKE)).wait();
      }
      const ids: string[] = [];
      for (let i = 0; i < 20; i++) ids.push(await registry.datasetId((i % 2 === 0 ? seller : stranger).address, `part-${i}`));
      ids.sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
      await (await paymentToken.connect(buyer).approve(await sum.getAddress(), ethers.MaxUint256)).wait();
      const { requestId } = await oracleRequestOf(market, await sum.connect(buyer).requestComputation(ids, PARAMS, BUYER_KEY, ethers.MaxUint256, EPSILON));
      await time.increase(DEFAULT_REQUEST_TIMEOUT + 1);
      const needed = await sum.connect(stranger).refund.estimateGas(requestId);
      // Gas limits just short of what the whole refund needs: enough for all but the registry's restore.
      for (const short of [1_000n, 2_000n, 5_000n, 20_000n]) {
        await expect(sum.connect(stranger).refund(requestId, { gasLimit: needed - short })).to.be.revert(ethers);
        expect((await sum.getRequest(requestId)).status).to.equal(1n, `refund at ${needed - short} gas`);
        for (const id of ids) expect((await registry.budgetOf(id)).remaining).to.equal(BUDGET - EPSILON);
      }
      const tx = await sum.connect(stranger).refund(requestId, { gasLimit: needed });
      await expect(tx).to.emit(sum, "ComputationRefunded").withArgs(requestId);
      await expect(tx).to.not.emit(sum, "PrivacyBudgetRestoreFailed");
      for (const id of ids) expect((await registry.budgetOf(id)).remaining).to.equal(BUDGET);
    });
  });

  describe("a registry that fails the computation", function () {
    /** A computation over the test registry `SellerlessRegistry` (which counts what is spent per dataset index). */
    async function overTestRegistry() {
      const market = await marketWithTestRegistry();
      const { buyer, testRegistry, computation } = market;
      const oracleRequest = await oracleRequestOf(
        market,
        await computation.connect(buyer).requestComputation([ethers.id("any dataset")], PARAMS, BUYER_KEY, 1n + OPERATOR_FEE, EPSILON),
      );
      expect(await testRegistry.spentOf(1)).to.equal(EPSILON);
      return { ...market, testRegistry, computation, oracleRequest, requestId: oracleRequest.requestId };
    }

    it("gives ε back, once, when the registry cannot name the sellers (reason 5)", async function () {
      const market = await loadFixture(overTestRegistry);
      const { testRegistry, computation, buyer, oracleRequest, requestId } = market;
      await (await testRegistry.breakSellers()).wait();
      const tx = await fulfil(market, oracleRequest, await signedPayload(computation, requestId, RESULT));
      await expect(tx).to.emit(computation, "ComputationFailed").withArgs(requestId, Reason.SellersUnreadable);
      await expect(tx).to.emit(testRegistry, "BudgetRestored").withArgs(1n, EPSILON);
      expect(await testRegistry.spentOf(1)).to.equal(0n);
      expect(await computation.withdrawable(buyer.address)).to.equal(1n + OPERATOR_FEE);
      await time.increase(DEFAULT_REQUEST_TIMEOUT + 1);
      await expect(computation.refund(requestId)).to.be.revertedWithCustomError(computation, "AlgorithmComputation__NotPending");
      expect(await testRegistry.spentOf(1)).to.equal(0n);
    });

    it("still settles a failed request when the registry refuses to give ε back: the buyer is refunded, the budget stays spent", async function () {
      const market = await loadFixture(overTestRegistry);
      const { testRegistry, computation, buyer, oracleRequest, requestId } = market;
      await (await testRegistry.breakRestore()).wait();
      const tx = await fulfil(market, oracleRequest, "0x");
      expect((await tx.wait())!.status).to.equal(1);
      await expect(tx).to.emit(computation, "ComputationFailed").withArgs(requestId, Reason.BridgeError);
      await expect(tx).to.emit(computation, "PrivacyBudgetRestoreFailed").withArgs(requestId);
      expect((await computation.getRequest(requestId)).status).to.equal(Status.Failed);
      expect(await computation.withdrawable(buyer.address)).to.equal(1n + OPERATOR_FEE);
      expect(await testRegistry.spentOf(1)).to.equal(EPSILON);
    });

    it("does not refund while the registry refuses to give ε back: the request stays Pending and refundable", async function () {
      const market = await loadFixture(overTestRegistry);
      const { testRegistry, computation, buyer, requestId } = market;
      await (await testRegistry.breakRestore()).wait();
      await time.increase(DEFAULT_REQUEST_TIMEOUT + 1);
      await expect(computation.refund(requestId)).to.be.revert(ethers);
      expect((await computation.getRequest(requestId)).status).to.equal(1n);
      expect(await computation.withdrawable(buyer.address)).to.equal(0n);
      expect(await testRegistry.spentOf(1)).to.equal(EPSILON);
    });
  });

  describe("strangers", function () {
    it("a computation the factory did not deploy cannot sell (spend budget), exact or not", async function () {
      const { registry, addresses, buyer, paymentToken, datasetId, seller } = await loadFixture(deployMarketWithDataset);
      await (await registry.connect(seller).setPolicy(datasetId, { ...POLICY, exactAlgorithms: [SUM] })).wait();
      const rogue = await ethers.deployContract("AlgorithmComputation", [
        addresses.linkToken,
        addresses.operator,
        jobIdOf("sum@1"),
        DEFAULT_LINK_FEE,
        addresses.paymentToken,
        addresses.registry,
        addresses.hostRegistry,
        "sum@1",
        OPERATOR_FEE,
        3600n,
      ]);
      const rogueAddress = await rogue.getAddress();
      await (await paymentToken.connect(buyer).approve(rogueAddress, ethers.MaxUint256)).wait();
      for (const epsilon of [EPSILON, 0n]) {
        await expect(rogue.connect(buyer).requestComputation([datasetId], PARAMS, BUYER_KEY, QUOTE, epsilon))
          .to.be.revertedWithCustomError(registry, "DatasetRegistry__NotComputation")
          .withArgs(rogueAddress);
      }
      expect(await registry.isComputation(rogueAddress)).to.equal(false);
      expect(await budget({ registry }, datasetId)).to.deep.equal([BUDGET, 0n, BUDGET]);
    });

    it("a stranger's contract cannot spend or give back budget", async function () {
      const market = await loadFixture(requestedOverTwo);
      const { registry, ids } = market;
      const attacker = await ethers.deployContract("ReentrantReceiver");
      const attackerAddress = await attacker.getAddress();
      const refused = registry.interface.encodeErrorResult("DatasetRegistry__NotComputation", [attackerAddress]);
      const indexes = await Promise.all(ids.map(async (id) => (await registry.getSaleTerms(id, SUM)).datasetIndex));
      await expect(attacker.execute(market.addresses.registry, registry.interface.encodeFunctionData("restoreBudget", [indexes, EPSILON])))
        .to.be.revertedWithCustomError(attacker, "ReentrantReceiver__CallFailed")
        .withArgs(refused);
      await expect(attacker.execute(market.addresses.registry, registry.interface.encodeFunctionData("spendBudget", [ids, SUM, EPSILON, attackerAddress, true])))
        .to.be.revertedWithCustomError(attacker, "ReentrantReceiver__CallFailed")
        .withArgs(refused);
      for (const id of ids) expect(await budget(market, id)).to.deep.equal([BUDGET, EPSILON, BUDGET - EPSILON]);
    });

    it("a factory the registry does not name cannot create computations", async function () {
      const { registry, addresses } = await loadFixture(deployMarket);
      const rogue = await ethers.deployContract("AlgorithmFactory", [
        addresses.linkToken,
        addresses.operator,
        addresses.paymentToken,
        addresses.registry,
        addresses.hostRegistry,
        DEFAULT_LINK_FEE,
        3600n,
      ]);
      await expect(rogue.createAlgorithm("sum@1", jobIdOf("sum@1"), 0n))
        .to.be.revertedWithCustomError(registry, "DatasetRegistry__NotFactory")
        .withArgs(await rogue.getAddress());
    });
  });
});
