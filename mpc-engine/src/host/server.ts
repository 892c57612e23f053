import * as grpc from "@grpc/grpc-js";
import { pino, type Logger } from "pino";
import {
  loadMpcV1,
  type ComputeRequest,
  type HealthResponse,
  type ReleaseKeyRequest,
  type SignResultRequest,
  type UploadSharesPiece,
  type UploadSharesRequest,
} from "@scmpc/protos";
import packageJson from "../../package.json" with { type: "json" };
import { serverWithWindows } from "./server-windows.ts";
import { createPeerBoots } from "../channel/peer-boots.ts";
import { createPeerReceiver } from "../channel/peer-receiver.ts";
import { MpcError } from "../errors.ts";
import { loadPeerTls } from "../tls/peer-tls.ts";
import { verifyBridgeCall } from "./bridge-auth.ts";
import { createEthersChainReader, type ChainReader } from "./chain-reader.ts";
import { createComputeService } from "./compute.ts";
import { createJobResults } from "./job-results.ts";
import type { HostConfig } from "./config.ts";
import { hostServerCredentials } from "./credentials.ts";
import { toServiceError } from "./grpc-status.ts";
import { loadHostSecret } from "./host-secret.ts";
import { createPeerClients } from "./peer-client.ts";
import { createPeerMailbox } from "./peer-mailbox.ts";
import { createPrfPool } from "../protocol/prf-pool.ts";
import { createShareStore } from "./share-store.ts";
import { createUnregisteredSweeper, supersededRetention } from "./unregistered-sweeper.ts";
import { handleUpload, handleUploadStream } from "./upload.ts";
import { createWebApi, webApiTls } from "./web-api.ts";

/** Receive window of each Host API connection and stream: a 1 MiB upload piece and the next in flight. */
const HOST_API_WINDOW_BYTES = 4 << 20;

/** Version reported by Health. */
export const HOST_VERSION: string = packageJson.version;

/** Replaceable collaborators of a host; defaults are the real ones. */
export interface HostDeps {
  /** On-chain reads (default: ethers over `config.rpcUrl`). */
  chainReader?: ChainReader;
  /** Logger (default: pino at `config.logLevel`). */
  logger?: Logger;
}

/** A running-or-startable MPC host. */
export interface MpcHost {
  /**
   * Binds `config.listen` (Host API), `config.peerListen` (Peer port) and,
   * when configured, `config.webListen` (web API); resolves with the bound
   * ports (`webPort` undefined without a web API).
   */
  start(): Promise<{ port: number; peerPort: number; webPort: number | undefined }>;
  /** Stops accepting calls, aborts running jobs and releases resources. */
  close(): Promise<void>;
}

/**
 * Builds one MPC host: the Host API's gRPC server on `config.listen` —
 * UploadShares for sellers (bounded in size), Compute and SignResult for the
 * bridge only (each call signed by the bridge's key), ReleaseKey and Health
 * for anyone — and the Peer port on `config.peerListen`, mutual TLS for the
 * other two hosts (peer-receiver.ts); with `config.webListen`, also the web
 * API for browsers (web-api.ts: upload, release key and health over HTTPS,
 * through the same handlers). Reads and checks the TLS material at once.
 *
 * @throws MpcError `CONFIG_INVALID` when the TLS material is unusable
 * @example
 * const host = createHost(loadHostConfig(process.env));
 * const { port, peerPort, webPort } = await host.start();
 */
