import { MpcError } from "./errors.ts";
import { fillRandom } from "./random-bytes.ts";
import { ringVectorView } from "./share-encoding.ts";
import { expandShareSeed, expandShareSeedInPieces, type SeededPart } from "./share-seeds.ts";

/**
 * One host's replicated share of a column: host i holds `a` = x_i and
 * `b` = x_{i+1 mod 3}, where x = x0 + x1 + x2 mod 2^64.
 */
export interface HostShare {
  a: BigUint64Array;
  b: BigUint64Array;
}

/** Fills a byte array with uniform random bytes (injectable for tests). */
export type RandomFill = (bytes: Uint8Array) => void;

/**
 * Splits a column into 2-out-of-3 replicated shares: x0 and x1 uniform,
 * x2 = x - x0 - x1; host i gets (x_i, x_{i+1}). Any one share reveals
 * nothing about x; any two reconstruct it.
 *
 * The three shares reference three underlying vectors (share i's `b` is
 * share i+1's `a`); copy before mutating.
 *
 * @example
 * const [s0, s1, s2] = shareColumn(BigUint64Array.of(5n));
 * reconstruct([s0, s1, s2]) // BigUint64Array [5n]
 */
export function shareColumn(
  values: BigUint64Array,
  rng: RandomFill = fillRandom,
): [HostShare, HostShare, HostShare] {
  const n = values.length;
  // One random fill for both x0 and x1: the bulk of the cost at 1M rows.
  const random = new BigUint64Array(2 * n);
  rng(new Uint8Array(random.buffer, random.byteOffset, random.byteLength));
  return replicate(values, random.subarray(0, n), random.subarray(n, 2 * n));
}

/** The three replicated shares of `values` given x0 and x1: x2 = x - x0 - x1, host i holding (x_i, x_{i+1}). */
function replicate(values: BigUint64Array, x0: BigUint64Array, x1: BigUint64Array): [HostShare, HostShare, HostShare] {
  const x2 = new BigUint64Array(values.length);
  // asUintN: V8 then lowers the arithmetic to 64-bit machine operations (no BigInt per element).
  for (let i = 0; i < values.length; i++) x2[i] = BigInt.asUintN(64, values[i] - x0[i] - x1[i]);
  return [
    { a: x0, b: x1 },
    { a: x1, b: x2 },
    { a: x2, b: x0 },
  ];
}

/**
 * Splits a column as {@link shareColumn} does, with x0 and x1 the expansions
 * of two seeds (`expandShareSeed(seeds[k], column, part, n)`) instead of
 * fresh random bytes: host 0 can then be sent both seeds, host 1 seed 1 and
 * x2, host 2 x2 and seed 0 (share-seeds.ts). The seeds must be fresh and
 * uniform, and used for one sharing only.
 *
 * @example
 * const seeds = [randomBytes(32), randomBytes(32)] as const;
 * const [s0, s1, s2] = shareColumnFromSeeds(BigUint64Array.of(5n), seeds, 0, "values");
 */
export function shareColumnFromSeeds(
  values: BigUint64Array,
  seeds: readonly [Uint8Array, Uint8Array],
  column: number,
  part: SeededPart,
): [HostShare, HostShare, HostShare] {
  const [x0, x1] = seeds.map((seed) => ringVectorView(expandShareSeed(seed, column, part, values.length)));
  return replicate(values, x0, x1);
}

/** Words of each piece in which {@link shareRemainderFromSeeds} draws the two streams: 512 KiB each, reused. */
const REMAINDER_PIECE_WORDS = 1 << 16;

/**
 * x2 = x − x0 − x1 of {@link shareColumnFromSeeds}, the one vector of the
 * sharing that is sent: x0 and x1 are drawn a piece at a time into two
 * reused buffers, never held whole (a seller that sends them as seeds has
 * no other use for them).
 *
 * @example
 * const x2 = shareRemainderFromSeeds(values, seeds, 0, "values"); // equal to shareColumnFromSeeds(values, seeds, 0, "values")[1].b
 */
