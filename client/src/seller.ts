import { Contract, getBytes, parseUnits, solidityPackedKeccak256 } from "ethers";
import type { Signer } from "ethers";
import { loadArtifact } from "@scmpc/contracts";
import { shareColumn, shareCommitment, uploadDigest } from "@scmpc/mpc-engine";
import { readCsvColumn } from "./csv-column.ts";
import { uploadShare } from "./host-upload.ts";
import type { StackState } from "./state.ts";

/** What a seller gets back from {@link uploadDataset}. */
export interface UploadedDataset {
  datasetId: string;
  /** The permanent address `<seller>/<name>`. */
  address: string;
  rowCount: number;
  scale: number;
  commitments: string[];
  plaintextSum: string;
  txHash: string;
}

/** Decimals of the market's payment token. */
export const PAYMENT_DECIMALS = 18;

/**
 * Shares one numeric CSV column locally, uploads each share straight to its
 * MPC host, then registers the dataset on-chain with the commitments of the
 * three shares. Nothing but the shares leaves the seller's machine, and the
 * chain sees only commitments.
 *
 * @example
 * const ds = await uploadDataset({ state, seller, csvPath: "salaries.csv", name: "salaries", column: "salary", price: "10" });
 */
export async function uploadDataset(options: {
  state: StackState;
  seller: Signer;
  csvPath: string;
  name: string;
  column: string;
  /** Price per computation in payment-token units (decimal string). */
  price: string;
}): Promise<UploadedDataset> {
  const { state, seller, name } = options;
  if (!name || name.includes("/")) throw new Error(`--name must be non-empty and contain no "/"; got "${name}"`);
  let price: bigint;
  try {
    price = parseUnits(options.price, PAYMENT_DECIMALS);
  } catch {
    throw new Error(`--price must be a decimal amount of the payment token; got "${options.price}"`);
  }
  const sellerAddress = await seller.getAddress();
  const datasetId = solidityPackedKeccak256(["address", "string"], [sellerAddress, name]);
  const registry = new Contract(state.contracts.registry, loadArtifact("DatasetRegistry").abi, seller);
  if (await registry.isRegistered(datasetId)) {
    throw new Error(`dataset ${sellerAddress}/${name} is already registered (id ${datasetId}); choose another --name`);
  }

  const column = await readCsvColumn(options.csvPath, options.column);
  const shares = shareColumn(column.values);
  const commitments: string[] = [];
  await Promise.all(
    shares.map(async (share, hostIndex) => {
      const columns = [
        {
          name: column.name,
          scale: column.scale,
          a: Buffer.from(share.a.buffer, share.a.byteOffset, share.a.byteLength),
          b: Buffer.from(share.b.buffer, share.b.byteOffset, share.b.byteLength),
        },
      ];
      const commitment = shareCommitment({ datasetId, hostIndex, rowCount: column.rowCount, columns });
      commitments[hostIndex] = commitment;
      const signature = await seller.signMessage(getBytes(uploadDigest(datasetId, hostIndex, commitment)));
      await uploadShare(state.hosts[hostIndex], {
        datasetId,
        seller: sellerAddress,
        name,
        hostIndex,
        rowCount: String(column.rowCount),
        columns,
        commitment,
        signature,
      });
    }),
  );

  const schema = JSON.stringify({ columns: [{ name: column.name, scale: column.scale }] });
  const tx = await registry.registerDataset(name, schema, column.rowCount, price, commitments);
  await tx.wait();
  return {
    datasetId,
    address: `${sellerAddress}/${name}`,
    rowCount: column.rowCount,
    scale: column.scale,
    commitments,
    plaintextSum: column.plaintextSum,
    txHash: tx.hash,
  };
}
