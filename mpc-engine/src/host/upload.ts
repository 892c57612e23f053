import { getAddress, getBytes, isAddress, isHexString, keccak256, toUtf8Bytes, verifyMessage, ZeroAddress } from "ethers";
import type { UploadSharesPiece, UploadSharesRequest, UploadSharesResponse } from "@scmpc/protos";
import { schemaText } from "../algorithms/catalog.ts";
import { checkSchemaColumn } from "../algorithms/column-types.ts";
import type { SchemaType } from "../algorithms/plan.ts";
import { MpcError } from "../errors.ts";
import { MAX_SCALE } from "../fixed-point.ts";
import {
  ChunkDigester,
  SHARE_DOMAIN,
  SHARE_DOMAIN_V5,
  datasetIdOf,
  shareCommitment,
  shareCommitmentOfDigests,
  shareCommitmentV5,
  seededColumns,
  uploadDigest,
  type ColumnShareBytes,
  type SeededVector,
  type VectorDigests,
} from "../share-encoding.ts";
import { SHARE_SEED_BYTES, expandShareSeed, expandShareSeedInPieces } from "../share-seeds.ts";
import type { ChainReader, OnChainDataset } from "./chain-reader.ts";
import { shareHeaderOf, type ShareStore, type StoredShareHeader } from "./share-store.ts";

/**
 * Handles UploadShares: validates the request (shape, this host's index,
 * each column's public bounds, type and category dictionary, the lengths of
 * its value and validity components, the commitment recomputed from the
 * bytes, the seller's signature and that datasetId = keccak256(seller,
 * name)), stores the share durably, then answers.
 *
 * A side of the share may come as a seed (`seed_a`: every column's `a` and
 * `valid_a` empty; likewise `seed_b`). Under the v4 encoding the commitment
 * is over the expanded vectors, as if they had been sent, so the host draws
 * and hashes them; under v5 (`share_encoding`) it binds each seeded vector
 * by its seed, and the host stores the seed, drawing the vectors only into
 * memory (or, for a share too large for memory, the rows a job reads).
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
export async function handleUpload(request: UploadSharesRequest, deps: UploadDeps): Promise<UploadSharesResponse> {
  const upload = await checkUpload(request, deps, "whole");
  const { columns, seeds, rowCount } = upload;
  try {
    if (upload.header.encoding === SHARE_DOMAIN_V5) {
      checkCommitment(upload, shareCommitmentV5({ ...upload.header, columns: seededColumns(columns, seeds, rowCount) }));
      // The store keeps the seeds in place of the seeded sides (their empty components are not read).
      await deps.store.put({ ...upload.header, columns });
      return { datasetId: upload.header.datasetId, commitment: upload.header.commitment, hostIndex: deps.hostIndex };
    }
    for (const [c, column] of columns.entries()) {
      if (seeds.a !== undefined) {
        column.a = expandShareSeed(seeds.a, c, "values", rowCount);
        column.validA = expandShareSeed(seeds.a, c, "validity", rowCount);
      }
      if (seeds.b !== undefined) {
        column.b = expandShareSeed(seeds.b, c, "values", rowCount);
        column.validB = expandShareSeed(seeds.b, c, "validity", rowCount);
      }
    }
    checkCommitment(upload, shareCommitment({ ...upload.header, columns }));
    await deps.store.put({ ...upload.header, columns });
  } finally {
    upload.release();
  }
  return { datasetId: upload.header.datasetId, commitment: upload.header.commitment, hostIndex: deps.hostIndex };
}

/** Bytes per piece in which a host writes and digests a seeded vector of a streamed upload. */
const STREAM_PIECE_BYTES = 1 << 20;
const PARTS = ["a", "b", "validA", "validB"] as const;

