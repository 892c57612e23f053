import { Contract, Interface } from "ethers";
import type { Log, Provider } from "ethers";

/**
 * The part of the market's consumer (`AlgorithmComputation`) the relay reads,
 * written out here rather than loaded from the compiled artifacts: the relay
 * depends on this interface only, and the relay tests check it against the
 * real contract.
 */
export const CONSUMER_ABI = [
  "function jobId() view returns (bytes32)",
  "function getRequest(bytes32 requestId) view returns (tuple(address buyer, uint8 status, uint64 deadline, uint256 price, uint256 fee, uint64 requestBlock, bytes32 resultHash, uint32 epsilon))",
  "function fulfill(bytes32 requestId, bytes payload)",
  "event ComputationFulfilled(bytes32 indexed requestId, bytes32 resultHash, bytes result)",
  "event ComputationFailed(bytes32 indexed requestId, uint8 reason)",
] as const;

export const consumerInterface = new Interface(CONSUMER_ABI);

/** The selector the market's consumers name as their callback: `fulfill(bytes32,bytes)`. */
export const FULFILL_SELECTOR = consumerInterface.getFunction("fulfill")!.selector;

const FULFILLED_TOPIC = consumerInterface.getEvent("ComputationFulfilled")!.topicHash;
const FAILED_TOPIC = consumerInterface.getEvent("ComputationFailed")!.topicHash;

/** `AlgorithmComputation.RequestStatus`. */
export const ConsumerStatus = { None: 0, Pending: 1, Fulfilled: 2, Failed: 3, Refunded: 4 } as const;
export type ConsumerStatus = (typeof ConsumerStatus)[keyof typeof ConsumerStatus];

const STATUS_NAMES = ["None", "Pending", "Fulfilled", "Failed", "Refunded"] as const;

/** The name of a consumer status, for logs and stored reasons. */
export function statusName(status: number): string {
  return STATUS_NAMES[status] ?? `status ${status}`;
}

/** What the consumer holds about a request: where it stands and its deadline (unix seconds). */
export interface ConsumerRequest {
  status: number;
  deadline: number;
}

/**
 * Reads `getRequest(requestId)` from the consumer: status and deadline (an
 * unknown id reads as status None, deadline 0).
 *
 * @example
 * const { status, deadline } = await readConsumerRequest(provider, request.callbackAddr, request.requestId);
 */
export async function readConsumerRequest(provider: Provider, consumer: string, requestId: string): Promise<ConsumerRequest> {
  const request = await new Contract(consumer, CONSUMER_ABI, provider).getRequest(requestId);
  return { status: Number(request.status), deadline: Number(request.deadline) };
}

/**
 * Reads a consumer's `jobId()`: the specId its requests carry.
 *
 * @example
 * const specId = await readJobId(provider, "0x…"); // "0x5e351e2d…"
 */
export async function readJobId(provider: Provider, consumer: string): Promise<string> {
  return ((await new Contract(consumer, CONSUMER_ABI, provider).jobId()) as string).toLowerCase();
}

/** The consumer's own word on a fulfilment: the event its `fulfill` emitted. */
export type ConsumerVerdict = { event: "ComputationFulfilled"; reason: null } | { event: "ComputationFailed"; reason: number };

/**
 * Finds the consumer's `ComputationFulfilled` or `ComputationFailed` for
 * `requestId` among a mined transaction's logs. The Operator does not revert
 * when the consumer's callback fails (it returns false), so a successful
 * receipt alone does not say the request was answered: this event does.
 * Undefined when the consumer emitted neither (its callback failed, or the
 * request was no longer Pending).
 *
 * @example
 * const verdict = consumerVerdict(receipt.logs, request.callbackAddr, request.requestId);
 * if (verdict?.event === "ComputationFailed") console.log("failed, reason", verdict.reason);
 */
export function consumerVerdict(logs: readonly Log[], consumer: string, requestId: string): ConsumerVerdict | undefined {
  const id = requestId.toLowerCase();
  for (const log of logs) {
    if (log.address.toLowerCase() !== consumer.toLowerCase() || log.topics[1]?.toLowerCase() !== id) continue;
    if (log.topics[0] === FULFILLED_TOPIC) return { event: "ComputationFulfilled", reason: null };
    if (log.topics[0] === FAILED_TOPIC) {
      const parsed = consumerInterface.parseLog({ topics: [...log.topics], data: log.data })!;
      return { event: "ComputationFailed", reason: Number(parsed.args.reason) };
    }
  }
  return undefined;
}
