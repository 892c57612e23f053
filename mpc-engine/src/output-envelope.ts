import {
  createCipheriv,
  createDecipheriv,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  hkdfSync,
  randomBytes,
  type KeyObject,
} from "node:crypto";
import { AbiCoder, getBytes, hexlify, isHexString } from "ethers";
import { MpcError } from "./errors.ts";
import { unwrapEnvelope, WRAPPED_HEADER_BYTES } from "./release-key.ts";

/** Envelope format version. */
export const ENVELOPE_VERSION = 1;
const HKDF_INFO = "scmpc-output-v1";
const HEADER_BYTES = 1 + 1 + 32 + 12 + 16;
// DER prefixes that turn 32 raw X25519 bytes into SPKI / PKCS#8 (RFC 8410).
const SPKI_PREFIX = Buffer.from("302a300506032b656e032100", "hex");
const PKCS8_PREFIX = Buffer.from("302e020100300506032b656e04220420", "hex");

/** A buyer's X25519 key pair as raw 32-byte keys. */
export interface BuyerKeyPair {
  publicKey: Buffer;
  privateKey: Buffer;
}

/** One output value as this host's two share components (x_i, x_{i+1}). */
export type OutputSharePair = readonly [bigint, bigint];

/**
 * Generates a buyer X25519 key pair (raw 32-byte keys). The public key goes
 * on-chain as the request's `buyerKey` (bytes32).
 *
 * @example
 * const { publicKey, privateKey } = generateBuyerKeyPair();
 * const buyerKey = "0x" + publicKey.toString("hex");
 */
export function generateBuyerKeyPair(): BuyerKeyPair {
  const { publicKey, privateKey } = generateKeyPairSync("x25519");
  return {
    publicKey: publicKey.export({ format: "der", type: "spki" }).subarray(SPKI_PREFIX.length),
    privateKey: privateKey.export({ format: "der", type: "pkcs8" }).subarray(PKCS8_PREFIX.length),
  };
}

/**
 * Encrypts one host's output share to the buyer: ephemeral X25519, HKDF-SHA256
 * (salt = requestId, info = "scmpc-output-v1" || hostIndex), AES-256-GCM with
 * AAD = requestId || hostIndex. Plaintext: per value, a then b as u64 LE.
 *
 * Envelope: version(1) || hostIndex(1) || ephemeralPub(32) || iv(12) || tag(16) || ciphertext.
 *
 * @example
 * const env = encryptOutputShare({ requestId, hostIndex: 0, buyerPublicKey, values: [[z0, z1]] });
 */
export function encryptOutputShare(input: {
  requestId: string | Uint8Array;
  hostIndex: number;
  buyerPublicKey: string | Uint8Array;
  values: readonly OutputSharePair[];
}): Buffer {
  const requestId = toBytes32(input.requestId, "requestId");
  assertHostIndex(input.hostIndex);
  const buyer = publicKeyFromRaw(toBytes32(input.buyerPublicKey, "buyerPublicKey"));
  const ephemeral = generateKeyPairSync("x25519");
  const key = deriveKey(ephemeral.privateKey, buyer, requestId, input.hostIndex);
  const plaintext = Buffer.alloc(input.values.length * 16);
  input.values.forEach(([a, b], k) => {
    plaintext.writeBigUInt64LE(BigInt.asUintN(64, a), k * 16);
    plaintext.writeBigUInt64LE(BigInt.asUintN(64, b), k * 16 + 8);
  });
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(aad(requestId, input.hostIndex));
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  const ephemeralPub = ephemeral.publicKey.export({ format: "der", type: "spki" }).subarray(SPKI_PREFIX.length);
  return Buffer.concat([
    Uint8Array.of(ENVELOPE_VERSION, input.hostIndex),
    ephemeralPub,
    iv,
    cipher.getAuthTag(),
    ciphertext,
  ]);
}

