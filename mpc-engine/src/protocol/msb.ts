import { clearTail, packPlanes, unpackShare, wordsFor } from "../plan/bits.ts";
import { andMany } from "./and.ts";
import { xorShares } from "./linear.ts";
import type { Party } from "./party.ts";
import { shareLength, type ArithShare, type BoolShare } from "./shares.ts";

// The sign bit of a shared ring value by splitting the sum (MP-SPDZ's Rep3
// `-Z 3` split; Keller, ePrint 2025/919 §6), on bit planes packed 64
// elements per word (plan/bits.ts), so a round carries one bit per element
// and plane, not one word.
//
// For d = x0 + x1 + x2 mod 2^64 write d = L + R with L = x0 + x1 and
// R = x2. Party 0 holds (x0, x1), so it alone knows L; parties 1 and 2 both
// hold x2, so both know R. MSB(d) = L_63 ⊕ R_63 ⊕ c_63, where c_63 is the
// carry out of bits 0 … 62 of L + R: the group generate of a prefix tree
// over g_j = L_j ∧ R_j and p_j = L_j ⊕ R_j.
//
// Boolean sharings (party i holds components (i, i+1)); w, w', u0, u1 are
// fresh PRF draws of the round-1 step, each known to exactly one pair:
//   w  (pair 2–0), 64 planes     w' (pair 0–1), 63 planes
//   u0 (pair 2–0), 63 planes     u1 (pair 0–1), 63 planes
//   [L] = (w, L ⊕ w, 0)    [R] = (0, 0, R)    [p] = [L] ⊕ [R] = (w, L ⊕ w, R)
//   [g] = (u0, u1, u2) with u2 = (L ∧ R) ⊕ u0 ⊕ u1 (planes 0 … 62)
//
// Round 1 (four messages, all computable from the inputs and PRFs alone):
//   0 → 1: a  = L ⊕ w            (64 planes; masked by w, which party 1 lacks)
//   2 → 1: b  = (w ∧ R) ⊕ u0     (63 planes; masked by u0, which party 1 lacks)
//   0 → 2: a' = L ⊕ w'           (63 planes; masked by w', which party 2 lacks)
//   1 → 2: b' = (w' ∧ R) ⊕ u1    (63 planes; masked by u1, which party 2 lacks)
// Party 1 then has u2 = (a ∧ R) ⊕ b ⊕ u1 and party 2 the same value as
// (a' ∧ R) ⊕ b' ⊕ u0: g is an AND of a value of party 0 with one of parties
// 1 and 2, done as two one-round "helper" products (the party that shares
// the mask with party 0 sends the mask's product with R), so sharing L and
// computing g cost one round together. a is also party 1's component of [L].
// The four masks are independent PRF streams (distinct tags), so each
// receiver's pair of messages is jointly uniform; party 0 receives nothing.
//
// Rounds 2–7: the carry tree over planes 0 … 62, six levels of
// (G, P) ∘ (G', P') = (G ⊕ (P ∧ G'), P ∧ P') (G and P ∧ G' exclude each
// other, so ⊕ is their ∨), the lowest group never computing P: 61 + 31 +
// 15 + 7 + 3 + 1 = 118 plane-ANDs, each the engine's replicated AND (one bit
// per party per element, sent to the previous party, masked by the XOR
// zero sharing of its step: a party misses the key its two neighbours share).
//
// Per element (one bit per plane; W = ⌈n/64⌉ words per plane):
//   party 0: 64 + 63 + 118 = 245 bits; parties 1 and 2: 63 + 118 = 181 bits;
//   607 bits ≈ 75.9 bytes in all, over 7 rounds (today's a2b path: 312 bytes,
//   8 rounds). Bytes sent per party: 245·8·W, 181·8·W, 181·8·W, so a
//   batch pays for whole words: n < 64 elements cost as much as 64.
// (The plainer order — share L, then a standard replicated AND for g — sends
// 64 + 3·63 + 3·118 = 607 bits too, in 8 rounds; the helper products save
// the round.)
//
// Leaks: nothing beyond the output share (every received message is a
// one-time-pad of PRF output the receiver does not hold). Semi-honest, like
// the rest of the engine.

