import { expect } from "chai";
import type { Wallet } from "ethers";
import {
  BUDGET,
  BUYER_KEY,
  EPSILON,
  HOST_SIGNERS,
  OPERATOR_FEE,
  PARAMS,
  PRICE,
  SCHEMA,
  STAKE,
  deployMarketWithDataset,
  ethers,
  fulfil,
  networkHelpers,
  oracleRequestOf,
  signedPayload,
} from "./fixtures/market.ts";

const { loadFixture } = networkHelpers;

// Penalties for provable offences (PenaltyCourt): two hosts' signed attestations that a
// dataset's share was missing or did not match its commitment when they were asked to
// compute a request punish the dataset; one host, a forger, a repeat or a fulfilled
// request cannot.
const MISSING = 1;
const MISMATCH = 2;
const BURN = "0x000000000000000000000000000000000000dEaD";

async function requested() {
  const market = await deployMarketWithDataset();
  const { sum, buyer, datasetId } = market;
  const tx = await sum.connect(buyer).requestComputation([datasetId], PARAMS, BUYER_KEY, PRICE + OPERATOR_FEE, EPSILON);
  const oracleRequest = await oracleRequestOf(market, tx);
  return { ...market, requestId: oracleRequest.requestId, oracleRequest };
}

type Market = Awaited<ReturnType<typeof requested>>;

async function attest(market: Market, host: number, offence: number, signer: Wallet = HOST_SIGNERS[host], over: Partial<{ requestId: string; datasetId: string }> = {}) {
  const digest = await market.court.offenceDigest(await market.sum.getAddress(), over.requestId ?? market.requestId, over.datasetId ?? market.datasetId, offence);
  return { host, offence, signature: await signer.signMessage(ethers.getBytes(digest)) };
}

