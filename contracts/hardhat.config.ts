import { createRequire } from "node:module";
import hardhatToolboxMochaEthers from "@nomicfoundation/hardhat-toolbox-mocha-ethers";
import { defineConfig } from "hardhat/config";

// Resolve the npm `solc` package's WASM build so Hardhat never downloads a
// compiler: the market runs offline, and Chainlink's Operator pins 0.8.19.
const require = createRequire(import.meta.url);
const SOLC_PATH = require.resolve("solc/soljson.js");

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
  },
});
