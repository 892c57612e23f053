#!/usr/bin/env node
// Launcher of the scmpc CLI: checks the Node.js version, then runs the
// TypeScript sources through tsx.
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
require("../../scripts/check-node.cjs");
const { register } = await import("tsx/esm/api");
register();
const { main } = await import("../src/cli.ts");
process.exitCode = await main(process.argv.slice(2));
