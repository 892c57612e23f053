import { expect } from "chai";
import { DEFAULT_MIN_STAKE, DEFAULT_STAKE_COOLDOWN, algorithmId } from "../src/index.ts";
import {
  BUDGET,
  COMMITMENTS,
  DATASET_NAME,
  EPSILON,
  PARAMS,
  BUYER_KEY,
  QUOTE,
  PRICE,
  SCHEMA,
  POLICY,
  SCHEMA_HASH,
  SELLER_FUNDS,
  STAKE,
  deployMarket,
  deployMarketWithDataset,
  ethers,
  networkHelpers,
} from "./fixtures/market.ts";

const { loadFixture, time } = networkHelpers;
const MAX_PRICE = 2n ** 96n - 1n;

/** The fixture dataset, deregistered; returns the release time of its stake. */
async function deregistered() {
  const market = await deployMarketWithDataset();
  const tx = await market.registry.connect(market.seller).deregisterDataset(market.datasetId);
  const block = await ethers.provider.getBlock((await tx.wait())!.blockNumber);
  const releaseTime = BigInt(block!.timestamp) + BigInt(DEFAULT_STAKE_COOLDOWN);
  return { ...market, tx, releaseTime };
}

describe("DatasetRegistry", function () {
  it("exposes its configuration and version", async function () {
    const { registry, addresses } = await loadFixture(deployMarket);
    expect(await registry.paymentToken()).to.equal(addresses.paymentToken);
    expect(await registry.minStake()).to.equal(DEFAULT_MIN_STAKE);
    expect(await registry.stakeCooldown()).to.equal(BigInt(DEFAULT_STAKE_COOLDOWN));
    expect(await registry.typeAndVersion()).to.equal("DatasetRegistry 3.1.0");
  });

  it("rejects a zero payment token in the constructor", async function () {
    const factory = await ethers.getContractFactory("DatasetRegistry");
    await expect(factory.deploy(ethers.ZeroAddress, 0n, 0n)).to.be.revertedWithCustomError(
      factory,
      "DatasetRegistry__ZeroAddress",
    );
  });

  it("registers a dataset under keccak256(seller, name), locks its stake and returns it", async function () {
    const { registry, seller, paymentToken, addresses } = await loadFixture(deployMarket);
    const expectedId = ethers.solidityPackedKeccak256(["address", "string"], [seller.address, DATASET_NAME]);

    const tx = registry.connect(seller).registerDataset(DATASET_NAME, SCHEMA, 1000n, PRICE, COMMITMENTS, POLICY, STAKE);
    await expect(tx)
      .to.emit(registry, "DatasetRegistered")
      .withArgs(expectedId, seller.address, DATASET_NAME, PRICE, 1000n, SCHEMA);
    await expect(tx)
      .to.emit(registry, "DatasetPolicySet")
      .withArgs(expectedId, POLICY.allowedAlgorithms, POLICY.minRows, BUDGET, []);
    await expect(tx).to.emit(registry, "PrivacyBudgetUpdated").withArgs(expectedId, BUDGET, BUDGET);
    await expect(tx).to.emit(registry, "StakeDeposited").withArgs(expectedId, seller.address, STAKE);
    await expect(tx).to.emit(paymentToken, "Transfer").withArgs(seller.address, addresses.registry, STAKE);
    expect(await paymentToken.balanceOf(seller.address)).to.equal(SELLER_FUNDS - STAKE);
    expect(await paymentToken.balanceOf(addresses.registry)).to.equal(STAKE);

    expect(await registry.datasetId(seller.address, DATASET_NAME)).to.equal(expectedId);
    expect(await registry.isRegistered(expectedId)).to.equal(true);
    const dataset = await registry.getDataset(expectedId);
    expect(dataset.seller).to.equal(seller.address);
    expect(dataset.name).to.equal(DATASET_NAME);
    expect(dataset.schemaHash).to.equal(SCHEMA_HASH);
    expect(dataset.rowCount).to.equal(1000n);
    expect(dataset.price).to.equal(PRICE);
    expect([...dataset.commitments]).to.deep.equal(COMMITMENTS);
    expect(dataset.active).to.equal(true);
    expect(dataset.minRows).to.equal(POLICY.minRows);
    expect(dataset.stake).to.equal(STAKE);
    expect(dataset.stakeReleaseTime).to.equal(0n);

    const terms = await registry.getSaleTerms(expectedId, algorithmId("sum@1"));
    expect([
      terms.price,
      terms.rowCount,
      terms.minRows,
      terms.datasetIndex,
      terms.active,
      terms.allowed,
      terms.exactAllowed,
      terms.budgetRemaining,
    ]).to.deep.equal([PRICE, 1000n, 0n, 1n, true, true, false, BUDGET]);
    expect(terms.schemaIndex).to.be.greaterThan(0n);
    expect(await registry.datasetCount()).to.equal(1n);
    expect(await registry.datasetIdOf(1)).to.equal(expectedId);
    expect([...(await registry.datasetSellers([1]))]).to.deep.equal([seller.address]);
    expect([...(await registry.budgetOf(expectedId))]).to.deep.equal([BUDGET, 0n, BUDGET]);
  });

  it("records the seller's policy: allowed algorithms and minimum rows", async function () {
    const { registry, seller } = await loadFixture(deployMarket);
    const policy = { allowedAlgorithms: [algorithmId("sum@1"), algorithmId("mean@1")], minRows: 50n, budget: 2500n, exactAlgorithms: [] };
    const id = await registry.datasetId(seller.address, "with-policy");
    await expect(registry.connect(seller).registerDataset("with-policy", SCHEMA, 100n, PRICE, COMMITMENTS, policy, STAKE))
      .to.emit(registry, "DatasetPolicySet")
      .withArgs(id, policy.allowedAlgorithms, 50n, 2500n, []);
    expect(await registry.isAlgorithmAllowed(id, algorithmId("sum@1"))).to.equal(true);
    expect(await registry.isAlgorithmAllowed(id, algorithmId("mean@1"))).to.equal(true);
    expect(await registry.isAlgorithmAllowed(id, algorithmId("max@1"))).to.equal(false);
    expect([...(await registry.getAllowedAlgorithms(id))]).to.deep.equal(policy.allowedAlgorithms);
    expect((await registry.getDataset(id)).minRows).to.equal(50n);
    const terms = await registry.getSaleTerms(id, algorithmId("mean@1"));
    expect([terms.minRows, terms.allowed]).to.deep.equal([50n, true]);
    expect((await registry.getSaleTerms(id, algorithmId("max@1"))).allowed).to.equal(false);
  });

  it("accepts a stake above the minimum and the largest price", async function () {
    const { registry, seller } = await loadFixture(deployMarket);
    const id = await registry.datasetId(seller.address, "big");
    await expect(registry.connect(seller).registerDataset("big", SCHEMA, 1n, MAX_PRICE, COMMITMENTS, POLICY, 2n * STAKE))
      .to.emit(registry, "StakeDeposited")
      .withArgs(id, seller.address, 2n * STAKE);
    expect((await registry.getDataset(id)).price).to.equal(MAX_PRICE);
  });

  it("rejects row counts and minimum rows above 2^40 - 1", async function () {
    const { registry, seller } = await loadFixture(deployMarket);
    const max = 2n ** 40n - 1n;
    await expect(registry.connect(seller).registerDataset(DATASET_NAME, SCHEMA, max + 1n, PRICE, COMMITMENTS, POLICY, STAKE))
      .to.be.revertedWithCustomError(registry, "DatasetRegistry__TooManyRows")
      .withArgs(max + 1n, max);
    await expect(
      registry.connect(seller).registerDataset(DATASET_NAME, SCHEMA, 10n, PRICE, COMMITMENTS, { ...POLICY, minRows: max + 1n }, STAKE),
    )
      .to.be.revertedWithCustomError(registry, "DatasetRegistry__TooManyRows")
      .withArgs(max + 1n, max);
    const id = await registry.datasetId(seller.address, DATASET_NAME);
    await (await registry.connect(seller).registerDataset(DATASET_NAME, SCHEMA, max, PRICE, COMMITMENTS, { ...POLICY, minRows: max }, STAKE)).wait();
    const terms = await registry.getSaleTerms(id, algorithmId("sum@1"));
    expect([terms.rowCount, terms.minRows]).to.deep.equal([max, max]);
  });

  it("gives each dataset the next index and each schema one index, on first registration", async function () {
    const { registry, seller, stranger } = await loadFixture(deployMarket);
    const otherSchema = JSON.stringify({ columns: [{ name: "other", scale: 0 }] });
    const register = async (who: typeof seller, name: string, schema: string) => {
      await (await registry.connect(who).registerDataset(name, schema, 10n, PRICE, COMMITMENTS, POLICY, STAKE)).wait();
      return registry.getSaleTerms(await registry.datasetId(who.address, name), algorithmId("sum@1"));
    };
    expect(await registry.datasetCount()).to.equal(0n);
    const a = await register(seller, "a", SCHEMA);
    const b = await register(seller, "b", otherSchema);
    const c = await register(stranger, "c", SCHEMA);
    expect([a.datasetIndex, b.datasetIndex, c.datasetIndex]).to.deep.equal([1n, 2n, 3n]);
    expect([a.schemaIndex, b.schemaIndex, c.schemaIndex]).to.deep.equal([1n, 2n, 1n]);
    expect(await registry.datasetCount()).to.equal(3n);
    expect(await registry.datasetIdOf(3)).to.equal(await registry.datasetId(stranger.address, "c"));
    // A schema index does not depend on whether the algorithm asked about is allowed.
    expect((await registry.getSaleTerms(await registry.datasetId(seller.address, "b"), algorithmId("max@1"))).schemaIndex).to.equal(2n);
    expect([...(await registry.datasetSellers([3, 1, 2]))]).to.deep.equal([stranger.address, seller.address, seller.address]);
    for (const bad of [0, 4]) {
      await expect(registry.datasetSellers([1, bad]))
        .to.be.revertedWithCustomError(registry, "DatasetRegistry__UnknownDatasetIndex")
        .withArgs(bad);
      await expect(registry.datasetIdOf(bad)).to.be.revertedWithCustomError(registry, "DatasetRegistry__UnknownDatasetIndex").withArgs(bad);
    }
  });

  it("rejects a stake below the minimum", async function () {
    const { registry, seller } = await loadFixture(deployMarket);
    await expect(registry.connect(seller).registerDataset(DATASET_NAME, SCHEMA, 1n, PRICE, COMMITMENTS, POLICY, STAKE - 1n))
      .to.be.revertedWithCustomError(registry, "DatasetRegistry__StakeTooLow")
      .withArgs(STAKE - 1n, STAKE);
  });

  it("reverts without an allowance for the stake, registering nothing", async function () {
    const { registry, seller, paymentToken, addresses } = await loadFixture(deployMarket);
    await (await paymentToken.connect(seller).approve(addresses.registry, STAKE - 1n)).wait();
    await expect(
      registry.connect(seller).registerDataset(DATASET_NAME, SCHEMA, 1n, PRICE, COMMITMENTS, POLICY, STAKE),
    ).to.be.revertedWith("ERC20: insufficient allowance");
    expect(await registry.isRegistered(await registry.datasetId(seller.address, DATASET_NAME))).to.equal(false);
  });

  it("rejects a price above 2^96 - 1", async function () {
    const { registry, seller } = await loadFixture(deployMarket);
    await expect(registry.connect(seller).registerDataset(DATASET_NAME, SCHEMA, 1n, MAX_PRICE + 1n, COMMITMENTS, POLICY, STAKE))
      .to.be.revertedWithCustomError(registry, "DatasetRegistry__PriceTooHigh")
      .withArgs(MAX_PRICE + 1n, MAX_PRICE);
  });

  it("rejects a second registration of the same name by the same seller", async function () {
    const { registry, seller, datasetId } = await loadFixture(deployMarketWithDataset);
    await expect(registry.connect(seller).registerDataset(DATASET_NAME, SCHEMA, 1n, 1n, COMMITMENTS, POLICY, STAKE))
      .to.be.revertedWithCustomError(registry, "DatasetRegistry__AlreadyRegistered")
      .withArgs(datasetId);
  });

  it("lets another seller use the same name under a different id", async function () {
    const { registry, stranger, datasetId } = await loadFixture(deployMarketWithDataset);
    const otherId = await registry.datasetId(stranger.address, DATASET_NAME);
    expect(otherId).to.not.equal(datasetId);
    await expect(registry.connect(stranger).registerDataset(DATASET_NAME, SCHEMA, 5n, 1n, COMMITMENTS, POLICY, STAKE))
      .to.emit(registry, "DatasetRegistered")
      .withArgs(otherId, stranger.address, DATASET_NAME, 1n, 5n, SCHEMA);
  });

  it("rejects an empty name", async function () {
    const { registry, seller } = await loadFixture(deployMarket);
    await expect(
      registry.connect(seller).registerDataset("", SCHEMA, 1n, PRICE, COMMITMENTS, POLICY, STAKE),
    ).to.be.revertedWithCustomError(registry, "DatasetRegistry__EmptyName");
  });

  it("rejects a dataset without rows", async function () {
    const { registry, seller } = await loadFixture(deployMarket);
    await expect(
      registry.connect(seller).registerDataset(DATASET_NAME, SCHEMA, 0n, PRICE, COMMITMENTS, POLICY, STAKE),
    ).to.be.revertedWithCustomError(registry, "DatasetRegistry__NoRows");
  });

  it("rejects a dataset with fewer rows than its own minimum and takes no stake; exactly the minimum is listed", async function () {
    const { registry, seller, paymentToken } = await loadFixture(deployMarket);
    const before = await paymentToken.balanceOf(seller.address);
    const strict = { ...POLICY, minRows: 50n };
    await expect(registry.connect(seller).registerDataset(DATASET_NAME, SCHEMA, 49n, PRICE, COMMITMENTS, strict, STAKE))
      .to.be.revertedWithCustomError(registry, "DatasetRegistry__FewerRowsThanMinimum")
      .withArgs(49n, 50n);
    expect(await paymentToken.balanceOf(seller.address)).to.equal(before);
    const id = await registry.datasetId(seller.address, DATASET_NAME);
    expect(await registry.isRegistered(id)).to.equal(false);
    await expect(registry.connect(seller).registerDataset(DATASET_NAME, SCHEMA, 50n, PRICE, COMMITMENTS, strict, STAKE))
      .to.emit(registry, "DatasetRegistered")
      .withArgs(id, seller.address, DATASET_NAME, PRICE, 50n, SCHEMA);
    expect(await paymentToken.balanceOf(seller.address)).to.equal(before - STAKE);
  });

  it("reverts on an unknown id everywhere", async function () {
    const { registry } = await loadFixture(deployMarket);
    const unknown = ethers.id("nobody/nothing");
    expect(await registry.isRegistered(unknown)).to.equal(false);
    expect(await registry.isAlgorithmAllowed(unknown, algorithmId("sum@1"))).to.equal(false);
    expect(await registry.isExactAllowed(unknown, algorithmId("sum@1"))).to.equal(false);
    for (const call of [
      registry.getDataset(unknown),
      registry.getSaleTerms(unknown, algorithmId("sum@1")),
      registry.budgetOf(unknown),
      registry.setPolicy(unknown, POLICY),
      registry.setDatasetActive(unknown, false),
      registry.setPrice(unknown, 1n),
      registry.deregisterDataset(unknown),
      registry.withdrawStake(unknown),
    ]) {
      await expect(call).to.be.revertedWithCustomError(registry, "DatasetRegistry__UnknownDataset").withArgs(unknown);
    }
  });

  it("lets only the seller change a dataset or withdraw its stake", async function () {
    const { registry, stranger, datasetId } = await loadFixture(deployMarketWithDataset);
    for (const call of [
      registry.connect(stranger).setPolicy(datasetId, POLICY),
      registry.connect(stranger).setDatasetActive(datasetId, false),
      registry.connect(stranger).setPrice(datasetId, 1n),
      registry.connect(stranger).deregisterDataset(datasetId),
      registry.connect(stranger).withdrawStake(datasetId),
    ]) {
      await expect(call)
        .to.be.revertedWithCustomError(registry, "DatasetRegistry__NotSeller")
        .withArgs(datasetId, stranger.address);
    }
  });

  it("lets the seller pause and resume sales", async function () {
    const { registry, seller, datasetId } = await loadFixture(deployMarketWithDataset);
    await expect(registry.connect(seller).setDatasetActive(datasetId, false))
      .to.emit(registry, "DatasetActivationUpdated")
      .withArgs(datasetId, false);
    expect((await registry.getDataset(datasetId)).active).to.equal(false);
    expect((await registry.getSaleTerms(datasetId, algorithmId("sum@1"))).active).to.equal(false);

    await expect(registry.connect(seller).setDatasetActive(datasetId, true))
      .to.emit(registry, "DatasetActivationUpdated")
      .withArgs(datasetId, true);
    expect((await registry.getDataset(datasetId)).active).to.equal(true);
  });

  it("lets the seller change the price, within 96 bits", async function () {
    const { registry, seller, datasetId } = await loadFixture(deployMarketWithDataset);
    await expect(registry.connect(seller).setPrice(datasetId, 7n)).to.emit(registry, "DatasetPriceUpdated").withArgs(datasetId, 7n);
    expect((await registry.getDataset(datasetId)).price).to.equal(7n);
    expect((await registry.getSaleTerms(datasetId, algorithmId("sum@1"))).price).to.equal(7n);
    await expect(registry.connect(seller).setPrice(datasetId, MAX_PRICE + 1n))
      .to.be.revertedWithCustomError(registry, "DatasetRegistry__PriceTooHigh")
      .withArgs(MAX_PRICE + 1n, MAX_PRICE);
  });

  describe("privacy budget and exact answers in the policy", function () {
    const SUM = algorithmId("sum@1");
    const MEAN = algorithmId("mean@1");
    const MAX = algorithmId("max@1");

    it("records the total budget and the exact algorithms at registration", async function () {
      const { registry, seller } = await loadFixture(deployMarket);
      const policy = { allowedAlgorithms: [SUM, MEAN], minRows: 0n, budget: 4_294_967_295n, exactAlgorithms: [MEAN] };
      const id = await registry.datasetId(seller.address, "open-data");
      const tx = registry.connect(seller).registerDataset("open-data", SCHEMA, 10n, PRICE, COMMITMENTS, policy, STAKE);
      await expect(tx).to.emit(registry, "DatasetPolicySet").withArgs(id, [SUM, MEAN], 0n, policy.budget, [MEAN]);
      await expect(tx).to.emit(registry, "PrivacyBudgetUpdated").withArgs(id, policy.budget, policy.budget);
      expect([...(await registry.budgetOf(id))]).to.deep.equal([policy.budget, 0n, policy.budget]);
      expect([...(await registry.getExactAlgorithms(id))]).to.deep.equal([MEAN]);
      expect([await registry.isExactAllowed(id, MEAN), await registry.isExactAllowed(id, SUM)]).to.deep.equal([true, false]);
      const mean = await registry.getSaleTerms(id, MEAN);
      const sum = await registry.getSaleTerms(id, SUM);
      const max = await registry.getSaleTerms(id, MAX);
      expect([mean.allowed, mean.exactAllowed, mean.budgetRemaining]).to.deep.equal([true, true, policy.budget]);
      expect([sum.allowed, sum.exactAllowed]).to.deep.equal([true, false]);
      expect([max.allowed, max.exactAllowed]).to.deep.equal([false, false]);
    });

    it("accepts a zero budget: exact answers only, where allowed", async function () {
      const { registry, seller } = await loadFixture(deployMarket);
      const id = await registry.datasetId(seller.address, "exact-only");
      await (
        await registry
          .connect(seller)
          .registerDataset("exact-only", SCHEMA, 10n, PRICE, COMMITMENTS, { ...POLICY, budget: 0n, exactAlgorithms: [SUM] }, STAKE)
      ).wait();
      expect([...(await registry.budgetOf(id))]).to.deep.equal([0n, 0n, 0n]);
      expect(await registry.isExactAllowed(id, SUM)).to.equal(true);
      expect((await registry.getSaleTerms(id, SUM)).budgetRemaining).to.equal(0n);
    });

    it("refuses an exact algorithm the policy does not allow, at registration and in setPolicy", async function () {
      const { registry, seller, datasetId } = await loadFixture(deployMarketWithDataset);
      const bad = { ...POLICY, allowedAlgorithms: [SUM], exactAlgorithms: [SUM, MEAN] };
      await expect(registry.connect(seller).registerDataset("bad", SCHEMA, 10n, PRICE, COMMITMENTS, bad, STAKE))
        .to.be.revertedWithCustomError(registry, "DatasetRegistry__ExactAlgorithmNotAllowed")
        .withArgs(MEAN);
      await expect(registry.connect(seller).setPolicy(datasetId, bad))
        .to.be.revertedWithCustomError(registry, "DatasetRegistry__ExactAlgorithmNotAllowed")
        .withArgs(MEAN);
      expect(await registry.isExactAllowed(datasetId, SUM)).to.equal(false);
    });
  });

  describe("setPolicy", function () {
    it("replaces the allowed and exact algorithms, the minimum rows and the budget, with events", async function () {
      const { registry, seller, datasetId } = await loadFixture(deployMarketWithDataset);
      const policy = { allowedAlgorithms: [algorithmId("mean@1"), algorithmId("max@1")], minRows: 1000n, budget: 3000n, exactAlgorithms: [algorithmId("max@1")] };
      const tx = registry.connect(seller).setPolicy(datasetId, policy);
      await expect(tx)
        .to.emit(registry, "DatasetPolicySet")
        .withArgs(datasetId, policy.allowedAlgorithms, 1000n, 3000n, policy.exactAlgorithms);
      await expect(tx).to.emit(registry, "PrivacyBudgetUpdated").withArgs(datasetId, 3000n, 3000n);
      expect(await registry.isAlgorithmAllowed(datasetId, algorithmId("sum@1"))).to.equal(false);
      expect(await registry.isAlgorithmAllowed(datasetId, algorithmId("mean@1"))).to.equal(true);
      expect(await registry.isExactAllowed(datasetId, algorithmId("mean@1"))).to.equal(false);
      expect(await registry.isExactAllowed(datasetId, algorithmId("max@1"))).to.equal(true);
      expect([...(await registry.getAllowedAlgorithms(datasetId))]).to.deep.equal(policy.allowedAlgorithms);
      expect([...(await registry.getExactAlgorithms(datasetId))]).to.deep.equal(policy.exactAlgorithms);
      expect((await registry.getDataset(datasetId)).minRows).to.equal(1000n);
      const terms = await registry.getSaleTerms(datasetId, algorithmId("max@1"));
      expect([terms.minRows, terms.allowed, terms.exactAllowed, terms.budgetRemaining]).to.deep.equal([1000n, true, true, 3000n]);
      expect((await registry.getSaleTerms(datasetId, algorithmId("sum@1"))).allowed).to.equal(false);
      expect([...(await registry.budgetOf(datasetId))]).to.deep.equal([3000n, 0n, 3000n]);
    });

    it("works on a paused dataset, not on a deregistered one", async function () {
      const { registry, seller, datasetId } = await loadFixture(deployMarketWithDataset);
      await (await registry.connect(seller).setDatasetActive(datasetId, false)).wait();
      await expect(registry.connect(seller).setPolicy(datasetId, { ...POLICY, budget: 1n }))
        .to.emit(registry, "PrivacyBudgetUpdated")
        .withArgs(datasetId, 1n, 1n);
      expect((await registry.getDataset(datasetId)).active).to.equal(false);
    });

    it("keeps the minimum within the dataset's rows and 40 bits", async function () {
      const { registry, seller, datasetId } = await loadFixture(deployMarketWithDataset);
      await expect(registry.connect(seller).setPolicy(datasetId, { ...POLICY, minRows: 1001n }))
        .to.be.revertedWithCustomError(registry, "DatasetRegistry__FewerRowsThanMinimum")
        .withArgs(1000n, 1001n);
      await expect(registry.connect(seller).setPolicy(datasetId, { ...POLICY, minRows: 2n ** 40n }))
        .to.be.revertedWithCustomError(registry, "DatasetRegistry__TooManyRows")
        .withArgs(2n ** 40n, 2n ** 40n - 1n);
      await expect(registry.connect(seller).setPolicy(datasetId, { ...POLICY, minRows: 1000n })).to.emit(registry, "DatasetPolicySet");
      expect((await registry.getDataset(datasetId)).minRows).to.equal(1000n);
    });

    it("refuses a total below what requests spent; what is left is the new total minus that", async function () {
      const { registry, seller, buyer, sum, datasetId } = await loadFixture(deployMarketWithDataset);
      await (await sum.connect(buyer).requestComputation([datasetId], PARAMS, BUYER_KEY, QUOTE, EPSILON)).wait();
      expect([...(await registry.budgetOf(datasetId))]).to.deep.equal([BUDGET, EPSILON, BUDGET - EPSILON]);

      await expect(registry.connect(seller).setPolicy(datasetId, { ...POLICY, budget: EPSILON - 1n }))
        .to.be.revertedWithCustomError(registry, "DatasetRegistry__BudgetBelowSpent")
        .withArgs(EPSILON - 1n, EPSILON);
      await expect(registry.connect(seller).setPolicy(datasetId, { ...POLICY, budget: EPSILON }))
        .to.emit(registry, "PrivacyBudgetUpdated")
        .withArgs(datasetId, EPSILON, 0n);
      expect([...(await registry.budgetOf(datasetId))]).to.deep.equal([EPSILON, EPSILON, 0n]);
      await expect(registry.connect(seller).setPolicy(datasetId, { ...POLICY, budget: 5n * EPSILON }))
        .to.emit(registry, "PrivacyBudgetUpdated")
        .withArgs(datasetId, 5n * EPSILON, 4n * EPSILON);
      expect([...(await registry.budgetOf(datasetId))]).to.deep.equal([5n * EPSILON, EPSILON, 4n * EPSILON]);
    });
  });

  describe("who may spend and give back budget", function () {
    it("names the factory once, by the deployer; the factory authorizes each computation it creates", async function () {
      const { registry, factory, deployer, stranger, addresses } = await loadFixture(deployMarket);
      expect(await registry.algorithmFactory()).to.equal(addresses.factory);
      for (const computation of Object.values(addresses.algorithms)) expect(await registry.isComputation(computation)).to.equal(true);
      expect(await registry.isComputation(stranger.address)).to.equal(false);
      await expect(registry.connect(deployer).setAlgorithmFactory(stranger.address))
        .to.be.revertedWithCustomError(registry, "DatasetRegistry__FactoryAlreadySet")
        .withArgs(addresses.factory);
      await expect(registry.connect(stranger).authorizeComputation(stranger.address))
        .to.be.revertedWithCustomError(registry, "DatasetRegistry__NotFactory")
        .withArgs(stranger.address);
      const created = await factory.createAlgorithm.staticCall("max@1", ethers.ZeroHash, 0n);
      await expect(factory.createAlgorithm("max@1", ethers.ZeroHash, 0n)).to.emit(registry, "ComputationAuthorized").withArgs(created);
      expect(await registry.isComputation(created)).to.equal(true);
    });

    it("lets only its deployer name a factory, not the zero address", async function () {
      const { paymentToken, stranger } = await loadFixture(deployMarket);
      const [deployer] = await ethers.getSigners();
      const fresh = await ethers.deployContract("DatasetRegistry", [await paymentToken.getAddress(), 0n, 0n]);
      expect(await fresh.algorithmFactory()).to.equal(ethers.ZeroAddress);
      await expect(fresh.connect(stranger).authorizeComputation(stranger.address))
        .to.be.revertedWithCustomError(fresh, "DatasetRegistry__NotFactory")
        .withArgs(stranger.address);
      await expect(fresh.connect(stranger).setAlgorithmFactory(stranger.address))
        .to.be.revertedWithCustomError(fresh, "DatasetRegistry__NotDeployer")
        .withArgs(stranger.address);
      await expect(fresh.connect(deployer).setAlgorithmFactory(ethers.ZeroAddress)).to.be.revertedWithCustomError(
        fresh,
        "DatasetRegistry__ZeroAddress",
      );
      await expect(fresh.connect(deployer).setAlgorithmFactory(stranger.address)).to.emit(fresh, "AlgorithmFactorySet").withArgs(stranger.address);
      await expect(fresh.connect(stranger).authorizeComputation(deployer.address))
        .to.emit(fresh, "ComputationAuthorized")
        .withArgs(deployer.address);
    });

    it("refuses spendBudget and restoreBudget from any other account", async function () {
      const { registry, stranger, seller, datasetId } = await loadFixture(deployMarketWithDataset);
      for (const who of [stranger, seller]) {
        await expect(registry.connect(who).spendBudget([datasetId], algorithmId("sum@1"), EPSILON, who.address, false))
          .to.be.revertedWithCustomError(registry, "DatasetRegistry__NotComputation")
          .withArgs(who.address);
        await expect(registry.connect(who).restoreBudget([1], EPSILON))
          .to.be.revertedWithCustomError(registry, "DatasetRegistry__NotComputation")
          .withArgs(who.address);
      }
      expect([...(await registry.budgetOf(datasetId))]).to.deep.equal([BUDGET, 0n, BUDGET]);
    });
  });

  describe("payouts to helpers", function () {
    it("lets the seller name payees of a dataset's revenue, replace them and clear them", async function () {
      const { registry, seller, buyer, stranger, datasetId } = await loadFixture(deployMarketWithDataset);
      expect(await registry.MAX_PAYEES()).to.equal(8n);
      expect(await registry.BPS_WHOLE()).to.equal(10_000n);
      const [payees, shares] = await registry.payoutsOf(datasetId);
      expect([...payees, ...shares]).to.deep.equal([]);
      const [[alone], [whole]] = await registry.datasetPayouts([1]);
      expect([[...alone], [...whole]]).to.deep.equal([[seller.address], [10_000n]]);

      await expect(registry.connect(seller).setPayouts(datasetId, [buyer.address, stranger.address], [1000, 2500]))
        .to.emit(registry, "DatasetPayoutsSet")
        .withArgs(datasetId, [buyer.address, stranger.address], [1000, 2500]);
      const [accounts, bps] = await registry.datasetPayouts([1]);
      expect([...accounts[0]]).to.deep.equal([seller.address, buyer.address, stranger.address]);
      expect([...bps[0]]).to.deep.equal([6500n, 1000n, 2500n]);

      // Replaced, not appended; the whole may go to payees.
      await (await registry.connect(seller).setPayouts(datasetId, [stranger.address], [10_000])).wait();
      const [replaced, replacedShares] = await registry.payoutsOf(datasetId);
      expect([...replaced, ...replacedShares]).to.deep.equal([stranger.address, 10_000n]);
      expect([...(await registry.datasetPayouts([1]))[1][0]]).to.deep.equal([0n, 10_000n]);

      // Cleared: the seller keeps everything again.
      await (await registry.connect(seller).setPayouts(datasetId, [], [])).wait();
      expect([...(await registry.datasetPayouts([1]))[0][0]]).to.deep.equal([seller.address]);
    });

    it("refuses payouts from anyone but the seller, and malformed lists with the offending index", async function () {
      const { registry, seller, buyer, stranger, datasetId } = await loadFixture(deployMarketWithDataset);
      await expect(registry.connect(stranger).setPayouts(datasetId, [buyer.address], [100]))
        .to.be.revertedWithCustomError(registry, "DatasetRegistry__NotSeller")
        .withArgs(datasetId, stranger.address);
      await expect(registry.connect(seller).setPayouts(ethers.id("nobody's"), [], [])).to.be.revertedWithCustomError(registry, "DatasetRegistry__UnknownDataset");
      const bad = async (accounts: string[], shares: number[], index: number) =>
        expect(registry.connect(seller).setPayouts(datasetId, accounts, shares)).to.be.revertedWithCustomError(registry, "DatasetRegistry__BadPayouts").withArgs(index);
      await bad([buyer.address], [], 1);
      await bad([ethers.ZeroAddress], [100], 0);
      await bad([buyer.address, seller.address], [100, 100], 1);
      await bad([buyer.address, stranger.address, buyer.address], [100, 100, 100], 2);
      await bad([buyer.address, stranger.address], [100, 0], 1);
      await bad([buyer.address, stranger.address], [9000, 1001], 1);
      const nine = Array.from({ length: 9 }, (_, i) => ethers.getAddress(`0x${(i + 1).toString(16).padStart(40, "0")}`));
      await bad(nine, Array(9).fill(100), 9);
      // Eight is the most.
      await expect(registry.connect(seller).setPayouts(datasetId, nine.slice(0, 8), Array(8).fill(1250))).to.emit(registry, "DatasetPayoutsSet");
    });

    it("still lets the seller change payouts after deregistration, for requests in flight", async function () {
      const { registry, seller, buyer, datasetId } = await deregistered();
      await expect(registry.connect(seller).setPayouts(datasetId, [buyer.address], [500])).to.emit(registry, "DatasetPayoutsSet");
    });
  });

  describe("deregistration and stake", function () {
    it("deregisters for good: inactive, release time set, no more changes", async function () {
      const { registry, seller, datasetId, tx, releaseTime } = await loadFixture(deregistered);
      await expect(tx).to.emit(registry, "DatasetDeregistered").withArgs(datasetId, releaseTime);
      const dataset = await registry.getDataset(datasetId);
      expect(dataset.active).to.equal(false);
      expect(dataset.stakeReleaseTime).to.equal(releaseTime);
      expect(dataset.stake).to.equal(STAKE);
      expect(await registry.isRegistered(datasetId)).to.equal(true);
      for (const call of [
        registry.connect(seller).setPolicy(datasetId, POLICY),
        registry.connect(seller).setDatasetActive(datasetId, true),
        registry.connect(seller).setPrice(datasetId, 1n),
        registry.connect(seller).deregisterDataset(datasetId),
      ]) {
        await expect(call).to.be.revertedWithCustomError(registry, "DatasetRegistry__Deregistered").withArgs(datasetId);
      }
      // The name stays taken: the id is permanent.
      await expect(registry.connect(seller).registerDataset(DATASET_NAME, SCHEMA, 1n, 1n, COMMITMENTS, POLICY, STAKE))
        .to.be.revertedWithCustomError(registry, "DatasetRegistry__AlreadyRegistered")
        .withArgs(datasetId);
    });

    it("keeps the stake locked while the dataset is listed", async function () {
      const { registry, seller, datasetId } = await loadFixture(deployMarketWithDataset);
      await expect(registry.connect(seller).withdrawStake(datasetId))
        .to.be.revertedWithCustomError(registry, "DatasetRegistry__NotDeregistered")
        .withArgs(datasetId);
    });

    it("keeps the stake locked until the cooldown is over, then pays it back once", async function () {
      const { registry, seller, paymentToken, datasetId, releaseTime, addresses } = await loadFixture(deregistered);
      await time.setNextBlockTimestamp(releaseTime - 1n);
      await expect(registry.connect(seller).withdrawStake(datasetId))
        .to.be.revertedWithCustomError(registry, "DatasetRegistry__StakeLocked")
        .withArgs(datasetId, releaseTime);

      await time.setNextBlockTimestamp(releaseTime);
      const tx = registry.connect(seller).withdrawStake(datasetId);
      await expect(tx).to.emit(registry, "StakeWithdrawn").withArgs(datasetId, seller.address, STAKE);
      await expect(tx).to.emit(paymentToken, "Transfer").withArgs(addresses.registry, seller.address, STAKE);
      expect(await paymentToken.balanceOf(seller.address)).to.equal(SELLER_FUNDS);
      expect((await registry.getDataset(datasetId)).stake).to.equal(0n);

      await expect(registry.connect(seller).withdrawStake(datasetId))
        .to.be.revertedWithCustomError(registry, "DatasetRegistry__NoStake")
        .withArgs(datasetId);
    });

    it("reports NoStake for a dataset registered without a stake", async function () {
      const { paymentToken, seller } = await loadFixture(deployMarket);
      const free = await ethers.deployContract("DatasetRegistry", [await paymentToken.getAddress(), 0n, 0n]);
      await (await free.connect(seller).registerDataset("free", SCHEMA, 1n, 0n, COMMITMENTS, POLICY, 0n)).wait();
      const id = await free.datasetId(seller.address, "free");
      await (await free.connect(seller).deregisterDataset(id)).wait();
      await expect(free.connect(seller).withdrawStake(id)).to.be.revertedWithCustomError(free, "DatasetRegistry__NoStake").withArgs(id);
    });
  });
});
