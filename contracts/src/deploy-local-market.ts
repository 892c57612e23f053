import { Contract } from "ethers";
import type { ContractTransactionResponse, Provider, Signer } from "ethers";
import type {
  ArtifactResolver,
  DeploymentResult,
  EIP1193Provider,
  ModuleParameters,
  SuccessfulDeploymentResult,
} from "@nomicfoundation/ignition-core";
import { futureIdOf, MARKET_DEFAULTS } from "../ignition/market-contracts.ts";
import type { HostParameter } from "../ignition/market-contracts.ts";
import { loadArtifact } from "./artifacts.ts";
import type { ContractName } from "./artifacts.ts";
import { MARKET_ALGORITHMS } from "./algorithms.ts";
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
  /** The PenaltyCourt: slashes a dataset's stake on two hosts' attestations of an offence. */
  penaltyCourt: string;
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
  /**
   * Pays for and owns everything (payment-token minter, LINK minter, Operator,
   * HostRegistry and factory owner); signs every transaction of the deployment.
   * Its provider must forward raw JSON-RPC (`send`): ethers' JsonRpcProvider
   * (with `batchMaxCount: 1`, or each of the deployment's calls stalls 10 ms)
   * or a Hardhat connection's `ethers.provider`.
   */
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
 * Default LINK fee per request: 0.1 LINK. Like every DEFAULT_* below, it is
 * the Ignition modules' default (MARKET_DEFAULTS in ignition/market-contracts.ts).
 *
 * @example
 * ```ts
 * await deployLocalMarket({ deployer, relay, linkFee: DEFAULT_LINK_FEE * 2n });
 * ```
 */
export const DEFAULT_LINK_FEE: bigint = MARKET_DEFAULTS.linkFee;

/**
 * Default LINK given to each AlgorithmComputation contract: 100 LINK (1000 requests).
 *
 * @example
 * ```ts
 * await deployLocalMarket({ deployer, relay, linkFunding: DEFAULT_LINK_FUNDING / 10n });
 * ```
 */
export const DEFAULT_LINK_FUNDING: bigint = MARKET_DEFAULTS.linkFunding;

/**
 * Default smallest dataset stake: 10 mUSD.
 *
 * @example
 * ```ts
 * await paymentToken.approve(addresses.registry, DEFAULT_MIN_STAKE);
 * ```
 */
export const DEFAULT_MIN_STAKE: bigint = MARKET_DEFAULTS.minStake;

/**
 * Default stake cooldown after deregistration: two hours, in seconds (longer
 * than {@link DEFAULT_REQUEST_TIMEOUT}, so every request that was pending at
 * deregistration is settled or refundable before the stake can leave).
 *
 * @example
 * ```ts
 * await deployLocalMarket({ deployer, relay, stakeCooldown: DEFAULT_STAKE_COOLDOWN * 24 });
 * ```
 */
export const DEFAULT_STAKE_COOLDOWN: number = Number(MARKET_DEFAULTS.stakeCooldown);

/**
 * Default operators' fee per request: 1 mUSD.
 *
 * @example
 * ```ts
 * const total = price + DEFAULT_OPERATOR_FEE; // what a buyer approves
 * ```
 */
export const DEFAULT_OPERATOR_FEE: bigint = MARKET_DEFAULTS.operatorFee;

/**
 * Default time from a request to its refundable deadline: one hour, in seconds.
 *
 * @example
 * ```ts
 * await deployLocalMarket({ deployer, relay, requestTimeout: DEFAULT_REQUEST_TIMEOUT / 60 });
 * ```
 */
export const DEFAULT_REQUEST_TIMEOUT: number = Number(MARKET_DEFAULTS.requestTimeout);

/** Ignition's block polling for the local deployment: an automined chain mines each batch at once. */
const BLOCK_POLLING_INTERVAL_MS = 20;

/** A provider that forwards raw JSON-RPC calls: ethers' JsonRpcProvider and Hardhat's HardhatEthersProvider. */
type RawRpcProvider = Provider & { send(method: string, params: unknown[]): Promise<unknown> };

/** Three hosts, each with the fields HostRegistry needs; throws INVALID_HOSTS otherwise. */
function checkHosts(hosts: readonly HostConfig[]): void {
  if (hosts.length !== 3) {
    throw new ContractsError("INVALID_HOSTS", `Exactly three hosts are needed, got ${hosts.length}.`);
  }
}

