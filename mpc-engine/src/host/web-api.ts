import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import type { HealthResponse, ReleaseKeyRequest, ReleaseKeyResponse, UploadSharesRequest, UploadSharesResponse } from "@scmpc/protos";
import { MpcError } from "../errors.ts";
import { decodeUploadBody } from "../upload-wire.ts";
import type { PeerTls } from "../tls/peer-tls.ts";
import type { HostConfig } from "./config.ts";
import { toHttpError, WebApiError } from "./http-status.ts";

/** Whole-request bound: an upload of the largest share must arrive within it. */
export const WEB_REQUEST_TIMEOUT_MS = 5 * 60_000;
/** A client must have sent its request headers within this. */
export const WEB_HEADERS_TIMEOUT_MS = 20_000;
/** An idle kept-alive connection is closed after this. */
export const WEB_KEEP_ALIVE_TIMEOUT_MS = 5_000;
/** Largest JSON body (release-key requests are two hex strings). */
export const WEB_MAX_JSON_BYTES = 16 * 1024;
/** How long a browser may cache a preflight answer. */
export const WEB_PREFLIGHT_MAX_AGE_S = 86_400;

/** What the web API calls: the same functions the gRPC Host API calls. */
export interface WebApiDeps {
  /** Largest upload body (bytes): the host's `maxUploadBytes`. */
  maxUploadBytes: number;
  /** The host's one upload handler (validation, signature, commitment, quota, store). */
  upload(request: UploadSharesRequest): Promise<UploadSharesResponse>;
  /** The host's key release (compute.releaseKey). */
  releaseKey(request: ReleaseKeyRequest): Promise<ReleaseKeyResponse>;
  /** Where the host is with a job (compute.jobState). */
  jobState(jobId: string): Promise<"unknown" | "computing" | "answered">;
  health(): HealthResponse;
  /** TLS key and certificate (the Host API's); absent: plaintext HTTP. */
  tls?: { key: Buffer; cert: Buffer };
  logger: Logger;
}

/** The web API server of one host. */
export interface WebApi {
  /** Binds `host:port` (port 0 picks a free one); resolves with the bound port. */
  listen(address: string): Promise<number>;
  /** Stops accepting connections and closes the open ones. */
  close(): Promise<void>;
}

/**
 * TLS of the web API: the Host API's own choice (see `hostServerCredentials`)
 * — this host's key and certificate, or none when the Host API is served in
 * plaintext (`SCMPC_HOST_API_TLS=false`).
 *
 * @example
 * createWebApi({ ...deps, tls: webApiTls(config, loadPeerTls(config)) });
 */
export function webApiTls(config: Pick<HostConfig, "apiTls">, tls: Pick<PeerTls, "key" | "cert">): { key: Buffer; cert: Buffer } | undefined {
  return config.apiTls ? { key: tls.key, cert: tls.cert } : undefined;
}

/** A route: its method and handler, answering JSON. */
interface Route {
  method: "GET" | "POST";
  /** Media type the body must have (POST only). */
  contentType?: string;
  handle(req: IncomingMessage, res: ServerResponse): Promise<unknown>;
}

/**
 * The host's web API for browsers, which cannot speak grpc-js: HTTPS with the
 * Host API's certificate (HTTP when the Host API is plaintext), CORS open to
 * every origin — each call is authenticated by the seller's signature or
 * public by design (release keys are given only once the chain says so).
 *
 * - `POST /v1/upload` — `application/octet-stream`, the body of
 *   `encodeUploadBody` (upload-wire.ts), at most `maxUploadBytes`; answers
 *   `{datasetId, commitment, hostIndex}`.
 * - `POST /v1/release-key` — `application/json` `{requestId, consumer}`;
 *   answers `{requestId, hostIndex, key: "0x…", jobId}`.
 * - `GET /v1/jobs/<jobId>` — `{jobId, state}`, state `unknown`, `computing`
 *   or `answered` (a buyer's progress: job ids derive from public chain data).
 * - `GET /v1/health` — `{hostIndex, status: "SERVING", version}`.
 *
 * Refusals are `{error: {code, message, details?}}` with the status of
 * `toHttpError` (http-status.ts).
 *
 * @example
 * const web = createWebApi({ maxUploadBytes, upload, releaseKey, health, tls, logger });
 * const port = await web.listen("127.0.0.1:0");
 */
