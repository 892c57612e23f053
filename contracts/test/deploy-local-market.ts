import { expect } from "chai";
import {
  ContractsError,
  DEFAULT_LINK_FEE,
  DEFAULT_LINK_FUNDING,
  jobIdOf,
  deployLocalMarket,
  loadArtifact,
} from "../src/index.ts";
import type { ContractName } from "../src/index.ts";
import { BUYER_FUNDS, deployMarket, ethers, networkHelpers } from "./fixtures/market.ts";

const { loadFixture } = networkHelpers;

describe("deployLocalMarket", function () {
  it("deploys a wired, funded market and reports where it is", async function () {
    const { addresses, deployer, relay, buyer, operator, linkToken, paymentToken } = await loadFixture(deployMarket);
    expect(addresses.chainId).to.equal(31337);
    expect(Object.keys(addresses.algorithms)).to.deep.equal(["sum@1", "mean@1"]);
    expect(addresses.linkFee).to.equal(DEFAULT_LINK_FEE.toString());
    expect(addresses.deployBlock).to.be.greaterThan(0);
    expect(addresses.deployBlock).to.be.lessThanOrEqual(await ethers.provider.getBlockNumber());
    for (const key of ["paymentToken", "linkToken", "operator", "registry"] as const) {
      expect(await ethers.provider.getCode(addresses[key]), key).to.not.equal("0x");
    }
    for (const [name, address] of Object.entries(addresses.algorithms)) {
      const market = await ethers.getContractAt("AlgorithmComputation", address);
      expect(await market.algorithm()).to.equal(name);
      expect(await market.jobId()).to.equal(jobIdOf(name));
      expect(await linkToken.balanceOf(address)).to.equal(DEFAULT_LINK_FUNDING);
    }

    expect(await operator.isAuthorizedSender(relay.address)).to.equal(true);
    expect(await operator.isAuthorizedSender(deployer.address)).to.equal(false);
    expect(await operator.owner()).to.equal(deployer.address);
    expect(await linkToken.isMinter(deployer.address)).to.equal(true);
    expect(await paymentToken.balanceOf(buyer.address)).to.equal(BUYER_FUNDS);
    expect(await paymentToken.symbol()).to.equal("mUSD");
    expect(await paymentToken.decimals()).to.equal(18n);
  });

  it("honours a custom LINK funding and fee", async function () {
    await loadFixture(deployMarket);
    const [deployer, relay] = await ethers.getSigners();
    const addresses = await deployLocalMarket({
      deployer,
      relay: relay.address,
      linkFunding: 3n,
      linkFee: 1n,
      algorithms: ["count@1"],
    });
    const link = await ethers.getContractAt("LinkToken", addresses.linkToken);
    expect(await link.balanceOf(addresses.algorithms["count@1"])).to.equal(3n);
    expect(addresses.linkFee).to.equal("1");
  });
});

describe("loadArtifact", function () {
  it("returns the ABI and bytecode Hardhat built", async function () {
    const names: ContractName[] = ["DatasetRegistry", "AlgorithmComputation", "DevPaymentToken", "Operator", "LinkToken"];
    for (const name of names) {
      const artifact = loadArtifact(name);
      const built = await ethers.getContractFactory(name);
      expect(artifact.bytecode, name).to.equal(built.bytecode);
      expect(new ethers.Interface(artifact.abi).format(), name).to.deep.equal(built.interface.format());
    }
  });

  it("throws a ContractsError for an unknown contract", function () {
    expect(() => loadArtifact("Nope" as ContractName))
      .to.throw(ContractsError)
      .with.property("code", "ARTIFACT_NOT_FOUND");
  });
});
