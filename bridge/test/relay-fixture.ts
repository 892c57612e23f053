/**
 * A real chain for the relay's tests: a `hardhat node` process on a free
 * loopback port with the whole market deployed by `deployLocalMarket` (the
 * real Chainlink Operator), one dataset, a buyer ready to pay, and a fake
 * bridge (an HTTP server) that answers like the real one, signing results
 * with the registered hosts' keys.
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { AbiCoder, Contract, HDNodeWallet, JsonRpcProvider, keccak256, MaxUint256, Mnemonic, parseEther, toUtf8Bytes, Wallet, getBytes } from "ethers";
import { algorithmId, deployLocalMarket, loadArtifact } from "@scmpc/contracts";
import type { MarketAddresses } from "@scmpc/contracts";
import { operatorInterface } from "../src/relay/oracle-request.ts";

const REPO_ROOT = path.resolve(fileURLToPath(import.meta.url), "../../..");
const MNEMONIC = Mnemonic.fromPhrase("test test test test test test test test test test test junk");
const abi = AbiCoder.defaultAbiCoder();

/** Hardhat's development account `index` (funded with ETH on the local node). */
export function devKey(index: number): string {
  return HDNodeWallet.fromMnemonic(MNEMONIC, `m/44'/60'/0'/0/${index}`).privateKey;
}

function hardhatCli(): string {
  const require = createRequire(path.join(REPO_ROOT, "contracts", "package.json"));
  const pkgPath = require.resolve("hardhat/package.json");
  const pkg = require(pkgPath) as { bin: string | Record<string, string> };
  return path.join(path.dirname(pkgPath), typeof pkg.bin === "string" ? pkg.bin : pkg.bin.hardhat);
}

async function freePort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export const STATUS = { None: 0n, Pending: 1n, Fulfilled: 2n, Failed: 3n, Refunded: 4n } as const;

/**
 * The relay's tests buy differentially private answers (the relay carries
 * them as any other): ε 1 per request, out of a budget large enough for every
 * request the tests send.
 */
export const RELAY_TEST_EPSILON = 1000;
export const RELAY_TEST_BUDGET = 1_000_000;

export interface TestChain {
  rpcUrl: string;
  provider: JsonRpcProvider;
  addresses: MarketAddresses;
  relayKey: string;
  /** A second authorized sender of the Operator: "someone else" who may fulfil first. */
  other: Wallet;
  buyer: Wallet;
  market: Contract;
  operator: Contract;
  hostSigners: Wallet[];
  datasetId: string;
  /** Sends a buyer's request; resolves to its requestId and block. */
  request(): Promise<{ requestId: string; blockNumber: number }>;
  /** The OracleRequest arguments of a request, as the Operator logged them. */
  oracleRequest(requestId: string): Promise<{ payment: bigint; callbackAddr: string; callbackFunctionId: string; cancelExpiration: bigint }>;
  mine(blocks: number): Promise<void>;
  /** fulfillOracleRequest2 transactions per request id (mined, reverted or not) since `fromBlock`. */
  fulfilmentTxs(fromBlock: number): Promise<Map<string, string[]>>;
  stop(): Promise<void>;
}

/**
 * Starts a Hardhat node and deploys the market with one dataset.
 *
 * @example
 * const chain = await startTestChain(); after(() => chain.stop());
 */
