import { MpcError } from "./errors.ts";

/** Largest supported fractional precision: 10^18 < 2^63, so one unit still fits. */
export const MAX_SCALE = 18;

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const DECIMAL = /^([+-]?)(\d*)(?:\.(\d*))?$/;

/**
 * Encodes a decimal string as a ring element: round(text * 10^scale) must be
 * exact (no digits beyond `scale` other than zeros) and fit in a signed
 * 64-bit integer; negatives become two's complement.
 *
 * @throws MpcError `FIXED_POINT_MALFORMED`, `FIXED_POINT_PRECISION`,
 *   `FIXED_POINT_OUT_OF_RANGE` or `FIXED_POINT_SCALE_INVALID`
 * @example
 * encodeFixedPoint("-1.25", 2) === 2n ** 64n - 125n
 */
export function encodeFixedPoint(text: string, scale: number): bigint {
  assertScale(scale);
  const match = DECIMAL.exec(text);
  const intDigits = match?.[2] ?? "";
  const fracDigits = match?.[3] ?? "";
  if (!match || (intDigits === "" && fracDigits === "")) {
    throw new MpcError("FIXED_POINT_MALFORMED", `not a decimal number: ${JSON.stringify(text.slice(0, 64))}`, {
      details: { text: text.slice(0, 64) },
    });
  }
  const kept = fracDigits.slice(0, scale);
  const dropped = fracDigits.slice(scale);
  if (/[^0]/.test(dropped)) {
    throw new MpcError(
      "FIXED_POINT_PRECISION",
      `${JSON.stringify(text)} has more than ${scale} fractional digit(s); it cannot be encoded exactly`,
      { details: { text, scale } },
    );
  }
  const magnitude = BigInt((intDigits || "0") + kept.padEnd(scale, "0"));
  const value = match[1] === "-" ? -magnitude : magnitude;
  if (value < INT64_MIN || value > INT64_MAX) {
    throw new MpcError(
      "FIXED_POINT_OUT_OF_RANGE",
      `${JSON.stringify(text)} at scale ${scale} does not fit in a signed 64-bit integer`,
      { details: { text, scale } },
    );
  }
  return BigInt.asUintN(64, value);
}

/**
 * Decodes a ring element (read as signed 64-bit) to a decimal string with
 * exactly `scale` fractional digits.
 *
 * @example
 * decodeFixedPoint(2n ** 64n - 125n, 2) === "-1.25"
 */
export function decodeFixedPoint(x: bigint, scale: number): string {
  assertScale(scale);
  const signed = BigInt.asIntN(64, x);
  const negative = signed < 0n;
  const digits = (negative ? -signed : signed).toString().padStart(scale + 1, "0");
  const intPart = digits.slice(0, digits.length - scale);
  const fracPart = digits.slice(digits.length - scale);
  return (negative ? "-" : "") + intPart + (scale > 0 ? "." + fracPart : "");
}

function assertScale(scale: number): void {
  if (!Number.isInteger(scale) || scale < 0 || scale > MAX_SCALE) {
    throw new MpcError("FIXED_POINT_SCALE_INVALID", `scale must be an integer in 0..${MAX_SCALE}, got ${scale}`, {
      details: { scale },
    });
  }
}
