/**
 * Operating a deployed market from configuration: fund the algorithm
 * contracts with LINK, or (re)register the host set. Runs on the Hardhat
 * network named by SCMPC_NETWORK (default `target`, whose RPC URL and key are
 * the configuration variables SCMPC_DEPLOY_RPC_URL and SCMPC_DEPLOYER_KEY),
 * and finds the market in an Ignition deployment directory.
 *
 * Usage (from the repository root):
 *   npm run market -w contracts -- fund-link --deployment ignition/deployments/chain-11155111 --amount 10
 *   npm run market -w contracts -- set-hosts --deployment ignition/deployments/chain-11155111 --hosts hosts.json
 *
 * `--amount` is LINK per algorithm contract (decimal); `hosts.json` holds
 * `[host0, host1, host2]`, each `{ operator, signer, endpoint, tlsFingerprint }`
 * (as in the Market module's parameters). `set-hosts` needs the HostRegistry's owner's key.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { network } from "hardhat";
import { parseEther } from "ethers";
import { fundAlgorithmsWithLink, setHosts } from "../src/index.ts";
import type { HostConfig } from "../src/index.ts";

const USAGE = "usage: market.ts fund-link|set-hosts --deployment <ignition deployment dir> [--amount <LINK>] [--hosts <hosts.json>]";
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { deployment: { type: "string" }, amount: { type: "string" }, hosts: { type: "string" } },
});
const [action] = positionals;
if ((action !== "fund-link" && action !== "set-hosts") || values.deployment === undefined) {
  console.error(USAGE);
  process.exit(2);
}

/** The address Ignition recorded for the future whose id ends with `#<name>`. */
async function deployed(name: string): Promise<string> {
  const file = path.join(path.resolve(values.deployment!), "deployed_addresses.json");
  const addresses = JSON.parse(await readFile(file, "utf8")) as Record<string, string>;
  const entry = Object.entries(addresses).find(([id]) => id.endsWith(`#${name}`));
  if (entry === undefined) throw new Error(`${file} lists no ${name}`);
  return entry[1];
}

const connection = await network.connect({ network: process.env.SCMPC_NETWORK ?? "target" });
try {
  const [signer] = await connection.ethers.getSigners();
  if (action === "fund-link") {
    if (values.amount === undefined || !/^\d+(\.\d+)?$/.test(values.amount)) throw new Error(`--amount <LINK per algorithm> is required; got "${values.amount ?? ""}"`);
    for (const funded of await fundAlgorithmsWithLink(await deployed("AlgorithmFactory"), signer, parseEther(values.amount))) {
      console.log(`${funded.name.padEnd(14)} ${funded.address}  ${funded.link} juels (${funded.requests} requests)`);
    }
  } else {
    if (values.hosts === undefined) throw new Error("--hosts <hosts.json> is required");
    const hosts = JSON.parse(await readFile(values.hosts, "utf8")) as HostConfig[];
    await setHosts(await deployed("HostRegistry"), signer, hosts);
    console.log(`hosts registered: ${hosts.map((h) => h.endpoint).join(", ")}`);
  }
} catch (err) {
  console.error(`error: ${(err as Error).message}`);
  process.exitCode = 1;
} finally {
  await connection.close();
}
