import { readFileSync } from "node:fs";
import { X509Certificate } from "node:crypto";
import type { PeerCertificate } from "node:tls";
import * as grpc from "@grpc/grpc-js";
import { MAX_MESSAGE_BYTES } from "@scmpc/protos";
import { certificateFingerprint, normaliseFingerprint } from "./fingerprint.ts";

/**
 * How a client (seller, bridge) trusts the three hosts' Host API: the
 * deployment CA and each host's pinned certificate fingerprint. Public
 * material only: no key.
 */
export interface HostApiTls {
  /** PEM of the CA that issued the hosts' certificates. */
  ca: string;
  /** SHA-256 fingerprints (lowercase hex) of hosts 0, 1 and 2's certificates. */
  fingerprints: readonly string[];
}

/**
 * Channel credentials for host `hostIndex`'s Host API: TLS with the CA as the
 * only trust anchor and the server's certificate pinned to the host's
 * fingerprint (which replaces host-name checks, so hosts may be dialled by any
 * address). Without `tls`: plaintext, for hosts run with SCMPC_HOST_API_TLS=false.
 *
 * @example
 * new Host("127.0.0.1:7001", hostApiCredentials(state.hostTls, 0));
 */
export function hostApiCredentials(tls: HostApiTls | undefined, hostIndex: number): grpc.ChannelCredentials {
  if (tls === undefined) return grpc.credentials.createInsecure();
  const expected = tls.fingerprints[hostIndex];
  return grpc.credentials.createSsl(Buffer.from(tls.ca), null, null, {
    checkServerIdentity: (_hostname: string, cert: PeerCertificate): Error | undefined => {
      const actual = cert.raw ? certificateFingerprint(cert.raw) : "(none)";
      if (actual === expected) return undefined;
      return new Error(`host ${hostIndex}'s address presented certificate ${actual}, not the pinned ${expected}`);
    },
  });
}

/**
 * Channel options for host `hostIndex`'s Host API client. Over TLS, the
 * server name asked for is the name every host certificate carries
 * (`scmpc-host-<i>`), not the address dialled: a TLS server name may not be
 * an IP address (RFC 6066), and the pinned fingerprint, not the name, decides
 * whom the client trusts.
 *
 * @example
 * new Host("127.0.0.1:7001", hostApiCredentials(tls, 0), hostApiChannelOptions(tls, 0));
 */
export function hostApiChannelOptions(tls: HostApiTls | undefined, hostIndex: number): grpc.ChannelOptions {
  return {
    // An upload carries one host's share of a whole dataset.
    "grpc.max_receive_message_length": MAX_MESSAGE_BYTES,
    "grpc.max_send_message_length": MAX_MESSAGE_BYTES,
    // The name `hostCertificateName(hostIndex)` (tls-material.ts) puts in every host certificate.
    ...(tls === undefined ? {} : { "grpc.ssl_target_name_override": `scmpc-host-${hostIndex}` }),
  };
}

/**
 * Builds {@link HostApiTls} from files: the CA and either the three hosts'
 * certificate files or their fingerprints. Throws naming what is unreadable.
 *
 * @example
 * readHostApiTls({ caFile: "tls/ca.pem", certFiles: ["tls/host-0.pem", "tls/host-1.pem", "tls/host-2.pem"] });
 */
export function readHostApiTls(input: { caFile: string; certFiles?: readonly string[]; fingerprints?: readonly string[] }): HostApiTls {
  const ca = readFileSync(input.caFile, "utf8");
  new X509Certificate(ca); // a PEM certificate, or this throws
  let fingerprints: string[];
  if (input.certFiles !== undefined) {
    fingerprints = input.certFiles.map((file) => certificateFingerprint(new X509Certificate(readFileSync(file)).raw));
  } else if (input.fingerprints !== undefined) {
    fingerprints = input.fingerprints.map((fp, i) => {
      const normal = normaliseFingerprint(fp);
      if (normal === undefined) throw new Error(`fingerprint ${i} is not 64 hex digits: ${JSON.stringify(fp)}`);
      return normal;
    });
  } else {
    throw new Error("the hosts' certificates or their fingerprints are required");
  }
  if (fingerprints.length !== 3) throw new Error(`three hosts' certificates or fingerprints are required, got ${fingerprints.length}`);
  return { ca, fingerprints };
}
