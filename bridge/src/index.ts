export { buildApp, BODY_LIMIT_BYTES } from "./app.ts";
export type { BridgeDeps } from "./app.ts";
export { loadBridgeConfig } from "./config.ts";
export type { BridgeConfig } from "./config.ts";
export { createGrpcHostsClient } from "./hosts-client.ts";
export type { GrpcHostsClientOptions, HostsClient, HostHealth } from "./hosts-client.ts";
export { openJobStore } from "./job-store.ts";
export type { CallbackRow, JobRow, JobState, JobStore } from "./job-store.ts";
export { createBridgeMetrics } from "./metrics.ts";
export type { BridgeMetrics } from "./metrics.ts";
export { createChainRequestChecker } from "./onchain-request-check.ts";
export type { RequestChecker } from "./onchain-request-check.ts";
export {
  BridgeError,
  ChainUnavailableError,
  HostRefusedError,
  HostUnavailableError,
  InvalidRequestError,
  JobTimeoutError,
  OnChainMismatchError,
  RequestIdReusedError,
  UnauthorizedError,
  toAdapterErrorBody,
} from "./errors.ts";
export { decodeRequestData } from "./relay/request-data.ts";
