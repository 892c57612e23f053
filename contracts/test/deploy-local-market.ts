import { expect } from "chai";
import {
  ContractsError,
  DEFAULT_LINK_FEE,
  DEFAULT_LINK_FUNDING,
  DEFAULT_MIN_STAKE,
  DEFAULT_OPERATOR_FEE,
  DEFAULT_REQUEST_TIMEOUT,
  DEFAULT_STAKE_COOLDOWN,
  jobIdOf,
  deployLocalMarket,
  applyHostChanges,
  loadArtifact,
  setHosts,
} from "../src/index.ts";
import type { ContractName } from "../src/index.ts";
import { BUYER_FUNDS, HOST_SIGNERS, deployMarket, ethers, networkHelpers } from "./fixtures/market.ts";

const { loadFixture, time } = networkHelpers;

describe("deployLocalMarket", function () {
  it("deploys a wired, funded market and reports where it is", async function () {
    const { addresses, deployer, relay, buyer, operator, linkToken, paymentToken, hostRegistry, factory, registry } =
      await loadFixture(deployMarket);
    expect(addresses.chainId).to.equal(31337);
    expect(Object.keys(addresses.algorithms)).to.deep.equal(["sum@1", "mean@1"]);
    expect(addresses.linkFee).to.equal(DEFAULT_LINK_FEE.toString());
    expect(addresses.operatorFee).to.equal(DEFAULT_OPERATOR_FEE.toString());
    expect(addresses.requestTimeout).to.equal(DEFAULT_REQUEST_TIMEOUT);
    expect(addresses.minStake).to.equal(DEFAULT_MIN_STAKE.toString());
    expect(addresses.stakeCooldown).to.equal(DEFAULT_STAKE_COOLDOWN);
    expect(addresses.deployBlock).to.be.greaterThan(0);
    expect(addresses.deployBlock).to.be.lessThanOrEqual(await ethers.provider.getBlockNumber());
    for (const key of ["paymentToken", "linkToken", "operator", "registry", "hostRegistry", "factory"] as const) {
      expect(await ethers.provider.getCode(addresses[key]), key).to.not.equal("0x");
      // Event scans start at deployBlock: nothing of the market exists before it.
      expect(await ethers.provider.getCode(addresses[key], addresses.deployBlock - 1), key).to.equal("0x");
    }
    for (const [name, address] of Object.entries(addresses.algorithms)) {
      const market = await ethers.getContractAt("AlgorithmComputation", address);
      expect(await market.algorithm()).to.equal(name);
      expect(await market.jobId()).to.equal(jobIdOf(name));
      expect(await market.operatorFee()).to.equal(DEFAULT_OPERATOR_FEE);
      expect(await factory.getAlgorithm(name)).to.equal(address);
      expect(await linkToken.balanceOf(address)).to.equal(DEFAULT_LINK_FUNDING);
    }
    expect([...(await hostRegistry.signers())]).to.deep.equal(HOST_SIGNERS.map((w) => w.address));
    expect(await registry.minStake()).to.equal(DEFAULT_MIN_STAKE);
    expect(await registry.algorithmFactory()).to.equal(addresses.factory);
    for (const address of Object.values(addresses.algorithms)) expect(await registry.isComputation(address)).to.equal(true);

    expect(await operator.isAuthorizedSender(relay.address)).to.equal(true);
    expect(await operator.isAuthorizedSender(deployer.address)).to.equal(false);
    expect(await operator.owner()).to.equal(deployer.address);
    expect(await hostRegistry.owner()).to.equal(deployer.address);
    expect(await factory.owner()).to.equal(deployer.address);
    expect(await linkToken.isMinter(deployer.address)).to.equal(true);
    expect(await paymentToken.balanceOf(buyer.address)).to.equal(BUYER_FUNDS);
    expect(await paymentToken.symbol()).to.equal("mUSD");
    expect(await paymentToken.decimals()).to.equal(18n);
  });

  it("honours custom fees, stakes, timeouts and LINK funding, and leaves hosts unset without `hosts`", async function () {
    await loadFixture(deployMarket);
    const [deployer, relay] = await ethers.getSigners();
    const addresses = await deployLocalMarket({
      deployer,
      relay: relay.address,
      linkFunding: 3n,
      linkFee: 1n,
      minStake: 4n,
      stakeCooldown: 5n,
      operatorFee: 6n,
      requestTimeout: 7,
      algorithms: ["count@1"],
    });
    const link = await ethers.getContractAt("LinkToken", addresses.linkToken);
    expect(await link.balanceOf(addresses.algorithms["count@1"])).to.equal(3n);
    expect(addresses.linkFee).to.equal("1");
    const registry = await ethers.getContractAt("DatasetRegistry", addresses.registry);
    expect(await registry.minStake()).to.equal(4n);
    expect(await registry.stakeCooldown()).to.equal(5n);
    const count = await ethers.getContractAt("AlgorithmComputation", addresses.algorithms["count@1"]);
    expect(await count.operatorFee()).to.equal(6n);
    expect(await count.requestTimeout()).to.equal(7n);
    expect(await count.linkFee()).to.equal(1n);
    const hostRegistry = await ethers.getContractAt("HostRegistry", addresses.hostRegistry);
    expect([...(await hostRegistry.signers())]).to.deep.equal([ethers.ZeroAddress, ethers.ZeroAddress, ethers.ZeroAddress]);
  });

  it("deploys from a private-key wallet, which the node does not hold, as the local stack does", async function () {
    const [funder, relay, buyer] = await ethers.getSigners();
    const wallet = new ethers.Wallet(ethers.id("deployLocalMarket wallet deployer"), ethers.provider);
    await (await funder.sendTransaction({ to: wallet.address, value: ethers.parseEther("10") })).wait();
    const addresses = await deployLocalMarket({
      deployer: wallet,
      relay: relay.address,
      algorithms: ["sum@1", "count@1"],
      fund: [{ address: buyer.address, amount: 42n }],
    });
    const factory = await ethers.getContractAt("AlgorithmFactory", addresses.factory);
    expect(await factory.owner()).to.equal(wallet.address);
    expect([...(await factory.algorithmAt(0))]).to.deep.equal(["sum@1", addresses.algorithms["sum@1"]]);
    expect([...(await factory.algorithmAt(1))]).to.deep.equal(["count@1", addresses.algorithms["count@1"]]);
    const paymentToken = await ethers.getContractAt("DevPaymentToken", addresses.paymentToken);
    expect(await paymentToken.balanceOf(buyer.address)).to.equal(42n);
    expect(await paymentToken.owner()).to.equal(wallet.address);
  });

  it("reports a failed Ignition deployment as DEPLOYMENT_FAILED", async function () {
    const [, relay] = await ethers.getSigners();
    const penniless = new ethers.Wallet(ethers.id("deployLocalMarket penniless deployer"), ethers.provider);
    await expect(deployLocalMarket({ deployer: penniless, relay: relay.address, algorithms: ["sum@1"] }))
      .to.be.rejectedWith(ContractsError)
      .and.eventually.have.property("code", "DEPLOYMENT_FAILED");
  });

  it("rejects a host list that is not three long", async function () {
    const [deployer, relay] = await ethers.getSigners();
    const host = { operator: relay.address, signer: relay.address, endpoint: "x", tlsFingerprint: ethers.ZeroHash };
    await expect(deployLocalMarket({ deployer, relay: relay.address, hosts: [host] }))
      .to.be.rejectedWith(ContractsError)
      .and.eventually.have.property("code", "INVALID_HOSTS");
  });
});

