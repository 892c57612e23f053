import { expect } from "chai";
import { decode } from "cbor-x";
import {
  BUYER_FUNDS,
  BUYER_KEY,
  COMMITMENTS,
  HOST_SIGNERS,
  OPERATOR_FEE,
  PARAMS,
  POLICY,
  PRICE,
  SCHEMA,
  SELLER_FUNDS,
  STAKE,
  deployMarket,
  deployMarketWithDataset,
  encodePayload,
  ethers,
  fulfil,
  fulfillmentDigest,
  networkHelpers,
  oracleRequestOf,
  signResult,
  signedPayload,
} from "./fixtures/market.ts";
import { DEFAULT_LINK_FEE, DEFAULT_REQUEST_TIMEOUT, algorithmId, deployLocalMarket, jobIdOf } from "../src/index.ts";

const { loadFixture, time } = networkHelpers;
const RESULT = ethers.hexlify(ethers.toUtf8Bytes("ciphertext of the sum for the buyer"));
const Status = { None: 0n, Pending: 1n, Fulfilled: 2n, Failed: 3n, Refunded: 4n } as const;
const Reason = { BridgeError: 1n, Malformed: 2n, BadSignature: 3n, TooLong: 4n } as const;
const PRICE_2 = ethers.parseEther("7");
const abi = ethers.AbiCoder.defaultAbiCoder();

/** The request's ComputationRequested event, read back from the block `getRequest` names. */
async function requestedEventAt(sum: Awaited<ReturnType<typeof deployMarket>>["sum"], requestId: string, block: bigint) {
  const events = await sum.queryFilter(sum.filters.ComputationRequested(requestId), Number(block), Number(block));
  expect(events).to.have.length(1);
  return events[0].args;
}

async function requested() {
  const market = await deployMarketWithDataset();
  const tx = await market.sum.connect(market.buyer).requestComputation([market.datasetId], PARAMS, BUYER_KEY);
  const oracleRequest = await oracleRequestOf(market, tx);
  const block = await ethers.provider.getBlock((await tx.wait())!.blockNumber);
  const deadline = BigInt(block!.timestamp) + BigInt(DEFAULT_REQUEST_TIMEOUT);
  return { ...market, tx, oracleRequest, requestId: oracleRequest.requestId, deadline };
}

/** Two sellers' datasets of one schema, ids in ascending order, the buyer approved both prices and the fee. */
async function twoSellers() {
  const market = await deployMarketWithDataset();
  const { registry, stranger: seller2, buyer, paymentToken, sum, datasetId } = market;
  await (await registry.connect(seller2).registerDataset("clinic-b", SCHEMA, 500n, PRICE_2, COMMITMENTS, POLICY, STAKE)).wait();
  const datasetId2 = await registry.datasetId(seller2.address, "clinic-b");
  await (await paymentToken.connect(buyer).approve(await sum.getAddress(), PRICE + PRICE_2 + OPERATOR_FEE)).wait();
  const ids = [datasetId, datasetId2].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
  return { ...market, seller2, datasetId2, ids };
}

/** A market whose HostRegistry was never filled in, with one dataset and one pending request. */
async function requestedWithoutHosts() {
  const [deployer, relay, seller, buyer] = await ethers.getSigners();
  const addresses = await deployLocalMarket({
    deployer,
    relay: relay.address,
    algorithms: ["sum@1"],
    fund: [
      { address: buyer.address, amount: BUYER_FUNDS },
      { address: seller.address, amount: STAKE },
    ],
  });
  const paymentToken = await ethers.getContractAt("DevPaymentToken", addresses.paymentToken);
  const registry = await ethers.getContractAt("DatasetRegistry", addresses.registry);
  const operator = await ethers.getContractAt("Operator", addresses.operator);
  const sum = await ethers.getContractAt("AlgorithmComputation", addresses.algorithms["sum@1"]);
  await (await paymentToken.connect(seller).approve(addresses.registry, STAKE)).wait();
  await (await registry.connect(seller).registerDataset("d", SCHEMA, 10n, PRICE, COMMITMENTS, POLICY, STAKE)).wait();
  await (await paymentToken.connect(buyer).approve(addresses.algorithms["sum@1"], PRICE + OPERATOR_FEE)).wait();
  const datasetId = await registry.datasetId(seller.address, "d");
  const oracleRequest = await oracleRequestOf({ operator }, await sum.connect(buyer).requestComputation([datasetId], PARAMS, BUYER_KEY));
  return { sum, operator, relay, buyer, oracleRequest, requestId: oracleRequest.requestId };
}

