/**
 * A source of uniform random bits read in order: what an exact sampler
 * consumes. Two parties that read the same stream in the same way get the
 * same values, which is how a pair of hosts draws one noise term together.
 */
export interface RandomSource {
  /** The next 64-bit word of the stream. */
  nextWord(): bigint;
  /**
   * A uniform integer in [0, m) for m ≥ 1, by rejection: ⌈log2 m⌉ fresh bits
   * per try, fewer than two tries expected.
   */
  uniformBelow(m: bigint): bigint;
}

const FIRST_DRAW = 64;

/**
 * Reads one deterministic word stream in order when the number of words
 * needed is not known in advance (rejection sampling). `draw(n)` must return
 * the first n words of one fixed stream for every n — a pairwise PRF draw for
 * a fixed (step, tag) does (AES-CTR from a fixed counter block). When the
 * words read so far run out, the reader draws twice as many and goes on after
 * the ones it used, so it generates fewer than four times the words it uses
 * and never reuses one.
 *
 * @example
 * const random = createStreamReader((n) => party.prf.withNext(step, PRF_TAG.NOISE, n));
 * random.uniformBelow(6n) // 0n..5n, the same on the next party for the same step
 */
export function createStreamReader(draw: (n: number) => BigUint64Array): RandomSource {
  // Nothing is drawn until a word is asked for.
  let words: BigUint64Array = new BigUint64Array(0);
  let at = 0;
  const nextWord = (): bigint => {
    if (at === words.length) {
      words = draw(Math.max(FIRST_DRAW, 2 * words.length));
    }
    return words[at++];
  };
  return {
    nextWord,
    uniformBelow(m: bigint): bigint {
      if (m < 1n) throw new RangeError(`uniformBelow needs m ≥ 1, got ${m}`);
      if (m === 1n) return 0n;
      const bits = BigInt((m - 1n).toString(2).length);
      const mask = (1n << bits) - 1n;
      const wordsPerTry = Number((bits + 63n) / 64n);
      for (;;) {
        let v = 0n;
        for (let w = 0; w < wordsPerTry; w++) v = (v << 64n) | nextWord();
        v &= mask;
        // Rejection keeps every value in [0, m) equally likely: no modulo bias.
        if (v < m) return v;
      }
    },
  };
}
