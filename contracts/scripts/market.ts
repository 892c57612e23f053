/**
 * Operating a deployed market from configuration: fund the algorithm
 * contracts with LINK, register or change the host set, and apply host
 * changes once their delay has passed. Runs on the Hardhat
 * network named by SCMPC_NETWORK (default `target`, whose RPC URL and key are
 * the configuration variables SCMPC_DEPLOY_RPC_URL and SCMPC_DEPLOYER_KEY),
 * and finds the market in an Ignition deployment directory.
 *
 * Usage (from the repository root):
 *   npm run market -w contracts -- fund-link --deployment ignition/deployments/chain-11155111 --amount 10
 *   npm run market -w contracts -- set-hosts --deployment ignition/deployments/chain-11155111 --hosts hosts.json
 *   npm run market -w contracts -- apply-hosts --deployment ignition/deployments/chain-11155111
 *
 * `--amount` is LINK per algorithm contract (decimal); `hosts.json` holds
 * `[host0, host1, host2]`, each `{ operator, signer, endpoint, tlsFingerprint }`
 * (as in the Market module's parameters). `set-hosts` needs the HostRegistry's
 * owner's key: it sets an index nobody set yet at once, and only proposes a
 * change of a registered host, which `apply-hosts` (any funded key) applies
 * once the registry's `changeDelay` has passed.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import { network } from "hardhat";
import { Contract, parseEther } from "ethers";
import { applyHostChanges, fundAlgorithmsWithLink, loadArtifact, setHosts } from "../src/index.ts";
import type { HostConfig } from "../src/index.ts";

const ACTIONS = ["fund-link", "set-hosts", "apply-hosts"];
const USAGE = `usage: market.ts ${ACTIONS.join("|")} --deployment <ignition deployment dir> [--amount <LINK>] [--hosts <hosts.json>]`;
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { deployment: { type: "string" }, amount: { type: "string" }, hosts: { type: "string" } },
});
const [action] = positionals;
if (action === undefined || !ACTIONS.includes(action) || values.deployment === undefined) {
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

/** A unix time as an ISO date and how far it is from `now`. */
function when(effectiveAt: number, now: number): string {
  const seconds = Math.max(0, effectiveAt - now);
  const hours = Math.floor(seconds / 3600);
  const minutes = Math.ceil((seconds % 3600) / 60);
  return `${new Date(effectiveAt * 1000).toISOString()} (in ${hours} h ${minutes} min)`;
}

const connection = await network.connect({ network: process.env.SCMPC_NETWORK ?? "target" });
try {
  const [signer] = await connection.ethers.getSigners();
  if (action === "fund-link") {
    if (values.amount === undefined || !/^\d+(\.\d+)?$/.test(values.amount)) throw new Error(`--amount <LINK per algorithm> is required; got "${values.amount ?? ""}"`);
    for (const funded of await fundAlgorithmsWithLink(await deployed("AlgorithmFactory"), signer, parseEther(values.amount))) {
      console.log(`${funded.name.padEnd(14)} ${funded.address}  ${funded.link} juels (${funded.requests} requests)`);
    }
  } else if (action === "set-hosts") {
    if (values.hosts === undefined) throw new Error("--hosts <hosts.json> is required");
    const hosts = JSON.parse(await readFile(values.hosts, "utf8")) as HostConfig[];
    const registryAddress = await deployed("HostRegistry");
    const done = await setHosts(registryAddress, signer, hosts);
    const registry = new Contract(registryAddress, loadArtifact("HostRegistry").abi, signer);
    const now = (await connection.ethers.provider.getBlock("latest"))!.timestamp;
    for (const [index, setting] of done.entries()) {
      const endpoint = hosts[index].endpoint;
      if (setting === "set") console.log(`host ${index}: set (${endpoint})`);
      else if (setting === "unchanged") console.log(`host ${index}: unchanged (${endpoint})`);
      else {
        const [, effectiveAt] = (await registry.getFunction("getPendingHostChange")(index)) as [unknown, bigint];
        console.log(`host ${index}: change proposed (${endpoint}), due ${when(Number(effectiveAt), now)}; then run apply-hosts`);
      }
    }
  } else {
    const { applied, waiting } = await applyHostChanges(await deployed("HostRegistry"), signer);
    const now = (await connection.ethers.provider.getBlock("latest"))!.timestamp;
    for (const index of applied) console.log(`host ${index}: change applied`);
    for (const { index, effectiveAt } of waiting) console.log(`host ${index}: change pending, due ${when(effectiveAt, now)}`);
    if (applied.length === 0 && waiting.length === 0) console.log("no host change pending");
  }
} catch (err) {
  console.error(`error: ${(err as Error).message}`);
  process.exitCode = 1;
} finally {
  await connection.close();
}
