import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TableInputError, parseTable, parseTypeSpec, schemaColumns, type ParseOptions } from "../src/index.ts";
import { cells, text } from "./helpers.ts";

const rejects = (promise: Promise<unknown>, pattern: RegExp) =>
  assert.rejects(promise, (err: Error) => err instanceof TableInputError && pattern.test(err.message));
/** Parses one CSV column `x` holding `values`, one per line. */
const column = async (values: string[], options: ParseOptions = {}) =>
  (await parseTable(text("t.csv", `x\n${values.join("\n")}\n`), options)).columns[0];

describe("type inference and declarations", () => {
  it("infers int, decimal (scale: most decimals), bool, date and category", async () => {
    assert.deepEqual((await column(["1", "-2", "+3"])).type, { kind: "int" });
    assert.deepEqual((await column(["1.5", "2", "-0.125"])).type, { kind: "decimal", scale: 3 });
    assert.deepEqual((await column(["true", "FALSE", "True"])).type, { kind: "bool" });
    assert.deepEqual((await column(["2024-01-01", "1901-12-13"])).type, { kind: "date" });
    assert.deepEqual((await column(["b", "a", "b"])).type, { kind: "category", values: ["a", "b"] });
    // Not the plain decimal syntax: exponents, thousands separators, bare points.
    for (const odd of ["1e5", '"1,000"', ".5", "5."]) assert.equal((await column(["1", odd])).type.kind, "category", odd);
    assert.ok((await column(["1"])).inferred);
  });

  it("infers a category only when some cell is not a number, and says why when that gives too many values", async () => {
    const mostlyNumbers = [...Array.from({ length: 300 }, (_, i) => String(i)), "abc"];
    await rejects(
      column(mostlyNumbers),
      /^t\.csv column "x" has more than 256 distinct values, too many for a category column .*--categories x=.*--type x=<int\|decimal\|bool\|date>\. It was read as a category because line 302 holds "abc", which is not a number\.$/,
    );
  });

  it("holds a declared type: one typo is an error naming file, line, column and value, not a category", async () => {
    const err = await column(["1.5", "2.25", "abc"], { types: { x: { kind: "decimal" } } }).catch((e: unknown) => e);
    assert.ok(err instanceof TableInputError);
    assert.equal(err.message, 't.csv line 4, column "x": "abc" is not a decimal number');
    assert.deepEqual(err.details, { file: "t.csv", at: "line 4", column: "x", value: "abc" });
    await rejects(column(["1", "1.5"], { types: { x: { kind: "int" } } }), /^t\.csv line 3, column "x": "1\.5" is not an integer$/);
    await rejects(column(["1.125"], { types: { x: { kind: "decimal", scale: 2 } } }), /^t\.csv line 2, column "x": "1\.125" has more than 2 decimal place\(s\)/);
    await rejects(column(["yes"], { types: { x: { kind: "bool" } } }), /^t\.csv line 2, column "x": "yes" is not a boolean \(true or false\)$/);
    await rejects(column(["2023-02-29"], { types: { x: { kind: "date" } } }), /^t\.csv line 2, column "x": "2023-02-29" is not a date \(YYYY-MM-DD\)$/);
  });

  it("declares a scale: values are encoded at it, trailing zeros allowed", async () => {
    const x = await column(["1", "2.5", "3.250"], { types: { x: { kind: "decimal", scale: 2 } } });
    assert.deepEqual([x.type, x.scale, cells(x), x.plaintextSum, x.inferred], [{ kind: "decimal", scale: 2 }, 2, [100n, 250n, 325n], "6.75", false]);
    assert.deepEqual(cells(await column(["7", "8.0"], { types: { x: { kind: "int" } } })), [7n, 8n]);
  });

  it("declares category over numbers, and bool over 1/0", async () => {
    const zip = await column(["75001", "69001", "75001"], { types: { x: { kind: "category" } } });
    assert.deepEqual([zip.type, cells(zip), zip.lo, zip.hi, zip.plaintextSum], [{ kind: "category", values: ["69001", "75001"] }, [1n, 0n, 1n], "0", "1", ""]);
    const flag = await column(["1", "0", "true"], { types: { x: { kind: "bool" } } });
    assert.deepEqual([cells(flag), flag.plaintextSum, flag.lo, flag.hi], [[1n, 0n, 1n], "2", "0", "1"]);
  });

  it("reads the type specs a seller writes", () => {
    assert.deepEqual(parseTypeSpec("int"), { kind: "int" });
    assert.deepEqual(parseTypeSpec("decimal"), { kind: "decimal" });
    assert.deepEqual(parseTypeSpec(" decimal:12 "), { kind: "decimal", scale: 12 });
    assert.deepEqual(parseTypeSpec("category"), { kind: "category" });
    assert.deepEqual(parseTypeSpec("bool"), { kind: "bool" });
    assert.deepEqual(parseTypeSpec("date"), { kind: "date" });
    for (const bad of ["decimal:13", "int:2", "float", "Decimal", "decimal:"]) {
      assert.throws(() => parseTypeSpec(bad), /is not one of int, decimal, decimal:<places> \(0 to 12\), category, bool, date/, bad);
    }
  });
});

