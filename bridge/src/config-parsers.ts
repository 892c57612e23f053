/** Parsers shared by the bridge's and the relay's configuration. Each names the variable it rejects. */

export type LogLevel = "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";

export interface Listen {
  host: string;
  port: number;
}

/** Error in the process configuration; the message names the variable. */
export class ConfigError extends Error {
  readonly code = "CONFIG_INVALID";
  constructor(variable: string, problem: string) {
    super(`configuration: ${variable} ${problem}`);
    this.name = "ConfigError";
  }
}

/** Parses `host:port` (port 0 lets the system choose). */
export function parseListen(variable: string, value: string): Listen {
  const match = /^(.+):(\d{1,5})$/.exec(value);
  if (!match || Number(match[2]) > 65535) throw new ConfigError(variable, `must be host:port, got "${value}"`);
  return { host: match[1], port: Number(match[2]) };
}

/** Parses a comma-separated list of exactly `count` `host:port` endpoints. */
export function parseEndpointList(variable: string, value: string | undefined, count: number): string[] {
  if (!value) throw new ConfigError(variable, `is required (${count} comma-separated host:port endpoints)`);
  const endpoints = value.split(",").map((s) => s.trim());
  if (endpoints.length !== count) throw new ConfigError(variable, `must list ${count} endpoints, got ${endpoints.length}`);
  for (const endpoint of endpoints) parseListen(variable, endpoint);
  return endpoints;
}

/** Parses a positive decimal integer. */
export function parsePositiveInt(variable: string, value: string): number {
  if (!/^\d+$/.test(value) || Number(value) <= 0) throw new ConfigError(variable, `must be a positive integer, got "${value}"`);
  return Number(value);
}

/** Parses a non-negative decimal integer. */
export function parseNonNegativeInt(variable: string, value: string): number {
  if (!/^\d+$/.test(value)) throw new ConfigError(variable, `must be a non-negative integer, got "${value}"`);
  return Number(value);
}

/** Parses a required 0x-prefixed Ethereum address. */
export function parseAddress(variable: string, value: string | undefined): string {
  if (!value || !/^0x[0-9a-fA-F]{40}$/.test(value)) throw new ConfigError(variable, "must be a 0x-prefixed 20-byte address");
  return value;
}

/** Parses a required URL. */
export function parseUrl(variable: string, value: string | undefined): string {
  if (!value) throw new ConfigError(variable, "is required");
  try {
    return new URL(value).toString().replace(/\/$/, "");
  } catch {
    throw new ConfigError(variable, `is not a URL: "${value}"`);
  }
}

const LEVELS: readonly LogLevel[] = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

/** Parses a pino log level (default `info`). */
export function parseLogLevel(value: string | undefined): LogLevel {
  const level = (value ?? "info") as LogLevel;
  if (!LEVELS.includes(level)) throw new ConfigError("SCMPC_LOG_LEVEL", `must be one of ${LEVELS.join(", ")}`);
  return level;
}
