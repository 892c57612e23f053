import { encodeBytes32String, keccak256, toUtf8Bytes } from "ethers";

/**
 * The algorithms the market sells, one `AlgorithmComputation` contract each.
 * The MPC engine's algorithm library implements each under the same name.
 *
 * @example
 * ```ts
 * for (const name of MARKET_ALGORITHMS) console.log(name, addresses.algorithms[name]);
 * ```
 */
export const MARKET_ALGORITHMS = [
  "count@1",
  "sum@1",
  "mean@1",
  "variance@1",
  "stddev@1",
  "min@1",
  "max@1",
  "histogram@1",
  "count-if@1",
  "covariance@1",
  "regression@1",
] as const;
export type MarketAlgorithm = (typeof MARKET_ALGORITHMS)[number];

/**
 * The id sellers list in their policy for an algorithm: keccak256 of its `name@version`.
 *
 * @example
 * ```ts
 * const policy = { allowedAlgorithms: ["sum@1", "mean@1"].map(algorithmId), minRows: 10n };
 * ```
 */
export function algorithmId(name: string): string {
  return keccak256(toUtf8Bytes(name));
}

/**
 * The Chainlink job id of an algorithm's job: `encodeBytes32String("scmpc-" + name)`.
 *
 * @example
 * ```ts
 * jobIdOf("sum@1") // 0x73636d70632d73756d4031000…
 * ```
 */
export function jobIdOf(name: string): string {
  return encodeBytes32String(`scmpc-${name}`);
}
