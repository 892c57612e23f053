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
 * @example
 * ```sh
 * npx hardhat ignition deploy ignition/modules/LocalMarket.ts --network localhost --parameters ignition/local-params.json
 * ```
 */
import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import { parseEther } from "ethers";
import { buildMarketContracts } from "../market-contracts.ts";

/** LINK minted to each AlgorithmComputation: 1000 requests at the default fee. */
export const DEFAULT_LINK_FUNDING = parseEther("100");

export default buildModule("LocalMarket", (m) => {
  const deployer = m.getAccount(0);
  const relay = m.getParameter<string>("relay");
  const linkFunding = m.getParameter("linkFunding", DEFAULT_LINK_FUNDING);

  const paymentToken = m.contract("DevPaymentToken", ["Market USD", "mUSD"]);
  const linkToken = m.contract("LinkToken");
  const operator = m.contract("Operator", [linkToken, deployer]);
  m.call(operator, "setAuthorizedSenders", [[relay]]);

  const { hostRegistry, registry, factory, algorithms } = buildMarketContracts(m, { linkToken, operator, paymentToken });

  const mintRole = m.call(linkToken, "grantMintRole", [deployer]);
  for (const [id, computation] of Object.entries(algorithms)) {
    m.call(linkToken, "mint", [computation, linkFunding], { id: `fundLink_${id}`, after: [mintRole] });
  }
  return { paymentToken, linkToken, operator, hostRegistry, registry, factory, ...algorithms };
});
