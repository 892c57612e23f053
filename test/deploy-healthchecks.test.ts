import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";
import { startCluster, type Cluster } from "../mpc-engine/test/support/cluster.ts";

// The containers' healthchecks (deploy/docker/*.Dockerfile) run these
// scripts inside the container; here they run against real local services.
const ROOT = path.resolve(fileURLToPath(import.meta.url), "../..");
const HOST_CHECK = path.join(ROOT, "mpc-engine", "src", "host", "healthcheck.ts");
const HTTP_CHECK = path.join(ROOT, "deploy", "docker", "http-health.mjs");
const CHAIN_CHECK = path.join(ROOT, "deploy", "docker", "chain-health.mjs");
const run = promisify(execFile);

/** The script's exit code (0 healthy) with `env` added to this process's environment. */
async function exitCode(args: string[], env: Record<string, string>): Promise<number> {
  try {
    await run(process.execPath, args, { env: { ...process.env, ...env }, cwd: ROOT, timeout: 20_000 });
    return 0;
  } catch (err) {
    return (err as { code: number }).code;
  }
}

describe("container healthchecks", () => {
  let cluster: Cluster;
  let server: http.Server;
  let healthy = true;

  before(async () => {
    cluster = await startCluster({ jobTimeoutMs: 2000 });
    server = http.createServer((req, res) => {
      if (req.method === "POST" && req.url === "/" && healthy) {
        // A JSON-RPC node answering eth_chainId.
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ jsonrpc: "2.0", id: 1, result: "0x7a69" }));
        return;
      }
      res.statusCode = req.url === "/health" && healthy ? 200 : 503;
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  });
  after(async () => {
    await cluster.close();
    await new Promise((resolve) => server.close(resolve));
  });

  it("host: healthy while its Host API serves, unhealthy when nothing listens, misconfigured without a port", async () => {
    const check = ["--import", "tsx", HOST_CHECK];
    const own = { SCMPC_HOST_TLS_CA: cluster.tls.caFile, SCMPC_HOST_TLS_CERT: cluster.tls.hosts[1].certFile };
    assert.equal(await exitCode(check, { ...own, SCMPC_HOST_LISTEN: `0.0.0.0:${cluster.ports[1]}` }), 0);
    // Host 2's certificate is not the one serving there: the pin fails.
    assert.equal(await exitCode(check, { ...own, SCMPC_HOST_TLS_CERT: cluster.tls.hosts[2].certFile, SCMPC_HOST_LISTEN: `0.0.0.0:${cluster.ports[1]}` }), 1);
    await cluster.hosts.get(1)!.close();
    assert.equal(await exitCode(check, { ...own, SCMPC_HOST_LISTEN: `0.0.0.0:${cluster.ports[1]}` }), 1);
    assert.equal(await exitCode(check, { ...own, SCMPC_HOST_LISTEN: "0.0.0.0:0" }), 2);
  });

  it("bridge, relay and chain: healthy on a 2xx /health or an eth_chainId answer, unhealthy otherwise", async () => {
    const port = (server.address() as AddressInfo).port;
    const listen = `0.0.0.0:${port}`;
    assert.equal(await exitCode([HTTP_CHECK, "SCMPC_BRIDGE_LISTEN"], { SCMPC_BRIDGE_LISTEN: listen }), 0);
    assert.equal(await exitCode([CHAIN_CHECK, String(port)], {}), 0);
    healthy = false;
    assert.equal(await exitCode([CHAIN_CHECK, String(port)], {}), 1);
    assert.equal(await exitCode([HTTP_CHECK, "SCMPC_RELAY_HEALTH_LISTEN"], { SCMPC_RELAY_HEALTH_LISTEN: listen }), 1);
    assert.equal(await exitCode([HTTP_CHECK, "SCMPC_RELAY_HEALTH_LISTEN"], { SCMPC_RELAY_HEALTH_LISTEN: "nowhere" }), 2);
  });
});
