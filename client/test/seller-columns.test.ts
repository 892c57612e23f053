import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { sellerTableOf, type SellerTableOptions } from "../src/seller-columns.ts";
import { readSellerTable } from "../src/seller-table.ts";

// The sellers' table rules on bytes, as the web app applies them to a file
// the seller picks: the same typed columns the CLI gets from the file, the
// same errors. (seller-table.test.ts covers the rules themselves through
// readSellerTable.)

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const CSV = ["dept,hired,remote,salary,bonus", "eng,2019-03-01,true,72000,3500.50", "ops,,false,,1200.00", "sales,2021-07-15,TRUE,55000,"].join("\n");
const JSON_ROWS = JSON.stringify([
  { dept: "eng", salary: 72000, bonus: 3500.5 },
  { dept: null, salary: -5 },
  { dept: "ops", bonus: 0.25 },
]);

describe("sellerTableOf: a seller's table from bytes", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "scmpc-seller-columns-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("types CSV columns, derives bounds and takes missing cells, as readSellerTable does from the file", async () => {
    const table = await sellerTableOf({ name: "staff.csv", bytes: bytes(CSV) });
    assert.equal(table.rowCount, 3);
    assert.deepEqual(table.columns.map((c) => [c.schema.name, c.kind, c.missing, c.boundsDerived]), [
      ["dept", "category", 0, false],
      ["hired", "date", 1, true],
      ["remote", "bool", 0, false],
      ["salary", "int", 1, true],
      ["bonus", "decimal", 1, true],
    ]);
    const salary = table.columns[3];
    // Derived bounds, outward to one significant digit; the missing salary is shared as lo with validity 0.
    assert.deepEqual([salary.schema.lo, salary.schema.hi], ["50000", "80000"]);
    assert.deepEqual([...salary.values], [72000n, 50000n, 55000n]);
    assert.deepEqual([...salary.valid], [1, 0, 1]);
    assert.equal(table.columns[4].plaintextSum, "4700.50");

    const file = path.join(dir, "staff.csv");
    await writeFile(file, CSV);
    const fromFile = await readSellerTable(file);
    assert.deepEqual(fromFile, await sellerTableOf({ name: file, bytes: bytes(CSV) }));
  });

  it("reads JSON bytes with declared options, a null or absent key as a missing cell, as readSellerTable does", async () => {
    const options = { types: { bonus: "decimal:2" }, categories: { dept: ["eng", "ops", "sales"] }, bounds: { salary: { lo: "-10", hi: "100000" } } };
    const table = await sellerTableOf({ name: "pay.json", bytes: bytes(JSON_ROWS) }, options);
    assert.deepEqual(table.columns.map((c) => [c.schema.name, c.kind, c.missing]), [["dept", "category", 1], ["salary", "int", 1], ["bonus", "decimal", 1]]);
    assert.deepEqual(table.columns[0].schema, { name: "dept", scale: 0, lo: "0", hi: "2", type: "category", categories: ["eng", "ops", "sales"] });
    assert.deepEqual(table.columns[1].schema, { name: "salary", scale: 0, lo: "-10", hi: "100000" });
    assert.deepEqual([...table.columns[1].values], [72000n, BigInt.asUintN(64, -5n), BigInt.asUintN(64, -10n)]);
    // bonus: derived bounds [0.20, 4000.00]; the absent one is shared as 0.20.
    assert.deepEqual([...table.columns[2].values], [350050n, 20n, 25n]);

    const file = path.join(dir, "pay.json");
    await writeFile(file, JSON_ROWS);
    assert.deepEqual(await readSellerTable(file, options), await sellerTableOf({ name: file, bytes: bytes(JSON_ROWS) }, options));
  });

  it("refuses a broken CSV row and a bad cell with the TableInputError readSellerTable gives, naming line and column", async () => {
    const cases: { text: string; options: SellerTableOptions; message: RegExp }[] = [
      { text: `${CSV}\neng,2020-01-01,true`, options: {}, message: /broken\.csv is not valid CSV: line 5 has 3 field\(s\) but the header has 5/ },
      { text: `${CSV}\neng,2020-01-01,true,lots,1.00`, options: { types: { salary: "int" } }, message: /broken\.csv line 5, column "salary": "lots" is not an integer/ },
      { text: CSV, options: { types: { dept: "int" } }, message: /broken\.csv line 2, column "dept": "eng" is not an integer/ },
    ];
    const file = path.join(dir, "broken.csv");
    for (const { text, options, message } of cases) {
      const fromBytes = await sellerTableOf({ name: file, bytes: bytes(text) }, options).then(
        () => assert.fail(`accepted ${JSON.stringify(text.split("\n").at(-1))}`),
        (err: Error & { code?: string }) => err,
      );
      assert.equal(fromBytes.name, "TableInputError");
      assert.equal(fromBytes.code, "TABLE_INVALID");
      assert.match(fromBytes.message, message);
      await writeFile(file, text);
      await assert.rejects(readSellerTable(file, options), (err: Error) => err.message === fromBytes.message);
    }
  });

  it("says an unreadable file cannot be read, naming it", async () => {
    const missing = path.join(dir, "absent.csv");
    await assert.rejects(readSellerTable(missing), (err: Error & { code?: string; details?: { file?: string } }) => {
      assert.equal(err.code, "TABLE_INVALID");
      assert.match(err.message, new RegExp(`^cannot read ${missing.replace(/[.\\/]/g, "\\$&")}: ENOENT`));
      assert.equal(err.details?.file, missing);
      return true;
    });
  });
});
