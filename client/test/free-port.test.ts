import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import net from "node:net";
import { freePort } from "../src/processes.ts";

describe("freePort (the ports the local stack hands its processes)", () => {
  it("hands out distinct bindable ports, below the range Linux gives outgoing connections", async (t) => {
    const ports: number[] = [];
    for (let k = 0; k < 12; k++) ports.push(await freePort());
    assert.equal(new Set(ports).size, ports.length, `distinct: ${ports.join(", ")}`);
    for (const port of ports) {
      const server = net.createServer();
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, "127.0.0.1", () => resolve());
      });
      await new Promise((resolve) => server.close(resolve));
    }
    const range = "/proc/sys/net/ipv4/ip_local_port_range";
    if (!existsSync(range)) {
      t.skip("not Linux: no ip_local_port_range to stay below");
      return;
    }
    // An outgoing connection (a host dialling a peer, a client of the chain) takes its local port from this range,
    // and may take a port drawn from it before the process it was drawn for binds it.
    const low = Number(readFileSync(range, "utf8").trim().split(/\s+/)[0]);
    for (const port of ports) assert.ok(port < low, `port ${port} is below ${low}`);
  });
});
