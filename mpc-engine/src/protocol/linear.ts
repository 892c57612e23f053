import type { Party } from "./party.ts";
import type { ArithShare, BoolShare } from "./shares.ts";

// Local operations: linear maps of the shares, no communication. A public
// constant enters through component x_0, which party 0 holds as `a` and
// party 2 as `b`.

/**
 * [x] + [y].
 *
 * @example
 * const s = addShares(party, x, y);
 */
export function addShares(party: Party, x: ArithShare, y: ArithShare): ArithShare {
  return { a: party.kernels.add(x.a, y.a), b: party.kernels.add(x.b, y.b) };
}

/**
 * [x] − [y].
 *
 * @example
 * const d = subShares(party, x, y);
 */
export function subShares(party: Party, x: ArithShare, y: ArithShare): ArithShare {
  return { a: party.kernels.sub(x.a, y.a), b: party.kernels.sub(x.b, y.b) };
}

/**
 * [x] · c for a public constant c (mod 2^64).
 *
 * @example
 * const twice = mulPublic(party, x, 2n);
 */
export function mulPublic(party: Party, x: ArithShare, c: bigint): ArithShare {
  return { a: party.kernels.mulScalar(x.a, c), b: party.kernels.mulScalar(x.b, c) };
}

/**
 * [x] + c for a public constant c (mod 2^64), added into component x_0.
 *
 * @example
 * const shifted = addPublic(party, x, -threshold);
 */
export function addPublic(party: Party, x: ArithShare, c: bigint): ArithShare {
  const k = party.kernels;
  return {
    a: party.index === 0 ? k.addScalar(x.a, c) : x.a.slice(),
    b: party.index === 2 ? k.addScalar(x.b, c) : x.b.slice(),
  };
}

/**
 * [x] ⊕ [y] on boolean shares.
 *
 * @example
 * const p = xorShares(party, s, c);
 */
export function xorShares(party: Party, x: BoolShare, y: BoolShare): BoolShare {
  return { a: party.kernels.xor(x.a, y.a), b: party.kernels.xor(x.b, y.b) };
}

/**
 * [x] ⊕ c for a public word c, applied to component w_0.
 *
 * @example
 * const notX = xorPublic(party, x, (1n << 64n) - 1n);
 */
export function xorPublic(party: Party, x: BoolShare, c: bigint): BoolShare {
  const k = party.kernels;
  return {
    a: party.index === 0 ? k.xorScalar(x.a, c) : x.a.slice(),
    b: party.index === 2 ? k.xorScalar(x.b, c) : x.b.slice(),
  };
}

/**
 * [x] ∧ c for a public word c (each component masked).
 *
 * @example
 * const bit0 = andPublic(party, x, 1n);
 */
export function andPublic(party: Party, x: BoolShare, c: bigint): BoolShare {
  return { a: party.kernels.andScalar(x.a, c), b: party.kernels.andScalar(x.b, c) };
}

/**
 * [x] << k on boolean shares (shifts are linear over XOR).
 *
 * @example
 * const carries = shiftLeft(party, maj, 1);
 */
export function shiftLeft(party: Party, x: BoolShare, k: number): BoolShare {
  return { a: party.kernels.shl(x.a, k), b: party.kernels.shl(x.b, k) };
}

/**
 * [x] >>> k (logical) on boolean shares.
 *
 * @example
 * const msb = shiftRight(party, bits, 63);
 */
export function shiftRight(party: Party, x: BoolShare, k: number): BoolShare {
  return { a: party.kernels.shr(x.a, k), b: party.kernels.shr(x.b, k) };
}
