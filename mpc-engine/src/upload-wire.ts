// The binary body of the hosts' web upload (`POST /v1/upload`): one
// UploadShares request without base64 or protobuf, so a browser can build it.
// No Node built-ins here (no node:*, no Buffer): the browser market imports
// `encodeUploadBody`.
import { MpcError } from "./errors.ts";

/** Bytes of the little-endian length that precedes the JSON header. */
export const UPLOAD_HEADER_LENGTH_BYTES = 4;

/** One column of an upload body: its public description and this host's four share components. */
export interface UploadBodyColumn {
  name: string;
  /** Fractional decimal digits of the fixed-point encoding (0 for integers). */
  scale: number;
  /** Public lower bound: a canonical decimal at the column's scale. */
  lo: string;
  /** Public upper bound: a canonical decimal at the column's scale. */
  hi: string;
  /** "category", "bool" or "date"; absent (or "") for an int or decimal column. */
  type?: string;
  /** A category column's dictionary; absent (or empty) otherwise. */
  categories?: string[];
  /** Component x_i: rowCount little-endian u64. */
  a: Uint8Array;
  /** Component x_{i+1}: rowCount little-endian u64. */
  b: Uint8Array;
  /** Component v_i of the validity vector: rowCount little-endian u64. */
  validA: Uint8Array;
  /** Component v_{i+1} of the validity vector: rowCount little-endian u64. */
  validB: Uint8Array;
}

/**
 * An UploadShares request as the upload body carries it: the fields of the
 * gRPC `UploadSharesRequest` (an `UploadSharesRequest` of `@scmpc/protos` is
 * one), with the share components as plain byte arrays.
 */
export interface UploadBody {
  /** 0x-prefixed keccak256(abi.encodePacked(seller, name)). */
  datasetId: string;
  /** 0x-prefixed address of the seller. */
  seller: string;
  name: string;
  hostIndex: number;
  /** Rows of every column, as a decimal string. */
  rowCount: string;
  columns: UploadBodyColumn[];
  /** 0x-prefixed keccak256 of the canonical share encoding. */
  commitment: string;
  /** The seller's EIP-191 signature over the upload digest. */
  signature: string;
}

/** The order of each column's components after the header. */
const COMPONENTS = ["a", "b", "validA", "validB"] as const;
const HEADER_KEYS = new Set(["datasetId", "seller", "name", "hostIndex", "rowCount", "commitment", "signature", "columns"]);
const COLUMN_KEYS = new Set(["name", "scale", "lo", "hi", "type", "categories"]);

/**
 * Encodes an upload as the web API's body: a 4-byte little-endian length N,
 * N bytes of UTF-8 JSON header `{datasetId, seller, name, hostIndex,
 * rowCount, commitment, signature, columns: [{name, scale, lo, hi, type?,
 * categories?}]}`, then for each column in order its `a`, `b`, `validA` and
 * `validB` components, each exactly rowCount × 8 bytes. Send it as
 * `Content-Type: application/octet-stream`.
 *
 * @throws MpcError `ENCODING_INVALID` when rowCount is not a decimal integer
 *   or a component is not rowCount × 8 bytes (the host could not tell where
 *   one ends)
 * @example
 * await fetch(`${hostWebUrl}/v1/upload`, {
 *   method: "POST",
 *   headers: { "content-type": "application/octet-stream" },
 *   body: encodeUploadBody(request),
 * });
 */
export function encodeUploadBody(request: UploadBody): Uint8Array {
  if (!/^\d+$/.test(request.rowCount)) throw malformed(`rowCount must be a decimal integer, got ${JSON.stringify(request.rowCount)}`);
  const componentBytes = BigInt(request.rowCount) * 8n;
  const header = {
    datasetId: request.datasetId,
    seller: request.seller,
    name: request.name,
    hostIndex: request.hostIndex,
    rowCount: request.rowCount,
    commitment: request.commitment,
    signature: request.signature,
    columns: request.columns.map((column) => ({
      name: column.name,
      scale: column.scale,
      lo: column.lo,
      hi: column.hi,
      ...(column.type === undefined || column.type === "" ? {} : { type: column.type }),
      ...(column.categories === undefined || column.categories.length === 0 ? {} : { categories: [...column.categories] }),
    })),
  };
  const headerBytes = new TextEncoder().encode(JSON.stringify(header));
  let total = UPLOAD_HEADER_LENGTH_BYTES + headerBytes.length;
  for (const column of request.columns) {
    for (const part of COMPONENTS) {
      const length = column[part].length;
      if (BigInt(length) !== componentBytes) {
        throw malformed(`column ${JSON.stringify(column.name)} component ${part} has ${length} bytes, expected rowCount*8 = ${componentBytes}`);
      }
      total += length;
    }
  }
  const body = new Uint8Array(total);
  new DataView(body.buffer).setUint32(0, headerBytes.length, true);
  body.set(headerBytes, UPLOAD_HEADER_LENGTH_BYTES);
  let offset = UPLOAD_HEADER_LENGTH_BYTES + headerBytes.length;
  for (const column of request.columns) {
    for (const part of COMPONENTS) {
      body.set(column[part], offset);
      offset += column[part].length;
    }
  }
  return body;
}

