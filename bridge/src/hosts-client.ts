import * as grpc from "@grpc/grpc-js";
import type { Signer } from "ethers";
import { loadMpcV1 } from "@scmpc/protos";
import { mpcErrorCodeOf, offenceAttestationOf, signBridgeCall } from "@scmpc/mpc-engine/host";
import { hostApiChannelOptions, hostApiCredentials, type HostApiTls } from "@scmpc/mpc-engine/tls";
import type { ComputeRequest, ComputeResponse, HealthResponse, SignResultRequest, SignResultResponse } from "@scmpc/protos";
import { attestedOffence, BridgeError, HostRefusedError, HostUnavailableError, OffenceAttestedError } from "./errors.ts";

/** Reachability of one MPC host, as `GET /health` reports it. */
export interface HostHealth {
  index: number;
  endpoint: string;
  reachable: boolean;
  error?: string;
}

/** What the three hosts answered to one Compute. */
export interface ComputedJob {
  /** The job identity the three hosts derived from the chain (they must agree). */
  jobId: string;
  /** Their wrapped output envelopes, in host order. */
  envelopes: Buffer[];
}

/** What the bridge needs from the three MPC hosts. */
export interface HostsClient {
  /** Runs one job on all three hosts; resolves to the job id and their wrapped envelopes. */
  compute(request: ComputeRequest, timeoutMs: number): Promise<ComputedJob>;
  /** Asks the three hosts to sign a packed result; resolves to their signatures in host order. */
  signResult(request: { requestId: string; result: string; consumer: string }, timeoutMs: number): Promise<string[]>;
  /** Asks every host for its health, never throwing. */
  health(timeoutMs: number): Promise<HostHealth[]>;
  close(): void;
}

type UnaryCall<Req, Res> = (
  request: Req,
  options: grpc.CallOptions,
  callback: (err: grpc.ServiceError | null, response?: Res) => void,
) => grpc.ClientUnaryCall;

interface HostStub extends grpc.Client {
  Compute: UnaryCall<ComputeRequest, ComputeResponse>;
  Health: UnaryCall<Record<string, never>, HealthResponse>;
  SignResult: UnaryCall<SignResultRequest, SignResultResponse>;
}

type SignedUnaryCall<Req, Res> = (
  request: Req,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: (err: grpc.ServiceError | null, response?: Res) => void,
) => grpc.ClientUnaryCall;

function call<Req, Res>(stub: HostStub, method: UnaryCall<Req, Res>, request: Req, timeoutMs: number, metadata?: grpc.Metadata): Promise<Res> {
  return new Promise((resolve, reject) => {
    const done = (err: grpc.ServiceError | null, response?: Res): void => {
      if (err) {
        reject(err);
        return;
      }
      resolve(response as Res);
    };
    const options = { deadline: Date.now() + timeoutMs };
    if (metadata === undefined) method.call(stub, request, options, done);
    else (method as unknown as SignedUnaryCall<Req, Res>).call(stub, request, metadata, options, done);
  });
}

/** gRPC metadata carrying the bridge's signature over one call to one host. */
async function signedMetadata(signer: Signer, call: Parameters<typeof signBridgeCall>[1], hostIndex: number): Promise<grpc.Metadata> {
  const metadata = new grpc.Metadata();
  for (const [key, value] of Object.entries(await signBridgeCall(signer, call, hostIndex))) metadata.set(key, value);
  return metadata;
}

/**
 * Host errors a later attempt of the same job can cure: a peer that was
 * unreachable, slow or restarted mid-job, the chain unreadable, a host
 * shutting down. Everything else a host refuses (policy, commitments, a
 * mismatched request) stays refused.
 */
const TRANSIENT_HOST_CODES = new Set(["PEER_TIMEOUT", "PEER_UNAVAILABLE", "PEER_RESTARTED", "PEER_REJECTED", "HOST_CLOSING", "CHAIN_UNAVAILABLE", "STORE_IO"]);

/** The name of a gRPC status code (`DEADLINE_EXCEEDED`), or `UNKNOWN` for what is not a gRPC error. */
function statusName(err: unknown): string {
  const code = (err as grpc.ServiceError | undefined)?.code;
  return typeof code === "number" && grpc.status[code] !== undefined ? grpc.status[code] : "UNKNOWN";
}

/** Turns a gRPC failure of host `index` into the bridge's error family. */
function toBridgeError(index: number, err: unknown): BridgeError {
  const status = (err as grpc.ServiceError).code;
  const details = (err as grpc.ServiceError).details ?? String(err);
  const grpcCode = statusName(err);
  if (
    status === grpc.status.UNAVAILABLE ||
    status === grpc.status.DEADLINE_EXCEEDED ||
    status === grpc.status.CANCELLED ||
    status === grpc.status.ABORTED ||
    TRANSIENT_HOST_CODES.has(mpcErrorCodeOf(err) ?? "")
  ) {
    return new HostUnavailableError(index, details, { cause: err, grpcCode });
  }
  return new HostRefusedError(index, details, { cause: err, grpcCode, attestation: offenceAttestationOf(err) });
}

