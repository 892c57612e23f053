import type * as grpc from "@grpc/grpc-js";
import { loadMpcV1, type ReleaseKeyRequest, type ReleaseKeyResponse } from "@scmpc/protos";
import { openResult, unpackResult } from "@scmpc/mpc-engine";
import { hostApiChannelOptions, hostApiCredentials, type HostApiTls } from "@scmpc/mpc-engine/tls";

/** Deadline of one ReleaseKey call. */
const CALL_TIMEOUT_MS = 15_000;

/** What the hosts answered to a key release. */
export interface ReleasedKeys {
  /** Per host index, the key it released, or undefined. */
  keys: (Buffer | undefined)[];
  /** The hosts that released their key, in index order. */
  from: number[];
  /** Per host that did not, why (its answer, or why it could not be reached). */
  refusals: Record<number, string>;
}

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
 * Asks the three hosts for their release keys of a fulfilled request, until
 * at least two answered (two hosts' shares hold every component) or
 * `timeoutMs` passed, retrying the hosts that refused (a host waits for its
 * configured confirmations on top of the fulfilment before it releases).
 * A host that answers with a key for another job than `jobId` counts as a
 * refusal.
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
  /** How long to keep asking the third host once two released (default 2 s). */
  graceMs?: number;
}): Promise<ReleasedKeys> {
  const giveUpAt = Date.now() + (options.timeoutMs ?? 60_000);
  const keys: (Buffer | undefined)[] = [undefined, undefined, undefined];
  const refusals: Record<number, string> = {};
  let enoughAt: number | undefined;
  for (let round = 0; ; round++) {
    const missing = [0, 1, 2].filter((i) => keys[i] === undefined);
    await Promise.all(
      missing.map(async (hostIndex) => {
        try {
          const answer = await releaseFrom(options.hosts[hostIndex], hostIndex, { requestId: options.requestId, consumer: options.consumer }, options.tls);
          if (answer.jobId.toLowerCase() !== options.jobId.toLowerCase()) {
            refusals[hostIndex] = `released a key for job ${answer.jobId}, not ${options.jobId}`;
            return;
          }
          keys[hostIndex] = Buffer.from(answer.key);
          delete refusals[hostIndex];
        } catch (err) {
          refusals[hostIndex] = (err as Error).message;
        }
      }),
    );
    const count = keys.filter((k) => k !== undefined).length;
    if (count === 3) break;
    if (count >= 2) enoughAt ??= Date.now();
    const now = Date.now();
    if (now >= giveUpAt || (enoughAt !== undefined && now - enoughAt >= (options.graceMs ?? 2_000))) break;
    await new Promise((resolve) => setTimeout(resolve, Math.min(1_000, 100 * 2 ** Math.min(round, 4))));
  }
  return { keys, from: [0, 1, 2].filter((i) => keys[i] !== undefined), refusals };
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
