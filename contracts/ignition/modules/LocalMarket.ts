/**
 * Ignition module "LocalMarket": a whole market for a development chain. On
 * top of what Market.ts deploys, it deploys DevPaymentToken ("Market USD",
 * "mUSD", owner-mintable), Chainlink's LinkToken and Operator (owned by the
 * deployer, with `relay` as its authorized sender), and mints `linkFunding`
 * LINK to every AlgorithmComputation. For local chains only: the deployer can
 * mint both tokens at will.
 *
 * Parameters (under the key "LocalMarket"): `relay` (address, required),
 * `host0`..`host2` (required), optional `linkFunding` (default 100 LINK) and
 * the optional market parameters of Market.ts.
 *
 * The default export is the module the Ignition CLI deploys (every algorithm,
 * hosts from the parameters, nobody funded); `deployLocalMarket`
 * (src/deploy-local-market.ts) builds its own with {@link buildLocalMarketModule}.
 *
 * @example
 * ```sh
 * npx hardhat ignition deploy ignition/modules/LocalMarket.ts --network localhost --parameters ignition/local-params.json
 * ```
 */
import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import { buildMarketContracts, MARKET_DEFAULTS } from "../market-contracts.ts";
import type { MarketContractsOptions } from "../market-contracts.ts";

/** LINK minted to each AlgorithmComputation: 1000 requests at the default fee. */
export const DEFAULT_LINK_FUNDING = MARKET_DEFAULTS.linkFunding;

/** What a LocalMarket deployment holds besides its parameters. */
export interface LocalMarketOptions extends MarketContractsOptions {
  /**
   * Payment tokens (mUSD, 18 decimals) the deployer mints to each address
   * once the token exists, e.g. to buyers and sellers. Part of the module
   * rather than a parameter because Ignition fixes a module's transactions
   * before it reads parameters.
   */
  fund?: readonly { address: string; amount: bigint }[];
}

/**
 * Builds a LocalMarket module (id "LocalMarket", so its parameters keep their key).
 *
 * @param options - Which algorithms get a contract, whether hosts are registered, who gets payment tokens.
 * @returns The module; its results are every contract, algorithms keyed by `futureIdOf(name)`.
 *
 * @example
 * ```ts
 * const module = buildLocalMarketModule({ algorithms: ["sum@1"], fund: [{ address: buyer, amount: 10n ** 21n }] });
 * await connection.ignition.deploy(module, { parameters: { LocalMarket: { relay, host0, host1, host2 } } });
 * ```
 */
export function buildLocalMarketModule(options: LocalMarketOptions = {}) {
  return buildModule("LocalMarket", (m) => {
    const deployer = m.getAccount(0);
    const relay = m.getParameter<string>("relay");
    const linkFunding = m.getParameter("linkFunding", DEFAULT_LINK_FUNDING);

    const paymentToken = m.contract("DevPaymentToken", ["Market USD", "mUSD"]);
    const linkToken = m.contract("LinkToken");
    const operator = m.contract("Operator", [linkToken, deployer]);
    m.call(operator, "setAuthorizedSenders", [[relay]]);

    const { hostRegistry, registry, factory, penaltyCourt, algorithms } = buildMarketContracts(
      m,
      { linkToken, operator, paymentToken },
      options,
    );

    const mintRole = m.call(linkToken, "grantMintRole", [deployer]);
    for (const [id, computation] of Object.entries(algorithms)) {
      m.call(linkToken, "mint", [computation, linkFunding], { id: `fundLink_${id}`, after: [mintRole] });
    }
    (options.fund ?? []).forEach(({ address, amount }, i) => {
      m.call(paymentToken, "mint", [address, amount], { id: `fund_${i}` });
    });
    return { paymentToken, linkToken, operator, hostRegistry, registry, factory, penaltyCourt, ...algorithms };
  });
}

export default buildLocalMarketModule();
