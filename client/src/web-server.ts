import { createHash, X509Certificate } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The web market's production build (`npm run build -w web`). */
export const WEB_DIST = fileURLToPath(new URL("../../web/dist/", import.meta.url));

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".wasm": "application/wasm",
};

/** A running web market server. */
export interface WebServer {
  url: string;
  close(): Promise<void>;
}

/**
 * Serves the web market's static build on a loopback port, with
 * `config.json` (the market's chain, contracts and hosts' web endpoints) made
 * from `config`. Only files under `dir` are served; `index.html` and
 * `config.json` are never cached, the hashed assets are.
 *
 * @throws Error when the build is missing (run `npm run build -w web`)
 * @example
 * const web = await serveWebMarket({ port: 5173, config: { rpcUrl, chainId, contracts, hostWebUrls } });
 */
export async function serveWebMarket(options: { host?: string; port: number; config: object; dir?: string }): Promise<WebServer> {
  const dir = path.resolve(options.dir ?? WEB_DIST);
  try {
    await stat(path.join(dir, "index.html"));
  } catch {
    throw new Error(`the web market is not built (no ${path.join(dir, "index.html")}): run \`npm run build -w web\``);
  }
  const config = JSON.stringify(options.config, null, 2);
  const server: Server = createServer((request, response) => {
    void (async () => {
      const url = new URL(request.url ?? "/", "http://localhost");
      if (request.method !== "GET" && request.method !== "HEAD") {
        response.writeHead(405, { allow: "GET, HEAD" }).end();
        return;
      }
      const headers = { "x-content-type-options": "nosniff", "referrer-policy": "no-referrer" };
      if (url.pathname === "/config.json") {
        response.writeHead(200, { ...headers, "content-type": TYPES[".json"], "cache-control": "no-store" }).end(request.method === "HEAD" ? undefined : config);
        return;
      }
      const relative = decodeURIComponent(url.pathname === "/" ? "/index.html" : url.pathname);
      const file = path.resolve(dir, `.${relative}`);
      if (!file.startsWith(dir + path.sep)) {
        response.writeHead(404, headers).end();
        return;
      }
      let body: Buffer;
      try {
        body = await readFile(file);
      } catch {
        response.writeHead(404, { ...headers, "content-type": "text/plain; charset=utf-8" }).end(`no ${url.pathname}`);
        return;
      }
      const immutable = relative.startsWith("/assets/");
      response
        .writeHead(200, {
          ...headers,
          "content-type": TYPES[path.extname(file)] ?? "application/octet-stream",
          "cache-control": immutable ? "public, max-age=31536000, immutable" : "no-cache",
        })
        .end(request.method === "HEAD" ? undefined : body);
    })().catch(() => {
      if (!response.headersSent) response.writeHead(500).end();
    });
  });
  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, host, () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://${host}:${port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * The base64 SHA-256 of a certificate's public key (its SPKI), as Chromium's
 * `--ignore-certificate-errors-spki-list` takes it: with the three hosts'
 * hashes, a browser trusts exactly the local hosts' certificates.
 *
 * @example
 * const hash = spkiHash(await readFile("tls/host-0.pem", "utf8"));
 */
export function spkiHash(certificatePem: string): string {
  const spki = new X509Certificate(certificatePem).publicKey.export({ type: "spki", format: "der" });
  return createHash("sha256").update(spki).digest("base64");
}
