import { AbiCoder, Transaction } from "ethers";
import type { Contract, Provider, TransactionRequest, Wallet } from "ethers";
import type { TxFees } from "./fulfilment-fees.ts";
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

/**
 * What a dry run of the fulfilment says. `callbackSucceeds` is the Operator's
 * return value: false when the consumer's callback would fail (the Operator
 * does not revert then; it still takes the payment and closes the request).
 */
export type DryRun = { ok: true; callbackSucceeds: boolean } | { ok: false; closed: boolean; reason: string };

/**
 * Dry-runs `fulfillOracleRequest2` (eth_call). A revert with
 * {@link NO_COMMITMENT_REASON} means the request is closed for good
 * (fulfilled, cancelled or unknown); any other revert (an unauthorized
 * sender, mismatched parameters) is an operator's problem and is not final.
 * Errors other than reverts (the RPC is down) are thrown.
 *
 * @example
 * const dry = await dryRunFulfilment(operator, fulfilArgs(request, payload), 600_000);
 * if (dry.ok && !dry.callbackSucceeds) log.warn("the consumer's callback would fail");
 */
export async function dryRunFulfilment(operator: Contract, args: ReturnType<typeof fulfilArgs>, gasLimit: number): Promise<DryRun> {
  try {
    const callbackSucceeds = (await operator.fulfillOracleRequest2.staticCall(...args, { gasLimit })) as boolean;
    return { ok: true, callbackSucceeds };
  } catch (err) {
    const e = err as { code?: string; reason?: string | null; shortMessage?: string; message: string };
    if (e.code !== "CALL_EXCEPTION") throw err;
    const reason = e.reason ?? e.shortMessage ?? e.message;
    return { ok: false, closed: reason.includes(NO_COMMITMENT_REASON), reason };
  }
}

/** A signed transaction, recorded before it is broadcast. */
export interface SignedTx {
  hash: string;
  raw: string;
  nonce: number;
}

/** How a transaction is sent: its gas limit, nonce and fees, all explicit so that a replacement can reuse and raise them. */
export interface SendParams {
  gasLimit: number;
  nonce: number;
  fees: TxFees;
}

async function sign(wallet: Wallet, tx: TransactionRequest, params: SendParams): Promise<SignedTx> {
  const fees = params.fees.type === 2 ? { type: 2, maxFeePerGas: params.fees.maxFeePerGas, maxPriorityFeePerGas: params.fees.maxPriorityFeePerGas } : { type: 0, gasPrice: params.fees.gasPrice };
  const populated = await wallet.populateTransaction({ ...tx, ...fees, gasLimit: params.gasLimit, nonce: params.nonce });
  const raw = await wallet.signTransaction(populated);
  return { hash: Transaction.from(raw).hash!, raw, nonce: params.nonce };
}

/**
 * Signs (without sending) the `fulfillOracleRequest2` transaction with an
 * explicit gas limit (estimates are unreliable because the Operator requires
 * 400k gas left for the callback; see `fulfilmentGasLimit`), nonce and fees.
 *
 * @example
 * const tx = await signFulfilment(wallet, operatorAddress, args, { gasLimit: 578_720, nonce: 7, fees });
 * store.markSent(requestId, tx); await provider.broadcastTransaction(tx.raw);
 */
export async function signFulfilment(wallet: Wallet, operatorAddress: string, args: ReturnType<typeof fulfilArgs>, params: SendParams): Promise<SignedTx> {
  return sign(wallet, { to: operatorAddress, data: operatorInterface.encodeFunctionData("fulfillOracleRequest2", [...args]) }, params);
}

/** Gas of a plain transfer: what a cancellation costs. */
export const CANCEL_GAS_LIMIT = 21_000;

/**
 * Signs a cancellation of whatever the account sent with `nonce`: a 0-value
 * transfer to itself with higher fees. It takes the nonce of a fulfilment that
 * must not be mined any more (the request's deadline came), so the
 * fulfilments signed after it with later nonces are not held up behind it.
 *
 * @example
 * const cancel = await signCancellation(wallet, { gasLimit: CANCEL_GAS_LIMIT, nonce: 7, fees: bumpFees(old, now, cap)! });
 */
export async function signCancellation(wallet: Wallet, params: SendParams): Promise<SignedTx> {
  return sign(wallet, { to: wallet.address, value: 0n, data: "0x" }, params);
}
