import { andMany } from "../protocol/and.ts";
import { b2a } from "../protocol/b2a.ts";
import type { Party } from "../protocol/party.ts";
import { andPublic, shiftRight } from "../protocol/linear.ts";
import { concatShares, type ArithShare, type BoolShare } from "../protocol/shares.ts";
import { rows, xorBits } from "./bits.ts";

// Operator `count`: the number of set bits of packed row-bit vectors, as
// arithmetic shares, without converting each row. A carry-save (Wallace)
// reduction works on whole words, 64 lanes at a time: three words of the
// same weight become their sum (a ⊕ b ⊕ c, same weight) and their carry
// (MAJ = ((a ⊕ c) ∧ (b ⊕ c)) ⊕ c, next weight), one AND of a word per three
// words, until each weight holds at most two words. When many lanes are
// left, each word's high half of lanes is folded onto its low half (a shift:
// local) and the reduction goes on, halving the lanes each time; the last
// words' lanes are converted with b2a and added with their weights (local).
// About one bit per row in all, ⌈log_1.5(words)⌉ + 2 rounds plus about two
// per fold, every vector in the same rounds. Bits beyond a vector's rows
// must be 0 (bits.ts clearTail). Opens nothing.

/** Lanes left to convert below which folding stops (b2a costs 4 words per lane in all, 1 round). */
const FOLD_BELOW = 8192;

type Share = { a: BigUint64Array; b: BigUint64Array };

/** A vector to count: one packed bit vector, or planes where plane j counts 2^j. */
export type Counted = BoolShare | readonly BoolShare[];

/**
 * The count of set bits of each vector, one arithmetic element per vector;
 * for a list of planes, Σ_j 2^j·#(plane j) (every plane of one length).
 *
 * @example
 * const counts = await countBits(party, [mask, bucketMask, [maskedBit0, maskedBit1]]);
 */
export async function countBits(party: Party, vectors: readonly Counted[]): Promise<ArithShare> {
  // Vectors of one length and plane count reduce alike: each such set is
  // held word-major (word i of vector v at i·V + v), so every operation of a
  // round is one kernel call per segment, whatever the number of vectors.
  const planesOf = (x: Counted): readonly BoolShare[] => ("a" in x ? [x as BoolShare] : (x as readonly BoolShare[]));
  const sets = new Map<string, number[]>();
  vectors.forEach((x, k) => {
    const planes = planesOf(x);
    const key = `${planes[0].a.length}:${planes.length}`;
    if (!sets.has(key)) sets.set(key, []);
    sets.get(key)!.push(k);
  });
  const out = { a: new BigUint64Array(vectors.length), b: new BigUint64Array(vectors.length) };
  const states: State[] = [...sets.values()].map((members) => ({
    members,
    weights: planesOf(vectors[members[0]]).map((_, j) => [wordMajor(members.map((k) => planesOf(vectors[k])[j]))]),
  }));
  let lanes = 64;
  for (;;) {
    await reduce(party, states);
    for (const st of states) st.weights = st.weights.map((segments) => (segments.length <= 1 ? segments : [concatShares(segments)]));
    const left = states.reduce((n, st) => n + st.weights.reduce((m, segments) => m + (segments[0]?.a.length ?? 0), 0), 0) * lanes;
    if (lanes === 1 || left <= FOLD_BELOW) break;
    // Fold: the high half of each word's lanes onto the low half (local), then reduce again.
    lanes /= 2;
    const low = (1n << BigInt(lanes)) - 1n;
    for (const st of states) st.weights = st.weights.map((segments) => segments.map((x) => concatShares([andPublic(party, x, low), shiftRight(party, x, lanes)])));
  }
  // Each weight's remaining lanes as 0/1 ring elements, all in one b2a.
  const pieces: Share[] = [];
  for (const st of states) for (const [x] of st.weights) if (x !== undefined && x.a.length > 0) pieces.push(lanes === 1 ? x : { a: unpackLanes(x.a, lanes), b: unpackLanes(x.b, lanes) });
  if (pieces.length === 0) return out;
  const arith = await b2a(party, concatShares(pieces));
  let at = 0;
  for (const { members, weights } of states) {
    const V = members.length;
    weights.forEach(([x], k) => {
      if (x === undefined) return;
      const count = x.a.length * lanes;
      // Element e holds a lane of word-major entry ⌊e / lanes⌋, which is vector ⌊e / lanes⌋ mod V.
      const sumA = new Array<bigint>(V).fill(0n);
      const sumB = new Array<bigint>(V).fill(0n);
      for (let e = 0; e < count; e++) {
        const v = Math.floor(e / lanes) % V;
        sumA[v] += arith.a[at + e];
        sumB[v] += arith.b[at + e];
      }
      at += count;
      members.forEach((vector, v) => {
        out.a[vector] += sumA[v] << BigInt(k);
        out.b[vector] += sumB[v] << BigInt(k);
      });
    });
  }
  return out;
}

