// Entry point of `npm run tls -w mpc-engine -- create|show ...` (and of the
// host image's TLS job): the hosts' mutual-TLS material without the CLI.
import { runTlsCommand, TLS_USAGE, TlsUsageError } from "./command.ts";

try {
  process.exitCode = await runTlsCommand(process.argv.slice(2), console);
} catch (err) {
  console.error(err instanceof TlsUsageError ? `${err.message}\n\n${TLS_USAGE}` : `error: ${(err as Error).message}`);
  process.exitCode = err instanceof TlsUsageError ? 2 : 1;
}
