import { QueryError, type QueryPosition } from "./query-error.ts";

// The SQL parser reads some numeric literals through JS floats (a long
// decimal comes back rounded, an integer beyond 2^53 as the nearest double),
// so the exact text of every number is taken from the query text itself.
// This scanner finds the numeric literals in the order they are written,
// skipping what can hold digits without being a number: strings, quoted
// identifiers, comments, identifiers and `$1` parameters. The parser's AST
// visits its number nodes in the same order; `parse-query.ts` pairs them and
// checks that each pair agrees in magnitude.

const NUMBER = /(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/y;
const IDENTIFIER = /[A-Za-z_\u0080-\uffff][A-Za-z0-9_$\u0080-\uffff]*/y;
const PARAMETER = /\$\d+/y;

/**
 * The numeric literals of a SQL text, unsigned and exactly as written
 * (`0.050`, `1e3`), in order.
 *
 * The parser used here reads a backslash in a string or a quoted name as an
 * escape (`"a\b"` holds a backspace), which standard SQL does not; a
 * backslash is refused there rather than read one way by one party and
 * another way by the next.
 *
 * @throws QueryError when a string literal or a quoted name holds a backslash
 * @example
 * scanNumericLiterals("SELECT count(*) FROM \"0x…\" WHERE x1 = -0.50 AND d = '2024'") // ["0.50"]
 */
export function scanNumericLiterals(sql: string): string[] {
  const numbers: string[] = [];
  let i = 0;
  while (i < sql.length) {
    const c = sql[i];
    if (c === "'") {
      i = skipString(sql, i);
    } else if (c === '"') {
      const end = sql.indexOf('"', i + 1);
      const backslash = sql.slice(i, end < 0 ? sql.length : end).indexOf("\\");
      if (backslash >= 0) {
        throw new QueryError("backslashes are not allowed in quoted names", { position: positionAt(sql, i + backslash) });
      }
      i = end < 0 ? sql.length : end + 1;
    } else if (sql.startsWith("--", i)) {
      const end = sql.indexOf("\n", i);
      i = end < 0 ? sql.length : end + 1;
    } else if (sql.startsWith("/*", i)) {
      const end = sql.indexOf("*/", i + 2);
      i = end < 0 ? sql.length : end + 2;
    } else if (sql.startsWith("$$", i)) {
      const end = sql.indexOf("$$", i + 2);
      i = end < 0 ? sql.length : end + 2;
    } else {
      const end = matchEnd(PARAMETER, sql, i) ?? matchEnd(IDENTIFIER, sql, i);
      if (end !== undefined) {
        i = end;
        continue;
      }
      const numberEnd = matchEnd(NUMBER, sql, i);
      if (numberEnd === undefined) {
        i += 1;
        continue;
      }
      numbers.push(sql.slice(i, numberEnd));
      i = numberEnd;
    }
  }
  return numbers;
}

/** End of the match of a sticky pattern at `start`, if it matches there. */
function matchEnd(pattern: RegExp, text: string, start: number): number | undefined {
  pattern.lastIndex = start;
  return pattern.test(text) ? pattern.lastIndex : undefined;
}

/** Index just past the string literal opening at `start` (`''` is a quote inside it). */
function skipString(sql: string, start: number): number {
  let i = start + 1;
  while (i < sql.length) {
    const c = sql[i];
    if (c === "\\") {
      throw new QueryError("backslashes are not allowed in string literals", { position: positionAt(sql, i) });
    }
    if (c === "'") {
      if (sql[i + 1] !== "'") return i + 1;
      i += 2;
    } else {
      i += 1;
    }
  }
  return i;
}

/**
 * The line and column (1-based) of an offset in a text.
 *
 * @example
 * positionAt("a\nbc", 3) // { offset: 3, line: 2, column: 2 }
 */
export function positionAt(text: string, offset: number): QueryPosition {
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  return { offset, line, column: offset - (before.lastIndexOf("\n") + 1) + 1 };
}
