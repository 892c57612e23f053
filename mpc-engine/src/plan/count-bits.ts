import { andMany } from "../protocol/and.ts";
import { b2a } from "../protocol/b2a.ts";
import type { Party } from "../protocol/party.ts";
import { andPublic, shiftRight } from "../protocol/linear.ts";
import { concatShares, type ArithShare, type BoolShare } from "../protocol/shares.ts";
import { ringSum } from "../ring.ts";
import { unpackShare, xorBits } from "./bits.ts";

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
  // weights[v][k]: words of weight 2^k still to add, for vector v; only
  // their lowest `lanes` bits can be set.
  let weights: Share[][] = vectors.map((v) => [v]);
  let lanes = 64;
  for (;;) {
    weights = await reduce(party, weights);
    const left = weights.reduce((k, ws) => k + ws.reduce((m, x) => m + x.a.length, 0), 0) * lanes;
    if (lanes === 1 || left <= FOLD_BELOW) break;
    // Fold: the high half of each word's lanes onto the low half (local), then reduce again.
    lanes /= 2;
    const low = (1n << BigInt(lanes)) - 1n;
    weights = weights.map((ws) => ws.map((x) => concatShares([andPublic(party, x, low), shiftRight(party, x, lanes)])));
  }
  // Each weight's remaining lanes as 0/1 ring elements, all in one b2a.
  const pieces: Share[] = [];
  const layout: { v: number; k: number; length: number }[] = [];
  weights.forEach((ws, v) =>
    ws.forEach((x, k) => {
      if (x.a.length === 0) return;
      const length = lanes * x.a.length;
      // Lanes 0 … lanes − 1 of each word.
      for (let i = 0; i < x.a.length; i++) pieces.push(lanes === 1 ? slice(x, i, i + 1) : unpackShare(slice(x, i, i + 1), lanes));
      layout.push({ v, k, length });
    }),
  );
  const out = { a: new BigUint64Array(vectors.length), b: new BigUint64Array(vectors.length) };
  if (pieces.length === 0) return out;
  const arith = await b2a(party, concatShares(pieces));
  let at = 0;
  for (const { v, k, length } of layout) {
    const weight = 1n << BigInt(k);
    out.a[v] += ringSum(arith.a.subarray(at, at + length)) * weight;
    out.b[v] += ringSum(arith.b.subarray(at, at + length)) * weight;
    at += length;
  }
  return out;
}

/** Carry-save rounds until every weight of every vector holds at most two words. */
async function reduce(party: Party, start: Share[][]): Promise<Share[][]> {
  let weights = start;
  for (;;) {
    const pairs: (readonly [Share, Share])[] = [];
    const steps: { v: number; k: number; sum: Share; c: Share; rest: Share }[] = [];
    weights.forEach((ws, v) =>
      ws.forEach((x, k) => {
        const m = Math.floor(x.a.length / 3);
        if (m === 0 || x.a.length <= 2) return;
        const a = slice(x, 0, m);
        const b = slice(x, m, 2 * m);
        const c = slice(x, 2 * m, 3 * m);
        pairs.push([xorBits(party, a, c), xorBits(party, b, c)]);
        steps.push({ v, k, sum: xorBits(party, xorBits(party, a, b), c), c, rest: slice(x, 3 * m, x.a.length) });
      }),
    );
    if (pairs.length === 0) break;
    const products = await andMany(party, pairs);
    const next: Share[][][] = weights.map((ws) => ws.map((x) => [x]));
    steps.forEach(({ v, k, sum, c, rest }, i) => {
      next[v][k] = next[v][k].filter((x) => x !== weights[v][k]);
      next[v][k].push(sum, rest);
      if (next[v][k + 1] === undefined) next[v][k + 1] = [];
      next[v][k + 1].push(xorBits(party, products[i], c));
    });
    weights = next.map((ws) => ws.map((parts) => concatShares(parts.filter((p) => p.a.length > 0))));
  }
  return weights;
}