describe("AlgorithmComputation", function () {
  describe("configuration", function () {
    it("exposes its algorithm, wiring and version", async function () {
      const { sum, mean, addresses } = await loadFixture(deployMarket);
      expect(await sum.algorithm()).to.equal("sum@1");
      expect(await sum.algorithmId()).to.equal(algorithmId("sum@1"));
      expect(await mean.algorithm()).to.equal("mean@1");
      expect(await sum.registry()).to.equal(addresses.registry);
      expect(await sum.hostRegistry()).to.equal(addresses.hostRegistry);
      expect(await sum.paymentToken()).to.equal(addresses.paymentToken);
      expect(await sum.linkToken()).to.equal(addresses.linkToken);
      expect(await sum.operator()).to.equal(addresses.operator);
      expect(await sum.jobId()).to.equal(jobIdOf("sum@1"));
      expect(await sum.linkFee()).to.equal(DEFAULT_LINK_FEE);
      expect(await sum.operatorFee()).to.equal(OPERATOR_FEE);
      expect(await sum.requestTimeout()).to.equal(BigInt(DEFAULT_REQUEST_TIMEOUT));
      expect(await sum.MAX_RESULT_LENGTH()).to.equal(4096n);
      expect(await sum.MAX_DATASETS()).to.equal(20n);
      expect(await sum.operatorFeesAccrued()).to.equal(0n);
      expect(await sum.typeAndVersion()).to.equal("AlgorithmComputation 2.0.0");
    });

    it("rejects a zero address, an empty algorithm or a zero or too long timeout in the constructor", async function () {
      const { addresses, sum } = await loadFixture(deployMarket);
      const factory = await ethers.getContractFactory("AlgorithmComputation");
      const args = (override: Record<number, unknown> = {}) => {
        const list: unknown[] = [
          addresses.linkToken,
          addresses.operator,
          jobIdOf("x"),
          DEFAULT_LINK_FEE,
          addresses.paymentToken,
          addresses.registry,
          addresses.hostRegistry,
          "sum@1",
          OPERATOR_FEE,
          3600n,
        ];
        for (const [i, v] of Object.entries(override)) list[Number(i)] = v;
        return list;
      };
      for (const i of [0, 1, 4, 5, 6]) {
        await expect(factory.deploy(...args({ [i]: ethers.ZeroAddress }))).to.be.revertedWithCustomError(
          factory,
          "AlgorithmComputation__ZeroAddress",
        );
      }
      await expect(factory.deploy(...args({ 7: "" }))).to.be.revertedWithCustomError(factory, "AlgorithmComputation__EmptyAlgorithm");
      await expect(factory.deploy(...args({ 9: 0n }))).to.be.revertedWithCustomError(factory, "AlgorithmComputation__ZeroTimeout");
      const maxTimeout = 2n ** 32n - 1n;
      expect(await sum.MAX_REQUEST_TIMEOUT()).to.equal(maxTimeout);
      await expect(factory.deploy(...args({ 9: maxTimeout + 1n })))
        .to.be.revertedWithCustomError(factory, "AlgorithmComputation__TimeoutTooLong")
        .withArgs(maxTimeout + 1n, maxTimeout);
      expect(await (await factory.deploy(...args({ 9: maxTimeout }))).requestTimeout()).to.equal(maxTimeout);
      const ok = await factory.deploy(...args());
      expect(await ok.requestTimeout()).to.equal(3600n);
    });
  });

  describe("requestComputation", function () {
    it("escrows price and fee, pays the LINK fee, stores the request compactly and emits ComputationRequested", async function () {
      const market = await loadFixture(deployMarketWithDataset);
      const { sum, buyer, paymentToken, linkToken, datasetId, addresses } = market;
      const tx = await sum.connect(buyer).requestComputation([datasetId], PARAMS, BUYER_KEY);
      const { requestId } = await oracleRequestOf(market, tx);
      const receipt = (await tx.wait())!;
      const deadline = BigInt((await ethers.provider.getBlock(receipt.blockNumber))!.timestamp) + 3600n;

      await expect(tx)
        .to.emit(sum, "ComputationRequested")
        .withArgs(requestId, buyer.address, [datasetId], PARAMS, BUYER_KEY, PRICE, OPERATOR_FEE, deadline);
      await expect(tx)
        .to.emit(paymentToken, "Transfer")
        .withArgs(buyer.address, addresses.algorithms["sum@1"], PRICE + OPERATOR_FEE);
      expect(await paymentToken.balanceOf(buyer.address)).to.equal(BUYER_FUNDS - PRICE - OPERATOR_FEE);
      expect(await paymentToken.balanceOf(addresses.algorithms["sum@1"])).to.equal(PRICE + OPERATOR_FEE);
      expect(await linkToken.balanceOf(addresses.operator)).to.equal(DEFAULT_LINK_FEE);

      const request = await sum.getRequest(requestId);
      expect(request.buyer).to.equal(buyer.address);
      expect(request.status).to.equal(Status.Pending);
      expect(request.deadline).to.equal(deadline);
      expect(request.price).to.equal(PRICE);
      expect(request.fee).to.equal(OPERATOR_FEE);
      expect(request.requestBlock).to.equal(BigInt(receipt.blockNumber));
      expect(request.resultHash).to.equal(ethers.ZeroHash);
      const event = await requestedEventAt(sum, requestId, request.requestBlock);
      expect([[...event.datasetIds], event.params, event.buyerKey]).to.deep.equal([[datasetId], PARAMS, BUYER_KEY]);
    });

    it("returns an all-zero request for an unknown id", async function () {
      const { sum } = await loadFixture(deployMarket);
      const request = await sum.getRequest(ethers.id("nothing"));
      expect(request.buyer).to.equal(ethers.ZeroAddress);
      expect(request.status).to.equal(Status.None);
      expect([request.deadline, request.price, request.fee, request.requestBlock]).to.deep.equal([0n, 0n, 0n, 0n]);
      expect(request.resultHash).to.equal(ethers.ZeroHash);
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
      const { sum, buyer, seller, seller2, ids, paymentToken, registry, datasetId } = market;
      const tx = await sum.connect(buyer).requestComputation(ids, PARAMS, BUYER_KEY);
      const oracleRequest = await oracleRequestOf(market, tx);
      const { requestId } = oracleRequest;
      await expect(tx).to.emit(sum, "ComputationRequested");
      const fields = decode(new Uint8Array([0xbf, ...ethers.getBytes(oracleRequest.data), 0xff])) as Record<string, string>;
      expect(fields.datasetIds).to.equal(ids.map((id) => id.toLowerCase()).join(","));
      expect(await paymentToken.balanceOf(await sum.getAddress())).to.equal(PRICE + PRICE_2 + OPERATOR_FEE);
      const request = await sum.getRequest(requestId);
      expect(request.price).to.equal(PRICE + PRICE_2);
      const event = await requestedEventAt(sum, requestId, request.requestBlock);
      expect([...event.datasetIds]).to.deep.equal(ids);

      // A price change after the request does not change what the seller is owed.
      await (await registry.connect(seller).setPrice(datasetId, 1n)).wait();
      const fulfilled = await fulfil(market, oracleRequest, await signedPayload(requestId, RESULT));
      await expect(fulfilled).to.emit(sum, "PaymentCredited").withArgs(seller.address, requestId, PRICE);
      await expect(fulfilled).to.emit(sum, "PaymentCredited").withArgs(seller2.address, requestId, PRICE_2);
      expect(await sum.withdrawable(seller.address)).to.equal(PRICE);
      expect(await sum.withdrawable(seller2.address)).to.equal(PRICE_2);
      expect(await sum.operatorFeesAccrued()).to.equal(OPERATOR_FEE);
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

    it("rejects a paused or deregistered dataset", async function () {
      const { sum, registry, seller, buyer, datasetId } = await loadFixture(deployMarketWithDataset);
      await (await registry.connect(seller).setDatasetActive(datasetId, false)).wait();
      await expect(sum.connect(buyer).requestComputation([datasetId], PARAMS, BUYER_KEY))
        .to.be.revertedWithCustomError(sum, "AlgorithmComputation__DatasetInactive")
        .withArgs(datasetId);
      await (await registry.connect(seller).setDatasetActive(datasetId, true)).wait();
      await (await registry.connect(seller).deregisterDataset(datasetId)).wait();
      await expect(sum.connect(buyer).requestComputation([datasetId], PARAMS, BUYER_KEY))
        .to.be.revertedWithCustomError(sum, "AlgorithmComputation__DatasetInactive")
        .withArgs(datasetId);
    });

    it("enforces the seller's policy: allowed algorithms and minimum rows", async function () {
      const { sum, mean, registry, seller, buyer, datasetId, paymentToken } = await loadFixture(deployMarketWithDataset);
      await expect(mean.connect(buyer).requestComputation([datasetId], PARAMS, BUYER_KEY))
        .to.be.revertedWithCustomError(mean, "AlgorithmComputation__AlgorithmNotAllowed")
        .withArgs(datasetId, "mean@1");

      const strict = { allowedAlgorithms: [algorithmId("sum@1")], minRows: 2000n };
      await (await registry.connect(seller).registerDataset("strict", SCHEMA, 1500n, PRICE, COMMITMENTS, strict, STAKE)).wait();
      const strictId = await registry.datasetId(seller.address, "strict");
      await expect(sum.connect(buyer).requestComputation([strictId], PARAMS, BUYER_KEY))
        .to.be.revertedWithCustomError(sum, "AlgorithmComputation__TooFewRows")
        .withArgs(strictId, 1500n, 2000n);
      // Together with the 1000-row dataset the computation aggregates 2500 rows: allowed.
      const ids = [datasetId, strictId].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
      await (await paymentToken.connect(buyer).approve(await sum.getAddress(), 2n * PRICE + OPERATOR_FEE)).wait();
      await expect(sum.connect(buyer).requestComputation(ids, PARAMS, BUYER_KEY)).to.emit(sum, "ComputationRequested");
    });

    it("rejects datasets of different schemas", async function () {
      const { sum, registry, stranger, buyer, datasetId } = await loadFixture(deployMarketWithDataset);
      const otherSchema = JSON.stringify({ columns: [{ name: "cost", scale: 2 }] });
      await (await registry.connect(stranger).registerDataset("other", otherSchema, 10n, 1n, COMMITMENTS, POLICY, STAKE)).wait();
      const otherId = await registry.datasetId(stranger.address, "other");
      const ids = [datasetId, otherId].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
      await expect(sum.connect(buyer).requestComputation(ids, PARAMS, BUYER_KEY))
        .to.be.revertedWithCustomError(sum, "AlgorithmComputation__SchemaMismatch")
        .withArgs(ids[1]);
    });

    it("reverts without an allowance for price plus fee and leaves no request behind", async function () {
      const { sum, paymentToken, buyer, datasetId } = await loadFixture(deployMarketWithDataset);
      await (await paymentToken.connect(buyer).approve(await sum.getAddress(), PRICE)).wait();
      await expect(sum.connect(buyer).requestComputation([datasetId], PARAMS, BUYER_KEY)).to.be.revertedWith(
        "ERC20: insufficient allowance",
      );
      expect(await paymentToken.balanceOf(buyer.address)).to.equal(BUYER_FUNDS);
    });
  });

  describe("fulfill", function () {
    it("accepts a result signed by the three hosts: stores its hash, credits the seller and the fee", async function () {
      const market = await loadFixture(requested);
      const { sum, seller, buyer, paymentToken, requestId, oracleRequest, operator } = market;
      const digest = fulfillmentDigest(requestId, RESULT);
      expect(await sum.fulfillmentDigest(requestId, ethers.keccak256(RESULT))).to.equal(digest);

      const tx = await fulfil(market, oracleRequest, await signedPayload(requestId, RESULT));
      await expect(tx).to.emit(operator, "OracleResponse").withArgs(requestId);
      await expect(tx).to.emit(sum, "ChainlinkFulfilled").withArgs(requestId);
      await expect(tx).to.emit(sum, "ComputationFulfilled").withArgs(requestId, ethers.keccak256(RESULT), RESULT);
      await expect(tx).to.emit(sum, "PaymentCredited").withArgs(seller.address, requestId, PRICE);
      await expect(tx).to.not.emit(sum, "ComputationFailed");

      const request = await sum.getRequest(requestId);
      expect(request.status).to.equal(Status.Fulfilled);
      expect(request.resultHash).to.equal(ethers.keccak256(RESULT));
      expect(await sum.withdrawable(seller.address)).to.equal(PRICE);
      expect(await sum.withdrawable(buyer.address)).to.equal(0n);
      expect(await sum.operatorFeesAccrued()).to.equal(OPERATOR_FEE);

      await expect(sum.connect(seller).withdraw()).to.emit(sum, "PaymentWithdrawn").withArgs(seller.address, PRICE);
      expect(await paymentToken.balanceOf(seller.address)).to.equal(SELLER_FUNDS - STAKE + PRICE);
      expect(await paymentToken.balanceOf(await sum.getAddress())).to.equal(OPERATOR_FEE);
      expect(await sum.withdrawable(seller.address)).to.equal(0n);
      await expect(sum.connect(seller).withdraw())
        .to.be.revertedWithCustomError(sum, "AlgorithmComputation__NothingToWithdraw")
        .withArgs(seller.address);
    });

    it("decodes a payload with decodePayload", async function () {
      const { sum, requestId } = await loadFixture(requested);
      const signatures = await signResult(requestId, RESULT);
      const [result, decoded] = await sum.decodePayload(encodePayload(RESULT, signatures));
      expect(result).to.equal(RESULT);
      expect([...decoded]).to.deep.equal(signatures);
      await expect(sum.decodePayload("0x1234")).to.be.revert(ethers);
    });

    it("measures the gas of a one-dataset request and of its whole fulfilment", async function () {
      const market = await loadFixture(deployMarketWithDataset);
      const { sum, buyer, paymentToken, datasetId } = market;
      await (await paymentToken.connect(buyer).approve(await sum.getAddress(), ethers.MaxUint256)).wait();
      const figures: bigint[] = [];
      // The first round writes fresh balances (the Operator's LINK, the contract's tokens, the
      // seller's credit, the fee pot); the second is what a running market pays.
      for (const params of [PARAMS, '{"column":"again"}']) {
        const tx = await sum.connect(buyer).requestComputation([datasetId], params, BUYER_KEY);
        const oracleRequest = await oracleRequestOf(market, tx);
        const fulfilTx = await fulfil(market, oracleRequest, await signedPayload(oracleRequest.requestId, RESULT));
        await expect(fulfilTx).to.emit(sum, "ComputationFulfilled");
        figures.push((await tx.wait())!.gasUsed, (await fulfilTx.wait())!.gasUsed);
      }
      const [request1, fulfil1, request2, fulfil2] = figures;
      console.log(
        `      gas (1 dataset): requestComputation ${request1} first / ${request2} steady; ` +
          `fulfillOracleRequest2 ${fulfil1} first / ${fulfil2} steady`,
      );
      // Gas is deterministic; the steady-state bounds are the market's targets (see `npm run gas`).
      expect(request1).to.be.lessThan(300_000n);
      expect(request2).to.be.at.most(250_000n);
      expect(fulfil1).to.be.lessThan(230_000n);
      expect(fulfil2).to.be.at.most(200_000n);
    });

    it("fails the request and refunds the buyer when the registry cannot name the sellers (reason 5)", async function () {
      const market = await loadFixture(deployMarket);
      const { addresses, deployer, buyer, paymentToken, linkToken } = market;
      const registry = await ethers.deployContract("SellerlessRegistry");
      const computation = await ethers.deployContract("AlgorithmComputation", [
        addresses.linkToken,
        addresses.operator,
        jobIdOf("sum@1"),
        DEFAULT_LINK_FEE,
        addresses.paymentToken,
        await registry.getAddress(),
        addresses.hostRegistry,
        "sum@1",
        OPERATOR_FEE,
        3600n,
      ]);
      const address = await computation.getAddress();
      await (await linkToken.connect(deployer).grantMintRole(deployer.address)).wait();
      await (await linkToken.connect(deployer).mint(address, DEFAULT_LINK_FEE)).wait();
      await (await paymentToken.connect(buyer).approve(address, 1n + OPERATOR_FEE)).wait();
      const tx = await computation.connect(buyer).requestComputation([ethers.id("any dataset")], PARAMS, BUYER_KEY);
      const oracleRequest = await oracleRequestOf(market, tx);
      await (await registry.breakSellers()).wait();

      const fulfilled = await fulfil(market, oracleRequest, await signedPayload(oracleRequest.requestId, RESULT));
      await expect(fulfilled).to.emit(computation, "ComputationFailed").withArgs(oracleRequest.requestId, 5n);
      await expect(fulfilled).to.not.emit(computation, "ComputationFulfilled");
      expect((await computation.getRequest(oracleRequest.requestId)).status).to.equal(Status.Failed);
      expect(await computation.withdrawable(buyer.address)).to.equal(1n + OPERATOR_FEE);
      expect(await computation.operatorFeesAccrued()).to.equal(0n);
    });

    it("fails the request and credits the buyer price and fee when the bridge reports an error", async function () {
      const market = await loadFixture(requested);
      const { sum, buyer, seller, paymentToken, requestId, oracleRequest } = market;

      const tx = await fulfil(market, oracleRequest, "0x");
      await expect(tx).to.emit(sum, "ComputationFailed").withArgs(requestId, Reason.BridgeError);
      await expect(tx).to.emit(sum, "PaymentCredited").withArgs(buyer.address, requestId, PRICE + OPERATOR_FEE);
      await expect(tx).to.not.emit(sum, "ComputationFulfilled");

      const request = await sum.getRequest(requestId);
      expect(request.status).to.equal(Status.Failed);
      expect(request.resultHash).to.equal(ethers.ZeroHash);
      expect(await sum.withdrawable(seller.address)).to.equal(0n);
      expect(await sum.withdrawable(buyer.address)).to.equal(PRICE + OPERATOR_FEE);
      expect(await sum.operatorFeesAccrued()).to.equal(0n);

      await expect(sum.connect(buyer).withdraw())
        .to.emit(sum, "PaymentWithdrawn")
        .withArgs(buyer.address, PRICE + OPERATOR_FEE);
      expect(await paymentToken.balanceOf(buyer.address)).to.equal(BUYER_FUNDS);
    });

    /** Each bad answer fails the request with `reason` and refunds price + fee, crediting no seller. */
    async function expectFailure(payload: string | Promise<string>, reason: bigint) {
      const market = await loadFixture(requested);
      const { sum, buyer, seller, requestId, oracleRequest } = market;
      const tx = await fulfil(market, oracleRequest, await payload);
      await expect(tx).to.emit(sum, "ChainlinkFulfilled").withArgs(requestId);
      await expect(tx).to.emit(sum, "ComputationFailed").withArgs(requestId, reason);
      await expect(tx).to.emit(sum, "PaymentCredited").withArgs(buyer.address, requestId, PRICE + OPERATOR_FEE);
      await expect(tx).to.not.emit(sum, "ComputationFulfilled");
      expect((await sum.getRequest(requestId)).status).to.equal(Status.Failed);
      expect(await sum.withdrawable(buyer.address)).to.equal(PRICE + OPERATOR_FEE);
      expect(await sum.withdrawable(seller.address)).to.equal(0n);
      expect(await sum.operatorFeesAccrued()).to.equal(0n);
      return market;
    }

    it("fails a payload that is not abi.encode(bytes, bytes[3])", async function () {
      await expectFailure("0x1234", Reason.Malformed);
    });

    it("fails a payload whose offsets point outside it", async function () {
      const { requestId } = await loadFixture(requested);
      const good = ethers.getBytes(await signedPayload(requestId, RESULT));
      good[31] = 0xff; // the result's offset now points past the end
      await expectFailure(ethers.hexlify(good), Reason.Malformed);
    });

    it("fails a result signed by a key that is not a registered host signer", async function () {
      const { requestId } = await loadFixture(requested);
      const intruder = new ethers.Wallet(ethers.id("intruder"));
      const signatures = await signResult(requestId, RESULT, [HOST_SIGNERS[0], intruder, HOST_SIGNERS[2]]);
      await expectFailure(encodePayload(RESULT, signatures), Reason.BadSignature);
    });

    it("fails when two hosts' signatures are swapped", async function () {
      const { requestId } = await loadFixture(requested);
      const [a, b, c] = await signResult(requestId, RESULT);
      await expectFailure(encodePayload(RESULT, [b, a, c]), Reason.BadSignature);
    });

    it("fails signatures over a different result or a different request", async function () {
      const { requestId } = await loadFixture(requested);
      const other = ethers.hexlify(ethers.toUtf8Bytes("another result"));
      await expectFailure(encodePayload(RESULT, await signResult(requestId, other)), Reason.BadSignature);
      await expectFailure(encodePayload(RESULT, await signResult(ethers.id("other request"), RESULT)), Reason.BadSignature);
    });

    it("fails a missing or malformed signature", async function () {
      const { requestId } = await loadFixture(requested);
      const [a, b, c] = await signResult(requestId, RESULT);
      await expectFailure(encodePayload(RESULT, [a, b, "0x"]), Reason.BadSignature);
      await expectFailure(encodePayload(RESULT, [a, b, ethers.dataSlice(c, 0, 64)]), Reason.BadSignature);
      await expectFailure(encodePayload(RESULT, [a, b, ethers.concat([ethers.dataSlice(c, 0, 64), "0x05"])]), Reason.BadSignature);
    });

    it("fails a result longer than MAX_RESULT_LENGTH even when correctly signed", async function () {
      const { requestId } = await loadFixture(requested);
      const tooLong = ethers.hexlify(new Uint8Array(4097).fill(7));
      await expectFailure(signedPayload(requestId, tooLong), Reason.TooLong);
    });

    it("fails a payload longer than MAX_PAYLOAD_LENGTH without decoding it", async function () {
      const { sum, requestId } = await loadFixture(requested);
      const [a, b, c] = await signResult(requestId, RESULT);
      const padded = encodePayload(RESULT, [a, b, ethers.concat([c, new Uint8Array(4096)])]);
      expect(ethers.dataLength(padded)).to.be.greaterThan(Number(await sum.MAX_PAYLOAD_LENGTH()));
      await expectFailure(padded, Reason.TooLong);
    });

    it("accepts a result of exactly MAX_RESULT_LENGTH bytes (a payload of MAX_PAYLOAD_LENGTH)", async function () {
      const market = await loadFixture(requested);
      const longest = ethers.hexlify(new Uint8Array(4096).fill(7));
      const payload = await signedPayload(market.requestId, longest);
      expect(ethers.dataLength(payload)).to.equal(Number(await market.sum.MAX_PAYLOAD_LENGTH()));
      const tx = await fulfil(market, market.oracleRequest, payload);
      await expect(tx).to.emit(market.sum, "ComputationFulfilled").withArgs(market.requestId, ethers.keccak256(longest), longest);
    });

    it("fails every result while the host registry has no signers", async function () {
      const market = await loadFixture(requestedWithoutHosts);
      const { sum, buyer, requestId } = market;
      const tx = await fulfil(market, market.oracleRequest, await signedPayload(requestId, RESULT));
      await expect(tx).to.emit(sum, "ComputationFailed").withArgs(requestId, Reason.BadSignature);
      expect(await sum.withdrawable(buyer.address)).to.equal(PRICE + OPERATOR_FEE);
    });

    it("rejects a fulfilment from an unauthorized sender", async function () {
      const market = await loadFixture(requested);
      await expect(fulfil(market, market.oracleRequest, await signedPayload(market.requestId, RESULT), market.stranger)).to.be.revertedWith(
        "Not authorized sender",
      );
      expect((await market.sum.getRequest(market.requestId)).status).to.equal(Status.Pending);
    });

    it("rejects a direct call that does not come from the operator", async function () {
      const { sum, stranger, requestId } = await loadFixture(requested);
      await expect(sum.connect(stranger).fulfill(requestId, await signedPayload(requestId, RESULT))).to.be.revertedWith(
        "Source must be the oracle of the request",
      );
    });

    it("rejects a second fulfilment of the same request", async function () {
      const market = await loadFixture(requested);
      await (await fulfil(market, market.oracleRequest, await signedPayload(market.requestId, RESULT))).wait();
      const other = ethers.hexlify(ethers.toUtf8Bytes("a different answer"));
      await expect(fulfil(market, market.oracleRequest, await signedPayload(market.requestId, other))).to.be.revertedWith(
        "Must have a valid requestId",
      );
      const request = await market.sum.getRequest(market.requestId);
      expect(request.resultHash).to.equal(ethers.keccak256(RESULT));
      expect(await market.sum.withdrawable(market.seller.address)).to.equal(PRICE);
    });
  });

  describe("refund", function () {
    it("refuses before the deadline, refunds price and fee after it", async function () {
      const { sum, buyer, stranger, requestId, deadline } = await loadFixture(requested);
      await time.setNextBlockTimestamp(deadline);
      await expect(sum.connect(stranger).refund(requestId))
        .to.be.revertedWithCustomError(sum, "AlgorithmComputation__NotExpired")
        .withArgs(requestId, deadline);

      await time.increaseTo(deadline); // the refund is mined one second after the deadline
      const tx = sum.connect(stranger).refund(requestId);
      await expect(tx).to.emit(sum, "ComputationRefunded").withArgs(requestId);
      await expect(tx).to.emit(sum, "PaymentCredited").withArgs(buyer.address, requestId, PRICE + OPERATOR_FEE);
      expect((await sum.getRequest(requestId)).status).to.equal(Status.Refunded);
      expect(await sum.withdrawable(buyer.address)).to.equal(PRICE + OPERATOR_FEE);

      await expect(sum.refund(requestId))
        .to.be.revertedWithCustomError(sum, "AlgorithmComputation__NotPending")
        .withArgs(requestId, Status.Refunded);
    });

    it("ignores a late fulfilment after the refund", async function () {
      const market = await loadFixture(requested);
      const { sum, buyer, seller, requestId, oracleRequest } = market;
      await time.increase(DEFAULT_REQUEST_TIMEOUT + 1);
      await (await sum.refund(requestId)).wait();

      const tx = await fulfil(market, oracleRequest, await signedPayload(requestId, RESULT));
      await expect(tx).to.emit(sum, "ChainlinkFulfilled").withArgs(requestId);
      await expect(tx).to.not.emit(sum, "ComputationFulfilled");
      await expect(tx).to.not.emit(sum, "ComputationFailed");
      await expect(tx).to.not.emit(sum, "PaymentCredited");
      const request = await sum.getRequest(requestId);
      expect(request.status).to.equal(Status.Refunded);
      expect(request.resultHash).to.equal(ethers.ZeroHash);
      expect(await sum.withdrawable(buyer.address)).to.equal(PRICE + OPERATOR_FEE);
      expect(await sum.withdrawable(seller.address)).to.equal(0n);
      expect(await sum.operatorFeesAccrued()).to.equal(0n);
    });

    it("refuses an unknown, fulfilled or failed request", async function () {
      const market = await loadFixture(requested);
      const { sum, requestId, oracleRequest } = market;
      const unknown = ethers.id("unknown");
      await expect(sum.refund(unknown))
        .to.be.revertedWithCustomError(sum, "AlgorithmComputation__NotPending")
        .withArgs(unknown, Status.None);
      await (await fulfil(market, oracleRequest, await signedPayload(requestId, RESULT))).wait();
      await time.increase(DEFAULT_REQUEST_TIMEOUT + 1);
      await expect(sum.refund(requestId))
        .to.be.revertedWithCustomError(sum, "AlgorithmComputation__NotPending")
        .withArgs(requestId, Status.Fulfilled);
    });

    it("refuses a failed request", async function () {
      const market = await loadFixture(requested);
      await (await fulfil(market, market.oracleRequest, "0x")).wait();
      await time.increase(DEFAULT_REQUEST_TIMEOUT + 1);
      await expect(market.sum.refund(market.requestId))
        .to.be.revertedWithCustomError(market.sum, "AlgorithmComputation__NotPending")
        .withArgs(market.requestId, Status.Failed);
    });
  });

  describe("operators' fee", function () {
    it("accrues per fulfilled request and splits equally, keeping the remainder", async function () {
      const market = await loadFixture(requested);
      const { sum, buyer, paymentToken, datasetId, hostOperators, requestId, oracleRequest } = market;
      await (await fulfil(market, oracleRequest, await signedPayload(requestId, RESULT))).wait();
      await (await paymentToken.connect(buyer).approve(await sum.getAddress(), PRICE + OPERATOR_FEE)).wait();
      const second = await oracleRequestOf(market, await sum.connect(buyer).requestComputation([datasetId], '{"column":"x"}', BUYER_KEY));
      await (await fulfil(market, second, await signedPayload(second.requestId, RESULT))).wait();
      expect(await sum.operatorFeesAccrued()).to.equal(2n * OPERATOR_FEE);

      const share = (2n * OPERATOR_FEE) / 3n;
      const remainder = 2n * OPERATOR_FEE - 3n * share;
      expect(remainder).to.not.equal(0n);
      const tx = sum.connect(buyer).distributeOperatorFees();
      await expect(tx).to.emit(sum, "OperatorFeesDistributed").withArgs(3n * share);
      for (const op of hostOperators) {
        await expect(tx).to.emit(sum, "PaymentCredited").withArgs(op.address, ethers.ZeroHash, share);
      }
      expect(await sum.operatorFeesAccrued()).to.equal(remainder);
      for (const op of hostOperators) expect(await sum.withdrawable(op.address)).to.equal(share);

      await expect(sum.connect(hostOperators[1]).withdraw())
        .to.emit(sum, "PaymentWithdrawn")
        .withArgs(hostOperators[1].address, share);
      expect(await paymentToken.balanceOf(hostOperators[1].address)).to.equal(share);

      // The remainder (under 3 units) cannot be split any further.
      await expect(sum.distributeOperatorFees()).to.be.revertedWithCustomError(sum, "AlgorithmComputation__NothingToDistribute");
    });

    it("has nothing to distribute before any request is fulfilled", async function () {
      const { sum } = await loadFixture(deployMarket);
      await expect(sum.distributeOperatorFees()).to.be.revertedWithCustomError(sum, "AlgorithmComputation__NothingToDistribute");
    });

    it("refuses to distribute while the hosts' operators are unset", async function () {
      const { sum } = await loadFixture(requestedWithoutHosts);
      await expect(sum.distributeOperatorFees()).to.be.revertedWithCustomError(sum, "AlgorithmComputation__OperatorsNotSet");
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
      await (await fulfil(market, market.oracleRequest, await signedPayload(market.requestId, RESULT))).wait();

      await (await paymentToken.connect(buyer).approve(await sum.getAddress(), PRICE + OPERATOR_FEE)).wait();
      const second = await oracleRequestOf(
        market,
        await sum.connect(buyer).requestComputation([datasetId], JSON.stringify({ column: "other" }), BUYER_KEY),
      );
      expect(second.requestId).to.not.equal(market.requestId);
      await (await fulfil(market, second, await signedPayload(second.requestId, RESULT))).wait();

      const before = await paymentToken.balanceOf(seller.address);
      expect(await sum.withdrawable(seller.address)).to.equal(2n * PRICE);
      await expect(sum.connect(seller).withdraw()).to.emit(sum, "PaymentWithdrawn").withArgs(seller.address, 2n * PRICE);
      expect(await paymentToken.balanceOf(seller.address)).to.equal(before + 2n * PRICE);
    });
  });
});
