import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { planQuery } from "../src/plan/plan-query.ts";
import { parseQuery, type QueryColumn } from "../src/query/index.ts";
import { plainQuery, type PlainRow } from "./support/plain-sql.ts";
import { runQueryOnShares } from "./support/query-shares.ts";

// Queries run by three parties on secret shares through the plan IR, exact
// mode, against a plaintext SQL engine on random tables with NULLs and
// categories.

const ID = `"0x${"ab".repeat(32)}"`;
const schema: QueryColumn[] = [
  { name: "a", type: "int", scale: 0, lo: "-50", hi: "50" },
  { name: "b", type: "decimal", scale: 2, lo: "0.00", hi: "10.00" },
  { name: "cat", type: "category", scale: 0, lo: "0", hi: "2", categories: ["x", "y", "z"] },
  { name: "flag", type: "bool", scale: 0, lo: "0", hi: "1" },
  { name: "d", type: "date", scale: 0, lo: "19000", hi: "19100" },
];
const names = schema.map((c) => c.name);

const cell = (lo: number, hi: number) => fc.option(fc.integer({ min: lo, max: hi }).map(BigInt), { freq: 5, nil: null });
const row = fc.record({ a: cell(-50, 50), b: cell(0, 1000), cat: cell(0, 2), flag: cell(0, 1), d: cell(19000, 19100) });
const table = fc.array(row, { minLength: 1, maxLength: 24 });

async function check(sql: string, rows: PlainRow[], blockRows?: number): Promise<void> {
  const query = parseQuery(sql);
  const plan = planQuery(query, { columns: schema }, { rowCount: BigInt(rows.length), epsilonMilli: 0 });
  const mpc = await runQueryOnShares(plan, names, rows, { blockRows });
  assert.deepEqual(mpc.rows, plainQuery(query, schema, rows), `${sql}\nrows: ${JSON.stringify(rows, (_, v) => (typeof v === "bigint" ? Number(v) : v))}`);
}

const fixed: PlainRow[] = [
  { a: 5n, b: 150n, cat: 0n, flag: 1n, d: 19010n },
  { a: -7n, b: null, cat: 1n, flag: 0n, d: 19020n },
  { a: null, b: 990n, cat: 1n, flag: null, d: null },
  { a: 50n, b: 0n, cat: null, flag: 1n, d: 19100n },
  { a: -50n, b: 1000n, cat: 2n, flag: 0n, d: 19000n },
  { a: 12n, b: 333n, cat: 0n, flag: 1n, d: 19055n },
];

describe("queries on secret shares through the plan IR (exact mode)", () => {
  it("count(*) vs count(col), sums and averages skip NULLs", async () => {
    await check(`SELECT count(*), count(a), sum(a), avg(b), sum(a * b) FROM ${ID}`, fixed);
  });

  it("WHERE with SQL's three-valued logic", async () => {
    await check(`SELECT count(*) FROM ${ID} WHERE NOT (a > 0)`, fixed);
    await check(`SELECT count(*), sum(b) FROM ${ID} WHERE (a BETWEEN -10 AND 20) OR (cat IN ('z'))`, fixed);
    await check(`SELECT count(*) FROM ${ID} WHERE b IS NULL OR d >= '2022-01-01'`, fixed);
  });

  it("GROUP BY: every group of the dictionary and NULL, empty ones with count 0", async () => {
    await check(`SELECT cat, count(*), avg(a), var(a), stddev(b) FROM ${ID} GROUP BY cat`, fixed);
    await check(`SELECT cat, flag, count(*), min(a) FROM ${ID} WHERE a <> 5 GROUP BY cat, flag`, fixed);
  });

  it("a contingency table: count(*) per pair of categories, GROUP BY two columns, NULL groups included", async () => {
    await check(`SELECT cat, flag, count(*) FROM ${ID} GROUP BY cat, flag`, fixed);
    await fc.assert(
      fc.asyncProperty(table, async (rows) => {
        await check(`SELECT flag, cat, count(*) FROM ${ID} GROUP BY flag, cat`, rows);
      }),
      { numRuns: 10 },
    );
  });

  it("order statistics and histograms", async () => {
    await check(`SELECT min(a), max(a), median(b), quantile(a, 0.25), min(d), max(d) FROM ${ID}`, fixed);
    await check(`SELECT histogram(a, -10, 0, 10), histogram(d, '2022-01-15') FROM ${ID} WHERE flag = TRUE`, fixed);
  });

  it("covariance, correlation and regression over the rows where both are present", async () => {
    await check(`SELECT covar(a, b), corr(a, b), regr_slope(b, a), regr_intercept(b, a), regr_r2(b, a) FROM ${ID}`, fixed);
    await check(`SELECT cat, regr_slope(a, b), regr_r2(a, b) FROM ${ID} GROUP BY cat`, fixed);
  });

  it("random tables with NULLs and categories, every query shape", async () => {
    const shapes = [
      (k: number) => `SELECT count(*), count(b), sum(b), avg(a) FROM ${ID} WHERE a < ${k}`,
      (k: number) => `SELECT cat, count(*), sum(a), avg(b) FROM ${ID} WHERE NOT (b >= ${k % 10}.5) GROUP BY cat`,
      (k: number) => `SELECT flag, min(a), max(b), median(a) FROM ${ID} WHERE a IS NOT NULL AND (cat = 'y' OR a <= ${k}) GROUP BY flag`,
      (k: number) => `SELECT var(a), stddev(b), covar(a, b), corr(a, b) FROM ${ID} WHERE a BETWEEN ${-k} AND ${k + 3}`,
      (k: number) => `SELECT histogram(a, ${k - 20}, ${k}), quantile(b, 0.75), count(d) FROM ${ID} WHERE d NOT BETWEEN '2022-01-01' AND '2022-02-${10 + Math.abs(k % 15)}'`,
      (k: number) => `SELECT cat, flag, count(a), sum(a * a) FROM ${ID} WHERE cat NOT IN ('x') OR a = ${k} GROUP BY cat, flag`,
      (k: number) => `SELECT regr_slope(b, a), regr_intercept(b, a), regr_r2(a, b) FROM ${ID} WHERE a > ${k}`,
      // Neither WHERE nor GROUP BY: masks from the arithmetic validity shares.
      (k: number) => `SELECT count(*), count(a), sum(a), var(b), covar(a, b), histogram(a, ${k}), median(b) FROM ${ID}`,
    ];
    await fc.assert(
      fc.asyncProperty(table, fc.integer({ min: 0, max: shapes.length - 1 }), fc.integer({ min: -30, max: 30 }), async (rows, shape, k) => {
        await check(shapes[shape](k), rows);
      }),
      { numRuns: 80 },
    );
    // Row bits are packed 64 to a word and rows run in blocks: tables over
    // several words, blocks that end inside a word, counts across blocks.
    await fc.assert(
      fc.asyncProperty(
        fc.array(row, { minLength: 60, maxLength: 300 }),
        fc.integer({ min: 0, max: shapes.length - 1 }),
        fc.integer({ min: -30, max: 30 }),
        fc.constantFrom(37, 64, 100, 1000),
        async (rows, shape, k, blockRows) => {
          await check(shapes[shape](k), rows, blockRows);
        },
      ),
      { numRuns: 30 },
    );
  });
});
