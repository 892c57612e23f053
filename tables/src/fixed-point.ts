/**
 * Decimal text and fixed-point units: a column at scale s holds each value v
 * as the integer v · 10^s (its "units"). Everything here is exact (BigInt and
 * string arithmetic); no binary floating point touches a value.
 */

/** Most decimal places a column may have; beyond it the 64-bit ring leaves too little integer range. */
export const MAX_SCALE = 12;

/**
 * Largest |value| or |bound| in units of a column's last decimal, 2^62 − 1:
 * the hosts compare values through the sign of a difference, which must not
 * wrap around 2^64.
 */
export const UNIT_LIMIT = (1n << 62n) - 1n;

/** A plain decimal: optional sign, digits, optional fraction; no exponent, no separators, no bare "." ends. */
const DECIMAL = /^([+-]?)(\d+)(?:\.(\d+))?$/;
/** A JSON number (RFC 8259), which may carry an exponent. */
const JSON_NUMBER = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/;

/**
 * Whether `text` is a plain decimal number (`-12`, `+3.50`; not `1e5`, `.5`, `1,000`).
 *
 * @example
 * isDecimalText("-3.50") // true
 */
export function isDecimalText(text: string): boolean {
  return DECIMAL.test(text);
}

/**
 * Number of digits after the decimal point of a plain decimal (0 when none).
 *
 * @example
 * decimalPlaces("3.50") // 2
 */
export function decimalPlaces(text: string): number {
  return DECIMAL.exec(text)?.[3]?.length ?? 0;
}

/**
 * The exact units of a plain decimal at `scale`: `text` · 10^scale, which
 * must be an integer (digits beyond `scale` may only be zeros).
 *
 * @throws RangeError when `text` is not a plain decimal or has non-zero digits beyond `scale`
 * @example
 * toUnits("-1.25", 2) // -125n
 * toUnits("7.50", 1) // 75n
 */
export function toUnits(text: string, scale: number): bigint {
  const match = DECIMAL.exec(text);
  if (!match) throw new RangeError(`"${text}" is not a decimal number`);
  const fraction = match[3] ?? "";
  if (/[^0]/.test(fraction.slice(scale))) throw new RangeError(`"${text}" has more than ${scale} decimal place(s)`);
  const magnitude = BigInt(match[2] + fraction.slice(0, scale).padEnd(scale, "0"));
  return match[1] === "-" ? -magnitude : magnitude;
}

/**
 * Rounds a plain decimal to `scale` places, halves away from zero (as a
 * person rounds 2.345 to 2.35), returning plain decimal text.
 *
 * @example
 * roundDecimal("0.30000000000000004", 2) // "0.30"
 * roundDecimal("-2.5", 0) // "-3"
 */
export function roundDecimal(text: string, scale: number): string {
  const match = DECIMAL.exec(text);
  if (!match) throw new RangeError(`"${text}" is not a decimal number`);
  const fraction = match[3] ?? "";
  if (fraction.length <= scale) return text;
  let magnitude = BigInt(match[2] + fraction.slice(0, scale));
  if (fraction.charCodeAt(scale) >= 0x35 /* "5" */) magnitude += 1n;
  return formatScaled(match[1] === "-" ? -magnitude : magnitude, scale);
}

/**
 * Formats an integer count of 10^-scale units as canonical decimal text:
 * exactly `scale` fractional digits, no `+`, no sign on zero.
 *
 * @example
 * formatScaled(12345n, 2) // "123.45"
 * formatScaled(-5n, 3) // "-0.005"
 */
export function formatScaled(units: bigint, scale: number): string {
  const negative = units < 0n;
  const digits = (negative ? -units : units).toString().padStart(scale + 1, "0");
  const whole = digits.slice(0, digits.length - scale);
  const fraction = scale > 0 ? `.${digits.slice(digits.length - scale)}` : "";
  return `${negative ? "-" : ""}${whole}${fraction}`;
}

