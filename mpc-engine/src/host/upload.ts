import { getAddress, getBytes, isAddress, isHexString, keccak256, toUtf8Bytes, verifyMessage, ZeroAddress } from "ethers";
import type { UploadSharesRequest, UploadSharesResponse } from "@scmpc/protos";
import { schemaText } from "../algorithms/catalog.ts";
import { checkSchemaColumn } from "../algorithms/column-types.ts";
import type { SchemaType } from "../algorithms/plan.ts";
import { MpcError } from "../errors.ts";
import { MAX_SCALE } from "../fixed-point.ts";
import { SHARE_DOMAIN, datasetIdOf, shareCommitment, uploadDigest, type ColumnShareBytes } from "../share-encoding.ts";
import { SHARE_SEED_BYTES, expandShareSeed } from "../share-seeds.ts";
import type { ChainReader, OnChainDataset } from "./chain-reader.ts";
import type { ShareStore } from "./share-store.ts";

/**
 * Handles UploadShares: validates the request (shape, this host's index,
 * each column's public bounds, type and category dictionary, the lengths of
 * its value and validity components, the commitment recomputed from the
 * bytes, the seller's signature and that datasetId = keccak256(seller,
 * name)), stores the share durably, then answers.
 *
 * A side of the share may come as a seed (`seed_a`: every column's `a` and
 * `valid_a` empty, expanded here; likewise `seed_b`): the commitment is over
 * the expanded vectors, as if they had been sent.
 *
 * Uploads are open to anyone with an Ethereum key, so they are bounded: the
 * message size by the gRPC server, the share's size (expanded from its seeds
 * included) by `limits.maxShareBytes`, each seller's stored bytes by
 * `limits.sellerQuotaBytes`, and the bytes of uploads not (yet) registered
 * on-chain by `limits.unregisteredMaxBytes` (the sweeper deletes those not
 * registered in time); nothing is expanded before the signature and these
 * bounds are checked.
 *
 * A share with another commitment for a dataset already stored is a new
 * version of it (a refresh: the seller then calls `refreshDataset`), stored
 * beside the others. With `chain`, a version of a dataset already registered
 * on-chain must keep its schema: columns, scales, bounds, types and
 * dictionaries hash to the on-chain `schemaHash`, or it is refused
 * (`SCHEMA_CHANGED`); while the chain cannot be read the upload is refused
 * as retryable (`CHAIN_UNAVAILABLE`).
 *
 * @throws MpcError `INVALID_ARGUMENT`, `WRONG_HOST`, `COMMITMENT_MISMATCH`,
 *   `SIGNATURE_INVALID`, `DATASET_ID_MISMATCH`, `SCHEMA_CHANGED`,
 *   `CHAIN_UNAVAILABLE`, `UPLOAD_TOO_LARGE`, `QUOTA_EXCEEDED`, `STORE_CORRUPT` or `STORE_IO`
 * @example
 * const response = await handleUpload(request, { hostIndex: 0, store, chain, limits: { maxShareBytes: 2 ** 29, sellerQuotaBytes: 2 ** 32, unregisteredMaxBytes: 2 ** 33 } });
 */
