import { pino } from "pino";
import { loadRelayConfig } from "./config.ts";
import { portOf, startRelayHealthServer } from "./health-server.ts";
import { startRelay } from "./relay.ts";

// Entry point of the oracle relay process.
const config = loadRelayConfig(process.env);
const logger = pino({ level: config.logLevel, base: { service: "relay" } });
const relay = startRelay(config, logger);
const health = await startRelayHealthServer(relay, config.healthListen);
logger.info({ host: config.healthListen.host, port: portOf(health) }, "relay health listening");

async function shutdown(signal: string): Promise<void> {
  logger.info({ signal }, "relay closing");
  health.close();
  await relay.stop();
  process.exit(0);
}
process.once("SIGTERM", () => void shutdown("SIGTERM"));
process.once("SIGINT", () => void shutdown("SIGINT"));
