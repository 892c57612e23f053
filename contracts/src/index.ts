/**
 * `@scmpc/contracts`: ABIs, bytecode and a local deployment of the market's
 * contracts. Plain TypeScript (no Hardhat at runtime); the artifacts come from
 * `npm run build -w contracts`.
 *
 * @example
 * ```ts
 * import { deployLocalMarket, loadArtifact } from "@scmpc/contracts";
 * ```
 */
export { loadArtifact } from "./artifacts.ts";
export type { Artifact, ContractName } from "./artifacts.ts";
export {
  deployLocalMarket,
  DEFAULT_LINK_FEE,
  DEFAULT_LINK_FUNDING,
} from "./deploy-local-market.ts";
export type { DeployLocalMarketOptions, MarketAddresses } from "./deploy-local-market.ts";
export { ContractsError } from "./errors.ts";
export type { ContractsErrorCode } from "./errors.ts";
export { algorithmId, jobIdOf, MARKET_ALGORITHMS } from "./algorithms.ts";
export type { MarketAlgorithm } from "./algorithms.ts";
