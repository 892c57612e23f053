import { expect } from "chai";
import { decode } from "cbor-x";
import { network } from "hardhat";
import type { ContractTransactionResponse, Overrides } from "ethers";
import {
  BUYER_FUNDS,
  BUYER_KEY,
  CHAIN_ID,
  COMMITMENTS,
  DATASET_NAME,
  ENDPOINTS,
  FINGERPRINTS,
  HOST_SIGNERS,
  OPERATOR_FEE,
  PARAMS,
  POLICY,
  PRICE,
  QUOTE,
  EPSILON,
  SCHEMA,
  SELLER_FUNDS,
  STAKE,
  connection,
  deployMarket,
  deployMarketWithDataset,
  encodePayload,
  ethers,
  fulfil,
  fulfillmentDigest,
  networkHelpers,
  marketWithTestRegistry,
  oracleRequestOf,
  signResult,
  signedPayload,
} from "./fixtures/market.ts";
import { DEFAULT_LINK_FEE, DEFAULT_REQUEST_TIMEOUT, algorithmId, deployLocalMarket, jobIdOf } from "../src/index.ts";
import { envelopeResult, signedPayload as hostsSignedPayload } from "./helpers/signed-payload.ts";

const { loadFixture, time } = networkHelpers;
const RESULT = ethers.hexlify(ethers.toUtf8Bytes("ciphertext of the sum for the buyer"));
const Status = { None: 0n, Pending: 1n, Fulfilled: 2n, Failed: 3n, Refunded: 4n } as const;
const Reason = { BridgeError: 1n, Malformed: 2n, BadSignature: 3n, TooLong: 4n, SellersUnreadable: 5n, Late: 6n } as const;
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
  const tx = await market.sum.connect(market.buyer).requestComputation([market.datasetId], PARAMS, BUYER_KEY, QUOTE, EPSILON);
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
  const oracleRequest = await oracleRequestOf({ operator }, await sum.connect(buyer).requestComputation([datasetId], PARAMS, BUYER_KEY, QUOTE, EPSILON));
  return { sum, operator, relay, buyer, oracleRequest, requestId: oracleRequest.requestId };
}


/**
 * The same market, built by the same accounts in the same order, on a chain of its own:
 * on two such chains every address and the first request id coincide, and only the
 * chain id tells a fulfilment for one from a fulfilment for the other.
 */
async function twinMarket(chain: Awaited<ReturnType<typeof network.create>>) {
  const e = chain.ethers;
  const [deployer, relay, seller, buyer] = await e.getSigners();
  const hosts = HOST_SIGNERS.map((wallet, i) => ({
    operator: deployer.address,
    signer: wallet.address,
    endpoint: ENDPOINTS[i],
    tlsFingerprint: FINGERPRINTS[i],
  }));
  const addresses = await deployLocalMarket({
    deployer,
    relay: relay.address,
    hosts,
    algorithms: ["sum@1"],
    fund: [
      { address: buyer.address, amount: BUYER_FUNDS },
      { address: seller.address, amount: SELLER_FUNDS },
    ],
  });
  const paymentToken = await e.getContractAt("DevPaymentToken", addresses.paymentToken);
  const registry = await e.getContractAt("DatasetRegistry", addresses.registry);
  const operator = await e.getContractAt("Operator", addresses.operator);
  const sum = await e.getContractAt("AlgorithmComputation", addresses.algorithms["sum@1"]);
  await (await paymentToken.connect(seller).approve(addresses.registry, STAKE)).wait();
  await (await registry.connect(seller).registerDataset(DATASET_NAME, SCHEMA, 1000n, PRICE, COMMITMENTS, POLICY, STAKE)).wait();
  const datasetId = await registry.datasetId(seller.address, DATASET_NAME);
  await (await paymentToken.connect(buyer).approve(addresses.algorithms["sum@1"], QUOTE)).wait();
  const oracleRequest = await oracleRequestOf({ operator }, await sum.connect(buyer).requestComputation([datasetId], PARAMS, BUYER_KEY, QUOTE, EPSILON));
  return { chainId: (await e.provider.getNetwork()).chainId, sum, operator, relay, seller, buyer, oracleRequest };
}

/** SaleTerms as the test registry stores them: active, allowed (exactly too), schema 1, dataset 1 unless overridden. */
function saleTerms(terms: { price?: bigint; rowCount: bigint; minRows: bigint; datasetIndex?: bigint }) {
  return { price: 1n, schemaIndex: 1n, datasetIndex: 1n, active: true, allowed: true, exactAllowed: true, budgetRemaining: 2n ** 32n - 1n, ...terms };
}

/** Transactions to put into one block, in this order (the first gets the highest tip). */
type BlockEntry = (overrides: Overrides) => Promise<ContractTransactionResponse>;

/**
 * Mines `entries` in one block whose timestamp is `timestamp`, with automine off: each is
 * sent with an explicit gas limit (no estimate against the pending state) and a tip that
 * falls from one to the next, so the block orders them as given. Returns their receipts
 * (reverted ones included) after checking they share the block in that order.
 */
async function mineInOneBlock(timestamp: bigint, entries: BlockEntry[]) {
  await connection.provider.request({ method: "evm_setAutomine", params: [false] });
  const sent: ContractTransactionResponse[] = [];
  try {
    for (const [i, send] of entries.entries()) {
      const tip = ethers.parseUnits(String(10 * (entries.length - i)), "gwei");
      sent.push(await send({ gasLimit: 1_000_000n, maxPriorityFeePerGas: tip, maxFeePerGas: tip + ethers.parseUnits("100", "gwei") }));
    }
    await time.setNextBlockTimestamp(timestamp);
    await connection.provider.request({ method: "evm_mine", params: [] });
  } finally {
    await connection.provider.request({ method: "evm_setAutomine", params: [true] });
  }
  const receipts = await Promise.all(sent.map((tx) => ethers.provider.getTransactionReceipt(tx.hash)));
  const block = receipts[0]!.blockNumber;
  expect(receipts.map((r) => r!.blockNumber), "one block").to.deep.equal(receipts.map(() => block));
  expect(receipts.map((r) => r!.index), "in the order sent").to.deep.equal([...receipts.map((r) => r!.index)].sort((a, b) => a - b));
  expect(BigInt((await ethers.provider.getBlock(block))!.timestamp)).to.equal(timestamp);
  return receipts.map((r) => r!);
}

