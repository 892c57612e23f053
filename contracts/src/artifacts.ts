import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { InterfaceAbi } from "ethers";
import { ContractsError } from "./errors.ts";

/**
 * Names of the contracts whose compiled artifacts this package ships.
 *
 * @example
 * ```ts
 * const name: ContractName = "AlgorithmComputation";
 * ```
 */
export type ContractName =
  | "HostRegistry"
  | "DatasetRegistry"
  | "AlgorithmComputation"
  | "AlgorithmFactory"
  | "PenaltyCourt"
  | "DevPaymentToken"
  | "Operator"
  | "LinkToken";

/**
 * What a deployment needs from a compiled contract.
 *
 * @example
 * ```ts
 * const { abi, bytecode }: Artifact = loadArtifact("DatasetRegistry");
 * ```
 */
export interface Artifact {
  /** The contract's ABI, usable with `new ethers.Contract(address, abi, runner)`. */
  abi: InterfaceAbi;
  /** 0x-prefixed creation bytecode. */
  bytecode: string;
}

/** Source path of each contract as Hardhat 3 lays it out under `artifacts/`. */
const ARTIFACT_PATHS: Record<ContractName, string> = {
  HostRegistry: "contracts/HostRegistry.sol/HostRegistry.json",
  DatasetRegistry: "contracts/DatasetRegistry.sol/DatasetRegistry.json",
  AlgorithmComputation: "contracts/AlgorithmComputation.sol/AlgorithmComputation.json",
  AlgorithmFactory: "contracts/AlgorithmFactory.sol/AlgorithmFactory.json",
  PenaltyCourt: "contracts/PenaltyCourt.sol/PenaltyCourt.json",
  DevPaymentToken: "contracts/DevPaymentToken.sol/DevPaymentToken.json",
  Operator: "@chainlink/contracts/src/v0.8/operatorforwarder/Operator.sol/Operator.json",
  LinkToken: "@chainlink/contracts/src/v0.8/shared/token/ERC677/LinkToken.sol/LinkToken.json",
};

/** Resolved from this module, not the working directory, so any workspace can import it. */
const ARTIFACTS_DIR = new URL("../artifacts/", import.meta.url);

/**
 * Reads a contract's ABI and bytecode from the Hardhat build output
 * (`contracts/artifacts`). Throws a {@link ContractsError} with code
 * `ARTIFACT_NOT_FOUND` when the contracts have not been built.
 *
 * @param name - The contract to load.
 * @returns The contract's ABI and creation bytecode.
 *
 * @example
 * ```ts
 * import { ethers } from "ethers";
 * import { loadArtifact } from "@scmpc/contracts";
 *
 * const { abi } = loadArtifact("AlgorithmComputation");
 * const mean = new ethers.Contract(addresses.algorithms["mean@1"], abi, provider);
 * ```
 */
export function loadArtifact(name: ContractName): Artifact {
  const relative = ARTIFACT_PATHS[name];
  if (relative === undefined) {
    throw new ContractsError("ARTIFACT_NOT_FOUND", `Unknown contract "${String(name)}".`);
  }
  const file = fileURLToPath(new URL(relative, ARTIFACTS_DIR));
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (cause) {
    throw new ContractsError(
      "ARTIFACT_NOT_FOUND",
      `No compiled artifact for ${name} at ${file}: run \`npm run build -w contracts\` first.`,
      { cause },
    );
  }
  let parsed: { abi?: unknown; bytecode?: unknown };
  try {
    parsed = JSON.parse(text) as { abi?: unknown; bytecode?: unknown };
  } catch (cause) {
    throw new ContractsError("ARTIFACT_INVALID", `Artifact ${file} is not valid JSON.`, { cause });
  }
  if (!Array.isArray(parsed.abi) || typeof parsed.bytecode !== "string" || !parsed.bytecode.startsWith("0x")) {
    throw new ContractsError(
      "ARTIFACT_INVALID",
      `Artifact ${file} has no abi/bytecode: run \`npm run build -w contracts\` again.`,
    );
  }
  return { abi: parsed.abi as InterfaceAbi, bytecode: parsed.bytecode };
}
