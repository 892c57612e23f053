import { ContractsError } from "./errors.ts";

/**
 * Milli-ε per ε: the contracts count privacy budget in integers, ε = 1 is 1000.
 *
 * @example
 * ```ts
 * const epsilon = Number(budget.remaining) / MILLI_EPSILON_PER_EPSILON; // 7.5
 * ```
 */
export const MILLI_EPSILON_PER_EPSILON = 1000;

/**
 * A dataset's total privacy budget when its seller names none: 10,000 milli-ε (ε 10).
 * `DatasetRegistry.Policy.budget` itself has no default; this is the value clients offer.
 *
 * @example
 * ```ts
 * const policy = { allowedAlgorithms, minRows: 0n, budget: DEFAULT_PRIVACY_BUDGET, exactAlgorithms: [] };
 * ```
 */
export const DEFAULT_PRIVACY_BUDGET = 10_000;

/**
 * The most a request may spend on each dataset (`AlgorithmComputation.MAX_EPSILON`):
 * 65,535 milli-ε (ε 65.535), what a request's 16-bit record field holds.
 *
 * @example
 * ```ts
 * if (epsilon > MAX_REQUEST_EPSILON) throw new Error("ε too large for one request");
 * ```
 */
export const MAX_REQUEST_EPSILON = 65_535;

/** The largest total budget a policy can hold (`uint32`), in milli-ε. */
const MAX_BUDGET = 2 ** 32 - 1;

/**
 * Converts ε written in decimal (`"1"`, `"0.25"`, `2.5`) to the contracts' milli-ε,
 * exactly: at most three decimals, not negative, at most `max` milli-ε.
 *
 * @param epsilon - ε as a decimal string or number.
 * @param max - The largest result accepted, in milli-ε; default the largest total budget (2^32 - 1).
 * @returns ε in milli-ε.
 * @throws ContractsError `INVALID_EPSILON` for anything else.
 *
 * @example
 * ```ts
 * await sum.requestComputation(ids, params, buyerKey, quote, toMilliEpsilon("0.5", MAX_REQUEST_EPSILON)); // 500
 * ```
 */
export function toMilliEpsilon(epsilon: string | number, max: number = MAX_BUDGET): number {
  const text = typeof epsilon === "number" ? String(epsilon) : epsilon.trim();
  const match = /^(\d+)(?:\.(\d{1,3}))?$/.exec(text);
  if (match === null) {
    throw new ContractsError("INVALID_EPSILON", `ε must be a non-negative decimal with at most three decimals, got "${text}".`);
  }
  const milli = Number(match[1]) * MILLI_EPSILON_PER_EPSILON + Number((match[2] ?? "").padEnd(3, "0"));
  if (!Number.isSafeInteger(milli) || milli > max) {
    throw new ContractsError("INVALID_EPSILON", `ε ${text} is ${milli} milli-ε, above the most allowed here (${max}).`);
  }
  return milli;
}

/**
 * Writes milli-ε as ε in decimal, without trailing zeros.
 *
 * @param milli - Budget in milli-ε (a number or the contracts' bigint).
 * @returns ε, e.g. `"2.5"` for 2500.
 *
 * @example
 * ```ts
 * const [total, , remaining] = await registry.budgetOf(id);
 * console.log(`${formatEpsilon(remaining)} of ε ${formatEpsilon(total)} left`);
 * ```
 */
export function formatEpsilon(milli: number | bigint): string {
  const value = BigInt(milli);
  const whole = value / 1000n;
  const fraction = (value % 1000n).toString().padStart(3, "0").replace(/0+$/, "");
  return fraction === "" ? whole.toString() : `${whole}.${fraction}`;
}
