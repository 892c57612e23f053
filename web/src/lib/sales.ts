import { Contract, formatUnits, type Provider } from "ethers";
import { formatEpsilon, loadArtifact } from "@scmpc/contracts";
import { PAYMENT_DECIMALS } from "../../../client/src/dataset-policy.ts";
import type { StackState } from "../../../client/src/state.ts";

/** One computation bought on the market, as its events tell it. */
export interface Sale {
  requestId: string;
  algorithm: string;
  buyer: string;
  datasetIds: string[];
  params: string;
  /** ε spent per dataset ("0" for an exact answer). */
  epsilon: string;
  /** Price and fee escrowed, mUSD. */
  price: string;
  fee: string;
  status: "Pending" | "Fulfilled" | "Failed" | "Refunded";
  /** After this time (unix seconds, chain time) a pending request may be refunded. */
  deadline: number;
  block: number;
  /** When it was requested (block time, ISO 8601). */
  at: string;
}

const STATUS = ["None", "Pending", "Fulfilled", "Failed", "Refunded"] as const;

/**
 * Computations requested on the market, newest first: those naming
 * `datasetId`, or those bought by `buyer`; at most `limit`.
 *
 * @example
 * const recent = await salesOf({ state, provider, datasetId: id, limit: 10 });
 */
export async function salesOf(options: { state: StackState; provider: Provider; datasetId?: string; buyer?: string; limit?: number }): Promise<Sale[]> {
  const abi = loadArtifact("AlgorithmComputation").abi;
  const sales: Sale[] = [];
  const times = new Map<number, number>();
  await Promise.all(
    Object.entries(options.state.contracts.algorithms).map(async ([algorithm, address]) => {
      const market = new Contract(address, abi, options.provider);
      const events = await market.queryFilter(market.filters.ComputationRequested(null, options.buyer ?? null));
      for (const event of events) {
        const args = (event as unknown as { args: { requestId: string; buyer: string; datasetIds: string[]; params: string; price: bigint; fee: bigint; epsilon: bigint; deadline: bigint } }).args;
        const datasetIds = [...args.datasetIds].map((d) => d.toLowerCase());
        if (options.datasetId !== undefined && !datasetIds.includes(options.datasetId.toLowerCase())) continue;
        const request = await market.getRequest(args.requestId);
        if (!times.has(event.blockNumber)) times.set(event.blockNumber, (await event.getBlock()).timestamp);
        sales.push({
          requestId: args.requestId,
          algorithm,
          buyer: args.buyer,
          datasetIds,
          params: args.params,
          epsilon: formatEpsilon(Number(args.epsilon)),
          price: formatUnits(args.price, PAYMENT_DECIMALS),
          fee: formatUnits(args.fee, PAYMENT_DECIMALS),
          status: STATUS[Number(request.status)] as Sale["status"],
          deadline: Number(args.deadline),
          block: event.blockNumber,
          at: new Date(times.get(event.blockNumber)! * 1000).toISOString(),
        });
      }
    }),
  );
  sales.sort((a, b) => b.block - a.block || (a.requestId < b.requestId ? -1 : 1));
  return sales.slice(0, options.limit ?? sales.length);
}
