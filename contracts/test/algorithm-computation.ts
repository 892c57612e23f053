import { expect } from "chai";
import { decode } from "cbor-x";
import {
  BUYER_FUNDS,
  BUYER_KEY,
  COMMITMENTS,
  PARAMS,
  POLICY,
  PRICE,
  SCHEMA,
  deployMarket,
  deployMarketWithDataset,
  ethers,
  fulfil,
  networkHelpers,
  oracleRequestOf,
} from "./fixtures/market.ts";
import { DEFAULT_LINK_FEE, algorithmId, jobIdOf } from "../src/index.ts";

const { loadFixture } = networkHelpers;
const RESULT = ethers.hexlify(ethers.toUtf8Bytes("ciphertext of the sum for the buyer"));
const Status = { None: 0n, Pending: 1n, Fulfilled: 2n, Failed: 3n, Refunded: 4n } as const;
const PRICE_2 = ethers.parseEther("7");

async function requested() {
  const market = await deployMarketWithDataset();
  const tx = await market.sum.connect(market.buyer).requestComputation([market.datasetId], PARAMS, BUYER_KEY);
  const oracleRequest = await oracleRequestOf(market, tx);
  return { ...market, tx, oracleRequest, requestId: oracleRequest.requestId };
}

/** Two sellers' datasets of one schema, ids in ascending order, the buyer approved both prices. */
async function twoSellers() {
  const market = await deployMarketWithDataset();
  const { registry, stranger: seller2, buyer, paymentToken, sum, datasetId } = market;
  await (await registry.connect(seller2).registerDataset("clinic-b", SCHEMA, 500n, PRICE_2, COMMITMENTS, POLICY)).wait();
  const datasetId2 = await registry.datasetId(seller2.address, "clinic-b");
  await (await paymentToken.connect(buyer).approve(await sum.getAddress(), PRICE + PRICE_2)).wait();
  const ids = [datasetId, datasetId2].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
  return { ...market, seller2, datasetId2, ids };
}

