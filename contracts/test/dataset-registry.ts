import { expect } from "chai";
import { algorithmId } from "../src/index.ts";
import {
  COMMITMENTS,
  DATASET_NAME,
  PRICE,
  SCHEMA,
  POLICY,
  SCHEMA_HASH,
  deployMarket,
  deployMarketWithDataset,
  ethers,
  networkHelpers,
} from "./fixtures/market.ts";

const { loadFixture } = networkHelpers;

describe("DatasetRegistry", function () {
  it("registers a dataset under keccak256(seller, name) and returns it", async function () {
    const { registry, seller } = await loadFixture(deployMarket);
    const expectedId = ethers.solidityPackedKeccak256(["address", "string"], [seller.address, DATASET_NAME]);

    await expect(registry.connect(seller).registerDataset(DATASET_NAME, SCHEMA, 1000n, PRICE, COMMITMENTS, POLICY))
      .to.emit(registry, "DatasetRegistered")
      .withArgs(expectedId, seller.address, DATASET_NAME, PRICE, 1000n, SCHEMA);

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
  });

  it("records the seller's policy: allowed algorithms and minimum rows", async function () {
    const { registry, seller } = await loadFixture(deployMarket);
    const policy = { allowedAlgorithms: [algorithmId("sum@1"), algorithmId("mean@1")], minRows: 50n };
    const id = await registry.datasetId(seller.address, "with-policy");
    await expect(registry.connect(seller).registerDataset("with-policy", SCHEMA, 100n, PRICE, COMMITMENTS, policy))
      .to.emit(registry, "DatasetPolicySet")
      .withArgs(id, policy.allowedAlgorithms, 50n);
    expect(await registry.isAlgorithmAllowed(id, algorithmId("sum@1"))).to.equal(true);
    expect(await registry.isAlgorithmAllowed(id, algorithmId("mean@1"))).to.equal(true);
    expect(await registry.isAlgorithmAllowed(id, algorithmId("max@1"))).to.equal(false);
    expect([...(await registry.getAllowedAlgorithms(id))]).to.deep.equal(policy.allowedAlgorithms);
    expect((await registry.getDataset(id)).minRows).to.equal(50n);
  });

  it("rejects a second registration of the same name by the same seller", async function () {
    const { registry, seller, datasetId } = await loadFixture(deployMarketWithDataset);
    await expect(registry.connect(seller).registerDataset(DATASET_NAME, SCHEMA, 1n, 1n, COMMITMENTS, POLICY))
      .to.be.revertedWithCustomError(registry, "DatasetRegistry__AlreadyRegistered")
      .withArgs(datasetId);
  });

  it("lets another seller use the same name under a different id", async function () {
    const { registry, stranger, datasetId } = await loadFixture(deployMarketWithDataset);
    const otherId = await registry.datasetId(stranger.address, DATASET_NAME);
    expect(otherId).to.not.equal(datasetId);
    await expect(registry.connect(stranger).registerDataset(DATASET_NAME, SCHEMA, 5n, 1n, COMMITMENTS, POLICY))
      .to.emit(registry, "DatasetRegistered")
      .withArgs(otherId, stranger.address, DATASET_NAME, 1n, 5n, SCHEMA);
  });

  it("rejects an empty name", async function () {
    const { registry, seller } = await loadFixture(deployMarket);
    await expect(
      registry.connect(seller).registerDataset("", SCHEMA, 1n, PRICE, COMMITMENTS, POLICY),
    ).to.be.revertedWithCustomError(registry, "DatasetRegistry__EmptyName");
  });

  it("rejects a dataset without rows", async function () {
    const { registry, seller } = await loadFixture(deployMarket);
    await expect(
      registry.connect(seller).registerDataset(DATASET_NAME, SCHEMA, 0n, PRICE, COMMITMENTS, POLICY),
    ).to.be.revertedWithCustomError(registry, "DatasetRegistry__NoRows");
  });

  it("reverts on an unknown id", async function () {
    const { registry } = await loadFixture(deployMarket);
    const unknown = ethers.id("nobody/nothing");
    expect(await registry.isRegistered(unknown)).to.equal(false);
    await expect(registry.getDataset(unknown))
      .to.be.revertedWithCustomError(registry, "DatasetRegistry__UnknownDataset")
      .withArgs(unknown);
    await expect(registry.setDatasetActive(unknown, false))
      .to.be.revertedWithCustomError(registry, "DatasetRegistry__UnknownDataset")
      .withArgs(unknown);
  });

  it("lets only the seller pause and resume sales", async function () {
    const { registry, seller, stranger, datasetId } = await loadFixture(deployMarketWithDataset);
    await expect(registry.connect(stranger).setDatasetActive(datasetId, false))
      .to.be.revertedWithCustomError(registry, "DatasetRegistry__NotSeller")
      .withArgs(datasetId, stranger.address);

    await expect(registry.connect(seller).setDatasetActive(datasetId, false))
      .to.emit(registry, "DatasetActivationUpdated")
      .withArgs(datasetId, false);
    expect((await registry.getDataset(datasetId)).active).to.equal(false);

    await expect(registry.connect(seller).setDatasetActive(datasetId, true))
      .to.emit(registry, "DatasetActivationUpdated")
      .withArgs(datasetId, true);
    expect((await registry.getDataset(datasetId)).active).to.equal(true);
  });

  it("reports its type and version", async function () {
    const { registry } = await loadFixture(deployMarket);
    expect(await registry.typeAndVersion()).to.equal("DatasetRegistry 1.0.0");
  });
});
