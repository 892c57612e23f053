import { Contract, JsonRpcProvider } from "ethers";
import { MpcError } from "../errors.ts";

/** A dataset as the on-chain registry records it. */
export interface OnChainDataset {
  seller: string;
  name: string;
  schemaHash: string;
  rowCount: bigint;
  price: bigint;
  /** Commitments of hosts 0, 1 and 2's shares (0x bytes32). */
  commitments: readonly [string, string, string];
  active: boolean;
}

/** A buyer's request as an algorithm (consumer) contract records it. */
export interface OnChainRequest {
  buyer: string;
  datasetId: string;
  column: string;
  buyerKey: string;
  price: bigint;
  /** 0 None, 1 Pending, 2 Fulfilled, ... (see the consumer contract). */
  status: number;
  result: string;
}

/** On-chain status value of a request awaiting its result. */
export const REQUEST_STATUS_PENDING = 1;

/**
 * The on-chain reads a host needs. Injected into `createHost` so tests can use
 * a fake; {@link createEthersChainReader} is the real one.
 */
export interface ChainReader {
  /** Dataset record; seller is the zero address if unknown. */
  getDataset(datasetId: string): Promise<OnChainDataset>;
  /** Request record held by `consumer`; buyer is the zero address if unknown. */
  getRequest(consumer: string, requestId: string): Promise<OnChainRequest>;
  /** Releases connections. */
  close(): void;
}

const REGISTRY_ABI = [
  "function getDataset(bytes32) view returns (tuple(address seller, string name, bytes32 schemaHash, uint64 rowCount, uint256 price, bytes32[3] commitments, bool active))",
];
const CONSUMER_ABI = [
  "function getRequest(bytes32) view returns (tuple(address buyer, bytes32 datasetId, string column, bytes32 buyerKey, uint256 price, uint8 status, bytes result))",
];

/**
 * Chain reader over ethers' JsonRpcProvider. The provider is created on first
 * use and never polls (static network).
 *
 * @throws MpcError `CHAIN_UNAVAILABLE` when a read fails
 * @example
 * const chain = createEthersChainReader({ rpcUrl: "http://127.0.0.1:8545", registryAddress });
 */
export function createEthersChainReader(options: { rpcUrl: string; registryAddress: string }): ChainReader {
  let provider: JsonRpcProvider | undefined;
  const getProvider = (): JsonRpcProvider => (provider ??= new JsonRpcProvider(options.rpcUrl, undefined, { staticNetwork: true }));

  const read = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (cause) {
      throw new MpcError("CHAIN_UNAVAILABLE", `on-chain read failed: ${what}`, { cause });
    }
  };

  return {
    getDataset(datasetId) {
      return read(`registry.getDataset(${datasetId})`, async () => {
        const registry = new Contract(options.registryAddress, REGISTRY_ABI, getProvider());
        const d = await registry.getFunction("getDataset").staticCall(datasetId);
        return {
          seller: d.seller as string,
          name: d.name as string,
          schemaHash: d.schemaHash as string,
          rowCount: d.rowCount as bigint,
          price: d.price as bigint,
          commitments: [d.commitments[0], d.commitments[1], d.commitments[2]] as [string, string, string],
          active: d.active as boolean,
        };
      });
    },
    getRequest(consumer, requestId) {
      return read(`${consumer}.getRequest(${requestId})`, async () => {
        const contract = new Contract(consumer, CONSUMER_ABI, getProvider());
        const r = await contract.getFunction("getRequest").staticCall(requestId);
        return {
          buyer: r.buyer as string,
          datasetId: r.datasetId as string,
          column: r.column as string,
          buyerKey: r.buyerKey as string,
          price: r.price as bigint,
          status: Number(r.status),
          result: r.result as string,
        };
      });
    },
    close() {
      provider?.destroy();
      provider = undefined;
    },
  };
}