/** HostRegistry's `Host` struct, without any other field the caller's object may carry. */
function hostStruct({ operator, signer, endpoint, tlsFingerprint }: HostConfig): HostParameter {
  return { operator, signer, endpoint, tlsFingerprint };
}

/** What {@link setHosts} did for one host index. */
export type HostSetting = "set" | "proposed" | "unchanged";

/**
 * Registers the three MPC hosts in a HostRegistry, one mined transaction after
 * the other: an index nobody set yet is set at once (`setHost`); a registered
 * host that differs is replaced through `proposeHostChange`, which takes
 * effect only once the registry's `changeDelay` has passed and someone calls
 * {@link applyHostChanges}; an identical one is left alone. `owner` must own
 * the registry.
 *
 * @param hostRegistry - The HostRegistry, as a contract or an address.
 * @param owner - The registry's owner, connected to a provider.
 * @param hosts - Exactly three hosts, in host order.
 * @returns What was done per index.
 *
 * @example
 * ```ts
 * await setHosts(addresses.hostRegistry, deployer, [host0, host1, host2]); // ["set", "set", "set"]
 * ```
 */
export async function setHosts(hostRegistry: Contract | string, owner: Signer, hosts: readonly HostConfig[]): Promise<HostSetting[]> {
  checkHosts(hosts);
  const address = typeof hostRegistry === "string" ? hostRegistry : await hostRegistry.getAddress();
  const contract = new Contract(address, loadArtifact("HostRegistry").abi, owner);
  const current = (await contract.getFunction("getHosts")()) as HostParameter[];
  // Nonces are counted here so a provider's short response cache cannot hand out a stale one.
  let nonce = await owner.getNonce("pending");
  const done: HostSetting[] = [];
  for (const [index, host] of hosts.entries()) {
    const now = current[index];
    const wanted = hostStruct(host);
    const same =
      now.operator.toLowerCase() === wanted.operator.toLowerCase() &&
      now.signer.toLowerCase() === wanted.signer.toLowerCase() &&
      now.endpoint === wanted.endpoint &&
      now.tlsFingerprint.toLowerCase() === wanted.tlsFingerprint.toLowerCase();
    if (same) {
      done.push("unchanged");
      continue;
    }
    const action: HostSetting = BigInt(now.signer) === 0n ? "set" : "proposed";
    try {
      const method = action === "set" ? "setHost" : "proposeHostChange";
      const tx: ContractTransactionResponse = await contract.getFunction(method)(index, wanted, { nonce: nonce++ });
      const receipt = await tx.wait();
      if (receipt === null || receipt.status !== 1) throw new Error("transaction reverted or was dropped");
    } catch (cause) {
      throw new ContractsError("DEPLOYMENT_FAILED", `${action === "set" ? "Setting" : "Proposing a change of"} host ${index} in HostRegistry failed.`, { cause });
    }
    done.push(action);
  }
  return done;
}

/**
 * Applies every pending host change of a HostRegistry that is due (anyone may),
 * one mined transaction after the other; changes not yet due are left pending.
 *
 * @returns The indexes applied and, for those still waiting, when they fall due (unix seconds).
 * @example
 * ```ts
 * const { applied, waiting } = await applyHostChanges(addresses.hostRegistry, signer);
 * ```
 */
export async function applyHostChanges(
  hostRegistry: Contract | string,
  signer: Signer,
): Promise<{ applied: number[]; waiting: { index: number; effectiveAt: number }[] }> {
  const address = typeof hostRegistry === "string" ? hostRegistry : await hostRegistry.getAddress();
  const contract = new Contract(address, loadArtifact("HostRegistry").abi, signer);
  const latest = await signer.provider!.getBlock("latest");
  const now = BigInt(latest?.timestamp ?? Math.floor(Date.now() / 1000));
  const applied: number[] = [];
  const waiting: { index: number; effectiveAt: number }[] = [];
  for (const index of [0, 1, 2]) {
    const [, effectiveAt] = (await contract.getFunction("getPendingHostChange")(index)) as [unknown, bigint];
    if (effectiveAt === 0n) continue;
    if (effectiveAt > now) {
      waiting.push({ index, effectiveAt: Number(effectiveAt) });
      continue;
    }
    try {
      const receipt = await (await contract.getFunction("applyHostChange")(index)).wait();
      if (receipt === null || receipt.status !== 1) throw new Error("transaction reverted or was dropped");
    } catch (cause) {
      throw new ContractsError("DEPLOYMENT_FAILED", `Applying the pending change of host ${index} failed.`, { cause });
    }
    applied.push(index);
  }
  return { applied, waiting };
}