/**
 * Handles UploadSharesStream: the header (an UploadSharesRequest whose
 * columns carry no vectors) is checked as {@link handleUpload} checks a
 * request — shape, this host, signature, dataset id, size, quota, schema —
 * before any data is read; then the vectors' bytes not given by a seed
 * arrive in pieces of any size, in the share's order (per column a, b,
 * validA, validB), and are written to the store and digested as they come,
 * the seeded ones expanded piece by piece in their place. The commitment is
 * checked over the digests once the last byte is in; on any refusal nothing
 * is kept. Memory stays a few pieces, whatever the share's size.
 *
 * @throws MpcError as {@link handleUpload}; `INVALID_ARGUMENT` when the stream does not start with a header, or carries fewer or more bytes than the share's vectors
 * @example
 * const response = await handleUploadStream(call, { hostIndex: 0, store, chain, limits });
 */
export async function handleUploadStream(pieces: AsyncIterable<UploadSharesPiece>, deps: UploadDeps): Promise<UploadSharesResponse> {
  const source = pieces[Symbol.asyncIterator]();
  const first = await source.next();
  if (first.done === true || first.value.header === undefined) throw new MpcError("INVALID_ARGUMENT", "an upload stream must begin with its header");
  const upload = await checkUpload(first.value.header, deps, "streamed");
  try {
    await storeStream(upload, source, deps);
  } finally {
    upload.release();
  }
  return { datasetId: upload.header.datasetId, commitment: upload.header.commitment, hostIndex: deps.hostIndex };
}

/** Writes a checked stream's vectors to the store as they arrive, then checks its commitment (see {@link handleUploadStream}). */
async function storeStream(upload: CheckedUpload, source: AsyncIterator<UploadSharesPiece>, deps: UploadDeps): Promise<void> {
  const { seeds, rowCount } = upload;
  const v5 = upload.header.encoding === SHARE_DOMAIN_V5;
  const vectorBytes = rowCount * 8;
  let pending: Uint8Array = new Uint8Array(0);
  let received = 0;
  /** The next data bytes of the stream, at most `max` of them; throws at its end. */
  const take = async (max: number): Promise<Uint8Array> => {
    while (pending.length === 0) {
      const next = await source.next();
      if (next.done === true) throw new MpcError("INVALID_ARGUMENT", `the upload stream ended after ${received} bytes of the share's vectors; more were due`);
      if (next.value.data === undefined) throw new MpcError("INVALID_ARGUMENT", "an upload stream carries one header, then only data");
      pending = next.value.data;
    }
    const piece = pending.subarray(0, max);
    pending = pending.subarray(piece.length);
    received += piece.length;
    return piece;
  };
  await deps.store.putStream(upload.header, async (sink) => {
    const columns = [];
    for (const [c, column] of upload.columns.entries()) {
      const digested: Partial<Record<(typeof PARTS)[number], VectorDigests | SeededVector>> = {};
      for (const part of PARTS) {
        const digester = new ChunkDigester();
        const seed = part === "a" || part === "validA" ? seeds.a : seeds.b;
        if (seed !== undefined && v5) {
          // Bound by its seed, which the store keeps: nothing to draw, hash or write.
          digested[part] = { length: vectorBytes, seed };
          continue;
        }
        if (seed !== undefined) {
          for (const piece of expandShareSeedInPieces(seed, c, part.startsWith("valid") ? "validity" : "values", rowCount, STREAM_PIECE_BYTES)) {
            digester.update(piece);
            await sink(piece);
          }
        } else {
          for (let left = vectorBytes; left > 0; ) {
            const piece = await take(left);
            digester.update(piece);
            await sink(piece);
            left -= piece.length;
          }
        }
        digested[part] = digester.finish();
      }
      columns.push({ ...column, ...(digested as Record<(typeof PARTS)[number], VectorDigests | SeededVector>) });
    }
    if (pending.length > 0 || !(await source.next()).done) throw new MpcError("INVALID_ARGUMENT", "the upload stream carries more bytes than the share's vectors");
    checkCommitment(
      upload,
      v5
        ? shareCommitmentV5({ ...upload.header, columns })
        : shareCommitmentOfDigests({ ...upload.header, columns: columns as Array<(typeof columns)[number] & Record<(typeof PARTS)[number], VectorDigests>> }),
    );
    // Kept by the store for a share too large for memory: its jobs check rows against these.
    return columns;
  });
}

