/**
 * `@scmpc/contracts`: ABIs, bytecode and a local deployment of the market's
 * contracts (the Ignition module LocalMarket, run with Ignition's core library,
 * loaded only when deploying). Plain TypeScript (no Hardhat at runtime); the
 * artifacts come from `npm run build -w contracts`.
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
  setHosts,
  applyHostChanges,
  DEFAULT_LINK_FEE,
  DEFAULT_LINK_FUNDING,
  DEFAULT_MIN_STAKE,
  DEFAULT_OPERATOR_FEE,
  DEFAULT_REQUEST_TIMEOUT,
  DEFAULT_STAKE_COOLDOWN,
} from "./deploy-local-market.ts";
export type { DeployLocalMarketOptions, HostConfig, HostSetting, MarketAddresses } from "./deploy-local-market.ts";
export { ContractsError } from "./errors.ts";
export type { ContractsErrorCode } from "./errors.ts";
export { algorithmId, jobIdOf, jobUuidOf, MARKET_ALGORITHMS } from "./algorithms.ts";
export type { MarketAlgorithm } from "./algorithms.ts";
export { DEFAULT_PRIVACY_BUDGET, MAX_REQUEST_EPSILON, MILLI_EPSILON_PER_EPSILON, formatEpsilon, toMilliEpsilon } from "./privacy-budget.ts";
export { fundAlgorithmsWithLink } from "./operations.ts";
export type { FundedAlgorithm } from "./operations.ts";
