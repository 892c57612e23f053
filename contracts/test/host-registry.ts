import { expect } from "chai";
import { MARKET_DEFAULTS } from "../ignition/market-contracts.ts";
import {
  BUYER_KEY,
  ENDPOINTS,
  FINGERPRINTS,
  HOST_SIGNERS,
  PARAMS,
  PRICE,
  QUOTE,
  EPSILON,
  deployMarket,
  deployMarketWithDataset,
  encodePayload,
  ethers,
  fulfil,
  networkHelpers,
  oracleRequestOf,
  signResult,
} from "./fixtures/market.ts";

const { loadFixture, time } = networkHelpers;
const DELAY = 86_400n;
const REASON_BAD_SIGNATURE = 3n;
const RESULT = ethers.hexlify(ethers.toUtf8Bytes("ciphertext of the sum for the buyer"));

async function emptyRegistry() {
  const [owner, stranger, a, b] = await ethers.getSigners();
  const hostRegistry = await ethers.deployContract("HostRegistry", [DELAY]);
  const host = { operator: a.address, signer: b.address, endpoint: "host.example:50051", tlsFingerprint: ethers.id("cert") };
  return { hostRegistry, owner, stranger, host };
}

/** The fixture market (hosts registered by deployLocalMarket, default delay) and a replacement for host 1. */
async function registeredMarket() {
  const market = await deployMarketWithDataset();
  const newSigner = new ethers.Wallet(ethers.id("replacement host signer 1"));
  const replacement = {
    operator: market.stranger.address,
    signer: newSigner.address,
    endpoint: "host1.new.example:50051",
    tlsFingerprint: ethers.id("replacement certificate 1"),
  };
  return { ...market, newSigner, replacement };
}

/** The pending change's fields as plain values. */
async function pendingAt(hostRegistry: Awaited<ReturnType<typeof deployMarket>>["hostRegistry"], index: number) {
  const [host, effectiveAt] = await hostRegistry.getPendingHostChange(index);
  return { host: [host.operator, host.signer, host.endpoint, host.tlsFingerprint], effectiveAt };
}

