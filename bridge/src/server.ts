import { Wallet } from "ethers";
import { pino } from "pino";
import { buildApp } from "./app.ts";
import { loadBridgeConfig } from "./config.ts";
import { createGrpcHostsClient } from "./hosts-client.ts";
import { openJobStore } from "./job-store.ts";
import { createBridgeMetrics } from "./metrics.ts";
import { createChainRequestChecker } from "./onchain-request-check.ts";

// Entry point of the bridge process: configuration, logger, store, listening
// and graceful close live here; the app itself is built by buildApp. Jobs and
// callbacks left unfinished by a previous process resume when the app is
// ready, before it accepts a connection.
const config = loadBridgeConfig(process.env);
const logger = pino({
  level: config.logLevel,
  base: { service: "bridge" },
  // Secrets never reach a log line, whatever a future log call passes.
  redact: { paths: ["req.headers.authorization", "accessKey", "signingKey", "callbacks.token", "*.accessKey", "*.signingKey"], censor: "[redacted]" },
});
if (config.accessKey === undefined) {
  logger.warn("SCMPC_BRIDGE_INSECURE_NO_ACCESS_KEY=true: the bridge accepts calls without an access key");
}
if (config.listen.host !== "127.0.0.1" && config.listen.host !== "::1" && config.listen.host !== "localhost") {
  logger.warn({ host: config.listen.host }, "the bridge listens beyond loopback: put it behind TLS and keep the access key secret");
}
const metrics = createBridgeMetrics();
if (config.hostsTls === undefined) logger.warn("SCMPC_HOSTS_INSECURE=true: the bridge talks to the hosts without TLS");
const hosts = createGrpcHostsClient(config.hosts, {
  tls: config.hostsTls,
  // The hosts answer Compute and SignResult only when this key signed the call.
  signer: new Wallet(config.signingKey),
  onCallError: (host, method, code) => metrics.hostCallErrors.inc({ host: String(host), method, code }),
});
const store = openJobStore(config.storeFile);
const checker = createChainRequestChecker({ rpcUrl: config.rpcUrl, allowedConsumers: config.algorithmContracts });
const app = buildApp({
  hosts,
  store,
  checker,
  metrics,
  accessKey: config.accessKey,
  jobTimeoutMs: config.jobTimeoutMs,
  chainTimeoutMs: config.chainTimeoutMs,
  rateLimit: config.rateLimit,
  callbacks: config.callbacks,
  fastify: { loggerInstance: logger },
});

async function shutdown(signal: string): Promise<void> {
  logger.info({ signal }, "bridge closing");
  // Running jobs stay `running` in the store and resume at the next start.
  await app.close();
  hosts.close();
  checker.close();
  store.close();
  process.exit(0);
}
process.once("SIGTERM", () => void shutdown("SIGTERM"));
process.once("SIGINT", () => void shutdown("SIGINT"));

const address = await app.listen({ host: config.listen.host, port: config.listen.port });
const port = app.server.address();
logger.info(
  {
    address,
    port: typeof port === "object" && port ? port.port : config.listen.port,
    store: config.storeFile,
    jobTimeoutMs: config.jobTimeoutMs,
    auth: config.accessKey === undefined ? "none" : "bearer access key",
  },
  "bridge listening",
);
