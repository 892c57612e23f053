import { TableInputError } from "./errors.ts";
import { MAX_SCALE } from "./fixed-point.ts";
import type { TypeSpec } from "./types.ts";

const SPEC = /^(int|decimal|category|bool|date)(?::(\d+))?$/;

/**
 * Reads a declared column type as a seller writes it (`--type col=<spec>`):
 * `int`, `decimal` (scale from the data), `decimal:<places>` (0 to 12;
 * binary floating-point values are rounded to it), `category`, `bool` or `date`.
 *
 * @throws TableInputError when `text` is none of these
 * @example
 * parseTypeSpec("decimal:2") // { kind: "decimal", scale: 2 }
 */
export function parseTypeSpec(text: string): TypeSpec {
  const match = SPEC.exec(text.trim());
  const fail = () => new TableInputError(`type "${text}" is not one of int, decimal, decimal:<places> (0 to ${MAX_SCALE}), category, bool, date`);
  if (!match) throw fail();
  const kind = match[1] as TypeSpec["kind"];
  if (match[2] !== undefined) {
    const scale = Number(match[2]);
    if (kind !== "decimal" || scale > MAX_SCALE) throw fail();
    return { kind, scale };
  }
  return { kind } as TypeSpec;
}
