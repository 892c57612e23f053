import { AbiCoder, getBytes, isHexString, keccak256, solidityPackedKeccak256 } from "ethers";
import { createKeccak, createSHA256, type IHasher } from "hash-wasm";
import type { SchemaType } from "./algorithms/plan.ts";
import { MpcError } from "./errors.ts";

// The commitment's Keccak runs over the share's schema and its vectors' chunk
// digests (a few KiB), or, for a v3 share, over the whole vectors; the
// WebAssembly Keccak is ~15x faster than the pure-JS one and gives the same
// keccak256. One instance serves every (synchronous) use.
const keccakStream = await createKeccak(256);

// SHA-256 of a vector's chunks: Node's native hash where the runtime is Node
// (hosts, CLI; ~1 GB/s here against 145 MB/s for the WebAssembly Keccak), the
// WebAssembly one in a browser. Both give the same digest.
const nodeCrypto = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule?.("crypto") as
  | typeof import("node:crypto")
  | undefined;
const wasmSha256: IHasher | undefined = nodeCrypto === undefined ? await createSHA256() : undefined;

/**
 * Domain tag of the canonical share encoding (v2: each column carries its
 * public bounds; v3: its type, a category's dictionary and the shares of
 * every cell's validity bit; v4: each ring vector as the SHA-256 digests of
 * its {@link COMMITMENT_CHUNK_BYTES} chunks instead of its bytes).
 */
export const SHARE_DOMAIN = "scmpc-share-v4";
/**
 * Domain tag of the v5 encoding: the v4 one with each ring vector either
 * sent (its chunk digests, as in v4) or drawn from a share seed (the seed's
 * SHA-256), a kind byte saying which. A seller whose x0 and x1 travel as
 * seeds commits to them by their seeds, so neither it nor any host hashes,
 * writes or sends the vectors the seeds stand for.
 */
export const SHARE_DOMAIN_V5 = "scmpc-share-v5";
/** Domain tag of the v3 encoding, in which the vectors' bytes themselves are hashed: shares stored under it still verify. */
export const SHARE_DOMAIN_V3 = "scmpc-share-v3";
/**
 * Bytes of each chunk of a ring vector digested on its own in a v4
 * commitment (the last chunk may be shorter): 1 MiB, so that vectors hash
 * at the native SHA-256's speed, a vector shared by two hosts' shares is
 * hashed once, and chunks can be hashed apart.
 */
