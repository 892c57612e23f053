import { runQuery } from "../plan/run-query.ts";
import type { Party } from "../protocol/party.ts";
import { reshareArith } from "../protocol/reshare.ts";
import type { ArithShare } from "../protocol/shares.ts";
import type { Plan } from "./plan.ts";

/** One party's inputs to a computation: its share of each column, rows of all datasets concatenated. */
export interface PlanInputs {
  columns: ReadonlyMap<string, ArithShare>;
  /**
   * Its share of the validity vector of the same columns (1 where the cell
   * is present, 0 where it is missing), concatenated like the values: a
   * missing cell is skipped, as SQL skips NULL.
   */
  valid: ReadonlyMap<string, ArithShare>;
  rowCount: number;
}

/**
 * Runs a named algorithm's plan on this party's shares — its query through
 * the plan IR ({@link runQuery}) — and returns the shares of the values to
 * open to the buyer, in order. Nothing is opened here.
 *
 * @throws MpcError `ROW_COUNT_MISMATCH` when the inputs do not have the plan's rows
 * @example
 * const out = await runPlan(party, planComputation("mean@1", '{"column":"salary"}', schema, { rowCount: 10n, epsilonMilli: 1000 }), inputs);
 */
export async function runPlan(party: Party, plan: Plan, inputs: PlanInputs): Promise<ArithShare> {
  return runQuery(party, plan.query, { values: inputs.columns, valid: inputs.valid, rowCount: inputs.rowCount });
}

/**
 * Re-randomises the shares of the values to open before they go to the
 * buyer: without it the buyer would see each host's components of the sums,
 * which depend on the sellers' random shares. One round (a reshare of
 * x_i + α_i, α a fresh zero sharing).
 *
 * @example
 * const fresh = await rerandomize(party, await runPlan(party, plan, inputs));
 */
export async function rerandomize(party: Party, x: ArithShare): Promise<ArithShare> {
  return reshareArith(party, BigUint64Array.from(x.a));
}
