import { pino } from "pino";
import { loadRelayConfig } from "./config.ts";
import { portOf, startRelayHealthServer } from "./health-server.ts";
import { startRelay } from "./relay.ts";

// Entry point of the oracle relay process. Its state lives in the SQLite
// store at SCMPC_RELAY_STORE; a restart (even after kill -9) resumes from it.
const config = loadRelayConfig(process.env);
const logger = pino({ level: config.logLevel, base: { service: "relay" } });
const relay = startRelay(config, logger, {
  onFatal: () => {
    // The store belongs to another chain (going on could skip requests), or the
    // market's consumers cannot be read (serving without the filter would spend
    // gas on anyone's requests).
    void relay.stop().finally(() => process.exit(1));
  },
});
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
