import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TableInputError, parseTable } from "../src/index.ts";
import { cells, text } from "./helpers.ts";

const rejects = (promise: Promise<unknown>, pattern: RegExp) =>
  assert.rejects(promise, (err: Error) => err instanceof TableInputError && err.code === "TABLE_INVALID" && pattern.test(err.message));

describe("CSV", () => {
  it("reads a header and rows, every column by default, in the file's order", async () => {
    const table = await parseTable(text("people.csv", "name,age,score\nAda,36,1.5\nAlan,41,-2.25\n"));
    assert.equal(table.rowCount, 2);
    assert.deepEqual(table.columns.map((c) => [c.name, c.type.kind]), [["name", "category"], ["age", "int"], ["score", "decimal"]]);
    assert.deepEqual(cells(table.columns[2]), [150n, -225n]);
  });

  it("follows RFC 4180 quoting: separators, doubled quotes and line breaks inside quotes", async () => {
    const body = 'id,note\r\n1,"a, b"\r\n2,"say ""hi"""\r\n3,"two\r\nlines"\r\n4,  plain  \r\n';
    const table = await parseTable(text("notes.csv", body), { columns: ["note"], types: { note: { kind: "category" } } });
    const note = table.columns[0];
    assert.deepEqual(
      [...note.values].map((v) => (note.type.kind === "category" ? note.type.values[Number(v)] : "")),
      ["a, b", 'say "hi"', "two\r\nlines", "plain"],
    );
  });

  it("counts lines as a text editor does, across quoted line breaks and blank lines", async () => {
    const body = 'id,x\n1,"a\nb"\n\n2,oops\n';
    await rejects(parseTable(text("lines.csv", body), { types: { x: { kind: "int" } }, columns: ["id", "x"] }), /^lines\.csv line 2, column "x": "a\nb" is not an integer$/);
    const table = await parseTable(text("lines.csv", "x\n1\n\n2\n"));
    assert.equal(table.rowCount, 2);
    await rejects(parseTable(text("lines.csv", "x\n1\n\nabc\n"), { types: { x: { kind: "int" } } }), /^lines\.csv line 4, column "x": "abc" is not an integer$/);
  });

  it("drops a byte order mark and reads CR-only line ends", async () => {
    const bytes = new Uint8Array([0xef, 0xbb, 0xbf, ...new TextEncoder().encode("x\r1\r2")]);
    const table = await parseTable({ name: "bom.csv", bytes });
    assert.deepEqual([table.columns[0].name, table.rowCount, table.columns[0].plaintextSum], ["x", 2, "3"]);
  });

  it("refuses malformed CSV, naming the file and line", async () => {
    await rejects(parseTable(text("a.csv", "x,y\n1,2\n3\n")), /^a\.csv is not valid CSV: line 3 has 1 field\(s\) but the header has 2$/);
    await rejects(parseTable(text("b.csv", 'x\n"open\n1\n')), /^b\.csv is not valid CSV: line 2 opens a quoted field that is never closed$/);
    await rejects(parseTable(text("c.csv", 'x\n5\'10"\n')), /^c\.csv is not valid CSV: line 2 has a quote inside an unquoted field/);
    await rejects(parseTable(text("d.csv", 'x\n"a"b\n')), /^d\.csv is not valid CSV: line 2 has text after the closing quote/);
    await rejects(parseTable(text("e.csv", "")), /^e\.csv is empty/);
    await rejects(parseTable(text("f.csv", "x,y\n")), /^f\.csv has a header but no rows$/);
    await rejects(parseTable({ name: "g.csv", bytes: new Uint8Array([0x78, 0x0a, 0xff]) }), /^g\.csv is not UTF-8 text$/);
  });

  it("refuses unnamed and twice-named columns it is asked to read", async () => {
    await rejects(parseTable(text("h.csv", ",x\n1,2\n")), /^h\.csv has a column with no name/);
    assert.equal((await parseTable(text("h.csv", ",x\n1,2\n"), { columns: ["x"] })).columns[0].plaintextSum, "2");
  });

  it("refuses a header naming two columns alike once trimmed, naming the name and its columns, even among those not read", async () => {
    await rejects(parseTable(text("i.csv", "v,v\n1,2\n")), /^i\.csv: duplicate column name "v" \(columns 1 and 2\); rename one$/);
    await rejects(parseTable(text("j.csv", 'v,w,"v "\n1,2,3\n'), { columns: ["w"] }), /^j\.csv: duplicate column name "v" \(columns 1 and 3, spelled "v" and "v "\)/);
    await rejects(parseTable(text("k.csv", "a,b,a,c,a\n1,2,3,4,5\n")), /duplicate column name "a" \(columns 1, 3 and 5\)/);
    // Unnamed columns are not duplicates of each other: they are refused only when read.
    assert.equal((await parseTable(text("l.csv", "x,,\n1,2,3\n"), { columns: ["x"] })).columns[0].plaintextSum, "1");
  });
});
