import assert from "node:assert/strict";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { readTableFile } from "@scmpc/tables/node";
import { parseQuery, type QueryColumn } from "@scmpc/mpc-engine/query";
import { plainQuery, type PlainRow } from "../mpc-engine/test/support/plain-sql.ts";
import { ROOT, startCliStack, type CliStack } from "./support/cli-stack.ts";

// End to end through the CLI: two sellers share typed tables with categories
// and blank cells; a buyer asks SQL queries over their union (query@1), the
// hosts parse and plan the text the chain holds, and the answers are checked
// against a plaintext SQL engine over the same files.
const EMPLOYEES = path.join(ROOT, "client", "samples", "employees.csv");
const EMPLOYEES_B = path.join(ROOT, "client", "samples", "employees-b.csv");
// One schema for both sellers: declared types, dictionaries and bounds.
const SCHEMA_FLAGS = [
  "--column", "department,level,salary,bonus,remote,hired",
  "--categories", "department=engineering,operations,sales,support",
  "--categories", "level=junior,senior",
  "--type", "salary=int", "--bounds", "salary=30000:150000",
  "--type", "bonus=decimal:2", "--bounds", "bonus=0:10000",
  "--type", "remote=bool",
  "--type", "hired=date", "--bounds", "hired=2015-01-01:2025-12-31",
];

/** A sample file's rows in units (as the hosts hold them), NULL where blank, and the schema the upload published. */
async function plainRows(file: string): Promise<{ rows: PlainRow[]; schema: QueryColumn[] }> {
  const table = await readTableFile(file, {
    columns: ["department", "level", "salary", "bonus", "remote", "hired"],
    types: { salary: { kind: "int" }, bonus: { kind: "decimal", scale: 2 }, remote: { kind: "bool" }, hired: { kind: "date" } },
    categories: { department: ["engineering", "operations", "sales", "support"], level: ["junior", "senior"] },
    bounds: { salary: { lo: "30000", hi: "150000" }, bonus: { lo: "0", hi: "10000" }, hired: { lo: "2015-01-01", hi: "2025-12-31" } },
  });
  const rows = Array.from({ length: table.rowCount }, (_, i) => Object.fromEntries(table.columns.map((c) => [c.name, c.valid[i] ? BigInt(c.values[i]) : null])));
  const schema = table.columns.map((c) => ({
    name: c.name,
    type: c.type.kind,
    scale: c.scale,
    lo: c.lo,
    hi: c.hi,
    ...(c.type.kind === "category" ? { categories: c.type.values } : {}),
  }));
  return { rows, schema };
}

describe("end to end: SQL queries over two sellers' typed tables with blanks (query@1)", { timeout: 900_000 }, () => {
  let stack: CliStack;
  let a: { datasetId: string; address: string };
  let b: { datasetId: string; address: string };
  let union: PlainRow[];
  let schema: QueryColumn[];

  before(async () => {
    stack = await startCliStack();
    a = JSON.parse(await stack.scmpc("seller", "upload", EMPLOYEES, "--name", "staff-2026", ...SCHEMA_FLAGS, "--price", "2", "--exact", "query", "--json"));
    b = JSON.parse(await stack.scmpc("seller", "upload", EMPLOYEES_B, "--name", "staff-b", ...SCHEMA_FLAGS, "--price", "3", "--exact", "query", "--account", "seller2", "--json"));
    const left = await plainRows(EMPLOYEES);
    const right = await plainRows(EMPLOYEES_B);
    union = [...left.rows, ...right.rows];
    schema = left.schema;
  });

  after(async () => {
    await stack?.stop();
  });

  it("exact mode: filters and groups over the union equal a plaintext SQL engine's answer, NULLs skipped, empty and NULL groups present", async () => {
    const sql =
      `SELECT department, count(*), count(salary), avg(salary), median(salary), min(hired), sum(bonus) ` +
      `FROM "${a.address}", "${b.datasetId}" WHERE remote = TRUE OR hired >= '2020-01-01' GROUP BY department`;
    const bought = JSON.parse(await stack.scmpc("buyer", "query", sql, "--exact", "--json"));
    assert.equal(bought.dp, undefined);
    assert.deepEqual(bought.result.columns, ["department", "count(*)", "count(salary)", "avg(salary)", "median(salary)", "min(hired)", "sum(bonus)"]);
    assert.deepEqual(bought.result.rows, plainQuery(parseQuery(sql), schema, union));
    // Both sellers were paid.
    assert.equal(bought.price, String(5n * 10n ** 18n));
  });

  it("exact mode: the answer prints as an aligned table", async () => {
    const sql = `SELECT level, count(*), stddev(bonus) FROM "${a.datasetId}" GROUP BY level`;
    const text = await stack.scmpc("buyer", "query", sql, "--exact");
    const lines = text.split("\n");
    assert.match(lines[0], /^level\s+count\(\*\)\s+stddev\(bonus\)$/);
    assert.match(lines[1], /^-+\s+-+\s+-+$/);
    assert.match(text, /^junior\s+\d+\s+\d+\.\d+$/m);
    assert.match(text, /^NULL\s+\d+/m);
    assert.match(text, /exact answer/);
  });

  it("differentially private mode: every aggregate and group count noised, the ε split shown, the budget spent", async () => {
    const sql = `SELECT level, count(*), avg(salary) FROM "${a.datasetId}" GROUP BY level`;
    const bought = JSON.parse(await stack.scmpc("buyer", "query", sql, "--epsilon", "2", "--json"));
    assert.equal(bought.result.rows.length, 3);
    assert.deepEqual(bought.result.rows.map((r: string[]) => r[0]), ["junior", "senior", null]);
    assert.equal(bought.dp.epsilon, "2");
    // count(*) per group, and Σ(salary − c) and count(salary) per group: ε 2/3 each.
    assert.equal(bought.dp.split.length, 3);
    for (const s of bought.dp.split) assert.equal(s.epsilon, "0.666667");
    assert.equal(bought.dp.budgetLeft[a.datasetId], "8");
    for (const row of bought.result.rows) if (row[2] !== null) assert.ok(Number(row[2]) >= 30000 && Number(row[2]) <= 150000);
  });

  it("refuses, before paying, a query outside the language, a column not in the schema, or an aggregate the seller does not sell", async () => {
    const before = JSON.parse(await stack.scmpc("buyer", "balance", "--json"));
    assert.match(await stack.scmpcFails("buyer", "query", `SELECT * FROM "${a.datasetId}"`), /SELECT \*/);
    assert.match(await stack.scmpcFails("buyer", "query", `SELECT avg(age) FROM "${a.datasetId}"`, "--exact"), /column "age" is not in the schema/);
    const counts = JSON.parse(
      await stack.scmpc("seller", "upload", EMPLOYEES, "--name", "counts-only", ...SCHEMA_FLAGS, "--price", "1", "--allow", "query:count", "--exact", "query", "--json"),
    );
    assert.match(await stack.scmpcFails("buyer", "query", `SELECT avg(salary) FROM "${counts.datasetId}"`, "--exact"), /does not allow avg\(\) in queries/);
    const ok = JSON.parse(await stack.scmpc("buyer", "query", `SELECT department, count(*) FROM "${counts.datasetId}" GROUP BY department`, "--exact", "--json"));
    assert.equal(ok.result.rows.length, 5);
    assert.deepEqual(JSON.parse(await stack.scmpc("buyer", "balance", "--json")), before);
  });
});
