import { Contract } from "ethers";
import type { ContractRunner, Signer } from "ethers";
import { loadArtifact } from "./artifacts.ts";
import { ContractsError } from "./errors.ts";

/** One algorithm contract after {@link fundAlgorithmsWithLink}. */
export interface FundedAlgorithm {
  name: string;
  address: string;
  /** Its LINK balance afterwards, in juels. */
  link: bigint;
  /** Requests that balance pays for at the contract's `linkFee`. */
  requests: bigint;
}

/**
 * Sends every algorithm contract the factory lists `amount` LINK juels from
 * `funder` (each pays the Chainlink operator `linkFee` per request), one mined
 * transfer after the other, and reports the balances.
 *
 * @throws ContractsError `DEPLOYMENT_FAILED` when a transfer fails (the funder lacks LINK, ...)
 * @example
 * ```ts
 * await fundAlgorithmsWithLink(addresses.factory, deployer, parseEther("10"));
 * ```
 */
export async function fundAlgorithmsWithLink(factoryAddress: string, funder: Signer, amount: bigint): Promise<FundedAlgorithm[]> {
  const factory = new Contract(factoryAddress, loadArtifact("AlgorithmFactory").abi, funder);
  const link = new Contract(await factory.getFunction("linkToken")(), loadArtifact("LinkToken").abi, funder);
  const count = Number(await factory.getFunction("algorithmCount")());
  const funded: FundedAlgorithm[] = [];
  let nonce = await funder.getNonce("pending");
  for (let i = 0; i < count; i++) {
    const [name, address] = (await factory.getFunction("algorithmAt")(i)) as [string, string];
    try {
      const receipt = await (await link.getFunction("transfer")(address, amount, { nonce: nonce++ })).wait();
      if (receipt === null || receipt.status !== 1) throw new Error("transaction reverted or was dropped");
    } catch (cause) {
      throw new ContractsError("DEPLOYMENT_FAILED", `Sending ${amount} juels of LINK to ${name} (${address}) failed.`, { cause });
    }
    const computation = new Contract(address, loadArtifact("AlgorithmComputation").abi, funder);
    const [balance, fee] = (await Promise.all([link.getFunction("balanceOf")(address), computation.getFunction("linkFee")()])) as [bigint, bigint];
    funded.push({ name, address, link: balance, requests: fee === 0n ? 0n : balance / fee });
  }
  return funded;
}

/** One algorithm contract as {@link marketWiring} found it. */
export interface WiredAlgorithm {
  name: string;
  address: string;
  /** Whether the registry lets it spend and give back datasets' privacy budget. */
  authorized: boolean;
}

/** How a market's DatasetRegistry and AlgorithmFactory are tied together. */
export interface MarketWiring {
  /** The DatasetRegistry the factory's computations use. */
  registry: string;
  /** The factory the registry names (zero address: none yet, so nothing can be bought). */
  registryFactory: string;
  /** Every algorithm the factory lists. */
  algorithms: WiredAlgorithm[];
  /** The registry names this factory and authorizes every one of its algorithms. */
  ok: boolean;
}

/**
 * Reads whether a market's registry trusts exactly its factory's computations:
 * the registry must name the factory (`algorithmFactory`) and list every
 * algorithm the factory created as a computation (`isComputation`). A
 * deployment by the Ignition modules is wired this way; this checks one.
 *
 * @param factoryAddress - The market's AlgorithmFactory.
 * @param runner - A provider or signer to read with.
 * @returns The wiring and whether it is complete.
 * @example
 * ```ts
 * const { ok, algorithms } = await marketWiring(addresses.factory, provider);
 * ```
 */
export async function marketWiring(factoryAddress: string, runner: ContractRunner): Promise<MarketWiring> {
  const factory = new Contract(factoryAddress, loadArtifact("AlgorithmFactory").abi, runner);
  const registryAddress = (await factory.getFunction("registry")()) as string;
  const registry = new Contract(registryAddress, loadArtifact("DatasetRegistry").abi, runner);
  const registryFactory = (await registry.getFunction("algorithmFactory")()) as string;
  const count = Number(await factory.getFunction("algorithmCount")());
  const algorithms: WiredAlgorithm[] = [];
  for (let i = 0; i < count; i++) {
    const [name, address] = (await factory.getFunction("algorithmAt")(i)) as [string, string];
    algorithms.push({ name, address, authorized: (await registry.getFunction("isComputation")(address)) as boolean });
  }
  const ok = registryFactory.toLowerCase() === factoryAddress.toLowerCase() && algorithms.every((a) => a.authorized);
  return { registry: registryAddress, registryFactory, algorithms, ok };
}
