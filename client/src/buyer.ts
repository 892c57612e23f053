import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { Contract, hexlify, keccak256, toUtf8Bytes } from "ethers";
import type { Signer } from "ethers";
import { loadArtifact } from "@scmpc/contracts";
import { decodeFixedPoint, generateBuyerKeyPair, openResult } from "@scmpc/mpc-engine";
import type { StackState } from "./state.ts";

/** Algorithms a buyer can request, and the market contract that sells each. */
export const ALGORITHMS = { sum: "sum@1" } as const;
export type AlgorithmName = keyof typeof ALGORITHMS;

/** On-chain request status, as `SumComputation.RequestStatus`. */
const STATUS = ["None", "Pending", "Fulfilled", "Failed", "Refunded"] as const;

/** A computation bought and decrypted. */
export interface PurchasedResult {
  requestId: string;
  algorithm: string;
  datasetId: string;
  column: string;
  /** The decrypted result as a decimal string, in the column's units. */
  result: string;
  price: string;
  txHash: string;
}

/** The job ended without a result; the price went back to the buyer's withdrawable balance. */
export class ComputationFailedError extends Error {
  readonly code = "COMPUTATION_FAILED";
  constructor(readonly requestId: string) {
    super(`computation ${requestId} failed on the MPC hosts; the price was refunded to your withdrawable balance`);
    this.name = "ComputationFailedError";
  }
}

/** Reads the column's fixed-point scale from the dataset's registration event, checked against the on-chain schema hash. */
async function columnScale(registry: Contract, datasetId: string, schemaHash: string, column: string): Promise<number> {
  const logs = await registry.queryFilter(registry.filters.DatasetRegistered(datasetId));
  const schemaText = logs.map((log) => (log as unknown as { args: { schema: string } }).args.schema).find(
    (text) => keccak256(toUtf8Bytes(text)) === schemaHash,
  );
  if (schemaText === undefined) throw new Error(`the schema of dataset ${datasetId} is not on-chain`);
  const schema = JSON.parse(schemaText) as { columns: { name: string; scale: number }[] };
  const entry = schema.columns.find((c) => c.name === column);
  if (!entry) throw new Error(`dataset ${datasetId} has no column "${column}"; it has: ${schema.columns.map((c) => c.name).join(", ")}`);
  return entry.scale;
}

/**
 * Buys one computation: approves and escrows the price, sends the request
 * with a fresh X25519 key, waits for the fulfilment, decrypts the three
 * output shares, checks that they agree and adds them up.
 *
 * @example
 * const { result } = await buyComputation({ state, buyer, algorithm: "sum", datasetId, column: "salary" });
 */
export async function buyComputation(options: {
  state: StackState;
  buyer: Signer;
  algorithm: AlgorithmName;
  datasetId: string;
  column: string;
  /** Where the buyer's per-request private key is kept (so a result can be decrypted again). */
  keyDir: string;
  timeoutMs?: number;
}): Promise<PurchasedResult> {
  const { state, buyer, datasetId, column } = options;
  if (!/^0x[0-9a-fA-F]{64}$/.test(datasetId)) throw new Error(`--dataset must be a 0x-prefixed 32-byte dataset id; got "${datasetId}"`);
  const registry = new Contract(state.contracts.registry, loadArtifact("DatasetRegistry").abi, buyer);
  const market = new Contract(state.contracts.sumComputation, loadArtifact("SumComputation").abi, buyer);
  const token = new Contract(state.contracts.paymentToken, loadArtifact("DevPaymentToken").abi, buyer);

  if (!(await registry.isRegistered(datasetId))) throw new Error(`no dataset ${datasetId} is registered`);
  const dataset = await registry.getDataset(datasetId);
  if (!dataset.active) throw new Error(`dataset ${datasetId} is not for sale at the moment (its seller paused it)`);
  const scale = await columnScale(registry, datasetId, dataset.schemaHash, column);
  const price: bigint = dataset.price;
  const buyerAddress = await buyer.getAddress();
  const balance: bigint = await token.balanceOf(buyerAddress);
  if (balance < price) throw new Error(`the price is ${price} token units but ${buyerAddress} holds ${balance}`);
  const allowance: bigint = await token.allowance(buyerAddress, state.contracts.sumComputation);
  if (allowance < price) await (await token.approve(state.contracts.sumComputation, price)).wait();

  const keys = generateBuyerKeyPair();
  const tx = await market.requestComputation(datasetId, column, hexlify(keys.publicKey));
  const receipt = await tx.wait();
  const requested = receipt.logs
    .map((log: { topics: string[]; data: string }) => {
      try {
        return market.interface.parseLog(log);
      } catch {
        return null;
      }
    })
    .find((parsed: { name: string } | null) => parsed?.name === "ComputationRequested");
  if (!requested) throw new Error(`transaction ${tx.hash} emitted no ComputationRequested event`);
  const requestId: string = requested.args.requestId;
  await mkdir(options.keyDir, { recursive: true, mode: 0o700 });
  await writeFile(path.join(options.keyDir, `${requestId}.key`), hexlify(keys.privateKey) + "\n", { mode: 0o600 });

  const deadline = Date.now() + (options.timeoutMs ?? 120_000);
  for (;;) {
    const request = await market.getRequest(requestId);
    const status = STATUS[Number(request.status)];
    if (status === "Fulfilled") {
      const [value] = openResult({ requestId, buyerPrivateKey: keys.privateKey, result: request.result });
      return {
        requestId,
        algorithm: ALGORITHMS[options.algorithm],
        datasetId,
        column,
        result: decodeFixedPoint(value, scale),
        price: price.toString(),
        txHash: tx.hash,
      };
    }
    if (status === "Failed" || status === "Refunded") throw new ComputationFailedError(requestId);
    if (Date.now() > deadline) {
      throw new Error(`request ${requestId} was not fulfilled within ${(options.timeoutMs ?? 120_000) / 1000} s; is the relay running?`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
