import { createPeerLink, type PeerLink } from "../channel/peer-link.ts";
import type { ChannelMessage } from "../channel/frames.ts";
import type { PeerBoots } from "../channel/peer-boots.ts";
import { MpcError } from "../errors.ts";
import type { PeerTls } from "../tls/peer-tls.ts";
import type { HostConfig } from "./config.ts";
import { peerClientTlsOptions } from "./credentials.ts";

/** The sending side of a host's channels to the two other hosts. */
export interface PeerClients {
  /**
   * Delivers one message to host `toHost`, bounded by `deadline` (epoch ms).
   * Resolves when accepted, or when the peer already holds it.
   *
   * @throws MpcError `PEER_UNAVAILABLE`, `PEER_TIMEOUT` or `PEER_REJECTED`, naming the host
   */
  deliver(toHost: number, message: ChannelMessage, deadline: number, signal?: AbortSignal): Promise<void>;
  /** Tells both peers this process's boot id (a host does it when it starts); never throws. */
  hello(deadline: number): Promise<void>;
  close(): void;
}

/**
 * Creates the channels (mutual TLS, certificates pinned) to the other two
 * hosts' Peer ports. Nothing connects until the first message.
 *
 * @example
 * const peers = createPeerClients(config, loadPeerTls(config), { boots });
 * await peers.deliver(1, { jobId, step: 0, payload }, Date.now() + 30_000);
 */
export function createPeerClients(config: HostConfig, tls: PeerTls, options: { boots: PeerBoots; chunkBytes?: number }): PeerClients {
  const links: (PeerLink | undefined)[] = config.peers.map((address, toHost) =>
    toHost === config.hostIndex
      ? undefined
      : createPeerLink({
          fromHost: config.hostIndex,
          toHost,
          address,
          tls: peerClientTlsOptions(tls, toHost),
          chunkBytes: options.chunkBytes,
          boots: options.boots,
        }),
  );
  return {
    deliver(toHost, message, deadline, signal) {
      const link = links[toHost];
      if (!link) return Promise.reject(new MpcError("INTERNAL", `host ${config.hostIndex} has no channel to host ${toHost}`));
      return link.send(message, deadline, signal);
    },
    async hello(deadline) {
      await Promise.all(links.map((link) => link?.hello(deadline)));
    },
    close() {
      for (const link of links) link?.close();
    },
  };
}
