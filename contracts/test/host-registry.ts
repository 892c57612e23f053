import { expect } from "chai";
import { ENDPOINTS, FINGERPRINTS, HOST_SIGNERS, deployMarket, ethers, networkHelpers } from "./fixtures/market.ts";

const { loadFixture } = networkHelpers;

async function emptyRegistry() {
  const [owner, stranger, a, b] = await ethers.getSigners();
  const hostRegistry = await ethers.deployContract("HostRegistry");
  const host = { operator: a.address, signer: b.address, endpoint: "host.example:50051", tlsFingerprint: ethers.id("cert") };
  return { hostRegistry, owner, stranger, host };
}

describe("HostRegistry", function () {
  it("lists the hosts deployLocalMarket registered, in host order", async function () {
    const { hostRegistry, hostOperators, deployer } = await loadFixture(deployMarket);
    expect(await hostRegistry.owner()).to.equal(deployer.address);
    expect(await hostRegistry.HOST_COUNT()).to.equal(3n);
    expect([...(await hostRegistry.signers())]).to.deep.equal(HOST_SIGNERS.map((w) => w.address));
    expect([...(await hostRegistry.operators())]).to.deep.equal(hostOperators.map((s) => s.address));
    const hosts = await hostRegistry.getHosts();
    for (let i = 0; i < 3; i++) {
      const host = await hostRegistry.getHost(i);
      expect(host.operator).to.equal(hostOperators[i].address);
      expect(host.signer).to.equal(HOST_SIGNERS[i].address);
      expect(host.endpoint).to.equal(ENDPOINTS[i]);
      expect(host.tlsFingerprint).to.equal(FINGERPRINTS[i]);
      expect(hosts[i].endpoint).to.equal(ENDPOINTS[i]);
    }
    expect(await hostRegistry.typeAndVersion()).to.equal("HostRegistry 1.0.0");
  });

  it("sets a host and emits HostUpdated; replacing it overwrites every field", async function () {
    const { hostRegistry, host, owner } = await loadFixture(emptyRegistry);
    expect((await hostRegistry.getHost(2)).signer).to.equal(ethers.ZeroAddress);
    await expect(hostRegistry.setHost(2, host))
      .to.emit(hostRegistry, "HostUpdated")
      .withArgs(2, host.operator, host.signer, host.endpoint, host.tlsFingerprint);
    const replacement = { operator: owner.address, signer: owner.address, endpoint: "", tlsFingerprint: ethers.ZeroHash };
    await expect(hostRegistry.setHost(2, replacement))
      .to.emit(hostRegistry, "HostUpdated")
      .withArgs(2, owner.address, owner.address, "", ethers.ZeroHash);
    const stored = await hostRegistry.getHost(2);
    expect([stored.operator, stored.signer, stored.endpoint, stored.tlsFingerprint]).to.deep.equal([
      owner.address,
      owner.address,
      "",
      ethers.ZeroHash,
    ]);
    expect([...(await hostRegistry.signers())]).to.deep.equal([ethers.ZeroAddress, ethers.ZeroAddress, owner.address]);
    expect([...(await hostRegistry.operators())]).to.deep.equal([ethers.ZeroAddress, ethers.ZeroAddress, owner.address]);
  });

  it("rejects an index above 2 in setHost and getHost", async function () {
    const { hostRegistry, host } = await loadFixture(emptyRegistry);
    await expect(hostRegistry.setHost(3, host)).to.be.revertedWithCustomError(hostRegistry, "HostRegistry__InvalidIndex").withArgs(3);
    await expect(hostRegistry.getHost(255)).to.be.revertedWithCustomError(hostRegistry, "HostRegistry__InvalidIndex").withArgs(255);
  });

  it("rejects a zero operator or signer", async function () {
    const { hostRegistry, host } = await loadFixture(emptyRegistry);
    await expect(hostRegistry.setHost(0, { ...host, operator: ethers.ZeroAddress })).to.be.revertedWithCustomError(
      hostRegistry,
      "HostRegistry__ZeroAddress",
    );
    await expect(hostRegistry.setHost(0, { ...host, signer: ethers.ZeroAddress })).to.be.revertedWithCustomError(
      hostRegistry,
      "HostRegistry__ZeroAddress",
    );
  });

  it("lets only the owner set hosts, and hands ownership over in two steps", async function () {
    const { hostRegistry, host, owner, stranger } = await loadFixture(emptyRegistry);
    await expect(hostRegistry.connect(stranger).setHost(0, host)).to.be.revertedWith("Only callable by owner");
    await expect(hostRegistry.transferOwnership(stranger.address))
      .to.emit(hostRegistry, "OwnershipTransferRequested")
      .withArgs(owner.address, stranger.address);
    await expect(hostRegistry.connect(stranger).acceptOwnership())
      .to.emit(hostRegistry, "OwnershipTransferred")
      .withArgs(owner.address, stranger.address);
    await expect(hostRegistry.connect(stranger).setHost(0, host)).to.emit(hostRegistry, "HostUpdated");
    await expect(hostRegistry.setHost(0, host)).to.be.revertedWith("Only callable by owner");
  });
});
