import { createCipheriv, createHmac } from "node:crypto";

/**
 * PRF from a 32-byte key to one ring element: the first 8 bytes of the
 * AES-256-CTR keystream (IV = first 16 bytes of the request id, so one key
 * never yields the same element for two requests), read as u64 LE.
 *
 * @example
 * const r = prfRingElement(seed, requestIdBytes);
 */
export function prfRingElement(key: Uint8Array, requestId: Uint8Array): bigint {
  const cipher = createCipheriv("aes-256-ctr", key, requestId.subarray(0, 16));
  return cipher.update(Buffer.alloc(8)).readBigUInt64LE(0);
}

/**
 * This host's part α_i = PRF(s_i) − PRF(s_{i−1}) of a three-party zero
 * sharing: each seed is known to exactly two hosts and enters the sum once
 * with each sign, so α_0 + α_1 + α_2 = 0 mod 2^64 while any single α_i is
 * uniform to the other hosts' views minus one seed.
 *
 * @example
 * const alpha = zeroShare(ownSeed, previousHostSeed, requestIdBytes);
 */
export function zeroShare(ownSeed: Uint8Array, previousSeed: Uint8Array, requestId: Uint8Array): bigint {
  return BigInt.asUintN(64, prfRingElement(ownSeed, requestId) - prfRingElement(previousSeed, requestId));
}

/**
 * This host's 32-byte seed for one request: HMAC-SHA256 under the host's
 * secret. Fresh and unpredictable per request, yet identical when a failed
 * job is retried, so a resent or already-delivered seed never disagrees with
 * the one used.
 *
 * @example
 * const seed = requestSeed(hostSecret, requestIdBytes);
 */
export function requestSeed(hostSecret: Uint8Array, requestId: Uint8Array): Buffer {
  return createHmac("sha256", hostSecret).update("scmpc-seed-v1").update(requestId).digest();
}
