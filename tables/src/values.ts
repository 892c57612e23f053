// Exact decimals and calendar dates, without the table readers: what code
// that checks values against a schema (the query planner) needs.
export { decimalPlaces, formatScaled, isDecimalText, MAX_SCALE, toUnits, UNIT_LIMIT } from "./fixed-point.ts";
export { civilFromDays, daysFromCivil, formatIsoDate, parseIsoDate } from "./dates.ts";
