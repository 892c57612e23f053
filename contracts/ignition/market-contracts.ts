/**
 * The part of the market both Ignition modules deploy: HostRegistry (with the
 * three hosts), DatasetRegistry, AlgorithmFactory (named in the registry as the
 * one factory whose computations may spend datasets' privacy budget), and one
 * AlgorithmComputation per algorithm (all of MARKET_ALGORITHMS unless told
 * otherwise), created through the factory, which authorizes each in the registry. The tokens and the Chainlink Operator come in as
 * addresses (Market.ts) or as futures of contracts deployed in the same module
 * (LocalMarket.ts). The one list of the market's contracts and constructor
 * arguments: `deployLocalMarket` (src/deploy-local-market.ts) runs LocalMarket.ts.
 */
import type {
  ArgumentType,
  ContractCallFuture,
  IgnitionModuleBuilder,
  NamedArtifactContractAtFuture,
} from "@nomicfoundation/ignition-core";
import { parseEther } from "ethers";
import { jobIdOf, MARKET_ALGORITHMS } from "../src/algorithms.ts";

/** Default parameters; each can be overridden in the module's parameters. */
export const MARKET_DEFAULTS = {
  /** LINK (juels) paid to the Chainlink operator per request. */
  linkFee: parseEther("0.1"),
  /** Seconds from a request to its refundable deadline. */
  requestTimeout: 3600n,
  /** Smallest dataset stake, in the payment token's smallest unit. */
  minStake: parseEther("10"),
  /** Seconds a stake stays locked after deregistration: longer than requestTimeout, so a request pending at deregistration is settled or refundable before the stake can leave. */
  stakeCooldown: 7200n,
  /** Payment tokens each request pays the hosts' operators. */
  operatorFee: parseEther("1"),
  /** Seconds between proposing a change of a registered host and applying it (HostRegistry). */
  hostChangeDelay: 2n * 24n * 3600n,
  /** Basis points of a dataset's stake slashed when two hosts prove an offence (PenaltyCourt). */
  slashBps: 5000n,
  /** Basis points of the slashed amount paid to the buyer let down; the rest is burned. */
  compensationBps: 5000n,
  /** LINK minted to each AlgorithmComputation by LocalMarket.ts: 1000 requests at the default fee. */
  linkFunding: parseEther("100"),
} as const;

/**
 * What a module built on {@link buildMarketContracts} deploys besides the
 * parameters: which algorithms get a contract, and whether the three hosts are
 * registered (as the parameters `host0`..`host2`).
 */
export interface MarketContractsOptions {
  /** Algorithms (`name@version`) to create an AlgorithmComputation for; default MARKET_ALGORITHMS. */
  algorithms?: readonly string[];
  /** Register the hosts from the parameters `host0`..`host2` (default true); false leaves HostRegistry empty. */
  hosts?: boolean;
}

/** One MPC host as HostRegistry.setHost takes it (a module parameter object; a type, not an interface, so it fits Ignition's parameter type). */
export type HostParameter = {
  operator: string;
  signer: string;
  endpoint: string;
  tlsFingerprint: string;
};

/** An Ignition future id may only hold letters, digits and underscores. */
export function futureIdOf(algorithm: string): string {
  return algorithm.replace(/[^A-Za-z0-9]/g, "_");
}

/**
 * Adds the market's own contracts to module `m`. Reads the parameters `host0`,
 * `host1`, `host2` (required unless `options.hosts` is false) and
 * `linkFee`, `requestTimeout`, `minStake`, `stakeCooldown`, `operatorFee`,
 * `hostChangeDelay`, `slashBps`, `compensationBps` (optional, see {@link MARKET_DEFAULTS}). `deps` are addresses (module
 * parameters) or futures of contracts of the same module.
 *
 * @returns The futures of every contract, algorithms keyed by {@link futureIdOf} their name.
 *
 * @example
 * ```ts
 * export default buildModule("Market", (m) => {
 *   const { registry, factory, algorithms } = buildMarketContracts(m, { linkToken, operator, paymentToken });
 *   return { registry, factory, ...algorithms };
 * });
 * ```
 */
export function buildMarketContracts(
  m: IgnitionModuleBuilder,
  deps: { linkToken: ArgumentType; operator: ArgumentType; paymentToken: ArgumentType },
  options: MarketContractsOptions = {},
) {
  const linkFee = m.getParameter("linkFee", MARKET_DEFAULTS.linkFee);
  const requestTimeout = m.getParameter("requestTimeout", MARKET_DEFAULTS.requestTimeout);
  const minStake = m.getParameter("minStake", MARKET_DEFAULTS.minStake);
  const stakeCooldown = m.getParameter("stakeCooldown", MARKET_DEFAULTS.stakeCooldown);
  const operatorFee = m.getParameter("operatorFee", MARKET_DEFAULTS.operatorFee);
  const hostChangeDelay = m.getParameter("hostChangeDelay", MARKET_DEFAULTS.hostChangeDelay);
  const slashBps = m.getParameter("slashBps", MARKET_DEFAULTS.slashBps);
  const compensationBps = m.getParameter("compensationBps", MARKET_DEFAULTS.compensationBps);

  const hostRegistry = m.contract("HostRegistry", [hostChangeDelay]);
  const hostsSet =
    options.hosts === false
      ? []
      : [0, 1, 2].map((i) =>
          m.call(hostRegistry, "setHost", [i, m.getParameter<HostParameter>(`host${i}`)], { id: `setHost${i}` }),
        );
  const registry = m.contract("DatasetRegistry", [deps.paymentToken, minStake, stakeCooldown]);
  const factory = m.contract("AlgorithmFactory", [
    deps.linkToken,
    deps.operator,
    deps.paymentToken,
    registry,
    hostRegistry,
    linkFee,
    requestTimeout,
  ]);
  // The registry trusts the computations of exactly one factory, named once by the account
  // that deployed it (the module's sender); createAlgorithm reverts until then.
  const factorySet = m.call(registry, "setAlgorithmFactory", [factory]);

  const algorithms: Record<string, NamedArtifactContractAtFuture<"AlgorithmComputation">> = {};
  // Each creation waits for the previous one so the factory lists the algorithms in
  // the order given (Ignition would otherwise send one batch ordered by future id).
  let previous: ContractCallFuture<string, string> = factorySet;
  for (const name of options.algorithms ?? MARKET_ALGORITHMS) {
    const id = futureIdOf(name);
    const created = m.call(factory, "createAlgorithm", [name, jobIdOf(name), operatorFee], {
      id: `create_${id}`,
      after: [previous],
    });
    previous = created;
    // Read the address back from the factory (rather than from the call's event) so the
    // module only relies on the factory's fixed interface.
    const address = m.staticCall(factory, "getAlgorithm", [name], 0, { id: `address_${id}`, after: [created] });
    algorithms[id] = m.contractAt("AlgorithmComputation", address, { id: `AlgorithmComputation_${id}` });
  }
  // Likewise the one court that may slash stakes for offences two hosts attest; deployed
  // last, so that every address above stays what it was before the court existed.
  const penaltyCourt = m.contract("PenaltyCourt", [registry, hostRegistry, slashBps, compensationBps], { after: [previous] });
  const courtSet = m.call(registry, "setPenaltyCourt", [penaltyCourt]);
  return { hostRegistry, registry, factory, penaltyCourt, algorithms, hostsSet, factorySet, courtSet };
}
