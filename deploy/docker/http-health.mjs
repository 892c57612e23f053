// Container healthcheck for the bridge and the relay: exits 0 when
// GET http://127.0.0.1:<port>/health answers 2xx, where <port> comes from the
// host:port in the environment variable named by the first argument
// (SCMPC_BRIDGE_LISTEN, SCMPC_RELAY_HEALTH_LISTEN).
const variable = process.argv[2];
const listen = process.env[variable ?? ""] ?? "";
const port = /:(\d+)$/.exec(listen)?.[1];
if (port === undefined) {
  console.error(`healthcheck: ${variable} must be host:port, got "${listen}"`);
  process.exit(2);
}
try {
  const res = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(4000) });
  process.exit(res.ok ? 0 : 1);
} catch (err) {
  console.error(`healthcheck: ${err.message}`);
  process.exit(1);
}
