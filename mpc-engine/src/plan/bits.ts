import { andPublic, xorPublic, xorShares } from "../protocol/linear.ts";
import type { Party } from "../protocol/party.ts";
import { concatShares, type ArithShare, type BoolShare } from "../protocol/shares.ts";

// Row bits as the plan's operators pass them: a boolean share whose words
// hold 64 rows each (row r is bit r mod 64 of word ⌊r/64⌋), so one AND of a
// word is 64 rows' ANDs and a round sends one bit per row, not one word.
// The bits of a block's last word beyond its rows (its tail) are whatever
// the operations leave there; operators that count rows clear them first
// ({@link clearTail}). Packing and unpacking are local (each party moves
// the bits of its own components).

const ALL = (1n << 64n) - 1n;

/** Words holding `rows` row bits. */
export function wordsFor(rows: number): number {
  return (rows + 63) >>> 6;
}

/** A public bit for every row of `words` words: component w_0 carries it (parties 0 and 2). */
export function publicBits(party: Party, words: number, value: boolean): BoolShare {
  const zero = { a: new BigUint64Array(words), b: new BigUint64Array(words) };
  return value ? xorPublic(party, zero, ALL) : zero;
}

/** ¬x: local. */
export function notBits(party: Party, x: BoolShare): BoolShare {
  return xorPublic(party, x, ALL);
}

/** x ⊕ y: local. */
export function xorBits(party: Party, x: BoolShare, y: BoolShare): BoolShare {
  return xorShares(party, x, y);
}

/** The same bits with every bit beyond row `rows` zero: local (the last word ANDed with a public mask). */
export function clearTail(party: Party, x: BoolShare, rows: number): BoolShare {
  const words = x.a.length;
  const spare = words * 64 - rows;
  if (spare === 0) return x;
  const out = { a: x.a.slice(), b: x.b.slice() };
  const last = andPublic(party, { a: x.a.subarray(words - 1), b: x.b.subarray(words - 1) }, ALL >> BigInt(spare));
  out.a[words - 1] = last.a[0];
  out.b[words - 1] = last.b[0];
  return out;
}

/**
 * Bits 0 … width − 1 of each element of `v` as `width` packed planes (plane j
 * holds bit j of every row); bits beyond the rows are 0. Local.
 */
export function packPlanes(v: BigUint64Array, width: number): BigUint64Array[] {
  const n = v.length;
  const words = wordsFor(n);
  const planes = Array.from({ length: width }, () => new BigUint64Array(words));
  const out = planes.map((p) => new Int32Array(p.buffer, p.byteOffset, 2 * words));
  const src = new Int32Array(v.buffer, v.byteOffset, 2 * n);
  // 32 rows at a time: their low (then high) 32-bit halves as a 32 × 32 bit
  // matrix, transposed so that word j holds bit j of the 32 rows.
  const block = new Int32Array(32);
  for (let half = 0; half < 2 && 32 * half < width; half++) {
    for (let base = 0, k = 0; base < n; base += 32, k++) {
      const end = Math.min(32, n - base);
      for (let i = 0; i < end; i++) block[i] = src[2 * (base + i) + half];
      block.fill(0, end);
      transpose32(block);
      for (let j = 32 * half; j < Math.min(width, 32 * half + 32); j++) out[j][k] = block[j - 32 * half];
    }
  }
  return planes;
}

/** Transposes a 32 × 32 bit matrix in place: bit j of word i ↔ bit i of word j (five swaps of blocks). */
function transpose32(a: Int32Array): void {
  let m = 0x0000ffff;
  for (let j = 16; j !== 0; j >>>= 1, m ^= m << j) {
    for (let k = 0; k < 32; k = (k + j + 1) & ~j) {
      const t = ((a[k] >>> j) ^ a[k + j]) & m;
      a[k] ^= t << j;
      a[k + j] ^= t;
    }
  }
}

/** The packed bits of `rows` rows as one element per row holding 0 or 1 (bit 0). Local. */
export function unpackBits(plane: BigUint64Array, rows: number): BigUint64Array {
  const out = new BigUint64Array(rows);
  const dst = new Int32Array(out.buffer, out.byteOffset, 2 * rows);
  const src = new Int32Array(plane.buffer, plane.byteOffset, 2 * plane.length);
  for (let r = 0; r < rows; r++) dst[2 * r] = (src[r >>> 5] >>> (r & 31)) & 1;
  return out;
}

/** Both components of a packed share unpacked: one element per row, the bit in bit 0. */
export function unpackShare(x: BoolShare, rows: number): BoolShare {
  return { a: unpackBits(x.a, rows), b: unpackBits(x.b, rows) };
}

/**
 * The validity bits of an arithmetic share of 0/1, packed, with no message:
 * bit 0 of x0 + x1 + x2 is x0 ⊕ x1 ⊕ x2 in bit 0 (no carry enters the
 * lowest bit), so each component's lowest bit is a boolean component.
 */
export function validityBits(valid: ArithShare): BoolShare {
  return { a: packPlanes(valid.a, 1)[0], b: packPlanes(valid.b, 1)[0] };
}

/**
 * A shared bit (bit 0 of element `at`) copied to every row of `words` words:
 * each component's bit repeated in every position, which is linear over XOR,
 * so local.
 */
export function spreadBit(x: BoolShare, at: number, words: number): BoolShare {
  return {
    a: new BigUint64Array(words).fill((x.a[at] & 1n) === 1n ? ALL : 0n),
    b: new BigUint64Array(words).fill((x.b[at] & 1n) === 1n ? ALL : 0n),
  };
}

/** Several vectors as one (both components copied once). */
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
