import { Contract, JsonRpcProvider, ZeroAddress } from "ethers";
import type { EventLog, Log } from "ethers";
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
  /**
   * Set by {@link ChainReader.datasetAtRequest}: true when `rowCount` and
   * `commitments` are a version the seller has since replaced (the one the
   * request was bought against), false when they are the current version.
   */
  superseded?: boolean;
}

/** Where a request's `ComputationRequested` event sits on-chain: what was current there is what it bought. */
export interface ChainPosition {
  block: bigint;
  logIndex: number;
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
  /**
   * The dataset as a request at `at` bought it: the current record, with the
   * row count and commitments of the version current at that position (a
   * refresh since leaves them as they were; see {@link versionAtRequest}).
   * Absent in readers that know no versions: the current record is used.
   */
  datasetAtRequest?(datasetId: string, at: ChainPosition): Promise<OnChainDataset>;
  /**
   * Whether a refresh of the dataset replaced a version holding `commitment`
   * as host `hostIndex`'s (it was registered once: requests may have bought
   * it). Absent in readers that know no versions.
   */
  wasReplaced?(datasetId: string, hostIndex: number, commitment: string): Promise<boolean>;
  /** Seconds after a request of `consumer` until its buyer may take a refund; absent in readers that know none. */
  requestTimeout?(consumer: string): Promise<bigint>;
  /** Whether the dataset's seller allows the algorithm (keccak256 of its name). */
  isAlgorithmAllowed(datasetId: string, algorithmId: string): Promise<boolean>;
  /** Whether the dataset's seller allows exact answers (no noise, no budget) of the algorithm. */
  isExactAllowed(datasetId: string, algorithmId: string): Promise<boolean>;
  /** The algorithm (`name@version`) a per-algorithm contract sells. */
  algorithmOf(consumer: string): Promise<string>;
  /** Request record held by `consumer`, with what was asked; buyer is the zero address if unknown. */
  getRequest(consumer: string, requestId: string): Promise<OnChainRequest>;
  /**
   * The request as {@link getRequest} gives it and, when its event names
   * exactly `datasetIds` (the ones a Compute says it asked), those datasets as
   * the request bought them ({@link datasetAtRequest}) — in two round trips
   * to the node rather than three: the datasets' records are read beside the
   * request's, their refreshes beside its event. `datasets` is undefined when
   * the request is unknown or names other datasets (the caller reads them
   * itself). Absent in readers that know no versions.
   */
  locateRequest?(consumer: string, requestId: string, datasetIds: readonly string[]): Promise<{ request: OnChainRequest; datasets?: OnChainDataset[] }>;
  /** The block of the request's `ComputationFulfilled` event and the result hash it carries, searched from `fromBlock`; undefined if none. */
  fulfilment(consumer: string, requestId: string, fromBlock: bigint): Promise<{ blockNumber: number; resultHash: string } | undefined>;
  /** The registry's penalty court (the zero address while none is named); absent in readers that know none. */
  penaltyCourt?(): Promise<string>;
  /** Releases connections. */
  close(): void;
}

/** The registry's event of a new version; its `previous*` fields are the version it replaced. */
export const DATASET_REFRESHED_EVENT =
  "event DatasetRefreshed(bytes32 indexed datasetId, uint32 version, uint64 rowCount, bytes32[3] commitments, uint64 previousRowCount, bytes32[3] previousCommitments)";

const REGISTRY_ABI = [
  "function isRegistered(bytes32) view returns (bool)",
  "function isAlgorithmAllowed(bytes32, bytes32) view returns (bool)",
  "function isExactAllowed(bytes32, bytes32) view returns (bool)",
  "function penaltyCourt() view returns (address)",
  "function getDataset(bytes32) view returns (tuple(address seller, string name, bytes32 schemaHash, uint64 rowCount, uint256 price, bytes32[3] commitments, bool active, uint64 minRows, uint256 stake, uint64 stakeReleaseTime))",
  DATASET_REFRESHED_EVENT,
];
const CONSUMER_ABI = [
  "function algorithm() view returns (string)",
  "function requestTimeout() view returns (uint64)",
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
  /** Where the event is: the datasets' versions current there are the ones bought (absent: the current ones). */
  at?: ChainPosition;
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
  const record = await readRequestRecord(contract, requestId);
  if (record.buyer === ZeroAddress) return { record, requested: undefined };
  return { record, requested: await readRequested(contract, requestId, record.requestBlock) };
}