export function createWebApi(deps: WebApiDeps): WebApi {
  const routes: Record<string, Route> = {
    "/v1/upload": {
      method: "POST",
      contentType: "application/octet-stream",
      async handle(req, res) {
        const body = await readBody(req, res, deps.maxUploadBytes, () =>
          new MpcError("UPLOAD_TOO_LARGE", `the upload is larger than the ${deps.maxUploadBytes} bytes this host takes`, {
            details: { maxUploadBytes: deps.maxUploadBytes },
          }),
        );
        const decoded = decodeUploadBody(body);
        // Buffers over the body's memory, no copy: the protos' request shape.
        const asBuffer = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        const request: UploadSharesRequest = {
          ...decoded,
          columns: decoded.columns.map((c) => ({ ...c, a: asBuffer(c.a), b: asBuffer(c.b), validA: asBuffer(c.validA), validB: asBuffer(c.validB) })),
        };
        return deps.upload(request);
      },
    },
    "/v1/release-key": {
      method: "POST",
      contentType: "application/json",
      async handle(req, res) {
        const body = await readBody(req, res, WEB_MAX_JSON_BYTES, () => new WebApiError("BODY_TOO_LARGE", 413, `the request body is larger than ${WEB_MAX_JSON_BYTES} bytes`));
        const request = parseReleaseKeyRequest(body);
        const response = await deps.releaseKey(request);
        return { requestId: response.requestId, hostIndex: response.hostIndex, key: `0x${Buffer.from(response.key).toString("hex")}`, jobId: response.jobId };
      },
    },
    "/v1/health": {
      method: "GET",
      async handle() {
        return deps.health();
      },
    },
    "/v1/jobs/:jobId": {
      method: "GET",
      async handle(req) {
        const jobId = new URL(req.url ?? "/", "http://host").pathname.slice("/v1/jobs/".length).toLowerCase();
        return { jobId, state: await deps.jobState(jobId) };
      },
    },
  };
  /** The route of a path: its own, or a job's. */
  const routeOf = (path: string): Route | undefined =>
    Object.hasOwn(routes, path) ? routes[path] : /^\/v1\/jobs\/0x[0-9a-fA-F]{64}$/.test(path) ? routes["/v1/jobs/:jobId"] : undefined;

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    // Every answer, refusals included, is readable by a page of any origin.
    res.setHeader("access-control-allow-origin", "*");
    res.setHeader("access-control-expose-headers", "retry-after");
    const label = `${req.method ?? "?"} ${req.url ?? ""}`;
    Promise.resolve()
      .then(async () => {
        let path: string;
        try {
          path = new URL(req.url ?? "/", "http://host").pathname;
        } catch {
          throw new WebApiError("ROUTE_NOT_FOUND", 404, "the request target is not a path");
        }
        const route = routeOf(path);
        if (route === undefined) throw new WebApiError("ROUTE_NOT_FOUND", 404, `no route ${path}; routes are ${Object.keys(routes).join(", ")}`);
        if (req.method === "OPTIONS") return preflight(req, res);
        const allow = `${route.method}, OPTIONS`;
        if (req.method !== route.method) throw new WebApiError("METHOD_NOT_ALLOWED", 405, `${path} takes ${route.method}, not ${req.method}`, { allow });
        if (route.contentType !== undefined) {
          const type = req.headers["content-type"]?.split(";")[0].trim().toLowerCase();
          if (type !== route.contentType) {
            throw new WebApiError("UNSUPPORTED_MEDIA_TYPE", 415, `${path} takes Content-Type ${route.contentType}, not ${type ?? "none"}`);
          }
        }
        const answer = await route.handle(req, res);
        send(req, res, 200, {}, answer);
      })
      .catch((err: unknown) => {
        const { status, headers, body } = toHttpError(err);
        if (status >= 500) {
          deps.logger.error({ err, route: label, status }, "call failed");
        } else {
          deps.logger.debug({ code: body.error.code, msg: body.error.message, route: label, status }, "call refused");
        }
        send(req, res, status, headers, body);
      });
  };

  const server: Server = deps.tls === undefined ? createHttpServer(onRequest) : createHttpsServer({ key: deps.tls.key, cert: deps.tls.cert }, onRequest);
  server.requestTimeout = WEB_REQUEST_TIMEOUT_MS;
  server.headersTimeout = WEB_HEADERS_TIMEOUT_MS;
  server.keepAliveTimeout = WEB_KEEP_ALIVE_TIMEOUT_MS;
  // A client that asks before sending its body (Expect: 100-continue) is told to go on only by
  // readBody, once the route, method, media type and declared length are acceptable.
  server.on("checkContinue", onRequest);

  let listening = false;
  return {
    listen(address) {
      const { host, port } = splitHostPort(address);
      return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => {
          server.off("error", reject);
          listening = true;
          resolve((server.address() as AddressInfo).port);
        });
      });
    },
    close() {
      if (!listening) return Promise.resolve();
      listening = false;
      return new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

/** The CORS preflight answer of a known route. */
function preflight(req: IncomingMessage, res: ServerResponse): void {
  res.setHeader("access-control-allow-methods", "POST, GET, OPTIONS");
  res.setHeader("access-control-allow-headers", "content-type");
  res.setHeader("access-control-max-age", String(WEB_PREFLIGHT_MAX_AGE_S));
  // Chrome's Private Network Access: a public page may call a host on a private address; the API is public by design.
  if (req.headers["access-control-request-private-network"] === "true") res.setHeader("access-control-allow-private-network", "true");
  res.writeHead(204).end();
}

/** Writes a JSON answer; closes the connection when the request body was not read to its end. */
function send(req: IncomingMessage, res: ServerResponse, status: number, headers: Record<string, string>, body: unknown): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  // A refused body is not read on: the connection closes rather than take in the rest.
  if (!req.complete) headers = { ...headers, connection: "close" };
  res.writeHead(status, { ...headers, "content-type": "application/json; charset=utf-8", "content-length": String(Buffer.byteLength(text)) });
  res.end(text);
}

