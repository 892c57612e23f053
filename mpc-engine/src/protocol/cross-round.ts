import type { VectorKernels } from "../kernels/index.ts";
import type { Party } from "./party.ts";
import { exchangeMasked } from "./reshare.ts";
import { shareLength } from "./shares.ts";

type Share = { a: BigUint64Array; b: BigUint64Array };
type CrossKernel = VectorKernels["mulCross"];

/**
 * The one round shared by multiplication and AND (Araki et al. 2016): for
 * every pair, prepare z_i = x_i·y_i + x_i·y_{i+1} + x_{i+1}·y_i + α_i (or the
 * XOR/AND analogue) into one vector, send it to the previous party, receive
 * z_{i+1} from the next, finalize (z_i, z_{i+1}) per pair. `cross` is the
 * kernel (ring or boolean) and `tag` the zero sharing's PRF tag.
 *
 * When the party has PRF worker threads and the round is large, they draw
 * the zero sharing's streams a piece at a time while this thread computes
 * the cross terms of the pieces drawn: the same z, on two or more cores.
 *
 * The results are views into one buffer per component; they are not to be
 * mutated in place.
 *
 * @example
 * const [xy] = await crossRound(party, [[x, y]], party.kernels.mulCross, PRF_TAG.ZERO_ARITH, "multiplying");
 */
export async function crossRound(
  party: Party,
  pairs: readonly (readonly [Share, Share])[],
  cross: CrossKernel,
  tag: number,
  what: string,
): Promise<Share[]> {
  const lengths = pairs.map(([x, y]) => {
    const n = shareLength(x);
    if (shareLength(y) !== n) throw new RangeError(`${what} vectors of lengths ${n} and ${shareLength(y)}`);
    return n;
  });
  const total = lengths.reduce((s, n) => s + n, 0);
  const step = party.nextStep();

  // prepare
  const z = await prepare(party, pairs, lengths, total, step, cross, tag);

  // exchange
  const joined = await exchangeMasked(party, step, z);

  // finalize
  let offset = 0;
  return lengths.map((n) => {
    const share = { a: joined.a.subarray(offset, offset + n), b: joined.b.subarray(offset, offset + n) };
    offset += n;
    return share;
  });
}

/** This party's masked cross terms z of a round, over all pairs in one vector. */
async function prepare(
  party: Party,
  pairs: readonly (readonly [Share, Share])[],
  lengths: readonly number[],
  total: number,
  step: number,
  cross: CrossKernel,
  tag: number,
): Promise<BigUint64Array> {
  // z is the message the round sends, in a buffer the channel sends as it is.
  const z = party.outgoingWords(total);
  const draw = party.prf.inBackground(step, tag, total);
  if (draw === undefined) {
    // The two streams a piece at a time, each piece's cross terms computed
    // while it is in the cache: no stream is written to memory whole, or copied.
    party.prf.eachPiece(step, tag, total, (from, to, next, prev) => crossSpan(pairs, lengths, from, to, cross, next, prev, z));
    return z;
  }
  // Worker threads draw the streams a piece at a time; each piece's cross
  // terms are computed here as soon as it is drawn, while they draw the next.
  try {
    for (let j = 0; j < draw.pieces; j++) {
      await draw.ready(j);
      const from = j * draw.pieceWords;
      const to = Math.min(total, from + draw.pieceWords);
      crossSpan(pairs, lengths, from, to, cross, draw.next.subarray(from, to), draw.prev.subarray(from, to), z);
    }
    return z;
  } finally {
    draw.release();
  }
}

/**
 * The masked cross terms of words [from, to) of the round (pairs laid end to
 * end) into z; fNext and fPrev hold the streams' words [from, to).
 */
function crossSpan(
  pairs: readonly (readonly [Share, Share])[],
  lengths: readonly number[],
  from: number,
  to: number,
  cross: CrossKernel,
  fNext: BigUint64Array,
  fPrev: BigUint64Array,
  z: BigUint64Array,
): void {
  let start = 0;
  pairs.forEach(([x, y], j) => {
    const end = start + lengths[j];
    const lo = Math.max(from, start);
    const hi = Math.min(to, end);
    if (lo < hi) {
      const [a, b] = [lo - start, hi - start];
      cross(x.a.subarray(a, b), x.b.subarray(a, b), y.a.subarray(a, b), y.b.subarray(a, b), fNext.subarray(lo - from, hi - from), fPrev.subarray(lo - from, hi - from), z.subarray(lo, hi));
    }
    start = end;
  });
}
