// Container healthcheck of a host: exits 0 when its own Host API (the port of
// SCMPC_HOST_LISTEN, dialled on 127.0.0.1) answers Health with SERVING.
import * as grpc from "@grpc/grpc-js";
import { loadMpcV1, type HealthResponse } from "@scmpc/protos";

const listen = process.env.SCMPC_HOST_LISTEN ?? "";
const port = /:(\d+)$/.exec(listen)?.[1];
if (port === undefined || port === "0") {
  console.error(`healthcheck: SCMPC_HOST_LISTEN must be host:port with a fixed port, got "${listen}"`);
  process.exit(2);
}
const { Host } = loadMpcV1();
const client = new Host(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
client.Health({}, { deadline: Date.now() + 4000 }, (err: grpc.ServiceError | null, res?: HealthResponse) => {
  client.close();
  if (err) console.error(`healthcheck: ${err.details}`);
  process.exit(!err && res?.status === "SERVING" ? 0 : 1);
});
