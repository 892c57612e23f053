// The compose stack's one-shot deployer: deploys the development market onto
// the compose chain (unless it is already there), registering the three hosts
// with the fingerprints of their certificates, checks that the contracts are
// at the addresses the other services were configured with, and writes the
// state file the `scmpc` CLI on the host machine reads.
//
// | variable | meaning |
// |---|---|
// | SCMPC_RPC_URL | the chain, as this container reaches it (e.g. http://chain:8545) |
// | SCMPC_DEPLOY_HOST_ENDPOINTS | host:port of hosts 0,1,2 as sellers reach them, comma-separated |
// | SCMPC_DEPLOY_HOST_CERTS | PEM files of hosts 0,1,2's certificates, comma-separated |
// | SCMPC_DEPLOY_HOSTS_CA | PEM file of their CA (the CLI trusts the hosts' Host API with it) |
// | SCMPC_DEPLOY_STATE_DIR | where to write state.json for the CLI |
// | SCMPC_DEPLOY_PUBLIC_RPC_URL | the chain as the CLI reaches it (e.g. http://127.0.0.1:8545) |
// | SCMPC_DEPLOY_PUBLIC_BRIDGE_URL | the bridge as the CLI reaches it |
// | SCMPC_DEPLOY_STATE_OWNER | optional uid:gid to give the state directory to (the CLI's user) |
// | SCMPC_REGISTRY_ADDRESS, SCMPC_OPERATOR_ADDRESS, SCMPC_FACTORY_ADDRESS, SCMPC_ALGORITHM_CONTRACTS | the addresses the services expect |
import { readFileSync } from "node:fs";
import { chown } from "node:fs/promises";
import path from "node:path";
import { JsonRpcProvider, getAddress } from "ethers";
import { certificateFingerprint } from "@scmpc/mpc-engine/tls";
import { deployDevMarket } from "./dev-market.ts";
import { writeState } from "./state.ts";

function required(name: string): string {
  const value = process.env[name]?.trim();
  if (!value) throw new Error(`${name} is required`);
  return value;
}

function list(name: string): string[] {
  const items = required(name).split(",").map((s) => s.trim());
  if (items.length !== 3) throw new Error(`${name} must list 3 entries, got ${items.length}`);
  return items;
}

try {
  const rpcUrl = required("SCMPC_RPC_URL");
  const endpoints = list("SCMPC_DEPLOY_HOST_ENDPOINTS");
  const fingerprints = list("SCMPC_DEPLOY_HOST_CERTS").map((file) => certificateFingerprint(readFileSync(file, "utf8")));
  const expected = {
    registry: getAddress(required("SCMPC_REGISTRY_ADDRESS")),
    operator: getAddress(required("SCMPC_OPERATOR_ADDRESS")),
    factory: getAddress(required("SCMPC_FACTORY_ADDRESS")),
    algorithms: required("SCMPC_ALGORITHM_CONTRACTS").split(",").map((a) => getAddress(a.trim())),
  };
  const provider = new JsonRpcProvider(rpcUrl, undefined, { staticNetwork: true, batchMaxCount: 1 });
  const chainId = Number((await provider.getNetwork()).chainId);

  if ((await provider.getCode(expected.registry)) !== "0x") {
    console.log(`market already deployed (registry ${expected.registry}); nothing to do`);
  } else {
    const contracts = await deployDevMarket(
      provider,
      endpoints.map((endpoint, i) => ({ endpoint, tlsFingerprint: fingerprints[i] })),
    );
    const deployed = { registry: contracts.registry, operator: contracts.operator, factory: contracts.factory, algorithms: Object.values(contracts.algorithms) };
    if (JSON.stringify(deployed) !== JSON.stringify(expected)) {
      throw new Error(
        `the market was deployed at other addresses than the services expect:\n  deployed ${JSON.stringify(deployed)}\n  expected ${JSON.stringify(expected)}`,
      );
    }
    const stateDir = required("SCMPC_DEPLOY_STATE_DIR");
    await writeState(stateDir, {
      rpcUrl: required("SCMPC_DEPLOY_PUBLIC_RPC_URL"),
      chainId,
      contracts,
      hosts: endpoints,
      hostTls: { ca: readFileSync(required("SCMPC_DEPLOY_HOSTS_CA"), "utf8"), fingerprints },
      bridgeUrl: required("SCMPC_DEPLOY_PUBLIC_BRIDGE_URL"),
      pids: {},
      startedAt: new Date().toISOString(),
    });
    const owner = process.env.SCMPC_DEPLOY_STATE_OWNER?.trim();
    if (owner) {
      // The CLI on the host machine writes its buyer keys next to the state file.
      const m = /^(\d+):(\d+)$/.exec(owner);
      if (m === null) throw new Error(`SCMPC_DEPLOY_STATE_OWNER must be <uid>:<gid>; got "${owner}"`);
      for (const target of [stateDir, path.join(stateDir, "state.json")]) await chown(target, Number(m[1]), Number(m[2]));
    }
    console.log(`market deployed: registry ${contracts.registry}, operator ${contracts.operator}; state written for the CLI`);
  }
  provider.destroy();
} catch (err) {
  console.error(`deployment failed: ${(err as Error).message}`);
  process.exitCode = 1;
}
