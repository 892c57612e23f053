// Bytes for the engine's client-side code (sharing, buyer keys, envelopes),
// which runs in Node (22+) and in browsers: cryptographic randomness from the
// Web Crypto API both provide as `globalThis.crypto`, and two byte helpers.

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

/** `a` then `b`, in a new array. */
export function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** The bytes as a Buffer over the same memory (no copy), for APIs that have always returned one. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