export const COMMITMENT_CHUNK_BYTES = 1 << 20;
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
 * u32 len | "scmpc-share-v4" | datasetId (32) | hostIndex (u8) | rowCount (u64) |
 * u32 columnCount | per column: u32 len | name (UTF-8) | u32 scale |
 *                               u32 len | lo (UTF-8) | u32 len | hi (UTF-8) |
 *                               u32 len | type (UTF-8; "" for int and decimal) |
 *                               u32 categoryCount | per category: u32 len | category (UTF-8) |
 *                               per component a, b, validA, validB:
 *                                 u64 len | SHA-256 of each COMMITMENT_CHUNK_BYTES chunk of it, in order
 * ```
 *
 * The v5 encoding (`"scmpc-share-v5"`, {@link shareCommitmentV5}) is the
 * same but for each component: `u64 len | u8 0 | chunk digests` for a vector
 * sent, `u64 len | u8 1 | SHA-256(seed)` for one drawn from a share seed
 * (share-seeds.ts: the column's index and the component's part fix the
 * stream), so a seeded vector is bound by its seed.
 *
 * The vectors enter through their chunk digests (32 bytes per MiB), so the
 * encoding is a few KiB even for millions of rows; SHA-256's collision
 * resistance makes it bind every byte as the v3 encoding did, which held
 * the bytes themselves (`"scmpc-share-v3"`, `u64 len | bytes` per component).
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
  return Buffer.concat(shareParts(input, 4, chunkDigests));
}

/**
 * The pieces of the v4 encoding ({@link encodeShare}) or, with `version` 3
 * or 5, of the v3 or v5 one, in order, without copying the columns. `digest`
 * gives a component's chunk digests (v4, v5).
 */
function shareParts(input: ShareCommitmentInput | ShareDigestInput | ShareV5Input, version: 3 | 4 | 5, digest: (component: Uint8Array) => Uint8Array): Uint8Array[] {
  const datasetId = bytes32(input.datasetId, "datasetId");
  if (!Number.isInteger(input.hostIndex) || input.hostIndex < 0 || input.hostIndex > 2) {
    throw new MpcError("ENCODING_INVALID", `hostIndex must be 0, 1 or 2, got ${input.hostIndex}`);
  }
  const rowCount = BigInt(input.rowCount);
  if (rowCount < 0n || rowCount >= 1n << 64n) throw new MpcError("ENCODING_INVALID", `rowCount out of range: ${rowCount}`);
  const parts: Uint8Array[] = [];
  const tag = Buffer.from(version === 5 ? SHARE_DOMAIN_V5 : version === 4 ? SHARE_DOMAIN : SHARE_DOMAIN_V3, "utf8");
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
    if (!isVector(column.validA) || !isVector(column.validB)) {
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
    for (const component of [column.a, column.b, column.validA, column.validB]) {
      if (version === 5) {
        if (isSeeded(component)) parts.push(u64(BigInt(component.length)), KIND_SEEDED, chunkDigests(component.seed));
        else parts.push(u64(BigInt(component.length)), KIND_SENT, component instanceof Uint8Array ? digest(component) : component.digests);
      } else if (isSeeded(component)) {
        throw new MpcError("ENCODING_INVALID", `a v${version} commitment has no seeded vectors; the v5 one binds them by their seeds`);
      } else if (component instanceof Uint8Array) {
        parts.push(u64(BigInt(component.length)), version === 4 ? digest(component) : component);
      } else {
        if (version !== 4) throw new MpcError("ENCODING_INVALID", "a v3 commitment hashes the vectors' bytes, not their digests");
        parts.push(u64(BigInt(component.length)), component.digests);
      }
    }
  }
  return parts;
}

/** v5 component kinds: a vector sent (its chunk digests follow), one drawn from a share seed (the seed's SHA-256 follows). */
const KIND_SENT = Uint8Array.of(0);
const KIND_SEEDED = Uint8Array.of(1);

function isVector(component: unknown): boolean {
  return (
    component instanceof Uint8Array ||
    (typeof component === "object" && component !== null && ((component as VectorDigests).digests instanceof Uint8Array || isSeeded(component)))
  );
}

function isSeeded(component: unknown): component is SeededVector {
  return typeof component === "object" && component !== null && !(component instanceof Uint8Array) && (component as SeededVector).seed instanceof Uint8Array;
}

/** A vector a v5 commitment binds by the share seed it is drawn from (share-seeds.ts): its byte length and the seed. */
export interface SeededVector {
  length: number;
  seed: Uint8Array;
}

/** {@link ShareCommitmentInput} for the v5 encoding: each vector as its bytes, its {@link VectorDigests} or its {@link SeededVector}. */
export interface ShareV5Input extends Omit<ShareCommitmentInput, "columns"> {
  columns: ReadonlyArray<Omit<ColumnShareBytes, "a" | "b" | "validA" | "validB"> & Record<"a" | "b" | "validA" | "validB", Uint8Array | VectorDigests | SeededVector>>;
}

/**
 * A share's columns as the v5 encoding sees them: the side with a seed (`a`
 * and `validA` for `seeds.a`, `b` and `validB` for `seeds.b`) as that seed,
 * standing for `rowCount` words; the other side as given.
 *
 * @example
 * shareCommitmentV5({ datasetId, hostIndex: 1, rowCount, columns: seededColumns(columns, { a: seed1 }, rowCount) })
 */
export function seededColumns<C extends Omit<ColumnShareBytes, "a" | "b" | "validA" | "validB"> & Record<"a" | "b" | "validA" | "validB", Uint8Array | VectorDigests>>(
  columns: readonly C[],
  seeds: { a?: Uint8Array; b?: Uint8Array } | undefined,
  rowCount: number | bigint,
): ShareV5Input["columns"] {
  const length = Number(rowCount) * 8;
  const side = (seed: Uint8Array | undefined, vector: Uint8Array | VectorDigests) => (seed === undefined ? vector : { length, seed });
  return columns.map((c) => ({ ...c, a: side(seeds?.a, c.a), b: side(seeds?.b, c.b), validA: side(seeds?.a, c.validA), validB: side(seeds?.b, c.validB) }));
}

/**
 * The v5 commitment: keccak256 of the v5 encoding (see {@link encodeShare}),
 * the vectors given as bytes, digests or seeds.
 *
 * @example
 * const c = shareCommitmentV5({ datasetId, hostIndex: 0, rowCount: 2n, columns: [{ ...schema, a: { length: 16, seed: seed0 }, b: { length: 16, seed: seed1 }, validA: { length: 16, seed: seed0 }, validB: { length: 16, seed: seed1 } }] });
 */
export function shareCommitmentV5(input: ShareV5Input): string {
  return keccakOf(shareParts(input, 5, chunkDigests));
}

/** A vector as a v4 commitment sees it: its byte length and its chunk digests ({@link chunkDigests}). */
export interface VectorDigests {
  length: number;
  digests: Uint8Array;
}

/** {@link ShareCommitmentInput} with each vector given as its {@link VectorDigests}: a share hashed as it streamed by. */
export interface ShareDigestInput extends Omit<ShareCommitmentInput, "columns"> {
  columns: ReadonlyArray<Omit<ColumnShareBytes, "a" | "b" | "validA" | "validB"> & Record<"a" | "b" | "validA" | "validB", VectorDigests>>;
}

/**
 * The v4 commitment ({@link shareCommitment}) of a share whose vectors were
 * digested as they arrived ({@link ChunkDigester}), none of them held whole.
 *
 * @example
 * const commitment = shareCommitmentOfDigests({ datasetId, hostIndex, rowCount, columns: digestedColumns });
 */
export function shareCommitmentOfDigests(input: ShareDigestInput): string {
  return keccakOf(shareParts(input, 4, chunkDigests));
}

/**
 * Digests a vector given in pieces of any size exactly as {@link chunkDigests}
 * digests it whole. Node only (the hosts): it keeps a native hash open
 * across pieces.
 *
 * @example
 * const digester = new ChunkDigester();
 * for (const piece of pieces) digester.update(piece);
 * const { length, digests } = digester.finish();
 */
export class ChunkDigester {
  #digests: Uint8Array[] = [];
  #hash: ReturnType<NonNullable<typeof nodeCrypto>["createHash"]> | undefined;
  #filled = 0;
  #length = 0;

  update(bytes: Uint8Array): void {
    if (nodeCrypto === undefined) throw new Error("ChunkDigester needs Node's native SHA-256");
    for (let at = 0; at < bytes.length; ) {
      this.#hash ??= nodeCrypto.createHash("sha256");
      const take = Math.min(COMMITMENT_CHUNK_BYTES - this.#filled, bytes.length - at);
      this.#hash.update(bytes.subarray(at, at + take));
      this.#filled += take;
      at += take;
      if (this.#filled === COMMITMENT_CHUNK_BYTES) this.#flush();
    }
    this.#length += bytes.length;
  }

  finish(): VectorDigests {
    if (this.#filled > 0) this.#flush();
    const digests = new Uint8Array(this.#digests.length * 32);
    this.#digests.forEach((d, k) => digests.set(d, k * 32));
    return { length: this.#length, digests };
  }

  #flush(): void {
    this.#digests.push(this.#hash!.digest());
    this.#hash = undefined;
    this.#filled = 0;
  }
}

/**
 * SHA-256 of each {@link COMMITMENT_CHUNK_BYTES} chunk of `bytes`, joined in
 * order (32 bytes per chunk; none for an empty vector).
 *
 * @example
 * chunkDigests(new Uint8Array(3 << 20)).length // 96
 */
export function chunkDigests(bytes: Uint8Array): Uint8Array {
  const chunks = Math.ceil(bytes.length / COMMITMENT_CHUNK_BYTES);
  const out = new Uint8Array(chunks * 32);
  for (let k = 0; k < chunks; k++) {
    const chunk = bytes.subarray(k * COMMITMENT_CHUNK_BYTES, (k + 1) * COMMITMENT_CHUNK_BYTES);
    if (nodeCrypto !== undefined) {
      out.set(nodeCrypto.createHash("sha256").update(chunk).digest(), k * 32);
    } else {
      wasmSha256!.init();
      wasmSha256!.update(chunk);
      out.set(wasmSha256!.digest("binary"), k * 32);
    }
  }
  return out;
}

/**
 * Commitment to one host's share: keccak256 of {@link encodeShare}. The seller
 * registers the three commitments on-chain; each host recomputes its own.
 *
 * @example
 * const c = shareCommitment({ datasetId, hostIndex: 1, rowCount: 2n, columns: [{ name: "age", scale: 0, lo: "0", hi: "150", a, b, validA, validB }] });
 */
export function shareCommitment(input: ShareCommitmentInput): string {
  return keccakOf(shareParts(input, 4, chunkDigests));
}

/**
 * The three hosts' commitments of one sharing at once ({@link shareCommitment}
 * of each): a vector two shares hold (host i's `b` is host i+1's `a`) is
 * digested once, recognised by the memory it views, so the vectors must not
 * change during the call.
 *
 * @example
 * const [c0, c1, c2] = shareCommitments([share0, share1, share2]);
 */
export function shareCommitments(inputs: readonly ShareCommitmentInput[]): string[] {
  const digest = memoDigests();
  return inputs.map((input) => keccakOf(shareParts(input, 4, digest)));
}

/**
 * {@link shareCommitments} under the v5 encoding: each vector sent is
 * digested once for the two commitments that hold it, and each seeded one is
 * bound by its seed, never drawn.
 *
 * @example
 * const [c0, c1, c2] = shareCommitmentsV5(perHost.map((columns, hostIndex) => ({ datasetId, hostIndex, rowCount, columns })));
 */
export function shareCommitmentsV5(inputs: readonly ShareV5Input[]): string[] {
  const digest = memoDigests();
  return inputs.map((input) => keccakOf(shareParts(input, 5, digest)));
}

/** {@link chunkDigests} remembered per view (buffer, offset, length): a vector two hosts hold is digested once. */
function memoDigests(): (component: Uint8Array) => Uint8Array {
  const seen = new Map<ArrayBufferLike, Map<string, Uint8Array>>();
  const digest = (component: Uint8Array): Uint8Array => {
    const key = `${component.byteOffset}:${component.byteLength}`;
    let views = seen.get(component.buffer);
    if (views === undefined) seen.set(component.buffer, (views = new Map()));
    let digests = views.get(key);
    if (digests === undefined) views.set(key, (digests = chunkDigests(component)));
    return digests;
  };
  return digest;
}

/**
 * The v3 commitment: keccak256 of the v3 encoding, which holds the vectors'
 * bytes. Shares stored before v4 carry it on-chain and are checked with it.
 *
 * @example
 * const c = shareCommitmentV3({ datasetId, hostIndex: 1, rowCount: 2n, columns });
 */
export function shareCommitmentV3(input: ShareCommitmentInput): string {
  return keccakOf(shareParts(input, 3, chunkDigests));
}

function keccakOf(parts: readonly Uint8Array[]): string {
  keccakStream.init();
  for (const part of parts) keccakStream.update(part);
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