export function shareRemainderFromSeeds(values: BigUint64Array, seeds: readonly [Uint8Array, Uint8Array], column: number, part: SeededPart): BigUint64Array {
  return remainderFromSeeds(values.length, seeds, column, part, (x2, p0, p1, at) => remainderPiece(x2, values, p0, p1, at));
}

/**
 * x2 = c − x0 − x1 of a column whose every row is the constant c (a
 * validity vector with no value missing), without a vector of c's: see
 * {@link shareRemainderFromSeeds}.
 *
 * @example
 * const x2 = shareConstantRemainderFromSeeds(1n, rows, seeds, 0, "validity"); // as shareRemainderFromSeeds of rows ones
 */
export function shareConstantRemainderFromSeeds(constant: bigint, rows: number, seeds: readonly [Uint8Array, Uint8Array], column: number, part: SeededPart): BigUint64Array {
  const c = BigInt.asUintN(64, constant);
  return remainderFromSeeds(rows, seeds, column, part, (x2, p0, p1, at) => constantRemainderPiece(x2, c, p0, p1, at));
}

function remainderFromSeeds(
  n: number,
  seeds: readonly [Uint8Array, Uint8Array],
  column: number,
  part: SeededPart,
  piece: (x2: BigUint64Array, p0: BigUint64Array, p1: BigUint64Array, at: number) => void,
): BigUint64Array {
  const x2 = new BigUint64Array(n);
  const [x0, x1] = seeds.map((seed) => expandShareSeedInPieces(seed, column, part, n, REMAINDER_PIECE_WORDS * 8));
  for (let at = 0; at < n; ) {
    const p0 = ringVectorView(x0.next().value as Uint8Array);
    const p1 = ringVectorView(x1.next().value as Uint8Array);
    piece(x2, p0, p1, at);
    at += p0.length;
  }
  return x2;
}

/** x2[at + k] = values[at + k] − p0[k] − p1[k] mod 2^64, over the piece. */
function remainderPiece(x2: BigUint64Array, values: BigUint64Array, p0: BigUint64Array, p1: BigUint64Array, at: number): void {
  for (let k = 0; k < p0.length; k++) x2[at + k] = BigInt.asUintN(64, values[at + k] - p0[k] - p1[k]);
}

/** x2[at + k] = c − p0[k] − p1[k] mod 2^64, over the piece. */
function constantRemainderPiece(x2: BigUint64Array, c: bigint, p0: BigUint64Array, p1: BigUint64Array, at: number): void {
  for (let k = 0; k < p0.length; k++) x2[at + k] = BigInt.asUintN(64, c - p0[k] - p1[k]);
}

/**
 * Reconstructs x = a0 + a1 + a2 mod 2^64 from the three shares, after checking
 * that the replicated components agree (share i's `b` equals share i+1's `a`).
 *
 * @throws MpcError `SHARES_INVALID` (wrong count or lengths) or
 *   `SHARES_INCONSISTENT` (naming the disagreeing hosts)
 * @example
 * reconstruct(shareColumn(BigUint64Array.of(1n, 2n))) // [1n, 2n]
 */
export function reconstruct(shares: readonly HostShare[]): BigUint64Array {
  if (shares.length !== 3) throw new MpcError("SHARES_INVALID", `expected 3 shares, got ${shares.length}`);
  const n = shares[0].a.length;
  for (const [i, s] of shares.entries()) {
    if (s.a.length !== n || s.b.length !== n) {
      throw new MpcError("SHARES_INVALID", `share of host ${i} has a different length`, { details: { host: i } });
    }
  }
  for (let i = 0; i < 3; i++) {
    const next = (i + 1) % 3;
    const b = shares[i].b;
    const a = shares[next].a;
    for (let k = 0; k < n; k++) {
      if (b[k] !== a[k]) {
        throw new MpcError("SHARES_INCONSISTENT", `hosts ${i} and ${next} disagree on x_${next} at row ${k}`, {
          details: { hosts: [i, next], row: k },
        });
      }
    }
  }
  const out = new BigUint64Array(n);
  const [s0, s1, s2] = shares;
  for (let k = 0; k < n; k++) out[k] = BigInt.asUintN(64, s0.a[k] + s1.a[k] + s2.a[k]);
  return out;
}
