/**
 * Reentrancy: a market whose payment token is hostile (`ReentrantToken` calls
 * the recipient back after every transfer, like an ERC-777) and whose seller
 * or buyer is a contract (`ReentrantReceiver`) that re-enters the payer in the
 * middle of the payout. Whatever it re-enters (`withdraw`, `refund`,
 * `withdrawStake`), the payout either reverts as a whole or pays exactly once,
 * and the contracts' token balances keep matching their books.
 *
 * The market is deployed directly with ethers factories (not deployLocalMarket,
 * which always uses DevPaymentToken), with the real Chainlink Operator and LinkToken,
 * the computation created by the AlgorithmFactory the registry names.
 */
import { expect } from "chai";
import { network } from "hardhat";
import type { TransactionReceipt } from "ethers";
import { DEFAULT_PRIVACY_BUDGET, algorithmId, jobIdOf } from "../src/index.ts";
import { envelopeResult, fulfilmentData, signedPayload } from "./helpers/signed-payload.ts";

const connection = await network.create();
const { ethers, networkHelpers } = connection;
const { loadFixture, time } = networkHelpers;

const ALGORITHM = "sum@1";
const PRICE = ethers.parseEther("25");
const OPERATOR_FEE = ethers.parseEther("1");
const MIN_STAKE = ethers.parseEther("10");
const REQUEST_TIMEOUT = 600n;
const STAKE_COOLDOWN = 1200n;
const LINK_FEE = ethers.parseEther("0.1");
const SCHEMA = JSON.stringify({ columns: [{ name: "cost", scale: 0 }] });
const COMMITMENTS: [string, string, string] = [ethers.id("share 0"), ethers.id("share 1"), ethers.id("share 2")];
const POLICY = { allowedAlgorithms: [algorithmId(ALGORITHM)], minRows: 0n, budget: DEFAULT_PRIVACY_BUDGET, exactAlgorithms: [] };
/** ε each request spends on its datasets (milli-ε). */
const EPSILON = 1000;
const STATUS_REFUNDED = 4;
const HOST_CHANGE_DELAY = 86_400n;

async function mined(pending: Promise<{ wait(): Promise<TransactionReceipt | null> }>): Promise<TransactionReceipt> {
  const receipt = await (await pending).wait();
  if (receipt === null || receipt.status !== 1) throw new Error("transaction failed");
  return receipt;
}

async function deployHostileMarket() {
  const [deployer, relay, buyer, seller, operator0, operator1, operator2] = await ethers.getSigners();
  const token = await ethers.deployContract("ReentrantToken");
  const link = await ethers.deployContract("LinkToken");
  const operator = await ethers.deployContract("Operator", [await link.getAddress(), deployer.address]);
  await mined(operator.setAuthorizedSenders([relay.address]));
  const hostSigners = [0, 1, 2].map((i) => new ethers.Wallet(ethers.id(`reentrancy host signer ${i}`)));
  const hostRegistry = await ethers.deployContract("HostRegistry", [HOST_CHANGE_DELAY]);
  for (const [i, op] of [operator0, operator1, operator2].entries()) {
    await mined(
      hostRegistry.setHost(i, { operator: op.address, signer: hostSigners[i].address, endpoint: `host${i}:50051`, tlsFingerprint: ethers.id(`tls ${i}`) }),
    );
  }
  const registry = await ethers.deployContract("DatasetRegistry", [await token.getAddress(), MIN_STAKE, STAKE_COOLDOWN]);
  const factory = await ethers.deployContract("AlgorithmFactory", [
    await link.getAddress(),
    await operator.getAddress(),
    await token.getAddress(),
    await registry.getAddress(),
    await hostRegistry.getAddress(),
    LINK_FEE,
    REQUEST_TIMEOUT,
  ]);
  await mined(registry.setAlgorithmFactory(await factory.getAddress()));
  await mined(factory.createAlgorithm(ALGORITHM, jobIdOf(ALGORITHM), OPERATOR_FEE));
  const computation = await ethers.getContractAt("AlgorithmComputation", await factory.getAlgorithm(ALGORITHM));
  await mined(link.grantMintRole(deployer.address));
  await mined(link.mint(await computation.getAddress(), ethers.parseEther("10")));

  const attacker = await ethers.deployContract("ReentrantReceiver");
  const attackerAddress = await attacker.getAddress();
  await mined(token.mint(attackerAddress, ethers.parseEther("1000")));
  await mined(token.mint(buyer.address, ethers.parseEther("1000")));
  await mined(token.mint(seller.address, ethers.parseEther("1000")));
  // The attacker asks the token for its hook; it only re-enters once armed.
  await mined(attacker.approveAndHook(await token.getAddress(), await registry.getAddress(), ethers.MaxUint256));
  await mined(token.connect(buyer).approve(await computation.getAddress(), ethers.MaxUint256));
  await mined(token.connect(seller).approve(await registry.getAddress(), ethers.MaxUint256));
  return { deployer, relay, buyer, seller, token, link, operator, hostSigners, hostRegistry, registry, computation, attacker, attackerAddress };
}