/**
 * Decrypts one host's envelope with the buyer's private key.
 *
 * @throws MpcError `ENVELOPE_MALFORMED` or `ENVELOPE_DECRYPT_FAILED`, naming the host
 * @example
 * const pairs = decryptOutputShare({ requestId, hostIndex: 2, buyerPrivateKey, envelope });
 */
export function decryptOutputShare(input: {
  requestId: string | Uint8Array;
  hostIndex: number;
  buyerPrivateKey: Uint8Array;
  envelope: Uint8Array;
}): OutputSharePair[] {
  const { hostIndex } = input;
  assertHostIndex(hostIndex);
  const requestId = toBytes32(input.requestId, "requestId");
  const env = Buffer.from(input.envelope);
  const malformed = (why: string): MpcError =>
    new MpcError("ENVELOPE_MALFORMED", `output envelope of host ${hostIndex} is malformed: ${why}`, {
      details: { host: hostIndex },
    });
  if (env.length < HEADER_BYTES) throw malformed(`${env.length} bytes is shorter than the header`);
  if (env[0] !== ENVELOPE_VERSION) throw malformed(`unknown version ${env[0]}`);
  if (env[1] !== hostIndex) throw malformed(`it claims host index ${env[1]}`);
  if ((env.length - HEADER_BYTES) % 16 !== 0) throw malformed("ciphertext is not a whole number of values");
  const ephemeralPub = env.subarray(2, 34);
  const iv = env.subarray(34, 46);
  const tag = env.subarray(46, 62);
  const ciphertext = env.subarray(62);
  let plaintext: Buffer;
  try {
    const key = deriveKey(privateKeyFromRaw(input.buyerPrivateKey), publicKeyFromRaw(ephemeralPub), requestId, hostIndex);
    const decipher = createDecipheriv("aes-256-gcm", key, iv);
    decipher.setAAD(aad(requestId, hostIndex));
    decipher.setAuthTag(tag);
    plaintext = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  } catch (cause) {
    throw new MpcError(
      "ENVELOPE_DECRYPT_FAILED",
      `cannot decrypt the output share of host ${hostIndex} (wrong key, wrong request or tampered envelope)`,
      { cause, details: { host: hostIndex } },
    );
  }
  const pairs: OutputSharePair[] = [];
  for (let off = 0; off < plaintext.length; off += 16) {
    pairs.push([plaintext.readBigUInt64LE(off), plaintext.readBigUInt64LE(off + 8)]);
  }
  return pairs;
}

/** The longest result the market's contracts accept (`AlgorithmComputation.MAX_RESULT_LENGTH`); a longer one fails the request. */
export const MAX_RESULT_LENGTH = 4096;

/**
 * Bytes of the packed on-chain result of a job that opens `values` ring
 * values: abi.encode(bytes32, bytes, bytes, bytes) of three wrapped
 * envelopes, each the wrapping header, the envelope header and 16 bytes per
 * value (the host's two u64 components).
 *
 * @example
 * packedResultLength(2) // 704
 */
export function packedResultLength(values: number): number {
  const wrapped = WRAPPED_HEADER_BYTES + HEADER_BYTES + 16 * values;
  return 4 * 32 + 3 * (32 + 32 * Math.ceil(wrapped / 32));
}

/** Most ring values one job may open so that its result fits {@link MAX_RESULT_LENGTH} (72). */
export const MAX_OPENED_VALUES = (() => {
  let v = 0;
  while (packedResultLength(v + 1) <= MAX_RESULT_LENGTH) v++;
  return v;
})();

/**
 * Packs the job id and the three hosts' wrapped envelopes (ordered by host
 * index) as the on-chain result: `abi.encode(bytes32 jobId, bytes, bytes, bytes)`
 * as 0x-hex. The job id sits inside what the hosts sign, binding the
 * signatures to the job's inputs as well as to its request.
 *
 * @example
 * const result = packResult(jobId, [w0, w1, w2]);
 */
