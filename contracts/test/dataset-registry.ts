import { expect } from "chai";
import { DEFAULT_MIN_STAKE, DEFAULT_STAKE_COOLDOWN, algorithmId } from "../src/index.ts";
import {
  COMMITMENTS,
  DATASET_NAME,
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
    expect(await registry.typeAndVersion()).to.equal("DatasetRegistry 2.1.0");
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
    const sellerIndex = await registry.sellerIndexOf(seller.address);
    expect(sellerIndex).to.be.greaterThan(0n);
    expect([terms.price, terms.rowCount, terms.minRows, terms.sellerIndex, terms.active, terms.allowed]).to.deep.equal([
      PRICE,
      1000n,
      0n,
      sellerIndex,
      true,
      true,
    ]);
    expect(terms.schemaIndex).to.be.greaterThan(0n);
    expect([...(await registry.sellersOf([sellerIndex]))]).to.deep.equal([seller.address]);
  });

  it("records the seller's policy: allowed algorithms and minimum rows", async function () {
    const { registry, seller } = await loadFixture(deployMarket);
    const policy = { allowedAlgorithms: [algorithmId("sum@1"), algorithmId("mean@1")], minRows: 50n };
    const id = await registry.datasetId(seller.address, "with-policy");
    await expect(registry.connect(seller).registerDataset("with-policy", SCHEMA, 100n, PRICE, COMMITMENTS, policy, STAKE))
      .to.emit(registry, "DatasetPolicySet")
      .withArgs(id, policy.allowedAlgorithms, 50n);
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

  it("gives each seller and each schema one index, on first registration", async function () {
    const { registry, seller, stranger } = await loadFixture(deployMarket);
    const otherSchema = JSON.stringify({ columns: [{ name: "other", scale: 0 }] });
    const register = async (who: typeof seller, name: string, schema: string) => {
      await (await registry.connect(who).registerDataset(name, schema, 10n, PRICE, COMMITMENTS, POLICY, STAKE)).wait();
      return registry.getSaleTerms(await registry.datasetId(who.address, name), algorithmId("sum@1"));
    };
    expect(await registry.sellerIndexOf(seller.address)).to.equal(0n);
    const a = await register(seller, "a", SCHEMA);
    const b = await register(seller, "b", otherSchema);
    const c = await register(stranger, "c", SCHEMA);
    expect([a.sellerIndex, b.sellerIndex, c.sellerIndex]).to.deep.equal([1n, 1n, 2n]);
    expect([a.schemaIndex, b.schemaIndex, c.schemaIndex]).to.deep.equal([1n, 2n, 1n]);
    expect(await registry.sellerIndexOf(stranger.address)).to.equal(2n);
    expect([...(await registry.sellersOf([2, 1, 2]))]).to.deep.equal([stranger.address, seller.address, stranger.address]);
    for (const bad of [0, 3]) {
      await expect(registry.sellersOf([1, bad]))
        .to.be.revertedWithCustomError(registry, "DatasetRegistry__UnknownSellerIndex")
        .withArgs(bad);
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
    for (const call of [
      registry.getDataset(unknown),
      registry.getSaleTerms(unknown, algorithmId("sum@1")),
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
