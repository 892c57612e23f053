// Entry point of one MPC host process: configuration from the environment,
// start, graceful close on SIGTERM/SIGINT.
// First: the garbage-collector setting must precede the allocations it is for.
import "./gc-tuning.ts";
import { pino } from "pino";
import { isMpcError } from "./errors.ts";
import { loadHostConfig } from "./host/config.ts";
import { createHost } from "./host/server.ts";

async function main(): Promise<void> {
  let config;
  let host;
  let logger;
  try {
    config = loadHostConfig(process.env);
    logger = pino({ level: config.logLevel, base: { hostIndex: config.hostIndex } });
    // Reads and checks the TLS material: a configuration error too.
    host = createHost(config, { logger });
  } catch (err) {
    if (!isMpcError(err, "CONFIG_INVALID")) throw err;
    pino().fatal({ code: err.code }, err.message);
    process.exitCode = 2;
    return;
  }
  const { port, peerPort } = await host.start();
  // hostIndex comes from the logger's base bindings.
  logger.info({ port, peerPort }, "host listening");

  let closing = false;
  const shutdown = (signal: string): void => {
    if (closing) return;
    closing = true;
    logger.info({ signal }, "host closing");
    host.close().then(
      () => logger.info("host closed"),
      (err: unknown) => {
        logger.error({ err }, "host close failed");
        process.exitCode = 1;
      },
    );
  };
  process.once("SIGTERM", () => shutdown("SIGTERM"));
  process.once("SIGINT", () => shutdown("SIGINT"));
}

main().catch((err: unknown) => {
  pino().fatal({ err }, "host failed to start");
  process.exitCode = 1;
});
