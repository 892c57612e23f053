import { columnKind, type SchemaColumn } from "@scmpc/mpc-engine";
import { formatIsoDate } from "@scmpc/tables";

/** Categories shown before a long dictionary is cut short (`--json` carries all of them). */
const SHOWN_CATEGORIES = 20;

/**
 * A schema column's type and public domain as one line of text: `int [0,
 * 200000]`, `decimal:2 [0.00, 10000.00]`, `category {eng, ops, sales}`,
 * `date 2019-01-01..2024-12-31`, `bool`.
 *
 * @example
 * describeColumn({ name: "hired", scale: 0, lo: "17897", hi: "20088", type: "date" }) // "date 2019-01-01..2024-12-31"
 */
export function describeColumn(column: SchemaColumn): string {
  const kind = columnKind(column);
  switch (kind) {
    case "int":
      return `int [${column.lo}, ${column.hi}]`;
    case "decimal":
      return `decimal:${column.scale} [${column.lo}, ${column.hi}]`;
    case "bool":
      return "bool";
    case "date":
      return `date ${dayText(column.lo)}..${dayText(column.hi)}`;
    case "category": {
      const values = column.categories ?? [];
      const shown = values.slice(0, SHOWN_CATEGORIES).join(", ");
      return `category {${values.length > SHOWN_CATEGORIES ? `${shown}, … (${values.length} in all)` : shown}}`;
    }
  }
}

/** A date bound (a day count since 1970-01-01) as an ISO date; the count itself if it is not one. */
function dayText(days: string): string {
  return /^-?\d{1,9}$/.test(days) ? formatIsoDate(Number(days)) : days;
}
