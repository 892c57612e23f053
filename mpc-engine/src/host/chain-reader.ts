import { Contract, JsonRpcProvider, ZeroAddress } from "ethers";
import type { EventLog } from "ethers";
import { MpcError } from "../errors.ts";

/** A dataset as the on-chain registry records it, with the seller's policy. */
export interface OnChainDataset {
  /** The zero address if the dataset is not registered. */
  seller: string;
  name: string;
  schemaHash: string;
  rowCount: bigint;
  price: bigint;
  /** Commitments of hosts 0, 1 and 2's shares (0x bytes32). */
  commitments: readonly [string, string, string];
  active: boolean;
  /** Fewest rows a result over this dataset may aggregate. */
  minRows: bigint;
}

/**
 * A buyer's request as a per-algorithm contract records it, with what was
 * asked: the datasets, parameters and buyer key are in its
 * `ComputationRequested` event, in the block the contract records.
 */
export interface OnChainRequest {
  /** The zero address if the request is unknown. */
  buyer: string;
  /** 0 None, 1 Pending, 2 Fulfilled, 3 Failed, 4 Refunded. */
  status: number;
  /** Unix time after which the buyer may take a refund. */
  deadline: bigint;
  price: bigint;
  fee: bigint;
  /** The block of the request's `ComputationRequested` event (0 if unknown). */
  requestBlock: bigint;
  /** What the buyer asked; undefined for an unknown request. */
  requested: RequestedComputation | undefined;
  resultHash: string;
}

/** On-chain status value of a request awaiting its result. */
export const REQUEST_STATUS_PENDING = 1;
/** On-chain status value of a request whose sellers were paid. */
export const REQUEST_STATUS_FULFILLED = 2;

/**
 * The on-chain reads a host needs. Injected into `createHost` so tests can use
 * a fake; {@link createEthersChainReader} is the real one.
 */
export interface ChainReader {
  /** The chain's id (read once). */
  chainId(): Promise<bigint>;
  /** The latest block's number and timestamp (unix seconds). */
  head(): Promise<{ number: number; timestamp: number }>;
  /** Dataset record; seller is the zero address if unknown. */
  getDataset(datasetId: string): Promise<OnChainDataset>;
  /** Whether the dataset's seller allows the algorithm (keccak256 of its name). */
  isAlgorithmAllowed(datasetId: string, algorithmId: string): Promise<boolean>;
  /** Whether the dataset's seller allows exact answers (no noise, no budget) of the algorithm. */
  isExactAllowed(datasetId: string, algorithmId: string): Promise<boolean>;
  /** The algorithm (`name@version`) a per-algorithm contract sells. */
  algorithmOf(consumer: string): Promise<string>;
  /** Request record held by `consumer`, with what was asked; buyer is the zero address if unknown. */
  getRequest(consumer: string, requestId: string): Promise<OnChainRequest>;
  /** The block of the request's `ComputationFulfilled` event and the result hash it carries, searched from `fromBlock`; undefined if none. */
  fulfilment(consumer: string, requestId: string, fromBlock: bigint): Promise<{ blockNumber: number; resultHash: string } | undefined>;
  /** The registry's penalty court (the zero address while none is named); absent in readers that know none. */
  penaltyCourt?(): Promise<string>;
  /** Releases connections. */
  close(): void;
}

const REGISTRY_ABI = [
  "function isRegistered(bytes32) view returns (bool)",
  "function isAlgorithmAllowed(bytes32, bytes32) view returns (bool)",
  "function isExactAllowed(bytes32, bytes32) view returns (bool)",
  "function penaltyCourt() view returns (address)",
  "function getDataset(bytes32) view returns (tuple(address seller, string name, bytes32 schemaHash, uint64 rowCount, uint256 price, bytes32[3] commitments, bool active, uint64 minRows, uint256 stake, uint64 stakeReleaseTime))",
];
const CONSUMER_ABI = [
  "function algorithm() view returns (string)",
  "function getRequest(bytes32) view returns (tuple(address buyer, uint8 status, uint64 deadline, uint256 price, uint256 fee, uint64 requestBlock, bytes32 resultHash, uint32 epsilon))",
  "event ComputationRequested(bytes32 indexed requestId, address indexed buyer, bytes32[] datasetIds, string params, bytes32 buyerKey, uint256 price, uint256 fee, uint64 deadline, uint32 epsilon)",
  "event ComputationFulfilled(bytes32 indexed requestId, bytes32 resultHash, bytes result)",
];

/** What the buyer asked for, as its request's `ComputationRequested` event says. */
export interface RequestedComputation {
  /** Lowercase 0x dataset ids, in the order the contract took them (ascending). */
  datasetIds: string[];
  params: string;
  /** Lowercase 0x bytes32. */
  buyerKey: string;
  /** The privacy budget the request spends on each dataset, in milli-ε; 0 asks for an exact answer. */
  epsilonMilli: number;
}

/**
 * Reads a request from its per-algorithm contract (any ethers `Contract` with
 * `getRequest` and the `ComputationRequested` event in its ABI) together with
 * what was asked: the contract keeps only the request's block, and the event
 * there names the datasets, params, buyer key and ε. `requested` is undefined
 * for an unknown request, or if the event is missing. Errors of the calls are
 * the caller's to classify.
 *
 * @example
 * const { record, requested } = await readRequest(new Contract(consumer, abi, provider), requestId);
 */
