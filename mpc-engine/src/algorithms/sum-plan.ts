import { MpcError } from "../errors.ts";
import { isqrt, Rational } from "./rational.ts";
import { boundText, centreOf, halfWidth, type ColumnBounds } from "./column-bounds.ts";
import { noiseBound, TAIL_MULTIPLE, type DpRelease } from "./privacy-plan.ts";

// The proof, made at planning time from public facts only (bounds, scales,
// row count), that no opened sum can wrap the 64-bit ring — or the choice to
// widen it, or a refusal before anyone pays.
//
// Every summand is centred: the hosts sum x − c for the column's public
// centre c (a local addPublic), so |x − c| ≤ W, the column's half-width. A
// product (x − cx)(y − cy) is bounded by Wx·Wy. With n rows:
//   - n·(row bound) ≤ 2^63 − 1: the ring sum, read as signed, is the exact sum
//     ("ring": one opened element);
//   - otherwise the rows are summed in chunks whose sums are exact (each below
//     2^62) and lifted to two 32-bit limbs (protocol/wide-sum.ts: "wide", a
//     normalised (high, low) pair is opened);
//   - a row bound above 2^62 − 1 (a product) cannot be summed exactly at all:
//     RANGE_TOO_WIDE, naming what would make it fit.
//
// A differentially private sum also carries its noise N_0 + N_1 + N_2, each
// term bounded by ⌈64·t⌉ except with probability below e^{−63}
// (privacy-plan.ts): the proof then holds for the rows' bound plus 3·⌈64·t⌉;
// a widened sum lifts the noise as one more chunk (it must itself stay within
// ±(2^62 − 1)); noise too large even for that is refused, naming the noise.

/** Largest |Σ| a signed 64-bit ring element holds exactly. */
export const RING_EXACT_LIMIT = (1n << 63n) - 1n;

/** Largest |summand| of one row, and of one chunk's sum, that a widened sum accepts. */
export const ROW_LIMIT = (1n << 62n) - 1n;

/**
 * Most chunks of one widened sum: the sum of their low 32-bit limbs must stay
 * below 2^64 to be exact.
 */
export const MAX_CHUNKS = 1n << 31n;

/** The offset that makes every chunk sum non-negative before its bits are taken. */
export const CHUNK_OFFSET = 1n << 62n;

/** A column as planning sees it: its name, scale and public bounds in units. */
export interface BoundedColumn extends ColumnBounds {
  name: string;
  scale: number;
}

/** One factor of a summand: a column minus its public centre. */
export interface SumFactor {
  column: string;
  /** Public centre c subtracted from every value (units of the column's scale). */
  centre: bigint;
}

/** How the hosts accumulate one sum. */
export type Accumulation =
  /** One ring element; exact because |Σ| ≤ 2^63 − 1 is proven (noise included). */
  | { kind: "ring" }
  /**
   * Rows summed in `chunks` consecutive chunks of `chunkRows` (the last may be
   * shorter), each chunk sum exact, then lifted to 32-bit limbs and added
   * exactly; opens the canonical (high, low) limbs of Σ chunk sums + chunks·2^62.
   * A noisy sum lifts its noise as one more chunk: Σ + N + (chunks + 1)·2^62.
   */
  | { kind: "wide"; chunkRows: number; chunks: number };

/** One sum a plan opens, with the proof of its range. */
export interface PlannedSum {
  /** What is summed, for messages: "Σx", "Σx²", "Σxy"... */
  label: string;
  /** One factor: Σ(x − c). Two: Σ(x − cx)(y − cy). */
  factors: readonly SumFactor[];
  /** Proven bound on the |summand| of one row. */
  rowBound: bigint;
  /** Proven bound on |Σ| over all rows: rowCount · rowBound. */
  bound: bigint;
  /**
   * DP mode only: the bound on the sum's noise |N_0 + N_1 + N_2|, 3·⌈64·t⌉
   * (holds except with probability below e^{−61}); the opened value lies
   * within bound + noiseBound.
   */
  noiseBound?: bigint;
  accumulation: Accumulation;
}

/**
 * Plans one centred sum (one column) or sum of centred products (two
 * columns) over `rowCount` rows: proves it exact in the ring, or widens it.
 * With `noise` (DP mode) the proof covers the rows' sum plus its noise.
 *
 * @throws MpcError `RANGE_TOO_WIDE` when a row's product may reach 2^62, or
 *   when the noise cannot be held even by a widened sum
 * @example
 * planSum("mean@1", "Σx", [{ name: "salary", scale: 0, lo: 30000n, hi: 200000n }], 10n)
 * // { label: "Σx", factors: [{ column: "salary", centre: 115000n }], rowBound: 85000n, bound: 850000n, accumulation: { kind: "ring" } }
 */
