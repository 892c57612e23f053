import { TableInputError } from "./errors.ts";
import type { RawTable } from "./raw-table.ts";

/**
 * Reads CSV text (RFC 4180: comma separated, fields quoted with `"` and a
 * quote doubled inside them, records ended by LF, CRLF or CR) whose first
 * record is the header. Whitespace around a field outside quotes is dropped,
 * inside quotes kept; blank lines are skipped; every record must have as
 * many fields as the header. Cells stay text, typed later.
 *
 * @throws TableInputError naming the file and line of the first fault
 * @example
 * readCsv("a.csv", "x,y\n1,2\n").columns[1].cells // ["2"]
 */
export function readCsv(file: string, text: string): RawTable {
  let header: string[] | undefined;
  let columns: string[][] = [];
  const lines: number[] = [];
  eachRecord(file, text, (fields, line) => {
    if (header === undefined) {
      header = fields;
      columns = fields.map(() => []);
      return;
    }
    if (fields.length !== header.length) {
      throw new TableInputError(`${file} is not valid CSV: line ${line} has ${fields.length} field(s) but the header has ${header.length}`, {
        details: { file, at: `line ${line}` },
      });
    }
    fields.forEach((field, c) => columns[c].push(field));
    lines.push(line);
  });
  if (header === undefined) throw new TableInputError(`${file} is empty: a CSV file starts with a header row`, { details: { file } });
  if (lines.length === 0) throw new TableInputError(`${file} has a header but no rows`, { details: { file } });
  return {
    names: header,
    columns: header.map((name, c) => ({ name, cells: columns[c] })),
    rowCount: lines.length,
    locate: (row) => `line ${lines[row]}`,
  };
}

function isBlank(c: string | undefined): boolean {
  return c === " " || c === "\t";
}

/** Calls `onRecord` with each record's fields and the line (from 1) where it starts; a quoted field may span lines. */
function eachRecord(file: string, text: string, onRecord: (fields: string[], line: number) => void): void {
  const invalid = (line: number, why: string) => new TableInputError(`${file} is not valid CSV: line ${line} ${why}`, { details: { file, at: `line ${line}` } });
  const n = text.length;
  let i = 0;
  let line = 1;
  while (i < n) {
    const start = line;
    const fields: string[] = [];
    let quotedAny = false;
    for (;;) {
      let j = i;
      while (isBlank(text[j])) j++;
      if (text[j] === '"') {
        quotedAny = true;
        const opened = line;
        let value = "";
        let chunk = ++j;
        for (;;) {
          if (j >= n) throw invalid(opened, "opens a quoted field that is never closed");
          const c = text[j];
          if (c === '"') {
            if (text[j + 1] === '"') {
              value += text.slice(chunk, j + 1);
              j += 2;
              chunk = j;
              continue;
            }
            value += text.slice(chunk, j);
            j++;
            break;
          }
          if (c === "\n" || (c === "\r" && text[j + 1] !== "\n")) line++;
          j++;
        }
        while (isBlank(text[j])) j++;
        if (j < n && text[j] !== "," && text[j] !== "\n" && text[j] !== "\r") throw invalid(line, "has text after the closing quote of a field");
        fields.push(value);
        i = j;
      } else {
        let k = i;
        while (k < n && text[k] !== "," && text[k] !== "\n" && text[k] !== "\r") {
          if (text[k] === '"') throw invalid(line, "has a quote inside an unquoted field (quote the whole field and double the quotes inside it)");
          k++;
        }
        fields.push(text.slice(i, k).trim());
        i = k;
      }
      if (text[i] === ",") {
        i++;
        continue;
      }
      if (text[i] === "\r" || text[i] === "\n") {
        i += text[i] === "\r" && text[i + 1] === "\n" ? 2 : 1;
        line++;
      }
      break;
    }
    if (fields.length === 1 && fields[0] === "" && !quotedAny) continue;
    onRecord(fields, start);
  }
}
