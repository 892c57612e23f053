import * as grpc from "@grpc/grpc-js";
import { loadMpcV1, type PeerAck, type PeerMessage } from "@scmpc/protos";
import { MpcError } from "../errors.ts";
import type { HostConfig } from "./config.ts";
import { peerChannelCredentials } from "./credentials.ts";
import { mpcErrorCodeOf } from "./grpc-status.ts";

/** gRPC clients of the two other hosts' Peer service. */
export interface PeerClients {
  /**
   * Delivers one message to host `toHost`, bounded by `deadline` (epoch ms).
   * Resolves when accepted, or when the peer already holds it (ALREADY_EXISTS:
   * messages are deterministic per key, so a resend after a lost ack is harmless).
   *
   * @throws MpcError `PEER_TIMEOUT` (unreachable until the deadline) or `PEER_REJECTED`
   */
  deliver(toHost: number, message: PeerMessage, deadline: number, signal?: AbortSignal): Promise<void>;
  close(): void;
}

const RETRYABLE = new Set([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED, grpc.status.RESOURCE_EXHAUSTED]);
const PER_CALL_MS = 2000;

/**
 * Creates Peer clients for the other two hosts. Unreachable peers are retried
 * with backoff until the job deadline: a peer may be (re)starting.
 *
 * @example
 * const peers = createPeerClients(config);
 * await peers.deliver(1, { requestId, step: 0, fromHost: 0, payload }, Date.now() + 30_000);
 */
export function createPeerClients(config: HostConfig): PeerClients {
  const { Peer } = loadMpcV1();
  const options: grpc.ChannelOptions = {
    "grpc.initial_reconnect_backoff_ms": 100,
    "grpc.max_reconnect_backoff_ms": 1000,
  };
  const clients = config.peers.map((address, index) =>
    index === config.hostIndex ? undefined : new Peer(address, peerChannelCredentials(config), options),
  );

  const call = (client: grpc.Client, message: PeerMessage, deadline: number): Promise<PeerAck> =>
    new Promise((resolve, reject) => {
      const fn = (client as unknown as Record<string, Function>).deliver.bind(client);
      fn(message, { deadline: new Date(deadline) }, (err: grpc.ServiceError | null, ack: PeerAck) => {
        if (err) reject(err);
        else resolve(ack);
      });
    });

  return {
    async deliver(toHost, message, deadline, signal) {
      const client = clients[toHost];
      if (!client) throw new MpcError("INTERNAL", `host ${config.hostIndex} has no peer client for host ${toHost}`);
      let backoff = 50;
      let lastError: unknown;
      while (Date.now() < deadline && !signal?.aborted) {
        try {
          await call(client, message, Math.min(deadline, Date.now() + PER_CALL_MS));
          return;
        } catch (err) {
          const e = err as grpc.ServiceError;
          if (e.code === grpc.status.ALREADY_EXISTS && mpcErrorCodeOf(e) === "PEER_DUPLICATE") return;
          if (!RETRYABLE.has(e.code)) {
            throw new MpcError("PEER_REJECTED", `host ${toHost} refused the step-${message.step} message: ${e.details}`, {
              cause: err,
              details: { host: toHost, step: message.step },
            });
          }
          lastError = err;
        }
        await sleep(Math.min(backoff, Math.max(0, deadline - Date.now())), signal);
        backoff = Math.min(backoff * 2, 500);
      }
      if (signal?.aborted) throw signal.reason;
      throw new MpcError("PEER_TIMEOUT", `host ${toHost} could not be reached with the step-${message.step} message before the job deadline`, {
        cause: lastError,
        details: { requestId: message.requestId, step: message.step, missingHost: toHost },
      });
    },
    close() {
      for (const client of clients) client?.close();
    },
  };
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