export function planSum(algorithm: string, label: string, columns: readonly BoundedColumn[], rowCount: bigint, noise?: DpRelease): PlannedSum {
  const factors = columns.map((c) => ({ column: c.name, centre: centreOf(c) }));
  const rowBound = columns.reduce((p, c) => p * halfWidth(c), 1n);
  if (rowBound > ROW_LIMIT) throw rangeTooWide(algorithm, label, columns, rowBound);
  const bound = rowCount * rowBound;
  const extra = noise === undefined ? 0n : noiseBound(noise);
  const noisy = noise === undefined ? {} : { noiseBound: extra };
  if (bound + extra <= RING_EXACT_LIMIT) return { label, factors, rowBound, bound, ...noisy, accumulation: { kind: "ring" } };
  if (extra > ROW_LIMIT) throw noiseTooWide(algorithm, label, columns, noise!);
  // Each chunk's sum stays within ±(2^62 − 1): exact in the ring, and
  // non-negative once 2^62 is added.
  const chunkRows = ROW_LIMIT / rowBound;
  const chunks = (rowCount + chunkRows - 1n) / chunkRows;
  if (chunks + (noise === undefined ? 0n : 1n) >= MAX_CHUNKS) {
    throw new MpcError(
      "RANGE_TOO_WIDE",
      `${algorithm}: ${label} over ${rowCount} rows would need ${chunks} exact chunks, more than ${MAX_CHUNKS}; narrow the bounds of ${names(columns)}`,
      { details: { algorithm, columns: columns.map((c) => c.name) } },
    );
  }
  return { label, factors, rowBound, bound, ...noisy, accumulation: { kind: "wide", chunkRows: Number(chunkRows), chunks: Number(chunks) } };
}

/**
 * Elements a widened sum lifts: its chunks, plus one for its noise in DP mode.
 *
 * @example
 * liftedChunks(plannedSum) // 3 for two chunks of rows and their noise
 */
export function liftedChunks(sum: PlannedSum): number {
  if (sum.accumulation.kind !== "wide") throw new RangeError(`${sum.label} is not widened`);
  return sum.accumulation.chunks + (sum.noiseBound === undefined ? 0 : 1);
}

/**
 * Number of ring elements the hosts open for one sum: 1 ("ring") or 2 ("wide").
 *
 * @example
 * openedWidth({ ...sum, accumulation: { kind: "ring" } }) // 1
 */
export function openedWidth(sum: PlannedSum): 1 | 2 {
  return sum.accumulation.kind === "ring" ? 1 : 2;
}

/**
 * The buyer's side of one sum: the exact Σ of the centred summands (plus its
 * noise, in DP mode) from the opened ring element(s), after checking it is
 * possible under the bounds.
 *
 * @throws MpcError `RESULT_OUT_OF_RANGE` for a value no row set within the bounds gives
 * @example
 * decodeSum("sum@1", plannedSum, [2n ** 64n - 5n]) // -5n
 */
export function decodeSum(algorithm: string, sum: PlannedSum, values: readonly bigint[]): bigint {
  let exact: bigint;
  if (sum.accumulation.kind === "ring") {
    exact = BigInt.asIntN(64, values[0]);
  } else {
    const high = BigInt.asUintN(64, values[0]);
    const low = BigInt.asUintN(64, values[1]);
    // The hosts open normalised limbs: a low limb of 2^32 or more never comes from the protocol.
    if (low >= 1n << 32n || high >= 1n << 63n) throw impossible(algorithm, sum, `limbs (${high}, ${low}) are not normalised`);
    exact = (high << 32n) + low - BigInt(liftedChunks(sum)) * CHUNK_OFFSET;
  }
  const limit = sum.bound + (sum.noiseBound ?? 0n);
  if (exact > limit || exact < -limit) {
    const allowance = sum.noiseBound === undefined ? "the public bounds allow" : "the public bounds and the noise's tail bound allow";
    throw impossible(algorithm, sum, `${exact} exceeds the bound ${limit} ${allowance}`);
  }
  return exact;
}

function impossible(algorithm: string, sum: PlannedSum, why: string): MpcError {
  return new MpcError(
    "RESULT_OUT_OF_RANGE",
    `${algorithm}: the opened ${sum.label} is impossible for rows within the declared bounds (${why}): a seller's value outside its bounds, or a faulty host`,
    { details: { algorithm, sum: sum.label } },
  );
}