export async function readRequest(
  contract: Contract,
  requestId: string,
): Promise<{ record: Omit<OnChainRequest, "requested">; requested: RequestedComputation | undefined }> {
  const r = await contract.getFunction("getRequest").staticCall(requestId);
  const record = {
    buyer: r.buyer as string,
    status: Number(r.status),
    deadline: r.deadline as bigint,
    price: r.price as bigint,
    fee: r.fee as bigint,
    requestBlock: r.requestBlock as bigint,
    resultHash: r.resultHash as string,
  };
  if (record.buyer === ZeroAddress) return { record, requested: undefined };
  const block = Number(r.requestBlock);
  const events = await contract.queryFilter(contract.filters.ComputationRequested(requestId), block, block);
  const event = events.find((e): e is EventLog => "args" in e);
  if (event === undefined) return { record, requested: undefined };
  return {
    record,
    requested: {
      datasetIds: (event.args.datasetIds as string[]).map((id) => id.toLowerCase()),
      params: String(event.args.params),
      buyerKey: String(event.args.buyerKey).toLowerCase(),
      epsilonMilli: Number(event.args.epsilon),
    },
  };
}

const UNKNOWN_DATASET: OnChainDataset = {
  seller: ZeroAddress,
  name: "",
  schemaHash: `0x${"00".repeat(32)}`,
  rowCount: 0n,
  price: 0n,
  commitments: [`0x${"00".repeat(32)}`, `0x${"00".repeat(32)}`, `0x${"00".repeat(32)}`],
  active: false,
  minRows: 0n,
};

/**
 * Chain reader over ethers' JsonRpcProvider. The provider is created on first
 * use and never polls (static network). A contract's algorithm never changes,
 * so it is read once.
 *
 * @throws MpcError `CHAIN_UNAVAILABLE` when a read fails
 * @example
 * const chain = createEthersChainReader({ rpcUrl: "http://127.0.0.1:8545", registryAddress });
 */
export function createEthersChainReader(options: { rpcUrl: string; registryAddress: string }): ChainReader {
  let provider: JsonRpcProvider | undefined;
  const getProvider = (): JsonRpcProvider => (provider ??= new JsonRpcProvider(options.rpcUrl, undefined, { staticNetwork: true }));
  const registry = (): Contract => new Contract(options.registryAddress, REGISTRY_ABI, getProvider());
  const algorithms = new Map<string, string>();
  let chainId: Promise<bigint> | undefined;

  const read = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (cause) {
      throw new MpcError("CHAIN_UNAVAILABLE", `on-chain read failed: ${what}`, { cause });
    }
  };

  return {
    chainId() {
      chainId ??= read("eth_chainId", async () => (await getProvider().getNetwork()).chainId).catch((err: unknown) => {
        chainId = undefined;
        throw err;
      });
      return chainId;
    },
    head() {
      return read("the latest block", async () => {
        const block = await getProvider().getBlock("latest");
        if (!block) throw new Error("no latest block");
        return { number: block.number, timestamp: block.timestamp };
      });
    },
    getDataset(datasetId) {
      return read(`registry.getDataset(${datasetId})`, async () => {
        // getDataset reverts for an unknown id; ask first so that "unknown" is an answer, not an error.
        if (!(await registry().getFunction("isRegistered").staticCall(datasetId))) return UNKNOWN_DATASET;
        const d = await registry().getFunction("getDataset").staticCall(datasetId);
        return {
          seller: d.seller as string,
          name: d.name as string,
          schemaHash: d.schemaHash as string,
          rowCount: d.rowCount as bigint,
          price: d.price as bigint,
          commitments: [d.commitments[0], d.commitments[1], d.commitments[2]] as [string, string, string],
          active: d.active as boolean,
          minRows: d.minRows as bigint,
        };
      });
    },
    isAlgorithmAllowed(datasetId, algorithmId) {
      return read(`registry.isAlgorithmAllowed(${datasetId})`, async () =>
        Boolean(await registry().getFunction("isAlgorithmAllowed").staticCall(datasetId, algorithmId)),
      );
    },
    penaltyCourt() {
      return read("registry.penaltyCourt()", async () => String(await registry().getFunction("penaltyCourt").staticCall()));
    },
    isExactAllowed(datasetId, algorithmId) {
      return read(`registry.isExactAllowed(${datasetId})`, async () =>
        Boolean(await registry().getFunction("isExactAllowed").staticCall(datasetId, algorithmId)),
      );
    },
    algorithmOf(consumer) {
      return read(`${consumer}.algorithm()`, async () => {
        let name = algorithms.get(consumer);
        if (name === undefined) {
          name = String(await new Contract(consumer, CONSUMER_ABI, getProvider()).getFunction("algorithm").staticCall());
          algorithms.set(consumer, name);
        }
        return name;
      });
    },
    getRequest(consumer, requestId) {
      return read(`${consumer}.getRequest(${requestId})`, async () => {
        const { record, requested } = await readRequest(new Contract(consumer, CONSUMER_ABI, getProvider()), requestId);
        if (record.buyer !== ZeroAddress && requested === undefined) throw new Error(`no ComputationRequested event for ${requestId}`);
        return { ...record, requested };
      });
    },
    fulfilment(consumer, requestId, fromBlock) {
      return read(`${consumer} ComputationFulfilled(${requestId})`, async () => {
        const contract = new Contract(consumer, CONSUMER_ABI, getProvider());
        const events = await contract.queryFilter(contract.filters.ComputationFulfilled(requestId), Number(fromBlock));
        const event = events.find((e): e is EventLog => "args" in e && !e.removed);
        return event === undefined ? undefined : { blockNumber: event.blockNumber, resultHash: String(event.args.resultHash).toLowerCase() };
      });
    },
    close() {
      provider?.destroy();
      provider = undefined;
    },
  };
}
