import { andPublic, xorPublic, xorShares } from "../protocol/linear.ts";
import type { Party } from "../protocol/party.ts";
import { concatShares, type ArithShare, type BoolShare } from "../protocol/shares.ts";

// Row bits as the plan's operators pass them: boolean shares with the bit in
// bit 0 of each word and every other bit 0, one word per row.

/** A public bit for `n` rows: component w_0 carries it (parties 0 and 2), so the share is a sharing of that constant. */
export function publicBits(party: Party, n: number, value: boolean): BoolShare {
  const zero = { a: new BigUint64Array(n), b: new BigUint64Array(n) };
  return value ? xorPublic(party, zero, 1n) : zero;
}

/** ¬x for bits in bit 0: local. */
export function notBits(party: Party, x: BoolShare): BoolShare {
  return xorPublic(party, x, 1n);
}

/** x ⊕ y: local. */
export function xorBits(party: Party, x: BoolShare, y: BoolShare): BoolShare {
  return xorShares(party, x, y);
}

/** Keeps bit 0 of each word: local. */
export function bit0(party: Party, x: BoolShare): BoolShare {
  return andPublic(party, x, 1n);
}

/**
 * The validity bit of an arithmetic share of 0/1 as a boolean share, with no
 * message: bit 0 of x0 + x1 + x2 is x0 ⊕ x1 ⊕ x2 in bit 0 (no carry enters
 * the lowest bit), so each component's lowest bit is a boolean component.
 */
export function validityBits(party: Party, valid: ArithShare): BoolShare {
  return { a: party.kernels.andScalar(valid.a, 1n), b: party.kernels.andScalar(valid.b, 1n) };
}

/** Several bit vectors as one (both components copied once). */
export function concatBits(parts: readonly BoolShare[]): BoolShare {
  return concatShares(parts);
}

/** Splits a vector back into `count` consecutive parts of `n` elements (views, no copy). */
export function splitParts<T extends { a: BigUint64Array; b: BigUint64Array }>(x: T, count: number, n: number): { a: BigUint64Array; b: BigUint64Array }[] {
  return Array.from({ length: count }, (_, j) => ({ a: x.a.subarray(j * n, (j + 1) * n), b: x.b.subarray(j * n, (j + 1) * n) }));
}

/** A block of rows [start, end) of a share (views, no copy). */
export function rows<T extends { a: BigUint64Array; b: BigUint64Array }>(x: T, start: number, end: number): { a: BigUint64Array; b: BigUint64Array } {
  return { a: x.a.subarray(start, end), b: x.b.subarray(start, end) };
}

/** A broadcast of a scalar share (one element) to `n` rows: each component repeated, still a sharing of the same value per row. */
export function broadcast(x: { a: BigUint64Array; b: BigUint64Array }, at: number, n: number): { a: BigUint64Array; b: BigUint64Array } {
  return { a: new BigUint64Array(n).fill(x.a[at]), b: new BigUint64Array(n).fill(x.b[at]) };
}