/** The node's own words for a failed call (ethers keeps them in `error.message`), else the error's message. */
function reasonOf(err: unknown): string {
  const e = err as { error?: { message?: unknown }; shortMessage?: unknown; message?: unknown } | null;
  if (typeof e?.error?.message === "string") return e.error.message;
  if (typeof e?.shortMessage === "string") return e.shortMessage;
  return typeof e?.message === "string" ? e.message : String(err);
}

/**
 * Ignition's view of the chain, as an EIP-1193 provider: reads go to the
 * deployer's provider as raw JSON-RPC, the deployer is the only account, and
 * Ignition's transactions (nonce, gas and fees already chosen) are signed and
 * sent by the deployer, so a plain private-key Wallet works as well as a node account.
 */
function ignitionProvider(deployer: Signer, provider: RawRpcProvider, address: string): EIP1193Provider {
  return {
    async request({ method, params }) {
      const args = Array.isArray(params) ? params : [];
      if (method === "eth_accounts") return [address];
      if (method === "eth_sendTransaction") {
        const tx = args[0] as Record<string, string | undefined>;
        const quantity = (value: string | undefined) => (value === undefined ? undefined : BigInt(value));
        try {
          const sent = await deployer.sendTransaction({
            from: tx.from,
            to: tx.to,
            data: tx.data,
            value: quantity(tx.value),
            nonce: tx.nonce === undefined ? undefined : Number(tx.nonce),
            gasLimit: quantity(tx.gas),
            gasPrice: quantity(tx.gasPrice),
            maxFeePerGas: quantity(tx.maxFeePerGas),
            maxPriorityFeePerGas: quantity(tx.maxPriorityFeePerGas),
          });
          return sent.hash;
        } catch (cause) {
          throw new Error(`sending a transaction from ${address} failed: ${reasonOf(cause)}`, { cause });
        }
      }
      return provider.send(method, args);
    },
  };
}

/** Ignition reads ABIs and bytecode from this package's build output; the market links no libraries. */
const ARTIFACT_RESOLVER: ArtifactResolver = {
  async loadArtifact(contractName) {
    const { abi, bytecode } = loadArtifact(contractName as ContractName);
    return {
      _format: "hh3-artifact-1",
      contractName,
      sourceName: "",
      abi: abi as unknown[],
      bytecode,
      deployedBytecode: "0x",
      linkReferences: {},
      deployedLinkReferences: {},
    };
  },
  async getBuildInfo() {
    return undefined;
  },
};

/** One line per failed, timed-out or invalid future of an unsuccessful Ignition deployment. */
function describeFailure(result: Exclude<DeploymentResult, SuccessfulDeploymentResult>): string {
  if ("errors" in result) {
    return Object.entries(result.errors)
      .map(([future, errors]) => `${future}: ${errors.join("; ")}`)
      .join("\n");
  }
  return [
    ...result.failed.map(({ futureId, error }) => `${futureId}: ${error}`),
    ...result.timedOut.map(({ futureId }) => `${futureId}: timed out`),
    ...result.held.map(({ futureId, reason }) => `${futureId}: held (${reason})`),
  ].join("\n");
}