/**
 * Decodes a web API upload body (see {@link encodeUploadBody}) into the
 * fields of an UploadShares request. Checks the framing only — the header's
 * JSON and field types, and that the components fill the rest of the body
 * exactly; what the fields say (addresses, bounds, commitment, signature) is
 * the upload handler's to check. The components are views into `bytes`, not
 * copies.
 *
 * @throws MpcError `ENCODING_INVALID` naming what is malformed
 * @example
 * const request = decodeUploadBody(new Uint8Array(await readBody(req)));
 */
export function decodeUploadBody(bytes: Uint8Array): UploadBody {
  if (bytes.length < UPLOAD_HEADER_LENGTH_BYTES) {
    throw malformed(`the body has ${bytes.length} bytes, fewer than the ${UPLOAD_HEADER_LENGTH_BYTES}-byte header length`);
  }
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0, true);
  const headerEnd = UPLOAD_HEADER_LENGTH_BYTES + headerLength;
  if (headerEnd > bytes.length) {
    throw malformed(`the header length says ${headerLength} bytes, but only ${bytes.length - UPLOAD_HEADER_LENGTH_BYTES} follow it (truncated body?)`);
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(UPLOAD_HEADER_LENGTH_BYTES, headerEnd));
  } catch (cause) {
    throw malformed("the header is not valid UTF-8", cause);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw malformed(`the header is not valid JSON: ${(cause as Error).message}`, cause);
  }
  const header = record(parsed, "the header");
  unknownKeys(header, HEADER_KEYS, "the header");
  const datasetId = stringField(header, "datasetId", "the header");
  const seller = stringField(header, "seller", "the header");
  const name = stringField(header, "name", "the header");
  const commitment = stringField(header, "commitment", "the header");
  const signature = stringField(header, "signature", "the header");
  const hostIndex = uint32(header.hostIndex, "the header's hostIndex");
  const rowCount = rowCountOf(header.rowCount);
  if (!Array.isArray(header.columns)) throw malformed("the header's columns must be a list");
  const componentBytes = BigInt(rowCount) * 8n;
  const expected = BigInt(headerEnd) + componentBytes * BigInt(COMPONENTS.length * header.columns.length);
  if (expected !== BigInt(bytes.length)) {
    const described = `${header.columns.length} column(s) of ${rowCount} rows take ${expected - BigInt(headerEnd)} component bytes after the header`;
    throw malformed(
      expected > BigInt(bytes.length)
        ? `${described}, but the body has only ${bytes.length - headerEnd} (truncated body?)`
        : `${described}, but the body has ${bytes.length - headerEnd} (trailing bytes)`,
    );
  }
  const size = Number(componentBytes);
  let offset = headerEnd;
  const take = (): Uint8Array => {
    const view = bytes.subarray(offset, offset + size);
    offset += size;
    return view;
  };
  const columns = header.columns.map((value, k): UploadBodyColumn => {
    const where = `column ${k} of the header`;
    const column = record(value, where);
    unknownKeys(column, COLUMN_KEYS, where);
    const columnName = stringField(column, "name", where);
    const scale = uint32(column.scale, `${where}'s scale`);
    const lo = stringField(column, "lo", where);
    const hi = stringField(column, "hi", where);
    let type: string | undefined;
    if (column.type !== undefined) type = stringField(column, "type", where);
    let categories: string[] | undefined;
    if (column.categories !== undefined) {
      if (!Array.isArray(column.categories) || !column.categories.every((c) => typeof c === "string")) {
        throw malformed(`${where}: categories must be a list of strings`);
      }
      categories = column.categories as string[];
    }
    return {
      name: columnName,
      scale,
      lo,
      hi,
      ...(type === undefined ? {} : { type }),
      ...(categories === undefined ? {} : { categories }),
      a: take(),
      b: take(),
      validA: take(),
      validB: take(),
    };
  });
  return { datasetId, seller, name, hostIndex, rowCount, columns, commitment, signature };
}

function malformed(why: string, cause?: unknown): MpcError {
  return new MpcError("ENCODING_INVALID", `malformed upload body: ${why}`, cause === undefined ? {} : { cause });
}

function record(value: unknown, where: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw malformed(`${where} must be a JSON object`);
  return value as Record<string, unknown>;
}

function unknownKeys(value: Record<string, unknown>, known: ReadonlySet<string>, where: string): void {
  const extra = Object.keys(value).filter((k) => !known.has(k));
  if (extra.length > 0) throw malformed(`${where} has unknown field(s) ${extra.map((k) => JSON.stringify(k)).join(", ")}`);
}

function stringField(value: Record<string, unknown>, key: string, where: string): string {
  const field = value[key];
  if (typeof field !== "string") throw malformed(`${where}: ${key} must be a string`);
  return field;
}

function uint32(value: unknown, what: string): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > 0xffff_ffff) {
    throw malformed(`${what} must be an integer from 0 to 2^32-1`);
  }
  return value;
}

/** rowCount as a decimal string: the JSON may hold a string of digits or a non-negative safe integer. */
function rowCountOf(value: unknown): string {
  if (typeof value === "string" && /^\d+$/.test(value)) return BigInt(value).toString();
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0) return String(value);
  throw malformed("the header's rowCount must be a non-negative integer (a decimal string or a number)");
}