function noiseTooWide(algorithm: string, label: string, columns: readonly BoundedColumn[], noise: DpRelease): MpcError {
  const t = new Rational(noise.scale.num, noise.scale.den);
  const epsilon = new Rational(noise.epsilon.num, noise.epsilon.den);
  return new MpcError(
    "RANGE_TOO_WIDE",
    `${algorithm}: the noise of ${label} (discrete Laplace of scale ${t.toDecimal(3)} units = sensitivity ${noise.sensitivity} / ε ${epsilon.toDecimal(6)}, ` +
      `three terms each proven within ${TAIL_MULTIPLE}·scale) may reach ${noiseBound(noise)} units, but noise must stay below 2^62 units to be summed exactly even when widened; ` +
      `spend more ε on this request or narrow the bounds of ${names(columns)}`,
    { details: { algorithm, columns: [...new Set(columns.map((c) => c.name))], noiseBound: noiseBound(noise).toString() } },
  );
}

function names(columns: readonly BoundedColumn[]): string {
  return [...new Set(columns.map((c) => JSON.stringify(c.name)))].join(" and ");
}

function bits(v: bigint): number {
  return v === 0n ? 0 : v.toString(2).length;
}

/** The half-width a column would have with its bounds rounded outward to `scale` decimals. */
function halfWidthAt(column: BoundedColumn, scale: number): bigint {
  const step = 10n ** BigInt(column.scale - scale);
  // Outward rounding widens each side by less than one step; the centre's rounding adds one unit.
  return (halfWidth(column) + step - 1n) / step + 1n;
}

/** Fewest decimals dropped (in total) that make the row bound fit, or undefined if no scale does. */
function fewerDecimals(columns: readonly BoundedColumn[]): number[] | undefined {
  const [x, y] = columns;
  let best: number[] | undefined;
  let bestDigits = -1;
  for (let sx = x.scale; sx >= 0; sx--) {
    const ys = y === undefined ? [sx] : Array.from({ length: y.scale + 1 }, (_, k) => y.scale - k);
    for (const sy of ys) {
      const product = y === undefined ? halfWidthAt(x, sx) ** 2n : halfWidthAt(x, sx) * halfWidthAt(y, sy);
      const digits = y === undefined ? sx : sx + sy;
      if (product <= ROW_LIMIT && digits > bestDigits) {
        best = y === undefined ? [sx] : [sx, sy];
        bestDigits = digits;
      }
    }
  }
  return best;
}

function rangeTooWide(algorithm: string, label: string, columns: readonly BoundedColumn[], rowBound: bigint): MpcError {
  const distinct = columns.length === 2 && columns[0].name === columns[1].name ? [columns[0]] : columns;
  const describe = (c: BoundedColumn) =>
    `"${c.name}" (scale ${c.scale}, bounds [${boundText(c.lo, c.scale)}, ${boundText(c.hi, c.scale)}]: |x − centre| ≤ ${boundText(halfWidth(c), c.scale)})`;
  let narrower: string;
  if (distinct.length === 1) {
    const c = distinct[0];
    narrower = `bounds within ±${boundText(isqrt(ROW_LIMIT), c.scale)} of their centre at scale ${c.scale}`;
  } else {
    const [x, y] = distinct;
    narrower =
      `bounds whose half-widths multiply to less than 2^62 units: "${y.name}" within ±${boundText(ROW_LIMIT / halfWidth(x), y.scale)} of its centre ` +
      `at these "${x.name}" bounds, or "${x.name}" within ±${boundText(ROW_LIMIT / halfWidth(y), x.scale)} at these "${y.name}" bounds`;
  }
  const scales = fewerDecimals(distinct);
  const decimals =
    scales === undefined
      ? "fewer decimals alone cannot make bounds this wide fit"
      : `or with fewer decimals: ${distinct.map((c, i) => `"${c.name}" at scale ${scales[i]}`).join(" and ")} with bounds of the same width`;
  return new MpcError(
    "RANGE_TOO_WIDE",
    `${algorithm}: ${label} needs products of up to ${bits(rowBound)} bits per row over ${distinct.map(describe).join(" and ")}, ` +
      `but a row's product must stay below 2^62 to be summed exactly. It fits with narrower ${narrower}; ${decimals}`,
    { details: { algorithm, columns: distinct.map((c) => c.name), bitsNeeded: bits(rowBound) } },
  );
}
