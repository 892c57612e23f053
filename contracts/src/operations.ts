import { Contract } from "ethers";
import type { Signer } from "ethers";
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
