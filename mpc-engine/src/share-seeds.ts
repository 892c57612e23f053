// Share seeds: of a column's x = x0 + x1 + x2, the seller may draw x0 and x1
// as AES-256-CTR streams of two 32-byte seeds instead of uniform bytes. Host
// 0, which holds (x0, x1), is then sent the two seeds; host 1 (x1, x2) seed 1
// and x2; host 2 (x2, x0) x2 and seed 0: a third of the bytes to send, and
// each host expands its seeds back into the same vectors. The streams are
// pseudorandom to anyone without the seed, so each host still learns nothing
// (host 0 holds both seeds but not x2; hosts 1 and 2 hold x2 and one seed).
//
// AES comes from Node's native crypto, reached without a `node:` import so
// that this module also loads in a browser, where seeds are not expanded (a
// browser seller sends every vector).

const nodeCrypto = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule?.("crypto") as
  | typeof import("node:crypto")
  | undefined;

/** Bytes of a share seed: an AES-256 key. */
export const SHARE_SEED_BYTES = 32;

/** Which of a column's two vectors a seed is expanded for. */
export type SeededPart = "values" | "validity";

/**
 * Keystream bytes per cipher call, each call's fresh output copied into the
 * result: OpenSSL's CTR runs about 2x faster in calls of 128–512 KiB than in
 * one call over megabytes, and a round of 1M products drew its two streams
 * faster in 256 KiB calls than in 32 KiB ones (alternated benchmark runs:
 * median 11.2 against 9.3 million multiplications/s).
 */
export const KEYSTREAM_PIECE_BYTES = 256 << 10;
/**
 * The largest vector drawn in one cipher call whose output is the vector
 * itself. A vector drawn whole is written to memory anyway, and there one
 * call beats pieces copied into it: 8 MB (a 1M-row vector) in a median of
 * 6.5 ms against 10.5 ms in 256 KiB pieces (30 draws each with four kept
 * alive, three alternations), for no copy and one allocation instead of 33.
 */
const WHOLE_KEYSTREAM_BYTES = 8 << 20;
/** The cipher's input, all zeros, grown to the largest call made; made on first use (a browser draws no keystream). */
let zeros: Uint8Array | undefined;

/** `bytes` zeros for the cipher to encrypt (zero pages until read: never written). */
function zerosOf(bytes: number): Uint8Array {
  if (zeros === undefined || zeros.length < bytes) zeros = new Uint8Array(Math.max(bytes, KEYSTREAM_PIECE_BYTES));
  return zeros.subarray(0, bytes);
}

/**
 * Whether this runtime can expand share seeds (Node's native AES); a
 * browser cannot, and its seller sends every vector.
 *
 * @example
 * if (canExpandShareSeeds()) sendSeeds();
 */
export function canExpandShareSeeds(): boolean {
  return nodeCrypto !== undefined;
}

/**
 * `length` bytes of the AES-256-CTR keystream under `key` from the 16-byte
 * initial counter block `iv`, into `out` (a new array by default).
 *
 * @throws Error where the runtime has no native AES ({@link canExpandShareSeeds})
 * @example
 * aesCtrKeystream(key, new Uint8Array(16), 64) // 64 keystream bytes
 */
export function aesCtrKeystream(key: Uint8Array, iv: Uint8Array, length: number, out: Uint8Array = new Uint8Array(length)): Uint8Array {
  keystreamFrom(key, iv)(out.subarray(0, length));
  return out;
}

/** A keystream reader: each call fills its argument with the stream's next bytes. */
function keystreamFrom(key: Uint8Array, iv: Uint8Array): (out: Uint8Array) => void {
  const next = keystreamPieces(key, iv);
  return (out) => {
    for (let at = 0; at < out.length; at += KEYSTREAM_PIECE_BYTES) out.set(next(Math.min(KEYSTREAM_PIECE_BYTES, out.length - at)), at);
  };
}

/**
 * The AES-256-CTR keystream under `key` from the counter block `iv`, a piece
 * at a time: each call returns the stream's next `bytes` bytes (at most
 * {@link KEYSTREAM_PIECE_BYTES}) as the cipher's own fresh output, not
 * copied anywhere (a new buffer at offset 0 of its memory).
 *
 * @throws Error where the runtime has no native AES ({@link canExpandShareSeeds})
 * @example
 * const next = keystreamPieces(key, iv);
 * const first = next(KEYSTREAM_PIECE_BYTES), second = next(64);
 */
export function keystreamPieces(key: Uint8Array, iv: Uint8Array): (bytes: number) => Uint8Array {
  return cipherOutputs(key, iv, KEYSTREAM_PIECE_BYTES);
}

/**
 * The AES-256-CTR keystream under `key` from `iv`, at most `maxBytes` a
 * call, each call's bytes the cipher's own fresh output (word-aligned: it
 * starts a buffer of its own; copied should it ever not).
 */
function cipherOutputs(key: Uint8Array, iv: Uint8Array, maxBytes: number): (bytes: number) => Buffer {
  if (nodeCrypto === undefined) throw new Error("this runtime has no native AES-256-CTR");
  const cipher = nodeCrypto.createCipheriv("aes-256-ctr", key, iv);
  return (bytes) => {
    if (bytes > maxBytes) throw new RangeError(`a keystream piece of ${bytes} bytes exceeds ${maxBytes}`);
    const drawn = cipher.update(zerosOf(bytes));
    return drawn.byteOffset % 8 === 0 ? drawn : Buffer.from(new Uint8Array(drawn).buffer);
  };
}