/** The request's record alone (one call); the buyer is the zero address for an unknown request. */
async function readRequestRecord(contract: Contract, requestId: string): Promise<Omit<OnChainRequest, "requested">> {
  const r = await contract.getFunction("getRequest").staticCall(requestId);
  return {
    buyer: r.buyer as string,
    status: Number(r.status),
    deadline: r.deadline as bigint,
    price: r.price as bigint,
    fee: r.fee as bigint,
    requestBlock: r.requestBlock as bigint,
    resultHash: r.resultHash as string,
  };
}

/** What the request's `ComputationRequested` event, in the block its record names, says was asked; undefined without the event. */
async function readRequested(contract: Contract, requestId: string, requestBlock: bigint): Promise<RequestedComputation | undefined> {
  const block = Number(requestBlock);
  const events = await contract.queryFilter(contract.filters.ComputationRequested(requestId), block, block);
  const event = events.find((e): e is EventLog => "args" in e);
  if (event === undefined) return undefined;
  return {
    datasetIds: (event.args.datasetIds as string[]).map((id) => id.toLowerCase()),
    params: String(event.args.params),
    buyerKey: String(event.args.buyerKey).toLowerCase(),
    epsilonMilli: Number(event.args.epsilon),
    at: { block: BigInt(event.blockNumber), logIndex: event.index },
  };
}

/**
 * The version of a dataset that was current at a position on-chain (a
 * request's event): the version replaced by the first `DatasetRefreshed`
 * logged after that position, or undefined when none was logged since (the
 * current version is the one). Needs the registry's logs only, no state of
 * past blocks: any node serves it. `registry` is an ethers `Contract` with
 * {@link DATASET_REFRESHED_EVENT} in its ABI. Errors are the caller's.
 *
 * @example
 * const pinned = await versionAtRequest(registry, datasetId, requested.at);
 * const commitments = pinned?.commitments ?? current.commitments;
 */
export async function versionAtRequest(
  registry: Contract,
  datasetId: string,
  at: ChainPosition,
): Promise<{ version: number; rowCount: bigint; commitments: [string, string, string] } | undefined> {
  return versionBefore(await registry.queryFilter(registry.filters.DatasetRefreshed(datasetId), Number(at.block)), at);
}

/** Of a dataset's `DatasetRefreshed` logs from `at`'s block on, the version the first one after `at` replaced; undefined if none. */
function versionBefore(logs: ReadonlyArray<Log | EventLog>, at: ChainPosition): { version: number; rowCount: bigint; commitments: [string, string, string] } | undefined {
  const after = logs
    .filter((e): e is EventLog => "args" in e && !e.removed)
    .filter((e) => BigInt(e.blockNumber) > at.block || e.index > at.logIndex)
    .sort((x, y) => x.blockNumber - y.blockNumber || x.index - y.index);
  const first = after[0];
  if (first === undefined) return undefined;
  const previous = first.args.previousCommitments as string[];
  return {
    version: Number(first.args.version) - 1,
    rowCount: first.args.previousRowCount as bigint,
    commitments: [previous[0], previous[1], previous[2]].map((c) => c.toLowerCase()) as [string, string, string],
  };
}

