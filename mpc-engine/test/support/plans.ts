// Test support: a planned computation run by three parties on secret shares
// (the local harness), opened and decoded as the buyer does.
import assert from "node:assert/strict";
import { decodeResult, type AlgorithmResult, type Plan } from "../../src/index.ts";
import { rerandomize, runPlan } from "../../src/algorithms/run.ts";
import { runThreeParties, shareArithForTesting } from "../../src/protocol/local-harness.ts";
import type { ArithShare } from "../../src/protocol/shares.ts";
import { snapshotInputs } from "./inputs-untouched.ts";

const ring = (v: bigint) => BigInt.asUintN(64, v);

/**
 * Shares each column (values in units of its scale) and its validity vector
 * (`valid[name]`, one 0 or 1 per row; every cell present where not given),
 * runs `plan` on three parties, checks that the replicated components agree
 * (b_i = a_{i+1}), adds them up and decodes the result.
 */
export async function runPlanOnShares(
  plan: Plan,
  columns: Record<string, readonly bigint[]>,
  valid: Record<string, readonly (0 | 1)[]> = {},
): Promise<AlgorithmResult> {
  return decodeResult(plan, await openPlanOnShares(plan, columns, valid));
}

/** As {@link runPlanOnShares}, but returns the opened ring values, before decoding (for describeNoise). */
export async function openPlanOnShares(
  plan: Plan,
  columns: Record<string, readonly bigint[]>,
  valid: Record<string, readonly (0 | 1)[]> = {},
): Promise<bigint[]> {
  const rowCount = Number(plan.rowCount);
  const shareOf = (v: readonly bigint[]) => shareArithForTesting(BigUint64Array.from(v, ring));
  const shared = Object.fromEntries(Object.entries(columns).map(([name, v]) => [name, shareOf(v)]));
  const sharedValid = Object.fromEntries(
    Object.entries(columns).map(([name, v]) => [name, shareOf(Object.hasOwn(valid, name) ? valid[name].map(BigInt) : v.map(() => 1n))]),
  );
  const untouched = [snapshotInputs(shared), snapshotInputs(sharedValid)];
  const outputs = await runThreeParties(async (party) => {
    const mine = new Map<string, ArithShare>(Object.entries(shared).map(([name, shares]) => [name, shares[party.index]]));
    const mineValid = new Map<string, ArithShare>(Object.entries(sharedValid).map(([name, shares]) => [name, shares[party.index]]));
    return rerandomize(party, await runPlan(party, plan, { columns: mine, valid: mineValid, rowCount }));
  });
  for (const check of untouched) check();
  const values = Array.from(outputs[0].a, (_, k) => {
    for (let i = 0; i < 3; i++) assert.equal(outputs[i].b[k], outputs[(i + 1) % 3].a[k], "replicated components agree");
    return ring(outputs[0].a[k] + outputs[1].a[k] + outputs[2].a[k]);
  });
  return values;
}
