import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { request } from "node:http";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { serveWebMarket, type WebServer } from "../src/web-server.ts";

/** A raw GET (no URL normalisation by the client, so `..` reaches the server as sent). */
function get(url: string, target: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, path: target, method: "GET" }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("the web market's static server", () => {
  let root: string;
  let web: WebServer;
  before(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), "scmpc-web-server-"));
    await mkdir(path.join(root, "dist", "assets"), { recursive: true });
    await writeFile(path.join(root, "dist", "index.html"), "<!doctype html><title>market</title>");
    await writeFile(path.join(root, "dist", "assets", "app-1234.js"), "export {};");
    // A file beside the build that must never be served.
    await writeFile(path.join(root, "secret.txt"), "private");
    web = await serveWebMarket({ port: 0, dir: path.join(root, "dist"), config: { rpcUrl: "http://127.0.0.1:8545", chainId: 31337 } });
  });
  after(async () => {
    await web.close();
    await rm(root, { recursive: true, force: true });
  });

  it("serves the app on loopback, index and config never cached, hashed assets for good", async () => {
    assert.match(web.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const index = await get(web.url, "/");
    assert.equal(index.status, 200);
    assert.match(String(index.headers["content-type"]), /text\/html/);
    assert.equal(index.headers["cache-control"], "no-cache");
    const config = await get(web.url, "/config.json");
    assert.deepEqual(JSON.parse(config.body), { rpcUrl: "http://127.0.0.1:8545", chainId: 31337 });
    assert.equal(config.headers["cache-control"], "no-store");
    const asset = await get(web.url, "/assets/app-1234.js");
    assert.match(String(asset.headers["content-type"]), /javascript/);
    assert.match(String(asset.headers["cache-control"]), /immutable/);
  });

  it("serves nothing outside the build, however the path is written", async () => {
    for (const target of ["/../secret.txt", "/assets/../../secret.txt", "/%2e%2e/secret.txt", "/assets/%2e%2e%2f%2e%2e%2fsecret.txt"]) {
      const answer = await get(web.url, target);
      assert.equal(answer.status, 404, target);
      assert.ok(!answer.body.includes("private"), target);
    }
    assert.equal((await get(web.url, "/nothing.js")).status, 404);
  });

  it("refuses to start without a build, saying how to make one", async () => {
    await assert.rejects(serveWebMarket({ port: 0, dir: path.join(root, "missing"), config: {} }), /npm run build -w web/);
  });
});
