import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { parseColumnBounds } from "@scmpc/mpc-engine";
import { deriveBounds, formatScaled, readCsvColumn, readCsvColumns } from "../src/csv-column.ts";

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

  it("stops at a missing value: it reads complete columns", async () => {
    const csv = await file("na.csv", "x,y\n1,2\n3,NA\n");
    await assert.rejects(readCsvColumns(csv, ["x", "y"]), (err: Error) =>
      err.name === "CsvInputError" &&
      err.message === `${csv} line 3, column "y": "NA" is not a decimal number; readCsvColumns reads complete columns (readSellerTable takes missing values: empty, NA, null)`,
    );
    assert.equal((await readCsvColumn(csv, "x")).plaintextSum, "4");
  });

  it("names a missing column, an empty file and a missing file", async () => {
    await assert.rejects(readCsvColumn(await file("e.csv", "a,b\n1,2\n"), "c"), /no column "c"; its columns are: a, b/);
    await assert.rejects(readCsvColumn(await file("f.csv", "a,b\n"), "a"), /no rows/);
    await assert.rejects(readCsvColumn(path.join(dir, "missing.csv"), "a"), /cannot read/);
  });

  it("rejects rows with a different number of fields", async () => {
    await assert.rejects(readCsvColumn(await file("g.csv", "a,b\n1,2\n3\n"), "a"), /not valid CSV/);
  });

  it("derives public bounds from the data, rounded outward to one significant digit", async () => {
    const col = await readCsvColumn(await file("h.csv", "salary\n31500\n187000\n90000\n"), "salary");
    assert.deepEqual([col.lo, col.hi, col.boundsDerived], ["30000", "200000", true]);
    const small = await readCsvColumn(await file("i.csv", "r\n-0.034\n0.5\n0.0071\n"), "r");
    assert.deepEqual([small.scale, small.lo, small.hi], [4, "-0.0400", "0.5000"]);
    const zero = await readCsvColumn(await file("j.csv", "z\n0\n0\n"), "z");
    assert.deepEqual([zero.lo, zero.hi], ["0", "0"]);
  });

  it("uses more significant digits only where one would leave ±(2^62 − 1) units", async () => {
    // Ten values near 4,000,000 with one at 12 decimals: 5·10^6 is out of range at scale 12, so 4.1·10^6.
    const rows = ["4000000.000000000001", ...Array.from({ length: 9 }, () => "4000000")];
    const col = await readCsvColumn(await file("k.csv", `x\n${rows.join("\n")}\n`), "x");
    assert.deepEqual([col.scale, col.lo, col.hi], [12, "4000000.000000000000", "4100000.000000000000"]);
    assert.equal(col.plaintextSum, "40000000.000000000001");
    const negative = await readCsvColumn(await file("l.csv", `x\n${rows.map((r) => `-${r}`).join("\n")}\n`), "x");
    assert.deepEqual([negative.lo, negative.hi], ["-4100000.000000000000", "-4000000.000000000000"]);
  });

  it("derives bounds that contain the data, are valid schema bounds and keep few digits", () => {
    const limit = (1n << 62n) - 1n;
    fc.assert(
      fc.property(fc.bigInt({ min: -limit, max: limit }), fc.bigInt({ min: -limit, max: limit }), fc.integer({ min: 0, max: 12 }), (a, b, scale) => {
        const [min, max] = a < b ? [a, b] : [b, a];
        const { lo, hi } = deriveBounds(min, max);
        assert.ok(lo <= min && max <= hi && lo >= -limit && hi <= limit);
        assert.deepEqual(parseColumnBounds({ name: "x", scale, lo: formatScaled(lo, scale), hi: formatScaled(hi, scale) }), { lo, hi });
        // One significant digit unless that leaves the range.
        const significant = (v: bigint) => (v === 0n ? 0 : (v < 0n ? -v : v).toString().replace(/0+$/, "").length);
        for (const [bound, value] of [[lo, min], [hi, max]] as const) {
          if (significant(bound) > 1) assert.ok((value < 0n ? -value : value) >= 10n ** 18n, `${bound} for ${value}`);
        }
      }),
    );
    assert.deepEqual(deriveBounds(31500n, 187000n), { lo: 30000n, hi: 200000n });
    assert.deepEqual(deriveBounds(-34n, -34n), { lo: -40n, hi: -30n });
    assert.deepEqual(deriveBounds(960n, 960n), { lo: 900n, hi: 1000n });
  });

  it("takes declared bounds, canonical at the column's scale", async () => {
    const csv = await file("m.csv", "salary,bonus\n72000,3500.5\n81500,4200\n");
    const [salary, bonus] = await readCsvColumns(csv, ["salary", "bonus"], { bounds: { salary: { lo: "0", hi: "200000" }, bonus: { lo: "-0", hi: "10000" } } });
    assert.deepEqual([salary.lo, salary.hi, salary.boundsDerived], ["0", "200000", false]);
    assert.deepEqual([bonus.scale, bonus.lo, bonus.hi], [1, "0.0", "10000.0"]);
    // A bound with more decimals than the data sets the column's precision.
    const [fine] = await readCsvColumns(csv, ["salary"], { bounds: { salary: { lo: "0.25", hi: "100000" } } });
    assert.deepEqual([fine.scale, fine.lo, fine.hi, BigInt.asIntN(64, fine.values[0])], [2, "0.25", "100000.00", 7200000n]);
  });

  it("refuses a value outside the declared bounds, naming file, line, column, value and bounds", async () => {
    const csv = await file("n.csv", "id,salary\n1,72000\n2,250000\n");
    await assert.rejects(
      readCsvColumns(csv, ["salary"], { bounds: { salary: { lo: "30000", hi: "200000" } } }),
      (err: Error) => err.name === "CsvInputError" && err.message.startsWith(`${csv} line 3, column "salary": 250000 is outside the declared bounds [30000, 200000]`),
    );
    await assert.rejects(readCsvColumns(csv, ["salary"], { bounds: { salary: { lo: "80000", hi: "300000" } } }), /line 2, column "salary": 72000 is outside the declared bounds \[80000, 300000\]/);
  });

  it("refuses malformed, reversed, too wide or stray bounds", async () => {
    const csv = await file("o.csv", "x,y\n1,2\n");
    const read = (bounds: Record<string, { lo: string; hi: string }>) => readCsvColumns(csv, ["x"], { bounds });
    await assert.rejects(read({ x: { lo: "abc", hi: "2" } }), /bounds of column "x": lo "abc" is not a decimal number/);
    await assert.rejects(read({ x: { lo: "5", hi: "2" } }), /bounds of column "x": lo 5 is above hi 2/);
    await assert.rejects(read({ x: { lo: "0", hi: "4611686018427387904" } }), /bounds of column "x": hi "4611686018427387904" is too large/);
    await assert.rejects(read({ x: { lo: "0", hi: "1.0000000000001" } }), /13 decimal places; at most 12/);
    await assert.rejects(read({ y: { lo: "0", hi: "2" } }), /bounds are given for column "y", which is not among the columns shared \(x\)/);
  });

  it("refuses values beyond the encodable range ±(2^62 − 1) units", async () => {
    await assert.rejects(readCsvColumn(await file("p.csv", "x\n-4611686018427387904\n"), "x"), /line 2, column "x": "-4611686018427387904" is too large/);
    const ok = await readCsvColumn(await file("q.csv", "x\n-4611686018427387903\n4611686018427387903\n"), "x");
    assert.deepEqual([ok.lo, ok.hi], ["-4611686018427387903", "4611686018427387903"]);
  });

  it("formats scaled integers", () => {
    assert.equal(formatScaled(12345n, 2), "123.45");
    assert.equal(formatScaled(-5n, 3), "-0.005");
    assert.equal(formatScaled(0n, 0), "0");
  });
});
