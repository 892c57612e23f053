import { AbiCoder, Transaction } from "ethers";
import type { Contract, Provider, Wallet } from "ethers";
import { operatorInterface } from "./oracle-request.ts";
import type { OracleRequest } from "./oracle-request.ts";

const ORACLE_RESPONSE_TOPIC = operatorInterface.getEvent("OracleResponse")!.topicHash;
const MAX_BLOCK_RANGE = 2_000;

/** The Operator's revert reason when a request has no commitment (fulfilled, cancelled or never made). */
export const NO_COMMITMENT_REASON = "Must have a valid requestId";

/**
 * The `fulfillOracleRequest2` arguments answering `request` with `payload`:
 * data = abi.encode(requestId, payload), what a Chainlink node's `encode_data`
 * and `encode_tx` tasks build. An empty payload is the error answer.
 *
 * @example
 * const args = fulfilArgs(request, "0x");
 */
export function fulfilArgs(request: OracleRequest, payload: string) {
  const data = AbiCoder.defaultAbiCoder().encode(["bytes32", "bytes"], [request.requestId, payload]);
  return [request.requestId, request.payment, request.callbackAddr, request.callbackFunctionId, request.cancelExpiration, data] as const;
}

/**
 * Finds the Operator's `OracleResponse(requestId)` event from `fromBlock` on:
 * it is emitted exactly once, by whichever authorized sender fulfilled the
 * request first.
 *
 * @example
 * const response = await findOracleResponse(provider, operatorAddress, requestId, request.blockNumber);
 */
export async function findOracleResponse(
  provider: Provider,
  operatorAddress: string,
  requestId: string,
  fromBlock: number,
): Promise<{ transactionHash: string; blockNumber: number } | undefined> {
  const head = await provider.getBlockNumber();
  for (let from = fromBlock; from <= head; from += MAX_BLOCK_RANGE) {
    const logs = await provider.getLogs({
      address: operatorAddress,
      topics: [ORACLE_RESPONSE_TOPIC, requestId],
      fromBlock: from,
      toBlock: Math.min(head, from + MAX_BLOCK_RANGE - 1),
    });
    const found = logs.find((l) => !l.removed);
    if (found) return { transactionHash: found.transactionHash, blockNumber: found.blockNumber };
  }
  return undefined;
}

/** What a dry run of the fulfilment says. */
export type DryRun = { ok: true } | { ok: false; closed: boolean; reason: string };

/**
 * Dry-runs `fulfillOracleRequest2` (eth_call). A revert with
 * {@link NO_COMMITMENT_REASON} means the request is closed for good
 * (fulfilled, cancelled or unknown); any other revert (an unauthorized
 * sender, mismatched parameters) is an operator's problem and is not final.
 * Errors other than reverts (the RPC is down) are thrown.
 *
 * @example
 * const dry = await dryRunFulfilment(operator, fulfilArgs(request, payload), 1_000_000);
 */
export async function dryRunFulfilment(operator: Contract, args: ReturnType<typeof fulfilArgs>, gasLimit: number): Promise<DryRun> {
  try {
    await operator.fulfillOracleRequest2.staticCall(...args, { gasLimit });
    return { ok: true };
  } catch (err) {
    const e = err as { code?: string; reason?: string | null; shortMessage?: string; message: string };
    if (e.code !== "CALL_EXCEPTION") throw err;
    const reason = e.reason ?? e.shortMessage ?? e.message;
    return { ok: false, closed: reason.includes(NO_COMMITMENT_REASON), reason };
  }
}

/** A signed fulfilment transaction, recorded before it is broadcast. */
export interface SignedFulfilment {
  hash: string;
  raw: string;
  nonce: number;
}

/**
 * Signs (without sending) the `fulfillOracleRequest2` transaction with
 * `nonce` (default: the account's next nonce as the node counts it) and an explicit gas limit (estimates are unreliable
 * because the Operator requires 400k gas left for the callback).
 *
 * @example
 * const tx = await signFulfilment(wallet, operatorAddress, args, 1_000_000);
 * store.markSent(requestId, tx); await provider.broadcastTransaction(tx.raw);
 */
export async function signFulfilment(
  wallet: Wallet,
  operatorAddress: string,
  args: ReturnType<typeof fulfilArgs>,
  gasLimit: number,
  nonce?: number,
): Promise<SignedFulfilment> {
  nonce ??= await wallet.provider!.getTransactionCount(wallet.address, "pending");
  const populated = await wallet.populateTransaction({
    to: operatorAddress,
    data: operatorInterface.encodeFunctionData("fulfillOracleRequest2", [...args]),
    gasLimit,
    nonce,
  });
  const raw = await wallet.signTransaction(populated);
  return { hash: Transaction.from(raw).hash!, raw, nonce };
}
