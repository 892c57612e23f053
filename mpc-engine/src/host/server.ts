import * as grpc from "@grpc/grpc-js";
import { pino, type Logger } from "pino";
import { isHexString } from "ethers";
import {
  loadMpcV1,
  MAX_MESSAGE_BYTES,
  type ComputeRequest,
  type HealthResponse,
  type PeerAck,
  type PeerMessage,
  type UploadSharesRequest,
} from "@scmpc/protos";
import packageJson from "../../package.json" with { type: "json" };
import { MpcError } from "../errors.ts";
import { createEthersChainReader, type ChainReader } from "./chain-reader.ts";
import { createComputeService } from "./compute.ts";
import type { HostConfig } from "./config.ts";
import { hostServerCredentials } from "./credentials.ts";
import { toServiceError } from "./grpc-status.ts";
import { loadHostSecret } from "./host-secret.ts";
import { createPeerClients } from "./peer-client.ts";
import { createPeerMailbox } from "./peer-mailbox.ts";
import { createShareStore } from "./share-store.ts";
import { handleUpload } from "./upload.ts";

/** Version reported by Health. */
export const HOST_VERSION: string = packageJson.version;

/** Highest protocol step a peer may address (bounds mailbox keys). */
const MAX_STEP = 64;
/** Largest peer payload accepted (protocol messages are small). */
const MAX_PEER_PAYLOAD = 1 << 20;

/** Replaceable collaborators of a host; defaults are the real ones. */
export interface HostDeps {
  /** On-chain reads (default: ethers over `config.rpcUrl`). */
  chainReader?: ChainReader;
  /** Logger (default: pino at `config.logLevel`). */
  logger?: Logger;
}

/** A running-or-startable MPC host. */
export interface MpcHost {
  /** Binds `config.listen` and serves Host and Peer; resolves with the bound port. */
  start(): Promise<{ port: number }>;
  /** Stops accepting calls, aborts running jobs and releases resources. */
  close(): Promise<void>;
}

/**
 * Builds one MPC host: a gRPC server serving the Host service (UploadShares,
 * Compute, Health) and the Peer service (Deliver) on one port.
 *
 * @example
 * const host = createHost(loadHostConfig(process.env));
 * const { port } = await host.start();
 */
export function createHost(config: HostConfig, deps: HostDeps = {}): MpcHost {
  const logger = deps.logger ?? pino({ level: config.logLevel, base: { hostIndex: config.hostIndex } });
  const chain = deps.chainReader ?? createEthersChainReader({ rpcUrl: config.rpcUrl, registryAddress: config.registryAddress });
  const store = createShareStore({ dataDir: config.dataDir, hostIndex: config.hostIndex });
  const mailbox = createPeerMailbox({ retentionMs: Math.max(60_000, 10 * config.jobTimeoutMs) });
  const peers = createPeerClients(config);
  let hostSecret: Buffer | undefined;
  const compute = createComputeService({
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
  const { Host, Peer } = loadMpcV1();

  server.addService(Host.service, {
    uploadShares: unary(logger, "UploadShares", (req: UploadSharesRequest) => handleUpload(req, { hostIndex: config.hostIndex, store })),
    compute: unary(logger, "Compute", (req: ComputeRequest) => compute.compute(req)),
    health: unary(
      logger,
      "Health",
      async (): Promise<HealthResponse> => ({ hostIndex: config.hostIndex, status: "SERVING", version: HOST_VERSION }),
    ),
  });
  server.addService(Peer.service, {
    deliver: unary(logger, "Deliver", async (msg: PeerMessage): Promise<PeerAck> => {
      if (!isHexString(msg.requestId, 32)) throw new MpcError("INVALID_ARGUMENT", "request_id must be a 0x-prefixed bytes32");
      if (msg.fromHost > 2 || msg.fromHost === config.hostIndex) {
        throw new MpcError("PEER_UNKNOWN_SENDER", `from_host ${msg.fromHost} is not another host of this deployment`);
      }
      if (msg.step > MAX_STEP) throw new MpcError("INVALID_ARGUMENT", `step ${msg.step} exceeds ${MAX_STEP}`);
      if (msg.payload.length > MAX_PEER_PAYLOAD) throw new MpcError("INVALID_ARGUMENT", `payload exceeds ${MAX_PEER_PAYLOAD} bytes`);
      mailbox.deliver({ requestId: msg.requestId, step: msg.step, fromHost: msg.fromHost, payload: msg.payload });
      return { accepted: true };
    }),
  });

  let started = false;
  return {
    async start() {
      hostSecret = await loadHostSecret(config.dataDir);
      const port = await new Promise<number>((resolve, reject) =>
        server.bindAsync(config.listen, hostServerCredentials(config), (err, bound) => (err ? reject(err) : resolve(bound))),
      );
      started = true;
      return { port };
    },
    async close() {
      compute.close();
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
