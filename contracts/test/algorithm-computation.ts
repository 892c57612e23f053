import { expect } from "chai";
import { decode } from "cbor-x";
import {
  BUYER_FUNDS,
  BUYER_KEY,
  COLUMN,
  PRICE,
  deployMarket,
  deployMarketWithDataset,
  ethers,
  fulfil,
  networkHelpers,
  oracleRequestOf,
} from "./fixtures/market.ts";
import { SUM_JOB_ID, DEFAULT_LINK_FEE } from "../src/index.ts";

const { loadFixture } = networkHelpers;
const RESULT = ethers.hexlify(ethers.toUtf8Bytes("ciphertext of the sum for the buyer"));
const Status = { None: 0n, Pending: 1n, Fulfilled: 2n, Failed: 3n, Refunded: 4n } as const;

async function requested() {
  const market = await deployMarketWithDataset();
  const tx = await market.sum.connect(market.buyer).requestComputation(market.datasetId, COLUMN, BUYER_KEY);
  const oracleRequest = await oracleRequestOf(market, tx);
  return { ...market, tx, oracleRequest, requestId: oracleRequest.requestId };
}

describe("SumComputation", function () {
  describe("configuration", function () {
    it("exposes its algorithm, wiring and version", async function () {
      const { sum, addresses } = await loadFixture(deployMarket);
      expect(await sum.algorithm()).to.equal("sum@1");
      expect(await sum.registry()).to.equal(addresses.registry);
      expect(await sum.paymentToken()).to.equal(addresses.paymentToken);
      expect(await sum.linkToken()).to.equal(addresses.linkToken);
      expect(await sum.operator()).to.equal(addresses.operator);
      expect(await sum.jobId()).to.equal(SUM_JOB_ID);
      expect(await sum.linkFee()).to.equal(DEFAULT_LINK_FEE);
      expect(await sum.typeAndVersion()).to.equal("SumComputation 1.0.0");
    });

    it("rejects a zero address in the constructor", async function () {
      const { addresses } = await loadFixture(deployMarket);
      const factory = await ethers.getContractFactory("SumComputation");
      await expect(
        factory.deploy(
          addresses.linkToken,
          ethers.ZeroAddress,
          SUM_JOB_ID,
          DEFAULT_LINK_FEE,
          addresses.paymentToken,
          addresses.registry,
        ),
      ).to.be.revertedWithCustomError(factory, "SumComputation__ZeroAddress");
    });
  });

  describe("requestComputation", function () {
    it("escrows the price, pays the LINK fee and emits ComputationRequested", async function () {
      const market = await loadFixture(deployMarketWithDataset);
      const { sum, buyer, paymentToken, linkToken, datasetId, addresses } = market;
      const tx = await sum.connect(buyer).requestComputation(datasetId, COLUMN, BUYER_KEY);
      const { requestId } = await oracleRequestOf(market, tx);

      await expect(tx)
        .to.emit(sum, "ComputationRequested")
        .withArgs(requestId, buyer.address, datasetId, COLUMN, BUYER_KEY, PRICE);
      expect(await paymentToken.balanceOf(buyer.address)).to.equal(BUYER_FUNDS - PRICE);
      expect(await paymentToken.balanceOf(addresses.sumComputation)).to.equal(PRICE);
      expect(await linkToken.balanceOf(addresses.operator)).to.equal(DEFAULT_LINK_FEE);

      const request = await sum.getRequest(requestId);
      expect(request.buyer).to.equal(buyer.address);
      expect(request.datasetId).to.equal(datasetId);
      expect(request.column).to.equal(COLUMN);
      expect(request.buyerKey).to.equal(BUYER_KEY);
      expect(request.price).to.equal(PRICE);
      expect(request.status).to.equal(Status.Pending);
      expect(request.result).to.equal("0x");
    });

    it("sends an OracleRequest whose CBOR data names the algorithm, dataset, column and key", async function () {
      const { oracleRequest, datasetId, addresses } = await loadFixture(requested);
      expect(oracleRequest.specId).to.equal(SUM_JOB_ID);
      expect(oracleRequest.requester).to.equal(addresses.sumComputation);
      expect(oracleRequest.callbackAddr).to.equal(addresses.sumComputation);
      expect(oracleRequest.dataVersion).to.equal(2n);
      const fulfillSelector = ethers.id("fulfill(bytes32,bytes)").slice(0, 10);
      expect(oracleRequest.callbackFunctionId).to.equal(fulfillSelector);

      // Chainlink writes the pairs of an indefinite-length map without its delimiters.
      const data = ethers.getBytes(oracleRequest.data);
      const wrapped = new Uint8Array([0xbf, ...data, 0xff]);
      const params = decode(wrapped) as Record<string, unknown>;
      expect(params).to.deep.equal({
        algorithm: "sum@1",
        datasetId: datasetId.toLowerCase(),
        column: COLUMN,
        buyerKey: BUYER_KEY.toLowerCase(),
      });
      expect(params.datasetId).to.match(/^0x[0-9a-f]{64}$/);
    });

    it("rejects an empty column", async function () {
      const { sum, buyer, datasetId } = await loadFixture(deployMarketWithDataset);
      await expect(
        sum.connect(buyer).requestComputation(datasetId, "", BUYER_KEY),
      ).to.be.revertedWithCustomError(sum, "SumComputation__EmptyColumn");
    });

    it("rejects an unknown dataset with the registry's error", async function () {
      const { sum, registry, buyer } = await loadFixture(deployMarketWithDataset);
      const unknown = ethers.id("nobody/nothing");
      await expect(sum.connect(buyer).requestComputation(unknown, COLUMN, BUYER_KEY))
        .to.be.revertedWithCustomError(registry, "DatasetRegistry__UnknownDataset")
        .withArgs(unknown);
    });

    it("rejects a paused dataset", async function () {
      const { sum, registry, seller, buyer, datasetId } = await loadFixture(deployMarketWithDataset);
      await (await registry.connect(seller).setDatasetActive(datasetId, false)).wait();
      await expect(sum.connect(buyer).requestComputation(datasetId, COLUMN, BUYER_KEY))
        .to.be.revertedWithCustomError(sum, "SumComputation__DatasetInactive")
        .withArgs(datasetId);
    });

    it("reverts without an allowance and leaves no request behind", async function () {
      const { sum, paymentToken, buyer, datasetId, addresses } = await loadFixture(deployMarketWithDataset);
      await (await paymentToken.connect(buyer).approve(addresses.sumComputation, 0n)).wait();
      await expect(sum.connect(buyer).requestComputation(datasetId, COLUMN, BUYER_KEY)).to.be.revertedWith(
        "ERC20: insufficient allowance",
      );
      expect(await paymentToken.balanceOf(buyer.address)).to.equal(BUYER_FUNDS);
    });
  });

  describe("fulfill", function () {
    it("stores the result, credits the seller, who withdraws the price", async function () {
      const market = await loadFixture(requested);
      const { sum, seller, paymentToken, requestId, oracleRequest, operator } = market;

      const tx = await fulfil(market, oracleRequest, RESULT);
      await expect(tx).to.emit(operator, "OracleResponse").withArgs(requestId);
      await expect(tx).to.emit(sum, "ChainlinkFulfilled").withArgs(requestId);
      await expect(tx).to.emit(sum, "ComputationFulfilled").withArgs(requestId, ethers.keccak256(RESULT));
      await expect(tx).to.emit(sum, "PaymentCredited").withArgs(seller.address, requestId, PRICE);

      const request = await sum.getRequest(requestId);
      expect(request.status).to.equal(Status.Fulfilled);
      expect(request.result).to.equal(RESULT);
      expect(await sum.withdrawable(seller.address)).to.equal(PRICE);

      await expect(sum.connect(seller).withdraw()).to.emit(sum, "PaymentWithdrawn").withArgs(seller.address, PRICE);
      expect(await paymentToken.balanceOf(seller.address)).to.equal(PRICE);
      expect(await paymentToken.balanceOf(await sum.getAddress())).to.equal(0n);
      expect(await sum.withdrawable(seller.address)).to.equal(0n);
      await expect(sum.connect(seller).withdraw())
        .to.be.revertedWithCustomError(sum, "SumComputation__NothingToWithdraw")
        .withArgs(seller.address);
    });

    it("rejects a fulfilment from an unauthorized sender", async function () {
      const market = await loadFixture(requested);
      await expect(fulfil(market, market.oracleRequest, RESULT, market.stranger)).to.be.revertedWith(
        "Not authorized sender",
      );
      expect((await market.sum.getRequest(market.requestId)).status).to.equal(Status.Pending);
    });

    it("rejects a direct call that does not come from the operator", async function () {
      const { sum, stranger, requestId } = await loadFixture(requested);
      await expect(sum.connect(stranger).fulfill(requestId, RESULT)).to.be.revertedWith(
        "Source must be the oracle of the request",
      );
    });

    it("rejects a second fulfilment of the same request", async function () {
      const market = await loadFixture(requested);
      await (await fulfil(market, market.oracleRequest, RESULT)).wait();
      const other = ethers.hexlify(ethers.toUtf8Bytes("a different answer"));
      await expect(fulfil(market, market.oracleRequest, other)).to.be.revertedWith("Must have a valid requestId");

      const request = await market.sum.getRequest(market.requestId);
      expect(request.result).to.equal(RESULT);
      expect(await market.sum.withdrawable(market.seller.address)).to.equal(PRICE);
    });

    it("fails the request and refunds the buyer on an empty result", async function () {
      const market = await loadFixture(requested);
      const { sum, buyer, seller, paymentToken, requestId, oracleRequest } = market;

      const tx = await fulfil(market, oracleRequest, "0x");
      await expect(tx).to.emit(sum, "ComputationFailed").withArgs(requestId);
      await expect(tx).to.emit(sum, "PaymentCredited").withArgs(buyer.address, requestId, PRICE);
      await expect(tx).to.not.emit(sum, "ComputationFulfilled");

      const request = await sum.getRequest(requestId);
      expect(request.status).to.equal(Status.Failed);
      expect(request.result).to.equal("0x");
      expect(await sum.withdrawable(seller.address)).to.equal(0n);
      expect(await sum.withdrawable(buyer.address)).to.equal(PRICE);

      await expect(sum.connect(buyer).withdraw()).to.emit(sum, "PaymentWithdrawn").withArgs(buyer.address, PRICE);
      expect(await paymentToken.balanceOf(buyer.address)).to.equal(BUYER_FUNDS);
    });

    it("fails the request instead of storing an oversized result", async function () {
      const market = await loadFixture(requested);
      const { sum, buyer, requestId, oracleRequest } = market;
      const tooLong = new Uint8Array(Number(await sum.MAX_RESULT_LENGTH()) + 1).fill(7);

      await expect(fulfil(market, oracleRequest, tooLong)).to.emit(sum, "ComputationFailed").withArgs(requestId);
      expect((await sum.getRequest(requestId)).status).to.equal(Status.Failed);
      expect(await sum.withdrawable(buyer.address)).to.equal(PRICE);
    });
  });

  describe("withdraw", function () {
    it("reverts when nothing is owed", async function () {
      const { sum, stranger } = await loadFixture(deployMarket);
      await expect(sum.connect(stranger).withdraw())
        .to.be.revertedWithCustomError(sum, "SumComputation__NothingToWithdraw")
        .withArgs(stranger.address);
    });

    it("pays a seller the sum of several sales at once", async function () {
      const market = await loadFixture(requested);
      const { sum, buyer, seller, paymentToken, datasetId, addresses } = market;
      await (await fulfil(market, market.oracleRequest, RESULT)).wait();

      await (await paymentToken.connect(buyer).approve(addresses.sumComputation, PRICE)).wait();
      const second = await oracleRequestOf(
        market,
        await sum.connect(buyer).requestComputation(datasetId, "other-column", BUYER_KEY),
      );
      expect(second.requestId).to.not.equal(market.requestId);
      await (await fulfil(market, second, RESULT)).wait();

      expect(await sum.withdrawable(seller.address)).to.equal(2n * PRICE);
      await expect(sum.connect(seller).withdraw())
        .to.emit(sum, "PaymentWithdrawn")
        .withArgs(seller.address, 2n * PRICE);
      expect(await paymentToken.balanceOf(seller.address)).to.equal(2n * PRICE);
    });
  });
});