describe("AlgorithmComputation", function () {
  describe("configuration", function () {
    it("exposes its algorithm, wiring and version", async function () {
      const { sum, mean, addresses } = await loadFixture(deployMarket);
      expect(await sum.algorithm()).to.equal("sum@1");
      expect(await sum.algorithmId()).to.equal(algorithmId("sum@1"));
      expect(await mean.algorithm()).to.equal("mean@1");
      expect(await sum.registry()).to.equal(addresses.registry);
      expect(await sum.paymentToken()).to.equal(addresses.paymentToken);
      expect(await sum.linkToken()).to.equal(addresses.linkToken);
      expect(await sum.operator()).to.equal(addresses.operator);
      expect(await sum.jobId()).to.equal(jobIdOf("sum@1"));
      expect(await sum.linkFee()).to.equal(DEFAULT_LINK_FEE);
      expect(await sum.typeAndVersion()).to.equal("AlgorithmComputation 1.0.0");
    });

    it("rejects a zero address or an empty algorithm in the constructor", async function () {
      const { addresses } = await loadFixture(deployMarket);
      const factory = await ethers.getContractFactory("AlgorithmComputation");
      const args = [addresses.linkToken, addresses.operator, jobIdOf("x"), DEFAULT_LINK_FEE, addresses.paymentToken, addresses.registry];
      await expect(factory.deploy(args[0], ethers.ZeroAddress, ...args.slice(2), "sum@1")).to.be.revertedWithCustomError(
        factory,
        "AlgorithmComputation__ZeroAddress",
      );
      await expect(factory.deploy(...args, "")).to.be.revertedWithCustomError(factory, "AlgorithmComputation__EmptyAlgorithm");
    });
  });

  describe("requestComputation", function () {
    it("escrows the price, pays the LINK fee and emits ComputationRequested", async function () {
      const market = await loadFixture(deployMarketWithDataset);
      const { sum, buyer, paymentToken, linkToken, datasetId, addresses } = market;
      const tx = await sum.connect(buyer).requestComputation([datasetId], PARAMS, BUYER_KEY);
      const { requestId } = await oracleRequestOf(market, tx);

      await expect(tx)
        .to.emit(sum, "ComputationRequested")
        .withArgs(requestId, buyer.address, [datasetId], PARAMS, BUYER_KEY, PRICE);
      expect(await paymentToken.balanceOf(buyer.address)).to.equal(BUYER_FUNDS - PRICE);
      expect(await paymentToken.balanceOf(addresses.algorithms["sum@1"])).to.equal(PRICE);
      expect(await linkToken.balanceOf(addresses.operator)).to.equal(DEFAULT_LINK_FEE);

      const request = await sum.getRequest(requestId);
      expect(request.buyer).to.equal(buyer.address);
      expect([...request.datasetIds]).to.deep.equal([datasetId]);
      expect(request.params).to.equal(PARAMS);
      expect(request.buyerKey).to.equal(BUYER_KEY);
      expect(request.price).to.equal(PRICE);
      expect(request.status).to.equal(Status.Pending);
      expect(request.result).to.equal("0x");
    });

    it("sends an OracleRequest whose CBOR data names the algorithm, datasets, params and key", async function () {
      const { oracleRequest, datasetId, addresses } = await loadFixture(requested);
      const sumAddress = addresses.algorithms["sum@1"];
      expect(oracleRequest.specId).to.equal(jobIdOf("sum@1"));
      expect(oracleRequest.requester).to.equal(sumAddress);
      expect(oracleRequest.callbackAddr).to.equal(sumAddress);
      expect(oracleRequest.dataVersion).to.equal(2n);
      expect(oracleRequest.callbackFunctionId).to.equal(ethers.id("fulfill(bytes32,bytes)").slice(0, 10));

      // Chainlink writes the pairs of an indefinite-length map without its delimiters.
      const data = ethers.getBytes(oracleRequest.data);
      const fields = decode(new Uint8Array([0xbf, ...data, 0xff])) as Record<string, unknown>;
      expect(fields).to.deep.equal({
        algorithm: "sum@1",
        datasetIds: datasetId.toLowerCase(),
        params: PARAMS,
        buyerKey: BUYER_KEY.toLowerCase(),
      });
    });

    it("combines datasets of two sellers: escrows both prices and credits each seller its own", async function () {
      const market = await loadFixture(twoSellers);
      const { sum, buyer, seller, seller2, ids, paymentToken } = market;
      const tx = await sum.connect(buyer).requestComputation(ids, PARAMS, BUYER_KEY);
      const oracleRequest = await oracleRequestOf(market, tx);
      await expect(tx)
        .to.emit(sum, "ComputationRequested")
        .withArgs(oracleRequest.requestId, buyer.address, ids, PARAMS, BUYER_KEY, PRICE + PRICE_2);
      const fields = decode(new Uint8Array([0xbf, ...ethers.getBytes(oracleRequest.data), 0xff])) as Record<string, string>;
      expect(fields.datasetIds).to.equal(ids.map((id) => id.toLowerCase()).join(","));
      expect(await paymentToken.balanceOf(await sum.getAddress())).to.equal(PRICE + PRICE_2);

      const fulfilled = await fulfil(market, oracleRequest, RESULT);
      await expect(fulfilled).to.emit(sum, "PaymentCredited").withArgs(seller.address, oracleRequest.requestId, PRICE);
      await expect(fulfilled).to.emit(sum, "PaymentCredited").withArgs(seller2.address, oracleRequest.requestId, PRICE_2);
      expect(await sum.withdrawable(seller.address)).to.equal(PRICE);
      expect(await sum.withdrawable(seller2.address)).to.equal(PRICE_2);
    });

    it("rejects no datasets, too many, and ids out of order or repeated", async function () {
      const { sum, buyer, ids } = await loadFixture(twoSellers);
      await expect(sum.connect(buyer).requestComputation([], PARAMS, BUYER_KEY))
        .to.be.revertedWithCustomError(sum, "AlgorithmComputation__DatasetCount")
        .withArgs(0n, 20n);
      const many = Array.from({ length: 21 }, (_, i) => ethers.toBeHex(i + 1, 32));
      await expect(sum.connect(buyer).requestComputation(many, PARAMS, BUYER_KEY))
        .to.be.revertedWithCustomError(sum, "AlgorithmComputation__DatasetCount")
        .withArgs(21n, 20n);
      await expect(sum.connect(buyer).requestComputation([ids[1], ids[0]], PARAMS, BUYER_KEY))
        .to.be.revertedWithCustomError(sum, "AlgorithmComputation__DatasetsNotAscending")
        .withArgs(1n);
      await expect(sum.connect(buyer).requestComputation([ids[0], ids[0]], PARAMS, BUYER_KEY))
        .to.be.revertedWithCustomError(sum, "AlgorithmComputation__DatasetsNotAscending")
        .withArgs(1n);
    });

    it("rejects empty params", async function () {
      const { sum, buyer, datasetId } = await loadFixture(deployMarketWithDataset);
      await expect(sum.connect(buyer).requestComputation([datasetId], "", BUYER_KEY)).to.be.revertedWithCustomError(
        sum,
        "AlgorithmComputation__EmptyParams",
      );
    });

    it("rejects an unknown dataset with the registry's error", async function () {
      const { sum, registry, buyer } = await loadFixture(deployMarketWithDataset);
      const unknown = ethers.id("nobody/nothing");
      await expect(sum.connect(buyer).requestComputation([unknown], PARAMS, BUYER_KEY))
        .to.be.revertedWithCustomError(registry, "DatasetRegistry__UnknownDataset")
        .withArgs(unknown);
    });

    it("rejects a paused dataset", async function () {
      const { sum, registry, seller, buyer, datasetId } = await loadFixture(deployMarketWithDataset);
      await (await registry.connect(seller).setDatasetActive(datasetId, false)).wait();
      await expect(sum.connect(buyer).requestComputation([datasetId], PARAMS, BUYER_KEY))
        .to.be.revertedWithCustomError(sum, "AlgorithmComputation__DatasetInactive")
        .withArgs(datasetId);
    });

    it("enforces the seller's policy: allowed algorithms and minimum rows", async function () {
      const { sum, mean, registry, seller, buyer, datasetId } = await loadFixture(deployMarketWithDataset);
      await expect(mean.connect(buyer).requestComputation([datasetId], PARAMS, BUYER_KEY))
        .to.be.revertedWithCustomError(mean, "AlgorithmComputation__AlgorithmNotAllowed")
        .withArgs(datasetId, "mean@1");

      const strict = { allowedAlgorithms: [algorithmId("sum@1")], minRows: 2000n };
      await (await registry.connect(seller).registerDataset("strict", SCHEMA, 1500n, PRICE, COMMITMENTS, strict)).wait();
      const strictId = await registry.datasetId(seller.address, "strict");
      await expect(sum.connect(buyer).requestComputation([strictId], PARAMS, BUYER_KEY))
        .to.be.revertedWithCustomError(sum, "AlgorithmComputation__TooFewRows")
        .withArgs(strictId, 1500n, 2000n);
      // Together with the 1000-row dataset the computation aggregates 2500 rows: allowed.
      const ids = [datasetId, strictId].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
      await (await (await ethers.getContractAt("DevPaymentToken", await sum.paymentToken())).connect(buyer).approve(await sum.getAddress(), 2n * PRICE)).wait();
      await expect(sum.connect(buyer).requestComputation(ids, PARAMS, BUYER_KEY)).to.emit(sum, "ComputationRequested");
    });

    it("rejects datasets of different schemas", async function () {
      const { sum, registry, stranger, buyer, datasetId } = await loadFixture(deployMarketWithDataset);
      const otherSchema = JSON.stringify({ columns: [{ name: "cost", scale: 2 }] });
      await (await registry.connect(stranger).registerDataset("other", otherSchema, 10n, 1n, COMMITMENTS, POLICY)).wait();
      const otherId = await registry.datasetId(stranger.address, "other");
      const ids = [datasetId, otherId].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
      await expect(sum.connect(buyer).requestComputation(ids, PARAMS, BUYER_KEY))
        .to.be.revertedWithCustomError(sum, "AlgorithmComputation__SchemaMismatch")
        .withArgs(ids[1]);
    });

    it("reverts without an allowance and leaves no request behind", async function () {
      const { sum, paymentToken, buyer, datasetId } = await loadFixture(deployMarketWithDataset);
      await (await paymentToken.connect(buyer).approve(await sum.getAddress(), 0n)).wait();
      await expect(sum.connect(buyer).requestComputation([datasetId], PARAMS, BUYER_KEY)).to.be.revertedWith(
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
        .to.be.revertedWithCustomError(sum, "AlgorithmComputation__NothingToWithdraw")
        .withArgs(seller.address);
    });

    it("rejects a fulfilment from an unauthorized sender", async function () {
      const market = await loadFixture(requested);
      await expect(fulfil(market, market.oracleRequest, RESULT, market.stranger)).to.be.revertedWith("Not authorized sender");
      expect((await market.sum.getRequest(market.requestId)).status).to.equal(Status.Pending);
    });

    it("rejects a direct call that does not come from the operator", async function () {
      const { sum, stranger, requestId } = await loadFixture(requested);
      await expect(sum.connect(stranger).fulfill(requestId, RESULT)).to.be.revertedWith("Source must be the oracle of the request");
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
        .to.be.revertedWithCustomError(sum, "AlgorithmComputation__NothingToWithdraw")
        .withArgs(stranger.address);
    });

    it("pays a seller the sum of several sales at once", async function () {
      const market = await loadFixture(requested);
      const { sum, buyer, seller, paymentToken, datasetId } = market;
      await (await fulfil(market, market.oracleRequest, RESULT)).wait();

      await (await paymentToken.connect(buyer).approve(await sum.getAddress(), PRICE)).wait();
      const second = await oracleRequestOf(
        market,
        await sum.connect(buyer).requestComputation([datasetId], JSON.stringify({ column: "other" }), BUYER_KEY),
      );
      expect(second.requestId).to.not.equal(market.requestId);
      await (await fulfil(market, second, RESULT)).wait();

      expect(await sum.withdrawable(seller.address)).to.equal(2n * PRICE);
      await expect(sum.connect(seller).withdraw()).to.emit(sum, "PaymentWithdrawn").withArgs(seller.address, 2n * PRICE);
      expect(await paymentToken.balanceOf(seller.address)).to.equal(2n * PRICE);
    });
  });
});
