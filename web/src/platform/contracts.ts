// The browser's @scmpc/contracts: the same algorithm names, ids and ε
// arithmetic, with the ABIs bundled from the contracts' build output
// (`npm run build -w contracts`) instead of read from disk. The browser never
// deploys, so no bytecode is bundled.
import type { InterfaceAbi } from "ethers";
import { abi as AlgorithmComputation } from "../../../contracts/artifacts/contracts/AlgorithmComputation.sol/AlgorithmComputation.json";
import { abi as AlgorithmFactory } from "../../../contracts/artifacts/contracts/AlgorithmFactory.sol/AlgorithmFactory.json";
import { abi as DatasetRegistry } from "../../../contracts/artifacts/contracts/DatasetRegistry.sol/DatasetRegistry.json";
import { abi as DevPaymentToken } from "../../../contracts/artifacts/contracts/DevPaymentToken.sol/DevPaymentToken.json";
import { abi as HostRegistry } from "../../../contracts/artifacts/contracts/HostRegistry.sol/HostRegistry.json";
import { abi as PenaltyCourt } from "../../../contracts/artifacts/contracts/PenaltyCourt.sol/PenaltyCourt.json";
import type { Artifact, ContractName } from "../../../contracts/src/artifacts.ts";

export * from "../../../contracts/src/algorithms.ts";
export * from "../../../contracts/src/privacy-budget.ts";
export type { Artifact, ContractName } from "../../../contracts/src/artifacts.ts";
export type { MarketAddresses } from "../../../contracts/src/deploy-local-market.ts";

const ABIS: Partial<Record<ContractName, InterfaceAbi>> = {
  AlgorithmComputation,
  AlgorithmFactory,
  DatasetRegistry,
  DevPaymentToken,
  HostRegistry,
  PenaltyCourt,
} as Partial<Record<ContractName, InterfaceAbi>>;

/** A contract's ABI (no bytecode: the browser only calls deployed contracts). */
export function loadArtifact(name: ContractName): Artifact {
  const abi = ABIS[name];
  if (abi === undefined) throw new Error(`the web market bundles no ABI for ${name}`);
  return { abi, bytecode: "0x" };
}
