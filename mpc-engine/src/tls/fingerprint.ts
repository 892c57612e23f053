import { createHash, X509Certificate } from "node:crypto";

/** A certificate fingerprint: SHA-256 of the DER encoding, 64 lowercase hex digits. */
export type CertificateFingerprint = string;

/**
 * SHA-256 fingerprint of a certificate, given as DER bytes or PEM text.
 * The form `SCMPC_HOST_PEER_FINGERPRINTS` uses and the channel pins.
 *
 * @example
 * const fp = certificateFingerprint(readFileSync("host-0.pem", "utf8")); // "3f9a…"
 */
export function certificateFingerprint(certificate: Buffer | string): CertificateFingerprint {
  const der = typeof certificate === "string" ? new X509Certificate(certificate).raw : certificate;
  return createHash("sha256").update(der).digest("hex");
}

/**
 * Normalises a fingerprint as people write it (`AB:CD:…`, upper case,
 * optional `sha256:` prefix) to 64 lowercase hex digits, or undefined when it
 * is not a SHA-256 fingerprint.
 *
 * @example
 * normaliseFingerprint("sha256:AB:CD:...") // "abcd..."
 */
export function normaliseFingerprint(text: string): CertificateFingerprint | undefined {
  const hex = text.trim().replace(/^sha256:/i, "").replace(/:/g, "").toLowerCase();
  return /^[0-9a-f]{64}$/.test(hex) ? hex : undefined;
}
