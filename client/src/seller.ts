import { Contract, type Signer } from "ethers";
import { loadArtifact } from "@scmpc/contracts";
import type { HostApiTls } from "@scmpc/mpc-engine/tls";
import type { DeclaredBounds, TypeSpec } from "@scmpc/tables";
import { uploadShareStream } from "./host-upload.ts";
import { listDataset, shareAndUpload as shareAndUploadWith, type SellerTransport, type UploadedDataset } from "./sale.ts";
import { readSellerTable } from "./seller-table.ts";
import type { StackState } from "./state.ts";

// The seller's sale from Node: tables read from files, shares sent over gRPC.
export * from "./sale.ts";

/**
 * The Node seller's transport: each share streamed over gRPC to the host the
 * state file names (UploadSharesStream: the host writes it as it arrives), over TLS to the deployment's CA with the host's certificate
 * pinned to the fingerprint the market's HostRegistry publishes on-chain (a
 * certificate only the state file names is not trusted); plaintext for hosts
 * serving plaintext.
 *
 * @example
 * const transport = await grpcSellerTransport(state, seller);
 */
export async function grpcSellerTransport(state: StackState, seller: Signer): Promise<SellerTransport> {
  let tls: HostApiTls | undefined;
  if (state.hostTls !== undefined) {
    const registry = new Contract(state.contracts.hostRegistry, loadArtifact("HostRegistry").abi, seller);
    const hosts = (await registry.getFunction("getHosts")()) as { tlsFingerprint: string }[];
    tls = { ca: state.hostTls.ca, fingerprints: hosts.map((h) => h.tlsFingerprint.slice(2).toLowerCase()) };
  }
  return {
    async upload(hostIndex, request) {
      await uploadShareStream(state.hosts[hostIndex], request, tls);
    },
    sendsSeeds: true,
  };
}

/**
 * Shares columns and uploads each host's share over gRPC: see {@link shareAndUploadWith}.
 *
 * @example
 * const commitments = await shareAndUpload({ state, seller, datasetId, name: "salaries", columns });
 */
export async function shareAndUpload(options: Omit<Parameters<typeof shareAndUploadWith>[0], "transport"> & { state: StackState }): Promise<string[]> {
  return shareAndUploadWith({ ...options, transport: await grpcSellerTransport(options.state, options.seller) });
}

/**
 * Reads a seller's table from a file (CSV, JSON, NDJSON or Parquet, by
 * extension; every column unless `columns` picks some), types it and lists
 * it: see {@link listDataset}.
 *
 * @throws TableInputError (`TABLE_INVALID`) when the table is unusable, naming file, line, column and value; nothing is uploaded
 * @example
 * const ds = await uploadDataset({ state, seller, file: "salaries.csv", name: "salaries", columns: ["salary"], price: "10", bounds: { salary: { lo: "0", hi: "200000" } } });
 */
export async function uploadDataset(
  options: Omit<Parameters<typeof listDataset>[0], "transport" | "source" | "table"> & {
    /** The table: `.csv`, `.json`, `.ndjson`/`.jsonl` or `.parquet`. */
    file: string;
    /** Columns to share, in this order; default every column of the table. */
    columns?: string[];
    /** Declared column types (`int`, `decimal`, `decimal:<places>`, `category`, `bool`, `date`); the others are inferred from the data. */
    types?: Readonly<Record<string, TypeSpec | string>>;
    /** Fixed dictionaries of category columns (public, in the schema); without one a category's dictionary is its distinct values, sorted. */
    categories?: Readonly<Record<string, readonly string[]>>;
    /**
     * Public bounds per column (every value must lie within them, else nothing
     * is uploaded); a column without them gets bounds derived from its data,
     * rounded outward to one significant digit (a date's to a decade). Either
     * way they are published on-chain in the schema.
     */
    bounds?: Readonly<Record<string, DeclaredBounds>>;
  },
): Promise<UploadedDataset> {
  const { file, columns, types, categories, bounds } = options;
  return listDataset({
    ...options,
    transport: await grpcSellerTransport(options.state, options.seller),
    source: file,
    table: () => readSellerTable(file, { columns, types, categories, bounds }),
  });
}
