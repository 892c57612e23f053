import { readFileSync } from "node:fs";
import { X509Certificate } from "node:crypto";
import { availableParallelism } from "node:os";
import { getAddress, isAddress } from "ethers";
import { MAX_MESSAGE_BYTES } from "@scmpc/protos";
import { hostAndPort } from "../channel/peer-wire.ts";
import { MpcError } from "../errors.ts";
import { certificateFingerprint, normaliseFingerprint, type CertificateFingerprint } from "../tls/fingerprint.ts";

/** Log levels accepted by pino. */
export type LogLevel = "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
const LOG_LEVELS: readonly LogLevel[] = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

/** Index of one of the three hosts. */
export type HostIndex = 0 | 1 | 2;

/** The one configuration object of a host process. */
export interface HostConfig {
  /** This host's index (0, 1 or 2). */
  hostIndex: HostIndex;
  /** `host:port` the Host API (sellers, bridge) binds (port 0 picks a free port). */
  listen: string;
  /** Whether the Host API is served over TLS with this host's certificate (default true). */
  apiTls: boolean;
  /**
   * `host:port` of the web API for browsers (HTTPS with the Host API's
   * certificate, plaintext HTTP when `apiTls` is false; see web-api.ts);
   * absent: no web API.
   */
  webListen?: string;
  /** `host:port` the Peer port (mutual TLS, the other hosts only) binds. */
  peerListen: string;
  /** `host:port` of the Peer port of hosts 0, 1 and 2, in index order (own entry unused for dialling). */
  peers: readonly [string, string, string];
  /** PEM files of the host-to-host mutual TLS. */
  tls: PeerTlsFiles;
  /** SHA-256 fingerprints (lowercase hex) of hosts 0, 1 and 2's certificates: the only certificates a peer may present. */
  peerFingerprints: readonly [CertificateFingerprint, CertificateFingerprint, CertificateFingerprint];
  /** Directory of the share store and host secrets. */
  dataDir: string;
  /** JSON-RPC endpoint of the chain. */
  rpcUrl: string;
  /** Checksummed address of the dataset registry. */
  registryAddress: string;
  /** Checksummed addresses of the algorithm (consumer) contracts allowed to request computations. */
  algorithmContracts: readonly string[];
  /** Upper bound on one Compute job (chain checks plus protocol rounds). */
  jobTimeoutMs: number;
  /**
   * The bridge's address: Compute and SignResult answer only calls signed by
   * its key (see bridge-auth.ts); everyone else is refused before the request
   * is looked at.
   */
  bridgeAddress: string;
  /** Blocks on top of a fulfilment before this host releases its key for it (the chain's reorg depth). */
  releaseConfirmations: number;
  /** A job starts, and a result is signed, only while at least this many seconds remain before the request's deadline. */
  deadlineMarginS: number;
  /** Largest UploadShares message accepted (bytes): the largest share sent whole (or expanded from a whole message's seeds). */
  maxUploadBytes: number;
  /** Largest share (bytes, values and validity, both sides) taken by a streamed upload. */
  maxShareBytes: number;
  /** Memory for shares held between jobs (bytes); a larger share is read from disk a block of rows at a time. */
  shareMemoryBytes: number;
  /**
   * Threads a job's rounds compute on: the event loop (cross terms, the
   * channel) and `workers − 1` worker threads drawing the rounds' PRF
   * streams; 1 keeps everything on the event loop.
   */
  workers: number;
  /** Share bytes one seller may store on this host. */
  sellerQuotaBytes: number;
  /** Shares not registered on-chain (with this host's commitment) this long after upload are deleted. */
  unregisteredTtlMs: number;
  /** Share bytes of all not-yet-registered uploads together this host holds at most. */
  unregisteredMaxBytes: number;
  /**
   * Private key (0x hex) this host signs results with; its address is the
   * host's registered signer. Sensitive: never logged.
   */
  signingKey: string;
  logLevel: LogLevel;
}

/** Paths of this host's TLS material for the Peer port. */
export interface PeerTlsFiles {
  /** CA certificate that issued all three hosts' certificates. */
  caFile: string;
  /** This host's certificate (client and server). */
  certFile: string;
  /** This host's private key. */
  keyFile: string;
}

