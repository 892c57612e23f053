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
  /** The HostRegistry: the three MPC hosts' operators, signers, endpoints and TLS fingerprints. */
  hostRegistry: string;
  /** The AlgorithmFactory that deployed (and lists) the AlgorithmComputation contracts. */
  factory: string;
  /** One AlgorithmComputation contract per algorithm, by `name@version`. */
  algorithms: Record<string, string>;
  /** LINK paid per request, in juels, as a decimal string. */
  linkFee: string;
  /** Payment tokens each request pays the hosts' operators, as a decimal string. */
  operatorFee: string;
  /** Seconds from a request to its refundable deadline. */
  requestTimeout: number;
  /** Smallest stake a dataset is registered with, in payment tokens, as a decimal string. */
  minStake: string;
  /** Seconds a dataset's stake stays locked after deregistration. */
  stakeCooldown: number;
  /** Block of the first deployment: where event scans should start. */
  deployBlock: number;
}

/**
 * One MPC host as {@link setHosts} registers it (HostRegistry's `Host` struct).
 *
 * @example
 * ```ts
 * const host: HostConfig = { operator, signer: wallet.address, endpoint: "127.0.0.1:50051", tlsFingerprint: ZeroHash };
 * ```
 */
export interface HostConfig {
  /** Who runs the host; receives a third of the distributed operators' fees. */
  operator: string;
  /** The address whose EIP-191 signatures over results the market accepts. */
  signer: string;
  /** The host's gRPC endpoint, e.g. "127.0.0.1:50051". */
  endpoint: string;
  /** 0x-prefixed 32 bytes: SHA-256 of the host's DER TLS certificate. */
  tlsFingerprint: string;
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
  /** Pays for and owns everything (payment-token minter, LINK minter, Operator, HostRegistry and factory owner). */
  deployer: Signer;
  /** The account the bridge relay fulfils from; made an authorized sender of the Operator. */
  relay: string;
  /** The three MPC hosts, in host order; when omitted the HostRegistry stays empty (set it later with {@link setHosts}). */
  hosts?: HostConfig[];
  /** Payment tokens (mUSD, 18 decimals) to mint, e.g. to buyers and sellers. */
  fund?: { address: string; amount: bigint }[];
  /** LINK to give each AlgorithmComputation contract for request fees; default 100 LINK. */
  linkFunding?: bigint;
  /** Algorithms to deploy a contract for; default {@link MARKET_ALGORITHMS}. */
  algorithms?: readonly string[];
  /** LINK per request; default {@link DEFAULT_LINK_FEE}. */
  linkFee?: bigint;
  /** Smallest dataset stake; default {@link DEFAULT_MIN_STAKE}. */
  minStake?: bigint;
  /** Seconds a stake stays locked after deregistration; default {@link DEFAULT_STAKE_COOLDOWN}. */
  stakeCooldown?: bigint | number;
  /** Payment tokens per request for the hosts' operators; default {@link DEFAULT_OPERATOR_FEE}. */
  operatorFee?: bigint;
  /** Seconds from a request to its refundable deadline; default {@link DEFAULT_REQUEST_TIMEOUT}. */
  requestTimeout?: number;
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
 * Default smallest dataset stake: 10 mUSD.
 *
 * @example
 * ```ts
 * await paymentToken.approve(addresses.registry, DEFAULT_MIN_STAKE);
 * ```
 */
export const DEFAULT_MIN_STAKE: bigint = parseEther("10");

/**
 * Default stake cooldown after deregistration: one hour, in seconds.
 *
 * @example
 * ```ts
 * await deployLocalMarket({ deployer, relay, stakeCooldown: DEFAULT_STAKE_COOLDOWN * 24 });
 * ```
 */
export const DEFAULT_STAKE_COOLDOWN = 3600;

/**
 * Default operators' fee per request: 1 mUSD.
 *
 * @example
 * ```ts
 * const total = price + DEFAULT_OPERATOR_FEE; // what a buyer approves
 * ```
 */
export const DEFAULT_OPERATOR_FEE: bigint = parseEther("1");

/**
 * Default time from a request to its refundable deadline: one hour, in seconds.
 *
 * @example
 * ```ts
 * await deployLocalMarket({ deployer, relay, requestTimeout: DEFAULT_REQUEST_TIMEOUT / 60 });
 * ```
 */
export const DEFAULT_REQUEST_TIMEOUT = 3600;

type Overrides = { nonce: number };

/** Sends one transaction and waits for it, wrapping any failure in a DEPLOYMENT_FAILED error. */
async function send(what: string, pending: Promise<ContractTransactionResponse>): Promise<void> {
  try {
    const receipt = await (await pending).wait();
    if (receipt === null || receipt.status !== 1) throw new Error("transaction reverted or was dropped");
  } catch (cause) {
    throw new ContractsError("DEPLOYMENT_FAILED", `Local market deployment failed at: ${what}.`, { cause });
  }
}

/** Three hosts, each with the fields HostRegistry needs; throws INVALID_HOSTS otherwise. */
function checkHosts(hosts: readonly HostConfig[]): void {
  if (hosts.length !== 3) {
    throw new ContractsError("INVALID_HOSTS", `Exactly three hosts are needed, got ${hosts.length}.`);
  }
}

async function sendSetHosts(
  hostRegistry: Contract,
  hosts: readonly HostConfig[],
  next: () => Overrides,
): Promise<void> {
  checkHosts(hosts);
  for (const [index, host] of hosts.entries()) {
    const { operator, signer, endpoint, tlsFingerprint } = host;
    await send(
      `HostRegistry.setHost(${index})`,
      hostRegistry.getFunction("setHost")(index, { operator, signer, endpoint, tlsFingerprint }, next()),
    );
  }
}

/**
 * Registers the three MPC hosts in a HostRegistry (`setHost(0..2)`), one mined
 * transaction after the other. `owner` must own the registry.
 *
 * @param hostRegistry - The HostRegistry, as a contract or an address.
 * @param owner - The registry's owner, connected to a provider.
 * @param hosts - Exactly three hosts, in host order.
 *
 * @example
 * ```ts
 * await setHosts(addresses.hostRegistry, deployer, [host0, host1, host2]);
 * ```
 */
export async function setHosts(hostRegistry: Contract | string, owner: Signer, hosts: readonly HostConfig[]): Promise<void> {
  checkHosts(hosts);
  const address = typeof hostRegistry === "string" ? hostRegistry : await hostRegistry.getAddress();
  const contract = new Contract(address, loadArtifact("HostRegistry").abi, owner);
  let nonce = await owner.getNonce("pending");
  await sendSetHosts(contract, hosts, () => ({ nonce: nonce++ }));
}

/**
 * Deploys a complete local market: DevPaymentToken ("Market USD", "mUSD"),
 * Chainlink's LinkToken and Operator (with `relay` as authorized sender),
 * HostRegistry (with `hosts`, when given), DatasetRegistry (staking in mUSD),
 * AlgorithmFactory, and through it one AlgorithmComputation per algorithm
 * (job id {@link jobIdOf}, each funded with LINK), then mints payment tokens
 * to each `fund` entry. Every transaction is mined before the next is sent,
 * with nonces counted here so a provider's short response cache cannot hand
 * out a stale one. For development chains only: the deployer can mint both
 * tokens at will.
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
 *   hosts, // three { operator, signer, endpoint, tlsFingerprint }
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
  if (opts.hosts !== undefined) checkHosts(opts.hosts);
  const algorithmNames = opts.algorithms ?? MARKET_ALGORITHMS;
  const linkFee = opts.linkFee ?? DEFAULT_LINK_FEE;
  const linkFunding = opts.linkFunding ?? DEFAULT_LINK_FUNDING;
  const minStake = opts.minStake ?? DEFAULT_MIN_STAKE;
  const stakeCooldown = BigInt(opts.stakeCooldown ?? DEFAULT_STAKE_COOLDOWN);
  const operatorFee = opts.operatorFee ?? DEFAULT_OPERATOR_FEE;
  const requestTimeout = opts.requestTimeout ?? DEFAULT_REQUEST_TIMEOUT;
  const deployerAddress = await deployer.getAddress();
  const { chainId } = await provider.getNetwork();

  let nonce = await deployer.getNonce("pending");
  const next = (): Overrides => ({ nonce: nonce++ });

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

  const { contract: paymentToken, receipt: first } = await deploy("DevPaymentToken", ["Market USD", "mUSD"]);
  const paymentTokenAddress = await paymentToken.getAddress();
  const { contract: linkToken } = await deploy("LinkToken", []);
  const linkAddress = await linkToken.getAddress();
  const { contract: operator } = await deploy("Operator", [linkAddress, deployerAddress]);
  const operatorAddress = await operator.getAddress();
  await send("Operator.setAuthorizedSenders", operator.getFunction("setAuthorizedSenders")([relay], next()));
  const { contract: hostRegistry } = await deploy("HostRegistry", []);
  const hostRegistryAddress = await hostRegistry.getAddress();
  if (opts.hosts !== undefined) await sendSetHosts(hostRegistry, opts.hosts, next);
  const { contract: registry } = await deploy("DatasetRegistry", [paymentTokenAddress, minStake, stakeCooldown]);
  const registryAddress = await registry.getAddress();
  const { contract: factory } = await deploy("AlgorithmFactory", [
    linkAddress,
    operatorAddress,
    paymentTokenAddress,
    registryAddress,
    hostRegistryAddress,
    linkFee,
    requestTimeout,
  ]);
  const algorithms: Record<string, string> = {};
  for (const name of algorithmNames) {
    await send(
      `AlgorithmFactory.createAlgorithm(${name})`,
      factory.getFunction("createAlgorithm")(name, jobIdOf(name), operatorFee, next()),
    );
    algorithms[name] = (await factory.getFunction("getAlgorithm")(name)) as string;
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
    hostRegistry: hostRegistryAddress,
    factory: await factory.getAddress(),
    algorithms,
    linkFee: linkFee.toString(),
    operatorFee: operatorFee.toString(),
    requestTimeout,
    minStake: minStake.toString(),
    stakeCooldown: Number(stakeCooldown),
    deployBlock: first.blockNumber,
  };
}
