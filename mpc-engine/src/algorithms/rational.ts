/**
 * Exact rational arithmetic on bigints, for the buyer's side: turning the
 * opened statistics (sums, counts, sums of products) into means, variances,
 * slopes... without floating-point error, then printing them as decimals.
 */
export class Rational {
  readonly num: bigint;
  readonly den: bigint;

  constructor(num: bigint, den: bigint = 1n) {
    if (den === 0n) throw new RangeError("division by zero");
    const sign = den < 0n ? -1n : 1n;
    const g = gcd(num < 0n ? -num : num, den < 0n ? -den : den) || 1n;
    this.num = (sign * num) / g;
    this.den = (sign * den) / g;
  }

  /** A value given in units of 10^-scale. */
  static scaled(units: bigint, scale: number): Rational {
    return new Rational(units, 10n ** BigInt(scale));
  }

  add(o: Rational): Rational {
    return new Rational(this.num * o.den + o.num * this.den, this.den * o.den);
  }
  sub(o: Rational): Rational {
    return new Rational(this.num * o.den - o.num * this.den, this.den * o.den);
  }
  mul(o: Rational): Rational {
    return new Rational(this.num * o.num, this.den * o.den);
  }
  div(o: Rational): Rational {
    return new Rational(this.num * o.den, this.den * o.num);
  }
  isZero(): boolean {
    return this.num === 0n;
  }
  /** −1, 0 or 1 as this is below, equal to or above `o`. */
  compare(o: Rational): -1 | 0 | 1 {
    const d = this.num * o.den - o.num * this.den;
    return d < 0n ? -1 : d > 0n ? 1 : 0;
  }
  /** This, moved into [lo, hi] (lo ≤ hi). */
  clamp(lo: Rational, hi: Rational): Rational {
    if (this.compare(lo) < 0) return lo;
    if (this.compare(hi) > 0) return hi;
    return this;
  }

  /**
   * Decimal with `digits` fractional digits: rounded half away from zero
   * ("nearest", the default), toward −∞ ("down") or toward +∞ ("up", as the
   * ends of an interval are, so that rounding never narrows it).
   */
  toDecimal(digits: number, rounding: "nearest" | "down" | "up" = "nearest"): string {
    const scale = 10n ** BigInt(digits);
    if (rounding !== "nearest") {
      const n = this.num * scale;
      // BigInt division truncates toward zero; floor and ceiling adjust it.
      let units = n / this.den;
      if (rounding === "down" && n < 0n && units * this.den !== n) units -= 1n;
      if (rounding === "up" && n > 0n && units * this.den !== n) units += 1n;
      return formatUnits(units, digits);
    }
    const negative = this.num < 0n;
    const magnitude = negative ? -this.num : this.num;
    const units = (2n * magnitude * scale + this.den) / (2n * this.den);
    return formatUnits(negative && units !== 0n ? -units : units, digits);
  }

  /** √this as a decimal with `digits` fractional digits, rounded down (default) or up; this must be ≥ 0. */
  sqrtDecimal(digits: number, rounding: "down" | "up" = "down"): string {
    if (this.num < 0n) throw new RangeError("square root of a negative number");
    const scale = 10n ** BigInt(2 * digits);
    if (rounding === "up") {
      // ⌈√(a/b)⌉ at the scale: the smallest u with u² ≥ a·scale/b.
      const target = new Rational(this.num * scale, this.den);
      let u = isqrt((this.num * scale) / this.den);
      while (new Rational(u * u).compare(target) < 0) u += 1n;
      return formatUnits(u, digits);
    }
    return formatUnits(isqrt((this.num * scale) / this.den), digits);
  }
}

function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

/** Integer square root (floor) of a non-negative bigint. */
export function isqrt(n: bigint): bigint {
  if (n < 0n) throw new RangeError("square root of a negative number");
  if (n < 2n) return n;
  // Newton's iteration from an over-estimate decreases monotonically to floor(√n).
  let x = 1n << BigInt(Math.ceil(n.toString(2).length / 2));
  for (;;) {
    const y = (x + n / x) >> 1n;
    if (y >= x) return x;
    x = y;
  }
}

function formatUnits(units: bigint, digits: number): string {
  const negative = units < 0n;
  const text = (negative ? -units : units).toString().padStart(digits + 1, "0");
  const whole = text.slice(0, text.length - digits);
  const fraction = digits > 0 ? `.${text.slice(text.length - digits)}` : "";
  return `${negative ? "-" : ""}${whole}${fraction}`;
}
