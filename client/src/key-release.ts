import type * as grpc from "@grpc/grpc-js";
import { loadMpcV1, type ReleaseKeyRequest, type ReleaseKeyResponse } from "@scmpc/protos";
import { openResult, unpackResult } from "@scmpc/mpc-engine";
import { hostApiChannelOptions, hostApiCredentials, type HostApiTls } from "@scmpc/mpc-engine/tls";
import { collectReleaseKeys, type ReleaseKeyAnswer, type ReleasedKeys } from "./key-collection.ts";

export type { ReleasedKeys } from "./key-collection.ts";

/** Deadline of one ReleaseKey call. */
const CALL_TIMEOUT_MS = 15_000;

function releaseFrom(endpoint: string, hostIndex: number, request: ReleaseKeyRequest, tls: HostApiTls | undefined): Promise<ReleaseKeyResponse> {
  const { Host } = loadMpcV1();
  const client = new Host(endpoint, hostApiCredentials(tls, hostIndex), hostApiChannelOptions(tls, hostIndex)) as unknown as grpc.Client & {
    ReleaseKey(req: ReleaseKeyRequest, options: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: ReleaseKeyResponse) => void): void;
  };
  return new Promise((resolve, reject) => {
    client.ReleaseKey(request, { deadline: Date.now() + CALL_TIMEOUT_MS }, (err, res) => {
      client.close();
      if (err) reject(new Error(err.details || err.message, { cause: err }));
      else resolve(res as ReleaseKeyResponse);
    });
  });
}

/**
 * Asks the three hosts (over gRPC) for their release keys of a fulfilled
 * request: see {@link collectReleaseKeys}.
 *
 * @example
 * const { keys, from } = await fetchReleaseKeys({ hosts: state.hosts, tls: state.hostTls, requestId, consumer, jobId });
 */
export async function fetchReleaseKeys(options: {
  hosts: readonly string[];
  tls: HostApiTls | undefined;
  requestId: string;
  consumer: string;
  jobId: string;
  timeoutMs?: number;
  graceMs?: number;
}): Promise<ReleasedKeys> {
  return collectReleaseKeys({ ...options, ask: (hostIndex) => releaseKeyOverGrpc(options, hostIndex, options) });
}

/** One host's release key over gRPC. */
export async function releaseKeyOverGrpc(
  target: { hosts: readonly string[]; tls: HostApiTls | undefined },
  hostIndex: number,
  request: { requestId: string; consumer: string },
): Promise<ReleaseKeyAnswer> {
  const answer = await releaseFrom(target.hosts[hostIndex], hostIndex, { requestId: request.requestId, consumer: request.consumer }, target.tls);
  return { jobId: answer.jobId, key: new Uint8Array(answer.key) };
}

/**
 * Opens a fulfilled request's on-chain result for its buyer: fetches the
 * hosts' release keys for the job the result names, unwraps and decrypts the
 * envelopes and adds the shares up. For tools that hold many requests' keys
 * (benchmarks, crash tests); `buyComputation` also checks the job id against
 * the one it derives from the chain.
 *
 * @example
 * const values = await openFulfilledResult({ hosts: state.hosts, tls: state.hostTls, requestId, consumer, result, buyerPrivateKey });
 */
export async function openFulfilledResult(options: {
  hosts: readonly string[];
  tls: HostApiTls | undefined;
  requestId: string;
  consumer: string;
  result: string;
  buyerPrivateKey: Uint8Array;
  timeoutMs?: number;
}): Promise<bigint[]> {
  const { jobId } = unpackResult(options.result);
  const released = await fetchReleaseKeys({ ...options, jobId });
  if (released.from.length < 2) {
    throw new Error(`request ${options.requestId}: fewer than two hosts released their keys (${JSON.stringify(released.refusals)})`);
  }
  return openResult({ requestId: options.requestId, buyerPrivateKey: options.buyerPrivateKey, result: options.result, releaseKeys: released.keys, jobId });
}