type Market = Awaited<ReturnType<typeof deployHostileMarket>>;

/** The attacker registers a dataset as its seller (stake paid in the hostile token). */
async function attackerRegisters(market: Market, name = "hostile-data"): Promise<string> {
  const { registry, attacker, attackerAddress } = market;
  const call = registry.interface.encodeFunctionData("registerDataset", [name, SCHEMA, 100n, PRICE, COMMITMENTS, POLICY, MIN_STAKE] as const);
  await mined(attacker.execute(await registry.getAddress(), call));
  return registry.datasetId(attackerAddress, name);
}

/** Sends a request (as `from`, an EOA or the attacker) and returns the Operator's request arguments. */
async function request(market: Market, datasetIds: string[], send: (data: string) => Promise<TransactionReceipt>) {
  const { computation, operator } = market;
  const data = computation.interface.encodeFunctionData("requestComputation", [
    datasetIds,
    "{}",
    ethers.id("buyer key"),
    PRICE * BigInt(datasetIds.length) + OPERATOR_FEE,
    EPSILON,
  ]);
  const receipt = await send(data);
  const oracle = await operator.getAddress();
  const parsed = receipt.logs
    .filter((log) => log.address === oracle)
    .map((log) => operator.interface.parseLog(log))
    .find((p) => p?.name === "OracleRequest");
  if (parsed == null) throw new Error("no OracleRequest event");
  return parsed.args;
}

async function fulfilValid(market: Market, oracle: Awaited<ReturnType<typeof request>>): Promise<void> {
  const { requestId, payment, callbackAddr, callbackFunctionId, cancelExpiration } = oracle;
  const scope = { chainId: (await ethers.provider.getNetwork()).chainId, consumer: await market.computation.getAddress() };
  const payload = await signedPayload(market.hostSigners, scope, requestId, envelopeResult());
  await mined(
    market.operator
      .connect(market.relay)
      .fulfillOracleRequest2(requestId, payment, callbackAddr, callbackFunctionId, cancelExpiration, fulfilmentData(requestId, payload), {
        gasLimit: 1_000_000n,
      }),
  );
}

/** A market where the attacker sold one computation: it is owed PRICE. */
async function attackerOwedAsSeller() {
  const market = await deployHostileMarket();
  const datasetId = await attackerRegisters(market);
  const computationAddress = await market.computation.getAddress();
  const oracle = await request(market, [datasetId], (data) => mined(market.buyer.sendTransaction({ to: computationAddress, data })));
  await fulfilValid(market, oracle);
  return { ...market, datasetId };
}

/** A market where the attacker bought a computation nobody answered and got it refunded: owed PRICE + fee. */
async function attackerOwedAsBuyer() {
  const market = await deployHostileMarket();
  const { registry, seller, computation, attacker, token } = market;
  await mined(registry.connect(seller).registerDataset("honest-data", SCHEMA, 100n, PRICE, COMMITMENTS, POLICY, MIN_STAKE));
  const datasetId = await registry.datasetId(seller.address, "honest-data");
  const computationAddress = await computation.getAddress();
  await mined(
    attacker.execute(await token.getAddress(), token.interface.encodeFunctionData("approve", [computationAddress, ethers.MaxUint256])),
  );
  const oracle = await request(market, [datasetId], (data) => mined(attacker.execute(computationAddress, data)));
  await time.increase(REQUEST_TIMEOUT + 1n);
  await mined(computation.refund(oracle.requestId));
  return { ...market, requestId: oracle.requestId as string };
}

