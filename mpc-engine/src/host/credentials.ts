import type { ConnectionOptions, PeerCertificate, TlsOptions } from "node:tls";
import * as grpc from "@grpc/grpc-js";
import type { HostConfig } from "./config.ts";
import { certificateFingerprint } from "../tls/fingerprint.ts";
import type { PeerTls } from "../tls/peer-tls.ts";

/**
 * TLS options a host dials peer `toHost`'s Peer port with: mutual TLS with
 * this host's certificate as the client certificate, the deployment CA as
 * the only trust anchor, and the server's certificate pinned — its SHA-256
 * fingerprint must be the one configured for `toHost`. The pin replaces
 * host-name checks: a certificate of another host (same CA) at `toHost`'s
 * address is refused.
 *
 * @example
 * tls.connect({ host: "127.0.0.1", port: 7102, ...peerClientTlsOptions(peerTls, 1) });
 */
export function peerClientTlsOptions(tls: PeerTls, toHost: number): ConnectionOptions {
  const expected = tls.fingerprints[toHost];
  return {
    ca: tls.ca,
    cert: tls.cert,
    key: tls.key,
    // The name asked for (SNI); the pin, not this name, decides whom we accept.
    servername: `scmpc-host-${toHost}`,
    checkServerIdentity: (_hostname: string, cert: PeerCertificate): Error | undefined => {
      const actual = cert.raw ? certificateFingerprint(cert.raw) : "(none)";
      if (actual === expected) return undefined;
      return new Error(`peer at host ${toHost}'s address presented certificate ${actual}, not the pinned ${expected}`);
    },
  };
}

/**
 * TLS options of the Peer port: mutual TLS, a client certificate issued by
 * the deployment CA required (the handshake fails without one). Which host
 * the client is comes from the certificate's pinned fingerprint, checked
 * per connection by the receiver (peer-receiver.ts).
 *
 * @example
 * tls.createServer(peerServerTlsOptions(peerTls), onConnection);
 */
export function peerServerTlsOptions(tls: PeerTls): TlsOptions {
  return { ca: tls.ca, cert: tls.cert, key: tls.key, requestCert: true, rejectUnauthorized: true };
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