export async function startTestChain(): Promise<TestChain> {
  const port = await freePort();
  const rpcUrl = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(process.execPath, [hardhatCli(), "node", "--hostname", "127.0.0.1", "--port", String(port)], {
    cwd: path.join(REPO_ROOT, "contracts"),
    stdio: "ignore",
  });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  const stopNode = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      await exited;
    }
  };
  try {
    for (let tries = 0; ; tries++) {
      try {
        const res = await fetch(rpcUrl, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }) });
        if (res.ok) break;
      } catch {
        // not listening yet
      }
      if (tries > 300 || child.exitCode !== null) throw new Error("hardhat node did not start");
      await new Promise((r) => setTimeout(r, 100));
    }
    const provider = new JsonRpcProvider(rpcUrl, undefined, { staticNetwork: true, cacheTimeout: -1 });
    const deployer = new Wallet(devKey(0), provider);
    const relayKey = devKey(1);
    const seller = new Wallet(devKey(2), provider);
    const buyer = new Wallet(devKey(3), provider);
    const other = new Wallet(devKey(4), provider);
    const hostSigners = [0, 1, 2].map((i) => new Wallet(keccak256(toUtf8Bytes(`relay test host ${i}`))));
    const addresses = await deployLocalMarket({
      deployer,
      relay: new Wallet(relayKey).address,
      algorithms: ["sum@1"],
      fund: [
        { address: seller.address, amount: parseEther("1000") },
        { address: buyer.address, amount: parseEther("100000") },
      ],
      hosts: hostSigners.map((w, i) => ({ operator: w.address, signer: w.address, endpoint: `127.0.0.1:${50051 + i}`, tlsFingerprint: keccak256(toUtf8Bytes(`tls ${i}`)) })),
    });
    const operator = new Contract(addresses.operator, loadArtifact("Operator").abi, deployer);
    await (await operator.setAuthorizedSenders([new Wallet(relayKey).address, other.address])).wait();
    const token = new Contract(addresses.paymentToken, loadArtifact("DevPaymentToken").abi, provider);
    const registry = new Contract(addresses.registry, loadArtifact("DatasetRegistry").abi, seller);
    const market = new Contract(addresses.algorithms["sum@1"], loadArtifact("AlgorithmComputation").abi, buyer);
    await (await (token.connect(seller) as Contract).approve(addresses.registry, MaxUint256)).wait();
    const schema = JSON.stringify({ columns: [{ name: "cost", scale: 0 }] });
    const commitments = [0, 1, 2].map((i) => keccak256(toUtf8Bytes(`share ${i}`)));
    await (
      await registry.registerDataset("relay-test", schema, 10n, parseEther("2"), commitments, { allowedAlgorithms: [algorithmId("sum@1")], minRows: 0n, budget: RELAY_TEST_BUDGET, exactAlgorithms: [] }, BigInt(addresses.minStake))
    ).wait();
    const datasetId = (await registry.datasetId(seller.address, "relay-test")) as string;
    await (await (token.connect(buyer) as Contract).approve(addresses.algorithms["sum@1"], MaxUint256)).wait();

    const requestTopic = operatorInterface.getEvent("OracleRequest")!.topicHash;
    const fulfilSelector = operatorInterface.getFunction("fulfillOracleRequest2")!.selector;
    return {
      rpcUrl,
      provider,
      addresses,
      relayKey,
      other,
      buyer,
      market,
      operator,
      hostSigners,
      datasetId,
      async request() {
        const tx = await market.requestComputation([datasetId], JSON.stringify({ column: "cost" }), keccak256(toUtf8Bytes("buyer key")), MaxUint256, RELAY_TEST_EPSILON, { gasLimit: 600_000n });
        const receipt = (await tx.wait())!;
        const log = receipt.logs.find((l: { topics: readonly string[] }) => l.topics[0] === requestTopic)!;
        const parsed = operatorInterface.parseLog(log)!;
        return { requestId: parsed.args.requestId as string, blockNumber: receipt.blockNumber };
      },
      async oracleRequest(requestId) {
        const logs = await provider.getLogs({ address: addresses.operator, topics: [requestTopic], fromBlock: 0 });
        for (const log of logs) {
          const a = operatorInterface.parseLog(log)!.args;
          if ((a.requestId as string).toLowerCase() === requestId.toLowerCase()) {
            return { payment: a.payment, callbackAddr: a.callbackAddr, callbackFunctionId: a.callbackFunctionId, cancelExpiration: a.cancelExpiration };
          }
        }
        throw new Error(`no OracleRequest for ${requestId}`);
      },
      async mine(blocks) {
        for (let i = 0; i < blocks; i++) await provider.send("evm_mine", []);
      },
      async fulfilmentTxs(fromBlock) {
        const found = new Map<string, string[]>();
        const head = await provider.getBlockNumber();
        for (let n = fromBlock; n <= head; n++) {
          const block = await provider.getBlock(n, true);
          for (const tx of block?.prefetchedTransactions ?? []) {
            if (tx.to?.toLowerCase() !== addresses.operator.toLowerCase() || !tx.data.startsWith(fulfilSelector)) continue;
            const id = (operatorInterface.decodeFunctionData("fulfillOracleRequest2", tx.data)[0] as string).toLowerCase();
            found.set(id, [...(found.get(id) ?? []), tx.hash]);
          }
        }
        return found;
      },
      async stop() {
        provider.destroy();
        await stopNode();
      },
    };
  } catch (err) {
    await stopNode();
    throw err;
  }
}