/** A market whose HostRegistry nobody filled in yet (deployLocalMarket without `hosts`). */
async function marketWithoutHosts() {
  const [deployer, relay] = await ethers.getSigners();
  const addresses = await deployLocalMarket({ deployer, relay: relay.address, algorithms: ["sum@1"] });
  const hostRegistry = await ethers.getContractAt("HostRegistry", addresses.hostRegistry);
  return { deployer, addresses, hostRegistry };
}

describe("setHosts and applyHostChanges", function () {
  it("sets all three hosts of an empty registry at once", async function () {
    const { hostRegistry, addresses, deployer } = await loadFixture(marketWithoutHosts);
    const hosts = [0, 1, 2].map((i) => ({
      operator: deployer.address,
      signer: HOST_SIGNERS[2 - i].address,
      endpoint: `h${i}:1`,
      tlsFingerprint: ethers.id(`f${i}`),
    }));
    expect(await setHosts(addresses.hostRegistry, deployer, hosts)).to.deep.equal(["set", "set", "set"]);
    expect([...(await hostRegistry.signers())]).to.deep.equal(hosts.map((h) => h.signer));
    expect((await hostRegistry.getHost(1)).endpoint).to.equal("h1:1");
    // Run again with the same hosts: nothing to do.
    expect(await setHosts(addresses.hostRegistry, deployer, hosts)).to.deep.equal(["unchanged", "unchanged", "unchanged"]);
  });

  it("proposes changes of registered hosts, leaves identical ones alone, and applies them only once due", async function () {
    const { hostRegistry, addresses, deployer, stranger, hosts } = await loadFixture(deployMarket);
    const wanted = hosts.map((host, i) => (i === 0 ? { ...host } : { ...host, endpoint: `moved${i}.example:50051`, signer: HOST_SIGNERS[0].address }));
    const before = [...(await hostRegistry.signers())];
    expect(await setHosts(addresses.hostRegistry, deployer, wanted)).to.deep.equal(["unchanged", "proposed", "proposed"]);
    expect([...(await hostRegistry.signers())]).to.deep.equal(before);
    const [, due1] = await hostRegistry.getPendingHostChange(1);
    const [, due2] = await hostRegistry.getPendingHostChange(2);
    expect(due1).to.be.greaterThan(0n);

    // Not due yet: nothing applied, both reported as waiting (anyone may ask).
    expect(await applyHostChanges(addresses.hostRegistry, stranger)).to.deep.equal({
      applied: [],
      waiting: [
        { index: 1, effectiveAt: Number(due1) },
        { index: 2, effectiveAt: Number(due2) },
      ],
    });
    expect([...(await hostRegistry.signers())]).to.deep.equal(before);

    await time.increaseTo(due2);
    expect(await applyHostChanges(addresses.hostRegistry, stranger)).to.deep.equal({ applied: [1, 2], waiting: [] });
    expect([...(await hostRegistry.signers())]).to.deep.equal([before[0], HOST_SIGNERS[0].address, HOST_SIGNERS[0].address]);
    expect((await hostRegistry.getHost(2)).endpoint).to.equal("moved2.example:50051");
    expect(await setHosts(addresses.hostRegistry, deployer, wanted)).to.deep.equal(["unchanged", "unchanged", "unchanged"]);
    expect(await applyHostChanges(addresses.hostRegistry, stranger)).to.deep.equal({ applied: [], waiting: [] });
  });

  it("wraps a failure (not the owner) in a DEPLOYMENT_FAILED error", async function () {
    const { addresses, stranger, hosts } = await loadFixture(deployMarket);
    const moved = hosts.map((host) => ({ ...host, endpoint: `${host.endpoint}0` }));
    await expect(setHosts(addresses.hostRegistry, stranger, moved))
      .to.be.rejectedWith(ContractsError)
      .and.eventually.have.property("code", "DEPLOYMENT_FAILED");
  });
});

describe("loadArtifact", function () {
  it("returns the ABI and bytecode Hardhat built", async function () {
    const names: ContractName[] = [
      "HostRegistry",
      "DatasetRegistry",
      "AlgorithmComputation",
      "AlgorithmFactory",
      "DevPaymentToken",
      "Operator",
      "LinkToken",
    ];
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