/**
 * The plain decimal text of a JSON number's source text, exactly (the
 * exponent shifts the point; nothing is rounded), or undefined when `text`
 * is not a JSON number or its exponent exceeds ±1000.
 *
 * @example
 * plainFromJsonNumber("1.5e3") // "1500"
 * plainFromJsonNumber("-2E-3") // "-0.002"
 */
export function plainFromJsonNumber(text: string): string | undefined {
  const match = JSON_NUMBER.exec(text);
  if (!match) return undefined;
  const [, sign, whole, fraction = "", exponentText] = match;
  const exponent = exponentText === undefined ? 0 : Number(exponentText);
  // Any such value is far beyond the encodable range; the cap keeps the text short.
  if (Math.abs(exponent) > 1000) return undefined;
  if (exponent === 0) return text.replace(/[eE].*$/, "");
  let digits = whole + fraction;
  let point = whole.length + exponent;
  if (point <= 0) {
    digits = "0".repeat(1 - point) + digits;
    point = 1;
  } else if (point > digits.length) {
    digits = digits.padEnd(point, "0");
  }
  const intPart = digits.slice(0, point).replace(/^0+(?=\d)/, "");
  const fracPart = digits.slice(point).replace(/0+$/, "");
  return `${sign}${intPart}${fracPart ? `.${fracPart}` : ""}`;
}

/**
 * The shortest plain decimal text that reads back as the same binary
 * floating-point value: of a double (`float32` false) or of a single
 * precision value (`float32` true, as Parquet FLOAT holds). The value must be finite.
 *
 * @example
 * shortestDecimal(0.1 + 0.2, false) // "0.30000000000000004"
 * shortestDecimal(Math.fround(0.1), true) // "0.1"
 */
export function shortestDecimal(value: number, float32: boolean): string {
  if (!Number.isFinite(value)) throw new RangeError(`${value} is not a finite number`);
  if (value === 0) return "0";
  let text = String(value);
  if (float32) {
    for (let digits = 1; digits <= 9; digits++) {
      const candidate = value.toPrecision(digits);
      if (Math.fround(Number(candidate)) === value) {
        text = candidate;
        break;
      }
    }
  }
  // String() and toPrecision() are valid JSON number syntax (a "+" exponent sign aside).
  const plain = plainFromJsonNumber(text.replace("e+", "e"))!;
  return plain.includes(".") ? plain.replace(/\.?0+$/, "") : plain;
}

/** Rounds v (≠ 0) to `digits` significant digits, down (toward −∞) or up (toward +∞). */
function roundSignificant(v: bigint, digits: number, up: boolean): bigint {
  const length = (v < 0n ? -v : v).toString().length;
  if (v === 0n || length <= digits) return v;
  const step = 10n ** BigInt(length - digits);
  // Floor division (BigInt division truncates toward zero).
  let q = v / step;
  if (q * step > v) q -= 1n;
  return up && q * step !== v ? (q + 1n) * step : q * step;
}

/**
 * Public bounds derived from a column's smallest and largest value (in units
 * of its last decimal, so independent of the scale): each rounded outward to
 * one significant digit — 31,500 → 30,000, 187,000 → 200,000, −0.034 →
 * −0.04 — so they reveal little more than the order of magnitude; more
 * digits only when one would leave the encodable range ±(2^62 − 1) units
 * (4,000,000.000000000001 at scale 12: 5·10^6 is out of range, so 4.1·10^6).
 *
 * @example
 * deriveBounds(31500n, 187000n) // { lo: 30000n, hi: 200000n }
 */
export function deriveBounds(min: bigint, max: bigint): { lo: bigint; hi: bigint } {
  if (min > max) throw new RangeError(`min ${min} is above max ${max}`);
  const outward = (v: bigint, up: boolean): bigint => {
    for (let digits = 1; ; digits++) {
      const r = roundSignificant(v, digits, up);
      if (r <= UNIT_LIMIT && r >= -UNIT_LIMIT) return r;
    }
  };
  return { lo: outward(min, false), hi: outward(max, true) };
}
