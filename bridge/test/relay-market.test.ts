import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, it } from "node:test";
import { AbiCoder, Contract, ContractFactory, Interface, JsonRpcSigner, keccak256, MaxUint256, parseEther, toQuantity, toUtf8Bytes, Transaction, Wallet, zeroPadValue } from "ethers";
import { encode } from "cbor-x";
import { algorithmId, jobIdOf, loadArtifact } from "@scmpc/contracts";
import { pino } from "pino";
import { loadRelayConfig } from "../src/relay/config.ts";
import { FULFILL_SELECTOR } from "../src/relay/consumer-contract.ts";
import { feesOf } from "../src/relay/fulfilment-fees.ts";
import { fulfilmentGasLimit, GAS_PER_EXTRA_DATASET } from "../src/relay/fulfilment-gas.ts";
import { operatorInterface } from "../src/relay/oracle-request.ts";
import { createRelay } from "../src/relay/relay.ts";
import type { Relay, RelayOptions } from "../src/relay/relay.ts";
import { openRelayStore } from "../src/relay/relay-store.ts";
import { devKey, RELAY_TEST_BUDGET, RELAY_TEST_EPSILON, relayEnv, startFakeBridge, startTestChain, STATUS } from "./relay-fixture.ts";
import type { FakeBridge, TestChain } from "./relay-fixture.ts";

// The relay's filter, its judgement of a mined fulfilment, its gas limit, its
// deadline check and its replacement of stuck transactions, against a real
// chain (a Hardhat node with the real Chainlink Operator and the market) and
// a fake bridge. Each test drives the relay round by round with pollOnce; a
// "crash" is a relay stopped after an onStage hook throws, and a new one
// opened over the same store file.

/** The Operator's two request entry points, which only LINK's transferAndCall may call. */
const requestInterface = new Interface([
  "function operatorRequest(address sender, uint256 payment, bytes32 specId, bytes4 callbackFunctionId, uint256 nonce, uint256 dataVersion, bytes data)",
  "function oracleRequest(address sender, uint256 payment, bytes32 specId, address callbackAddress, bytes4 callbackFunctionId, uint256 nonce, uint256 dataVersion, bytes data)",
]);
const REQUEST_TOPIC = operatorInterface.getEvent("OracleRequest")!.topicHash;

/** Request data as ChainlinkClient writes it: CBOR key/value pairs without the map header. */
function cborPairs(fields: Record<string, string>): string {
  return `0x${Buffer.concat(Object.entries(fields).flatMap(([k, v]) => [encode(k), encode(v)])).toString("hex")}`;
}

