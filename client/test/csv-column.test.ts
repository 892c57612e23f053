import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { formatScaled, readCsvColumn } from "../src/csv-column.ts";

describe("seller CSV input", () => {
  let dir: string;
  const file = async (name: string, text: string) => {
    const p = path.join(dir, name);
    await writeFile(p, text);
    return p;
  };
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "scmpc-csv-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("reads an integer column with its exact sum", async () => {
    const col = await readCsvColumn(await file("a.csv", "id,amount\n1,10\n2,-3\n3,0\n"), "amount");
    assert.equal(col.rowCount, 3);
    assert.equal(col.scale, 0);
    assert.equal(col.plaintextSum, "7");
    assert.deepEqual([...col.values].map((v) => BigInt.asIntN(64, v)), [10n, -3n, 0n]);
  });

  it("takes the largest number of decimal places as the column's scale", async () => {
    const col = await readCsvColumn(await file("b.csv", "x\n1.5\n-0.25\n3\n"), "x");
    assert.equal(col.scale, 2);
    assert.equal(col.plaintextSum, "4.25");
    assert.deepEqual([...col.values].map((v) => BigInt.asIntN(64, v)), [150n, -25n, 300n]);
  });

  it("names the line and the value that is not a number", async () => {
    // A thousands separator (quoted, so the row still has one field) is not a number.
    await assert.rejects(readCsvColumn(await file("c.csv", 'x\n1\n"1,000"\n'), "x"), /line 3, column "x": "1,000" is not a decimal number/);
    await assert.rejects(readCsvColumn(await file("d.csv", "x,y\n1,2\n,3\n"), "x"), /line 3, column "x": "" is not a decimal number/);
  });

  it("names a missing column, an empty file and a missing file", async () => {
    await assert.rejects(readCsvColumn(await file("e.csv", "a,b\n1,2\n"), "c"), /no column "c"; its columns are: a, b/);
    await assert.rejects(readCsvColumn(await file("f.csv", "a,b\n"), "a"), /no rows/);
    await assert.rejects(readCsvColumn(path.join(dir, "missing.csv"), "a"), /cannot read/);
  });

  it("rejects rows with a different number of fields", async () => {
    await assert.rejects(readCsvColumn(await file("g.csv", "a,b\n1,2\n3\n"), "a"), /not valid CSV/);
  });

  it("formats scaled integers", () => {
    assert.equal(formatScaled(12345n, 2), "123.45");
    assert.equal(formatScaled(-5n, 3), "-0.005");
    assert.equal(formatScaled(0n, 0), "0");
  });
});
