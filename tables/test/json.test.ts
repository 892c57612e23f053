import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TableInputError, parseTable } from "../src/index.ts";
import { cells, text } from "./helpers.ts";

const rejects = (promise: Promise<unknown>, pattern: RegExp) =>
  assert.rejects(promise, (err: Error) => err instanceof TableInputError && pattern.test(err.message));

describe("JSON", () => {
  it("reads an array of records; columns in the order first seen, an absent key missing", async () => {
    const body = '[{"id": 1, "city": "Paris"}, {"id": 2, "vip": true}, {"id": 3, "city": null, "vip": false}]';
    const table = await parseTable(text("people.json", body));
    assert.deepEqual(table.columns.map((c) => [c.name, c.type.kind, c.missing]), [["id", "int", 0], ["city", "category", 2], ["vip", "bool", 1]]);
    assert.deepEqual(cells(table.columns[2]), [null, 1n, 0n]);
  });

  it("keeps numbers exact, decimals and exponents included", async () => {
    const body = '[{"n": 4611686018427387903, "x": 1.50, "e": 1.5e3}, {"n": -4611686018427387903, "x": 2, "e": -25E-3}]';
    const [n, x, e] = (await parseTable(text("exact.json", body))).columns;
    assert.deepEqual(cells(n), [4611686018427387903n, -4611686018427387903n]);
    assert.deepEqual([x.type, cells(x), x.plaintextSum], [{ kind: "decimal", scale: 2 }, [150n, 200n], "3.50"]);
    assert.deepEqual([e.scale, cells(e), e.plaintextSum], [3, [1500000n, -25n], "1499.975"]);
  });

  it("types JSON strings as CSV text is typed", async () => {
    const body = '[{"d": "2024-01-31", "n": "12.5", "b": "TRUE"}, {"d": "1969-07-20", "n": "NA", "b": "false"}]';
    const [d, n, b] = (await parseTable(text("strings.json", body))).columns;
    assert.deepEqual([d.type.kind, cells(d)], ["date", [19753n, -165n]]);
    assert.deepEqual([n.type.kind, cells(n)], ["decimal", [125n, null]]);
    assert.deepEqual([b.type.kind, cells(b)], ["bool", [1n, 0n]]);
  });

  it("refuses what is not an array of flat records, naming the record", async () => {
    await rejects(parseTable(text("a.json", '{"x": 1}')), /^a\.json is not a JSON array of records/);
    await rejects(parseTable(text("b.json", '[{"x": 1}, [2]]')), /^b\.json record 2 is not an object$/);
    await rejects(parseTable(text("c.json", '[{"x": 1}, {"x": {"y": 2}}]')), /^c\.json record 2, column "x": \{…\} is an object, not a single value$/);
    await rejects(parseTable(text("d.json", "[{\"x\": 1},]")), /^d\.json is not valid JSON: /);
    await rejects(parseTable(text("e.json", "[]")), /^e\.json has no records$/);
    await rejects(parseTable(text("f.json", '[{"x": 1}, {"x": "one"}]'), { types: { x: { kind: "int" } } }), /^f\.json record 2, column "x": "one" is not an integer$/);
    await rejects(parseTable(text("g.json", '[{"x": 1}, {"x": 1e5000}]')), /^g\.json record 2, column "x": 1e5000 is too large$/);
  });
});

describe("JSON keys repeated", () => {
  it("refuses a record giving a key twice (JSON.parse would keep the last), naming the record, key and places", async () => {
    await rejects(parseTable(text("a.json", '[{"v": 1}, {"w": 2, "v": 1, "v": 2}]')), /^a\.json record 2: duplicate column name "v" \(keys 2 and 3 of the record; JSON keeps only the last\)$/);
    // Escapes spell the same key; strings holding quotes and braces are not structure.
    await rejects(parseTable(text("b.json", '[{"\\u0076": 1, "x": "}{\\"", "v": 2}]')), /^b\.json record 1: duplicate column name "v" \(keys 1 and 3/);
    await rejects(parseTable(text("c.ndjson", '{"v": 1}\n\n{"v": 1, "w": 2, "v": 3}\n')), /^c\.ndjson line 3: duplicate column name "v" \(keys 1 and 3/);
  });

  it("refuses keys of different records alike once trimmed, and leaves objects nested in a cell to the cell's own error", async () => {
    await rejects(parseTable(text("d.json", '[{"v": 1}, {" v": 2}]')), /^d\.json: duplicate column name "v" \(columns 1 and 2, spelled "v" and " v"\)/);
    await rejects(parseTable(text("e.json", '[{"v": {"a": 1, "a": 2}}]')), /^e\.json record 1, column "v": \{…\} is an object, not a single value$/);
  });
});

describe("NDJSON and JSON Lines", () => {
  it("reads one record per line, skipping blank lines", async () => {
    for (const name of ["events.ndjson", "events.jsonl"]) {
      const table = await parseTable(text(name, '{"kind": "a", "v": 1}\r\n\n{"kind": "b", "v": 2.5}\n'));
      assert.deepEqual([table.rowCount, table.columns[1].plaintextSum], [2, "3.5"]);
    }
  });

  it("names the line of a bad record or cell", async () => {
    await rejects(parseTable(text("a.ndjson", '{"v": 1}\n\n{"v": \n')), /^a\.ndjson line 3 is not valid JSON: /);
    await rejects(parseTable(text("b.ndjson", '{"v": 1}\n[1]\n')), /^b\.ndjson line 2 is not a JSON object$/);
    await rejects(parseTable(text("c.jsonl", '{"v": 1}\n\n{"v": "x"}\n'), { types: { v: { kind: "decimal" } } }), /^c\.jsonl line 3, column "v": "x" is not a decimal number$/);
  });

  it("takes the format from the options over the name", async () => {
    const table = await parseTable(text("upload.txt", '{"v": 7}\n'), { format: "jsonl" });
    assert.equal(table.columns[0].plaintextSum, "7");
    await rejects(parseTable(text("upload.txt", '{"v": 7}\n')), /^cannot tell the format of upload\.txt from its name/);
  });
});
