import { Contract, ContractFactory, parseEther } from "ethers";
import type { BaseContract, ContractTransactionResponse, Signer, TransactionReceipt } from "ethers";
import { loadArtifact } from "./artifacts.ts";
import type { ContractName } from "./artifacts.ts";
import { jobIdOf, MARKET_ALGORITHMS } from "./algorithms.ts";
import { ContractsError } from "./errors.ts";

/**
 * Where a market lives on one chain; what every other part needs to talk to it.
 * Amounts and the job id are strings so the object round-trips through JSON.
 *
 * @example
 * ```ts
 * const addresses: MarketAddresses = JSON.parse(readFileSync("market.json", "utf8"));
 * const sum = new ethers.Contract(addresses.algorithms["sum@1"], loadArtifact("AlgorithmComputation").abi, provider);
 * ```
 */
export interface MarketAddresses {
  chainId: number;
  paymentToken: string;
  linkToken: string;
  operator: string;
  registry: string;
  /** One AlgorithmComputation contract per algorithm, by `name@version`. */
  algorithms: Record<string, string>;
  /** LINK paid per request, in juels, as a decimal string. */
  linkFee: string;
  /** Block of the first deployment: where event scans should start. */
  deployBlock: number;
}

/**
 * Options of {@link deployLocalMarket}.
 *
 * @example
 * ```ts
 * const opts: DeployLocalMarketOptions = { deployer, relay: await relay.getAddress() };
 * ```
 */
export interface DeployLocalMarketOptions {
  /** Pays for and owns everything (payment-token minter, LINK minter, Operator owner). */
  deployer: Signer;
  /** The account the bridge relay fulfils from; made an authorized sender of the Operator. */
  relay: string;
  /** Payment tokens (mUSD, 18 decimals) to mint, e.g. to buyers. */
  fund?: { address: string; amount: bigint }[];
  /** LINK to give each AlgorithmComputation contract for request fees; default 100 LINK. */
  linkFunding?: bigint;
  /** Algorithms to deploy a contract for; default {@link MARKET_ALGORITHMS}. */
  algorithms?: readonly string[];
  /** LINK per request; default {@link DEFAULT_LINK_FEE}. */
  linkFee?: bigint;
}

/**
 * Default LINK fee per request: 0.1 LINK.
 *
 * @example
 * ```ts
 * await deployLocalMarket({ deployer, relay, linkFee: DEFAULT_LINK_FEE * 2n });
 * ```
 */
export const DEFAULT_LINK_FEE: bigint = parseEther("0.1");

/**
 * Default LINK given to each AlgorithmComputation contract: 100 LINK (1000 requests).
 *
 * @example
 * ```ts
 * await deployLocalMarket({ deployer, relay, linkFunding: DEFAULT_LINK_FUNDING / 10n });
 * ```
 */
export const DEFAULT_LINK_FUNDING: bigint = parseEther("100");

/**
 * Deploys a complete local market: DevPaymentToken ("Market USD", "mUSD"),
 * Chainlink's LinkToken and Operator (with `relay` as authorized sender),
 * DatasetRegistry and one AlgorithmComputation per algorithm (each funded
 * with LINK, job id {@link jobIdOf}), then mints payment
 * tokens to each `fund` entry. Every transaction is mined before the next is
 * sent, with nonces counted here so a provider's short response cache cannot
 * hand out a stale one. For development chains only: the deployer can mint
 * both tokens at will.
 *
 * @param opts - See {@link DeployLocalMarketOptions}.
 * @returns The addresses and parameters of the new market.
 *
 * @example
 * ```ts
 * import { JsonRpcProvider } from "ethers";
 * import { deployLocalMarket } from "@scmpc/contracts";
 *
 * const provider = new JsonRpcProvider("http://127.0.0.1:8545");
 * const deployer = await provider.getSigner(0);
 * const relay = await provider.getSigner(1);
 * const market = await deployLocalMarket({
 *   deployer,
 *   relay: await relay.getAddress(),
 *   fund: [{ address: buyer, amount: 1_000n * 10n ** 18n }],
 * });
 * console.log(market.algorithms["sum@1"]);
 * ```
 */