describe("HostRegistry", function () {
  it("lists the hosts deployLocalMarket registered, in host order, with the default change delay", async function () {
    const { hostRegistry, hostOperators, deployer } = await loadFixture(deployMarket);
    expect(await hostRegistry.owner()).to.equal(deployer.address);
    expect(await hostRegistry.HOST_COUNT()).to.equal(3n);
    expect(await hostRegistry.changeDelay()).to.equal(MARKET_DEFAULTS.hostChangeDelay);
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
      expect((await pendingAt(hostRegistry, i)).effectiveAt).to.equal(0n);
    }
    expect(await hostRegistry.typeAndVersion()).to.equal("HostRegistry 2.0.0");
  });

  it("sets a host at an index nobody set yet and emits HostUpdated", async function () {
    const { hostRegistry, host } = await loadFixture(emptyRegistry);
    expect(await hostRegistry.changeDelay()).to.equal(DELAY);
    expect((await hostRegistry.getHost(2)).signer).to.equal(ethers.ZeroAddress);
    await expect(hostRegistry.setHost(2, host))
      .to.emit(hostRegistry, "HostUpdated")
      .withArgs(2, host.operator, host.signer, host.endpoint, host.tlsFingerprint);
    const stored = await hostRegistry.getHost(2);
    expect([stored.operator, stored.signer, stored.endpoint, stored.tlsFingerprint]).to.deep.equal([
      host.operator,
      host.signer,
      host.endpoint,
      host.tlsFingerprint,
    ]);
    expect([...(await hostRegistry.signers())]).to.deep.equal([ethers.ZeroAddress, ethers.ZeroAddress, host.signer]);
    expect([...(await hostRegistry.operators())]).to.deep.equal([ethers.ZeroAddress, ethers.ZeroAddress, host.operator]);
  });

  it("refuses setHost on a registered index: a registered host is only replaced after the delay", async function () {
    const { hostRegistry, owner, host } = await loadFixture(emptyRegistry);
    await (await hostRegistry.setHost(0, host)).wait();
    const takeover = { operator: owner.address, signer: owner.address, endpoint: "evil:1", tlsFingerprint: ethers.ZeroHash };
    await expect(hostRegistry.setHost(0, takeover)).to.be.revertedWithCustomError(hostRegistry, "HostRegistry__AlreadySet").withArgs(0);
    expect((await hostRegistry.getHost(0)).signer).to.equal(host.signer);
  });

  it("rejects an index above 2 everywhere", async function () {
    const { hostRegistry, host } = await loadFixture(emptyRegistry);
    for (const call of [
      () => hostRegistry.setHost(3, host),
      () => hostRegistry.proposeHostChange(3, host),
      () => hostRegistry.cancelHostChange(3),
      () => hostRegistry.applyHostChange(3),
      () => hostRegistry.getHost(3),
      () => hostRegistry.getPendingHostChange(3),
    ]) {
      await expect(call()).to.be.revertedWithCustomError(hostRegistry, "HostRegistry__InvalidIndex").withArgs(3);
    }
    await expect(hostRegistry.getHost(255)).to.be.revertedWithCustomError(hostRegistry, "HostRegistry__InvalidIndex").withArgs(255);
  });

  it("rejects a zero operator or signer, set or proposed", async function () {
    const { hostRegistry, host } = await loadFixture(emptyRegistry);
    for (const bad of [{ ...host, operator: ethers.ZeroAddress }, { ...host, signer: ethers.ZeroAddress }]) {
      await expect(hostRegistry.setHost(0, bad)).to.be.revertedWithCustomError(hostRegistry, "HostRegistry__ZeroAddress");
      await expect(hostRegistry.proposeHostChange(0, bad)).to.be.revertedWithCustomError(hostRegistry, "HostRegistry__ZeroAddress");
    }
  });

  it("lets only the owner set, propose and cancel, and hands ownership over in two steps", async function () {
    const { hostRegistry, host, owner, stranger } = await loadFixture(emptyRegistry);
    await expect(hostRegistry.connect(stranger).setHost(0, host)).to.be.revertedWith("Only callable by owner");
    await expect(hostRegistry.connect(stranger).proposeHostChange(0, host)).to.be.revertedWith("Only callable by owner");
    await (await hostRegistry.proposeHostChange(1, host)).wait();
    await expect(hostRegistry.connect(stranger).cancelHostChange(1)).to.be.revertedWith("Only callable by owner");
    await expect(hostRegistry.transferOwnership(stranger.address))
      .to.emit(hostRegistry, "OwnershipTransferRequested")
      .withArgs(owner.address, stranger.address);
    await expect(hostRegistry.connect(stranger).acceptOwnership())
      .to.emit(hostRegistry, "OwnershipTransferred")
      .withArgs(owner.address, stranger.address);
    await expect(hostRegistry.connect(stranger).setHost(0, host)).to.emit(hostRegistry, "HostUpdated");
    await expect(hostRegistry.setHost(2, host)).to.be.revertedWith("Only callable by owner");
  });

  describe("changing a registered host (the delay)", function () {
    it("announces a proposal, keeps the host and its signer until effectiveAt, then anyone applies it", async function () {
      const { hostRegistry, deployer, stranger, replacement } = await loadFixture(registeredMarket);
      const signersBefore = [...(await hostRegistry.signers())];
      const operatorsBefore = [...(await hostRegistry.operators())];
      const proposal = await hostRegistry.connect(deployer).proposeHostChange(1, replacement);
      const proposedAt = BigInt((await ethers.provider.getBlock((await proposal.wait())!.blockNumber))!.timestamp);
      const effectiveAt = proposedAt + MARKET_DEFAULTS.hostChangeDelay;
      await expect(proposal)
        .to.emit(hostRegistry, "HostChangeProposed")
        .withArgs(1, replacement.operator, replacement.signer, replacement.endpoint, replacement.tlsFingerprint, effectiveAt);
      await expect(proposal).to.not.emit(hostRegistry, "HostUpdated");
      expect(await pendingAt(hostRegistry, 1)).to.deep.equal({
        host: [replacement.operator, replacement.signer, replacement.endpoint, replacement.tlsFingerprint],
        effectiveAt,
      });
      expect([...(await hostRegistry.signers())]).to.deep.equal(signersBefore);
      expect([...(await hostRegistry.operators())]).to.deep.equal(operatorsBefore);
      expect((await hostRegistry.getHost(1)).endpoint).to.equal(ENDPOINTS[1]);

      // One second early: refused, for the owner as for anyone.
      await time.setNextBlockTimestamp(effectiveAt - 1n);
      await expect(hostRegistry.connect(stranger).applyHostChange(1))
        .to.be.revertedWithCustomError(hostRegistry, "HostRegistry__ChangeNotDue")
        .withArgs(1, effectiveAt);
      expect([...(await hostRegistry.signers())]).to.deep.equal(signersBefore);

      // From effectiveAt on, anyone applies it.
      await time.setNextBlockTimestamp(effectiveAt);
      await expect(hostRegistry.connect(stranger).applyHostChange(1))
        .to.emit(hostRegistry, "HostUpdated")
        .withArgs(1, replacement.operator, replacement.signer, replacement.endpoint, replacement.tlsFingerprint);
      expect([...(await hostRegistry.signers())]).to.deep.equal([signersBefore[0], replacement.signer, signersBefore[2]]);
      expect([...(await hostRegistry.operators())]).to.deep.equal([operatorsBefore[0], replacement.operator, operatorsBefore[2]]);
      expect((await hostRegistry.getHost(1)).endpoint).to.equal(replacement.endpoint);
      expect(await pendingAt(hostRegistry, 1)).to.deep.equal({
        host: [ethers.ZeroAddress, ethers.ZeroAddress, "", ethers.ZeroHash],
        effectiveAt: 0n,
      });
      await expect(hostRegistry.connect(stranger).applyHostChange(1))
        .to.be.revertedWithCustomError(hostRegistry, "HostRegistry__NoPendingChange")
        .withArgs(1);
    });

    it("a new proposal replaces the pending one and restarts the delay", async function () {
      const { hostRegistry, stranger, replacement } = await loadFixture(registeredMarket);
      await (await hostRegistry.proposeHostChange(1, replacement)).wait();
      await time.increase(MARKET_DEFAULTS.hostChangeDelay - 10n);
      const second = { ...replacement, endpoint: "host1.other.example:50051" };
      await (await hostRegistry.proposeHostChange(1, second)).wait();
      const { effectiveAt } = await pendingAt(hostRegistry, 1);
      expect(effectiveAt).to.equal(BigInt(await time.latest()) + MARKET_DEFAULTS.hostChangeDelay);
      // The first proposal's time has come, but it no longer exists.
      await time.increase(20n);
      await expect(hostRegistry.connect(stranger).applyHostChange(1))
        .to.be.revertedWithCustomError(hostRegistry, "HostRegistry__ChangeNotDue")
        .withArgs(1, effectiveAt);
      await time.increaseTo(effectiveAt);
      await (await hostRegistry.connect(stranger).applyHostChange(1)).wait();
      expect((await hostRegistry.getHost(1)).endpoint).to.equal(second.endpoint);
    });

    it("the owner cancels a pending change: HostChangeCancelled, nothing left to apply, hosts unchanged", async function () {
      const { hostRegistry, stranger, replacement } = await loadFixture(registeredMarket);
      await expect(hostRegistry.cancelHostChange(1)).to.be.revertedWithCustomError(hostRegistry, "HostRegistry__NoPendingChange").withArgs(1);
      await (await hostRegistry.proposeHostChange(1, replacement)).wait();
      await expect(hostRegistry.cancelHostChange(1)).to.emit(hostRegistry, "HostChangeCancelled").withArgs(1);
      expect((await pendingAt(hostRegistry, 1)).effectiveAt).to.equal(0n);
      await time.increase(MARKET_DEFAULTS.hostChangeDelay + 1n);
      await expect(hostRegistry.connect(stranger).applyHostChange(1))
        .to.be.revertedWithCustomError(hostRegistry, "HostRegistry__NoPendingChange")
        .withArgs(1);
      expect([...(await hostRegistry.signers())]).to.deep.equal(HOST_SIGNERS.map((w) => w.address));
    });

    it("results signed with a proposed signer fail (reason 3) until the change applies; afterwards the old signer's fail", async function () {
      const market = await loadFixture(registeredMarket);
      const { hostRegistry, sum, buyer, seller, stranger, paymentToken, datasetId, newSigner, replacement } = market;
      const buy = async (params: string) => {
        await (await paymentToken.connect(buyer).approve(await sum.getAddress(), QUOTE)).wait();
        return oracleRequestOf(market, await sum.connect(buyer).requestComputation([datasetId], params, BUYER_KEY, QUOTE, EPSILON));
      };
      // Whoever holds the owner's key proposes its own signer for host 1 and signs at once.
      await (await hostRegistry.proposeHostChange(1, replacement)).wait();
      const early = await buy(PARAMS);
      const forged = await signResult(sum, early.requestId, RESULT, [HOST_SIGNERS[0], newSigner, HOST_SIGNERS[2]]);
      await expect(fulfil(market, early, encodePayload(RESULT, forged)))
        .to.emit(sum, "ComputationFailed")
        .withArgs(early.requestId, REASON_BAD_SIGNATURE);
      expect(await sum.withdrawable(seller.address)).to.equal(0n);

      await time.increaseTo((await pendingAt(hostRegistry, 1)).effectiveAt);
      await (await hostRegistry.connect(stranger).applyHostChange(1)).wait();
      const late = await buy('{"column":"after the change"}');
      const old = await signResult(sum, late.requestId, RESULT);
      await expect(fulfil(market, late, encodePayload(RESULT, old)))
        .to.emit(sum, "ComputationFailed")
        .withArgs(late.requestId, REASON_BAD_SIGNATURE);
      const next = await buy('{"column":"signed by the new host"}');
      const fresh = await signResult(sum, next.requestId, RESULT, [HOST_SIGNERS[0], newSigner, HOST_SIGNERS[2]]);
      await expect(fulfil(market, next, encodePayload(RESULT, fresh))).to.emit(sum, "ComputationFulfilled");
      expect(await sum.withdrawable(seller.address)).to.equal(PRICE);
    });
  });
});
