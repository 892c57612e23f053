import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

/** Directory holding the `mpc/v1/*.proto` files. */
export const PROTO_ROOT = fileURLToPath(new URL("..", import.meta.url));

const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [PROTO_ROOT],
};

/** gRPC message size limit for uploads: a 1M-row column is 32 MB per host (values and validity). */
export const MAX_MESSAGE_BYTES = 512 * 1024 * 1024;

/**
 * Loads the `mpc.v1` package (host API and host-to-host API).
 *
 * @example
 * const { Host, Peer } = loadMpcV1();
 * const client = new Host("127.0.0.1:7001", grpc.credentials.createInsecure());
 */
export function loadMpcV1(): { Host: grpc.ServiceClientConstructor; Peer: grpc.ServiceClientConstructor } {
  return (loaded ??= loadMpcV1Fresh());
}
let loaded: { Host: grpc.ServiceClientConstructor; Peer: grpc.ServiceClientConstructor } | undefined;
function loadMpcV1Fresh(): { Host: grpc.ServiceClientConstructor; Peer: grpc.ServiceClientConstructor } {
  const definition = protoLoader.loadSync(["mpc/v1/host.proto", "mpc/v1/host_peer.proto"], LOADER_OPTIONS);
  const pkg = grpc.loadPackageDefinition(definition) as unknown as {
    mpc: { v1: { Host: grpc.ServiceClientConstructor; Peer: grpc.ServiceClientConstructor } };
  };
  return { Host: pkg.mpc.v1.Host, Peer: pkg.mpc.v1.Peer };
}

export type * from "./messages.ts";
