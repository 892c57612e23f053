import { createPrivateKey, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { MpcError } from "../errors.ts";
import { certificateFingerprint, type CertificateFingerprint } from "./fingerprint.ts";

/** This host's Peer-service TLS material, read and checked. Holds the private key: never log it. */
export interface PeerTls {
  hostIndex: number;
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
  /** Pinned fingerprints of hosts 0, 1 and 2, index order. */
  fingerprints: readonly CertificateFingerprint[];
}

/**
 * Reads this host's CA, certificate and key and checks them once, at
 * start-up, reporting every problem at once: each file readable and parsable,
 * the CA a CA, the certificate issued and signed by it, currently valid,
 * usable for both TLS client and server authentication, matching the key,
 * and its fingerprint the one pinned for this host.
 *
 * @throws MpcError `CONFIG_INVALID` listing every problem
 * @example
 * const tls = loadPeerTls({ hostIndex: 0, tls: { caFile, certFile, keyFile }, peerFingerprints });
 */
export function loadPeerTls(input: {
  hostIndex: number;
  tls: { caFile: string; certFile: string; keyFile: string };
  peerFingerprints: readonly CertificateFingerprint[];
}): PeerTls {
  const problems: string[] = [];
  const read = (variable: string, file: string): Buffer | undefined => {
    try {
      return readFileSync(file);
    } catch (err) {
      problems.push(`${variable} ${JSON.stringify(file)} cannot be read (${(err as NodeJS.ErrnoException).code ?? "error"})`);
      return undefined;
    }
  };
  const ca = read("SCMPC_HOST_TLS_CA", input.tls.caFile);
  const cert = read("SCMPC_HOST_TLS_CERT", input.tls.certFile);
  const key = read("SCMPC_HOST_TLS_KEY", input.tls.keyFile);

  const parse = (variable: string, pem: Buffer | undefined): X509Certificate | undefined => {
    if (pem === undefined) return undefined;
    try {
      return new X509Certificate(pem);
    } catch {
      problems.push(`${variable} is not a PEM certificate`);
      return undefined;
    }
  };
  const caCert = parse("SCMPC_HOST_TLS_CA", ca);
  const ownCert = parse("SCMPC_HOST_TLS_CERT", cert);
  if (caCert && !caCert.ca) problems.push("SCMPC_HOST_TLS_CA is not a CA certificate (basicConstraints CA:FALSE)");

  if (ownCert) {
    const now = Date.now();
    if (Date.parse(ownCert.validFrom) > now || Date.parse(ownCert.validTo) < now) {
      problems.push(`SCMPC_HOST_TLS_CERT is not valid now (valid ${ownCert.validFrom} to ${ownCert.validTo})`);
    }
    if (caCert && !(ownCert.checkIssued(caCert) && ownCert.verify(caCert.publicKey))) {
      problems.push("SCMPC_HOST_TLS_CERT is not issued by SCMPC_HOST_TLS_CA");
    }
    const eku = ownCert.keyUsage ?? [];
    for (const [oid, name] of [["1.3.6.1.5.5.7.3.1", "serverAuth"], ["1.3.6.1.5.5.7.3.2", "clientAuth"]]) {
      if (eku.length > 0 && !eku.includes(oid)) problems.push(`SCMPC_HOST_TLS_CERT lacks extended key usage ${name}`);
    }
    const pinned = input.peerFingerprints[input.hostIndex];
    const actual = certificateFingerprint(ownCert.raw);
    if (pinned !== undefined && pinned !== actual) {
      problems.push(
        `SCMPC_HOST_TLS_CERT has fingerprint ${actual} but SCMPC_HOST_PEER_FINGERPRINTS pins ${pinned} for host ${input.hostIndex}`,
      );
    }
    if (key !== undefined) {
      try {
        if (!ownCert.checkPrivateKey(createPrivateKey(key))) problems.push("SCMPC_HOST_TLS_KEY does not belong to SCMPC_HOST_TLS_CERT");
      } catch {
        problems.push("SCMPC_HOST_TLS_KEY is not a PEM private key");
      }
    }
  }

  if (problems.length > 0 || !ca || !cert || !key) {
    throw new MpcError("CONFIG_INVALID", `invalid host TLS material: ${problems.join("; ")}`, { details: { problems } });
  }
  return { hostIndex: input.hostIndex, ca, cert, key, fingerprints: input.peerFingerprints };
}
