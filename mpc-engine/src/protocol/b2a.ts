import { andPublic, shiftRight } from "./linear.ts";
import type { Party } from "./party.ts";
import type { ArithShare, BoolShare } from "./shares.ts";

// Boolean → arithmetic conversion of one shared bit in one round, by the
// split msb.ts uses: b = b0 ⊕ b1 ⊕ b2 with t = b0 ⊕ b1 known to party 0
// alone and b2 known to parties 1 and 2. Arithmetically
//   b = t + b2 − 2·t·b2 = t·s + b2,   s = 1 − 2·b2 ∈ {1, −1} (parties 1, 2),
// so one product of a value of party 0 with one of parties 1 and 2 — a
// "helper" product — and a local addition of b2.
//
// Output [b] = (u0, u1, c2) with u0 (pair 2–0) and u1 (pair 0–1) fresh PRF
// draws and c2 = t·s + b2 − u0 − u1, which both party 1 and party 2 compute.
// w (pair 2–0) and w' (pair 0–1) are two more fresh draws.
//
// One round, four messages of one word per element:
//   0 → 1: a  = t − w        (masked by w, which party 1 lacks)
//   2 → 1: m  = w·s − u0     (masked by u0, which party 1 lacks)
//   0 → 2: a' = t − w'       (masked by w', which party 2 lacks)
//   1 → 2: m' = w'·s − u1    (masked by u1, which party 2 lacks)
// Party 1: c2 = a·s + m + b2 − u1; party 2: c2 = a'·s + m' + b2 − u0.
// Each receiver's two masks are independent streams (distinct tags), so its
// pair of messages is jointly uniform; party 0 receives nothing.
//
// Cost per element: party 0 sends 16 bytes, parties 1 and 2 send 8 each
// (32 bytes in all, 1 round), against 48 bytes and 2 rounds for the plainer
// reshare-t-then-multiply path this replaced. A 2-round variant sends 24
// bytes (party 1 alone computes c2 and forwards it to party 2), trading a
// round for 8 bytes; the round is the dearer on a network.
//
// Leaks: nothing beyond the output share. Semi-honest, like the rest of the
// engine.

/** PRF tags of the draws of one b2a step (each step has its own tag space). */
const B2A_TAG = {
  /** w, pair (2, 0): masks t toward party 1. */
  T_MASK_1: 20,
  /** w', pair (0, 1): masks t toward party 2. */
  T_MASK_2: 21,
  /** u0, pair (2, 0): component 0 of [b]; masks m. */
  OUT0: 22,
  /** u1, pair (0, 1): component 1 of [b]; masks m'. */
  OUT1: 23,
} as const;

/** Rounds of {@link b2a}. */
export const B2A_ROUNDS = 1;

/**
 * Bytes party `index` sends per element in {@link b2a}: 16 for party 0, 8
 * for parties 1 and 2.
 *
 * @example
 * const bytes = b2aBytesSentPerElement(party.index) * n;
 */
export function b2aBytesSentPerElement(index: 0 | 1 | 2): number {
  return index === 0 ? 16 : 8;
}

/** 2^64 − 2, i.e. −2 in the ring. */
const MINUS_TWO = (1n << 64n) - 2n;

/**
 * Boolean → arithmetic conversion of one bit per element (bit `bitIndex` of
 * each shared word): b = b0 ⊕ b1 ⊕ b2 as an arithmetic share of 0 or 1.
 * One round; per element 16 bytes sent by party 0 and 8 by each other party
 * (32 in all). Opens nothing.
 *
 * @example
 * const isLess = await b2a(party, await lessThanBit(party, x, y));
 */
export async function b2a(party: Party, bits: BoolShare, bitIndex = 0): Promise<ArithShare> {
  const bit = andPublic(party, bitIndex === 0 ? bits : shiftRight(party, bits, bitIndex), 1n);
  const n = bit.a.length;
  if (n === 0) return { a: new BigUint64Array(0), b: new BigUint64Array(0) };
  const k = party.kernels;
  const step = party.nextStep();
  const prf = party.prf;
  const signOf = (b2: BigUint64Array): BigUint64Array => k.addScalar(k.mulScalar(b2, MINUS_TWO), 1n);

  switch (party.index) {
    case 0: {
      const t = k.xor(bit.a, bit.b);
      const w = prf.withPrev(step, B2A_TAG.T_MASK_1, n);
      const w2 = prf.withNext(step, B2A_TAG.T_MASK_2, n);
      const u0 = prf.withPrev(step, B2A_TAG.OUT0, n);
      const u1 = prf.withNext(step, B2A_TAG.OUT1, n);
      await Promise.all([party.sendWords(party.next, step, k.sub(t, w)), party.sendWords(party.prev, step, k.sub(t, w2))]);
      return { a: u0, b: u1 };
    }
    case 1: {
      const b2 = bit.b;
      const s = signOf(b2);
      const w2 = prf.withPrev(step, B2A_TAG.T_MASK_2, n);
      const u1 = prf.withPrev(step, B2A_TAG.OUT1, n);
      const [, a, m] = await Promise.all([
        party.sendWords(party.next, step, k.sub(k.mul(w2, s), u1)),
        party.receiveWords(0, step, n),
        party.receiveWords(2, step, n),
      ]);
      // c2 = (t − w)·s + w·s − u0 + b2 − u1.
      const c2 = k.sub(k.add(k.add(k.mul(a, s), m), b2), u1);
      return { a: u1, b: c2 };
    }
    default: {
      const b2 = bit.a;
      const s = signOf(b2);
      const w = prf.withNext(step, B2A_TAG.T_MASK_1, n);
      const u0 = prf.withNext(step, B2A_TAG.OUT0, n);
      const [, a2, m2] = await Promise.all([
        party.sendWords(party.prev, step, k.sub(k.mul(w, s), u0)),
        party.receiveWords(0, step, n),
        party.receiveWords(1, step, n),
      ]);
      // c2 = (t − w')·s + w'·s − u1 + b2 − u0.
      const c2 = k.sub(k.add(k.add(k.mul(a2, s), m2), b2), u0);
      return { a: c2, b: u0 };
    }
  }
}