export async function deployLocalMarket(opts: DeployLocalMarketOptions): Promise<MarketAddresses> {
  const { deployer, relay } = opts;
  const provider = deployer.provider;
  if (provider === null) {
    throw new ContractsError("DEPLOYMENT_FAILED", "The deployer signer must be connected to a provider.");
  }
  const algorithmNames = opts.algorithms ?? MARKET_ALGORITHMS;
  const linkFee = opts.linkFee ?? DEFAULT_LINK_FEE;
  const linkFunding = opts.linkFunding ?? DEFAULT_LINK_FUNDING;
  const deployerAddress = await deployer.getAddress();
  const { chainId } = await provider.getNetwork();

  let nonce = await deployer.getNonce("pending");
  const next = (): { nonce: number } => ({ nonce: nonce++ });

  const deploy = async (name: ContractName, args: unknown[]): Promise<{ contract: Contract; receipt: TransactionReceipt }> => {
    const { abi, bytecode } = loadArtifact(name);
    const factory = new ContractFactory(abi, bytecode, deployer);
    let receipt: TransactionReceipt | null;
    try {
      const deployed: BaseContract = await factory.deploy(...args, next());
      receipt = (await deployed.deploymentTransaction()?.wait()) ?? null;
    } catch (cause) {
      throw new ContractsError("DEPLOYMENT_FAILED", `Deployment of ${name} failed.`, { cause });
    }
    if (receipt === null || receipt.contractAddress === null) {
      throw new ContractsError("DEPLOYMENT_FAILED", `Deployment of ${name} was not mined.`);
    }
    return { contract: new Contract(receipt.contractAddress, abi, deployer), receipt };
  };
  const send = async (what: string, pending: Promise<ContractTransactionResponse>): Promise<void> => {
    try {
      const receipt = await (await pending).wait();
      if (receipt === null || receipt.status !== 1) throw new Error("transaction reverted or was dropped");
    } catch (cause) {
      throw new ContractsError("DEPLOYMENT_FAILED", `Local market deployment failed at: ${what}.`, { cause });
    }
  };

  const { contract: paymentToken, receipt: first } = await deploy("DevPaymentToken", ["Market USD", "mUSD"]);
  const { contract: linkToken } = await deploy("LinkToken", []);
  const linkAddress = await linkToken.getAddress();
  const { contract: operator } = await deploy("Operator", [linkAddress, deployerAddress]);
  const operatorAddress = await operator.getAddress();
  await send("Operator.setAuthorizedSenders", operator.getFunction("setAuthorizedSenders")([relay], next()));
  const { contract: registry } = await deploy("DatasetRegistry", []);
  const registryAddress = await registry.getAddress();
  const paymentTokenAddress = await paymentToken.getAddress();
  const algorithms: Record<string, string> = {};
  for (const name of algorithmNames) {
    const { contract } = await deploy("AlgorithmComputation", [
      linkAddress,
      operatorAddress,
      jobIdOf(name),
      linkFee,
      paymentTokenAddress,
      registryAddress,
      name,
    ]);
    algorithms[name] = await contract.getAddress();
  }

  await send("LinkToken.grantMintRole", linkToken.getFunction("grantMintRole")(deployerAddress, next()));
  if (linkFunding > 0n) {
    for (const [name, address] of Object.entries(algorithms)) {
      await send(`LinkToken.mint(${name})`, linkToken.getFunction("mint")(address, linkFunding, next()));
    }
  }
  for (const { address, amount } of opts.fund ?? []) {
    await send(`DevPaymentToken.mint(${address})`, paymentToken.getFunction("mint")(address, amount, next()));
  }

  return {
    chainId: Number(chainId),
    paymentToken: paymentTokenAddress,
    linkToken: linkAddress,
    operator: operatorAddress,
    registry: registryAddress,
    algorithms,
    linkFee: linkFee.toString(),
    deployBlock: first.blockNumber,
  };
}