/** Options of {@link createGrpcHostsClient}. */
export interface GrpcHostsClientOptions {
  /** The bridge's key: it signs every Compute and SignResult call (the hosts refuse unsigned ones). Needed for those two. */
  signer?: Signer;
  /** How to trust the hosts' Host API (TLS, pinned certificates); plaintext without it. */
  tls?: HostApiTls;
  /** Called for every failed call to one host (metrics): its index, the method and the gRPC status name. */
  onCallError?: (hostIndex: number, method: "Compute" | "SignResult" | "Health", code: string) => void;
}

/**
 * gRPC client for the three MPC hosts (`mpc.v1.Host`), with a deadline on every call.
 *
 * @example
 * const hosts = createGrpcHostsClient(["127.0.0.1:7001", "127.0.0.1:7002", "127.0.0.1:7003"], { tls, signer: bridgeWallet });
 * const { jobId, envelopes } = await hosts.compute(request, 60_000);
 */
export function createGrpcHostsClient(
  endpoints: readonly string[],
  options: GrpcHostsClientOptions = {},
): HostsClient {
  const { tls, signer, onCallError } = options;
  const bridgeKey = (): Signer => {
    if (signer === undefined) throw new Error("this hosts client has no bridge key: Compute and SignResult need one");
    return signer;
  };
  const observed = <T>(index: number, method: "Compute" | "SignResult" | "Health", promise: Promise<T>): Promise<T> =>
    promise.catch((err: unknown) => {
      onCallError?.(index, method, statusName(err));
      throw err;
    });
  const { Host } = loadMpcV1();
  const stubs = endpoints.map(
    (endpoint, index) =>
      new Host(endpoint, hostApiCredentials(tls, index), hostApiChannelOptions(tls, index)) as unknown as HostStub,
  );

  return {
    async compute(request, timeoutMs) {
      // All three hosts must run the job at once: they exchange messages with
      // each other, so the calls are concurrent, and one failure fails the job.
      const settled = await Promise.allSettled(
        stubs.map(async (stub, index) => {
          const metadata = await signedMetadata(bridgeKey(), { method: "Compute", request }, index);
          return observed(index, "Compute", call(stub, stub.Compute, request, timeoutMs, metadata));
        }),
      );
      const failures = settled
        .map((outcome, index) => (outcome.status === "rejected" ? toBridgeError(index, outcome.reason) : undefined))
        .filter((e): e is BridgeError => e !== undefined);
      if (failures.length > 0) {
        // Two hosts' proof of a seller's offence first: it is what the buyer can act on.
        const attested = attestedOffence(failures);
        if (attested.length >= 2) throw new OffenceAttestedError(attested);
        // A host that refused says why; report it before hosts that merely
        // gave up waiting for it.
        throw failures.find((e) => e instanceof HostRefusedError) ?? failures[0];
      }
      const responses = settled.map((outcome, index) => {
        const response = (outcome as PromiseFulfilledResult<ComputeResponse>).value;
        if (response.hostIndex !== index) {
          throw new HostRefusedError(index, `answered as host ${response.hostIndex}; check SCMPC_HOSTS order`);
        }
        return response;
      });
      // Each host derives the job's identity from the chain on its own: they must agree.
      const jobId = responses[0].jobId.toLowerCase();
      const other = responses.findIndex((r) => r.jobId.toLowerCase() !== jobId);
      if (other >= 0) {
        throw new HostRefusedError(other, `computed job ${responses[other].jobId}, host 0 job ${jobId}: the hosts do not read the same chain`);
      }
      return { jobId, envelopes: responses.map((r) => Buffer.from(r.encryptedOutput)) };
    },

    async signResult({ requestId, result, consumer }, timeoutMs) {
      const request: SignResultRequest = { requestId, result: Buffer.from(result.replace(/^0x/, ""), "hex"), consumer };
      const settled = await Promise.allSettled(
        stubs.map(async (stub, index) => {
          const metadata = await signedMetadata(bridgeKey(), { method: "SignResult", request }, index);
          return observed(index, "SignResult", call(stub, stub.SignResult, request, timeoutMs, metadata));
        }),
      );
      return settled.map((outcome, index) => {
        if (outcome.status === "rejected") throw toBridgeError(index, outcome.reason);
        return outcome.value.signature;
      });
    },

    async health(timeoutMs) {
      return Promise.all(
        stubs.map(async (stub, index): Promise<HostHealth> => {
          try {
            const answer = await observed(index, "Health", call(stub, stub.Health, {}, timeoutMs));
            if (answer.hostIndex !== index) {
              return { index, endpoint: endpoints[index], reachable: false, error: `answers as host ${answer.hostIndex}` };
            }
            return { index, endpoint: endpoints[index], reachable: true };
          } catch (err) {
            return { index, endpoint: endpoints[index], reachable: false, error: (err as grpc.ServiceError).details ?? String(err) };
          }
        }),
      );
    },

    close() {
      for (const stub of stubs) stub.close();
    },
  };
}
