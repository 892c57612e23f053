// @peculiar/x509 resolves its algorithm providers through tsyringe, which needs
// the Reflect metadata polyfill loaded first.
import "reflect-metadata";
import { createPrivateKey, webcrypto, X509Certificate } from "node:crypto";
import { chmod, copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { isIP } from "node:net";
import path from "node:path";
import * as x509 from "@peculiar/x509";
import { certificateFingerprint, type CertificateFingerprint } from "./fingerprint.ts";

/** Files and fingerprints of a deployment's host-to-host TLS material. */
export interface TlsMaterial {
  /** Directory holding the files. */
  dir: string;
  /** The CA certificate (`ca.pem`). The CA key is not kept: no certificate is issued later. */
  caFile: string;
  /** Per host, in index order. */
  hosts: HostTlsFiles[];
}

/** One host's certificate and key. */
export interface HostTlsFiles {
  /** `host-<i>.pem`. */
  certFile: string;
  /** `host-<i>-key.pem` (PKCS#8, mode 0600). */
  keyFile: string;
  /** SHA-256 of the certificate's DER encoding, lowercase hex. */
  fingerprint: CertificateFingerprint;
}

const EC_P256 = { name: "ECDSA", namedCurve: "P-256" } as const;
const SIGNING = { name: "ECDSA", hash: "SHA-256" } as const;
const DAY_MS = 86_400_000;
// Issued an hour back so hosts with slightly slow clocks accept them at once.
const BACKDATE_MS = 3_600_000;

/** Subject common name and DNS name of host `index`'s certificate. */
export function hostCertificateName(index: number): string {
  return `scmpc-host-${index}`;
}

const caPath = (dir: string): string => path.join(dir, "ca.pem");
const certPath = (dir: string, i: number): string => path.join(dir, `host-${i}.pem`);
const keyPath = (dir: string, i: number): string => path.join(dir, `host-${i}-key.pem`);

/**
 * Creates a fresh CA (ECDSA P-256) and one certificate per host, signed by
 * it: subject CN `scmpc-host-<i>`, SAN `DNS:scmpc-host-<i>`, `IP:127.0.0.1`,
 * `DNS:localhost` and the host's own names from `hostNames[i]` (DNS names
 * or IP addresses peers dial it by), key usage digitalSignature, extended key usage serverAuth
 * and clientAuth (each host is a TLS server to its peers and a client of
 * them). Writes `ca.pem`, `host-<i>.pem` and `host-<i>-key.pem` (mode 0600)
 * into `dir`. The CA's private key is discarded: the set is closed, and
 * hosts pin each other's fingerprints anyway.
 *
 * Uses WebCrypto only (no openssl binary).
 *
 * @example
 * const tls = await createTlsMaterial({ hosts: 3, dir: ".scmpc/tls" });
 * tls.hosts[0].fingerprint; // "5e0c…", for SCMPC_HOST_PEER_FINGERPRINTS
 */
export async function createTlsMaterial(options: {
  hosts: number;
  dir: string;
  validityDays?: number;
  /** Extra subject alternative names per host, in index order: DNS names or IP addresses. */
  hostNames?: readonly (readonly string[])[];
}): Promise<TlsMaterial> {
  const { hosts, dir } = options;
  if (!Number.isInteger(hosts) || hosts < 1) throw new RangeError(`hosts must be a positive integer, got ${hosts}`);
  const hostNames = options.hostNames ?? [];
  if (hostNames.length > hosts) throw new RangeError(`names were given for ${hostNames.length} hosts but only ${hosts} are created`);
  for (const name of hostNames.flat()) {
    if (isIP(name) === 0 && !/^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/.test(name)) {
      throw new RangeError(`"${name}" is neither a DNS name nor an IP address`);
    }
  }
  const validityDays = options.validityDays ?? 825;
  const notBefore = new Date(Date.now() - BACKDATE_MS);
  const notAfter = new Date(Date.now() + validityDays * DAY_MS);
  const crypto = webcrypto as unknown as Crypto;

  const caKeys = (await crypto.subtle.generateKey(EC_P256, true, ["sign", "verify"])) as CryptoKeyPair;
  const caCert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      name: "CN=scmpc host CA",
      notBefore,
      notAfter,
      keys: caKeys,
      signingAlgorithm: SIGNING,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey, false, crypto),
      ],
    },
    crypto,
  );

  await mkdir(dir, { recursive: true });
  await writeFile(caPath(dir), caCert.toString("pem") + "\n");
  const files: HostTlsFiles[] = [];
  for (let i = 0; i < hosts; i++) {
    const name = hostCertificateName(i);
    const keys = (await crypto.subtle.generateKey(EC_P256, true, ["sign", "verify"])) as CryptoKeyPair;
    const cert = await x509.X509CertificateGenerator.create(
      {
        subject: `CN=${name}`,
        issuer: caCert.subject,
        notBefore,
        notAfter,
        publicKey: keys.publicKey,
        signingKey: caKeys.privateKey,
        signingAlgorithm: SIGNING,
        extensions: [
          new x509.BasicConstraintsExtension(false, undefined, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
          new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth], false),
          new x509.SubjectAlternativeNameExtension(
            [...new Set([name, "127.0.0.1", "localhost", ...(hostNames[i] ?? [])])].map((value) => ({
              type: isIP(value) === 0 ? ("dns" as const) : ("ip" as const),
              value,
            })),
          ),
          await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
          await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey, false, crypto),
        ],
      },
      crypto,
    );
    const pkcs8 = Buffer.from(await crypto.subtle.exportKey("pkcs8", keys.privateKey));
    const keyPem = x509.PemConverter.encode(pkcs8, "PRIVATE KEY") + "\n";
    // Create the key file 0600 from the start rather than tightening it afterwards.
    await writeFile(keyPath(dir, i), keyPem, { mode: 0o600 });
    await chmod(keyPath(dir, i), 0o600);
    await writeFile(certPath(dir, i), cert.toString("pem") + "\n");
    files.push({ certFile: certPath(dir, i), keyFile: keyPath(dir, i), fingerprint: certificateFingerprint(Buffer.from(cert.rawData)) });
  }
  return { dir, caFile: caPath(dir), hosts: files };
}

