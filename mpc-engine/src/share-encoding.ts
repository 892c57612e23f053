import { AbiCoder, getBytes, isHexString, keccak256, solidityPackedKeccak256 } from "ethers";
import { createKeccak } from "hash-wasm";
import type { SchemaType } from "./algorithms/plan.ts";
import { MpcError } from "./errors.ts";

// Commitments hash whole columns (32 MB per million rows and host); the
// WebAssembly Keccak is ~15x faster than the pure-JS one and gives the same
// keccak256. One instance serves every (synchronous) use.
const keccakStream = await createKeccak(256);

/**
 * Domain tag of the canonical share encoding (v2: each column carries its
 * public bounds; v3: its type, a category's dictionary and the shares of
 * every cell's validity bit).
 */
export const SHARE_DOMAIN = "scmpc-share-v3";
/** Domain tag of the upload digest the seller signs. */
export const UPLOAD_DOMAIN = "scmpc-upload-v1";

// Typed arrays use the platform's byte order: where it is little-endian a
// ring vector's bytes are already the wire format.
const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/** One column of a host's share as it travels and is committed to. */
export interface ColumnShareBytes {
  name: string;
  /** Fractional decimal digits of the fixed-point encoding (0 for integers). */
  scale: number;
  /** Public lower bound of every value: a canonical decimal at the column's scale. */
  lo: string;
  /** Public upper bound of every value: a canonical decimal at the column's scale. */
  hi: string;
  /** The column's type as the schema names it; absent for int and decimal. */
  type?: SchemaType;
  /** A category column's public dictionary (index i stands for categories[i]); absent otherwise. */
  categories?: string[];
  /** Component x_i: rowCount little-endian u64. */
  a: Uint8Array;
  /** Component x_{i+1}: rowCount little-endian u64. */
  b: Uint8Array;
  /**
   * Component v_i of the validity vector v (1 present, 0 missing; a missing
   * cell's value is shared as the column's `lo`): rowCount little-endian u64.
   */
  validA: Uint8Array;
  /** Component v_{i+1} of the validity vector: rowCount little-endian u64. */
  validB: Uint8Array;
}

/** Everything a share commitment binds. */
export interface ShareCommitmentInput {
  /** 0x-prefixed bytes32. */
  datasetId: string;
  hostIndex: number;
  rowCount: bigint | number;
  columns: readonly ColumnShareBytes[];
}

/**
 * Serialises a ring vector as little-endian u64 bytes (the wire and commitment format).
 *
 * @example
 * encodeRingVector(BigUint64Array.of(1n)) // <Buffer 01 00 00 00 00 00 00 00>
 */
export function encodeRingVector(values: BigUint64Array): Buffer {
  if (LITTLE_ENDIAN) return Buffer.from(values.buffer, values.byteOffset, values.byteLength);
  const out = Buffer.alloc(values.length * 8);
  for (let i = 0; i < values.length; i++) out.writeBigUInt64LE(values[i], i * 8);
  return out;
}

/**
 * Little-endian u64 bytes as a ring vector: a view of the same memory when
 * it is word-aligned on a little-endian platform (a share file read whole),
 * else a copy ({@link decodeRingVector}). A view must not be written to.
 *
 * @throws MpcError `ENCODING_INVALID` if the length is not a multiple of 8
 * @example
 * ringVectorView(Buffer.alloc(16)) // BigUint64Array [0n, 0n], sharing the buffer's memory
 */
export function ringVectorView(bytes: Uint8Array): BigUint64Array {
  if (LITTLE_ENDIAN && bytes.byteOffset % 8 === 0 && bytes.length % 8 === 0) return new BigUint64Array(bytes.buffer, bytes.byteOffset, bytes.length / 8);
  return decodeRingVector(bytes);
}

/**
 * Parses little-endian u64 bytes into a (fresh, aligned) ring vector.
 *
 * @throws MpcError `ENCODING_INVALID` if the length is not a multiple of 8
 * @example
 * decodeRingVector(Buffer.alloc(16)) // BigUint64Array [0n, 0n]
 */
export function decodeRingVector(bytes: Uint8Array): BigUint64Array {
  if (bytes.length % 8 !== 0) {
    throw new MpcError("ENCODING_INVALID", `ring vector byte length ${bytes.length} is not a multiple of 8`);
  }
  const out = new BigUint64Array(bytes.length / 8);
  if (LITTLE_ENDIAN) {
    // Copy: the source may be unaligned (a slice of a gRPC buffer).
    new Uint8Array(out.buffer).set(bytes);
  } else {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < out.length; i++) out[i] = view.getBigUint64(i * 8, true);
  }
  return out;
}

/**
 * The dataset id as defined on-chain: keccak256(abi.encodePacked(seller, name)).
 *
 * @example
 * datasetIdOf("0x1111111111111111111111111111111111111111", "salaries")
 */
export function datasetIdOf(seller: string, name: string): string {
  return solidityPackedKeccak256(["address", "string"], [seller, name]);
}