describe("categories", () => {
  it("sorts the distinct values into a public dictionary", async () => {
    const city = await column(["Paris", "Lyon", "Nice", "Lyon"]);
    assert.deepEqual([city.type, cells(city), city.hi, city.boundsDerived], [{ kind: "category", values: ["Lyon", "Nice", "Paris"] }, [2n, 0n, 1n, 0n], "2", false]);
    assert.deepEqual(schemaColumns({ rowCount: 4, columns: [city] }), [{ name: "x", type: "category", scale: 0, lo: "0", hi: "2", categories: ["Lyon", "Nice", "Paris"] }]);
  });

  it("limits the dictionary's size unless it is given", async () => {
    const many = Array.from({ length: 5 }, (_, i) => `v${i}`);
    await rejects(column(many, { maxCategories: 4 }), /^t\.csv column "x" has more than 4 distinct values, too many for a category column/);
    assert.equal((await column(many, { maxCategories: 5 })).hi, "4");
    const fixed = await column(many, { maxCategories: 4, categories: { x: ["v4", "v3", "v2", "v1", "v0", "v9"] } });
    assert.deepEqual([cells(fixed), fixed.hi, fixed.inferred], [[4n, 3n, 2n, 1n, 0n], "5", false]);
    await rejects(column(many, { maxCategories: 0 }), /^maxCategories must be a positive integer/);
  });

  it("refuses a value outside a given dictionary, a dictionary naming a value twice, and a conflicting type", async () => {
    const err = await column(["red", "green", "mauve"], { categories: { x: ["red", "green", "blue"] } }).catch((e: unknown) => e);
    assert.ok(err instanceof TableInputError);
    assert.equal(err.message, 't.csv line 4, column "x": "mauve" is not among the categories of the column (red, green, blue)');
    await rejects(column(["a"], { categories: { x: ["a", "b", "a"] } }), /^categories of column "x" name "a" twice$/);
    await rejects(column(["a"], { categories: { x: ["a"] }, types: { x: { kind: "int" } } }), /^column "x" is declared int but given categories/);
  });
});

describe("dates", () => {
  it("counts days from 1970-01-01, negative before it", async () => {
    const d = await column(["1970-01-01", "1969-12-31", "2000-02-29", "1900-01-01", "2038-01-19"]);
    assert.deepEqual(cells(d), [0n, -1n, 11016n, -25567n, 24855n]);
    assert.equal(d.plaintextSum, String(0 - 1 + 11016 - 25567 + 24855));
  });

  it("derives bounds at decades and takes declared bounds as ISO dates or day counts", async () => {
    const d = await column(["2021-03-04", "2023-07-09"]);
    assert.deepEqual([d.lo, d.hi, d.boundsDerived], ["18262", "21915", true]); // 2020-01-01, 2030-01-01
    const before = await column(["1965-05-05", "1969-12-31"]);
    assert.deepEqual([before.lo, before.hi], ["-3653", "0"]); // 1960-01-01, 1970-01-01
    const declared = await column(["2021-03-04"], { bounds: { x: { lo: "2021-01-01", hi: "19000" } } });
    assert.deepEqual([declared.lo, declared.hi, declared.boundsDerived], ["18628", "19000", false]);
    await rejects(column(["2024-01-05"], { bounds: { x: { lo: "2020-01-01", hi: "2023-12-31" } } }), /^t\.csv line 2, column "x": 2024-01-05 is outside the declared bounds \[2020-01-01, 2023-12-31\]/);
    await rejects(column(["2024-01-05"], { bounds: { x: { lo: "Jan 2020", hi: "2023-12-31" } } }), /^bounds of column "x": lo "Jan 2020" is not a date \(YYYY-MM-DD\) or a day count$/);
  });
});