/**
 * Deploys a complete local market by running the Ignition module LocalMarket
 * (`ignition/modules/LocalMarket.ts`): DevPaymentToken ("Market USD", "mUSD"),
 * Chainlink's LinkToken and Operator (with `relay` as authorized sender),
 * HostRegistry (with `hosts`, when given), DatasetRegistry (staking in mUSD),
 * AlgorithmFactory, and through it one AlgorithmComputation per algorithm
 * (job id `jobIdOf(name)`, each funded with LINK), and mints payment tokens
 * to each `fund` entry. The deployment is in memory: no journal is written, so
 * nothing is left to go stale when the development chain restarts empty. For
 * development chains only: the deployer can mint both tokens at will.
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
  const { deployer, relay, hosts } = opts;
  const provider = deployer.provider as Partial<RawRpcProvider> | null;
  if (provider === null || typeof provider.send !== "function") {
    throw new ContractsError("DEPLOYMENT_FAILED", "The deployer signer must be connected to a JSON-RPC provider.");
  }
  const rpc = provider as RawRpcProvider;
  if (hosts !== undefined) checkHosts(hosts);
  const algorithmNames = opts.algorithms ?? MARKET_ALGORITHMS;
  const linkFee = opts.linkFee ?? DEFAULT_LINK_FEE;
  const minStake = opts.minStake ?? DEFAULT_MIN_STAKE;
  const stakeCooldown = BigInt(opts.stakeCooldown ?? DEFAULT_STAKE_COOLDOWN);
  const operatorFee = opts.operatorFee ?? DEFAULT_OPERATOR_FEE;
  const requestTimeout = opts.requestTimeout ?? DEFAULT_REQUEST_TIMEOUT;

  // Loaded here, not at the top: everything else that imports this package
  // (the CLI's commands, the bridge, the relay) only needs ABIs.
  const [{ deploy, DeploymentResultType }, { buildLocalMarketModule }] = await Promise.all([
    import("@nomicfoundation/ignition-core"),
    import("../ignition/modules/LocalMarket.ts"),
  ]);
  const ignitionModule = buildLocalMarketModule({ algorithms: algorithmNames, hosts: hosts !== undefined, fund: opts.fund });
  const parameters: ModuleParameters = {
    relay,
    linkFunding: opts.linkFunding ?? DEFAULT_LINK_FUNDING,
    linkFee,
    minStake,
    stakeCooldown,
    operatorFee,
    requestTimeout: BigInt(requestTimeout),
  };
  hosts?.forEach((host, index) => {
    parameters[`host${index}`] = hostStruct(host);
  });

  const deployerAddress = await deployer.getAddress();
  let result: DeploymentResult;
  let firstBlock: number;
  let chainId: number;
  try {
    chainId = Number(await rpc.send("eth_chainId", []));
    // Raw calls rather than provider.getBlockNumber(), whose answer may be up to 250 ms old.
    firstBlock = Number(await rpc.send("eth_blockNumber", [])) + 1;
    result = await deploy({
      config: { blockPollingInterval: BLOCK_POLLING_INTERVAL_MS },
      artifactResolver: ARTIFACT_RESOLVER,
      provider: ignitionProvider(deployer, rpc, deployerAddress),
      ignitionModule,
      deploymentParameters: { [ignitionModule.id]: parameters },
      accounts: [deployerAddress],
      defaultSender: deployerAddress,
    });
  } catch (cause) {
    throw new ContractsError("DEPLOYMENT_FAILED", `The LocalMarket Ignition deployment failed: ${reasonOf(cause)}`, { cause });
  }
  if (result.type !== DeploymentResultType.SUCCESSFUL_DEPLOYMENT) {
    throw new ContractsError("DEPLOYMENT_FAILED", `The LocalMarket Ignition deployment failed (${result.type}):\n${describeFailure(result)}`);
  }
  const { contracts } = result;
  const addressOf = (future: { id: string }): string => contracts[future.id].address;
  // The module's results by name; algorithms are keyed by futureIdOf(name).
  const futures: Record<string, { id: string }> = ignitionModule.results;
  const algorithms: Record<string, string> = {};
  for (const name of algorithmNames) algorithms[name] = addressOf(futures[futureIdOf(name)]);

  return {
    chainId,
    paymentToken: addressOf(futures.paymentToken),
    linkToken: addressOf(futures.linkToken),
    operator: addressOf(futures.operator),
    registry: addressOf(futures.registry),
    hostRegistry: addressOf(futures.hostRegistry),
    factory: addressOf(futures.factory),
    penaltyCourt: addressOf(futures.penaltyCourt),
    algorithms,
    linkFee: linkFee.toString(),
    operatorFee: operatorFee.toString(),
    requestTimeout,
    minStake: minStake.toString(),
    stakeCooldown: Number(stakeCooldown),
    deployBlock: firstBlock,
  };
}