/**
 * Builds and validates the host configuration from environment variables,
 * reporting every problem at once. The only reader of the environment. The
 * TLS files themselves are read and checked by `loadPeerTls` when the host
 * is created.
 *
 * | variable | meaning |
 * |---|---|
 * | SCMPC_HOST_INDEX | 0, 1 or 2 |
 * | SCMPC_HOST_LISTEN | host:port of the Host API (default 127.0.0.1:0) |
 * | SCMPC_HOST_API_TLS | serve the Host API over TLS with the host's certificate: true (default) or false |
 * | SCMPC_HOST_WEB_LISTEN | host:port of the web API for browsers, over the Host API's TLS (default: none) |
 * | SCMPC_HOST_PEER_LISTEN | host:port of the Peer port (mutual TLS) |
 * | SCMPC_HOST_PEERS | host:port of hosts 0,1,2's Peer port, comma-separated |
 * | SCMPC_HOST_TLS_CA | PEM file of the CA of the hosts' certificates |
 * | SCMPC_HOST_TLS_CERT | PEM file of this host's certificate |
 * | SCMPC_HOST_TLS_KEY | PEM file of this host's private key |
 * | SCMPC_HOST_PEER_FINGERPRINTS | SHA-256 fingerprints (hex) of hosts 0,1,2's certificates, comma-separated |
 * | SCMPC_HOST_PEER_CERTS | instead of the fingerprints: PEM files of hosts 0,1,2's certificates, comma-separated |
 * | SCMPC_HOST_DATA_DIR | share store directory |
 * | SCMPC_RPC_URL | chain JSON-RPC URL |
 * | SCMPC_REGISTRY_ADDRESS | dataset registry address |
 * | SCMPC_ALGORITHM_CONTRACTS | allowed consumer addresses, comma-separated |
 * | SCMPC_JOB_TIMEOUT_MS | job timeout (default 30000) |
 * | SCMPC_HOST_BRIDGE_ADDRESS | address of the bridge's signing key: the only caller of Compute and SignResult |
 * | SCMPC_HOST_RELEASE_CONFIRMATIONS | blocks on top of a fulfilment before the release key is given out (default 0) |
 * | SCMPC_HOST_DEADLINE_MARGIN_S | seconds that must remain before a request's deadline to start or sign its job (default 60) |
 * | SCMPC_HOST_MAX_UPLOAD_BYTES | largest upload message, and largest share sent whole (default 536870912) |
 * | SCMPC_HOST_MAX_SHARE_BYTES | largest share sent as a stream (default 4294967296) |
 * | SCMPC_HOST_SHARE_MEMORY_BYTES | memory for shares kept between jobs; larger shares are read from disk by blocks of rows (default 536870912) |
 * | SCMPC_HOST_WORKERS | threads a job's rounds compute on, the event loop and workers − 1 threads drawing PRF streams; 1 for the event loop alone (default: the machine's cores, os.availableParallelism()) |
 * | SCMPC_HOST_SELLER_QUOTA_BYTES | share bytes per seller (default 4294967296) |
 * | SCMPC_HOST_UNREGISTERED_TTL_S | seconds an upload may wait for its on-chain registration (default 3600) |
 * | SCMPC_HOST_UNREGISTERED_MAX_BYTES | share bytes of unregistered uploads in all (default 8589934592) |
 * | SCMPC_HOST_SIGNING_KEY | 0x private key the host signs results with (sensitive) |
 * | SCMPC_LOG_LEVEL | pino level (default info) |
 *
 * @throws MpcError `CONFIG_INVALID` listing every invalid variable
 * @example
 * const config = loadHostConfig(process.env);
 */
