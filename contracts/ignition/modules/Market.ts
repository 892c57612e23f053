/**
 * Ignition module "Market": deploys the market onto any EVM chain that already
 * has a LINK token, a Chainlink Operator and an ERC-20 payment token.
 *
 * Parameters (`--parameters params.json`, under the key "Market"):
 * - `linkToken`, `operator`, `paymentToken` (addresses, required);
 * - `host0`, `host1`, `host2` (required): `{ operator, signer, endpoint, tlsFingerprint }`;
 * - optional `linkFee`, `requestTimeout`, `minStake`, `stakeCooldown`, `operatorFee`,
 *   `hostChangeDelay`, `slashBps`, `compensationBps` (bigints as "123n" strings), see MARKET_DEFAULTS.
 *
 * The deploying account owns HostRegistry and AlgorithmFactory. Each
 * AlgorithmComputation needs LINK (linkFee per request) before it can be used:
 * send it LINK after the deployment (see ignition/README.md).
 *
 * @example
 * ```sh
 * npx hardhat ignition deploy ignition/modules/Market.ts --network sepolia --parameters ignition/params.json
 * ```
 */
import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import { buildMarketContracts } from "../market-contracts.ts";

export default buildModule("Market", (m) => {
  const { hostRegistry, registry, factory, penaltyCourt, algorithms } = buildMarketContracts(m, {
    linkToken: m.getParameter<string>("linkToken"),
    operator: m.getParameter<string>("operator"),
    paymentToken: m.getParameter<string>("paymentToken"),
  });
  return { hostRegistry, registry, factory, penaltyCourt, ...algorithms };
});
