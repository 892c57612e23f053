/**
 * Deploys a local market to a running development chain (e.g. `npx hardhat
 * node`) with the Ignition module LocalMarket (through `deployLocalMarket`,
 * in memory: no journal) and prints its {@link MarketAddresses} as JSON on stdout.
 *
 * Usage (from the repository root):
 *   tsx contracts/scripts/deploy-local.ts [--rpc URL] [--relay ADDRESS] [--out FILE]
 *     [--fund ADDRESS=AMOUNT_IN_TOKENS ...]
 *     [--host OPERATOR,SIGNER,ENDPOINT,TLS_FINGERPRINT (three times, in host order)]
 * Environment fallbacks: RPC_URL (default http://127.0.0.1:8545), RELAY_ADDRESS
 * (default: the node's second account), DEPLOYER_PRIVATE_KEY (default: the
 * node's first account, via eth_sendTransaction).
 *
 * @example
 * ```sh
 * tsx contracts/scripts/deploy-local.ts --rpc http://127.0.0.1:8545 --out .scmpc/market.json
 * ```
 */
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { JsonRpcProvider, Wallet, getAddress, parseEther } from "ethers";
import type { Signer } from "ethers";
import { deployLocalMarket } from "../src/index.ts";
import type { HostConfig } from "../src/index.ts";

interface DeployConfig {
  rpcUrl: string;
  relay: string | undefined;
  deployerKey: string | undefined;
  out: string | undefined;
  fund: { address: string; amount: bigint }[];
  hosts: HostConfig[] | undefined;
}

function readConfig(): DeployConfig {
  const { values } = parseArgs({
    options: {
      rpc: { type: "string" },
      relay: { type: "string" },
      out: { type: "string" },
      fund: { type: "string", multiple: true },
      host: { type: "string", multiple: true },
    },
  });
  const hostArgs = values.host ?? [];
  if (hostArgs.length !== 0 && hostArgs.length !== 3) {
    throw new Error(`--host must be given three times (hosts 0, 1, 2), got ${hostArgs.length}`);
  }
  const hosts = hostArgs.map((entry): HostConfig => {
    const [operator, signer, endpoint, tlsFingerprint] = entry.split(",");
    if (operator === undefined || signer === undefined || endpoint === undefined || tlsFingerprint === undefined) {
      throw new Error(`--host expects OPERATOR,SIGNER,ENDPOINT,TLS_FINGERPRINT, got "${entry}"`);
    }
    return { operator: getAddress(operator), signer: getAddress(signer), endpoint, tlsFingerprint };
  });
  const fund = (values.fund ?? []).map((entry) => {
    const [address, amount] = entry.split("=");
    if (address === undefined || amount === undefined) {
      throw new Error(`--fund expects ADDRESS=AMOUNT, got "${entry}"`);
    }
    return { address: getAddress(address), amount: parseEther(amount) };
  });
  const relay = values.relay ?? process.env.RELAY_ADDRESS;
  return {
    rpcUrl: values.rpc ?? process.env.RPC_URL ?? "http://127.0.0.1:8545",
    relay: relay === undefined ? undefined : getAddress(relay),
    deployerKey: process.env.DEPLOYER_PRIVATE_KEY,
    out: values.out,
    fund,
    hosts: hosts.length === 0 ? undefined : hosts,
  };
}

async function main(): Promise<void> {
  const config = readConfig();
  // batchMaxCount 1: the deployment's calls go one after the other, and batching stalls each by 10 ms.
  const provider = new JsonRpcProvider(config.rpcUrl, undefined, { pollingInterval: 100, batchMaxCount: 1 });
  const deployer: Signer =
    config.deployerKey === undefined ? await provider.getSigner(0) : new Wallet(config.deployerKey, provider);
  const relay = config.relay ?? (await (await provider.getSigner(1)).getAddress());
  const market = await deployLocalMarket({ deployer, relay, fund: config.fund, hosts: config.hosts });
  const json = JSON.stringify(market, null, 2);
  if (config.out !== undefined) writeFileSync(config.out, `${json}\n`);
  process.stdout.write(`${json}\n`);
  provider.destroy();
}

main().catch((err: unknown) => {
  process.stderr.write(`deploy-local failed: ${err instanceof Error ? err.message : String(err)}\n`);
  if (err instanceof Error && err.cause !== undefined) process.stderr.write(`  cause: ${String(err.cause)}\n`);
  process.exitCode = 1;
});
