import { createRequire } from "node:module";
import hardhatToolboxMochaEthers from "@nomicfoundation/hardhat-toolbox-mocha-ethers";
import { configVariable, defineConfig } from "hardhat/config";

// Resolve the npm `solc` package's WASM build so Hardhat never downloads a
// compiler: the market runs offline, and Chainlink's Operator pins 0.8.19.
const require = createRequire(import.meta.url);
const SOLC_PATH = require.resolve("solc/soljson.js");

const VIA_IR = {
  version: "0.8.19",
  path: SOLC_PATH,
  settings: {
    viaIR: true,
    optimizer: { enabled: true, runs: 200 },
  },
};

export default defineConfig({
  plugins: [hardhatToolboxMochaEthers],
  solidity: {
    compilers: [
      {
        version: "0.8.19",
        path: SOLC_PATH,
        settings: {
          optimizer: { enabled: true, runs: 200 },
        },
      },
    ],
    // AlgorithmComputation's ten-argument constructor (a fixed interface) is too deep for
    // the legacy code generator's ABI decoder; the IR pipeline handles it. The factory
    // embeds (and so compiles) AlgorithmComputation, so it needs the same settings.
    overrides: {
      "contracts/AlgorithmComputation.sol": VIA_IR,
      "contracts/AlgorithmFactory.sol": VIA_IR,
    },
    npmFilesToBuild: [
      "@chainlink/contracts/src/v0.8/operatorforwarder/Operator.sol",
      "@chainlink/contracts/src/v0.8/shared/token/ERC677/LinkToken.sol",
    ],
  },
  networks: {
    localhost: {
      type: "http",
      chainType: "l1",
      url: "http://127.0.0.1:8545",
    },
    // Any EVM network, from configuration: the RPC URL and the deployer's key are
    // configuration variables (the environment variable of the same name, or the
    // Hardhat keystore), read only when this network is used and never written here.
    //   SCMPC_DEPLOY_RPC_URL=… SCMPC_DEPLOYER_KEY=0x… npx hardhat ignition deploy \
    //     ignition/modules/Market.ts --network target --parameters params.json
    target: {
      type: "http",
      chainType: "l1",
      url: configVariable("SCMPC_DEPLOY_RPC_URL"),
      accounts: [configVariable("SCMPC_DEPLOYER_KEY")],
    },
  },
});