/** The revert data of a mined transaction that failed (from the node's trace). */
async function revertDataOf(hash: string): Promise<string> {
  const trace = (await connection.provider.request({
    method: "debug_traceTransaction",
    params: [hash, { disableStack: true, disableMemory: true, disableStorage: true }],
  })) as { failed: boolean; returnValue: string };
  expect(trace.failed, "the transaction reverted").to.equal(true);
  return trace.returnValue.startsWith("0x") ? trace.returnValue : `0x${trace.returnValue}`;
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
      expect(await sum.MAX_EPSILON()).to.equal(65_535n);
      expect(await sum.typeAndVersion()).to.equal("AlgorithmComputation 4.1.0");
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
      const tx = await sum.connect(buyer).requestComputation([datasetId], PARAMS, BUYER_KEY, QUOTE, EPSILON);
      const { requestId } = await oracleRequestOf(market, tx);
      const receipt = (await tx.wait())!;
      const deadline = BigInt((await ethers.provider.getBlock(receipt.blockNumber))!.timestamp) + 3600n;

      await expect(tx)
        .to.emit(sum, "ComputationRequested")
        .withArgs(requestId, buyer.address, [datasetId], PARAMS, BUYER_KEY, PRICE, OPERATOR_FEE, deadline, EPSILON);
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
      expect(request.epsilon).to.equal(EPSILON);
      const event = await requestedEventAt(sum, requestId, request.requestBlock);
      expect([[...event.datasetIds], event.params, event.buyerKey]).to.deep.equal([[datasetId], PARAMS, BUYER_KEY]);
    });

    it("returns an all-zero request for an unknown id", async function () {
      const { sum } = await loadFixture(deployMarket);
      const request = await sum.getRequest(ethers.id("nothing"));
      expect(request.buyer).to.equal(ethers.ZeroAddress);
      expect(request.status).to.equal(Status.None);
      expect([request.deadline, request.price, request.fee, request.requestBlock, request.epsilon]).to.deep.equal([0n, 0n, 0n, 0n, 0n]);
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
      const tx = await sum.connect(buyer).requestComputation(ids, PARAMS, BUYER_KEY, PRICE + PRICE_2 + OPERATOR_FEE, EPSILON);
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
      const fulfilled = await fulfil(market, oracleRequest, await signedPayload(sum, requestId, RESULT));
      await expect(fulfilled).to.emit(sum, "PaymentCredited").withArgs(seller.address, requestId, PRICE);
      await expect(fulfilled).to.emit(sum, "PaymentCredited").withArgs(seller2.address, requestId, PRICE_2);
      expect(await sum.withdrawable(seller.address)).to.equal(PRICE);
      expect(await sum.withdrawable(seller2.address)).to.equal(PRICE_2);
      expect(await sum.operatorFeesAccrued()).to.equal(OPERATOR_FEE);
    });

    it("rejects no datasets, too many, and ids out of order or repeated", async function () {
      const { sum, buyer, ids } = await loadFixture(twoSellers);
      await expect(sum.connect(buyer).requestComputation([], PARAMS, BUYER_KEY, QUOTE, EPSILON))
        .to.be.revertedWithCustomError(sum, "AlgorithmComputation__DatasetCount")
        .withArgs(0n, 20n);
      const many = Array.from({ length: 21 }, (_, i) => ethers.toBeHex(i + 1, 32));
      await expect(sum.connect(buyer).requestComputation(many, PARAMS, BUYER_KEY, QUOTE, EPSILON))
        .to.be.revertedWithCustomError(sum, "AlgorithmComputation__DatasetCount")
        .withArgs(21n, 20n);
      await expect(sum.connect(buyer).requestComputation([ids[1], ids[0]], PARAMS, BUYER_KEY, QUOTE, EPSILON))
        .to.be.revertedWithCustomError(sum, "AlgorithmComputation__DatasetsNotAscending")
        .withArgs(1n);
      await expect(sum.connect(buyer).requestComputation([ids[0], ids[0]], PARAMS, BUYER_KEY, QUOTE, EPSILON))
        .to.be.revertedWithCustomError(sum, "AlgorithmComputation__DatasetsNotAscending")
        .withArgs(1n);
    });

    it("rejects empty params", async function () {
      const { sum, buyer, datasetId } = await loadFixture(deployMarketWithDataset);
      await expect(sum.connect(buyer).requestComputation([datasetId], "", BUYER_KEY, QUOTE, EPSILON)).to.be.revertedWithCustomError(
        sum,
        "AlgorithmComputation__EmptyParams",
      );
    });

    it("rejects an unknown dataset with the registry's error", async function () {
      const { sum, registry, buyer } = await loadFixture(deployMarketWithDataset);
      const unknown = ethers.id("nobody/nothing");
      await expect(sum.connect(buyer).requestComputation([unknown], PARAMS, BUYER_KEY, QUOTE, EPSILON))
        .to.be.revertedWithCustomError(registry, "DatasetRegistry__UnknownDataset")
        .withArgs(unknown);
    });

    it("rejects a paused or deregistered dataset", async function () {
      const { sum, registry, seller, buyer, datasetId } = await loadFixture(deployMarketWithDataset);
      await (await registry.connect(seller).setDatasetActive(datasetId, false)).wait();
      await expect(sum.connect(buyer).requestComputation([datasetId], PARAMS, BUYER_KEY, QUOTE, EPSILON))
        .to.be.revertedWithCustomError(sum, "AlgorithmComputation__DatasetInactive")
        .withArgs(datasetId);
      await (await registry.connect(seller).setDatasetActive(datasetId, true)).wait();
      await (await registry.connect(seller).deregisterDataset(datasetId)).wait();
      await expect(sum.connect(buyer).requestComputation([datasetId], PARAMS, BUYER_KEY, QUOTE, EPSILON))
        .to.be.revertedWithCustomError(sum, "AlgorithmComputation__DatasetInactive")
        .withArgs(datasetId);
    });

    it("enforces the seller's policy: allowed algorithms", async function () {
      const { mean, buyer, datasetId } = await loadFixture(deployMarketWithDataset);
      await expect(mean.connect(buyer).requestComputation([datasetId], PARAMS, BUYER_KEY, QUOTE, EPSILON))
        .to.be.revertedWithCustomError(mean, "AlgorithmComputation__AlgorithmNotAllowed")
        .withArgs(datasetId, "mean@1");
    });

    it("rejects datasets of different schemas", async function () {
      const { sum, registry, stranger, buyer, datasetId } = await loadFixture(deployMarketWithDataset);
      const otherSchema = JSON.stringify({ columns: [{ name: "cost", scale: 2 }] });
      await (await registry.connect(stranger).registerDataset("other", otherSchema, 10n, 1n, COMMITMENTS, POLICY, STAKE)).wait();
      const otherId = await registry.datasetId(stranger.address, "other");
      const ids = [datasetId, otherId].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
      await expect(sum.connect(buyer).requestComputation(ids, PARAMS, BUYER_KEY, ethers.MaxUint256, EPSILON))
        .to.be.revertedWithCustomError(sum, "AlgorithmComputation__SchemaMismatch")
        .withArgs(ids[1]);
    });

    it("reverts without an allowance for price plus fee and leaves no request behind", async function () {
      const { sum, paymentToken, buyer, datasetId } = await loadFixture(deployMarketWithDataset);
      await (await paymentToken.connect(buyer).approve(await sum.getAddress(), PRICE)).wait();
      await expect(sum.connect(buyer).requestComputation([datasetId], PARAMS, BUYER_KEY, QUOTE, EPSILON)).to.be.revertedWith(
        "ERC20: insufficient allowance",
      );
      expect(await paymentToken.balanceOf(buyer.address)).to.equal(BUYER_FUNDS);
    });
  });

  describe("the buyer's price bound (maxTotalPrice)", function () {
    it("reverts when the seller raised the price between quote and purchase, escrowing nothing", async function () {
      const market = await loadFixture(deployMarketWithDataset);
      const { sum, registry, seller, buyer, paymentToken, linkToken, datasetId, addresses } = market;
      const sumAddress = await sum.getAddress();
      // The buyer was quoted PRICE + fee and, as wallets often do, approved without limit:
      // the allowance does not protect it, the price bound must.
      await (await paymentToken.connect(buyer).approve(sumAddress, ethers.MaxUint256)).wait();
      const linkBefore = await linkToken.balanceOf(sumAddress);
      const raised = 3n * PRICE;
      await expect(registry.connect(seller).setPrice(datasetId, raised)).to.emit(registry, "DatasetPriceUpdated").withArgs(datasetId, raised);

      await expect(sum.connect(buyer).requestComputation([datasetId], PARAMS, BUYER_KEY, QUOTE, EPSILON))
        .to.be.revertedWithCustomError(sum, "AlgorithmComputation__PriceAboveMaximum")
        .withArgs(raised + OPERATOR_FEE, QUOTE);
      expect(await paymentToken.balanceOf(buyer.address)).to.equal(BUYER_FUNDS);
      expect(await paymentToken.balanceOf(sumAddress)).to.equal(0n);
      expect(await linkToken.balanceOf(sumAddress)).to.equal(linkBefore);
      expect(await linkToken.balanceOf(addresses.operator)).to.equal(0n);
      expect(await sum.queryFilter(sum.filters.ComputationRequested())).to.have.length(0);

      // Quoted again, the buyer can agree to the new price.
      await expect(sum.connect(buyer).requestComputation([datasetId], PARAMS, BUYER_KEY, raised + OPERATOR_FEE, EPSILON))
        .to.emit(paymentToken, "Transfer")
        .withArgs(buyer.address, sumAddress, raised + OPERATOR_FEE);
    });

    it("reverts the purchase when the seller's setPrice is mined in front of it in the same block", async function () {
      const market = await loadFixture(deployMarketWithDataset);
      const { sum, registry, seller, buyer, paymentToken, datasetId } = market;
      const sumAddress = await sum.getAddress();
      await (await paymentToken.connect(buyer).approve(sumAddress, ethers.MaxUint256)).wait();
      const raised = PRICE + 1n;
      const [priced, bought] = await mineInOneBlock(BigInt(await time.latest()) + 10n, [
        (overrides) => registry.connect(seller).setPrice(datasetId, raised, overrides),
        (overrides) => sum.connect(buyer).requestComputation([datasetId], PARAMS, BUYER_KEY, QUOTE, EPSILON, overrides),
      ]);
      expect(priced.status).to.equal(1);
      expect(bought.status).to.equal(0);
      const error = sum.interface.parseError(await revertDataOf(bought.hash));
      expect(error?.name).to.equal("AlgorithmComputation__PriceAboveMaximum");
      expect([...error!.args]).to.deep.equal([raised + OPERATOR_FEE, QUOTE]);
      expect(await paymentToken.balanceOf(buyer.address)).to.equal(BUYER_FUNDS);
      expect(await paymentToken.balanceOf(sumAddress)).to.equal(0n);
    });

    it("a purchase mined before the seller's price change in the same block pays the quoted price", async function () {
      const market = await loadFixture(deployMarketWithDataset);
      const { sum, registry, seller, buyer, paymentToken, datasetId, operator } = market;
      const [bought, priced] = await mineInOneBlock(BigInt(await time.latest()) + 10n, [
        (overrides) => sum.connect(buyer).requestComputation([datasetId], PARAMS, BUYER_KEY, QUOTE, EPSILON, overrides),
        (overrides) => registry.connect(seller).setPrice(datasetId, 2n * PRICE, overrides),
      ]);
      expect([bought.status, priced.status]).to.deep.equal([1, 1]);
      expect(await paymentToken.balanceOf(buyer.address)).to.equal(BUYER_FUNDS - QUOTE);
      const operatorAddress = (await operator.getAddress()).toLowerCase();
      const parsed = bought.logs.map((log) => (log.address.toLowerCase() === operatorAddress ? operator.interface.parseLog(log) : null));
      const requestId = parsed.find((p) => p?.name === "OracleRequest")!.args.requestId as string;
      expect((await sum.getRequest(requestId)).price).to.equal(PRICE);
    });

    it("accepts a total equal to the maximum, refuses one unit over, and escrows a lowered price rather than the maximum", async function () {
      const { sum, registry, seller, buyer, paymentToken, datasetId } = await loadFixture(deployMarketWithDataset);
      const sumAddress = await sum.getAddress();
      await expect(sum.connect(buyer).requestComputation([datasetId], PARAMS, BUYER_KEY, QUOTE - 1n, EPSILON))
        .to.be.revertedWithCustomError(sum, "AlgorithmComputation__PriceAboveMaximum")
        .withArgs(QUOTE, QUOTE - 1n);
      const lowered = PRICE / 5n;
      await (await registry.connect(seller).setPrice(datasetId, lowered)).wait();
      await expect(sum.connect(buyer).requestComputation([datasetId], PARAMS, BUYER_KEY, QUOTE, EPSILON))
        .to.emit(paymentToken, "Transfer")
        .withArgs(buyer.address, sumAddress, lowered + OPERATOR_FEE);
      expect(await paymentToken.balanceOf(buyer.address)).to.equal(BUYER_FUNDS - lowered - OPERATOR_FEE);
      await (await registry.connect(seller).setPrice(datasetId, PRICE)).wait();
      await (await paymentToken.connect(buyer).approve(sumAddress, QUOTE)).wait();
      await expect(sum.connect(buyer).requestComputation([datasetId], '{"column":"again"}', BUYER_KEY, QUOTE, EPSILON)).to.emit(
        sum,
        "ComputationRequested",
      );
    });

    it("bounds the total over several sellers: one seller's raise reverts the whole purchase", async function () {
      const { sum, registry, seller2, buyer, paymentToken, ids, datasetId2 } = await loadFixture(twoSellers);
      const quote = PRICE + PRICE_2 + OPERATOR_FEE;
      await (await paymentToken.connect(buyer).approve(await sum.getAddress(), ethers.MaxUint256)).wait();
      await (await registry.connect(seller2).setPrice(datasetId2, PRICE_2 + 1n)).wait();
      await expect(sum.connect(buyer).requestComputation(ids, PARAMS, BUYER_KEY, quote, EPSILON))
        .to.be.revertedWithCustomError(sum, "AlgorithmComputation__PriceAboveMaximum")
        .withArgs(quote + 1n, quote);
      expect(await paymentToken.balanceOf(buyer.address)).to.equal(BUYER_FUNDS);
      expect(await paymentToken.balanceOf(await sum.getAddress())).to.equal(0n);
    });
  });

  describe("minimum rows: each dataset's own rule", function () {
    it("the registry refuses to list a dataset below its own minimum, and takes no stake", async function () {
      const { registry, seller, paymentToken } = await loadFixture(deployMarket);
      const before = await paymentToken.balanceOf(seller.address);
      const strict = { ...POLICY, minRows: 100n };
      await expect(registry.connect(seller).registerDataset("tiny", SCHEMA, 5n, PRICE, COMMITMENTS, strict, STAKE))
        .to.be.revertedWithCustomError(registry, "DatasetRegistry__FewerRowsThanMinimum")
        .withArgs(5n, 100n);
      expect(await registry.isRegistered(await registry.datasetId(seller.address, "tiny"))).to.equal(false);
      expect(await paymentToken.balanceOf(seller.address)).to.equal(before);
    });

    it("sells a dataset that holds exactly its own minimum", async function () {
      const { sum, registry, seller, buyer, paymentToken } = await loadFixture(deployMarket);
      const strict = { ...POLICY, minRows: 2000n };
      await (await registry.connect(seller).registerDataset("exact", SCHEMA, 2000n, PRICE, COMMITMENTS, strict, STAKE)).wait();
      const id = await registry.datasetId(seller.address, "exact");
      await (await paymentToken.connect(buyer).approve(await sum.getAddress(), QUOTE)).wait();
      await expect(sum.connect(buyer).requestComputation([id], PARAMS, BUYER_KEY, QUOTE, EPSILON)).to.emit(sum, "ComputationRequested");
    });

    it("refuses the victim's tiny dataset whatever the buyer pads the request with, first or last", async function () {
      const market = await loadFixture(marketWithTestRegistry);
      const { computation, testRegistry, buyer, paymentToken, addresses } = market;
      const address = await computation.getAddress();
      // A registry listing what the real one now refuses: the victim's 5 rows under its own
      // minimum of 100, next to the buyer's own million rows of zeros (no minimum), which
      // would lift a count over the victim's rows alone past any summed minimum.
      const id = (n: number) => ethers.zeroPadValue(ethers.toBeHex(n), 32);
      const arrangements = [
        { victim: id(1), padding: id(2) },
        { victim: id(4), padding: id(3) },
      ];
      for (const { victim, padding } of arrangements) {
        await (await testRegistry.setTerms(victim, saleTerms({ rowCount: 5n, minRows: 100n, price: 2n }))).wait();
        await (await testRegistry.setTerms(padding, saleTerms({ rowCount: 1_000_000n, minRows: 0n, datasetIndex: 2n }))).wait();
        const ids = [victim, padding].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
        await expect(computation.connect(buyer).requestComputation(ids, PARAMS, BUYER_KEY, ethers.MaxUint256, EPSILON))
          .to.be.revertedWithCustomError(computation, "AlgorithmComputation__TooFewRows")
          .withArgs(victim, 5n, 100n);
        // A third padding dataset changes nothing (in the second arrangement the victim sits in the middle).
        await (await testRegistry.setTerms(id(9), saleTerms({ rowCount: 1_000_000n, minRows: 0n, datasetIndex: 2n }))).wait();
        await expect(computation.connect(buyer).requestComputation([...ids, id(9)], PARAMS, BUYER_KEY, ethers.MaxUint256, EPSILON))
          .to.be.revertedWithCustomError(computation, "AlgorithmComputation__TooFewRows")
          .withArgs(victim, 5n, 100n);
      }
      expect(await paymentToken.balanceOf(buyer.address)).to.equal(BUYER_FUNDS);
      expect(await paymentToken.balanceOf(address)).to.equal(0n);
      expect(await market.linkToken.balanceOf(addresses.operator)).to.equal(0n);

      // The padding alone is for sale: the refusal is the victim's rule, nothing else.
      await expect(computation.connect(buyer).requestComputation([id(2)], PARAMS, BUYER_KEY, 1n + OPERATOR_FEE, EPSILON)).to.emit(
        computation,
        "ComputationRequested",
      );
    });
  });

  describe("fulfill", function () {
    it("accepts a result signed by the three hosts: stores its hash, credits the seller and the fee", async function () {
      const market = await loadFixture(requested);
      const { sum, seller, buyer, paymentToken, requestId, oracleRequest, operator } = market;
      const sumAddress = await sum.getAddress();
      const digest = fulfillmentDigest(sumAddress, requestId, RESULT);
      expect(digest).to.equal(
        ethers.keccak256(abi.encode(["uint256", "address", "bytes32", "bytes32"], [CHAIN_ID, sumAddress, requestId, ethers.keccak256(RESULT)])),
      );
      expect(await sum.fulfillmentDigest(requestId, ethers.keccak256(RESULT))).to.equal(digest);

      const tx = await fulfil(market, oracleRequest, await signedPayload(sum, requestId, RESULT));
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

    it("splits a dataset's price between its seller and the payees named at fulfilment, rounding to the seller", async function () {
      const market = await loadFixture(requested);
      const { sum, registry, seller, buyer, stranger, datasetId, requestId, oracleRequest } = market;
      // Named after the request was made: payouts are read when the request is paid for.
      await (await registry.connect(seller).setPayouts(datasetId, [stranger.address, buyer.address], [3333, 1])).wait();
      const tx = await fulfil(market, oracleRequest, await signedPayload(sum, requestId, RESULT));
      await expect(tx).to.emit(sum, "ComputationFulfilled");
      const toStranger = (PRICE * 3333n) / 10_000n;
      const toBuyer = PRICE / 10_000n;
      await expect(tx).to.emit(sum, "PaymentCredited").withArgs(stranger.address, requestId, toStranger);
      await expect(tx).to.emit(sum, "PaymentCredited").withArgs(buyer.address, requestId, toBuyer);
      await expect(tx).to.emit(sum, "PaymentCredited").withArgs(seller.address, requestId, PRICE - toStranger - toBuyer);
      expect(await sum.withdrawable(stranger.address)).to.equal(toStranger);
      expect(await sum.withdrawable(seller.address) + (await sum.withdrawable(stranger.address)) + (await sum.withdrawable(buyer.address))).to.equal(PRICE);
    });

    it("fulfils a request whose dataset has the most payees, every one credited", async function () {
      const market = await loadFixture(requested);
      const { sum, registry, seller, datasetId, requestId, oracleRequest } = market;
      const payees = Array.from({ length: 8 }, (_, i) => ethers.getAddress(`0x${(i + 0x1001).toString(16).padStart(40, "0")}`));
      await (await registry.connect(seller).setPayouts(datasetId, payees, Array(8).fill(1250))).wait();
      const tx = await fulfil(market, oracleRequest, await signedPayload(sum, requestId, RESULT));
      await expect(tx).to.emit(sum, "ComputationFulfilled");
      for (const payee of payees) expect(await sum.withdrawable(payee)).to.equal(PRICE / 8n);
      expect(await sum.withdrawable(seller.address)).to.equal(0n);
    });

    it("decodes a payload with decodePayload", async function () {
      const { sum, requestId } = await loadFixture(requested);
      const signatures = await signResult(sum, requestId, RESULT);
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
        const tx = await sum.connect(buyer).requestComputation([datasetId], params, BUYER_KEY, QUOTE, EPSILON);
        const oracleRequest = await oracleRequestOf(market, tx);
        // What the hosts send: a job id and three 156-byte wrapped envelopes.
        const result = envelopeResult(`gas ${params}`);
        const fulfilTx = await fulfil(market, oracleRequest, await signedPayload(sum, oracleRequest.requestId, result));
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
      const market = await loadFixture(marketWithTestRegistry);
      const { buyer, testRegistry, computation } = market;
      const tx = await computation.connect(buyer).requestComputation([ethers.id("any dataset")], PARAMS, BUYER_KEY, 1n + OPERATOR_FEE, EPSILON);
      const oracleRequest = await oracleRequestOf(market, tx);
      await (await testRegistry.breakSellers()).wait();

      const fulfilled = await fulfil(market, oracleRequest, await signedPayload(computation, oracleRequest.requestId, RESULT));
      await expect(fulfilled).to.emit(computation, "ComputationFailed").withArgs(oracleRequest.requestId, Reason.SellersUnreadable);
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
      const { sum, requestId } = await loadFixture(requested);
      const good = ethers.getBytes(await signedPayload(sum, requestId, RESULT));
      good[31] = 0xff; // the result's offset now points past the end
      await expectFailure(ethers.hexlify(good), Reason.Malformed);
    });

    it("fails a result signed by a key that is not a registered host signer", async function () {
      const { sum, requestId } = await loadFixture(requested);
      const intruder = new ethers.Wallet(ethers.id("intruder"));
      const signatures = await signResult(sum, requestId, RESULT, [HOST_SIGNERS[0], intruder, HOST_SIGNERS[2]]);
      await expectFailure(encodePayload(RESULT, signatures), Reason.BadSignature);
    });

    it("fails when two hosts' signatures are swapped", async function () {
      const { sum, requestId } = await loadFixture(requested);
      const [a, b, c] = await signResult(sum, requestId, RESULT);
      await expectFailure(encodePayload(RESULT, [b, a, c]), Reason.BadSignature);
    });

    it("fails signatures over a different result or a different request", async function () {
      const { sum, requestId } = await loadFixture(requested);
      const other = ethers.hexlify(ethers.toUtf8Bytes("another result"));
      await expectFailure(encodePayload(RESULT, await signResult(sum, requestId, other)), Reason.BadSignature);
      await expectFailure(encodePayload(RESULT, await signResult(sum, ethers.id("other request"), RESULT)), Reason.BadSignature);
    });

    it("fails (reason 3) a result signed for the same request id on another chain", async function () {
      const { sum, requestId } = await loadFixture(requested);
      for (const chainId of [1n, CHAIN_ID + 1n]) {
        await expectFailure(encodePayload(RESULT, await signResult(sum, requestId, RESULT, HOST_SIGNERS, chainId)), Reason.BadSignature);
      }
    });

    it("fails (reason 3) a result signed for the same request id at another AlgorithmComputation", async function () {
      const { sum, mean, requestId } = await loadFixture(requested);
      const resultHash = ethers.keccak256(RESULT);
      expect(await mean.fulfillmentDigest(requestId, resultHash)).to.not.equal(await sum.fulfillmentDigest(requestId, resultHash));
      await expectFailure(encodePayload(RESULT, await signResult(mean, requestId, RESULT)), Reason.BadSignature);
    });

    it("fails (reason 3) a fulfilment replayed on another chain where the same market has the same addresses and request id", async function () {
      const chains = [await network.create(), await network.create({ override: { chainId: Number(CHAIN_ID) + 1 } })];
      try {
        const [a, b] = [await twinMarket(chains[0]), await twinMarket(chains[1])];
        expect(b.chainId).to.not.equal(a.chainId);
        expect(await b.sum.getAddress()).to.equal(await a.sum.getAddress());
        const { requestId } = a.oracleRequest;
        expect(b.oracleRequest.requestId).to.equal(requestId);

        const payload = await hostsSignedPayload(HOST_SIGNERS, { chainId: a.chainId, consumer: await a.sum.getAddress() }, requestId, RESULT);
        await expect(fulfil(a, a.oracleRequest, payload)).to.emit(a.sum, "ComputationFulfilled");
        const replay = fulfil(b, b.oracleRequest, payload);
        await expect(replay).to.emit(b.sum, "ComputationFailed").withArgs(requestId, Reason.BadSignature);
        await expect(replay).to.not.emit(b.sum, "ComputationFulfilled");
        expect(await b.sum.withdrawable(b.seller.address)).to.equal(0n);
        expect(await b.sum.withdrawable(b.buyer.address)).to.equal(QUOTE);
        expect(await a.sum.withdrawable(a.seller.address)).to.equal(PRICE);
      } finally {
        await Promise.all(chains.map((chain) => chain.close()));
      }
    });

    it("fails a missing or malformed signature", async function () {
      const { sum, requestId } = await loadFixture(requested);
      const [a, b, c] = await signResult(sum, requestId, RESULT);
      await expectFailure(encodePayload(RESULT, [a, b, "0x"]), Reason.BadSignature);
      await expectFailure(encodePayload(RESULT, [a, b, ethers.dataSlice(c, 0, 64)]), Reason.BadSignature);
      await expectFailure(encodePayload(RESULT, [a, b, ethers.concat([ethers.dataSlice(c, 0, 64), "0x05"])]), Reason.BadSignature);
    });

    it("fails a result longer than MAX_RESULT_LENGTH even when correctly signed", async function () {
      const { sum, requestId } = await loadFixture(requested);
      const tooLong = ethers.hexlify(new Uint8Array(4097).fill(7));
      await expectFailure(signedPayload(sum, requestId, tooLong), Reason.TooLong);
    });

    it("fails a payload longer than MAX_PAYLOAD_LENGTH without decoding it", async function () {
      const { sum, requestId } = await loadFixture(requested);
      const [a, b, c] = await signResult(sum, requestId, RESULT);
      const padded = encodePayload(RESULT, [a, b, ethers.concat([c, new Uint8Array(4096)])]);
      expect(ethers.dataLength(padded)).to.be.greaterThan(Number(await sum.MAX_PAYLOAD_LENGTH()));
      await expectFailure(padded, Reason.TooLong);
    });

    it("accepts a result of exactly MAX_RESULT_LENGTH bytes (a payload of MAX_PAYLOAD_LENGTH)", async function () {
      const market = await loadFixture(requested);
      const longest = ethers.hexlify(new Uint8Array(4096).fill(7));
      const payload = await signedPayload(market.sum, market.requestId, longest);
      expect(ethers.dataLength(payload)).to.equal(Number(await market.sum.MAX_PAYLOAD_LENGTH()));
      const tx = await fulfil(market, market.oracleRequest, payload);
      await expect(tx).to.emit(market.sum, "ComputationFulfilled").withArgs(market.requestId, ethers.keccak256(longest), longest);
    });

    it("fails every result while the host registry has no signers", async function () {
      const market = await loadFixture(requestedWithoutHosts);
      const { sum, buyer, requestId } = market;
      const tx = await fulfil(market, market.oracleRequest, await signedPayload(sum, requestId, RESULT));
      await expect(tx).to.emit(sum, "ComputationFailed").withArgs(requestId, Reason.BadSignature);
      expect(await sum.withdrawable(buyer.address)).to.equal(PRICE + OPERATOR_FEE);
    });

    it("rejects a fulfilment from an unauthorized sender", async function () {
      const market = await loadFixture(requested);
      await expect(fulfil(market, market.oracleRequest, await signedPayload(market.sum, market.requestId, RESULT), market.stranger)).to.be.revertedWith(
        "Not authorized sender",
      );
      expect((await market.sum.getRequest(market.requestId)).status).to.equal(Status.Pending);
    });

    it("rejects a direct call that does not come from the operator", async function () {
      const { sum, stranger, requestId } = await loadFixture(requested);
      await expect(sum.connect(stranger).fulfill(requestId, await signedPayload(sum, requestId, RESULT))).to.be.revertedWith(
        "Source must be the oracle of the request",
      );
    });

    it("rejects a second fulfilment of the same request", async function () {
      const market = await loadFixture(requested);
      await (await fulfil(market, market.oracleRequest, await signedPayload(market.sum, market.requestId, RESULT))).wait();
      const other = ethers.hexlify(ethers.toUtf8Bytes("a different answer"));
      await expect(fulfil(market, market.oracleRequest, await signedPayload(market.sum, market.requestId, other))).to.be.revertedWith(
        "Must have a valid requestId",
      );
      const request = await market.sum.getRequest(market.requestId);
      expect(request.resultHash).to.equal(ethers.keccak256(RESULT));
      expect(await market.sum.withdrawable(market.seller.address)).to.equal(PRICE);
    });
  });

  describe("late fulfilment (after the deadline, before anyone refunded)", function () {
    it("fails a valid answer mined after the deadline (reason 6): the buyer gets price and fee back, sellers nothing, nothing reverts", async function () {
      const market = await loadFixture(requested);
      const { sum, buyer, seller, paymentToken, operator, requestId, oracleRequest, deadline } = market;
      const sumAddress = await sum.getAddress();
      const payload = await signedPayload(sum, requestId, RESULT);
      await time.setNextBlockTimestamp(deadline + 1n);
      const tx = await fulfil(market, oracleRequest, payload);
      expect((await tx.wait())!.status).to.equal(1);
      await expect(tx).to.emit(operator, "OracleResponse").withArgs(requestId);
      await expect(tx).to.emit(sum, "ChainlinkFulfilled").withArgs(requestId);
      await expect(tx).to.emit(sum, "ComputationFailed").withArgs(requestId, Reason.Late);
      await expect(tx).to.emit(sum, "PaymentCredited").withArgs(buyer.address, requestId, QUOTE);
      await expect(tx).to.not.emit(sum, "ComputationFulfilled");

      const request = await sum.getRequest(requestId);
      expect(request.status).to.equal(Status.Failed);
      expect(request.resultHash).to.equal(ethers.ZeroHash);
      expect(await sum.withdrawable(buyer.address)).to.equal(QUOTE);
      expect(await sum.withdrawable(seller.address)).to.equal(0n);
      expect(await sum.operatorFeesAccrued()).to.equal(0n);
      // Settled once: no refund on top of the credit.
      await expect(sum.refund(requestId))
        .to.be.revertedWithCustomError(sum, "AlgorithmComputation__NotPending")
        .withArgs(requestId, Status.Failed);
      await (await sum.connect(buyer).withdraw()).wait();
      expect(await paymentToken.balanceOf(buyer.address)).to.equal(BUYER_FUNDS);
      expect(await paymentToken.balanceOf(sumAddress)).to.equal(0n);
      await expect(sum.connect(seller).withdraw())
        .to.be.revertedWithCustomError(sum, "AlgorithmComputation__NothingToWithdraw")
        .withArgs(seller.address);
    });

    it("still accepts an answer mined in the deadline's own second", async function () {
      const market = await loadFixture(requested);
      const { sum, seller, requestId, oracleRequest, deadline } = market;
      const payload = await signedPayload(sum, requestId, RESULT);
      await time.setNextBlockTimestamp(deadline);
      await expect(fulfil(market, oracleRequest, payload)).to.emit(sum, "ComputationFulfilled");
      expect((await sum.getRequest(requestId)).status).to.equal(Status.Fulfilled);
      expect(await sum.withdrawable(seller.address)).to.equal(PRICE);
    });

    it("fails a late answer with reason 6 whatever it carries (empty, malformed, badly signed)", async function () {
      const intruder = new ethers.Wallet(ethers.id("intruder"));
      const payloads: ((sum: Awaited<ReturnType<typeof requested>>["sum"], requestId: string) => Promise<string>)[] = [
        async () => "0x",
        async () => "0x1234",
        async (sum, requestId) => encodePayload(RESULT, await signResult(sum, requestId, RESULT, [intruder, intruder, intruder])),
      ];
      for (const make of payloads) {
        const market = await loadFixture(requested);
        const { sum, buyer, requestId, oracleRequest, deadline } = market;
        const payload = await make(sum, requestId);
        await time.setNextBlockTimestamp(deadline + 1n);
        const tx = fulfil(market, oracleRequest, payload);
        await expect(tx).to.emit(sum, "ComputationFailed").withArgs(requestId, Reason.Late);
        expect(await sum.withdrawable(buyer.address)).to.equal(QUOTE);
      }
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

    it("ignores a fulfilment after the refund: no settlement, no credit, balances unchanged", async function () {
      const market = await loadFixture(requested);
      const { sum, buyer, seller, paymentToken, requestId, oracleRequest } = market;
      const sumAddress = await sum.getAddress();
      await time.increase(DEFAULT_REQUEST_TIMEOUT + 1);
      await (await sum.refund(requestId)).wait();
      const held = await paymentToken.balanceOf(sumAddress);
      expect(held).to.equal(QUOTE);

      const tx = await fulfil(market, oracleRequest, await signedPayload(sum, requestId, RESULT));
      expect((await tx.wait())!.status).to.equal(1);
      await expect(tx).to.emit(sum, "ChainlinkFulfilled").withArgs(requestId);
      await expect(tx).to.not.emit(sum, "ComputationFulfilled");
      await expect(tx).to.not.emit(sum, "ComputationFailed");
      await expect(tx).to.not.emit(sum, "PaymentCredited");
      const request = await sum.getRequest(requestId);
      expect(request.status).to.equal(Status.Refunded);
      expect(request.resultHash).to.equal(ethers.ZeroHash);
      expect(await sum.withdrawable(buyer.address)).to.equal(QUOTE);
      expect(await sum.withdrawable(seller.address)).to.equal(0n);
      expect(await sum.operatorFeesAccrued()).to.equal(0n);
      expect(await paymentToken.balanceOf(sumAddress)).to.equal(held);

      await (await sum.connect(buyer).withdraw()).wait();
      expect(await paymentToken.balanceOf(buyer.address)).to.equal(BUYER_FUNDS);
      expect(await paymentToken.balanceOf(sumAddress)).to.equal(0n);
    });

    it("refuses an unknown, fulfilled or failed request", async function () {
      const market = await loadFixture(requested);
      const { sum, requestId, oracleRequest } = market;
      const unknown = ethers.id("unknown");
      await expect(sum.refund(unknown))
        .to.be.revertedWithCustomError(sum, "AlgorithmComputation__NotPending")
        .withArgs(unknown, Status.None);
      await (await fulfil(market, oracleRequest, await signedPayload(sum, requestId, RESULT))).wait();
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

  describe("a refund raced against a pending fulfilment in one block (automine off)", function () {
    type Racer = "fulfil" | "refund";
    const cases: { second: bigint; order: [Racer, Racer]; status: bigint; loser?: [string, (deadline: bigint) => bigint] }[] = [
      // In the deadline's own second the answer is on time and the refund too early, in either order.
      { second: 0n, order: ["fulfil", "refund"], status: Status.Fulfilled, loser: ["AlgorithmComputation__NotPending", () => Status.Fulfilled] },
      { second: 0n, order: ["refund", "fulfil"], status: Status.Fulfilled, loser: ["AlgorithmComputation__NotExpired", (d) => d] },
      // One second later the answer is late: whichever comes first settles, the other changes nothing.
      { second: 1n, order: ["fulfil", "refund"], status: Status.Failed, loser: ["AlgorithmComputation__NotPending", () => Status.Failed] },
      { second: 1n, order: ["refund", "fulfil"], status: Status.Refunded },
    ];
    for (const { second, order, status, loser } of cases) {
      it(`deadline + ${second} s, ${order.join(" then ")}: settled once (${Object.keys(Status)[Number(status)]}), money conserved`, async function () {
        const market = await loadFixture(requested);
        const { sum, buyer, seller, stranger, paymentToken, requestId, oracleRequest, deadline } = market;
        const sumAddress = await sum.getAddress();
        const payload = await signedPayload(sum, requestId, RESULT);
        const senders: Record<Racer, BlockEntry> = {
          fulfil: (overrides) => fulfil(market, oracleRequest, payload, market.relay, overrides),
          refund: (overrides) => sum.connect(stranger).refund(requestId, overrides),
        };
        const receipts = await mineInOneBlock(deadline + second, order.map((racer) => senders[racer]));
        const byRacer = Object.fromEntries(order.map((racer, i) => [racer, receipts[i]])) as Record<Racer, (typeof receipts)[number]>;

        // The fulfilment never reverts; the refund reverts exactly when it lost.
        expect(byRacer.fulfil.status).to.equal(1);
        expect(byRacer.refund.status).to.equal(loser === undefined ? 1 : 0);
        if (loser !== undefined) {
          const error = sum.interface.parseError(await revertDataOf(byRacer.refund.hash));
          expect(error?.name).to.equal(loser[0]);
          expect([...error!.args]).to.deep.equal([requestId, loser[1](deadline)]);
        }

        // Exactly one settlement event in the block, and the status it names.
        const block = receipts[0].blockNumber;
        const settlements = [
          ...(await sum.queryFilter(sum.filters.ComputationFulfilled(requestId), block, block)),
          ...(await sum.queryFilter(sum.filters.ComputationFailed(requestId), block, block)),
          ...(await sum.queryFilter(sum.filters.ComputationRefunded(requestId), block, block)),
        ];
        expect(settlements).to.have.length(1);
        expect((await sum.getRequest(requestId)).status).to.equal(status);

        // Money: the escrow went to exactly one side, once.
        const owed = {
          buyer: await sum.withdrawable(buyer.address),
          seller: await sum.withdrawable(seller.address),
          fees: await sum.operatorFeesAccrued(),
        };
        expect(owed).to.deep.equal(
          status === Status.Fulfilled ? { buyer: 0n, seller: PRICE, fees: OPERATOR_FEE } : { buyer: QUOTE, seller: 0n, fees: 0n },
        );
        expect(await paymentToken.balanceOf(sumAddress)).to.equal(owed.buyer + owed.seller + owed.fees);
        expect(owed.buyer + owed.seller + owed.fees).to.equal(QUOTE);
      });
    }
  });

  describe("operators' fee", function () {
    it("accrues per fulfilled request and splits equally, keeping the remainder", async function () {
      const market = await loadFixture(requested);
      const { sum, buyer, paymentToken, datasetId, hostOperators, requestId, oracleRequest } = market;
      await (await fulfil(market, oracleRequest, await signedPayload(sum, requestId, RESULT))).wait();
      await (await paymentToken.connect(buyer).approve(await sum.getAddress(), PRICE + OPERATOR_FEE)).wait();
      const second = await oracleRequestOf(market, await sum.connect(buyer).requestComputation([datasetId], '{"column":"x"}', BUYER_KEY, QUOTE, EPSILON));
      await (await fulfil(market, second, await signedPayload(sum, second.requestId, RESULT))).wait();
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
      await (await fulfil(market, market.oracleRequest, await signedPayload(sum, market.requestId, RESULT))).wait();

      await (await paymentToken.connect(buyer).approve(await sum.getAddress(), PRICE + OPERATOR_FEE)).wait();
      const second = await oracleRequestOf(
        market,
        await sum.connect(buyer).requestComputation([datasetId], JSON.stringify({ column: "other" }), BUYER_KEY, QUOTE, EPSILON),
      );
      expect(second.requestId).to.not.equal(market.requestId);
      await (await fulfil(market, second, await signedPayload(sum, second.requestId, RESULT))).wait();

      const before = await paymentToken.balanceOf(seller.address);
      expect(await sum.withdrawable(seller.address)).to.equal(2n * PRICE);
      await expect(sum.connect(seller).withdraw()).to.emit(sum, "PaymentWithdrawn").withArgs(seller.address, 2n * PRICE);
      expect(await paymentToken.balanceOf(seller.address)).to.equal(before + 2n * PRICE);
    });
  });
});