/** What an upload handler needs: this host's index, its store, the chain (for a registered dataset's schema) and its bounds. */
export interface UploadDeps {
  hostIndex: number;
  store: ShareStore;
  /** On-chain reads for the schema of a registered dataset; without it, any schema is taken. */
  chain?: Pick<ChainReader, "getDataset">;
  /**
   * `maxShareBytes`: the largest share (values and validity, both sides,
   * expanded) this host takes; `maxWholeShareBytes`, if set, the largest one
   * sent whole (held in memory while it is checked), a streamed one being
   * written as it arrives.
   */
  limits: { maxShareBytes: number; maxWholeShareBytes?: number; sellerQuotaBytes: number; unregisteredMaxBytes: number };
}

/** An upload's request checked up to its commitment: the share to store without (all) its vectors, its seeds and size. */
interface CheckedUpload {
  header: StoredShareHeader;
  /** The columns with the vectors the request carried (empty where seeded, or where streamed). */
  columns: ColumnShareBytes[];
  seeds: { a?: Uint8Array; b?: Uint8Array };
  rowCount: number;
  /** Gives back the room the upload reserved against the quotas: call once it is stored or refused. */
  release: () => void;
}

/**
 * Every check an upload passes before its vectors are expanded or hashed:
 * shape, this host's index, each column's schema and component lengths
 * (`whole`: each vector rowCount·8 bytes unless its side is seeded;
 * `streamed`: all empty, the data follows), the seller's signature, the
 * dataset id, the share's size, the quotas, the on-chain schema.
 */
