import { andMany } from "../protocol/and.ts";
import { b2a } from "../protocol/b2a.ts";
import type { Party } from "../protocol/party.ts";
import { andPublic, shiftRight } from "../protocol/linear.ts";
import { concatShares, type ArithShare, type BoolShare } from "../protocol/shares.ts";
import { xorBits } from "./bits.ts";

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

/** Lanes left to convert below which folding stops (b2a costs 2 words per lane). */
const FOLD_BELOW = 8192;

type Share = { a: BigUint64Array; b: BigUint64Array };

function slice(x: Share, from: number, to: number): Share {
  return { a: x.a.subarray(from, to), b: x.b.subarray(from, to) };
}

/**
 * The count of set bits of each vector, one arithmetic element per vector.
 *
 * @example
 * const counts = await countBits(party, [mask, bucketMask]);
 */
export async function countBits(party: Party, vectors: readonly BoolShare[]): Promise<ArithShare> {
  // Vectors of one length reduce alike: each such set is held word-major
  // (word i of vector v at i·V + v), so every operation of a round is one
  // kernel call per weight, whatever the number of vectors.
  const sets = new Map<number, number[]>();
  vectors.forEach((v, k) => {
    if (!sets.has(v.a.length)) sets.set(v.a.length, []);
    sets.get(v.a.length)!.push(k);
  });
  const out = { a: new BigUint64Array(vectors.length), b: new BigUint64Array(vectors.length) };
  const states = [...sets.values()].map((members) => ({ members, weights: [wordMajor(members.map((k) => vectors[k]))] }));
  let lanes = 64;
  for (;;) {
    await reduce(party, states);
    const left = states.reduce((n, st) => n + st.weights.reduce((m, x) => m + x.a.length, 0), 0) * lanes;
    if (lanes === 1 || left <= FOLD_BELOW) break;
    // Fold: the high half of each word's lanes onto the low half (local), then reduce again.
    lanes /= 2;
    const low = (1n << BigInt(lanes)) - 1n;
    for (const st of states) st.weights = st.weights.map((x) => concatShares([andPublic(party, x, low), shiftRight(party, x, lanes)]));
  }
  // Each weight's remaining lanes as 0/1 ring elements, all in one b2a.
  const pieces: Share[] = [];
  for (const st of states) for (const x of st.weights) if (x.a.length > 0) pieces.push(lanes === 1 ? x : { a: unpackLanes(x.a, lanes), b: unpackLanes(x.b, lanes) });
  if (pieces.length === 0) return out;
  const arith = await b2a(party, concatShares(pieces));
  let at = 0;
  for (const { members, weights } of states) {
    const V = members.length;
    weights.forEach((x, k) => {
      const perWord = lanes;
      const count = x.a.length * perWord;
      // Element e holds a lane of word-major entry ⌊e / lanes⌋, which is vector ⌊e / lanes⌋ mod V.
      const sumA = new Array<bigint>(V).fill(0n);
      const sumB = new Array<bigint>(V).fill(0n);
      for (let e = 0; e < count; e++) {
        const v = Math.floor(e / perWord) % V;
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
 * per vector; all sets in the same rounds.
 */
async function reduce(party: Party, states: { members: number[]; weights: Share[] }[]): Promise<void> {
  for (;;) {
    const pairs: (readonly [Share, Share])[] = [];
    const steps: { st: (typeof states)[number]; k: number; sum: Share; c: Share; rest: Share }[] = [];
    for (const st of states) {
      const V = st.members.length;
      st.weights.forEach((x, k) => {
        const words = x.a.length / V;
        const m = Math.floor(words / 3);
        if (m === 0) return;
        const a = slice(x, 0, m * V);
        const b = slice(x, m * V, 2 * m * V);
        const c = slice(x, 2 * m * V, 3 * m * V);
        const ac = xorBits(party, a, c);
        pairs.push([ac, xorBits(party, b, c)]);
        steps.push({ st, k, sum: xorBits(party, ac, b), c, rest: slice(x, 3 * m * V, x.a.length) });
      });
    }
    if (pairs.length === 0) return;
    const products = await andMany(party, pairs);
    const next = new Map(states.map((st) => [st, st.weights.map((x) => [x])]));
    steps.forEach(({ st, k, sum, c, rest }, i) => {
      const ws = next.get(st)!;
      ws[k] = ws[k].filter((x) => x !== st.weights[k]);
      ws[k].push(sum, rest);
      if (ws[k + 1] === undefined) ws[k + 1] = [];
      ws[k + 1].push(xorBits(party, products[i], c));
    });
    for (const st of states) st.weights = next.get(st)!.map((parts) => concatShares(parts.filter((p) => p.a.length > 0)));
  }
}
