export { buildApp } from "./app.ts";
export type { BridgeDeps } from "./app.ts";
export { createGrpcHostsClient } from "./hosts-client.ts";
export type { HostsClient, HostHealth } from "./hosts-client.ts";
export { BridgeError, HostRefusedError, HostUnavailableError, InvalidRequestError, toAdapterErrorBody } from "./errors.ts";
export { decodeRequestData } from "./relay/request-data.ts";
