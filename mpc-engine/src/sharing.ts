import { MpcError } from "./errors.ts";
import { fillRandom } from "./random-bytes.ts";
import { ringVectorView } from "./share-encoding.ts";
import { expandShareSeed, type SeededPart } from "./share-seeds.ts";

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
  for (let i = 0; i < values.length; i++) x2[i] = values[i] - x0[i] - x1[i];
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
  for (let k = 0; k < n; k++) out[k] = s0.a[k] + s1.a[k] + s2.a[k];
  return out;
}