export function packResult(jobId: string, envelopes: readonly Uint8Array[]): string {
  if (envelopes.length !== 3) throw new MpcError("ENVELOPE_MALFORMED", `expected 3 envelopes, got ${envelopes.length}`);
  if (!isHexString(jobId, 32)) throw new MpcError("ENVELOPE_MALFORMED", "jobId must be a 0x-prefixed bytes32 hex string");
  return AbiCoder.defaultAbiCoder().encode(["bytes32", "bytes", "bytes", "bytes"], [jobId, ...envelopes.map((e) => hexlify(e))]);
}

/**
 * Inverse of {@link packResult}.
 *
 * @throws MpcError `ENVELOPE_MALFORMED` if the bytes are not `(bytes32,bytes,bytes,bytes)`
 * @example
 * const { jobId, envelopes: [w0, w1, w2] } = unpackResult(result);
 */
export function unpackResult(hex: string): { jobId: string; envelopes: [Buffer, Buffer, Buffer] } {
  try {
    const [jobId, e0, e1, e2] = AbiCoder.defaultAbiCoder().decode(["bytes32", "bytes", "bytes", "bytes"], hex) as unknown as string[];
    return { jobId: jobId.toLowerCase(), envelopes: [Buffer.from(getBytes(e0)), Buffer.from(getBytes(e1)), Buffer.from(getBytes(e2))] };
  } catch (cause) {
    throw new MpcError("ENVELOPE_MALFORMED", "result is not an ABI-encoded (bytes32,bytes,bytes,bytes)", { cause });
  }
}

/**
 * Buyer side: rebuilds the opened values from the output shares of any two
 * or three hosts (host i holds x_i and x_{i+1}, so two hosts hold all three
 * components). Where two hosts hold the same component they must agree: a
 * disagreement names the pair (and, with three hosts, the suspect).
 *
 * @param shares - Per host index, its decrypted pairs, or undefined for a host whose share is missing.
 * @throws MpcError `OUTPUT_TAMPERED` naming inconsistent hosts; `ENVELOPE_MALFORMED` with fewer than two shares
 * @example
 * const [sum] = combineOutputShares([pairs0, undefined, pairs2]);
 */
export function combineOutputShares(shares: readonly (readonly OutputSharePair[] | undefined)[]): bigint[] {
  const present = [0, 1, 2].filter((h) => shares[h] !== undefined);
  if (present.length < 2) {
    throw new MpcError("ENVELOPE_MALFORMED", `the output shares of at least two hosts are needed, got ${present.length}`);
  }
  const n = shares[present[0]]!.length;
  for (const host of present) {
    if (shares[host]!.length !== n) {
      throw new MpcError("OUTPUT_TAMPERED", `host ${host} returned ${shares[host]!.length} value(s), host ${present[0]} returned ${n}`, {
        details: { host },
      });
    }
  }
  // Component x_j is held by host j (as a) and host j-1 (as b).
  const pairs: Array<[number, number]> = [];
  const rows: number[] = [];
  for (let i = 0; i < 3; i++) {
    const next = (i + 1) % 3;
    if (shares[i] === undefined || shares[next] === undefined) continue;
    const k = shares[i]!.findIndex((pair, idx) => pair[1] !== shares[next]![idx][0]);
    if (k >= 0) {
      pairs.push([i, next]);
      rows.push(k);
    }
  }
  if (pairs.length > 0) {
    // A host that lies about both components breaks both pairs it is in.
    const suspect = pairs.length === 2 ? pairs[0].find((h) => pairs[1].includes(h)) : undefined;
    const described = pairs.map(([i, j], p) => `hosts ${i} and ${j} disagree on x_${j} (value ${rows[p]})`).join("; ");
    throw new MpcError(
      "OUTPUT_TAMPERED",
      `output shares are inconsistent: ${described}${suspect === undefined ? "" : `; host ${suspect} is suspect`}`,
      { details: { pairs, ...(suspect === undefined ? {} : { suspectHost: suspect }) } },
    );
  }
  const component = (j: number, k: number): bigint =>
    shares[j] !== undefined ? shares[j]![k][0] : shares[(j + 2) % 3]![k][1];
  return Array.from({ length: n }, (_, k) => BigInt.asUintN(64, component(0, k) + component(1, k) + component(2, k)));
}

