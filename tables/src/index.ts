export { parseTable, formatOfName, DEFAULT_MAX_CATEGORIES } from "./parse-table.ts";
export { parseTypeSpec } from "./type-spec.ts";
export { schemaColumns } from "./schema-columns.ts";
export { TableInputError, type TableInputDetails } from "./errors.ts";
export {
  MAX_SCALE,
  UNIT_LIMIT,
  decimalPlaces,
  deriveBounds,
  formatScaled,
  isDecimalText,
  roundDecimal,
  shortestDecimal,
  toUnits,
} from "./fixed-point.ts";
export { civilFromDays, daysFromCivil, deriveDateBounds, formatIsoDate, parseIsoDate } from "./dates.ts";
export type {
  ColumnKind,
  ColumnType,
  DeclaredBounds,
  ParseOptions,
  SchemaColumn,
  Table,
  TableColumn,
  TableFormat,
  TableSource,
  TypeSpec,
} from "./types.ts";