describe("relay: serves only the market, judges by the consumer, sizes gas, never sends late, replaces stuck transactions", { timeout: 300_000 }, () => {
  let chain: TestChain;
  let bridge: FakeBridge;
  let dir: string;
  let deployer: Wallet;
  let seller: Wallet;
  let link: Contract;
  let relayAddress: string;
  const relays: Relay[] = [];

  before(async () => {
    chain = await startTestChain();
    bridge = await startFakeBridge(chain.hostSigners);
    dir = await mkdtemp(path.join(os.tmpdir(), "scmpc-relay-market-"));
    deployer = new Wallet(devKey(0), chain.provider);
    seller = new Wallet(devKey(2), chain.provider);
    link = new Contract(chain.addresses.linkToken, loadArtifact("LinkToken").abi, deployer);
    relayAddress = new Wallet(chain.relayKey).address;
  });

  after(async () => {
    await chain?.provider.send("evm_setAutomine", [true]).catch(() => {});
    for (const relay of relays) await relay.stop().catch(() => {});
    await bridge?.close();
    await chain?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** A relay over `store` (a file in the test's directory) serving the market's factory, and the lines it logs. */
  function relayOver(store: string, fromBlock: number, env: Record<string, string> = {}, options: RelayOptions = {}) {
    const lines: Record<string, unknown>[] = [];
    const settings = relayEnv(chain, bridge, { dir, store, fromBlock }, { SCMPC_RELAY_POLL_MS: "50", ...env });
    // An empty value in `env` unsets the variable.
    const config = loadRelayConfig(Object.fromEntries(Object.entries(settings).filter(([, value]) => value !== "")));
    const sink = new Writable({
      write(chunk, _encoding, done) {
        for (const line of chunk.toString().split("\n").filter(Boolean)) lines.push(JSON.parse(line));
        done();
      },
    });
    const relay = createRelay(config, pino({ level: "debug" }, sink), options);
    relays.push(relay);
    return { relay, lines };
  }

  const nextBlock = async () => (await chain.provider.getBlockNumber()) + 1;
  const relayNonce = () => chain.provider.getTransactionCount(relayAddress, "latest");
  const callsFor = (requestId: string) => bridge.calls.filter((c) => c.body.data.requestId.toLowerCase() === requestId.toLowerCase());
  const statusOf = async (requestId: string) => (await chain.market.getRequest(requestId)).status as bigint;
  const setAutomine = (on: boolean) => chain.provider.send("evm_setAutomine", [on]);
  const withStore = <T>(store: string, read: (s: ReturnType<typeof openRelayStore>) => T): T => {
    const s = openRelayStore(path.join(dir, store));
    try {
      return read(s);
    } finally {
      s.close();
    }
  };
  const rowOf = (store: string, requestId: string) => withStore(store, (s) => s.get(requestId));
  const txsOf = (store: string, requestId: string) => withStore(store, (s) => s.transactions(requestId));

  /** Sends an OracleRequest straight to the Operator through LINK's transferAndCall, as anyone holding LINK can. */
  async function rawRequest(from: Wallet, payment: bigint, call: string): Promise<string> {
    const receipt = await (await (link.connect(from) as Contract).transferAndCall(chain.addresses.operator, payment, call, { gasLimit: 500_000n })).wait();
    const log = receipt.logs.find((l: { topics: readonly string[] }) => l.topics[0] === REQUEST_TOPIC)!;
    return operatorInterface.parseLog(log)!.args.requestId as string;
  }

  /** Registers another dataset of `seller` allowing `algorithm`; returns its id. */
  async function registerDataset(name: string, algorithm = "sum@1"): Promise<string> {
    const registry = new Contract(chain.addresses.registry, loadArtifact("DatasetRegistry").abi, seller);
    const schema = JSON.stringify({ columns: [{ name: "cost", scale: 0 }] });
    const commitments = [0, 1, 2].map((i) => keccak256(toUtf8Bytes(`${name} share ${i}`)));
    await (await registry.registerDataset(name, schema, 10n, parseEther("2"), commitments, { allowedAlgorithms: [algorithmId(algorithm)], minRows: 0n, budget: RELAY_TEST_BUDGET, exactAlgorithms: [] }, BigInt(chain.addresses.minStake))).wait();
    return (await registry.datasetId(seller.address, name)) as string;
  }

  /** A buyer's request to `consumer` over `datasetIds` (sorted here, as the contract requires); its requestId. */
  async function requestFrom(consumer: Contract, datasetIds: string[]): Promise<string> {
    const sorted = [...datasetIds].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
    const tx = await (consumer.connect(chain.buyer) as Contract).requestComputation(sorted, JSON.stringify({ column: "cost" }), keccak256(toUtf8Bytes("buyer key")), MaxUint256, RELAY_TEST_EPSILON, { gasLimit: 1_500_000n });
    const receipt = await tx.wait();
    const log = receipt.logs.find((l: { topics: readonly string[] }) => l.topics[0] === REQUEST_TOPIC)!;
    return operatorInterface.parseLog(log)!.args.requestId as string;
  }

  it("records an attacker's requests straight to the Operator (0 LINK, foreign job, foreign requester) as ignored: no bridge call, no transaction, logged once", async () => {
    // From TypeScript the attacker is an account, not a contract: its requests
    // reach the Operator exactly as a contract's would (LINK's transferAndCall),
    // and the requester the Operator logs is whoever called LINK.
    const attacker = new Wallet(devKey(6), chain.provider);
    await (await link.mint(attacker.address, parseEther("1"))).wait();
    const sumJob = jobIdOf("sum@1");
    const data = cborPairs({ algorithm: "sum@1", datasetIds: chain.datasetId, params: "{}", buyerKey: `0x${"33".repeat(32)}` });
    const from = await nextBlock();
    const nonceBefore = await relayNonce();
    const freeRequest = await rawRequest(attacker, 0n, requestInterface.encodeFunctionData("operatorRequest", [attacker.address, 0n, sumJob, FULFILL_SELECTOR, 1n, 2n, data]));
    const foreignJob = await rawRequest(
      attacker,
      BigInt(chain.addresses.linkFee),
      requestInterface.encodeFunctionData("operatorRequest", [attacker.address, BigInt(chain.addresses.linkFee), keccak256(toUtf8Bytes("another job")), FULFILL_SELECTOR, 2n, 2n, data]),
    );
    // The version-1 entry point lets the attacker name the market's consumer as the callback.
    const aimedAtConsumer = await rawRequest(
      attacker,
      BigInt(chain.addresses.linkFee),
      requestInterface.encodeFunctionData("oracleRequest", [attacker.address, BigInt(chain.addresses.linkFee), sumJob, chain.addresses.algorithms["sum@1"], FULFILL_SELECTOR, 3n, 2n, data]),
    );
    const { requestId: genuine } = await chain.request();

    const { relay, lines } = relayOver("attacker.sqlite", from);
    await relay.pollOnce();
    await chain.mine(1);
    await relay.pollOnce();
    await relay.stop();
    const again = relayOver("attacker.sqlite", from);
    await again.relay.pollOnce();
    await again.relay.stop();

    const expected: [string, RegExp][] = [
      [freeRequest, /requester 0x[0-9a-fA-F]{40} is not one of the market's algorithm contracts/],
      [foreignJob, /specId 0x[0-9a-f]{64} is not one of the market's job ids/],
      [aimedAtConsumer, /requester 0x[0-9a-fA-F]{40} is not one of the market's algorithm contracts/],
    ];
    for (const [requestId, reason] of expected) {
      const row = rowOf("attacker.sqlite", requestId)!;
      assert.equal(row.state, "ignored", requestId);
      assert.match(row.outcome ?? "", reason);
      assert.equal(callsFor(requestId).length, 0, "no bridge call");
      const logged = [...lines, ...again.lines].filter((l) => (l.requestId as string)?.toLowerCase() === requestId.toLowerCase());
      assert.deepEqual(logged.map((l) => l.msg), ["request ignored: not the market's; no bridge call, no gas"], "logged once, across rounds and restarts");
    }
    assert.equal(rowOf("attacker.sqlite", genuine)!.state, "fulfilled");
    assert.equal(await relayNonce(), nonceBefore + 1, "one transaction: the genuine request's fulfilment");
    const txs = await chain.fulfilmentTxs(from);
    assert.deepEqual([...txs.keys()], [genuine.toLowerCase()]);
    assert.equal(withStore("attacker.sqlite", (st) => st.counts().ignored), 3);
  });

  it("serves an explicit SCMPC_RELAY_REQUESTERS list (job ids from each consumer's jobId()), and ignores a listed consumer's 0-LINK request", async () => {
    // An AlgorithmComputation the factory did not create, paying 0 LINK per request.
    const artifact = loadArtifact("AlgorithmComputation");
    const freeConsumer = (await new ContractFactory(artifact.abi, artifact.bytecode, deployer).deploy(
      chain.addresses.linkToken,
      chain.addresses.operator,
      jobIdOf("sum@1"),
      0n,
      chain.addresses.paymentToken,
      chain.addresses.registry,
      chain.addresses.hostRegistry,
      "sum@1",
      BigInt(chain.addresses.operatorFee),
      BigInt(chain.addresses.requestTimeout),
    )) as Contract;
    await freeConsumer.waitForDeployment();
    // The registry lets only the factory's computations sell (spend budget). The relay's own filter
    // must hold even so: the factory authorizes this one in the registry (as the node lets a test act
    // as any account) without listing it as an algorithm of the market.
    const factoryAddress = chain.addresses.factory;
    await chain.provider.send("hardhat_impersonateAccount", [factoryAddress]);
    await chain.provider.send("hardhat_setBalance", [factoryAddress, "0x56BC75E2D63100000"]);
    try {
      const asFactory = new JsonRpcSigner(chain.provider, factoryAddress);
      const registry = new Contract(chain.addresses.registry, loadArtifact("DatasetRegistry").abi, asFactory);
      await (await registry.authorizeComputation(await freeConsumer.getAddress())).wait();
    } finally {
      await chain.provider.send("hardhat_stopImpersonatingAccount", [factoryAddress]);
    }
    const token = new Contract(chain.addresses.paymentToken, loadArtifact("DevPaymentToken").abi, chain.buyer);
    await (await token.approve(await freeConsumer.getAddress(), MaxUint256)).wait();

    const from = await nextBlock();
    const nonceBefore = await relayNonce();
    const free = await requestFrom(freeConsumer, [chain.datasetId]);
    const { requestId: paid } = await chain.request();

    // The factory does not list it: not the market's.
    const byFactory = relayOver("free-factory.sqlite", from);
    await byFactory.relay.pollOnce();
    await byFactory.relay.stop();
    assert.match(rowOf("free-factory.sqlite", free)!.outcome ?? "", /requester .* is not one of the market's algorithm contracts/);

    // Listed explicitly, it is the market's, but pays less than the minimum (the default 1 juel).
    const listed = relayOver("free-listed.sqlite", from, {
      SCMPC_FACTORY_ADDRESS: "",
      SCMPC_RELAY_MIN_PAYMENT: "",
      SCMPC_RELAY_REQUESTERS: `${await freeConsumer.getAddress()},${chain.addresses.algorithms["sum@1"]}`,
    });
    await listed.relay.pollOnce();
    await listed.relay.stop();
    const row = rowOf("free-listed.sqlite", free)!;
    assert.deepEqual([row.state, row.outcome], ["ignored", "pays 0 juels, below the minimum 1 (SCMPC_RELAY_MIN_PAYMENT)"]);
    assert.equal(callsFor(free).length, 0);
    assert.equal(rowOf("free-listed.sqlite", paid)!.state, "fulfilled", "the listed market consumer is served");
    assert.equal(await relayNonce(), nonceBefore + 1);
    assert.equal((await freeConsumer.getRequest(free)).status, STATUS.Pending, "nobody answered the free request");
  });

  it("stops with RELAY_MARKET_UNREADABLE when SCMPC_FACTORY_ADDRESS is not an AlgorithmFactory", async () => {
    const from = await chain.provider.getBlockNumber();
    for (const wrong of [chain.buyer.address, chain.addresses.operator]) {
      const { relay } = relayOver(`wrong-factory-${wrong}.sqlite`, from, { SCMPC_FACTORY_ADDRESS: wrong });
      await assert.rejects(relay.pollOnce(), (err: Error & { code?: string }) => err.code === "RELAY_MARKET_UNREADABLE" && err.message.includes(`SCMPC_FACTORY_ADDRESS: no AlgorithmFactory at ${wrong}`));
      await relay.stop();
    }
  });

  it("serves an algorithm the factory creates after the relay started", async () => {
    const from = await nextBlock();
    const { relay } = relayOver("late-algorithm.sqlite", from);
    await relay.pollOnce(); // reads the factory's algorithms as they are now
    const factory = new Contract(chain.addresses.factory, loadArtifact("AlgorithmFactory").abi, deployer);
    await (await factory.createAlgorithm("count@1", jobIdOf("count@1"), BigInt(chain.addresses.operatorFee))).wait();
    const countAddress = (await factory.getAlgorithm("count@1")) as string;
    await (await link.mint(countAddress, parseEther("1"))).wait();
    const dataset = await registerDataset("count-dataset", "count@1");
    const token = new Contract(chain.addresses.paymentToken, loadArtifact("DevPaymentToken").abi, chain.buyer);
    await (await token.approve(countAddress, MaxUint256)).wait();
    const count = new Contract(countAddress, loadArtifact("AlgorithmComputation").abi, chain.buyer);
    const requestId = await requestFrom(count, [dataset]);

    await relay.pollOnce();
    await relay.stop();
    const row = rowOf("late-algorithm.sqlite", requestId)!;
    assert.deepEqual([row.state, row.consumerEvent], ["fulfilled", "ComputationFulfilled"]);
    assert.equal((await count.getRequest(requestId)).status, STATUS.Fulfilled);
  });

  it("does not call a fulfilment whose consumer callback failed fulfilled: callback-failed, an error log naming the refund", async () => {
    const from = await nextBlock();
    const { requestId } = await chain.request();
    // Make the consumer's callback revert for this request, as a consumer with
    // a broken fulfil would: its ChainlinkClient forgets the request (the slot
    // of s_pendingRequests[requestId] that holds the Operator's address is
    // cleared), so `recordChainlinkFulfillment` rejects the Operator's call.
    const consumer = chain.addresses.algorithms["sum@1"];
    const operatorWord = zeroPadValue(chain.addresses.operator, 32).toLowerCase();
    let cleared = false;
    for (let slot = 0; slot < 64 && !cleared; slot++) {
      const key = keccak256(AbiCoder.defaultAbiCoder().encode(["bytes32", "uint256"], [requestId, slot]));
      if ((await chain.provider.getStorage(consumer, key)).toLowerCase() !== operatorWord) continue;
      await chain.provider.send("hardhat_setStorageAt", [consumer, toQuantity(key), zeroPadValue("0x", 32)]);
      cleared = true;
    }
    assert.ok(cleared, "found the consumer's pending-request record");

    const { relay, lines } = relayOver("callback-failed.sqlite", from);
    await relay.pollOnce();
    const txs = (await chain.fulfilmentTxs(from)).get(requestId.toLowerCase()) ?? [];
    assert.equal(txs.length, 1, "the fulfilment was sent and mined");
    const receipt = (await chain.provider.getTransactionReceipt(txs[0]))!;
    assert.equal(receipt.status, 1, "the Operator did not revert: its receipt alone would say success");
    const row = rowOf("callback-failed.sqlite", requestId)!;
    assert.deepEqual([row.state, row.outcome, row.fulfilTxHash, row.consumerEvent], ["callback-failed", "result", txs[0], null]);
    assert.equal(relay.fulfilled, 0, "not counted as fulfilled");
    assert.deepEqual([relay.counts().fulfilled, relay.counts()["callback-failed"]], [0, 1]);
    const error = lines.find((l) => l.level === 50 && (l.requestId as string)?.toLowerCase() === requestId.toLowerCase());
    assert.match(String(error?.msg), /callback failed.*refund/);
    assert.equal(await statusOf(requestId), STATUS.Pending, "the buyer's escrow waits for the deadline's refund");
    // A second round changes nothing.
    await relay.pollOnce();
    await relay.stop();
    assert.equal((await chain.fulfilmentTxs(from)).get(requestId.toLowerCase())?.length, 1);
  });

  it("sends nothing for a request whose deadline has passed or is within the margin: late, no bridge call, no gas", async () => {
    const from = await nextBlock();
    const { requestId: past } = await chain.request();
    await chain.provider.send("evm_increaseTime", [chain.addresses.requestTimeout + 5]);
    await chain.mine(1);
    const { requestId: near } = await chain.request();
    await chain.provider.send("evm_increaseTime", [chain.addresses.requestTimeout - 20]);
    await chain.mine(1);
    const nonceBefore = await relayNonce();

    const { relay } = relayOver("late.sqlite", from);
    await relay.pollOnce();
    await relay.stop();
    for (const requestId of [past, near]) {
      const row = rowOf("late.sqlite", requestId)!;
      assert.equal(row.state, "late", requestId);
      assert.match(row.outcome ?? "", /^deadline .* (passed|within SCMPC_RELAY_DEADLINE_MARGIN_S=30)/);
      assert.equal(callsFor(requestId).length, 0);
      assert.equal(row.fulfilTxHash, null);
    }
    assert.equal(await relayNonce(), nonceBefore, "no transaction");
    assert.equal((await chain.fulfilmentTxs(from)).size, 0);
  });

  it("sizes the gas limit by the request: each further dataset adds to it, and every callback has what it needs", async () => {
    const extra = [await registerDataset("gas-a"), await registerDataset("gas-b")];
    const from = await nextBlock();
    const one = await requestFrom(chain.market, [chain.datasetId]);
    const three = await requestFrom(chain.market, [chain.datasetId, ...extra]);
    const { relay } = relayOver("gas.sqlite", from);
    await relay.pollOnce();
    await relay.stop();
    const limits: bigint[] = [];
    for (const [requestId, datasets] of [[one, 1], [three, 3]] as const) {
      const row = rowOf("gas.sqlite", requestId)!;
      assert.deepEqual([row.state, row.consumerEvent], ["fulfilled", "ComputationFulfilled"]);
      const tx = (await chain.provider.getTransaction(row.fulfilTxHash!))!;
      assert.equal(tx.gasLimit, BigInt(fulfilmentGasLimit(500_000, datasets, (row.payload!.length - 2) / 2)));
      const receipt = (await chain.provider.getTransactionReceipt(row.fulfilTxHash!))!;
      assert.ok(receipt.gasUsed < tx.gasLimit);
      limits.push(tx.gasLimit);
    }
    assert.equal(limits[1] - limits[0], BigInt(2 * GAS_PER_EXTRA_DATASET));
  });

  describe("a fulfilment not mined in time (automine off)", () => {
    /** A request mined while automine is on, then automine off for the relay's transactions. */
    async function stuckSetup(): Promise<{ from: number; requestId: string; nonceBefore: number }> {
      const from = await nextBlock();
      const { requestId } = await chain.request();
      const nonceBefore = await relayNonce();
      await setAutomine(false);
      return { from, requestId, nonceBefore };
    }

    it("is replaced with the same nonce and fees at least 12.5% higher; exactly one is mined and recorded", async () => {
      const { from, requestId, nonceBefore } = await stuckSetup();
      try {
        const { relay } = relayOver("stuck.sqlite", from, { SCMPC_RELAY_REPLACE_AFTER_MS: "300" });
        await relay.pollOnce();
        const [first] = txsOf("stuck.sqlite", requestId);
        assert.equal(rowOf("stuck.sqlite", requestId)!.state, "sent");
        assert.ok(await chain.provider.getTransaction(first.hash), "the first fulfilment waits in the pool");
        assert.equal(txsOf("stuck.sqlite", requestId).length, 1, "not replaced before SCMPC_RELAY_REPLACE_AFTER_MS");
        await sleep(350);
        await relay.pollOnce();
        const txs = txsOf("stuck.sqlite", requestId);
        assert.equal(txs.length, 2);
        const [a, b] = txs.map((t) => feesOf(t.raw));
        assert.ok(a.type === 2 && b.type === 2);
        assert.ok(b.maxFeePerGas * 8n >= a.maxFeePerGas * 9n && b.maxPriorityFeePerGas * 8n >= a.maxPriorityFeePerGas * 9n, "fees raised by at least 12.5%");
        assert.equal(txs[1].nonce, first.nonce);
        assert.equal(Transaction.from(txs[1].raw).gasLimit, Transaction.from(first.raw).gasLimit);
        assert.equal(await chain.provider.getTransaction(first.hash), null, "the replacement took its place in the pool");

        await chain.mine(1);
        await relay.pollOnce();
        await relay.stop();
        const row = rowOf("stuck.sqlite", requestId)!;
        assert.deepEqual([row.state, row.fulfilTxHash, row.consumerEvent], ["fulfilled", txs[1].hash, "ComputationFulfilled"]);
        assert.deepEqual((await chain.fulfilmentTxs(from)).get(requestId.toLowerCase()), [txs[1].hash], "exactly one mined");
        assert.equal(await relayNonce(), nonceBefore + 1);
        assert.equal(callsFor(requestId).length, 1);
      } finally {
        await setAutomine(true);
      }
    });

    for (const crashAt of ["replaced", "replacement-broadcast"] as const) {
      const mined = crashAt === "replaced" ? "the first" : "the replacement";
      it(`is found by a relay restarted after a crash at "${crashAt}": ${mined} is mined, and recorded`, async () => {
        const store = `stuck-crash-${crashAt}.sqlite`;
        const { from, requestId, nonceBefore } = await stuckSetup();
        try {
          const crashing = relayOver(store, from, { SCMPC_RELAY_REPLACE_AFTER_MS: "200" }, {
            onStage: (stage) => {
              if (stage === crashAt) throw new Error(`crash at ${stage}`);
            },
          });
          await crashing.relay.pollOnce();
          await sleep(250);
          await crashing.relay.pollOnce();
          await crashing.relay.stop();
          const txs = txsOf(store, requestId);
          assert.equal(txs.length, 2, "the replacement was recorded before the crash");

          await chain.mine(1);
          const restarted = relayOver(store, from, { SCMPC_RELAY_REPLACE_AFTER_MS: "200" });
          await restarted.relay.pollOnce();
          await restarted.relay.stop();
          const expected = crashAt === "replaced" ? txs[0].hash : txs[1].hash;
          assert.deepEqual((await chain.fulfilmentTxs(from)).get(requestId.toLowerCase()), [expected], "exactly one mined");
          const row = rowOf(store, requestId)!;
          assert.deepEqual([row.state, row.fulfilTxHash, row.consumerEvent], ["fulfilled", expected, "ComputationFulfilled"]);
          assert.equal(await relayNonce(), nonceBefore + 1);
          assert.equal(restarted.relay.fulfilled, 1);
        } finally {
          await setAutomine(true);
        }
      });
    }

    it("is never raised past SCMPC_RELAY_MAX_FEE_GWEI: at the cap it is left to be mined as it is", async () => {
      const { from, requestId, nonceBefore } = await stuckSetup();
      try {
        const { relay, lines } = relayOver("stuck-cap.sqlite", from, { SCMPC_RELAY_REPLACE_AFTER_MS: "100", SCMPC_RELAY_MAX_FEE_GWEI: "1.05" });
        await relay.pollOnce();
        await sleep(150);
        await relay.pollOnce();
        const txs = txsOf("stuck-cap.sqlite", requestId);
        assert.equal(txs.length, 1, "no replacement under the cap");
        const fees = feesOf(txs[0].raw);
        assert.ok(fees.type === 2 && fees.maxFeePerGas <= 1_050_000_000n, "the first fee is capped too");
        assert.equal(lines.filter((l) => String(l.msg).startsWith("stuck transaction not replaced")).length, 1, "warned once");
        await chain.mine(1);
        await relay.pollOnce();
        await relay.stop();
        assert.deepEqual([rowOf("stuck-cap.sqlite", requestId)!.state, rowOf("stuck-cap.sqlite", requestId)!.fulfilTxHash], ["fulfilled", txs[0].hash]);
        assert.equal(await relayNonce(), nonceBefore + 1);
      } finally {
        await setAutomine(true);
      }
    });

    it("is cancelled, never re-broadcast, once the deadline is near: late, no fulfilment mined, the buyer refunds", async () => {
      const { from, requestId, nonceBefore } = await stuckSetup();
      try {
        const { relay } = relayOver("stuck-late.sqlite", from, { SCMPC_RELAY_REPLACE_AFTER_MS: "300" });
        await relay.pollOnce();
        const [fulfilment] = txsOf("stuck-late.sqlite", requestId);
        // The node drops it; then the deadline passes in an empty block.
        await chain.provider.send("hardhat_dropTransaction", [fulfilment.hash]);
        await chain.provider.send("evm_increaseTime", [chain.addresses.requestTimeout + 5]);
        await chain.mine(1);
        await relay.pollOnce();
        const txs = txsOf("stuck-late.sqlite", requestId);
        assert.deepEqual(txs.map((t) => t.kind), ["fulfil", "cancel"], "its nonce is taken back by a cancellation");
        assert.equal(await chain.provider.getTransaction(fulfilment.hash), null, "the late fulfilment was not re-broadcast");
        assert.equal(txs[1].nonce, fulfilment.nonce);

        await chain.mine(1);
        await relay.pollOnce();
        await relay.stop();
        const row = rowOf("stuck-late.sqlite", requestId)!;
        assert.equal(row.state, "late");
        assert.equal((await chain.fulfilmentTxs(from)).get(requestId.toLowerCase()), undefined, "no fulfilment mined");
        assert.equal(await relayNonce(), nonceBefore + 1, "the cancellation used the nonce");
      } finally {
        await setAutomine(true);
      }
      await (await (chain.market.connect(chain.buyer) as Contract).refund(requestId)).wait();
      assert.equal(await statusOf(requestId), STATUS.Refunded);
    });
  });
});
