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
}

/**
 * Binds the mailbox and peer clients to one job's request id, deadline and
 * abort signal, so protocol code only speaks in (host, step, payload).
 *
 * @example
 * const exchange = createJobExchange({ hostIndex, requestId, mailbox, peers, deadline, signal });
 */
export function createJobExchange(input: {
  hostIndex: number;
  requestId: string;
  mailbox: PeerMailbox;
  peers: PeerClients;
  deadline: number;
  signal: AbortSignal;
}): JobExchange {
  const { hostIndex, requestId, mailbox, peers, deadline, signal } = input;
  return {
    send(toHost, step, payload) {
      if (toHost === hostIndex) return Promise.reject(new MpcError("INTERNAL", "a host cannot send to itself"));
      return peers.deliver(toHost, { requestId, step, payload }, deadline, signal);
    },
    receive(fromHost, step) {
      return mailbox.receive({ requestId, step, fromHost }, { deadline, signal });
    },
  };
}
