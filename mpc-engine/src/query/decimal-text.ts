// Exact decimal constants as text. A query's numbers are never JS floats:
// they are compared with column scales and with each other digit by digit.
import { decimalPlaces } from "@scmpc/tables/values";

const PLAIN_DECIMAL = /^([+-]?)(\d*)(?:\.(\d*))?$/;

/**
 * The canonical text of a plain decimal (optional sign, digits, optional
 * fraction; no exponent): no `+`, no leading zeros, no trailing fractional
 * zeros, no `-0`. Undefined when `text` is not a plain decimal.
 *
 * @example
 * canonicalDecimal("-007.50") // "-7.5"
 * canonicalDecimal(".5")      // "0.5"
 * canonicalDecimal("1e3")     // undefined
 */
export function canonicalDecimal(text: string): string | undefined {
  const match = PLAIN_DECIMAL.exec(text);
  if (match === null) return undefined;
  const [, sign, whole = "", fraction = ""] = match;
  if (whole === "" && fraction === "") return undefined;
  const integer = whole.replace(/^0+/, "") || "0";
  const decimals = fraction.replace(/0+$/, "");
  const body = decimals === "" ? integer : `${integer}.${decimals}`;
  return sign === "-" && /[1-9]/.test(body) ? `-${body}` : body;
}

/**
 * Compares two canonical decimals exactly: negative, zero or positive as
 * `a` is less than, equal to or greater than `b`.
 *
 * @example
 * compareDecimals("0.05", "0.5") // < 0
 */
export function compareDecimals(a: string, b: string): number {
  const scale = Math.max(decimalPlaces(a), decimalPlaces(b));
  const x = scaled(a, scale);
  const y = scaled(b, scale);
  return x < y ? -1 : x > y ? 1 : 0;
}

function scaled(canonical: string, scale: number): bigint {
  const negative = canonical.startsWith("-");
  const [whole = "0", fraction = ""] = (negative ? canonical.slice(1) : canonical).split(".");
  const units = BigInt(whole + fraction.padEnd(scale, "0"));
  return negative ? -units : units;
}