/** Vectors of one set: `weights[k]` lists segments of words of weight 2^k, word-major over the members. */
interface State {
  members: number[];
  weights: Share[][];
}

/** Vectors of one length W as one word-major vector of W·V words. */
function wordMajor(vectors: readonly Share[]): Share {
  const V = vectors.length;
  const W = vectors[0].a.length;
  if (V === 1) return vectors[0];
  const out = { a: new BigUint64Array(W * V), b: new BigUint64Array(W * V) };
  vectors.forEach((x, v) => {
    for (let i = 0; i < W; i++) {
      out.a[i * V + v] = x.a[i];
      out.b[i * V + v] = x.b[i];
    }
  });
  return out;
}

/** The lowest `lanes` bits of each word, one element (0 or 1) each, word by word. */
function unpackLanes(x: BigUint64Array, lanes: number): BigUint64Array {
  const out = new BigUint64Array(x.length * lanes);
  const dst = new Int32Array(out.buffer, out.byteOffset, 2 * out.length);
  const src = new Int32Array(x.buffer, x.byteOffset, 2 * x.length);
  for (let i = 0; i < x.length; i++) {
    for (let l = 0; l < lanes; l++) dst[2 * (i * lanes + l)] = (src[2 * i + (l >>> 5)] >>> (l & 31)) & 1;
  }
  return out;
}

/**
 * Carry-save rounds until every weight of every set holds at most two words
 * per vector; all sets in the same rounds. Each segment of three words or
 * more is reduced where it lies (no copy of the large ones); segments of one
 * or two words are gathered into one first.
 */
async function reduce(party: Party, states: State[]): Promise<void> {
  const k = party.kernels;
  for (;;) {
    const pairs: (readonly [Share, Share])[] = [];
    const steps: { st: State; w: number; ac: Share; b: Share; c: Share }[] = [];
    for (const st of states) {
      const V = st.members.length;
      st.weights = st.weights.map((segments, w) => {
        const small = segments.filter((x) => x.a.length < 3 * V);
        const kept: Share[] = segments.filter((x) => x.a.length >= 3 * V);
        if (small.length > 1) kept.push(concatShares(small));
        else kept.push(...small);
        const stay: Share[] = [];
        for (const x of kept) {
          const m = Math.floor(x.a.length / V / 3) * V;
          if (m === 0) {
            stay.push(x);
            continue;
          }
          const a = rows(x, 0, m);
          const b = rows(x, m, 2 * m);
          const c = rows(x, 2 * m, 3 * m);
          const ac = xorBits(party, a, c);
          pairs.push([ac, xorBits(party, b, c)]);
          steps.push({ st, w, ac, b, c });
          if (x.a.length > 3 * m) stay.push(rows(x, 3 * m, x.a.length));
        }
        return stay;
      });
    }
    if (pairs.length === 0) return;
    const products = await andMany(party, pairs);
    steps.forEach(({ st, w, ac, b, c }, i) => {
      // sum = a ⊕ b ⊕ c into ac, carry = MAJ into the product's own buffer.
      k.xor(ac.a, b.a, ac.a);
      k.xor(ac.b, b.b, ac.b);
      const carry = products[i];
      k.xor(carry.a, c.a, carry.a);
      k.xor(carry.b, c.b, carry.b);
      st.weights[w].push(ac);
      if (st.weights[w + 1] === undefined) st.weights[w + 1] = [];
      st.weights[w + 1].push(carry);
    });
  }
}