/** The computation contract's books: its tokens must equal what it owes (no Pending requests here). */
async function expectBooksBalanced(market: Market, accounts: string[]): Promise<void> {
  const { computation, token } = market;
  let owed = await computation.operatorFeesAccrued();
  for (const account of accounts) owed += await computation.withdrawable(account);
  expect(await token.balanceOf(await computation.getAddress())).to.equal(owed);
}

describe("reentrancy through a hostile payment token", function () {
  describe("AlgorithmComputation.withdraw", function () {
    it("reverts as a whole when the re-entered withdraw's failure bubbles up: nothing is paid", async function () {
      const market = await loadFixture(attackerOwedAsSeller);
      const { computation, attacker, attackerAddress, token } = market;
      const computationAddress = await computation.getAddress();
      const withdraw = computation.interface.encodeFunctionData("withdraw");
      const before = await token.balanceOf(attackerAddress);
      const held = await token.balanceOf(computationAddress);

      await mined(attacker.arm(computationAddress, withdraw, false));
      await expect(attacker.execute(computationAddress, withdraw))
        .to.be.revertedWithCustomError(attacker, "ReentrantReceiver__CallFailed")
        .withArgs(computation.interface.encodeErrorResult("AlgorithmComputation__NothingToWithdraw", [attackerAddress]));

      expect(await token.balanceOf(attackerAddress)).to.equal(before);
      expect(await token.balanceOf(computationAddress)).to.equal(held);
      expect(await computation.withdrawable(attackerAddress)).to.equal(PRICE);
    });

    it("pays once when the attacker swallows the re-entered withdraw's failure", async function () {
      const market = await loadFixture(attackerOwedAsSeller);
      const { computation, attacker, attackerAddress, token } = market;
      const computationAddress = await computation.getAddress();
      const withdraw = computation.interface.encodeFunctionData("withdraw");
      const before = await token.balanceOf(attackerAddress);
      const held = await token.balanceOf(computationAddress);

      await mined(attacker.arm(computationAddress, withdraw, true));
      await expect(attacker.execute(computationAddress, withdraw))
        .to.emit(computation, "PaymentWithdrawn")
        .withArgs(attackerAddress, PRICE);

      const [attempts, successes, lastData] = await attacker.reentries();
      expect(attempts).to.equal(1n);
      expect(successes).to.equal(0n);
      expect(lastData).to.equal(computation.interface.encodeErrorResult("AlgorithmComputation__NothingToWithdraw", [attackerAddress]));
      expect((await token.balanceOf(attackerAddress)) - before).to.equal(PRICE);
      expect(held - (await token.balanceOf(computationAddress))).to.equal(PRICE);
      expect(await computation.withdrawable(attackerAddress)).to.equal(0n);
      await expectBooksBalanced(market, [attackerAddress]);
      // And nothing is left to take afterwards.
      await expect(attacker.execute(computationAddress, withdraw)).to.be.revertedWithCustomError(attacker, "ReentrantReceiver__CallFailed");
    });

    it("a refunded buyer re-entering refund during its withdraw is refused (NotPending) and paid once", async function () {
      const market = await loadFixture(attackerOwedAsBuyer);
      const { computation, attacker, attackerAddress, token, requestId } = market;
      const computationAddress = await computation.getAddress();
      const owed = PRICE + OPERATOR_FEE;
      expect(await computation.withdrawable(attackerAddress)).to.equal(owed);
      const before = await token.balanceOf(attackerAddress);

      await mined(attacker.arm(computationAddress, computation.interface.encodeFunctionData("refund", [requestId]), true));
      await mined(attacker.execute(computationAddress, computation.interface.encodeFunctionData("withdraw")));

      const [attempts, successes, lastData] = await attacker.reentries();
      expect([attempts, successes]).to.deep.equal([1n, 0n]);
      expect(lastData).to.equal(
        computation.interface.encodeErrorResult("AlgorithmComputation__NotPending", [requestId, STATUS_REFUNDED]),
      );
      expect((await token.balanceOf(attackerAddress)) - before).to.equal(owed);
      expect(await computation.withdrawable(attackerAddress)).to.equal(0n);
      expect((await computation.getRequest(requestId)).status).to.equal(BigInt(STATUS_REFUNDED));
      await expectBooksBalanced(market, [attackerAddress]);
    });

    it("a refunded buyer re-entering withdraw with the failure bubbling keeps its whole credit", async function () {
      const market = await loadFixture(attackerOwedAsBuyer);
      const { computation, attacker, attackerAddress, token } = market;
      const computationAddress = await computation.getAddress();
      const withdraw = computation.interface.encodeFunctionData("withdraw");
      const held = await token.balanceOf(computationAddress);

      await mined(attacker.arm(computationAddress, withdraw, false));
      await expect(attacker.execute(computationAddress, withdraw)).to.be.revertedWithCustomError(attacker, "ReentrantReceiver__CallFailed");

      expect(await computation.withdrawable(attackerAddress)).to.equal(PRICE + OPERATOR_FEE);
      expect(await token.balanceOf(computationAddress)).to.equal(held);
    });
  });

  describe("DatasetRegistry.withdrawStake", function () {
    async function attackerStakeReleased() {
      const market = await deployHostileMarket();
      const { registry, seller, attacker } = market;
      // An honest seller's stake stays in the registry: the attacker must not reach it.
      await mined(registry.connect(seller).registerDataset("honest-data", SCHEMA, 100n, PRICE, COMMITMENTS, POLICY, MIN_STAKE));
      const datasetId = await attackerRegisters(market);
      await mined(attacker.execute(await registry.getAddress(), registry.interface.encodeFunctionData("deregisterDataset", [datasetId])));
      await time.increase(STAKE_COOLDOWN + 1n);
      return { ...market, datasetId };
    }

    it("pays the stake once when the re-entered withdrawStake's failure is swallowed", async function () {
      const market = await loadFixture(attackerStakeReleased);
      const { registry, attacker, attackerAddress, token, datasetId } = market;
      const registryAddress = await registry.getAddress();
      const call = registry.interface.encodeFunctionData("withdrawStake", [datasetId]);
      const before = await token.balanceOf(attackerAddress);

      await mined(attacker.arm(registryAddress, call, true));
      await expect(attacker.execute(registryAddress, call)).to.emit(registry, "StakeWithdrawn").withArgs(datasetId, attackerAddress, MIN_STAKE);

      const [attempts, successes, lastData] = await attacker.reentries();
      expect([attempts, successes]).to.deep.equal([1n, 0n]);
      expect(lastData).to.equal(registry.interface.encodeErrorResult("DatasetRegistry__NoStake", [datasetId]));
      expect((await token.balanceOf(attackerAddress)) - before).to.equal(MIN_STAKE);
      expect((await registry.getDataset(datasetId)).stake).to.equal(0n);
      // Only the honest seller's stake is left.
      expect(await token.balanceOf(registryAddress)).to.equal(MIN_STAKE);
    });

    it("reverts as a whole when the re-entered withdrawStake's failure bubbles up", async function () {
      const market = await loadFixture(attackerStakeReleased);
      const { registry, attacker, attackerAddress, token, datasetId } = market;
      const registryAddress = await registry.getAddress();
      const call = registry.interface.encodeFunctionData("withdrawStake", [datasetId]);
      const before = await token.balanceOf(attackerAddress);

      await mined(attacker.arm(registryAddress, call, false));
      await expect(attacker.execute(registryAddress, call))
        .to.be.revertedWithCustomError(attacker, "ReentrantReceiver__CallFailed")
        .withArgs(registry.interface.encodeErrorResult("DatasetRegistry__NoStake", [datasetId]));

      expect(await token.balanceOf(attackerAddress)).to.equal(before);
      expect((await registry.getDataset(datasetId)).stake).to.equal(MIN_STAKE);
      expect(await token.balanceOf(registryAddress)).to.equal(2n * MIN_STAKE);
    });
  });
});
