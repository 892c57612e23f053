// Container healthcheck of a host: exits 0 when its own Host API (the port of
// SCMPC_HOST_LISTEN, dialled on 127.0.0.1) answers Health with SERVING. Over
// TLS (unless SCMPC_HOST_API_TLS=false), trusting SCMPC_HOST_TLS_CA and
// pinning its own certificate SCMPC_HOST_TLS_CERT.
import * as grpc from "@grpc/grpc-js";
import { loadMpcV1, type HealthResponse } from "@scmpc/protos";
import { hostApiChannelOptions, hostApiCredentials, readHostApiTls, type HostApiTls } from "../tls/host-api.ts";

const listen = process.env.SCMPC_HOST_LISTEN ?? "";
const port = /:(\d+)$/.exec(listen)?.[1];
if (port === undefined || port === "0") {
  console.error(`healthcheck: SCMPC_HOST_LISTEN must be host:port with a fixed port, got "${listen}"`);
  process.exit(2);
}
let tls: HostApiTls | undefined;
try {
  if (process.env.SCMPC_HOST_API_TLS?.trim().toLowerCase() !== "false") {
    const own = process.env.SCMPC_HOST_TLS_CERT ?? "";
    tls = readHostApiTls({ caFile: process.env.SCMPC_HOST_TLS_CA ?? "", certFiles: [own, own, own] });
  }
} catch (err) {
  console.error(`healthcheck: cannot read SCMPC_HOST_TLS_CA / SCMPC_HOST_TLS_CERT: ${(err as Error).message}`);
  process.exit(2);
}
const { Host } = loadMpcV1();
const client = new Host(`127.0.0.1:${port}`, hostApiCredentials(tls, 0), hostApiChannelOptions(tls, 0));
client.Health({}, { deadline: Date.now() + 4000 }, (err: grpc.ServiceError | null, res?: HealthResponse) => {
  client.close();
  if (err) console.error(`healthcheck: ${err.details}`);
  process.exit(!err && res?.status === "SERVING" ? 0 : 1);
});
