import type { PeerCertificate } from "node:tls";
import * as grpc from "@grpc/grpc-js";
import type { HostConfig } from "./config.ts";
import { certificateFingerprint } from "../tls/fingerprint.ts";
import type { PeerTls } from "../tls/peer-tls.ts";

/**
 * Channel credentials a host uses to dial peer `toHost`'s Peer service:
 * mutual TLS with this host's certificate as the client certificate, the
 * deployment CA as the only trust anchor, and the server's certificate pinned
 * — its SHA-256 fingerprint must be the one configured for `toHost`. The pin
 * replaces host-name checks: a certificate of another host (same CA) at
 * `toHost`'s address is refused.
 *
 * @example
 * new Peer("127.0.0.1:7102", peerChannelCredentials(tls, 1));
 */
export function peerChannelCredentials(tls: PeerTls, toHost: number): grpc.ChannelCredentials {
  const expected = tls.fingerprints[toHost];
  return grpc.credentials.createSsl(tls.ca, tls.key, tls.cert, {
    checkServerIdentity: (_hostname: string, cert: PeerCertificate): Error | undefined => {
      const actual = cert.raw ? certificateFingerprint(cert.raw) : "(none)";
      if (actual === expected) return undefined;
      return new Error(`peer at host ${toHost}'s address presented certificate ${actual}, not the pinned ${expected}`);
    },
  });
}

/**
 * Server credentials of the Peer service: mutual TLS, a client certificate
 * issued by the deployment CA required. Which host the client is comes from
 * the certificate's pinned fingerprint, checked per stream by the Exchange
 * handler.
 *
 * @example
 * peerServer.bindAsync(config.peerListen, peerServerCredentials(tls), cb);
 */
export function peerServerCredentials(tls: PeerTls): grpc.ServerCredentials {
  return grpc.ServerCredentials.createSsl(tls.ca, [{ private_key: tls.key, cert_chain: tls.cert }], true);
}

/**
 * Server credentials of the Host API port (UploadShares, Compute, SignResult,
 * Health), called by sellers and the bridge: TLS with this host's
 * certificate (clients pin it; no client certificate is asked for), or
 * plaintext when SCMPC_HOST_API_TLS=false.
 *
 * @example
 * server.bindAsync(config.listen, hostServerCredentials(config, tls), cb);
 */
export function hostServerCredentials(config: HostConfig, tls: PeerTls): grpc.ServerCredentials {
  if (!config.apiTls) return grpc.ServerCredentials.createInsecure();
  return grpc.ServerCredentials.createSsl(null, [{ private_key: tls.key, cert_chain: tls.cert }], false);
}