/**
 * Reads TLS material written by {@link createTlsMaterial}, or returns
 * undefined when any file is missing, unparsable, not issued by `ca.pem`, or
 * expires within `minValidDays` — the caller then creates a fresh set.
 *
 * @example
 * const tls = (await readTlsMaterial({ hosts: 3, dir })) ?? (await createTlsMaterial({ hosts: 3, dir }));
 */
export async function readTlsMaterial(options: { hosts: number; dir: string; minValidDays?: number }): Promise<TlsMaterial | undefined> {
  const { hosts, dir } = options;
  const validUntil = Date.now() + (options.minValidDays ?? 1) * DAY_MS;
  try {
    const ca = new X509Certificate(await readFile(caPath(dir)));
    if (Date.parse(ca.validTo) < validUntil) return undefined;
    const files: HostTlsFiles[] = [];
    for (let i = 0; i < hosts; i++) {
      const cert = new X509Certificate(await readFile(certPath(dir, i)));
      const key = await readFile(keyPath(dir, i));
      if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey) || !cert.checkPrivateKey(createPrivateKey(key))) return undefined;
      if (Date.parse(cert.validTo) < validUntil) return undefined;
      files.push({ certFile: certPath(dir, i), keyFile: keyPath(dir, i), fingerprint: certificateFingerprint(cert.raw) });
    }
    return { dir, caFile: caPath(dir), hosts: files };
  } catch {
    return undefined;
  }
}

/** One host's share of the material: what that host's operator installs, and nothing of the other hosts' keys. */
export interface HostTlsBundle {
  dir: string;
  caFile: string;
  certFile: string;
  keyFile: string;
  /** Every host's certificate, in index order (the host's own included), for `SCMPC_HOST_PEER_CERTS`. */
  peerCertFiles: string[];
}

/**
 * Copies the material into one directory per host, `outDir/host-<i>/`:
 * `ca.pem`, every host's certificate and that host's key only, so each
 * host's operator (or container volume) receives just its own identity.
 *
 * @example
 * const bundles = await writeHostBundles(await createTlsMaterial({ hosts: 3, dir }), "/tls");
 * bundles[1].keyFile; // "/tls/host-1/host-1-key.pem"
 */
export async function writeHostBundles(material: TlsMaterial, outDir: string): Promise<HostTlsBundle[]> {
  const bundles: HostTlsBundle[] = [];
  for (let i = 0; i < material.hosts.length; i++) {
    const dir = path.join(outDir, `host-${i}`);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await copyFile(material.caFile, caPath(dir));
    for (let j = 0; j < material.hosts.length; j++) await copyFile(material.hosts[j].certFile, certPath(dir, j));
    await writeFile(keyPath(dir, i), await readFile(material.hosts[i].keyFile), { mode: 0o600 });
    await chmod(keyPath(dir, i), 0o600);
    bundles.push({
      dir,
      caFile: caPath(dir),
      certFile: certPath(dir, i),
      keyFile: keyPath(dir, i),
      peerCertFiles: material.hosts.map((_, j) => certPath(dir, j)),
    });
  }
  return bundles;
}