export async function handleUpload(
  request: UploadSharesRequest,
  deps: {
    hostIndex: number;
    store: ShareStore;
    /** On-chain reads for the schema of a registered dataset; without it, any schema is taken. */
    chain?: Pick<ChainReader, "getDataset">;
    /** `maxShareBytes`: the largest share (values and validity, both sides, expanded) this host takes. */
    limits: { maxShareBytes: number; sellerQuotaBytes: number; unregisteredMaxBytes: number };
  },
): Promise<UploadSharesResponse> {
  const invalid = (message: string): MpcError => new MpcError("INVALID_ARGUMENT", message);
  if (!isHexString(request.datasetId, 32)) throw invalid("dataset_id must be a 0x-prefixed bytes32 hex string");
  if (!isAddress(request.seller)) throw invalid("seller must be a 0x-prefixed address");
  if (request.name === "") throw invalid("name must not be empty");
  if (request.hostIndex !== deps.hostIndex) {
    throw new MpcError("WRONG_HOST", `host_index is ${request.hostIndex} but this is host ${deps.hostIndex}`, {
      details: { hostIndex: deps.hostIndex, requested: request.hostIndex },
    });
  }
  if (!/^\d+$/.test(request.rowCount) || BigInt(request.rowCount) === 0n) throw invalid("row_count must be a positive integer");
  const rowCount = BigInt(request.rowCount);
  if (request.columns.length === 0) throw invalid("at least one column is required");
  const seeds = { a: seedOf(request.seedA, "seed_a"), b: seedOf(request.seedB, "seed_b") };
  const names = new Set<string>();
  const columns: ColumnShareBytes[] = [];
  for (const column of request.columns) {
    const label = JSON.stringify(column.name);
    if (column.name === "") throw invalid("column names must not be empty");
    if (names.has(column.name)) throw invalid(`column ${label} appears twice`);
    names.add(column.name);
    if (column.scale > MAX_SCALE) throw invalid(`column ${label} scale ${column.scale} exceeds ${MAX_SCALE}`);
    // proto3 sends an int or decimal column's type as "" and a non-category's dictionary as [].
    const type = column.type === undefined || column.type === "" ? undefined : column.type;
    const categories = column.categories === undefined || column.categories.length === 0 ? undefined : [...column.categories];
    // Bounds, type and dictionary become part of the on-chain schema the hosts plan with: malformed ones are refused here.
    checkSchemaColumn({ name: column.name, scale: column.scale, lo: column.lo, hi: column.hi, type, categories });
    const components = { a: column.a, b: column.b, valid_a: column.validA, valid_b: column.validB };
    for (const [part, bytes] of Object.entries(components)) {
      const length = bytes?.length ?? 0;
      const side = part.endsWith("a") ? "a" : "b";
      if (seeds[side] !== undefined) {
        if (length !== 0) throw invalid(`column ${label} component ${part} has ${length} bytes but seed_${side} is given: a seeded side's components are sent empty`);
      } else if (BigInt(length) !== rowCount * 8n) {
        throw invalid(`column ${label} component ${part} has ${length} bytes, expected row_count*8 = ${rowCount * 8n}`);
      }
    }
    columns.push({
      name: column.name,
      scale: column.scale,
      lo: column.lo,
      hi: column.hi,
      ...(type === undefined ? {} : { type: type as SchemaType }),
      ...(categories === undefined ? {} : { categories }),
      a: column.a,
      b: column.b,
      validA: column.validA,
      validB: column.validB,
    });
  }
  if (!isHexString(request.commitment, 32)) throw invalid("commitment must be a 0x-prefixed bytes32 hex string");
  const datasetId = request.datasetId.toLowerCase();
  const commitment = request.commitment.toLowerCase();

  // Signature before the (costly) commitment hash: reject strangers cheaply.
  let recovered: string;
  try {
    recovered = verifyMessage(getBytes(uploadDigest(datasetId, deps.hostIndex, commitment)), request.signature);
  } catch (cause) {
    throw new MpcError("SIGNATURE_INVALID", "signature is not a valid EIP-191 signature", { cause });
  }
  if (recovered !== getAddress(request.seller)) {
    throw new MpcError("SIGNATURE_INVALID", `signature was made by ${recovered}, not by seller ${getAddress(request.seller)}`);
  }
  if (datasetIdOf(recovered, request.name) !== datasetId) {
    throw new MpcError("DATASET_ID_MISMATCH", `dataset_id is not keccak256(abi.encodePacked(seller, name)) for name ${JSON.stringify(request.name)}`);
  }

  // After the signature, before anything is expanded or hashed: the share's size as stored, seeds expanded.
  const bytes = rowCount * 8n * 4n * BigInt(columns.length);
  if (bytes > BigInt(deps.limits.maxShareBytes)) {
    throw new MpcError("UPLOAD_TOO_LARGE", `the share is ${bytes} bytes (row_count ${rowCount} × ${columns.length} columns × 4 vectors × 8) and this host takes at most ${deps.limits.maxShareBytes}`, {
      details: { bytes: bytes.toString(), maxShareBytes: deps.limits.maxShareBytes },
    });
  }
  await checkQuota(deps, { datasetId, commitment, seller: recovered, bytes: Number(bytes) });

  // After the signature, so a stranger cannot make the host read the chain; before the costly commitment hash.
  if (deps.chain) await checkSchemaKept(deps.chain, datasetId, columns);

  for (const [c, column] of columns.entries()) {
    if (seeds.a !== undefined) {
      column.a = expandShareSeed(seeds.a, c, "values", Number(rowCount));
      column.validA = expandShareSeed(seeds.a, c, "validity", Number(rowCount));
    }
    if (seeds.b !== undefined) {
      column.b = expandShareSeed(seeds.b, c, "values", Number(rowCount));
      column.validB = expandShareSeed(seeds.b, c, "validity", Number(rowCount));
    }
  }
  const recomputed = shareCommitment({ datasetId, hostIndex: deps.hostIndex, rowCount, columns });
  if (recomputed !== commitment) {
    throw new MpcError(
      "COMMITMENT_MISMATCH",
      `commitment ${commitment} does not match the uploaded bytes${seeds.a || seeds.b ? " and seeds" : ""} (recomputed ${recomputed} under the ${SHARE_DOMAIN} encoding)`,
    );
  }

  await deps.store.put({
    datasetId,
    seller: recovered,
    name: request.name,
    hostIndex: deps.hostIndex,
    rowCount,
    commitment,
    signature: request.signature,
    columns,
  });
  return { datasetId, commitment, hostIndex: deps.hostIndex };
}

