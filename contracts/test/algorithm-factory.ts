import { expect } from "chai";
import { DEFAULT_LINK_FEE, DEFAULT_REQUEST_TIMEOUT, jobIdOf } from "../src/index.ts";
import { FIXTURE_ALGORITHMS, OPERATOR_FEE, deployMarket, ethers, networkHelpers } from "./fixtures/market.ts";

const { loadFixture } = networkHelpers;

describe("AlgorithmFactory", function () {
  it("exposes its wiring, owner and version", async function () {
    const { factory, addresses, deployer } = await loadFixture(deployMarket);
    expect(await factory.owner()).to.equal(deployer.address);
    expect(await factory.linkToken()).to.equal(addresses.linkToken);
    expect(await factory.operator()).to.equal(addresses.operator);
    expect(await factory.paymentToken()).to.equal(addresses.paymentToken);
    expect(await factory.registry()).to.equal(addresses.registry);
    expect(await factory.hostRegistry()).to.equal(addresses.hostRegistry);
    expect(await factory.linkFee()).to.equal(DEFAULT_LINK_FEE);
    expect(await factory.requestTimeout()).to.equal(BigInt(DEFAULT_REQUEST_TIMEOUT));
    expect(await factory.typeAndVersion()).to.equal("AlgorithmFactory 2.0.0");
  });

  it("lists the algorithms deployLocalMarket created, in order", async function () {
    const { factory, addresses } = await loadFixture(deployMarket);
    expect(await factory.algorithmCount()).to.equal(BigInt(FIXTURE_ALGORITHMS.length));
    for (const [i, name] of FIXTURE_ALGORITHMS.entries()) {
      const [listed, computation] = await factory.algorithmAt(i);
      expect(listed).to.equal(name);
      expect(computation).to.equal(addresses.algorithms[name]);
      expect(await factory.getAlgorithm(name)).to.equal(addresses.algorithms[name]);
    }
    expect(await factory.getAlgorithm("nope@1")).to.equal(ethers.ZeroAddress);
    await expect(factory.algorithmAt(2))
      .to.be.revertedWithCustomError(factory, "AlgorithmFactory__IndexOutOfBounds")
      .withArgs(2n, 2n);
  });

  it("creates a wired computation, authorizes it in the registry and emits AlgorithmCreated", async function () {
    const { factory, registry, addresses } = await loadFixture(deployMarket);
    const jobId = jobIdOf("max@1");
    const computation = await factory.createAlgorithm.staticCall("max@1", jobId, 5n);
    expect(await registry.isComputation(computation)).to.equal(false);
    const tx = factory.createAlgorithm("max@1", jobId, 5n);
    await expect(tx).to.emit(factory, "AlgorithmCreated").withArgs(ethers.id("max@1"), "max@1", computation, jobId, 5n);
    await expect(tx).to.emit(registry, "ComputationAuthorized").withArgs(computation);
    expect(await registry.isComputation(computation)).to.equal(true);
    expect(await factory.getAlgorithm("max@1")).to.equal(computation);
    expect(await factory.algorithmCount()).to.equal(3n);
    const max = await ethers.getContractAt("AlgorithmComputation", computation);
    expect(await max.algorithm()).to.equal("max@1");
    expect(await max.jobId()).to.equal(jobId);
    expect(await max.operatorFee()).to.equal(5n);
    expect(await max.linkToken()).to.equal(addresses.linkToken);
    expect(await max.operator()).to.equal(addresses.operator);
    expect(await max.paymentToken()).to.equal(addresses.paymentToken);
    expect(await max.registry()).to.equal(addresses.registry);
    expect(await max.hostRegistry()).to.equal(addresses.hostRegistry);
    expect(await max.linkFee()).to.equal(DEFAULT_LINK_FEE);
    expect(await max.requestTimeout()).to.equal(BigInt(DEFAULT_REQUEST_TIMEOUT));
  });

  it("rejects a second algorithm of the same name", async function () {
    const { factory } = await loadFixture(deployMarket);
    await expect(factory.createAlgorithm("sum@1", jobIdOf("sum@1"), OPERATOR_FEE))
      .to.be.revertedWithCustomError(factory, "AlgorithmFactory__AlreadyExists")
      .withArgs("sum@1");
  });

  it("passes on the computation's own errors", async function () {
    const { factory, sum, addresses } = await loadFixture(deployMarket);
    await expect(factory.createAlgorithm("", jobIdOf(""), 0n)).to.be.revertedWithCustomError(sum, "AlgorithmComputation__EmptyAlgorithm");
    const zeroTimeout = await ethers.deployContract("AlgorithmFactory", [
      addresses.linkToken,
      addresses.operator,
      addresses.paymentToken,
      addresses.registry,
      addresses.hostRegistry,
      DEFAULT_LINK_FEE,
      0n,
    ]);
    await expect(zeroTimeout.createAlgorithm("sum@1", jobIdOf("sum@1"), 0n)).to.be.revertedWithCustomError(
      sum,
      "AlgorithmComputation__ZeroTimeout",
    );
  });

  it("lets only the owner create algorithms", async function () {
    const { factory, stranger } = await loadFixture(deployMarket);
    await expect(factory.connect(stranger).createAlgorithm("max@1", jobIdOf("max@1"), 0n)).to.be.revertedWith(
      "Only callable by owner",
    );
  });

  it("rejects a zero address in the constructor", async function () {
    const { addresses } = await loadFixture(deployMarket);
    const contractFactory = await ethers.getContractFactory("AlgorithmFactory");
    const args: unknown[] = [
      addresses.linkToken,
      addresses.operator,
      addresses.paymentToken,
      addresses.registry,
      addresses.hostRegistry,
      DEFAULT_LINK_FEE,
      3600n,
    ];
    for (let i = 0; i < 5; i++) {
      const bad = [...args];
      bad[i] = ethers.ZeroAddress;
      await expect(contractFactory.deploy(...bad)).to.be.revertedWithCustomError(contractFactory, "AlgorithmFactory__ZeroAddress");
    }
  });
});
