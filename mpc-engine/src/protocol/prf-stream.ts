import { aesCtrKeystream, KEYSTREAM_PIECE_BYTES, keystreamPieces } from "../share-seeds.ts";

/** Words a pairwise PRF draw may hold: 2^32 AES blocks of 16 bytes. */
export const MAX_DRAW_WORDS = 2 ** 33;

/**
 * Fills `out` with the words [fromWord, fromWord + out.length / 8) of the
 * pairwise PRF stream under `key` for (step, tag): AES-256-CTR from the
 * counter block (step: u64 BE, tag: u32 BE, block: u32 BE) with block =
 * fromWord / 2. A stream is position-addressed, so a draw split into ranges
 * (each starting at an even word) and filled by different threads equals
 * the draw filled whole, byte for byte.
 *
 * @throws RangeError on a step, tag or range the counter block cannot name
 * @example
 * fillPrfRange(key, step, tag, 0, new Uint8Array(out.buffer)); // the whole draw
 */
export function fillPrfRange(key: Uint8Array, step: number, tag: number, fromWord: number, out: Uint8Array): void {
  if (out.length % 8 !== 0) throw new RangeError(`PRF range of ${out.length} bytes is not whole words`);
  const iv = counterBlock(step, tag, fromWord, out.length / 8);
  if (out.length === 0) return;
  aesCtrKeystream(key, iv, out.length, out);
}

/**
 * The pairwise PRF stream under `key` for (step, tag) from word 0, a piece
 * at a time: each call returns the next `words` words (at most
 * {@link PRF_PIECE_WORDS}) as the cipher's own output, no copy made; the
 * calls together may not read past `totalWords`. Equal, word for word, to {@link fillPrfRange} over
 * the whole draw.
 *
 * @throws RangeError on a step, tag or length the counter block cannot name
 * @example
 * const next = prfPieces(key, step, tag, n);
 * const first = next(Math.min(n, PRF_PIECE_WORDS));
 */
export function prfPieces(key: Uint8Array, step: number, tag: number, totalWords: number): (words: number) => Uint8Array {
  const next = keystreamPieces(key, counterBlock(step, tag, 0, totalWords));
  let left = totalWords;
  return (words) => {
    if (words > left) throw new RangeError(`PRF draw of ${totalWords} words read past its end`);
    left -= words;
    return next(words * 8);
  };
}

/** Words a call of {@link prfPieces} returns at most: 32 Ki words (256 KiB), pieces a round uses while they are in the cache. */
export const PRF_PIECE_WORDS = KEYSTREAM_PIECE_BYTES / 8;

/** The counter block a draw of `words` words from word `fromWord` for (step, tag) starts from. */
function counterBlock(step: number, tag: number, fromWord: number, words: number): Uint8Array {
  if (!Number.isSafeInteger(step) || step < 0) throw new RangeError(`PRF step out of range: ${step}`);
  if (!Number.isInteger(tag) || tag < 0 || tag > 0xffffffff) throw new RangeError(`PRF tag out of range: ${tag}`);
  if (!Number.isSafeInteger(fromWord) || fromWord < 0 || fromWord % 2 !== 0) throw new RangeError(`PRF range must start at an even word, got ${fromWord}`);
  if (fromWord + words > MAX_DRAW_WORDS) throw new RangeError(`PRF draw too long: ${fromWord + words} words`);
  const iv = new Uint8Array(16);
  const view = new DataView(iv.buffer);
  view.setBigUint64(0, BigInt(step));
  view.setUint32(8, tag);
  view.setUint32(12, fromWord / 2);
  return iv;
}
