import { gcm } from "@noble/ciphers/aes.js";
import { x25519 } from "@noble/curves/ed25519";
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { AbiCoder, getBytes, hexlify, isHexString } from "ethers";
import { MpcError } from "./errors.ts";
import { asBuffer, concatBytes, randomBytes } from "./random-bytes.ts";
import { unwrapEnvelope, WRAPPED_HEADER_BYTES } from "./release-key.ts";

/** Envelope format version. */
export const ENVELOPE_VERSION = 1;
const HKDF_INFO = new TextEncoder().encode("scmpc-output-v1");
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = 1 + 1 + KEY_BYTES + IV_BYTES + TAG_BYTES;

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
  const privateKey = randomBytes(KEY_BYTES);
  return { publicKey: asBuffer(x25519.getPublicKey(privateKey)), privateKey: asBuffer(privateKey) };
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
  const buyer = toBytes32(input.buyerPublicKey, "buyerPublicKey");
  const ephemeral = randomBytes(KEY_BYTES);
  const key = deriveKey(ephemeral, buyer, requestId, input.hostIndex);
  const plaintext = new Uint8Array(input.values.length * 16);
  const view = new DataView(plaintext.buffer);
  input.values.forEach(([a, b], k) => {
    view.setBigUint64(k * 16, BigInt.asUintN(64, a), true);
    view.setBigUint64(k * 16 + 8, BigInt.asUintN(64, b), true);
  });
  const iv = randomBytes(IV_BYTES);
  // GCM's output is ciphertext || tag; the envelope puts the tag first.
  const sealed = gcm(key, iv, aad(requestId, input.hostIndex)).encrypt(plaintext);
  return Buffer.concat([
    Uint8Array.of(ENVELOPE_VERSION, input.hostIndex),
    x25519.getPublicKey(ephemeral),
    iv,
    sealed.subarray(sealed.length - TAG_BYTES),
    sealed.subarray(0, sealed.length - TAG_BYTES),
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
  const env = input.envelope;
  const malformed = (why: string): MpcError =>
    new MpcError("ENVELOPE_MALFORMED", `output envelope of host ${hostIndex} is malformed: ${why}`, {
      details: { host: hostIndex },
    });
  if (env.length < HEADER_BYTES) throw malformed(`${env.length} bytes is shorter than the header`);
  if (env[0] !== ENVELOPE_VERSION) throw malformed(`unknown version ${env[0]}`);
  if (env[1] !== hostIndex) throw malformed(`it claims host index ${env[1]}`);
  if ((env.length - HEADER_BYTES) % 16 !== 0) throw malformed("ciphertext is not a whole number of values");
  const ephemeralPub = env.subarray(2, 2 + KEY_BYTES);
  const iv = env.subarray(2 + KEY_BYTES, 2 + KEY_BYTES + IV_BYTES);
  const tag = env.subarray(2 + KEY_BYTES + IV_BYTES, HEADER_BYTES);
  const ciphertext = env.subarray(HEADER_BYTES);
  let plaintext: Uint8Array;
  try {
    if (input.buyerPrivateKey.length !== KEY_BYTES) {
      throw new MpcError("KEY_INVALID", `X25519 private key must be ${KEY_BYTES} bytes, got ${input.buyerPrivateKey.length}`);
    }
    const key = deriveKey(input.buyerPrivateKey, ephemeralPub, requestId, hostIndex);
    plaintext = gcm(key, iv, aad(requestId, hostIndex)).decrypt(concatBytes(ciphertext, tag));
  } catch (cause) {
    throw new MpcError(
      "ENVELOPE_DECRYPT_FAILED",
      `cannot decrypt the output share of host ${hostIndex} (wrong key, wrong request or tampered envelope)`,
      { cause, details: { host: hostIndex } },
    );
  }
  const view = new DataView(plaintext.buffer, plaintext.byteOffset, plaintext.byteLength);
  const pairs: OutputSharePair[] = [];
  for (let off = 0; off < plaintext.length; off += 16) {
    pairs.push([view.getBigUint64(off, true), view.getBigUint64(off + 8, true)]);
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

function deriveKey(privateKey: Uint8Array, publicKey: Uint8Array, requestId: Uint8Array, hostIndex: number): Uint8Array {
  let shared: Uint8Array;
  try {
    shared = x25519.getSharedSecret(privateKey, publicKey);
  } catch (cause) {
    // An all-zero secret means a low-order public key: refuse rather than encrypt under a known key.
    throw new MpcError("KEY_INVALID", "X25519 public key is of low order", { cause });
  }
  return hkdf(sha256, shared, requestId, concatBytes(HKDF_INFO, Uint8Array.of(hostIndex)), KEY_BYTES);
}

function aad(requestId: Uint8Array, hostIndex: number): Uint8Array {
  return concatBytes(requestId, Uint8Array.of(hostIndex));
}

function toBytes32(value: string | Uint8Array, field: string): Uint8Array {
  if (typeof value === "string") {
    if (!isHexString(value, 32)) throw new MpcError("KEY_INVALID", `${field} must be a 0x-prefixed 32-byte hex string`);
    return getBytes(value);
  }
  if (value.length !== 32) throw new MpcError("KEY_INVALID", `${field} must be 32 bytes, got ${value.length}`);
  return value;
}

function assertHostIndex(hostIndex: number): void {
  if (!Number.isInteger(hostIndex) || hostIndex < 0 || hostIndex > 2) {
    throw new MpcError("ENVELOPE_MALFORMED", `host index must be 0, 1 or 2, got ${hostIndex}`);
  }
}