export function createHost(config: HostConfig, deps: HostDeps = {}): MpcHost {
  // First, so a configuration error leaves nothing (timers, providers) behind.
  const tls = loadPeerTls(config);
  const logger = deps.logger ?? pino({ level: config.logLevel, base: { hostIndex: config.hostIndex } });
  const chain = deps.chainReader ?? createEthersChainReader({ rpcUrl: config.rpcUrl, registryAddress: config.registryAddress });
  const store = createShareStore({ dataDir: config.dataDir, hostIndex: config.hostIndex, cacheBytes: config.shareMemoryBytes });
  const mailbox = createPeerMailbox({ retentionMs: Math.max(60_000, 10 * config.jobTimeoutMs) });
  const boots = createPeerBoots();
  const peers = createPeerClients(config, tls, { boots });
  let hostSecret: Buffer | undefined;
  const prfPool = createPrfPool({ workers: config.workers });
  const compute = createComputeService({
    results: createJobResults(config.dataDir),
    config,
    store,
    chain,
    mailbox,
    peers,
    logger,
    prfPool,
    onRunEnded: (jobId) => boots.forgetJob(jobId),
    hostSecret: () => {
      if (!hostSecret) throw new MpcError("INTERNAL", "host secret not loaded (host not started)");
      return hostSecret;
    },
  });

  boots.onRestart((host, jobs) => compute.peerRestarted(host, jobs));
  const sweeper = createUnregisteredSweeper({
    store,
    chain,
    hostIndex: config.hostIndex,
    ttlMs: config.unregisteredTtlMs,
    retentionMs: supersededRetention({ chain, consumers: config.algorithmContracts, logger }),
    logger,
  });
  // A share sent whole is bounded by the message size; one expanded from seeds by the same figure.
  const uploadLimits = { maxShareBytes: config.maxShareBytes, maxWholeShareBytes: config.maxUploadBytes, sellerQuotaBytes: config.sellerQuotaBytes, unregisteredMaxBytes: config.unregisteredMaxBytes };
  // The one upload path of both APIs (gRPC and web): same checks, same store.
  const uploadDeps = { hostIndex: config.hostIndex, store, chain, limits: uploadLimits };
  const upload = (request: UploadSharesRequest) => handleUpload(request, uploadDeps);
  const health = (): HealthResponse => ({ hostIndex: config.hostIndex, status: "SERVING", version: HOST_VERSION });

  const server = serverWithWindows(
    {
      // The largest message is an upload: one host's share of the largest dataset this host takes.
      "grpc.max_receive_message_length": config.maxUploadBytes,
      "grpc.max_send_message_length": 4 << 20,
    },
    // An upload streams megabytes: without a wider window the seller waits for this host every 64 KiB.
    HOST_API_WINDOW_BYTES,
  );
  const peerReceiver = createPeerReceiver({ hostIndex: config.hostIndex, tls, mailbox, boots, logger });
  const { Host } = loadMpcV1();

  // The bridge's signature is checked before anything else: a stranger's call never reaches a job.
  const bridgeOnly = { hostIndex: config.hostIndex, bridgeAddress: config.bridgeAddress };
  server.addService(Host.service, {
    uploadShares: unary(logger, "UploadShares", upload),
    uploadSharesStream: clientStream(logger, "UploadSharesStream", (pieces: AsyncIterable<UploadSharesPiece>) => handleUploadStream(pieces, uploadDeps)),
    compute: unary(logger, "Compute", (req: ComputeRequest, metadata) => {
      verifyBridgeCall({ method: "Compute", request: req }, metadata, bridgeOnly);
      return compute.compute(req);
    }),
    signResult: unary(logger, "SignResult", (req: SignResultRequest, metadata) => {
      verifyBridgeCall({ method: "SignResult", request: req }, metadata, bridgeOnly);
      return compute.signResult(req);
    }),
    releaseKey: unary(logger, "ReleaseKey", (req: ReleaseKeyRequest) => compute.releaseKey(req)),
    health: unary(logger, "Health", health),
  });

  const webApi =
    config.webListen === undefined
      ? undefined
      : createWebApi({
          maxUploadBytes: config.maxUploadBytes,
          upload,
          releaseKey: (request) => compute.releaseKey(request),
          jobState: (jobId) => compute.jobState(jobId),
          health,
          tls: webApiTls(config, tls),
          logger,
        });

  let started = false;
  return {
    async start() {
      hostSecret = await loadHostSecret(config.dataDir);
      const bind = (target: grpc.Server, address: string, credentials: grpc.ServerCredentials): Promise<number> =>
        new Promise((resolve, reject) => target.bindAsync(address, credentials, (err, bound) => (err ? reject(err) : resolve(bound))));
      started = true;
      const peerPort = await peerReceiver.listen(config.peerListen);
      const port = await bind(server, config.listen, hostServerCredentials(config, tls));
      const webPort = webApi === undefined || config.webListen === undefined ? undefined : await webApi.listen(config.webListen);
      // Peers that were running jobs with a previous process of this host learn at once that it restarted.
      void peers.hello(Date.now() + 10_000);
      // The chain connection is opened now rather than by the first upload or job (which would wait for it), and an
      // operator learns at start whether the node answers; the host serves either way and reads the chain again per request.
      chain.chainId().then(
        (id) => logger.info({ chainId: id.toString() }, "chain node reachable"),
        (err: unknown) => logger.warn({ err }, "chain node not reachable yet; uploads and jobs need it"),
      );
      sweeper.start();
      return { port, peerPort, webPort };
    },
    async close() {
      sweeper.stop();
      compute.close();
      // Senders resend what was not acknowledged on a new connection, so the
      // Peer port need not drain; waiting would only delay close.
      peerReceiver.close();
      await webApi?.close();
      await new Promise<void>((resolve) => {
        if (!started) return resolve();
        const force = setTimeout(() => server.forceShutdown(), 2000);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
      if (!started) server.forceShutdown();
      peers.close();
      mailbox.close();
      chain.close();
      await prfPool.close();
    },
  };
}

/** Adapts a promise handler to a grpc-js unary handler; every error goes through {@link toServiceError}. */
/** A client-streaming handler answered once `handler` resolves, its errors as {@link unary}'s. */
function clientStream<Req, Res>(logger: Logger, method: string, handler: (requests: AsyncIterable<Req>) => Promise<Res>): grpc.handleClientStreamingCall<Req, Res> {
  return (call, callback) => {
    // The client may still be sending when the call is refused: what it sends next is dropped with the call.
    handler(call).then(
      (response) => callback(null, response),
      (err: unknown) => callback(logRefusal(logger, method, err)),
    );
  };
}

/** Logs a failed call (an unexpected error as an error, a refusal at debug) and gives the status it is answered with. */
function logRefusal(logger: Logger, method: string, err: unknown): ReturnType<typeof toServiceError> {
  if (!(err instanceof MpcError) || err.code === "INTERNAL" || err.code === "STORE_IO") {
    logger.error({ err, method }, "call failed");
  } else {
    logger.debug({ code: err.code, msg: err.message, method }, "call refused");
  }
  return toServiceError(err);
}

function unary<Req, Res>(
  logger: Logger,
  method: string,
  handler: (request: Req, metadata: Readonly<Record<string, unknown>>) => Promise<Res> | Res,
): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    Promise.resolve()
      .then(() => handler(call.request, call.metadata.getMap()))
      .then(
      (response) => callback(null, response),
      (err: unknown) => callback(logRefusal(logger, method, err)),
    );
  };
}
