import { gcm } from "@noble/ciphers/aes.js";
import { getBytes, isHexString, keccak256 } from "ethers";
import { MpcError } from "./errors.ts";
import { asBuffer, concatBytes, randomBytes } from "./random-bytes.ts";

/** Version byte of a wrapped envelope (the buyer's envelope is version 1). */
export const WRAPPED_VERSION = 2;
/** version(1) || hostIndex(1) || keccak256(key)(32) || iv(12) || tag(16). */
export const WRAPPED_HEADER_BYTES = 1 + 1 + 32 + 12 + 16;
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * A fresh 32-byte release key for one host's envelope of one job.
 *
 * @example
 * const key = newReleaseKey();
 */
export function newReleaseKey(): Buffer {
  return asBuffer(randomBytes(KEY_BYTES));
}

/**
 * The commitment to a release key that travels in the wrapped envelope's
 * header (and so in what the host signs): keccak256(key), lowercase 0x hex.
 *
 * @example
 * releaseKeyHash(key) === wrappedKeyHash(wrapped) // the key opens that envelope
 */
export function releaseKeyHash(key: Uint8Array): string {
  if (key.length !== KEY_BYTES) throw new MpcError("KEY_INVALID", `a release key has ${KEY_BYTES} bytes, got ${key.length}`);
  return keccak256(key).toLowerCase();
}

/**
 * Wraps one host's buyer envelope under its release key for the job:
 * AES-256-GCM with AAD = jobId || hostIndex, so the wrapped bytes belong to
 * one job and one host. Fair exchange rests on this: the fulfilment carries
 * only wrapped envelopes (public calldata nobody, the buyer included, can
 * open), and the host releases the key only once the chain shows the request
 * Fulfilled, that is, the sellers paid.
 *
 * Layout: version(1) || hostIndex(1) || keccak256(key)(32) || iv(12) || tag(16) || ciphertext.
 *
 * @example
 * const wrapped = wrapEnvelope({ jobId, hostIndex: 0, key, envelope });
 */
export function wrapEnvelope(input: { jobId: string; hostIndex: number; key: Uint8Array; envelope: Uint8Array }): Buffer {
  const { hostIndex, key } = input;
  const keyHash = releaseKeyHash(key);
  const iv = randomBytes(IV_BYTES);
  // GCM's output is ciphertext || tag; the layout puts the tag first.
  const sealed = gcm(key, iv, aad(input.jobId, hostIndex)).encrypt(input.envelope);
  const ciphertext = sealed.subarray(0, sealed.length - TAG_BYTES);
  const tag = sealed.subarray(sealed.length - TAG_BYTES);
  return Buffer.concat([Uint8Array.of(WRAPPED_VERSION, hostIndex), getBytes(keyHash), iv, tag, ciphertext]);
}

/**
 * The key commitment in a wrapped envelope's header (lowercase 0x hex).
 *
 * @throws MpcError `ENVELOPE_MALFORMED` for bytes that are not a wrapped envelope of `hostIndex`
 * @example
 * if (wrappedKeyHash(wrapped, 1) !== releaseKeyHash(key)) throw new Error("not this envelope's key");
 */
export function wrappedKeyHash(wrapped: Uint8Array, hostIndex: number): string {
  checkHeader(wrapped, hostIndex);
  return `0x${Buffer.from(wrapped.subarray(2, 34)).toString("hex")}`;
}

/**
 * Opens a wrapped envelope with the host's released key, giving back the
 * buyer's envelope (which only the buyer's X25519 key decrypts).
 *
 * @throws MpcError `KEY_INVALID` when the key is not the one the header commits to;
 *   `ENVELOPE_MALFORMED` or `ENVELOPE_DECRYPT_FAILED` naming the host
 * @example
 * const envelope = unwrapEnvelope({ jobId, hostIndex: 2, key, wrapped });
 */
export function unwrapEnvelope(input: { jobId: string; hostIndex: number; key: Uint8Array; wrapped: Uint8Array }): Buffer {
  const { hostIndex, key, wrapped } = input;
  const committed = wrappedKeyHash(wrapped, hostIndex);
  if (releaseKeyHash(key) !== committed) {
    throw new MpcError("KEY_INVALID", `the key released by host ${hostIndex} is not the one its signed envelope commits to`, {
      details: { host: hostIndex },
    });
  }
  try {
    const iv = wrapped.subarray(34, 34 + IV_BYTES);
    const tag = wrapped.subarray(34 + IV_BYTES, WRAPPED_HEADER_BYTES);
    const sealed = concatBytes(wrapped.subarray(WRAPPED_HEADER_BYTES), tag);
    return asBuffer(gcm(key, iv, aad(input.jobId, hostIndex)).decrypt(sealed));
  } catch (cause) {
    throw new MpcError("ENVELOPE_DECRYPT_FAILED", `cannot unwrap the envelope of host ${hostIndex} (another job's, or tampered)`, {
      cause,
      details: { host: hostIndex },
    });
  }
}

function checkHeader(wrapped: Uint8Array, hostIndex: number): void {
  const malformed = (why: string): MpcError =>
    new MpcError("ENVELOPE_MALFORMED", `wrapped envelope of host ${hostIndex} is malformed: ${why}`, { details: { host: hostIndex } });
  if (wrapped.length < WRAPPED_HEADER_BYTES) throw malformed(`${wrapped.length} bytes is shorter than the header`);
  if (wrapped[0] !== WRAPPED_VERSION) throw malformed(`unknown version ${wrapped[0]}`);
  if (wrapped[1] !== hostIndex) throw malformed(`it claims host index ${wrapped[1]}`);
}

function aad(jobId: string, hostIndex: number): Uint8Array {
  if (!isHexString(jobId, 32)) throw new MpcError("INVALID_ARGUMENT", "jobId must be a 0x-prefixed bytes32 hex string");
  return concatBytes(getBytes(jobId), Uint8Array.of(hostIndex));
}