/** A request's share seed: absent when empty, else exactly {@link SHARE_SEED_BYTES} bytes. */
function seedOf(seed: Uint8Array | undefined, field: string): Uint8Array | undefined {
  if (seed === undefined || seed.length === 0) return undefined;
  if (seed.length !== SHARE_SEED_BYTES) throw new MpcError("INVALID_ARGUMENT", `${field} must be ${SHARE_SEED_BYTES} bytes, got ${seed.length}`);
  return seed;
}

/**
 * Refuses a new version of a registered dataset whose schema is not the
 * on-chain one: buyers plan and pay against that schema, and a refresh
 * changes only rows and commitments.
 */
async function checkSchemaKept(chain: Pick<ChainReader, "getDataset">, datasetId: string, columns: ColumnShareBytes[]): Promise<void> {
  let dataset: OnChainDataset;
  try {
    dataset = await chain.getDataset(datasetId);
  } catch (cause) {
    throw new MpcError("CHAIN_UNAVAILABLE", `cannot read dataset ${datasetId} from the chain to check the upload's schema; try again`, { cause });
  }
  if (dataset.seller === ZeroAddress) return;
  const schemaHash = keccak256(toUtf8Bytes(schemaText(columns)));
  if (schemaHash !== dataset.schemaHash.toLowerCase()) {
    throw new MpcError(
      "SCHEMA_CHANGED",
      `dataset ${datasetId} is registered with another schema; a new version must keep its columns, types and bounds (the upload's schema hashes to ${schemaHash}, the on-chain one is ${dataset.schemaHash}); register another dataset for a new schema`,
      { details: { datasetId, onChain: dataset.schemaHash, uploaded: schemaHash } },
    );
  }
}

/** Refuses an upload that would take its seller past its quota, or the host past its room for unregistered uploads. */
async function checkQuota(
  deps: { store: ShareStore; limits: { sellerQuotaBytes: number; unregisteredMaxBytes: number } },
  upload: { datasetId: string; commitment: string; seller: string; bytes: number },
): Promise<void> {
  const usage = await deps.store.usage();
  // The same version again is idempotent: it takes no new room. Another version of a dataset does.
  if (usage.some((u) => u.datasetId === upload.datasetId && u.commitment === upload.commitment)) return;
  const sellers = usage.filter((u) => u.seller === upload.seller).reduce((n, u) => n + u.bytes, 0);
  if (sellers + upload.bytes > deps.limits.sellerQuotaBytes) {
    throw new MpcError(
      "QUOTA_EXCEEDED",
      `seller ${upload.seller} stores ${sellers} bytes on this host; this ${upload.bytes}-byte share would pass its quota of ${deps.limits.sellerQuotaBytes} bytes`,
      { details: { seller: upload.seller, stored: sellers, quota: deps.limits.sellerQuotaBytes } },
    );
  }
  const unregistered = usage.filter((u) => !u.registered).reduce((n, u) => n + u.bytes, 0);
  if (unregistered + upload.bytes > deps.limits.unregisteredMaxBytes) {
    throw new MpcError(
      "QUOTA_EXCEEDED",
      `this host holds ${unregistered} bytes of uploads not yet registered on-chain and takes at most ${deps.limits.unregisteredMaxBytes}; try again once they are registered or expired`,
      { details: { unregistered, limit: deps.limits.unregisteredMaxBytes } },
    );
  }
}
