import { Transaction } from "ethers";
import type { Provider } from "ethers";

/** The fees of one transaction: EIP-1559 where the chain has a base fee, legacy `gasPrice` where it has none. */
export type TxFees = { type: 2; maxFeePerGas: bigint; maxPriorityFeePerGas: bigint } | { type: 0; gasPrice: bigint };

const min = (a: bigint, b: bigint) => (a < b ? a : b);
const max = (a: bigint, b: bigint) => (a > b ? a : b);

/**
 * A fee raised by at least 12.5% (rounded up, and by at least 1 wei): more
 * than the 10% geth, Hardhat and most nodes require of a replacement.
 */
export function bumped(fee: bigint): bigint {
  const raised = (fee * 9n + 7n) / 8n;
  return raised > fee ? raised : fee + 1n;
}

/**
 * What the chain asks for now, never above `cap` (wei): EIP-1559 fees when
 * the latest block has a base fee (ethers' `maxFeePerGas` = 2 × base fee +
 * priority fee), `gasPrice` otherwise.
 *
 * @example
 * const fees = await currentFees(provider, parseUnits("500", "gwei"));
 */
export async function currentFees(provider: Provider, cap: bigint): Promise<TxFees> {
  const [block, data] = await Promise.all([provider.getBlock("latest"), provider.getFeeData()]);
  if (block?.baseFeePerGas != null) {
    const priority = data.maxPriorityFeePerGas ?? 1_000_000_000n;
    const maxFeePerGas = min(cap, data.maxFeePerGas ?? block.baseFeePerGas * 2n + priority);
    return { type: 2, maxFeePerGas, maxPriorityFeePerGas: min(priority, maxFeePerGas) };
  }
  return { type: 0, gasPrice: min(cap, data.gasPrice ?? 1_000_000_000n) };
}

/**
 * The fees a signed transaction carries.
 *
 * @example
 * feesOf(row.fulfilTxRaw) // { type: 2, maxFeePerGas: 1000000000n, maxPriorityFeePerGas: 1000000000n }
 */
export function feesOf(raw: string): TxFees {
  const tx = Transaction.from(raw);
  if (tx.maxFeePerGas !== null && tx.maxPriorityFeePerGas !== null) {
    return { type: 2, maxFeePerGas: tx.maxFeePerGas, maxPriorityFeePerGas: tx.maxPriorityFeePerGas };
  }
  return { type: 0, gasPrice: tx.gasPrice ?? 0n };
}

/**
 * The fees of a replacement for a transaction signed with `previous`: each
 * fee raised by at least 12.5%, or to what the chain asks for now if that is
 * more, and never above `cap`. Undefined when a 12.5% raise would pass the
 * cap: a smaller raise would be refused as underpriced, so the stuck
 * transaction is left to be mined as it is.
 *
 * @example
 * const fees = bumpFees(feesOf(raw), await currentFees(provider, cap), cap);
 * if (fees) replaceWith(fees);
 */
export function bumpFees(previous: TxFees, current: TxFees, cap: bigint): TxFees | undefined {
  if (previous.type === 2) {
    const floorMax = bumped(previous.maxFeePerGas);
    const floorPriority = bumped(previous.maxPriorityFeePerGas);
    if (floorMax > cap || floorPriority > cap) return undefined;
    const nowMax = current.type === 2 ? current.maxFeePerGas : current.gasPrice;
    const nowPriority = current.type === 2 ? current.maxPriorityFeePerGas : 0n;
    const maxFeePerGas = min(cap, max(floorMax, nowMax));
    return { type: 2, maxFeePerGas, maxPriorityFeePerGas: min(maxFeePerGas, max(floorPriority, nowPriority)) };
  }
  const floor = bumped(previous.gasPrice);
  if (floor > cap) return undefined;
  const now = current.type === 0 ? current.gasPrice : current.maxFeePerGas;
  return { type: 0, gasPrice: min(cap, max(floor, now)) };
}
