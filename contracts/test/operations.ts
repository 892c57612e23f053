import { expect } from "chai";
import { ContractsError, DEFAULT_LINK_FEE, DEFAULT_LINK_FUNDING, fundAlgorithmsWithLink } from "../src/index.ts";
import { deployMarket, ethers, networkHelpers } from "./fixtures/market.ts";

const { loadFixture } = networkHelpers;

describe("fundAlgorithmsWithLink", function () {
  it("sends every listed algorithm contract the amount and reports balances and requests paid for", async function () {
    const { addresses, deployer, linkToken } = await loadFixture(deployMarket);
    const amount = ethers.parseEther("5");
    await (await linkToken.connect(deployer).mint(deployer.address, amount * 2n)).wait();
    const funded = await fundAlgorithmsWithLink(addresses.factory, deployer, amount);
    expect(funded.map((f) => [f.name, f.address])).to.deep.equal(Object.entries(addresses.algorithms));
    for (const f of funded) {
      expect(await linkToken.balanceOf(f.address)).to.equal(DEFAULT_LINK_FUNDING + amount);
      expect(f.link).to.equal(DEFAULT_LINK_FUNDING + amount);
      expect(f.requests).to.equal((DEFAULT_LINK_FUNDING + amount) / DEFAULT_LINK_FEE);
    }
    expect(await linkToken.balanceOf(deployer.address)).to.equal(0n);
  });

  it("fails with DEPLOYMENT_FAILED naming the algorithm when the funder lacks LINK", async function () {
    const { addresses, stranger } = await loadFixture(deployMarket);
    let caught: unknown;
    try {
      await fundAlgorithmsWithLink(addresses.factory, stranger, 1n);
    } catch (err) {
      caught = err;
    }
    expect(caught).to.be.instanceOf(ContractsError);
    expect((caught as ContractsError).code).to.equal("DEPLOYMENT_FAILED");
    expect((caught as Error).message).to.match(/sum@1/);
  });
});