describe("PenaltyCourt", function () {
  it("two hosts' attestations fail the request with a refund, slash the stake, compensate the buyer, burn the rest and deregister", async function () {
    const market = await loadFixture(requested);
    const { court, registry, sum, buyer, stranger, paymentToken, datasetId, requestId } = market;
    const attestations = [await attest(market, 0, MISSING), await attest(market, 2, MISMATCH)];
    const burnedBefore = await paymentToken.balanceOf(BURN);
    const [slashBps, compensationBps] = await court.terms();
    const slashed = (STAKE * slashBps) / 10_000n;
    const compensation = (slashed * compensationBps) / 10_000n;
    // Anyone may bring the proof: here a stranger.
    const tx = await court.connect(stranger).punish(await sum.getAddress(), requestId, datasetId, attestations);
    await expect(tx).to.emit(court, "Punished").withArgs(await sum.getAddress(), requestId, datasetId, [0, 2], [MISSING, MISMATCH]);
    await expect(tx).to.emit(sum, "ComputationFailed").withArgs(requestId, 7);
    await expect(tx).to.emit(registry, "DatasetPunished").withArgs(datasetId, buyer.address, slashed, compensation);
    await expect(tx).to.emit(registry, "DatasetDeregistered");
    expect((await sum.getRequest(requestId)).status).to.equal(3n);
    expect(await sum.withdrawable(buyer.address)).to.equal(PRICE + OPERATOR_FEE);
    expect(await registry.incomeOf(buyer.address)).to.equal(compensation);
    expect(await paymentToken.balanceOf(BURN)).to.equal(burnedBefore + slashed - compensation);
    const dataset = await registry.getDataset(datasetId);
    expect(dataset.stake).to.equal(STAKE - slashed);
    expect(dataset.active).to.equal(false);
    const [total, spent] = await registry.budgetOf(datasetId);
    expect([total, spent]).to.deep.equal([BUDGET, 0n]);
    expect(await court.isPunished(await sum.getAddress(), requestId, datasetId)).to.equal(true);
    // Sales stopped for good, and the proof cannot be used twice.
    await expect(registry.connect(market.seller).setDatasetActive(datasetId, true)).to.be.revertedWithCustomError(registry, "DatasetRegistry__Deregistered");
    await expect(court.punish(await sum.getAddress(), requestId, datasetId, attestations)).to.be.revertedWithCustomError(court, "PenaltyCourt__AlreadyPunished");
  });

  it("refuses a forged attestation, one host twice, a signature over other facts, and an unknown offence", async function () {
    const market = await loadFixture(requested);
    const { court, sum, datasetId, requestId } = market;
    const consumer = await sum.getAddress();
    const forger = ethers.Wallet.createRandom();
    const good = await attest(market, 1, MISSING);
    const cases: [Awaited<ReturnType<typeof attest>>[], number][] = [
      [[await attest(market, 0, MISSING, forger), good], 0],
      [[good, await attest(market, 2, MISSING, HOST_SIGNERS[0])], 1],
      [[good, good], 1],
      [[good, await attest(market, 0, MISSING, HOST_SIGNERS[0], { requestId: ethers.id("another request") })], 1],
      [[good, await attest(market, 0, MISSING, HOST_SIGNERS[0], { datasetId: ethers.id("another dataset") })], 1],
      [[await attest(market, 0, 3), good], 0],
      [[{ ...good, host: 3 }, good], 0],
      [[good, { ...(await attest(market, 0, MISSING)), offence: MISMATCH }], 1],
    ];
    for (const [attestations, index] of cases) {
      await expect(court.punish(consumer, requestId, datasetId, attestations)).to.be.revertedWithCustomError(court, "PenaltyCourt__BadAttestation").withArgs(index);
    }
    // Nothing happened: the request is pending and the stake whole.
    expect((await sum.getRequest(requestId)).status).to.equal(1n);
    expect((await market.registry.getDataset(datasetId)).stake).to.equal(STAKE);
  });

  it("refuses a fulfilled request, a dataset the request does not read, and a contract that is not the market's", async function () {
    const market = await loadFixture(requested);
    const { court, sum, registry, seller, datasetId, requestId, oracleRequest } = market;
    const consumer = await sum.getAddress();
    const attestations = [await attest(market, 0, MISSING), await attest(market, 1, MISSING)];
    await expect(court.punish(await registry.getAddress(), requestId, datasetId, attestations))
      .to.be.revertedWithCustomError(court, "PenaltyCourt__NotComputation")
      .withArgs(await registry.getAddress());
    // Another dataset of the same seller, valid attestations about it, but the request does not read it.
    await (await registry.connect(seller).registerDataset("other", SCHEMA, 1000n, PRICE, [ethers.id("a"), ethers.id("b"), ethers.id("c")], { allowedAlgorithms: [], minRows: 0n, budget: BUDGET, exactAlgorithms: [] }, STAKE)).wait();
    const other = await registry.datasetId(seller.address, "other");
    const aboutOther = [await attest(market, 0, MISSING, HOST_SIGNERS[0], { datasetId: other }), await attest(market, 1, MISSING, HOST_SIGNERS[1], { datasetId: other })];
    await expect(court.punish(consumer, requestId, other, aboutOther)).to.be.revertedWithCustomError(sum, "AlgorithmComputation__NotInRequest").withArgs(requestId, other);
    // All three hosts signed a result: an accusation after that contradicts them.
    await (await fulfil(market, oracleRequest, await signedPayload(sum, requestId, "0x1234"))).wait();
    await expect(court.punish(consumer, requestId, datasetId, attestations)).to.be.revertedWithCustomError(sum, "AlgorithmComputation__NotPending");
  });

  it("a request already failed or refunded still lets the offence be punished, without a second refund", async function () {
    const market = await loadFixture(requested);
    const { court, sum, registry, buyer, datasetId, requestId, oracleRequest } = market;
    await (await fulfil(market, oracleRequest, "0x")).wait();
    expect(await sum.withdrawable(buyer.address)).to.equal(PRICE + OPERATOR_FEE);
    const tx = await court.punish(await sum.getAddress(), requestId, datasetId, [await attest(market, 1, MISSING), await attest(market, 2, MISSING)]);
    await expect(tx).to.not.emit(sum, "ComputationFailed");
    await expect(tx).to.emit(registry, "DatasetPunished");
    expect(await sum.withdrawable(buyer.address)).to.equal(PRICE + OPERATOR_FEE);
  });

  it("only the court punishes and fails requests; the deployer names it once", async function () {
    const market = await loadFixture(requested);
    const { registry, sum, deployer, stranger, datasetId, requestId } = market;
    await expect(registry.connect(stranger).punish(datasetId, stranger.address, 10_000, 10_000))
      .to.be.revertedWithCustomError(registry, "DatasetRegistry__NotPenaltyCourt")
      .withArgs(stranger.address);
    await expect(sum.connect(stranger).failForOffence(requestId, datasetId))
      .to.be.revertedWithCustomError(sum, "AlgorithmComputation__NotPenaltyCourt")
      .withArgs(stranger.address);
    await expect(registry.connect(deployer).setPenaltyCourt(stranger.address)).to.be.revertedWithCustomError(registry, "DatasetRegistry__PenaltyCourtAlreadySet");
    expect(await registry.penaltyCourt()).to.equal(await market.court.getAddress());
    const named = await registry.queryFilter(registry.filters.PenaltyCourtSet());
    expect(named.map((e) => e.args.court)).to.deep.equal([await market.court.getAddress()]);
    await expect(ethers.deployContract("PenaltyCourt", [await registry.getAddress(), await market.hostRegistry.getAddress(), 10_001, 0])).to.be.revertedWithCustomError(
      market.court,
      "PenaltyCourt__BadShare",
    );
  });
});
