// The benchmark's market on a local stack (chain, three host processes, no
// relay): a seller lists a dataset of the given columns through the hosts' upload, a
// buyer requests a computation on-chain, and the benchmark drives the hosts
// as the bridge does (Compute, SignResult), fulfils on-chain as the relay
// does and opens the result with the released keys as a buyer does. Every
// answer is decoded, for the caller to check against the plaintext.
import path from "node:path";
import { AbiCoder, Contract, hexlify, JsonRpcProvider, MaxUint256, NonceManager, Wallet } from "ethers";
import { createGrpcHostsClient } from "@scmpc/bridge";
import { devPrivateKey, DEV_ROLES, openFulfilledResult, sendFulfilment, shareAndUpload, startLocalStack } from "@scmpc/client";
import { algorithmId, loadArtifact, MARKET_ALGORITHMS } from "@scmpc/contracts";
import { decodeJob, generateBuyerKeyPair, packResult, planJob, schemaText, type AlgorithmResult, type QueryResult } from "../src/index.ts";

/** A benchmark column: its public bounds, and for a category column its dictionary. */
export interface BenchColumn {
  name: string;
  scale: number;
  lo: string;
  hi: string;
  type?: "category";
  categories?: string[];
}

export interface BenchMarket {
  /** The host processes' ids (host 0, 1, 2), for their memory. */
  hostPids: number[];
  /** Shares and uploads one vector of values per column as a new dataset (timed: share + upload, acknowledged durable by all three hosts), then registers it. */
  list(name: string, ...values: BigUint64Array[]): Promise<{ datasetId: string; uploadMs: number }>;
  /** One paid, exact request (a named algorithm, or `query@1` with `{ sql }`); `ms` from the Compute call to the three output shares. */
  compute(datasetId: string, rows: number, algorithm: string, params: object): Promise<{ ms: number; result: AlgorithmResult | QueryResult }>;
  close(): Promise<void>;
}

/** Algorithms the benchmark's datasets allow exactly (no ε spent), so answers are checked against the plaintext. */
const EXACT = ["mean@1", "count-if@1", "regression@1", "query@1"];

export async function openBenchMarket(dir: string, ...columns: BenchColumn[]): Promise<BenchMarket> {
  const stack = await startLocalStack({ dir: path.join(dir, "stack"), oracle: false, logLevel: "warn" });
  const provider = new JsonRpcProvider(stack.state.rpcUrl, stack.state.chainId, { staticNetwork: true });
  // The benchmark drives the hosts as the bridge does, with this stack's bridge key.
  const hosts = createGrpcHostsClient(stack.state.hosts, { tls: stack.state.hostTls, signer: new Wallet(stack.bridgeSigningKey) });
  const seller = new NonceManager(new Wallet(devPrivateKey(DEV_ROLES.seller), provider));
  const buyer = new NonceManager(new Wallet(devPrivateKey(DEV_ROLES.buyer), provider));
  const relay = new NonceManager(new Wallet(devPrivateKey(DEV_ROLES.relay), provider));
  const registryAbi = loadArtifact("DatasetRegistry").abi;
  const tokenAbi = loadArtifact("DevPaymentToken").abi;
  const registry = new Contract(stack.state.contracts.registry, registryAbi, seller);
  const approved = new Set<string>();

  return {
    hostPids: [0, 1, 2].map((i) => stack.state.pids[`host-${i}`]),
    async list(name, ...values) {
      if (values.length !== columns.length) throw new Error(`${columns.length} columns, ${values.length} vectors of values`);
      const datasetId: string = await registry.datasetId(await seller.getAddress(), name);
      const started = performance.now();
      const commitments = await shareAndUpload({ state: stack.state, seller, datasetId, name, columns: columns.map((column, c) => ({ ...column, values: values[c] })) });
      const uploadMs = performance.now() - started;
      // Registration as the seller's CLI does it: the stake approved, then locked by the registry.
      const stake: bigint = await registry.minStake();
      await (await new Contract(stack.state.contracts.paymentToken, tokenAbi, seller).approve(stack.state.contracts.registry, stake)).wait();
      const policy = { allowedAlgorithms: MARKET_ALGORITHMS.map(algorithmId), minRows: 0, budget: 0, exactAlgorithms: EXACT.map(algorithmId) };
      await (await registry.registerDataset(name, schemaText(columns), values[0].length, 1n, commitments, policy, stake)).wait();
      return { datasetId: datasetId.toLowerCase(), uploadMs };
    },
    async compute(datasetId, rows, algorithm, params) {
      const consumer = stack.state.contracts.algorithms[algorithm];
      const market = new Contract(consumer, loadArtifact("AlgorithmComputation").abi, buyer);
      if (!approved.has(consumer)) {
        await (await new Contract(stack.state.contracts.paymentToken, tokenAbi, buyer).approve(consumer, MaxUint256)).wait();
        approved.add(consumer);
      }
      const paramsText = JSON.stringify(params);
      const keys = generateBuyerKeyPair();
      const receipt = await (await market.requestComputation([datasetId], paramsText, hexlify(keys.publicKey), MaxUint256, 0)).wait();
      const requestId = receipt.logs
        .map((l: { topics: string[]; data: string }) => market.interface.parseLog(l))
        .find((p: { name: string } | null) => p?.name === "ComputationRequested").args.requestId;
      const started = performance.now();
      const { jobId, envelopes } = await hosts.compute({ requestId, algorithm, datasetIds: [datasetId], params: paramsText, buyerKey: hexlify(keys.publicKey), consumer }, 900_000);
      const ms = performance.now() - started;
      // Checked as a buyer would: fulfilled on-chain (by the relay's account), then opened with the released keys.
      const result = packResult(jobId, envelopes);
      const signatures = await hosts.signResult({ requestId, result, consumer }, 30_000);
      const payload = AbiCoder.defaultAbiCoder().encode(["bytes", "bytes[3]"], [result, signatures]);
      await sendFulfilment({ operatorAddress: stack.state.contracts.operator, sender: relay, requestReceipt: receipt, requestId, payload });
      const opened = await openFulfilledResult({ hosts: stack.state.hosts, tls: stack.state.hostTls, requestId, consumer, result, buyerPrivateKey: keys.privateKey });
      const plan = planJob(algorithm, paramsText, { columns }, { rowCount: BigInt(rows), epsilonMilli: 0, datasetIds: [datasetId] });
      return { ms, result: decodeJob(plan, opened).result };
    },
    async close() {
      hosts.close();
      provider.destroy();
      await stack.stop();
    },
  };
}
