// Shared by the adversarial tests: the real local stack (Hardhat node,
// Chainlink Operator, three host processes, bridge, relay), a seller's
// dataset, a buyer that pays, and the views an attacker or a judge needs.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { request as httpsRequest } from "node:https";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import { Contract, hexlify, JsonRpcProvider, NonceManager } from "ethers";
import type { Signer, TransactionReceipt } from "ethers";
import { loadArtifact } from "@scmpc/contracts";
import { generateBuyerKeyPair } from "@scmpc/mpc-engine";
import { loadMpcV1, type ReleaseKeyResponse } from "@scmpc/protos";
import { hostApiChannelOptions, hostApiCredentials } from "@scmpc/mpc-engine/tls";
import { resolveSigner } from "../../client/src/accounts.ts";
import { stopProcess } from "../../client/src/processes.ts";
import { uploadDataset, type UploadedDataset } from "../../client/src/seller.ts";
import { startLocalStack, type LocalStack } from "../../client/src/stack.ts";

export const ROOT = path.resolve(fileURLToPath(import.meta.url), "../../..");
export const SAMPLE = path.join(ROOT, "client", "samples", "salaries.csv");
export const STATUS = { None: 0n, Pending: 1n, Fulfilled: 2n, Failed: 3n, Refunded: 4n } as const;

/** A running stack and the parties of the market on it. */
export interface Market {
  stack: LocalStack;
  provider: JsonRpcProvider;
  seller: Signer;
  buyer: Signer;
  /** Raw JSON-RPC (the node's test methods: automine, time, storage). */
  rpc(method: string, params?: unknown[]): Promise<unknown>;
  /** The algorithm contract of `algorithm`, connected to `signer` (default: the buyer). */
  computation(algorithm: string, signer?: Signer): Contract;
  close(): Promise<void>;
}

/**
 * Starts the whole stack in a temporary directory, with the development
 * seller and buyer.
 *
 * @example
 * const market = await startMarket(); after(() => market.close());
 */
