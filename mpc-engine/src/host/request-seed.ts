import { createHmac } from "node:crypto";

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
