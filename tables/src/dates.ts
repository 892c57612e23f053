/**
 * Calendar dates as days since 1970-01-01 (proleptic Gregorian, negative
 * before 1970), computed with integer arithmetic (H. Hinnant's civil-date
 * algorithms), so no time zone or `Date` quirk can shift a day.
 */

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/**
 * Days since 1970-01-01 of a calendar date.
 *
 * @example
 * daysFromCivil(1969, 12, 31) // -1
 */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146097 + dayOfEra - 719468;
}

/**
 * The calendar date of a day count since 1970-01-01.
 *
 * @example
 * civilFromDays(-1) // { year: 1969, month: 12, day: 31 }
 */
export function civilFromDays(days: number): { year: number; month: number; day: number } {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const dayOfEra = z - era * 146097;
  const yearOfEra = Math.floor((dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36524) - Math.floor(dayOfEra / 146096)) / 365);
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const mp = Math.floor((5 * dayOfYear + 2) / 153);
  const day = dayOfYear - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day };
}

/**
 * Days since 1970-01-01 of an ISO date `YYYY-MM-DD`, or undefined when
 * `text` is not one or names no real day (2023-02-29).
 *
 * @example
 * parseIsoDate("2024-02-29") // 19782
 * parseIsoDate("1900-01-01") // -25567
 */
export function parseIsoDate(text: string): number | undefined {
  const match = ISO_DATE.exec(text);
  if (!match) return undefined;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (month < 1 || month > 12 || day < 1 || day > 31) return undefined;
  const days = daysFromCivil(year, month, day);
  // A day past the month's end (04-31) lands in the next month.
  return civilFromDays(days).day === day ? days : undefined;
}

/**
 * The ISO date `YYYY-MM-DD` of a day count since 1970-01-01 (years outside
 * 0000–9999 in ISO 8601's expanded form, `+YYYYYY` or `-YYYYYY`).
 *
 * @example
 * formatIsoDate(-1) // "1969-12-31"
 */
export function formatIsoDate(days: number): string {
  const { year, month, day } = civilFromDays(days);
  const y = year >= 0 && year <= 9999 ? String(year).padStart(4, "0") : `${year < 0 ? "-" : "+"}${String(Math.abs(year)).padStart(6, "0")}`;
  return `${y}-${String(month).padStart(2, "0")}-${String(day).padStart(2, "0")}`;
}

/**
 * Public bounds of a date column derived from its earliest and latest day:
 * rounded outward to the 1st of January of a decade (2021-03-04 … 2023-07-09
 * gives 2020-01-01 … 2030-01-01), so they reveal the decades, not the days.
 *
 * @example
 * deriveDateBounds(18690, 19547) // { lo: 18262, hi: 21915 } (2020-01-01, 2030-01-01)
 */
export function deriveDateBounds(min: number, max: number): { lo: number; hi: number } {
  if (min > max) throw new RangeError(`min ${min} is above max ${max}`);
  const decadeStart = (days: number): number => daysFromCivil(Math.floor(civilFromDays(days).year / 10) * 10, 1, 1);
  const lo = decadeStart(min);
  const start = decadeStart(max);
  const hi = start === max ? max : daysFromCivil(civilFromDays(start).year + 10, 1, 1);
  return { lo, hi };
}