export async function startMarket(options: { logLevel?: string } = {}): Promise<Market> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "scmpc-adversarial-"));
  const stack = await startLocalStack({ dir, logLevel: options.logLevel });
  const provider = new JsonRpcProvider(stack.state.rpcUrl, stack.state.chainId, { staticNetwork: true, cacheTimeout: -1 });
  const buyer = new NonceManager(resolveSigner({ defaultRole: "buyer" }, provider));
  const seller = new NonceManager(resolveSigner({ defaultRole: "seller" }, provider));
  return {
    stack,
    provider,
    seller,
    buyer,
    rpc: (method, params = []) => provider.send(method, params),
    computation: (algorithm, signer = buyer) => new Contract(stack.state.contracts.algorithms[algorithm], loadArtifact("AlgorithmComputation").abi, signer),
    async close() {
      provider.destroy();
      await stack.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The seller lists the sample salaries (10 rows) under `name`, allowing
 * exact answers of the algorithms in `exact` (default none: every answer
 * differentially private).
 */
export function sellSalaries(market: Market, name: string, options: { price?: string; exact?: string[] } = {}): Promise<UploadedDataset> {
  return uploadDataset({ state: market.stack.state, seller: market.seller, file: SAMPLE, name, columns: ["salary"], price: options.price ?? "2", exact: options.exact });
}

/** A purchase sent straight to the contract (no waiting): its id, key pair and receipt. */
export interface Purchase {
  requestId: string;
  consumer: string;
  keys: ReturnType<typeof generateBuyerKeyPair>;
  receipt: TransactionReceipt;
  price: bigint;
  fee: bigint;
}

/**
 * The buyer approves and requests `algorithm` over `datasetIds`, as the CLI
 * does, without waiting for the result, spending `epsilonMilli` of each
 * dataset's budget (0: an exact answer, which the sellers must allow). With
 * automine off, pass `mine` to mine the request's block.
 */
export async function request(
  market: Market,
  algorithm: string,
  datasetIds: string[],
  params: string,
  options: { epsilonMilli: number; mine?: boolean },
): Promise<Purchase> {
  const computation = market.computation(algorithm);
  const registry = new Contract(market.stack.state.contracts.registry, loadArtifact("DatasetRegistry").abi, market.provider);
  let price = 0n;
  for (const id of datasetIds) price += ((await registry.getDataset(id)).price as bigint);
  const fee: bigint = await computation.operatorFee();
  const token = new Contract(market.stack.state.contracts.paymentToken, loadArtifact("DevPaymentToken").abi, market.buyer);
  const keys = generateBuyerKeyPair();
  const approved = await token.approve(await computation.getAddress(), price + fee);
  if (options.mine) await market.rpc("evm_mine");
  await approved.wait();
  const sent = await computation.requestComputation(datasetIds, params, hexlify(keys.publicKey), price + fee, options.epsilonMilli, { gasLimit: 600_000n });
  if (options.mine) await market.rpc("evm_mine");
  const receipt = (await sent.wait()) as TransactionReceipt;
  const event = receipt.logs.map((l) => computation.interface.parseLog(l)).find((p) => p?.name === "ComputationRequested");
  if (!event) throw new Error("no ComputationRequested event");
  return { requestId: event.args.requestId as string, consumer: await computation.getAddress(), keys, receipt, price, fee };
}

/** Polls `until` every 100 ms for at most `timeoutMs`; throws `what` on time-out. */
export async function waitFor<T>(what: string, until: () => Promise<T | undefined | false>, timeoutMs = 120_000): Promise<T> {
  const giveUpAt = Date.now() + timeoutMs;
  for (;;) {
    const value = await until();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > giveUpAt) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Each host's answer to a public ReleaseKey call: the key, or its refusal (`CODE: message`). */
export async function askForKeys(market: Market, requestId: string, consumer: string): Promise<({ key: Buffer } | { refused: string })[]> {
  const { Host } = loadMpcV1();
  const tls = market.stack.state.hostTls;
  return Promise.all(
    market.stack.state.hosts.map(
      (endpoint, index) =>
        new Promise<{ key: Buffer } | { refused: string }>((resolve) => {
          const client = new Host(endpoint, hostApiCredentials(tls, index), hostApiChannelOptions(tls, index)) as unknown as grpc.Client & {
            ReleaseKey(r: object, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r?: ReleaseKeyResponse) => void): void;
          };
          client.ReleaseKey({ requestId, consumer }, { deadline: Date.now() + 15_000 }, (err, res) => {
            client.close();
            resolve(err ? { refused: err.details } : { key: Buffer.from(res!.key) });
          });
        }),
    ),
  );
}

/**
 * Asks each host for its release key through its web API (`POST /v1/release-key`, what a
 * browser calls), trusting the deployment's CA: the key, or the refusal's code and message.
 */
export async function askForKeysOverWeb(market: Market, requestId: string, consumer: string): Promise<({ key: Buffer } | { refused: string })[]> {
  const { hostTls, hostWebUrls } = market.stack.state;
  if (!hostTls || !hostWebUrls) throw new Error("the stack's hosts serve no web API over TLS");
  const ca = hostTls.ca;
  return Promise.all(
    hostWebUrls.map(
      (url) =>
        new Promise<{ key: Buffer } | { refused: string }>((resolve, reject) => {
          const body = JSON.stringify({ requestId, consumer });
          const req = httpsRequest(`${url}/v1/release-key`, { method: "POST", ca, headers: { "content-type": "application/json" }, timeout: 15_000 }, (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (chunk: Buffer) => chunks.push(chunk));
            res.on("end", () => {
              const answer = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { key?: string; error?: { code: string; message: string } };
              if (res.statusCode === 200 && answer.key) resolve({ key: Buffer.from(answer.key.slice(2), "hex") });
              else resolve({ refused: `${res.statusCode} ${answer.error?.code}: ${answer.error?.message}` });
            });
          });
          req.on("timeout", () => req.destroy(new Error(`${url} did not answer`)));
          req.on("error", reject);
          req.end(body);
        }),
    ),
  );
}

/** Stops one service of the stack (it can be started again with `stack.restart(name)`). */
export async function stopService(market: Market, name: string): Promise<void> {
  const proc = market.stack.processes.find((p) => p.name === name);
  if (!proc) throw new Error(`no running service ${name}`);
  await stopProcess(proc);
  market.stack.processes.splice(market.stack.processes.indexOf(proc), 1);
}

/** The relay's counts of requests by state (its `GET /health`). */
export async function relayCounts(market: Market): Promise<Record<string, number>> {
  return ((await (await fetch(market.stack.relayHealthUrl)).json()) as { requests: Record<string, number> }).requests;
}

/** A service's log so far. */
export function logOf(market: Market, name: string): Promise<string> {
  return readFile(path.join(market.stack.dir, "logs", `${name}.log`), "utf8").catch(() => "");
}
