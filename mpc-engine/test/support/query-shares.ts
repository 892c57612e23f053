// Test support: a query planned, run by three parties on secret shares (the
// local harness), opened and decoded as the buyer does.
import assert from "node:assert/strict";
import { rerandomize } from "../../src/algorithms/run.ts";
import { decodeQuery, type QueryResult } from "../../src/plan/decode-query.ts";
import type { QueryPlan } from "../../src/plan/query-plan.ts";
import { runQuery } from "../../src/plan/run-query.ts";
import { runThreeParties, shareArithForTesting } from "../../src/protocol/local-harness.ts";
import type { ArithShare } from "../../src/protocol/shares.ts";
import { snapshotInputs } from "./inputs-untouched.ts";
import type { PlainRow } from "./plain-sql.ts";

const ring = (v: bigint) => BigInt.asUintN(64, v);

/**
 * Shares every column of `rows` (a NULL cell as the column's `fill` value,
 * default 0, with validity 0), runs the plan on three parties, checks the
 * replicated components agree and decodes the answer.
 */
export async function runQueryOnShares(
  plan: QueryPlan,
  names: readonly string[],
  rows: readonly PlainRow[],
  options: { fill?: Record<string, bigint>; seeds?: readonly [Uint8Array, Uint8Array, Uint8Array]; blockRows?: number } = {},
): Promise<QueryResult & { opened: bigint[] }> {
  const fill = options.fill ?? {};
  // Only the columns the plan reads, as the hosts load them.
  names = names.filter((name) => plan.columns.some((c) => c.name === name));
  const shareOf = (v: readonly bigint[]) => shareArithForTesting(BigUint64Array.from(v, ring));
  const values = Object.fromEntries(names.map((name) => [name, shareOf(rows.map((r) => r[name] ?? fill[name] ?? 0n))]));
  const valid = Object.fromEntries(names.map((name) => [name, shareOf(rows.map((r) => (r[name] === null ? 0n : 1n)))]));
  const untouched = [snapshotInputs(values), snapshotInputs(valid)];
  const outputs = await runThreeParties(async (party) => {
    const mine = (shares: Record<string, ArithShare[]>) => new Map<string, ArithShare>(Object.entries(shares).map(([name, s]) => [name, s[party.index]]));
    return rerandomize(party, await runQuery(party, plan, { values: mine(values), valid: mine(valid), rowCount: rows.length }, { blockRows: options.blockRows }));
  }, options.seeds ? { seeds: options.seeds } : {});
  for (const check of untouched) check();
  const opened = Array.from(outputs[0].a, (_, k) => {
    for (let i = 0; i < 3; i++) assert.equal(outputs[i].b[k], outputs[(i + 1) % 3].a[k], "replicated components agree");
    return ring(outputs[0].a[k] + outputs[1].a[k] + outputs[2].a[k]);
  });
  return { ...decodeQuery(plan, opened), opened };
}
