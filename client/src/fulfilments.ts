import { AbiCoder, Contract, Interface, MaxUint256, NonceManager } from "ethers";
import type { ContractTransactionResponse, Provider, Signer } from "ethers";
import { loadArtifact } from "@scmpc/contracts";
import type { StackState } from "./state.ts";

/**
 * Counts, per request id, the `fulfillOracleRequest2` transactions sent to the
 * Chainlink Operator in blocks `fromBlock..toBlock`, mined successfully or
 * not. Exactly-once delivery means one per request; a second one (even one
 * that reverted) is a duplicate the relay should never have sent.
 *
 * @example
 * const attempts = await fulfilmentAttempts(provider, state.contracts.operator, startBlock, await provider.getBlockNumber());
 * const duplicated = [...attempts.values()].reduce((n, c) => n + c - 1, 0);
 */
export async function fulfilmentAttempts(
  provider: Provider,
  operatorAddress: string,
  fromBlock: number,
  toBlock: number,
): Promise<Map<string, number>> {
  const operator = new Interface(loadArtifact("Operator").abi);
  const selector = operator.getFunction("fulfillOracleRequest2")!.selector;
  const target = operatorAddress.toLowerCase();
  const attempts = new Map<string, number>();
  for (let n = fromBlock; n <= toBlock; n++) {
    const block = await provider.getBlock(n, true);
    for (const tx of block?.prefetchedTransactions ?? []) {
      if (tx.to?.toLowerCase() !== target || !tx.data.startsWith(selector)) continue;
      const requestId = (operator.decodeFunctionData("fulfillOracleRequest2", tx.data)[0] as string).toLowerCase();
      attempts.set(requestId, (attempts.get(requestId) ?? 0) + 1);
    }
  }
  return attempts;
}

/** Enough gas for a one-dataset request; explicit so that many estimates do not race the mempool. */
const REQUEST_GAS_LIMIT = 400_000n;

/**
 * Sends `count` requests for one computation at once (the buyer's nonces
 * counted locally, no wait between them), after one unlimited approval, and
 * resolves once all are mined: each request id with the moment
 * (`performance.now()`) its transaction was sent. For load and crash tests.
 *
 * @example
 * const sent = await requestMany({ state, buyer, algorithm: "sum@1", datasetIds: [id], params, buyerKey, epsilonMilli: 0, count: 100 });
 */
export async function requestMany(options: {
  state: StackState;
  buyer: Signer;
  algorithm: string;
  datasetIds: string[];
  params: string;
  buyerKey: string;
  /** ε each request spends per dataset, in milli-ε; 0 asks for exact answers (the sellers must allow them). */
  epsilonMilli: number;
  count: number;
}): Promise<{ requestId: string; sentAt: number }[]> {
  const buyer = new NonceManager(options.buyer);
  const marketAddress = options.state.contracts.algorithms[options.algorithm];
  const market = new Contract(marketAddress, loadArtifact("AlgorithmComputation").abi, buyer);
  const token = new Contract(options.state.contracts.paymentToken, loadArtifact("DevPaymentToken").abi, buyer);
  await (await token.getFunction("approve")(marketAddress, MaxUint256)).wait();
  const sentAt: number[] = [];
  const sends: Promise<ContractTransactionResponse>[] = [];
  for (let i = 0; i < options.count; i++) {
    sentAt.push(performance.now());
    sends.push(market.getFunction("requestComputation")(options.datasetIds, options.params, options.buyerKey, MaxUint256, options.epsilonMilli, { gasLimit: REQUEST_GAS_LIMIT }));
  }
  const receipts = await Promise.all((await Promise.all(sends)).map((tx) => tx.wait()));
  return receipts.map((receipt, i) => {
    if (receipt === null || receipt.status !== 1) throw new Error(`request ${i} was not mined`);
    const requested = receipt.logs.map((log) => market.interface.parseLog(log)).find((parsed) => parsed?.name === "ComputationRequested");
    if (requested == null) throw new Error(`request ${i} emitted no ComputationRequested event`);
    return { requestId: requested.args.requestId as string, sentAt: sentAt[i] };
  });
}

/**
 * Sends the Chainlink Operator's `fulfillOracleRequest2` for a request with
 * `payload` (abi.encode(result, signatures), what the bridge answers) from
 * `sender`, an authorized sender of the Operator, as the relay does; the
 * request's parameters come from the `OracleRequest` log in its receipt.
 * Resolves to the mined transaction's hash. For tools that drive the hosts
 * themselves (the engine benchmark, fair-exchange drills).
 *
 * @example
 * const tx = await sendFulfilment({ operatorAddress: state.contracts.operator, sender: relayWallet, requestReceipt: receipt, requestId, payload });
 */
export async function sendFulfilment(options: {
  operatorAddress: string;
  sender: Signer;
  requestReceipt: { logs: readonly { address: string; topics: readonly string[]; data: string }[] };
  requestId: string;
  payload: string;
}): Promise<string> {
  const operator = new Interface(loadArtifact("Operator").abi);
  const log = options.requestReceipt.logs.find((l) => l.address.toLowerCase() === options.operatorAddress.toLowerCase());
  if (log === undefined) throw new Error(`the request's receipt holds no OracleRequest of Operator ${options.operatorAddress}`);
  const r = operator.parseLog({ topics: [...log.topics], data: log.data })!.args;
  const data = AbiCoder.defaultAbiCoder().encode(["bytes32", "bytes"], [options.requestId, options.payload]);
  // An explicit gas limit: the Operator needs 400k left for the callback, which estimates miss.
  const tx = await options.sender.sendTransaction({
    to: options.operatorAddress,
    data: operator.encodeFunctionData("fulfillOracleRequest2", [r.requestId, r.payment, r.callbackAddr, r.callbackFunctionId, r.cancelExpiration, data]),
    gasLimit: 1_000_000n,
  });
  await tx.wait();
  return tx.hash;
}