async function checkUpload(request: UploadSharesRequest, deps: UploadDeps, form: "whole" | "streamed"): Promise<CheckedUpload> {
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
  const encoding = request.shareEncoding === undefined || request.shareEncoding === "" ? SHARE_DOMAIN : request.shareEncoding;
  if (encoding !== SHARE_DOMAIN && encoding !== SHARE_DOMAIN_V5) {
    throw invalid(`share_encoding ${JSON.stringify(request.shareEncoding)} is not one this host takes: "${SHARE_DOMAIN_V5}", or "${SHARE_DOMAIN}" (the default)`);
  }
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
      if (form === "streamed") {
        if (length !== 0) throw invalid(`column ${label} component ${part} has ${length} bytes in the header of an upload stream: the vectors follow it as data`);
      } else if (seeds[side] !== undefined) {
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

  // After the signature, before anything is expanded, read or hashed: the share's size as stored, seeds expanded.
  const bytes = rowCount * 8n * 4n * BigInt(columns.length);
  const whole = form === "whole" && deps.limits.maxWholeShareBytes !== undefined && deps.limits.maxWholeShareBytes < deps.limits.maxShareBytes;
  const maxShareBytes = whole ? deps.limits.maxWholeShareBytes! : deps.limits.maxShareBytes;
  if (bytes > BigInt(maxShareBytes)) {
    throw new MpcError(
      "UPLOAD_TOO_LARGE",
      `the share is ${bytes} bytes (row_count ${rowCount} × ${columns.length} columns × 4 vectors × 8) and this host takes at most ${maxShareBytes}${whole ? " sent whole (a streamed upload takes more)" : ""}`,
      { details: { bytes: bytes.toString(), maxShareBytes } },
    );
  }
  // After the signature, so a stranger cannot make the host read the chain; before the costly commitment hash.
  if (deps.chain) await checkSchemaKept(deps.chain, datasetId, columns);
  const release = await checkQuota(deps, { datasetId, commitment, seller: recovered, bytes: Number(bytes) });

  const header: StoredShareHeader = shareHeaderOf({
    datasetId,
    seller: recovered,
    name: request.name,
    hostIndex: deps.hostIndex,
    rowCount,
    commitment,
    signature: request.signature,
    // Under v5 the store keeps the seeds in place of the vectors they stand for.
    ...(encoding === SHARE_DOMAIN_V5 ? { encoding, ...(seeds.a === undefined && seeds.b === undefined ? {} : { seeds: definedSeeds(seeds) }) } : {}),
    columns,
  });
  return { header, columns, seeds, rowCount: Number(rowCount), release };
}

/** A request's seeds without the sides it has none for. */
function definedSeeds(seeds: { a?: Uint8Array; b?: Uint8Array }): { a?: Uint8Array; b?: Uint8Array } {
  return { ...(seeds.a === undefined ? {} : { a: seeds.a }), ...(seeds.b === undefined ? {} : { b: seeds.b }) };
}

/** Refuses a share whose recomputed commitment is not the one the seller signed. */
function checkCommitment(upload: CheckedUpload, recomputed: string): void {
  const { commitment } = upload.header;
  if (recomputed !== commitment) {
    throw new MpcError(
      "COMMITMENT_MISMATCH",
      `commitment ${commitment} does not match the uploaded bytes${upload.seeds.a || upload.seeds.b ? " and seeds" : ""} (recomputed ${recomputed} under the ${upload.header.encoding ?? SHARE_DOMAIN} encoding)`,
    );
  }
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

/**
 * Uploads checked and not yet stored, per store (the gRPC and web APIs share
 * one): they count against the quotas like stored shares, so that uploads
 * sent at once cannot each pass a check the others would fail.
 */
const uploading = new WeakMap<ShareStore, Set<{ key: string; seller: string; bytes: number }>>();

/**
 * Refuses an upload that would take its seller past its quota, or the host
 * past its room for unregistered uploads, counting the uploads in progress;
 * else reserves its room until the returned release is called (once it is
 * stored or refused).
 */
async function checkQuota(
  deps: { store: ShareStore; limits: { sellerQuotaBytes: number; unregisteredMaxBytes: number } },
  upload: { datasetId: string; commitment: string; seller: string; bytes: number },
): Promise<() => void> {
  const usage = await deps.store.usage();
  // From here to the reservation nothing awaits: no other upload's check runs in between.
  const key = `${upload.datasetId}/${upload.commitment}`;
  const stored = new Set(usage.map((u) => `${u.datasetId}/${u.commitment}`));
  let pending = uploading.get(deps.store);
  if (pending === undefined) uploading.set(deps.store, (pending = new Set()));
  // The same version again (stored, or being stored) is idempotent: it takes no new room. Another version of a dataset does.
  if (stored.has(key) || [...pending].some((p) => p.key === key)) return () => undefined;
  // An upload stored after the usage was read is in the store and still reserved; count it once.
  const inProgress = [...pending].filter((p) => !stored.has(p.key));
  const sellerPending = inProgress.filter((p) => p.seller === upload.seller).reduce((n, p) => n + p.bytes, 0);
  const allPending = inProgress.reduce((n, p) => n + p.bytes, 0);
  const sellers = usage.filter((u) => u.seller === upload.seller).reduce((n, u) => n + u.bytes, 0);
  if (sellers + sellerPending + upload.bytes > deps.limits.sellerQuotaBytes) {
    throw new MpcError(
      "QUOTA_EXCEEDED",
      `seller ${upload.seller} stores ${sellers} bytes on this host${sellerPending > 0 ? ` and is uploading ${sellerPending} more` : ""}; this ${upload.bytes}-byte share would pass its quota of ${deps.limits.sellerQuotaBytes} bytes`,
      { details: { seller: upload.seller, stored: sellers, uploading: sellerPending, quota: deps.limits.sellerQuotaBytes } },
    );
  }
  const unregistered = usage.filter((u) => !u.registered).reduce((n, u) => n + u.bytes, 0) + allPending;
  if (unregistered + upload.bytes > deps.limits.unregisteredMaxBytes) {
    throw new MpcError(
      "QUOTA_EXCEEDED",
      `this host holds ${unregistered} bytes of uploads not yet registered on-chain and takes at most ${deps.limits.unregisteredMaxBytes}; try again once they are registered or expired`,
      { details: { unregistered, limit: deps.limits.unregisteredMaxBytes } },
    );
  }
  const entry = { key, seller: upload.seller, bytes: upload.bytes };
  pending.add(entry);
  // Dropped a turn of the event loop later: a check that read the usage just
  // before this share was stored finishes in microtasks, so it still sees the
  // reservation.
  return () => void setImmediate(() => pending.delete(entry));
}