/** PRF tags of the round-1 draws; unique within that step (tree rounds use their own steps). */
const MSB_TAG = {
  /** w, pair (2, 0): masks L toward party 1 and is component 0 of [L]. */
  L_MASK: 16,
  /** w', pair (0, 1): masks L toward party 2. */
  L_MASK_2: 17,
  /** u0, pair (2, 0): component 0 of [g]; masks b. */
  G0: 18,
  /** u1, pair (0, 1): component 1 of [g]; masks b'. */
  G1: 19,
} as const;

const PLANES = 64;
const CARRY_PLANES = 63;

/** Rounds of {@link msbPacked}. */
export const MSB_ROUNDS = 7;

/**
 * Bits party `index` sends per element in {@link msbPacked} (one bit per
 * plane it sends, i.e. as many bytes per packed word of 64 elements):
 * 245 for party 0, 181 for parties 1 and 2.
 *
 * @example
 * const bytes = msbBitsSentPerElement(party.index) * 8 * wordsFor(n);
 */
export function msbBitsSentPerElement(index: 0 | 1 | 2): number {
  const treeAnds = 118;
  return index === 0 ? PLANES + CARRY_PLANES + treeAnds : CARRY_PLANES + treeAnds;
}

interface Node {
  g: BoolShare;
  /** Absent for the lowest group, whose propagate is never read. */
  p?: BoolShare;
}

/**
 * The sign bit (bit 63) of each element of x, as a packed boolean share:
 * element r is bit r mod 64 of word ⌊r/64⌋, bits beyond n are 0. 7 rounds;
 * per element 245 bits sent by party 0 and 181 by each other party (≈ 76
 * bytes in all). Opens nothing.
 *
 * @example
 * const signs = await msbPacked(party, x);
 * const bits = unpackShare(signs, n); // the layout of isNegativeBit
 */
export async function msbPacked(party: Party, x: ArithShare): Promise<BoolShare> {
  const n = shareLength(x);
  const words = wordsFor(n);
  if (n === 0) return { a: new BigUint64Array(0), b: new BigUint64Array(0) };
  const k = party.kernels;
  const full = PLANES * words;
  const carry = CARRY_PLANES * words;
  const step = party.nextStep();
  const prf = party.prf;

  // Components of [p] (64 planes) and [g] (63 planes) this party holds.
  let p: BoolShare;
  let g: BoolShare;
  switch (party.index) {
    case 0: {
      const l = planesOf(k.add(x.a, x.b), words);
      const w = prf.withPrev(step, MSB_TAG.L_MASK, full);
      const w2 = prf.withNext(step, MSB_TAG.L_MASK_2, carry);
      const u0 = prf.withPrev(step, MSB_TAG.G0, carry);
      const u1 = prf.withNext(step, MSB_TAG.G1, carry);
      const a = k.xor(l, w);
      const a2 = k.xor(l.subarray(0, carry), w2);
      await Promise.all([party.sendWords(party.next, step, a), party.sendWords(party.prev, step, a2)]);
      p = { a: w, b: a };
      g = { a: u0, b: u1 };
      break;
    }
    case 1: {
      const r = planesOf(x.b, words);
      const w2 = prf.withPrev(step, MSB_TAG.L_MASK_2, carry);
      const u1 = prf.withPrev(step, MSB_TAG.G1, carry);
      const b2 = k.xor(k.and(w2, r.subarray(0, carry)), u1);
      const [, a, b] = await Promise.all([
        party.sendWords(party.next, step, b2),
        party.receiveWords(0, step, full),
        party.receiveWords(2, step, carry),
      ]);
      // u2 = (a ∧ R) ⊕ b ⊕ u1 = (L ∧ R) ⊕ u0 ⊕ u1.
      const u2 = k.xor(k.xor(k.and(a.subarray(0, carry), r.subarray(0, carry)), b), u1);
      p = { a, b: r };
      g = { a: u1, b: u2 };
      break;
    }
    default: {
      const r = planesOf(x.a, words);
      const w = prf.withNext(step, MSB_TAG.L_MASK, full);
      const u0 = prf.withNext(step, MSB_TAG.G0, carry);
      const b = k.xor(k.and(w.subarray(0, carry), r.subarray(0, carry)), u0);
      const [, a2, b2] = await Promise.all([
        party.sendWords(party.prev, step, b),
        party.receiveWords(0, step, carry),
        party.receiveWords(1, step, carry),
      ]);
      // u2 = (a' ∧ R) ⊕ b' ⊕ u0 = (L ∧ R) ⊕ u1 ⊕ u0.
      const u2 = k.xor(k.xor(k.and(a2, r.subarray(0, carry)), b2), u0);
      p = { a: r, b: w };
      g = { a: u2, b: u0 };
      break;
    }
  }

  const plane = (s: BoolShare, j: number): BoolShare => ({
    a: s.a.subarray(j * words, (j + 1) * words),
    b: s.b.subarray(j * words, (j + 1) * words),
  });
  let nodes: Node[] = Array.from({ length: CARRY_PLANES }, (_, j) => ({ g: plane(g, j), p: j === 0 ? undefined : plane(p, j) }));
  while (nodes.length > 1) nodes = await combineLevel(party, nodes);
  const sign = xorShares(party, plane(p, PLANES - 1), nodes[0].g);
  return clearTail(party, sign, n);
}

