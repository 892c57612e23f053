import { expect } from "chai";
import type { ContractTransactionResponse, EventLog } from "ethers";
import { algorithmId } from "../src/index.ts";
import {
  BUDGET,
  BUYER_KEY,
  COMMITMENTS,
  EPSILON,
  PARAMS,
  POLICY,
  PRICE,
  QUOTE,
  SCHEMA_HASH,
  STAKE,
  deployMarketWithDataset,
  ethers,
  networkHelpers,
} from "./fixtures/market.ts";

const { loadFixture } = networkHelpers;

// A seller keeps a dataset current by uploading new shares to the hosts and registering
// them as the dataset's next version (`refreshDataset`): rows and commitments change,
// nothing else. No request stores the version it bought: the hosts recover it from the
// first `DatasetRefreshed` logged after the request, whose `previous*` fields name it.

/** The fixture dataset's rows at registration (version 1). */
const ROWS_1 = 1000n;
const ROWS_2 = 1500n;
const ROWS_3 = 800n;
const MAX_ROWS = 2n ** 40n - 1n;

function commitmentsOf(version: number): [string, string, string] {
  return [0, 1, 2].map((host) => ethers.id(`share ${host} of version ${version}`)) as [string, string, string];
}

type Market = Awaited<ReturnType<typeof deployMarketWithDataset>>;

/** Where a log sits on-chain: block, then index in the block. */
interface Position {
  block: number;
  logIndex: number;
}

/** The position of the request's `ComputationRequested`. */
async function requestedAt(market: Market, tx: ContractTransactionResponse): Promise<Position> {
  const receipt = (await tx.wait())!;
  const sum = await market.sum.getAddress();
  const log = receipt.logs.find((l) => l.address === sum && market.sum.interface.parseLog(l)?.name === "ComputationRequested");
  if (log === undefined) throw new Error("no ComputationRequested in the receipt");
  return { block: log.blockNumber, logIndex: log.index };
}

/**
 * The rows and commitments a request at `at` was bought against, found as the hosts find
 * them: the `previous*` fields of the first `DatasetRefreshed` logged after it, else the
 * dataset as it is now.
 */
async function versionBoughtAt(market: Market, at: Position): Promise<{ rowCount: bigint; commitments: string[] }> {
  const { registry, datasetId } = market;
  const logs = (await registry.queryFilter(registry.filters.DatasetRefreshed(datasetId), at.block)) as EventLog[];
  const first = logs
    .filter((log) => log.blockNumber > at.block || log.index > at.logIndex)
    .sort((x, y) => x.blockNumber - y.blockNumber || x.index - y.index)[0];
  if (first !== undefined) return { rowCount: first.args.previousRowCount, commitments: [...first.args.previousCommitments] };
  const current = await registry.getDataset(datasetId);
  return { rowCount: current.rowCount, commitments: [...current.commitments] };
}