describe("missing values", () => {
  it("reads empty, NA, NaN, null and NULL as missing in every kind of column, with a validity bit", async () => {
    const body = 'n,d,c,b,t\n1,1.5,a,true,2024-01-01\n,NA,NaN,null,NULL\n3,"",b,false,\n';
    const table = await parseTable(text("m.csv", body));
    assert.deepEqual(table.columns.map((c) => c.type.kind), ["int", "decimal", "category", "bool", "date"]);
    for (const c of table.columns) {
      assert.deepEqual([...c.valid], c.name === "n" || c.name === "c" || c.name === "b" ? [1, 0, 1] : [1, 0, 0], c.name);
      assert.equal(c.missing, c.name === "n" || c.name === "c" || c.name === "b" ? 1 : 2, c.name);
      assert.equal(c.values[1], 0n, c.name);
    }
    assert.equal(table.columns[0].plaintextSum, "4");
  });

  it("keeps the spelling only of the listed words: other text is a value", async () => {
    assert.equal((await column(["1", "N/A"])).type.kind, "category");
    await rejects(column(["1", "N/A"], { types: { x: { kind: "int" } } }), /"N\/A" is not an integer/);
  });

  it("gives an all-missing column a type and zero bounds", async () => {
    const x = await column(["NA", "null"]);
    assert.deepEqual([x.type, x.missing, x.lo, x.hi, x.plaintextSum], [{ kind: "int" }, 2, "0", "0", "0"]);
  });

  it("refuses missing values on request, with details a caller can word", async () => {
    const err = await column(["1", "NA"], { missing: "reject" }).catch((e: unknown) => e);
    assert.ok(err instanceof TableInputError);
    assert.equal(err.message, 't.csv line 3, column "x": "NA" is a missing value, which is not accepted here');
    assert.deepEqual(err.details, { file: "t.csv", at: "line 3", column: "x", value: "NA", missingValue: true });
    // Reported in row order among the column's other faults, whatever its type.
    const decimal = { types: { x: { kind: "decimal" } }, missing: "reject" } as const;
    await rejects(column(["abc", "NA"], decimal), /^t\.csv line 2, column "x": "abc" is not a decimal number$/);
    await rejects(column(["NA", "abc"], decimal), /^t\.csv line 2, column "x": "NA" is a missing value/);
    await rejects(column(["a", "null", "b"], { categories: { x: ["b"] }, missing: "reject" }), /^t\.csv line 2, column "x": "a" is not among the categories/);
    await rejects(column(["b", "null", "a"], { categories: { x: ["b"] }, missing: "reject" }), /^t\.csv line 3, column "x": "null" is a missing value/);
    await rejects(column(["2024-01-01", "NULL"], { missing: "reject" }), /^t\.csv line 3, column "x": "NULL" is a missing value/);
  });
});

describe("bounds", () => {
  it("derives numeric bounds rounded outward to one significant digit", async () => {
    const x = await column(["31500", "187000", "90000"]);
    assert.deepEqual([x.lo, x.hi, x.boundsDerived], ["30000", "200000", true]);
    const r = await column(["-0.034", "0.5", "0.0071"]);
    assert.deepEqual([r.scale, r.lo, r.hi], [4, "-0.0400", "0.5000"]);
  });

  it("checks values against declared bounds, which may set the scale, in canonical text", async () => {
    const x = await column(["72000", "81500"], { bounds: { x: { lo: "-0", hi: "+200000.5" } } });
    assert.deepEqual([x.scale, x.lo, x.hi, x.boundsDerived, cells(x)], [1, "0.0", "200000.5", false, [720000n, 815000n]]);
    await rejects(column(["72000", "250000"], { bounds: { x: { lo: "30000", hi: "200000" } } }), /^t\.csv line 3, column "x": 250000 is outside the declared bounds \[30000, 200000\]; widen the bounds or correct the value$/);
    await rejects(column(["1"], { bounds: { x: { lo: "5", hi: "2" } } }), /^bounds of column "x": lo 5 is above hi 2$/);
    await rejects(column(["1"], { bounds: { x: { lo: "0", hi: "4611686018427387904" } } }), /^bounds of column "x": hi "4611686018427387904" is too large/);
    await rejects(column(["1"], { types: { x: { kind: "decimal", scale: 1 } }, bounds: { x: { lo: "0.25", hi: "1" } } }), /^bounds of column "x": lo "0\.25" has more than 1 decimal place/);
    await rejects(column(["a"], { bounds: { x: { lo: "0", hi: "1" } } }), /^bounds of column "x": a category column's bounds follow from its dictionary/);
    await rejects(column(["true"], { bounds: { x: { lo: "0", hi: "1" } } }), /^bounds of column "x": a bool column's bounds are 0 and 1/);
  });

  it("refuses options for columns not read", async () => {
    const csv = text("o.csv", "x,y\n1,2\n");
    await rejects(parseTable(csv, { columns: ["x"], bounds: { y: { lo: "0", hi: "1" } } }), /^bounds are given for column "y", which is not among the columns read \(x\)$/);
    await rejects(parseTable(csv, { types: { z: { kind: "int" } } }), /^types are given for column "z", which is not among the columns read \(x, y\)$/);
    await rejects(parseTable(csv, { columns: ["x", "x"] }), /^column "x" is named twice$/);
    await rejects(parseTable(csv, { columns: ["z"] }), /^o\.csv has no column "z"; its columns are: x, y$/);
    // A column the source lacks is told apart from a bad cell (a dataset's refresh names it as a change of schema).
    await assert.rejects(parseTable(csv, { columns: ["z"] }), (err: TableInputError) => err.details?.absentColumn === true && err.details.column === "z");
    await assert.rejects(parseTable(text("p.csv", "x\nabc\n"), { types: { x: { kind: "int" } } }), (err: TableInputError) => err.details?.absentColumn === undefined);
  });
});
