import { getBytes, hexlify, keccak256, toUtf8Bytes } from "ethers";

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
  "query@1",
  "correlation@1",
  "ttest@1",
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
 * The external job id (a UUID) of the Chainlink job that serves an algorithm:
 * the first 16 bytes of keccak256("scmpc job " + name), marked as an RFC 9562
 * version 8 (custom) UUID. A node operator creates the algorithm's job with
 * this `externalJobID`.
 *
 * @example
 * ```ts
 * jobUuidOf("sum@1") // "xxxxxxxx-xxxx-8xxx-yxxx-xxxxxxxxxxxx"
 * ```
 */
export function jobUuidOf(name: string): string {
  const bytes = getBytes(keccak256(toUtf8Bytes(`scmpc job ${name}`))).slice(0, 16);
  bytes[6] = (bytes[6] & 0x0f) | 0x80; // version 8
  bytes[8] = (bytes[8] & 0x3f) | 0x80; // RFC 9562 variant
  const hex = hexlify(bytes).slice(2);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * The Chainlink job id an algorithm's contract sends in its requests: the 16
 * bytes of {@link jobUuidOf} right-padded with zeros, one of the two forms in
 * which a Chainlink node matches a request's `specId` to a job's external id.
 *
 * @example
 * ```ts
 * jobIdOf("sum@1") // "0x" + jobUuidOf("sum@1") without dashes + 32 zeros
 * ```
 */
export function jobIdOf(name: string): string {
  return `0x${jobUuidOf(name).replaceAll("-", "")}${"0".repeat(32)}`;
}