/**
 * One level of the carry tree: adjacent groups (lo, hi) merged in one round,
 * an odd top group carried up as it is.
 */
async function combineLevel(party: Party, nodes: readonly Node[]): Promise<Node[]> {
  const pairs: (readonly [BoolShare, BoolShare])[] = [];
  const merges = Math.floor(nodes.length / 2);
  for (let i = 0; i < merges; i++) {
    const lo = nodes[2 * i];
    const hi = nodes[2 * i + 1];
    pairs.push([hi.p!, lo.g]);
    if (lo.p !== undefined) pairs.push([hi.p!, lo.p]);
  }
  const products = await andMany(party, pairs);
  const out: Node[] = [];
  let at = 0;
  for (let i = 0; i < merges; i++) {
    const lo = nodes[2 * i];
    const hi = nodes[2 * i + 1];
    const g = xorShares(party, hi.g, products[at++]);
    out.push(lo.p === undefined ? { g } : { g, p: products[at++] });
  }
  if (nodes.length % 2 === 1) out.push(nodes[nodes.length - 1]);
  return out;
}

/** The 64 bit planes of v, one after another in one vector (plane j at [j·words, (j+1)·words)). */
function planesOf(v: BigUint64Array, words: number): BigUint64Array {
  const out = new BigUint64Array(PLANES * words);
  packPlanes(v, PLANES).forEach((planeWords, j) => out.set(planeWords, j * words));
  return out;
}

/**
 * The sign bit of each element of x in the layout of `isNegativeBit`
 * (compare.ts): one word per element, the bit in bit 0. {@link msbPacked},
 * then a local unpack.
 *
 * @example
 * const negative = await msbBit(party, x);
 */
export async function msbBit(party: Party, x: ArithShare): Promise<BoolShare> {
  return unpackShare(await msbPacked(party, x), shareLength(x));
}

/**
 * [x < y] as a packed boolean share: the sign bit of x − y. Same range
 * assumption as `lessThanBit`: |x − y| < 2^63. 7 rounds, ≈ 76 bytes per
 * element in all.
 *
 * @example
 * const lt = await lessThanPacked(party, x, y);
 */
export async function lessThanPacked(party: Party, x: ArithShare, y: ArithShare): Promise<BoolShare> {
  const k = party.kernels;
  return msbPacked(party, { a: k.sub(x.a, y.a), b: k.sub(x.b, y.b) });
}