describe("DatasetRegistry refresh", function () {
  it("the seller's refresh replaces rows and commitments as the next version, logging the previous ones", async function () {
    const { registry, seller, datasetId } = await loadFixture(deployMarketWithDataset);
    expect(await registry.versionOf(datasetId)).to.equal(1n);

    const second = commitmentsOf(2);
    expect(await registry.connect(seller).refreshDataset.staticCall(datasetId, ROWS_2, second)).to.equal(2n);
    await expect(registry.connect(seller).refreshDataset(datasetId, ROWS_2, second))
      .to.emit(registry, "DatasetRefreshed")
      .withArgs(datasetId, 2n, ROWS_2, second, ROWS_1, COMMITMENTS);
    expect(await registry.versionOf(datasetId)).to.equal(2n);
    let dataset = await registry.getDataset(datasetId);
    expect(dataset.rowCount).to.equal(ROWS_2);
    expect([...dataset.commitments]).to.deep.equal(second);
    expect((await registry.getSaleTerms(datasetId, algorithmId("sum@1"))).rowCount).to.equal(ROWS_2);

    // Fewer rows than before is fine: a refresh is a new version, not an append.
    const third = commitmentsOf(3);
    await expect(registry.connect(seller).refreshDataset(datasetId, ROWS_3, third))
      .to.emit(registry, "DatasetRefreshed")
      .withArgs(datasetId, 3n, ROWS_3, third, ROWS_2, second);
    expect(await registry.versionOf(datasetId)).to.equal(3n);
    dataset = await registry.getDataset(datasetId);
    expect(dataset.rowCount).to.equal(ROWS_3);
    expect([...dataset.commitments]).to.deep.equal(third);
    expect((await registry.getSaleTerms(datasetId, algorithmId("sum@1"))).rowCount).to.equal(ROWS_3);
  });

  it("leaves schema, price, policy, budget, stake, subscription and trial terms as they were", async function () {
    const market = await loadFixture(deployMarketWithDataset);
    const { registry, seller, buyer, sum, datasetId } = market;
    await (await registry.connect(seller).setSubscriptionTerms(datasetId, 86_400n, PRICE, 2n)).wait();
    await (await registry.connect(seller).setTrialTerms(datasetId, 1n, 100n, 5n)).wait();
    // Spend some budget first: the refresh must not give it back (the new rows may be the same people).
    await (await sum.connect(buyer).requestComputation([datasetId], PARAMS, BUYER_KEY, QUOTE, EPSILON)).wait();
    const budget = [...(await registry.budgetOf(datasetId))];
    expect(budget).to.deep.equal([BUDGET, EPSILON, BUDGET - EPSILON]);
    const before = await registry.getDataset(datasetId);
    const termsBefore = await registry.getSaleTerms(datasetId, algorithmId("sum@1"));
    const subscriptionTerms = [...(await registry.subscriptionTermsOf(datasetId))];
    const trialTerms = [...(await registry.trialTermsOf(datasetId))];

    await expect(registry.connect(seller).refreshDataset(datasetId, ROWS_2, commitmentsOf(2))).to.not.emit(registry, "PrivacyBudgetUpdated");

    const after = await registry.getDataset(datasetId);
    expect([after.seller, after.name, after.schemaHash, after.price, after.active, after.minRows, after.stake, after.stakeReleaseTime]).to.deep.equal([
      before.seller,
      before.name,
      SCHEMA_HASH,
      PRICE,
      true,
      POLICY.minRows,
      STAKE,
      0n,
    ]);
    expect([...(await registry.budgetOf(datasetId))]).to.deep.equal(budget);
    const termsAfter = await registry.getSaleTerms(datasetId, algorithmId("sum@1"));
    expect({ ...termsAfter.toObject(), rowCount: 0n }).to.deep.equal({ ...termsBefore.toObject(), rowCount: 0n });
    expect([...(await registry.getAllowedAlgorithms(datasetId))]).to.deep.equal(POLICY.allowedAlgorithms);
    expect([...(await registry.subscriptionTermsOf(datasetId))]).to.deep.equal(subscriptionTerms);
    expect([...(await registry.trialTermsOf(datasetId))]).to.deep.equal(trialTerms);
  });

  it("refreshes a paused dataset, which stays paused", async function () {
    const { registry, seller, datasetId } = await loadFixture(deployMarketWithDataset);
    await (await registry.connect(seller).setDatasetActive(datasetId, false)).wait();
    await expect(registry.connect(seller).refreshDataset(datasetId, ROWS_2, commitmentsOf(2)))
      .to.emit(registry, "DatasetRefreshed")
      .withArgs(datasetId, 2n, ROWS_2, commitmentsOf(2), ROWS_1, COMMITMENTS);
    const dataset = await registry.getDataset(datasetId);
    expect([dataset.active, dataset.rowCount]).to.deep.equal([false, ROWS_2]);
  });

  it("refuses anyone but the seller, a deregistered dataset and an unknown id", async function () {
    const { registry, seller, stranger, datasetId } = await loadFixture(deployMarketWithDataset);
    await expect(registry.connect(stranger).refreshDataset(datasetId, ROWS_2, commitmentsOf(2)))
      .to.be.revertedWithCustomError(registry, "DatasetRegistry__NotSeller")
      .withArgs(datasetId, stranger.address);
    const unknown = ethers.id("nobody/nothing");
    await expect(registry.connect(seller).refreshDataset(unknown, ROWS_2, commitmentsOf(2)))
      .to.be.revertedWithCustomError(registry, "DatasetRegistry__UnknownDataset")
      .withArgs(unknown);
    await (await registry.connect(seller).deregisterDataset(datasetId)).wait();
    await expect(registry.connect(seller).refreshDataset(datasetId, ROWS_2, commitmentsOf(2)))
      .to.be.revertedWithCustomError(registry, "DatasetRegistry__Deregistered")
      .withArgs(datasetId);
    expect(await registry.versionOf(datasetId)).to.equal(1n);
    expect((await registry.getDataset(datasetId)).rowCount).to.equal(ROWS_1);
  });

  it("refuses no rows, more than 2^40 - 1 rows and fewer than the policy's minimum", async function () {
    const { registry, seller, datasetId } = await loadFixture(deployMarketWithDataset);
    const refresh = (rows: bigint) => registry.connect(seller).refreshDataset(datasetId, rows, commitmentsOf(2));
    await expect(refresh(0n)).to.be.revertedWithCustomError(registry, "DatasetRegistry__NoRows");
    await expect(refresh(MAX_ROWS + 1n))
      .to.be.revertedWithCustomError(registry, "DatasetRegistry__TooManyRows")
      .withArgs(MAX_ROWS + 1n, MAX_ROWS);
    await (await registry.connect(seller).setPolicy(datasetId, { ...POLICY, minRows: 500n })).wait();
    await expect(refresh(499n))
      .to.be.revertedWithCustomError(registry, "DatasetRegistry__FewerRowsThanMinimum")
      .withArgs(499n, 500n);
    expect(await registry.versionOf(datasetId)).to.equal(1n);
    // Exactly the minimum, and the most rows there can be, are accepted.
    await expect(refresh(500n)).to.emit(registry, "DatasetRefreshed");
    await expect(refresh(MAX_ROWS)).to.emit(registry, "DatasetRefreshed").withArgs(datasetId, 3n, MAX_ROWS, commitmentsOf(2), 500n, commitmentsOf(2));
    expect((await registry.getSaleTerms(datasetId, algorithmId("sum@1"))).rowCount).to.equal(MAX_ROWS);
  });

  it("versionOf reverts for an unknown id", async function () {
    const { registry } = await loadFixture(deployMarketWithDataset);
    const unknown = ethers.id("nobody/nothing");
    await expect(registry.versionOf(unknown)).to.be.revertedWithCustomError(registry, "DatasetRegistry__UnknownDataset").withArgs(unknown);
  });

  it("a request pins the version it was bought against: the first later refresh logs it as previous", async function () {
    const market = await loadFixture(deployMarketWithDataset);
    const { registry, sum, seller, buyer, paymentToken, datasetId } = market;
    await (await paymentToken.connect(buyer).approve(await sum.getAddress(), 3n * QUOTE)).wait();
    const request = () => sum.connect(buyer).requestComputation([datasetId], PARAMS, BUYER_KEY, QUOTE, EPSILON);

    const first = await requestedAt(market, await request());
    // Nothing refreshed since: the request's version is the current one.
    expect(await versionBoughtAt(market, first)).to.deep.equal({ rowCount: ROWS_1, commitments: COMMITMENTS });
    await (await registry.connect(seller).refreshDataset(datasetId, ROWS_2, commitmentsOf(2))).wait();
    const second = await requestedAt(market, await request());
    await (await registry.connect(seller).refreshDataset(datasetId, ROWS_3, commitmentsOf(3))).wait();
    const third = await requestedAt(market, await request());

    expect(await versionBoughtAt(market, first)).to.deep.equal({ rowCount: ROWS_1, commitments: COMMITMENTS });
    expect(await versionBoughtAt(market, second)).to.deep.equal({ rowCount: ROWS_2, commitments: commitmentsOf(2) });
    expect(await versionBoughtAt(market, third)).to.deep.equal({ rowCount: ROWS_3, commitments: commitmentsOf(3) });
    // The request's stored block is where the search starts.
    const [requestId] = (await sum.queryFilter(sum.filters.ComputationRequested(), first.block, first.block)).map((e) => e.args.requestId);
    expect((await sum.getRequest(requestId)).requestBlock).to.equal(BigInt(first.block));
  });

  it("a refresh mined in the same block as a request, after it, still pins the request's version", async function () {
    const market = await loadFixture(deployMarketWithDataset);
    const { registry, sum, seller, buyer, datasetId } = market;
    const provider = ethers.provider;
    await provider.send("evm_setAutomine", [false]);
    try {
      // The request pays the higher tip, so the block orders it first.
      const fees = await provider.getFeeData();
      const tip = (fees.maxPriorityFeePerGas ?? 1n) + 1n;
      const requestTx = await sum
        .connect(buyer)
        .requestComputation([datasetId], PARAMS, BUYER_KEY, QUOTE, EPSILON, { gasLimit: 1_000_000n, maxPriorityFeePerGas: 2n * tip, maxFeePerGas: fees.maxFeePerGas! + 2n * tip });
      const refreshTx = await registry
        .connect(seller)
        .refreshDataset(datasetId, ROWS_2, commitmentsOf(2), { gasLimit: 200_000n, maxPriorityFeePerGas: tip, maxFeePerGas: fees.maxFeePerGas! + tip });
      await provider.send("evm_mine", []);
      const requested = await requestedAt(market, requestTx);
      const refreshed = (await refreshTx.wait())!;
      expect(refreshed.blockNumber).to.equal(requested.block);
      expect(refreshed.index).to.be.greaterThan((await requestTx.wait())!.index);
      expect(await versionBoughtAt(market, requested)).to.deep.equal({ rowCount: ROWS_1, commitments: COMMITMENTS });
    } finally {
      await provider.send("evm_setAutomine", [true]);
    }
  });
});
