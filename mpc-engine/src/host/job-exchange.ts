import type { Logger } from "pino";
import { allocatePayload } from "../channel/frames.ts";
import { MpcError } from "../errors.ts";
import type { PeerClients } from "./peer-client.ts";
import type { PeerMailbox } from "./peer-mailbox.ts";

/**
 * The message channel one job's protocol sees: send to / receive from a peer,
 * by step. Steps sent to one host must increase (the receiver refuses a lower
 * step than one it already has from this host for the request).
 */
export interface JobExchange {
  /** @throws MpcError `PEER_UNAVAILABLE`, `PEER_TIMEOUT` or `PEER_REJECTED` naming the host */
  send(toHost: number, step: number, payload: Buffer): Promise<void>;
  /** @throws MpcError `PEER_TIMEOUT` naming the host that did not send */
  receive(fromHost: number, step: number): Promise<Buffer>;
  /** A buffer for a payload that the channel sends without copying it ({@link allocatePayload}). */
  outgoing(bytes: number): Buffer;
}

/**
 * Binds the mailbox and peer clients to one job's id, deadline and abort
 * signal, so protocol code only speaks in (host, step, payload).
 *
 * @example
 * const exchange = createJobExchange({ hostIndex, jobId, mailbox, peers, deadline, signal });
 */
export function createJobExchange(input: {
  hostIndex: number;
  jobId: string;
  mailbox: PeerMailbox;
  peers: PeerClients;
  deadline: number;
  signal: AbortSignal;
  /** Logs each round sent at debug level (operators following a job; crash drills picking a round). */
  logger?: Logger;
}): JobExchange {
  const { hostIndex, jobId, mailbox, peers, deadline, signal, logger } = input;
  return {
    send(toHost, step, payload) {
      if (toHost === hostIndex) return Promise.reject(new MpcError("INTERNAL", "a host cannot send to itself"));
      logger?.debug({ jobId, step, toHost, bytes: payload.length }, "round");
      return peers.deliver(toHost, { jobId, step, payload }, deadline, signal);
    },
    receive(fromHost, step) {
      return mailbox.receive({ jobId, step, fromHost }, { deadline, signal });
    },
    outgoing: allocatePayload,
  };
}