/**
 * Canonical, unambiguous byte encoding of one host's share (all integers
 * little-endian, every variable-length field length-prefixed):
 *
 * ```
 * u32 len | "scmpc-share-v3" | datasetId (32) | hostIndex (u8) | rowCount (u64) |
 * u32 columnCount | per column: u32 len | name (UTF-8) | u32 scale |
 *                               u32 len | lo (UTF-8) | u32 len | hi (UTF-8) |
 *                               u32 len | type (UTF-8; "" for int and decimal) |
 *                               u32 categoryCount | per category: u32 len | category (UTF-8) |
 *                               u64 len | a | u64 len | b | u64 len | validA | u64 len | validB
 * ```
 *
 * Bounds, type and dictionary are in the commitment so that the schema the
 * hosts rebuild from their shares (and check against the on-chain schema
 * hash) is the one the seller signed; the validity shares so that no host
 * can swap which cells count as missing.
 *
 * @throws MpcError `ENCODING_INVALID` on a malformed field
 * @example
 * keccak256(encodeShare({ datasetId, hostIndex: 0, rowCount: 1, columns }))
 */
export function encodeShare(input: ShareCommitmentInput): Buffer {
  return Buffer.concat(shareParts(input));
}

/** The pieces of {@link encodeShare}, in order, without copying the columns. */
function shareParts(input: ShareCommitmentInput): Uint8Array[] {
  const datasetId = bytes32(input.datasetId, "datasetId");
  if (!Number.isInteger(input.hostIndex) || input.hostIndex < 0 || input.hostIndex > 2) {
    throw new MpcError("ENCODING_INVALID", `hostIndex must be 0, 1 or 2, got ${input.hostIndex}`);
  }
  const rowCount = BigInt(input.rowCount);
  if (rowCount < 0n || rowCount >= 1n << 64n) throw new MpcError("ENCODING_INVALID", `rowCount out of range: ${rowCount}`);
  const parts: Uint8Array[] = [];
  const tag = Buffer.from(SHARE_DOMAIN, "utf8");
  parts.push(u32(tag.length), tag, datasetId, Uint8Array.of(input.hostIndex), u64(rowCount), u32(input.columns.length));
  for (const column of input.columns) {
    if (!Number.isInteger(column.scale) || column.scale < 0 || column.scale > 0xffffffff) {
      throw new MpcError("ENCODING_INVALID", `column ${JSON.stringify(column.name)} has an invalid scale ${column.scale}`);
    }
    if (typeof column.lo !== "string" || typeof column.hi !== "string") {
      throw new MpcError("ENCODING_INVALID", `column ${JSON.stringify(column.name)} has no bounds lo and hi`);
    }
    if (column.type !== undefined && typeof column.type !== "string") {
      throw new MpcError("ENCODING_INVALID", `column ${JSON.stringify(column.name)} has a type that is not text`);
    }
    const categories = column.categories ?? [];
    if (!Array.isArray(categories) || categories.some((c) => typeof c !== "string")) {
      throw new MpcError("ENCODING_INVALID", `column ${JSON.stringify(column.name)} has categories that are not a list of text`);
    }
    if (!(column.validA instanceof Uint8Array) || !(column.validB instanceof Uint8Array)) {
      throw new MpcError("ENCODING_INVALID", `column ${JSON.stringify(column.name)} has no validity shares validA and validB`);
    }
    const name = Buffer.from(column.name, "utf8");
    const lo = Buffer.from(column.lo, "utf8");
    const hi = Buffer.from(column.hi, "utf8");
    const type = Buffer.from(column.type ?? "", "utf8");
    parts.push(u32(name.length), name, u32(column.scale), u32(lo.length), lo, u32(hi.length), hi, u32(type.length), type);
    parts.push(u32(categories.length));
    for (const category of categories) {
      const text = Buffer.from(category, "utf8");
      parts.push(u32(text.length), text);
    }
    for (const component of [column.a, column.b, column.validA, column.validB]) parts.push(u64(BigInt(component.length)), component);
  }
  return parts;
}

/**
 * Commitment to one host's share: keccak256 of {@link encodeShare}. The seller
 * registers the three commitments on-chain; each host recomputes its own.
 *
 * @example
 * const c = shareCommitment({ datasetId, hostIndex: 1, rowCount: 2n, columns: [{ name: "age", scale: 0, lo: "0", hi: "150", a, b, validA, validB }] });
 */
export function shareCommitment(input: ShareCommitmentInput): string {
  keccakStream.init();
  for (const part of shareParts(input)) keccakStream.update(part);
  return `0x${keccakStream.digest("hex")}`;
}

/**
 * The digest a seller signs (EIP-191, `wallet.signMessage(getBytes(digest))`)
 * to authorise an upload: keccak256(abi.encode("scmpc-upload-v1", datasetId,
 * uint8 hostIndex, commitment)).
 *
 * @example
 * const signature = await wallet.signMessage(getBytes(uploadDigest(datasetId, 0, commitment)));
 */
export function uploadDigest(datasetId: string, hostIndex: number, commitment: string): string {
  bytes32(datasetId, "datasetId");
  bytes32(commitment, "commitment");
  if (!Number.isInteger(hostIndex) || hostIndex < 0 || hostIndex > 2) {
    throw new MpcError("ENCODING_INVALID", `hostIndex must be 0, 1 or 2, got ${hostIndex}`);
  }
  return keccak256(
    AbiCoder.defaultAbiCoder().encode(
      ["string", "bytes32", "uint8", "bytes32"],
      [UPLOAD_DOMAIN, datasetId, hostIndex, commitment],
    ),
  );
}

function bytes32(hex: string, field: string): Uint8Array {
  if (!isHexString(hex, 32)) throw new MpcError("ENCODING_INVALID", `${field} must be a 0x-prefixed 32-byte hex string`);
  return getBytes(hex);
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}

function u64(n: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(n);
  return b;
}