/**
 * Buyer side, from the on-chain result: unwraps the envelopes of the hosts
 * whose release keys are given (at least two), decrypts them with the buyer's
 * key, checks that the hosts agree and adds the components up.
 *
 * @param input.releaseKeys - Per host index, the key it released, or undefined.
 * @param input.jobId - The job the buyer expects; the result must carry it.
 * @throws MpcError `OUTPUT_TAMPERED`, `KEY_INVALID`, `ENVELOPE_DECRYPT_FAILED` / `ENVELOPE_MALFORMED` naming the host
 * @example
 * const [sum] = openResult({ requestId, buyerPrivateKey, result, releaseKeys: [k0, k1, k2] });
 */
export function openResult(input: {
  requestId: string | Uint8Array;
  buyerPrivateKey: Uint8Array;
  result: string;
  releaseKeys: readonly (Uint8Array | undefined)[];
  jobId?: string;
}): bigint[] {
  const { jobId, envelopes } = unpackResult(input.result);
  if (input.jobId !== undefined && input.jobId.toLowerCase() !== jobId) {
    throw new MpcError("OUTPUT_TAMPERED", `the result is for job ${jobId}, not the expected ${input.jobId.toLowerCase()}`);
  }
  const shares = envelopes.map((wrapped, hostIndex) => {
    const key = input.releaseKeys[hostIndex];
    if (key === undefined) return undefined;
    const envelope = unwrapEnvelope({ jobId, hostIndex, key, wrapped });
    return decryptOutputShare({ requestId: input.requestId, hostIndex, buyerPrivateKey: input.buyerPrivateKey, envelope });
  });
  return combineOutputShares(shares);
}

function deriveKey(privateKey: KeyObject, publicKey: KeyObject, requestId: Buffer, hostIndex: number): Buffer {
  const shared = diffieHellman({ privateKey, publicKey });
  // An all-zero secret means a low-order public key: refuse rather than encrypt under a known key.
  if (shared.every((byte) => byte === 0)) throw new MpcError("KEY_INVALID", "X25519 public key is of low order");
  const info = Buffer.concat([Buffer.from(HKDF_INFO, "utf8"), Uint8Array.of(hostIndex)]);
  return Buffer.from(hkdfSync("sha256", shared, requestId, info, 32));
}

function aad(requestId: Buffer, hostIndex: number): Buffer {
  return Buffer.concat([requestId, Uint8Array.of(hostIndex)]);
}

function publicKeyFromRaw(raw: Uint8Array): KeyObject {
  try {
    return createPublicKey({ key: Buffer.concat([SPKI_PREFIX, raw]), format: "der", type: "spki" });
  } catch (cause) {
    throw new MpcError("KEY_INVALID", "not a valid raw X25519 public key", { cause });
  }
}

function privateKeyFromRaw(raw: Uint8Array): KeyObject {
  if (raw.length !== 32) throw new MpcError("KEY_INVALID", `X25519 private key must be 32 bytes, got ${raw.length}`);
  try {
    return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, raw]), format: "der", type: "pkcs8" });
  } catch (cause) {
    throw new MpcError("KEY_INVALID", "not a valid raw X25519 private key", { cause });
  }
}

function toBytes32(value: string | Uint8Array, field: string): Buffer {
  if (typeof value === "string") {
    if (!isHexString(value, 32)) throw new MpcError("KEY_INVALID", `${field} must be a 0x-prefixed 32-byte hex string`);
    return Buffer.from(getBytes(value));
  }
  if (value.length !== 32) throw new MpcError("KEY_INVALID", `${field} must be 32 bytes, got ${value.length}`);
  return Buffer.from(value);
}

function assertHostIndex(hostIndex: number): void {
  if (!Number.isInteger(hostIndex) || hostIndex < 0 || hostIndex > 2) {
    throw new MpcError("ENVELOPE_MALFORMED", `host index must be 0, 1 or 2, got ${hostIndex}`);
  }
}