/**
 * The AES-256-CTR keystream's first `bytes` bytes under `key` from `iv`, as
 * a fresh word-aligned buffer: the cipher's own output when the vector is
 * at most {@link WHOLE_KEYSTREAM_BYTES}, else pieces copied into new memory.
 */
function wholeKeystream(key: Uint8Array, iv: Uint8Array, bytes: number): Buffer {
  if (bytes > WHOLE_KEYSTREAM_BYTES) {
    // A fresh ArrayBuffer (not Node's pool): offset 0, so the words are aligned.
    const out = Buffer.from(new ArrayBuffer(bytes));
    keystreamFrom(key, iv)(out);
    return out;
  }
  return cipherOutputs(key, iv, WHOLE_KEYSTREAM_BYTES)(bytes);
}

/**
 * The seeds host `hostIndex` is given of x0's and x1's (x_i is its `a`,
 * x_{i+1} its `b`): host 0 both, host 1 seed 1 as its `a`, host 2 seed 0 as
 * its `b`; x2 has no seed.
 *
 * @example
 * hostSeeds([seed0, seed1], 2) // { b: seed0 }
 */
export function hostSeeds(seeds: readonly [Uint8Array, Uint8Array], hostIndex: number): { a?: Uint8Array; b?: Uint8Array } {
  const a = hostIndex < 2 ? seeds[hostIndex] : undefined;
  const b = hostIndex !== 1 ? seeds[(hostIndex + 1) % 3] : undefined;
  return { ...(a === undefined ? {} : { a }), ...(b === undefined ? {} : { b }) };
}

/** The counter block a seed's stream starts from for one column's values or validity. */
function seedIv(column: number, part: SeededPart): Uint8Array {
  if (!Number.isInteger(column) || column < 0 || column > 0xffffffff) throw new RangeError(`column index out of range: ${column}`);
  const iv = new Uint8Array(16);
  const view = new DataView(iv.buffer);
  view.setUint32(0, column);
  view.setUint32(4, part === "values" ? 0 : 1);
  return iv;
}

function checkSeed(seed: Uint8Array, rows: number): void {
  if (seed.length !== SHARE_SEED_BYTES) throw new RangeError(`a share seed is ${SHARE_SEED_BYTES} bytes, got ${seed.length}`);
  if (!Number.isSafeInteger(rows) || rows < 0) throw new RangeError(`row count out of range: ${rows}`);
}

/**
 * The ring vector a share seed stands for: `rows` little-endian u64 words of
 * the AES-256-CTR keystream under the seed from the counter block
 * `u32 column ‖ u32 part (0 values, 1 validity) ‖ u64 0` (big-endian), so
 * each column's values and validity get their own stream. Fresh memory,
 * word-aligned.
 *
 * @throws RangeError on a seed that is not {@link SHARE_SEED_BYTES} long, or a bad column or row count
 * @example
 * const x0 = expandShareSeed(seed0, 0, "values", 1_000_000); // 8 MB
 */
export function expandShareSeed(seed: Uint8Array, column: number, part: SeededPart, rows: number): Buffer {
  checkSeed(seed, rows);
  return wholeKeystream(seed, seedIv(column, part), rows * 8);
}

/**
 * Rows [first, end) of the vector {@link expandShareSeed} gives, drawn alone:
 * AES-CTR is addressed by position, so the stream starts at counter block
 * `first / 2` (two words per block) and no earlier row is drawn. A host reads
 * the rows of a seeded vector this way without storing it. Fresh memory,
 * word-aligned.
 *
 * @throws RangeError on a bad seed, column or rows
 * @example
 * expandShareSeedRows(seed, 0, "values", 5, 7) // the bytes of words 5 and 6 of expandShareSeed(seed, 0, "values", n)
 */
export function expandShareSeedRows(seed: Uint8Array, column: number, part: SeededPart, first: number, end: number): Buffer {
  checkSeed(seed, end);
  if (!Number.isSafeInteger(first) || first < 0 || first > end) throw new RangeError(`rows ${first}..${end} out of range`);
  const iv = seedIv(column, part);
  // The counter's low 64 bits start at 0, and a vector has fewer than 2^64 blocks: no carry into the column's half.
  new DataView(iv.buffer).setBigUint64(8, BigInt(Math.floor(first / 2)));
  const skip = (first % 2) * 8;
  if (skip === 0) return wholeKeystream(seed, iv, (end - first) * 8);
  // An odd first row is the second word of its block: the block is drawn whole and its first word dropped.
  const out = Buffer.from(new ArrayBuffer((end - first) * 8));
  const drawn = new Uint8Array(out.length + skip);
  keystreamFrom(seed, iv)(drawn);
  out.set(drawn.subarray(skip));
  return out;
}

/**
 * The bytes of {@link expandShareSeed} in pieces of at most `pieceBytes`
 * (each the cipher's own fresh output, word-aligned): a host writes a
 * seeded vector to disk without holding it whole.
 *
 * @example
 * for (const piece of expandShareSeedInPieces(seed, 0, "values", rows, 1 << 20)) await write(piece);
 */
export function* expandShareSeedInPieces(seed: Uint8Array, column: number, part: SeededPart, rows: number, pieceBytes: number): Generator<Uint8Array> {
  checkSeed(seed, rows);
  const next = cipherOutputs(seed, seedIv(column, part), WHOLE_KEYSTREAM_BYTES);
  const size = Math.max(1, Math.min(pieceBytes, WHOLE_KEYSTREAM_BYTES));
  for (let at = 0; at < rows * 8; at += size) yield next(Math.min(size, rows * 8 - at));
}
