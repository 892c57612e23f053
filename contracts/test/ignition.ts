/**
 * The LocalMarket Ignition module deploys a working market on the in-process
 * chain: every algorithm of MARKET_ALGORITHMS is listed by the factory at the
 * address Ignition reports, funded with LINK, and wired to the module's
 * registries, tokens and Operator.
 */
import { expect } from "chai";
import { network } from "hardhat";
import { MARKET_ALGORITHMS, algorithmId, jobIdOf } from "../src/index.ts";
import LocalMarketModule, { DEFAULT_LINK_FUNDING } from "../ignition/modules/LocalMarket.ts";
import MarketModule from "../ignition/modules/Market.ts";
import { MARKET_DEFAULTS, futureIdOf } from "../ignition/market-contracts.ts";

const connection = await network.create();
const { ethers, ignition } = connection;

describe("Ignition modules", function () {
  this.timeout(120_000);

  it("deploys the market and creates every algorithm through the factory", async function () {
    const [deployer, relay, operator0, operator1, operator2] = await ethers.getSigners();
    const hostSigners = [0, 1, 2].map((i) => new ethers.Wallet(ethers.id(`ignition host ${i}`)));
    const hosts = hostSigners.map((signer, i) => ({
      operator: [operator0, operator1, operator2][i].address,
      signer: signer.address,
      endpoint: `host${i}.example:50051`,
      tlsFingerprint: ethers.id(`certificate ${i}`),
    }));
    const deployed = await ignition.deploy(LocalMarketModule, {
      parameters: { LocalMarket: { relay: relay.address, host0: hosts[0], host1: hosts[1], host2: hosts[2] } },
    });
    const { factory, registry, hostRegistry, paymentToken, linkToken, operator } = deployed;

    expect(await factory.algorithmCount()).to.equal(BigInt(MARKET_ALGORITHMS.length));
    const listed: string[] = [];
    for (let i = 0; i < MARKET_ALGORITHMS.length; i++) {
      const [name, address] = await factory.algorithmAt(i);
      listed.push(name);
      const fromIgnition = (deployed as unknown as Record<string, { getAddress(): Promise<string> }>)[futureIdOf(name)];
      expect(address, name).to.equal(await fromIgnition.getAddress());
      expect(await factory.getAlgorithm(name)).to.equal(address);
      const computation = await ethers.getContractAt("AlgorithmComputation", address);
      expect(await computation.algorithm()).to.equal(name);
      expect(await computation.algorithmId()).to.equal(algorithmId(name));
      expect(await computation.jobId()).to.equal(jobIdOf(name));
      expect(await computation.operatorFee()).to.equal(MARKET_DEFAULTS.operatorFee);
      expect(await computation.registry()).to.equal(await registry.getAddress());
      expect(await computation.hostRegistry()).to.equal(await hostRegistry.getAddress());
      expect(await computation.paymentToken()).to.equal(await paymentToken.getAddress());
      expect(await computation.operator()).to.equal(await operator.getAddress());
      expect(await linkToken.balanceOf(address)).to.equal(DEFAULT_LINK_FUNDING);
      // The registry lets exactly the factory's computations spend datasets' privacy budget.
      expect(await registry.isComputation(address), name).to.equal(true);
    }
    expect(await registry.algorithmFactory()).to.equal(await factory.getAddress());
    // Created one after the other, so listed in MARKET_ALGORITHMS order.
    expect(listed).to.deep.equal([...MARKET_ALGORITHMS]);

    expect(await registry.paymentToken()).to.equal(await paymentToken.getAddress());
    expect(await registry.minStake()).to.equal(MARKET_DEFAULTS.minStake);
    expect(await registry.stakeCooldown()).to.equal(MARKET_DEFAULTS.stakeCooldown);
    expect([...(await hostRegistry.signers())]).to.deep.equal(hostSigners.map((w) => w.address));
    expect(await hostRegistry.changeDelay()).to.equal(MARKET_DEFAULTS.hostChangeDelay);
    expect(await hostRegistry.owner()).to.equal(deployer.address);
    expect(await factory.owner()).to.equal(deployer.address);
    expect(await operator.isAuthorizedSender(relay.address)).to.equal(true);
    expect(await paymentToken.owner()).to.equal(deployer.address);
  });

  it("Market deploys onto existing LINK, Operator and payment token given as parameters", async function () {
    const [, relay, operator0] = await ethers.getSigners();
    const paymentToken = await ethers.deployContract("DevPaymentToken", ["Market USD", "mUSD"]);
    const linkToken = await ethers.deployContract("LinkToken");
    const operator = await ethers.deployContract("Operator", [await linkToken.getAddress(), relay.address]);
    const host = (i: number) => ({
      operator: operator0.address,
      signer: new ethers.Wallet(ethers.id(`market host ${i}`)).address,
      endpoint: `h${i}:1`,
      tlsFingerprint: ethers.ZeroHash,
    });
    const { factory, registry, hostRegistry } = await ignition.deploy(MarketModule, {
      parameters: {
        Market: {
          linkToken: await linkToken.getAddress(),
          operator: await operator.getAddress(),
          paymentToken: await paymentToken.getAddress(),
          host0: host(0),
          host1: host(1),
          host2: host(2),
          operatorFee: 7n,
          requestTimeout: 60n,
          hostChangeDelay: 600n,
        },
      },
    });
    expect(await factory.algorithmCount()).to.equal(BigInt(MARKET_ALGORITHMS.length));
    expect(await factory.linkToken()).to.equal(await linkToken.getAddress());
    expect(await factory.operator()).to.equal(await operator.getAddress());
    expect(await factory.requestTimeout()).to.equal(60n);
    expect(await registry.paymentToken()).to.equal(await paymentToken.getAddress());
    expect(await registry.algorithmFactory()).to.equal(await factory.getAddress());
    expect(await registry.isComputation(await factory.getAlgorithm("regression@1"))).to.equal(true);
    expect(await hostRegistry.changeDelay()).to.equal(600n);
    const computation = await ethers.getContractAt("AlgorithmComputation", await factory.getAlgorithm("regression@1"));
    expect(await computation.operatorFee()).to.equal(7n);
  });
});
