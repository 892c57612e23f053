// Cryptographic randomness from the Web Crypto API, which Node (22+) and
// browsers both provide as `globalThis.crypto`: the engine's client-side code
// (sharing, buyer keys, envelopes) runs in either.

/** Most bytes one `crypto.getRandomValues` call fills (the Web Crypto limit; a larger request throws). */
export const MAX_RANDOM_FILL = 65_536;

/**
 * Fills `bytes` with uniform random bytes from `globalThis.crypto.getRandomValues`,
 * in calls of at most {@link MAX_RANDOM_FILL} bytes.
 *
 * @example
 * const seed = new Uint8Array(32);
 * fillRandom(seed);
 */
export function fillRandom(bytes: Uint8Array): void {
  for (let off = 0; off < bytes.length; off += MAX_RANDOM_FILL) {
    globalThis.crypto.getRandomValues(bytes.subarray(off, Math.min(off + MAX_RANDOM_FILL, bytes.length)));
  }
}

/**
 * `length` fresh uniform random bytes (see {@link fillRandom}).
 *
 * @example
 * const iv = randomBytes(12);
 */
export function randomBytes(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  fillRandom(bytes);
  return bytes;
}
