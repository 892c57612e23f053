import { MpcError } from "../errors.ts";
import { decodeFixedPoint, encodeFixedPoint } from "../fixed-point.ts";

/**
 * Limit (exclusive) on the magnitude, in units of the column's scale, of
 * every value the hosts compare: they compare through the sign of x − y,
 * which must not wrap around 2^64. Column bounds, sellers' values and buyers'
 * thresholds all lie within ±(2^62 − 1).
 */
export const COMPARABLE_LIMIT = 1n << 62n;

/** A column's public bounds [lo, hi] in units of 10^-scale (signed). */
export interface ColumnBounds {
  lo: bigint;
  hi: bigint;
}

/**
 * The canonical text of a bound: the decimal with exactly `scale` fractional
 * digits that {@link decodeFixedPoint} prints (no sign on zero, no `+`).
 *
 * @example
 * boundText(-40n, 3) // "-0.040"
 */
export function boundText(units: bigint, scale: number): string {
  return decodeFixedPoint(BigInt.asUintN(64, units), scale);
}

/**
 * Reads a column's public bounds as the schema states them: `lo` and `hi` are
 * canonical decimal strings at the column's scale ({@link boundText}), with
 * lo ≤ hi and both within ±(2^62 − 1) units. Canonical text makes the schema
 * text, and so its on-chain hash, a function of the bounds alone.
 *
 * @throws MpcError `INVALID_ARGUMENT` naming the column and what is wrong
 * @example
 * parseColumnBounds({ name: "salary", scale: 0, lo: "30000", hi: "200000" }) // { lo: 30000n, hi: 200000n }
 */
export function parseColumnBounds(column: { name: string; scale: number; lo?: unknown; hi?: unknown }): ColumnBounds {
  const label = `column ${JSON.stringify(column.name)}`;
  const read = (key: "lo" | "hi"): bigint => {
    const text = column[key];
    if (typeof text !== "string" || text === "") {
      throw new MpcError("INVALID_ARGUMENT", `${label} has no bound "${key}": every numeric column declares public bounds lo and hi`);
    }
    let units: bigint;
    try {
      units = BigInt.asIntN(64, encodeFixedPoint(text, column.scale));
    } catch (cause) {
      throw new MpcError("INVALID_ARGUMENT", `${label}: bound ${key} ${JSON.stringify(text)} is not a decimal at scale ${column.scale}`, { cause });
    }
    if (units >= COMPARABLE_LIMIT || units <= -COMPARABLE_LIMIT) {
      throw new MpcError("INVALID_ARGUMENT", `${label}: bound ${key} ${JSON.stringify(text)} is outside ±(2^62 − 1) units of 10^-${column.scale}`);
    }
    const canonical = boundText(units, column.scale);
    if (canonical !== text) {
      throw new MpcError("INVALID_ARGUMENT", `${label}: bound ${key} ${JSON.stringify(text)} is not canonical; write it as ${JSON.stringify(canonical)}`);
    }
    return units;
  };
  const lo = read("lo");
  const hi = read("hi");
  if (lo > hi) throw new MpcError("INVALID_ARGUMENT", `${label}: bound lo ${column.lo} is above hi ${column.hi}`);
  return { lo, hi };
}

/**
 * The public centre the hosts subtract from a column before summing: the
 * integer midpoint of [lo, hi] (rounded down). Every centred value then lies
 * within ±{@link halfWidth}.
 *
 * @example
 * centreOf({ lo: 30000n, hi: 200000n }) // 115000n
 */
export function centreOf(bounds: ColumnBounds): bigint {
  const s = bounds.lo + bounds.hi;
  // Floor division: BigInt division truncates toward zero.
  return s >= 0n ? s / 2n : -((-s + 1n) / 2n);
}

/**
 * Largest |x − c| over [lo, hi] for the column's centre c: at most 2^62 − 1.
 *
 * @example
 * halfWidth({ lo: 30000n, hi: 200000n }) // 85000n
 */
export function halfWidth(bounds: ColumnBounds): bigint {
  const c = centreOf(bounds);
  const up = bounds.hi - c;
  const down = c - bounds.lo;
  return up > down ? up : down;
}
