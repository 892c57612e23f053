import { b2a } from "./b2a.ts";
import { addShares, mulPublic, shiftRight } from "./linear.ts";
import type { Party } from "./party.ts";
import { shareLength, type ArithShare, type BoolShare } from "./shares.ts";

/**
 * The arithmetic value of bits [from, from + count) of boolean-shared words:
 * Σ_i 2^i · bit_(from+i), e.g. ⌊x / 2^32⌋ from the bits of x with from = 32.
 * Every bit of every element goes through ONE batched {@link b2a} (the bits
 * are shifted into place locally), then the weighted sum is local.
 *
 * 1 round; per element 2·count words sent by party 0 and count by each other
 * party; count·n words of working memory per component.
 *
 * @example
 * const high = await extractBits(party, await a2b(party, x), 32, 32); // ⌊x / 2^32⌋ for x < 2^64
 */
export async function extractBits(party: Party, bits: BoolShare, from: number, count: number): Promise<ArithShare> {
  if (!Number.isInteger(from) || !Number.isInteger(count) || from < 0 || count < 1 || from + count > 64) {
    throw new RangeError(`bit range out of the word: from ${from}, count ${count}`);
  }
  const n = shareLength(bits);
  const spread: BoolShare = { a: new BigUint64Array(count * n), b: new BigUint64Array(count * n) };
  for (let i = 0; i < count; i++) {
    // b2a keeps bit 0 only, so each block carries the wanted bit there.
    const shifted = shiftRight(party, bits, from + i);
    spread.a.set(shifted.a, i * n);
    spread.b.set(shifted.b, i * n);
  }
  const arith = await b2a(party, spread);
  let value: ArithShare = { a: new BigUint64Array(n), b: new BigUint64Array(n) };
  for (let i = 0; i < count; i++) {
    const bit = { a: arith.a.subarray(i * n, (i + 1) * n), b: arith.b.subarray(i * n, (i + 1) * n) };
    value = addShares(party, value, mulPublic(party, bit, 1n << BigInt(i)));
  }
  return value;
}
