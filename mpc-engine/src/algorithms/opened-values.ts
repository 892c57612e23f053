import { MpcError } from "../errors.ts";
import { opensRowCount, type Plan } from "./plan.ts";
import { decodeSum, openedWidth, type PlannedSum } from "./sum-plan.ts";

// Reading the ring values the hosts opened for a plan, before any statistic
// is formed from them: the same for exact and differentially private plans.

/**
 * The error for opened values no rows within the declared bounds could give.
 *
 * @example
 * throw impossible("mean@1", "the hosts counted 9 rows, the plan 10");
 */
export function impossible(what: string, why: string): MpcError {
  return new MpcError(
    "RESULT_OUT_OF_RANGE",
    `${what}: the opened statistics are impossible (${why}): a seller's value outside its declared bounds, or a faulty host`,
  );
}

/**
 * A ring element read as a signed 64-bit integer.
 *
 * @example
 * signed(2n ** 64n - 1n) // -1n
 */
export const signed = (v: bigint): bigint => BigInt.asIntN(64, v);

/**
 * The centred sums of a plan from the opened values (exact, plus their noise
 * in DP mode), in the order of `plan.sums`, and the opened row count.
 *
 * @throws MpcError `RESULT_OUT_OF_RANGE` for a sum beyond what the bounds (and the noise's tail bound) allow
 * @example
 * const { sums: [sx], n } = openedSums(meanPlan, values);
 */
export function openedSums(plan: Plan & { sums: PlannedSum[] }, values: readonly bigint[]): { sums: bigint[]; n: bigint } {
  let at = 0;
  const sums = plan.sums.map((s) => {
    const width = openedWidth(s);
    const exact = decodeSum(plan.algorithm, s, values.slice(at, at + width));
    at += width;
    return exact;
  });
  return { sums, n: opensRowCount(plan) ? signed(values[at]) : plan.rowCount };
}

/**
 * Refuses an opened row count that is not the plan's (public) one.
 *
 * @throws MpcError `RESULT_OUT_OF_RANGE`
 * @example
 * checkRowCount(plan, n);
 */
export function checkRowCount(plan: Plan, n: bigint): void {
  if (n !== plan.rowCount) throw impossible(plan.algorithm, `the hosts counted ${n} rows, the plan ${plan.rowCount}`);
}
