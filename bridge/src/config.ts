import path from "node:path";
import { getAddress } from "ethers";
import { ConfigError, parseEndpointList, parseListen, parseLogLevel, parsePositiveInt, parseUrl } from "./config-parsers.ts";
import type { Listen, LogLevel } from "./config-parsers.ts";
import { readHostApiTls, type HostApiTls } from "@scmpc/mpc-engine/tls";

/** Configuration of the bridge process, built once at start-up. */
export interface BridgeConfig {
  listen: Listen;
  /** The three MPC hosts' gRPC endpoints, in host-index order. */
  hosts: string[];
  /** How the hosts' Host API is trusted (their CA, their pinned certificates); undefined only with SCMPC_HOSTS_INSECURE=true. */
  hostsTls: HostApiTls | undefined;
  /**
   * Private key (0x hex) the bridge signs every Compute and SignResult call
   * with; the hosts answer only calls signed by its address
   * (SCMPC_HOST_BRIDGE_ADDRESS). Sensitive: never logged.
   */
  signingKey: string;
  /**
   * The key every caller of `POST /` and `GET /jobs/...` presents as
   * `Authorization: Bearer <key>` (a Chainlink node's bridge token). Undefined
   * only when explicitly allowed by `SCMPC_BRIDGE_INSECURE_NO_ACCESS_KEY=true`.
   * Sensitive: never logged.
   */
  accessKey: string | undefined;
  /** SQLite file of the durable job store. */
  storeFile: string;
  /** Deadline of one MPC job (each start or restart), covering every gRPC call it makes. */
  jobTimeoutMs: number;
  /** Deadline of the on-chain check of a request. */
  chainTimeoutMs: number;
  /** JSON-RPC endpoint for the on-chain check of every request. */
  rpcUrl: string;
  /** If not empty, the only consumer contracts the bridge serves. */
  algorithmContracts: string[];
  /** Calls to the protected routes allowed per client address and window. */
  rateLimit: { max: number; windowMs: number };
  callbacks: {
    /** The only origins (`scheme://host:port`) a `responseURL` may have: the bridge PATCHes no one else. */
    allowedOrigins: string[];
    /** Sent as `Authorization: Bearer` on PATCHes to a `responseURL`, if set. Sensitive: never logged. */
    token: string | undefined;
    /** PATCH attempts per callback before it is given up. */
    maxAttempts: number;
    /** Deadline of one PATCH. */
    timeoutMs: number;
    /** First retry delay; doubled per attempt up to `maxDelayMs`. */
    baseDelayMs: number;
    maxDelayMs: number;
  };
  logLevel: LogLevel;
}

/** Where a Chainlink node on the bridge's machine takes its async bridge answers (its API's default port). */
export const DEFAULT_CALLBACK_ORIGINS = "http://localhost:6688,http://127.0.0.1:6688";

/** Shortest access key accepted: a guessable key would make the check decorative. */
const MIN_ACCESS_KEY_LENGTH = 16;

function parseBoolean(variable: string, value: string | undefined): boolean {
  if (value === undefined || value === "" || value === "false") return false;
  if (value === "true") return true;
  throw new ConfigError(variable, `must be "true" or "false", got "${value}"`);
}

function parseAddressList(variable: string, value: string | undefined): string[] {
  if (!value) return [];
  return value.split(",").map((s) => {
    try {
      return getAddress(s.trim());
    } catch {
      throw new ConfigError(variable, `must be comma-separated 0x addresses, got "${s.trim()}"`);
    }
  });
}

function parseOriginList(variable: string, value: string | undefined): string[] {
  if (!value) return [];
  return value.split(",").map((s) => {
    try {
      const url = new URL(s.trim());
      if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error("scheme");
      return url.origin;
    } catch {
      throw new ConfigError(variable, `must be comma-separated http(s) origins, got "${s.trim()}"`);
    }
  });
}

/**
 * Builds the bridge configuration from the environment (the only place the
 * bridge reads it). Throws an error naming the variable that is wrong.
 *
 * @example
 * const config = loadBridgeConfig(process.env);
 */
