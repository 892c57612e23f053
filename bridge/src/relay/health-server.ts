import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Listen } from "../config-parsers.ts";
import type { Relay } from "./relay.ts";

/**
 * Serves `GET /health` for the relay: `{ status, nextBlock, fulfilled, requests }`
 * (`fulfilled`: requests this process fulfilled whose consumer emitted its
 * event; `requests`: how many requests the store holds in each state, so a
 * `callback-failed`, `late` or `ignored` request is counted under its own name).
 * Resolves to the server once it listens.
 *
 * @example
 * const server = await startRelayHealthServer(relay, { host: "127.0.0.1", port: 0 });
 */
export function startRelayHealthServer(relay: Relay, listen: Listen): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    if (req.method === "GET" && req.url === "/health") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ status: "ok", nextBlock: relay.nextBlock, fulfilled: relay.fulfilled, requests: relay.counts() }));
      return;
    }
    res.writeHead(404, { "content-type": "application/json" });
    res.end(JSON.stringify({ error: "not found: the relay serves GET /health only" }));
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(listen.port, listen.host, () => resolve(server));
  });
}

/** The port a started server listens on. */
export function portOf(server: http.Server): number {
  return (server.address() as AddressInfo).port;
}