export function loadHostConfig(env: Readonly<Record<string, string | undefined>>): HostConfig {
  const problems: string[] = [];
  const get = (name: string): string | undefined => {
    const v = env[name]?.trim();
    return v === "" ? undefined : v;
  };
  const required = (name: string): string => {
    const v = get(name);
    if (v === undefined) problems.push(`${name} is required`);
    return v ?? "";
  };

  const indexText = required("SCMPC_HOST_INDEX");
  const hostIndex = Number(indexText);
  if (indexText !== "" && !(hostIndex === 0 || hostIndex === 1 || hostIndex === 2)) {
    problems.push(`SCMPC_HOST_INDEX must be 0, 1 or 2, got ${JSON.stringify(indexText)}`);
  }

  const listen = get("SCMPC_HOST_LISTEN") ?? "127.0.0.1:0";
  if (!isHostPort(listen)) problems.push(`SCMPC_HOST_LISTEN must be host:port, got ${JSON.stringify(listen)}`);

  const apiTlsText = (get("SCMPC_HOST_API_TLS") ?? "true").toLowerCase();
  if (apiTlsText !== "true" && apiTlsText !== "false") problems.push(`SCMPC_HOST_API_TLS must be true or false, got ${JSON.stringify(apiTlsText)}`);

  const webListen = get("SCMPC_HOST_WEB_LISTEN");
  if (webListen !== undefined && !isHostPort(webListen)) problems.push(`SCMPC_HOST_WEB_LISTEN must be host:port, got ${JSON.stringify(webListen)}`);
  if (webListen !== undefined && webListen === listen && !webListen.endsWith(":0")) {
    problems.push("SCMPC_HOST_WEB_LISTEN must differ from SCMPC_HOST_LISTEN: the web API has its own port");
  }

  const peerListen = required("SCMPC_HOST_PEER_LISTEN");
  if (peerListen !== "" && !isHostPort(peerListen)) {
    problems.push(`SCMPC_HOST_PEER_LISTEN must be host:port, got ${JSON.stringify(peerListen)}`);
  }
  if (peerListen !== "" && peerListen === listen && !peerListen.endsWith(":0")) {
    problems.push("SCMPC_HOST_PEER_LISTEN must differ from SCMPC_HOST_LISTEN: the Peer port is a port of its own (mutual TLS)");
  }
  if (peerListen !== "" && peerListen === webListen && !peerListen.endsWith(":0")) {
    problems.push("SCMPC_HOST_WEB_LISTEN must differ from SCMPC_HOST_PEER_LISTEN: the web API has its own port");
  }

  const peersText = required("SCMPC_HOST_PEERS");
  const peers = peersText.split(",").map((p) => p.trim());
  if (peersText !== "") {
    if (peers.length !== 3) problems.push(`SCMPC_HOST_PEERS must list exactly 3 host:port entries, got ${peers.length}`);
    for (const p of peers) if (!isHostPort(p)) problems.push(`SCMPC_HOST_PEERS entry ${JSON.stringify(p)} is not host:port`);
  }

  const tls: PeerTlsFiles = {
    caFile: required("SCMPC_HOST_TLS_CA"),
    certFile: required("SCMPC_HOST_TLS_CERT"),
    keyFile: required("SCMPC_HOST_TLS_KEY"),
  };

  const peerCertsText = get("SCMPC_HOST_PEER_CERTS");
  const fingerprintsText = peerCertsText === undefined ? required("SCMPC_HOST_PEER_FINGERPRINTS") : (get("SCMPC_HOST_PEER_FINGERPRINTS") ?? "");
  const peerFingerprints: string[] = [];
  if (peerCertsText !== undefined && fingerprintsText !== "") {
    problems.push("set SCMPC_HOST_PEER_FINGERPRINTS or SCMPC_HOST_PEER_CERTS, not both");
  } else if (peerCertsText !== undefined) {
    // Pin the certificates the operator was given: their fingerprints, computed here once.
    const files = peerCertsText.split(",").map((f) => f.trim());
    if (files.length !== 3) problems.push(`SCMPC_HOST_PEER_CERTS must list exactly 3 certificate files, got ${files.length}`);
    files.forEach((file, i) => {
      try {
        peerFingerprints.push(certificateFingerprint(new X509Certificate(readFileSync(file)).raw));
      } catch (err) {
        problems.push(`SCMPC_HOST_PEER_CERTS entry ${i} (${file}) is not a readable PEM certificate: ${(err as Error).message}`);
      }
    });
    if (new Set(peerFingerprints).size !== peerFingerprints.length) problems.push("SCMPC_HOST_PEER_CERTS lists one certificate for two hosts");
  } else if (fingerprintsText !== "") {
    const entries = fingerprintsText.split(",").map((f) => f.trim());
    if (entries.length !== 3) problems.push(`SCMPC_HOST_PEER_FINGERPRINTS must list exactly 3 fingerprints, got ${entries.length}`);
    entries.forEach((entry, i) => {
      const fp = normaliseFingerprint(entry);
      if (fp === undefined) problems.push(`SCMPC_HOST_PEER_FINGERPRINTS entry ${i} is not a SHA-256 fingerprint (64 hex digits): ${JSON.stringify(entry)}`);
      else peerFingerprints.push(fp);
    });
    if (new Set(peerFingerprints).size !== peerFingerprints.length) {
      problems.push("SCMPC_HOST_PEER_FINGERPRINTS lists one certificate for two hosts");
    }
  }

  const dataDir = required("SCMPC_HOST_DATA_DIR");

  const rpcUrl = required("SCMPC_RPC_URL");
  if (rpcUrl !== "" && !/^(https?|wss?):\/\//.test(rpcUrl)) {
    problems.push(`SCMPC_RPC_URL must be an http(s) or ws(s) URL, got ${JSON.stringify(rpcUrl)}`);
  }

  const registryText = required("SCMPC_REGISTRY_ADDRESS");
  if (registryText !== "" && !isAddress(registryText)) {
    problems.push(`SCMPC_REGISTRY_ADDRESS is not an address: ${JSON.stringify(registryText)}`);
  }

  const contractsText = required("SCMPC_ALGORITHM_CONTRACTS");
  const algorithmContracts: string[] = [];
  if (contractsText !== "") {
    for (const c of contractsText.split(",").map((s) => s.trim())) {
      if (isAddress(c)) algorithmContracts.push(getAddress(c));
      else problems.push(`SCMPC_ALGORITHM_CONTRACTS entry is not an address: ${JSON.stringify(c)}`);
    }
  }

  const timeoutText = get("SCMPC_JOB_TIMEOUT_MS") ?? "30000";
  const jobTimeoutMs = Number(timeoutText);
  if (!Number.isInteger(jobTimeoutMs) || jobTimeoutMs <= 0) {
    problems.push(`SCMPC_JOB_TIMEOUT_MS must be a positive integer, got ${JSON.stringify(timeoutText)}`);
  }

  const bridgeText = required("SCMPC_HOST_BRIDGE_ADDRESS");
  if (bridgeText !== "" && !isAddress(bridgeText)) {
    problems.push(`SCMPC_HOST_BRIDGE_ADDRESS is not an address: ${JSON.stringify(bridgeText)}`);
  }
  const integer = (name: string, fallback: string, min: number): number => {
    const text = get(name) ?? fallback;
    const value = Number(text);
    if (!Number.isSafeInteger(value) || value < min) problems.push(`${name} must be an integer of at least ${min}, got ${JSON.stringify(text)}`);
    return value;
  };
  const releaseConfirmations = integer("SCMPC_HOST_RELEASE_CONFIRMATIONS", "0", 0);
  const deadlineMarginS = integer("SCMPC_HOST_DEADLINE_MARGIN_S", "60", 0);
  const maxUploadBytes = integer("SCMPC_HOST_MAX_UPLOAD_BYTES", String(MAX_MESSAGE_BYTES), 1024);
  const maxShareBytes = integer("SCMPC_HOST_MAX_SHARE_BYTES", String(4 * 1024 ** 3), 1024);
  const shareMemoryBytes = integer("SCMPC_HOST_SHARE_MEMORY_BYTES", String(512 * 1024 ** 2), 0);
  const workers = integer("SCMPC_HOST_WORKERS", String(availableParallelism()), 1);
  const sellerQuotaBytes = integer("SCMPC_HOST_SELLER_QUOTA_BYTES", String(4 * 1024 ** 3), 1);
  const unregisteredTtlS = integer("SCMPC_HOST_UNREGISTERED_TTL_S", "3600", 1);
  const unregisteredMaxBytes = integer("SCMPC_HOST_UNREGISTERED_MAX_BYTES", String(8 * 1024 ** 3), 1);

  const signingKey = required("SCMPC_HOST_SIGNING_KEY");
  if (signingKey !== "" && !/^0x[0-9a-fA-F]{64}$/.test(signingKey)) {
    // The value is a secret: the message says what is wrong without repeating it.
    problems.push("SCMPC_HOST_SIGNING_KEY must be a 0x-prefixed 32-byte hex private key");
  }

  const logLevel = (get("SCMPC_LOG_LEVEL") ?? "info") as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) {
    problems.push(`SCMPC_LOG_LEVEL must be one of ${LOG_LEVELS.join(", ")}, got ${JSON.stringify(logLevel)}`);
  }

  if (problems.length > 0) {
    throw new MpcError("CONFIG_INVALID", `invalid host configuration: ${problems.join("; ")}`, { details: { problems } });
  }
  return {
    hostIndex: hostIndex as HostIndex,
    listen,
    apiTls: apiTlsText !== "false",
    ...(webListen === undefined ? {} : { webListen }),
    peerListen,
    peers: peers as unknown as [string, string, string],
    tls,
    peerFingerprints: peerFingerprints as unknown as [string, string, string],
    dataDir,
    rpcUrl,
    registryAddress: getAddress(registryText),
    algorithmContracts,
    jobTimeoutMs,
    bridgeAddress: bridgeText === "" ? "" : getAddress(bridgeText),
    releaseConfirmations,
    deadlineMarginS,
    maxUploadBytes,
    maxShareBytes,
    shareMemoryBytes,
    workers,
    sellerQuotaBytes,
    unregisteredTtlMs: unregisteredTtlS * 1000,
    unregisteredMaxBytes,
    signingKey,
    logLevel,
  };
}

function isHostPort(text: string): boolean {
  try {
    hostAndPort(text);
    return true;
  } catch {
    return false;
  }
}
