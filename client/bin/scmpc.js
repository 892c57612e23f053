#!/usr/bin/env node
// Launcher of the scmpc CLI: checks the Node.js version, then runs the
// TypeScript sources through tsx.
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
require("../../scripts/check-node.cjs");
const { register } = await import("tsx/esm/api");
register();
// The collector's setting of a process that makes and sends shares of whole columns, before anything allocates.
await import("@scmpc/mpc-engine/gc-tuning");
// Output piped into a reader that stops early (`scmpc market list | head`) ends the command quietly.
process.stdout.on("error", (err) => {
  if (err.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw err;
});
const { main } = await import("../src/cli.ts");
process.exitCode = await main(process.argv.slice(2));