/**
 * The payload the real bridge answers: abi.encode(result, the three hosts'
 * signatures over it), each over the contract's `fulfillmentDigest`
 * (chain id, consumer, request id, result hash).
 */
export async function signedPayload(hostSigners: Wallet[], requestId: string, result: string, consumer: string, chainId = 31337n): Promise<string> {
  const digest = keccak256(abi.encode(["uint256", "address", "bytes32", "bytes32"], [chainId, consumer, requestId, keccak256(result)]));
  const signatures = await Promise.all(hostSigners.map((w) => w.signMessage(getBytes(digest))));
  return abi.encode(["bytes", "bytes[3]"], [result, signatures]);
}

/** One call the fake bridge received. */
export interface BridgeRequestSeen {
  body: { id?: string; data: Record<string, string> };
  authorization: string | undefined;
}

/** What the fake bridge answers to one call. */
export type FakeAnswer = { status: number; body: unknown };

export interface FakeBridge {
  url: string;
  calls: BridgeRequestSeen[];
  /** Replaces how the bridge answers. */
  answer: (call: BridgeRequestSeen) => Promise<FakeAnswer>;
  close(): Promise<void>;
}

/**
 * A fake SC-MPC bridge on 127.0.0.1 (port 0). By default it answers every
 * request with a result signed by `hostSigners`.
 *
 * @example
 * const bridge = await startFakeBridge(chain.hostSigners);
 */
export async function startFakeBridge(hostSigners: Wallet[]): Promise<FakeBridge> {
  const fake: FakeBridge = {
    url: "",
    calls: [],
    answer: async (call) => {
      const result = await signedPayload(hostSigners, call.body.data.requestId, "0xc0ffee", call.body.data.consumer);
      return { status: 200, body: { jobRunID: call.body.id, statusCode: 200, data: { result }, result } };
    },
    close: async () => {},
  };
  const server = http.createServer(async (req, res) => {
    let text = "";
    for await (const chunk of req) text += chunk;
    const call = { body: JSON.parse(text), authorization: req.headers.authorization };
    fake.calls.push(call);
    const { status, body } = await fake.answer(call);
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake.close = () => new Promise((resolve) => server.close(() => resolve()));
  return fake;
}

/**
 * The environment a test relay runs with over `chain` and a fake `bridge`:
 * the market's factory and LINK fee as its filters, its store a file in
 * `dir`, quick retries; `env` adds or overrides variables.
 *
 * @example
 * const config = loadRelayConfig(relayEnv(chain, bridge, { dir, store: "a.sqlite", fromBlock }));
 */
export function relayEnv(
  chain: TestChain,
  bridge: FakeBridge,
  where: { dir: string; store: string; fromBlock: number },
  env: Record<string, string> = {},
): Record<string, string> {
  return {
    SCMPC_RPC_URL: chain.rpcUrl,
    SCMPC_OPERATOR_ADDRESS: chain.addresses.operator,
    SCMPC_FACTORY_ADDRESS: chain.addresses.factory,
    SCMPC_RELAY_MIN_PAYMENT: chain.addresses.linkFee,
    SCMPC_RELAY_PRIVATE_KEY: chain.relayKey,
    SCMPC_BRIDGE_URL: bridge.url,
    SCMPC_RELAY_STORE: path.join(where.dir, where.store),
    SCMPC_RELAY_FROM_BLOCK: String(where.fromBlock),
    SCMPC_RELAY_BRIDGE_BACKOFF_MS: "5",
    ...env,
  };
}
