import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { planQuery } from "../src/plan/plan-query.ts";
import type { QueryPlan } from "../src/plan/query-plan.ts";
import { parseQuery, type QueryColumn } from "../src/query/index.ts";
import { Rational } from "../src/algorithms/rational.ts";
import { plainQuery, type PlainRow } from "./support/plain-sql.ts";
import { runQueryOnShares } from "./support/query-shares.ts";
import { describeQueryNoise } from "../src/plan/describe-query-noise.ts";
import { compareDecimals } from "../src/query/decimal-text.ts";

// Queries in differentially private mode: the budget split, the noise drawn
// inside the MPC on every statistic (three discrete Laplace terms), and the
// answers post-processed into their possible ranges.

const ID = `"0x${"cd".repeat(32)}"`;
const schema: QueryColumn[] = [
  { name: "x", type: "int", scale: 0, lo: "0", hi: "100" },
  { name: "g", type: "category", scale: 0, lo: "0", hi: "1", categories: ["p", "q"] },
];
const names = ["x", "g"];
const rows: PlainRow[] = Array.from({ length: 40 }, (_, i) => ({ x: i % 7 === 0 ? null : BigInt((i * 37) % 101), g: BigInt(i % 2) }));
const plan = (sql: string, epsilonMilli: number): QueryPlan => planQuery(parseQuery(sql), { columns: schema }, { rowCount: BigInt(rows.length), epsilonMilli });
const seeds = (k: number): [Uint8Array, Uint8Array, Uint8Array] => [0, 1, 2].map((i) => new Uint8Array(32).fill(k * 3 + i + 1)) as [Uint8Array, Uint8Array, Uint8Array];

/** Variance of the sum of three independent DLap(t) terms: 3 · 2q/(1 − q)², q = e^{−1/t}. */
function threeTermVariance(t: number): number {
  const q = Math.exp(-1 / t);
  return (3 * 2 * q) / (1 - q) ** 2;
}

describe("queries in DP mode", () => {
  it("splits ε equally among the opened statistics, all groups of one together; the public row count spends nothing", () => {
    const p = plan(`SELECT g, count(*), avg(x) FROM ${ID} WHERE x > 10 GROUP BY g`, 3000);
    // count(*) per group, Σ(x − c) and count(x) per group: three releases of ε 1 each.
    assert.equal(p.dp!.releases.length, 3);
    const total = p.dp!.releases.reduce((s, r) => s.add(new Rational(r.epsilon.num, r.epsilon.den)), new Rational(0n));
    assert.equal(total.toDecimal(3), "3.000");
    // Three groups (p, q, NULL) per release; a row moving between groups moves two counts.
    assert.deepEqual(p.dp!.releases.map((r) => r.statistics.length), [3, 3, 3]);
    assert.equal(p.dp!.releases[0].sensitivity, 2n);
    const open = plan(`SELECT count(*) FROM ${ID}`, 1000);
    assert.equal(open.dp!.releases.length, 0);
  });

  it("answers near the exact ones, every run different, a rerun with the same keys identical", async () => {
    const sql = `SELECT g, count(*), avg(x), median(x) FROM ${ID} GROUP BY g`;
    const exact = plainQuery(parseQuery(sql), schema, rows);
    const noisy = plan(sql, 20000);
    const first = await runQueryOnShares(noisy, names, rows, { seeds: seeds(1) });
    const again = await runQueryOnShares(noisy, names, rows, { seeds: seeds(1) });
    const other = await runQueryOnShares(noisy, names, rows, { seeds: seeds(2) });
    assert.deepEqual(first.opened, again.opened, "the noise depends on the job's keys only");
    assert.notDeepEqual(first.opened, other.opened, "fresh keys draw fresh noise");
    for (const [g, row] of first.rows.entries()) {
      assert.equal(row[0], exact[g][0]);
      assert.ok(Math.abs(Number(row[1]) - Number(exact[g][1])) <= 6, `count of group ${g}: ${row[1]} vs ${exact[g][1]}`);
      if (exact[g][2] !== null && row[2] !== null) assert.ok(Math.abs(Number(row[2]) - Number(exact[g][2])) <= 25, `avg: ${row[2]} vs ${exact[g][2]}`);
      // Noisy answers stay within what rows could give.
      if (row[2] !== null) assert.ok(Number(row[2]) >= 0 && Number(row[2]) <= 100);
    }
  });

  it("every count carries noise of the planned scale: the variance of three terms (a mechanism with one term, or none, fails)", async () => {
    const p = plan(`SELECT count(*) FROM ${ID} WHERE x < 50`, 1000);
    const t = Number(p.dp!.releases[0].scale.num) / Number(p.dp!.releases[0].scale.den);
    const truth = BigInt(rows.filter((r) => r.x !== null && r.x < 50n).length);
    const errors: number[] = [];
    for (let k = 0; k < 48; k++) {
      const { opened } = await runQueryOnShares(p, names, rows, { seeds: seeds(10 + k) });
      errors.push(Number(BigInt.asIntN(64, opened[0]) - truth));
    }
    const mean = errors.reduce((s, e) => s + e, 0) / errors.length;
    const variance = errors.reduce((s, e) => s + (e - mean) ** 2, 0) / (errors.length - 1);
    const expected = threeTermVariance(t);
    // One term would give a third of it, none 0; 48 draws put the estimate within ×0.5..×2 with overwhelming probability.
    assert.ok(variance > expected * 0.5 && variance < expected * 2, `noise variance ${variance.toFixed(2)}, expected ${expected.toFixed(2)} (t = ${t})`);
  });

  it("every cell's 95% interval holds the exact answer in about 95% of runs (counts exactly, the rest by bootstrap)", async () => {
    const sql = `SELECT g, count(*), avg(x), var(x), median(x) FROM ${ID} WHERE x > 20 GROUP BY g`;
    const exact = plainQuery(parseQuery(sql), schema, rows);
    const p = plan(sql, 3000);
    let cells = 0;
    let covered = 0;
    for (let k = 0; k < 30; k++) {
      const { opened, rows: answer } = await runQueryOnShares(p, names, rows, { seeds: seeds(100 + k) });
      const noise = describeQueryNoise(p, opened)!;
      // count(*), Σ(x − c), count(x), Σ(x − c)², and the bins of the median.
      assert.equal(noise.split.length, 5);
      answer.forEach((row, g) =>
        row.forEach((_, j) => {
          const interval = noise.intervals[g][j];
          const truth = exact[g][j];
          if (j === 0) return assert.equal(interval, null, "group labels have no interval");
          if (interval === null || truth === null) return;
          cells++;
          if (compareDecimals(interval[0], truth) <= 0 && compareDecimals(truth, interval[1]) <= 0) covered++;
        }),
      );
    }
    // Nominal 95% per cell; the median's bins and clamping make some cells conservative.
    assert.ok(cells > 150, `${cells} cells with an interval`);
    assert.ok(covered / cells > 0.85, `coverage ${covered}/${cells}`);
  });
});