export function loadBridgeConfig(env: NodeJS.ProcessEnv): BridgeConfig {
  const insecure = parseBoolean("SCMPC_BRIDGE_INSECURE_NO_ACCESS_KEY", env.SCMPC_BRIDGE_INSECURE_NO_ACCESS_KEY);
  const accessKey = env.SCMPC_BRIDGE_ACCESS_KEY || undefined;
  if (accessKey === undefined && !insecure) {
    throw new ConfigError(
      "SCMPC_BRIDGE_ACCESS_KEY",
      "is required (the token callers send as Authorization: Bearer); set SCMPC_BRIDGE_INSECURE_NO_ACCESS_KEY=true to run without one",
    );
  }
  if (accessKey !== undefined && accessKey.length < MIN_ACCESS_KEY_LENGTH) {
    throw new ConfigError("SCMPC_BRIDGE_ACCESS_KEY", `must be at least ${MIN_ACCESS_KEY_LENGTH} characters`);
  }
  const signingKey = env.SCMPC_BRIDGE_SIGNING_KEY ?? "";
  if (!/^0x[0-9a-fA-F]{64}$/.test(signingKey)) {
    // The value is a secret: the message says what is wrong without repeating it.
    throw new ConfigError("SCMPC_BRIDGE_SIGNING_KEY", "is required: a 0x-prefixed 32-byte hex private key whose address the hosts know as the bridge's");
  }
  const jobTimeoutMs = parsePositiveInt(
    env.SCMPC_BRIDGE_JOB_TIMEOUT_MS !== undefined ? "SCMPC_BRIDGE_JOB_TIMEOUT_MS" : "SCMPC_COMPUTE_TIMEOUT_MS",
    env.SCMPC_BRIDGE_JOB_TIMEOUT_MS ?? env.SCMPC_COMPUTE_TIMEOUT_MS ?? "120000",
  );
  return {
    listen: parseListen("SCMPC_BRIDGE_LISTEN", env.SCMPC_BRIDGE_LISTEN ?? "127.0.0.1:8080"),
    hosts: parseEndpointList("SCMPC_HOSTS", env.SCMPC_HOSTS, 3),
    hostsTls: parseHostsTls(env),
    signingKey,
    accessKey,
    storeFile: path.resolve(env.SCMPC_BRIDGE_STORE || path.join("data", "bridge", "jobs.sqlite")),
    jobTimeoutMs,
    chainTimeoutMs: parsePositiveInt("SCMPC_BRIDGE_CHAIN_TIMEOUT_MS", env.SCMPC_BRIDGE_CHAIN_TIMEOUT_MS ?? "10000"),
    rpcUrl: parseUrl("SCMPC_RPC_URL", env.SCMPC_RPC_URL),
    algorithmContracts: parseAddressList("SCMPC_ALGORITHM_CONTRACTS", env.SCMPC_ALGORITHM_CONTRACTS),
    rateLimit: {
      max: parsePositiveInt("SCMPC_BRIDGE_RATE_LIMIT_MAX", env.SCMPC_BRIDGE_RATE_LIMIT_MAX ?? "600"),
      windowMs: parsePositiveInt("SCMPC_BRIDGE_RATE_LIMIT_WINDOW_MS", env.SCMPC_BRIDGE_RATE_LIMIT_WINDOW_MS ?? "60000"),
    },
    callbacks: {
      // A Chainlink node's own API (default port 6688) is the only caller that sends a responseURL.
      allowedOrigins: parseOriginList("SCMPC_BRIDGE_CALLBACK_ORIGINS", env.SCMPC_BRIDGE_CALLBACK_ORIGINS ?? DEFAULT_CALLBACK_ORIGINS),
      token: env.SCMPC_BRIDGE_CALLBACK_TOKEN || undefined,
      maxAttempts: parsePositiveInt("SCMPC_BRIDGE_CALLBACK_MAX_ATTEMPTS", env.SCMPC_BRIDGE_CALLBACK_MAX_ATTEMPTS ?? "10"),
      timeoutMs: parsePositiveInt("SCMPC_BRIDGE_CALLBACK_TIMEOUT_MS", env.SCMPC_BRIDGE_CALLBACK_TIMEOUT_MS ?? "10000"),
      baseDelayMs: parsePositiveInt("SCMPC_BRIDGE_CALLBACK_BACKOFF_MS", env.SCMPC_BRIDGE_CALLBACK_BACKOFF_MS ?? "1000"),
      maxDelayMs: 5 * 60_000,
    },
    logLevel: parseLogLevel(env.SCMPC_LOG_LEVEL),
  };
}

/**
 * The hosts serve their Host API over TLS: the bridge trusts their CA
 * (SCMPC_HOSTS_TLS_CA) and pins their certificates (SCMPC_HOSTS_CERTS, three
 * files, or SCMPC_HOSTS_FINGERPRINTS). SCMPC_HOSTS_INSECURE=true talks
 * plaintext instead (hosts run with SCMPC_HOST_API_TLS=false).
 */
function parseHostsTls(env: NodeJS.ProcessEnv): HostApiTls | undefined {
  const insecure = parseBoolean("SCMPC_HOSTS_INSECURE", env.SCMPC_HOSTS_INSECURE);
  const caFile = env.SCMPC_HOSTS_TLS_CA || undefined;
  if (insecure) {
    if (caFile !== undefined) throw new ConfigError("SCMPC_HOSTS_INSECURE", "and SCMPC_HOSTS_TLS_CA exclude each other");
    return undefined;
  }
  if (caFile === undefined) {
    throw new ConfigError("SCMPC_HOSTS_TLS_CA", "is required (the CA of the hosts' certificates); set SCMPC_HOSTS_INSECURE=true for hosts without TLS");
  }
  const certFiles = env.SCMPC_HOSTS_CERTS ? env.SCMPC_HOSTS_CERTS.split(",").map((f) => f.trim()) : undefined;
  const fingerprints = env.SCMPC_HOSTS_FINGERPRINTS ? env.SCMPC_HOSTS_FINGERPRINTS.split(",").map((f) => f.trim()) : undefined;
  if ((certFiles === undefined) === (fingerprints === undefined)) {
    throw new ConfigError("SCMPC_HOSTS_CERTS", "or SCMPC_HOSTS_FINGERPRINTS (exactly one of them) must pin the three hosts' certificates");
  }
  try {
    return readHostApiTls({ caFile, certFiles, fingerprints });
  } catch (err) {
    throw new ConfigError(certFiles ? "SCMPC_HOSTS_CERTS" : "SCMPC_HOSTS_FINGERPRINTS", `/ SCMPC_HOSTS_TLS_CA: ${(err as Error).message}`);
  }
}