/** A dataset's current record with the row count and commitments of the version a request bought, where a refresh has replaced it since. */
function asBought(current: OnChainDataset, pinned: { rowCount: bigint; commitments: [string, string, string] } | undefined): OnChainDataset {
  if (current.seller === ZeroAddress) return current;
  return pinned === undefined ? { ...current, superseded: false } : { ...current, rowCount: pinned.rowCount, commitments: pinned.commitments, superseded: true };
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
  // No batching delay: ethers waits 10 ms by default to batch calls, and a job's reads are a few round trips in a row.
  // Calls made in the same tick still go as one batch.
  const getProvider = (): JsonRpcProvider => (provider ??= new JsonRpcProvider(options.rpcUrl, undefined, { staticNetwork: true, batchStallTime: 0 }));
  // Contracts are made once per address: each one parses its ABI.
  let registryContract: Contract | undefined;
  const registry = (): Contract => (registryContract ??= new Contract(options.registryAddress, REGISTRY_ABI, getProvider()));
  const consumers = new Map<string, Contract>();
  const consumerContract = (address: string): Contract => {
    let contract = consumers.get(address);
    if (contract === undefined) {
      contract = new Contract(address, CONSUMER_ABI, getProvider());
      consumers.set(address, contract);
    }
    return contract;
  };
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
        // getDataset reverts for an unknown id: asked together with isRegistered, whose "no" makes
        // "unknown" an answer, not an error (a revert then is expected; another failure still is one).
        const [registered, found] = await Promise.all([
          registry().getFunction("isRegistered").staticCall(datasetId),
          registry()
            .getFunction("getDataset")
            .staticCall(datasetId)
            .then((d) => ({ d }), (err: unknown) => ({ err })),
        ]);
        if (!registered) return UNKNOWN_DATASET;
        if ("err" in found) throw found.err;
        const { d } = found;
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
    async datasetAtRequest(datasetId, at) {
      const [current, pinned] = await Promise.all([
        this.getDataset(datasetId),
        read(`registry DatasetRefreshed(${datasetId}) since block ${at.block}`, () => versionAtRequest(registry(), datasetId, at)),
      ]);
      return asBought(current, pinned);
    },
    async locateRequest(consumer, requestId, datasetIds) {
      const contract = consumerContract(consumer);
      const [record, current] = await Promise.all([
        read(`${consumer}.getRequest(${requestId})`, () => readRequestRecord(contract, requestId)),
        Promise.all(datasetIds.map((id) => this.getDataset(id))),
      ]);
      if (record.buyer === ZeroAddress) return { request: { ...record, requested: undefined } };
      const [requested, refreshes] = await Promise.all([
        read(`${consumer} ComputationRequested(${requestId})`, () => readRequested(contract, requestId, record.requestBlock)),
        Promise.all(
          datasetIds.map((id) =>
            read(`registry DatasetRefreshed(${id}) since block ${record.requestBlock}`, () =>
              registry().queryFilter(registry().filters.DatasetRefreshed(id), Number(record.requestBlock)),
            ),
          ),
        ),
      ]);
      if (requested === undefined) throw new MpcError("CHAIN_UNAVAILABLE", `on-chain read failed: no ComputationRequested event for ${requestId}`);
      const request = { ...record, requested };
      if (requested.at === undefined || requested.datasetIds.join() !== datasetIds.map((id) => id.toLowerCase()).join()) return { request };
      const at = requested.at;
      return { request, datasets: current.map((dataset, k) => asBought(dataset, versionBefore(refreshes[k], at))) };
    },
    wasReplaced(datasetId, hostIndex, commitment) {
      return read(`registry DatasetRefreshed(${datasetId})`, async () => {
        const logs = await registry().queryFilter(registry().filters.DatasetRefreshed(datasetId), 0);
        return logs.some((e) => "args" in e && !e.removed && String(e.args.previousCommitments[hostIndex]).toLowerCase() === commitment.toLowerCase());
      });
    },
    requestTimeout(consumer) {
      return read(`${consumer}.requestTimeout()`, async () => BigInt(await consumerContract(consumer).getFunction("requestTimeout").staticCall()));
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
          name = String(await consumerContract(consumer).getFunction("algorithm").staticCall());
          algorithms.set(consumer, name);
        }
        return name;
      });
    },
    getRequest(consumer, requestId) {
      return read(`${consumer}.getRequest(${requestId})`, async () => {
        const { record, requested } = await readRequest(consumerContract(consumer), requestId);
        if (record.buyer !== ZeroAddress && requested === undefined) throw new Error(`no ComputationRequested event for ${requestId}`);
        return { ...record, requested };
      });
    },
    fulfilment(consumer, requestId, fromBlock) {
      return read(`${consumer} ComputationFulfilled(${requestId})`, async () => {
        const contract = consumerContract(consumer);
        const events = await contract.queryFilter(contract.filters.ComputationFulfilled(requestId), Number(fromBlock));
        const event = events.find((e): e is EventLog => "args" in e && !e.removed);
        return event === undefined ? undefined : { blockNumber: event.blockNumber, resultHash: String(event.args.resultHash).toLowerCase() };
      });
    },
    close() {
      provider?.destroy();
      provider = undefined;
      // Made again over a new provider if the reader is used after closing.
      registryContract = undefined;
      consumers.clear();
    },
  };
}
