import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TableInputError, parseTable, schemaColumns } from "../src/index.ts";
import { cells, fixture, text } from "./helpers.ts";

const rejects = (promise: Promise<unknown>, pattern: RegExp) =>
  assert.rejects(promise, (err: Error) => err instanceof TableInputError && pattern.test(err.message));

// The fixtures come from pyarrow (test/fixtures/make-fixtures.py); mixed.parquet
// has six rows in two row groups (4 + 2), Snappy-compressed.
describe("Parquet", () => {
  const mixed = fixture("mixed.parquet");
  const read = (columns: string[], options = {}) => parseTable(mixed, { columns, ...options });

  it("maps Parquet's types: integers, doubles, floats, booleans, dates, strings, decimals", async () => {
    const table = await read(["id", "age", "salary", "ratio", "member", "joined", "city", "amount"]);
    assert.equal(table.rowCount, 6);
    const byName = Object.fromEntries(table.columns.map((c) => [c.name, c]));
    assert.deepEqual([byName.id.type, cells(byName.id)], [{ kind: "int" }, [1n, 2n, 3n, 4n, 5n, 6n]]);
    assert.deepEqual(cells(byName.age), [34n, null, 51n, 28n, 45n, 39n]);
    // Doubles: the decimals of the shortest text that reads back the same; NaN is missing.
    assert.deepEqual([byName.salary.type, cells(byName.salary)], [{ kind: "decimal", scale: 2 }, [5200050n, 6100025n, null, 4800000n, null, 7550075n]]);
    // A single-precision 0.1 is 0.100000001…; its shortest text is 0.1.
    assert.deepEqual([byName.ratio.type, cells(byName.ratio)], [{ kind: "decimal", scale: 2 }, [10n, 25n, 50n, null, 100n, 75n]]);
    assert.deepEqual([byName.member.type, cells(byName.member)], [{ kind: "bool" }, [1n, 0n, null, 1n, 1n, 0n]]);
    assert.deepEqual([byName.joined.type, cells(byName.joined)], [{ kind: "date" }, [0n, -1n, 19782n, null, -25567n, 11123n]]);
    // An empty string is missing, as an empty CSV cell is.
    assert.deepEqual([byName.city.type, cells(byName.city)], [{ kind: "category", values: ["Lyon", "Nice", "Paris"] }, [2n, 0n, 2n, null, 1n, null]]);
    // DECIMAL(10, 2) exactly, not through a double.
    assert.deepEqual([byName.amount.type, cells(byName.amount), byName.amount.plaintextSum], [{ kind: "decimal", scale: 2 }, [1250n, -305n, null, 0n, 9999999999n, 110n], "100000010.54"]);
    assert.ok(table.columns.every((c) => c.inferred));
    assert.deepEqual(schemaColumns(table).find((c) => c.name === "joined"), { name: "joined", type: "date", scale: 0, lo: "-25567", hi: "21915" });
  });

  it("reads strings as categories unless a type is declared", async () => {
    assert.equal((await read(["code"])).columns[0].type.kind, "category");
    const code = (await read(["code"], { types: { code: { kind: "int" } } })).columns[0];
    assert.deepEqual([code.inferred, code.plaintextSum, code.lo, code.hi], [false, "210", "10", "60"]);
  });

  it("rounds floating-point values to a declared scale, and otherwise refuses their excess decimals", async () => {
    await rejects(read(["noisy"]), /^mixed\.parquet column "noisy" has 17 decimal places; at most 12 are supported; its values are binary floating point: declare its precision with --type noisy=decimal:<places>/);
    const noisy = (await read(["noisy"], { types: { noisy: { kind: "decimal", scale: 2 } } })).columns[0];
    assert.deepEqual(cells(noisy), [30n, 101n, 250n, 300n, -13n, 700n]);
  });

  it("names the row, counted across row groups, of a value out of range or bounds", async () => {
    await rejects(read(["huge"]), /^mixed\.parquet row 3, column "huge": "4611686018427387904" is too large/);
    await rejects(read(["id"], { bounds: { id: { lo: "0", hi: "4" } } }), /^mixed\.parquet row 5, column "id": 5 is outside the declared bounds \[0, 4\]/);
    await rejects(read(["city"], { categories: { city: ["Paris", "Lyon"] } }), /^mixed\.parquet row 5, column "city": "Nice" is not among the categories of the column \(Paris, Lyon\)$/);
  });

  it("refuses columns no type holds, and only those read", async () => {
    const unsupported = fixture("unsupported.parquet");
    await rejects(parseTable(unsupported), /^unsupported\.parquet column "at" has Parquet type TIMESTAMP, which no column type holds/);
    await rejects(parseTable(unsupported, { columns: ["tags"] }), /column "tags" has Parquet type LIST/);
    assert.equal((await parseTable(unsupported, { columns: ["n"] })).columns[0].plaintextSum, "3");
    await rejects(parseTable(unsupported, { columns: ["m"] }), /^unsupported\.parquet has no column "m"; its columns are: n, at, tags$/);
  });

  it("refuses two columns of one name before reading a row", async () => {
    // The footer of mixed.parquet with "code" renamed "city" (same length, so the footer still parses).
    const bytes = new Uint8Array(mixed.bytes);
    const footerLength = new DataView(bytes.buffer, bytes.byteOffset + bytes.length - 8, 4).getUint32(0, true);
    const footer = bytes.subarray(bytes.length - 8 - footerLength, bytes.length - 8);
    const [from, to] = [new TextEncoder().encode("code"), new TextEncoder().encode("city")];
    for (let i = 0; i + from.length <= footer.length; i++) if (from.every((b, k) => footer[i + k] === b)) footer.set(to, i);
    await rejects(parseTable({ name: "renamed.parquet", bytes }, { columns: ["id"] }), /^renamed\.parquet: duplicate column name "city" \(columns 7 and 8\)/);
  });

  it("refuses unsupported compression and files that are not Parquet", async () => {
    await rejects(parseTable(fixture("zstd.parquet")), /^zstd\.parquet cannot be read as Parquet: .*ZSTD.*Snappy-compressed and uncompressed files are read/);
    await rejects(parseTable(text("fake.parquet", "x\n1\n")), /^fake\.parquet is not a Parquet file: /);
  });
});
