import * as grpc from "@grpc/grpc-js";
import { pino, type Logger } from "pino";
import { loadMpcV1, MAX_MESSAGE_BYTES, type ComputeRequest, type HealthResponse, type SignResultRequest, type UploadSharesRequest } from "@scmpc/protos";
import packageJson from "../../package.json" with { type: "json" };
import { MAX_FRAME_BYTES } from "../channel/frames.ts";
import { createExchangeHandler } from "../channel/peer-receiver.ts";
import { MpcError } from "../errors.ts";
import { loadPeerTls } from "../tls/peer-tls.ts";
import { createEthersChainReader, type ChainReader } from "./chain-reader.ts";
import { createComputeService } from "./compute.ts";
import { createJobResults } from "./job-results.ts";
import type { HostConfig } from "./config.ts";
import { hostServerCredentials, peerServerCredentials } from "./credentials.ts";
import { toServiceError } from "./grpc-status.ts";
import { loadHostSecret } from "./host-secret.ts";
import { createPeerClients } from "./peer-client.ts";
import { createPeerMailbox } from "./peer-mailbox.ts";
import { createShareStore } from "./share-store.ts";
import { handleUpload } from "./upload.ts";

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
  /** Binds `config.listen` (Host API) and `config.peerListen` (Peer service); resolves with the bound ports. */
  start(): Promise<{ port: number; peerPort: number }>;
  /** Stops accepting calls, aborts running jobs and releases resources. */
  close(): Promise<void>;
}

/**
 * Builds one MPC host: two gRPC servers, the Host API (UploadShares, Compute,
 * Health) on `config.listen` for sellers and the bridge, and the Peer service
 * (Exchange) on `config.peerListen` over mutual TLS for the other two hosts.
 * Reads and checks the TLS material at once.
 *
 * @throws MpcError `CONFIG_INVALID` when the TLS material is unusable
 * @example
 * const host = createHost(loadHostConfig(process.env));
 * const { port, peerPort } = await host.start();
 */
export function createHost(config: HostConfig, deps: HostDeps = {}): MpcHost {
  // First, so a configuration error leaves nothing (timers, providers) behind.
  const tls = loadPeerTls(config);
  const logger = deps.logger ?? pino({ level: config.logLevel, base: { hostIndex: config.hostIndex } });
  const chain = deps.chainReader ?? createEthersChainReader({ rpcUrl: config.rpcUrl, registryAddress: config.registryAddress });
  const store = createShareStore({ dataDir: config.dataDir, hostIndex: config.hostIndex });
  const mailbox = createPeerMailbox({ retentionMs: Math.max(60_000, 10 * config.jobTimeoutMs) });
  const peers = createPeerClients(config, tls);
  let hostSecret: Buffer | undefined;
  const compute = createComputeService({
    results: createJobResults(config.dataDir),
    config,
    store,
    chain,
    mailbox,
    peers,
    logger,
    hostSecret: () => {
      if (!hostSecret) throw new MpcError("INTERNAL", "host secret not loaded (host not started)");
      return hostSecret;
    },
  });

  const server = new grpc.Server({
    "grpc.max_receive_message_length": MAX_MESSAGE_BYTES,
    "grpc.max_send_message_length": MAX_MESSAGE_BYTES,
  });
  const peerServer = new grpc.Server({
    "grpc.max_receive_message_length": MAX_FRAME_BYTES,
    "grpc.max_send_message_length": MAX_FRAME_BYTES,
  });
  const { Host, Peer } = loadMpcV1();

  server.addService(Host.service, {
    uploadShares: unary(logger, "UploadShares", (req: UploadSharesRequest) => handleUpload(req, { hostIndex: config.hostIndex, store })),
    compute: unary(logger, "Compute", (req: ComputeRequest) => compute.compute(req)),
    signResult: unary(logger, "SignResult", (req: SignResultRequest) => compute.signResult(req)),
    health: unary(
      logger,
      "Health",
      async (): Promise<HealthResponse> => ({ hostIndex: config.hostIndex, status: "SERVING", version: HOST_VERSION }),
    ),
  });
  peerServer.addService(Peer.service, {
    exchange: createExchangeHandler({ hostIndex: config.hostIndex, fingerprints: tls.fingerprints, mailbox, logger }),
  });

  let started = false;
  return {
    async start() {
      hostSecret = await loadHostSecret(config.dataDir);
      const bind = (target: grpc.Server, address: string, credentials: grpc.ServerCredentials): Promise<number> =>
        new Promise((resolve, reject) => target.bindAsync(address, credentials, (err, bound) => (err ? reject(err) : resolve(bound))));
      started = true;
      const peerPort = await bind(peerServer, config.peerListen, peerServerCredentials(tls));
      const port = await bind(server, config.listen, hostServerCredentials(config, tls));
      return { port, peerPort };
    },
    async close() {
      compute.close();
      // Peer streams are long-lived and senders resend on a new stream, so
      // the Peer service need not drain; waiting would only delay close.
      peerServer.forceShutdown();
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
    },
  };
}

/** Adapts a promise handler to a grpc-js unary handler; every error goes through {@link toServiceError}. */
function unary<Req, Res>(
  logger: Logger,
  method: string,
  handler: (request: Req) => Promise<Res>,
): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    handler(call.request).then(
      (response) => callback(null, response),
      (err: unknown) => {
        if (!(err instanceof MpcError) || err.code === "INTERNAL" || err.code === "STORE_IO") {
          logger.error({ err, method }, "call failed");
        } else {
          logger.debug({ code: err.code, msg: err.message, method }, "call refused");
        }
        callback(toServiceError(err));
      },
    );
  };
}