/**
 * Reads a request body of at most `limit` bytes. Refuses at once a declared
 * length above it, and otherwise stops reading as soon as the count passes
 * it: a refused body is never buffered whole.
 */
function readBody(req: IncomingMessage, res: ServerResponse, limit: number, tooLarge: () => Error): Promise<Uint8Array> {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(tooLarge());
  if (req.headers.expect?.toLowerCase() === "100-continue") res.writeContinue();
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const done = (): void => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
      req.off("close", onClose);
    };
    const onData = (chunk: Buffer): void => {
      received += chunk.length;
      if (received > limit) {
        done();
        chunks.length = 0;
        req.pause();
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      done();
      resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, received));
    };
    const onError = (err: Error): void => {
      done();
      reject(new MpcError("INVALID_ARGUMENT", "the request body could not be read", { cause: err }));
    };
    const onClose = (): void => onError(new Error("the connection closed before the body ended"));
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
    req.on("close", onClose);
  });
}

/** The JSON body of a release-key call: `{requestId, consumer}`, both strings. */
function parseReleaseKeyRequest(body: Uint8Array): ReleaseKeyRequest {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body));
  } catch (cause) {
    throw new MpcError("INVALID_ARGUMENT", `the body is not UTF-8 JSON: ${(cause as Error).message}`, { cause });
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new MpcError("INVALID_ARGUMENT", "the body must be a JSON object {requestId, consumer}");
  }
  const { requestId, consumer, ...rest } = parsed as Record<string, unknown>;
  const extra = Object.keys(rest);
  if (extra.length > 0) throw new MpcError("INVALID_ARGUMENT", `the body has unknown field(s) ${extra.map((k) => JSON.stringify(k)).join(", ")}`);
  if (typeof requestId !== "string") throw new MpcError("INVALID_ARGUMENT", "requestId must be a string (0x-prefixed bytes32)");
  if (typeof consumer !== "string") throw new MpcError("INVALID_ARGUMENT", "consumer must be a string (0x-prefixed address)");
  return { requestId, consumer };
}

/** `host:port` (IPv6 in brackets) as `listen` takes it. */
function splitHostPort(address: string): { host: string; port: number } {
  const at = address.lastIndexOf(":");
  const host = address.slice(0, at);
  return { host: host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host, port: Number(address.slice(at + 1)) };
}
