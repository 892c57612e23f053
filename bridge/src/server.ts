import { pino } from "pino";
import { buildApp } from "./app.ts";
import { loadBridgeConfig } from "./config.ts";
import { createGrpcHostsClient } from "./hosts-client.ts";

// Entry point of the bridge process: configuration, logger, listening and
// graceful close live here; the app itself is built by buildApp.
const config = loadBridgeConfig(process.env);
const logger = pino({ level: config.logLevel, base: { service: "bridge" } });
const hosts = createGrpcHostsClient(config.hosts);
const app = buildApp({ hosts, computeTimeoutMs: config.computeTimeoutMs, fastify: { loggerInstance: logger } });

async function shutdown(signal: string): Promise<void> {
  logger.info({ signal }, "bridge closing");
  await app.close();
  hosts.close();
  process.exit(0);
}
process.once("SIGTERM", () => void shutdown("SIGTERM"));
process.once("SIGINT", () => void shutdown("SIGINT"));

const address = await app.listen({ host: config.listen.host, port: config.listen.port });
const port = app.server.address();
logger.info({ address, port: typeof port === "object" && port ? port.port : config.listen.port }, "bridge listening");
