import * as grpc from "@grpc/grpc-js";
import { loadMpcV1, MAX_MESSAGE_BYTES } from "@scmpc/protos";
import { hostApiCredentials, type HostApiTls } from "@scmpc/mpc-engine/tls";
import type { ComputeRequest, ComputeResponse, HealthResponse, SignResultRequest, SignResultResponse } from "@scmpc/protos";
import { BridgeError, HostRefusedError, HostUnavailableError } from "./errors.ts";

/** Reachability of one MPC host, as `GET /health` reports it. */
export interface HostHealth {
  index: number;
  endpoint: string;
  reachable: boolean;
  error?: string;
}

/** What the bridge needs from the three MPC hosts. */
export interface HostsClient {
  /** Runs one job on all three hosts; resolves to their output envelopes in host order. */
  compute(request: ComputeRequest, timeoutMs: number): Promise<Buffer[]>;
  /** Asks the three hosts to sign a packed result; resolves to their signatures in host order. */
  signResult(requestId: string, result: string, timeoutMs: number): Promise<string[]>;
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

function call<Req, Res>(stub: HostStub, method: UnaryCall<Req, Res>, request: Req, timeoutMs: number): Promise<Res> {
  return new Promise((resolve, reject) => {
    method.call(stub, request, { deadline: Date.now() + timeoutMs }, (err, response) => {
      if (err) {
        reject(err);
        return;
      }
      resolve(response as Res);
    });
  });
}

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
  if (status === grpc.status.UNAVAILABLE || status === grpc.status.DEADLINE_EXCEEDED || status === grpc.status.CANCELLED) {
    return new HostUnavailableError(index, details, { cause: err, grpcCode });
  }
  return new HostRefusedError(index, details, { cause: err, grpcCode });
}

/** Options of {@link createGrpcHostsClient}. */
export interface GrpcHostsClientOptions {
  /** How to trust the hosts' Host API (TLS, pinned certificates); plaintext without it. */
  tls?: HostApiTls;
  /** Called for every failed call to one host (metrics): its index, the method and the gRPC status name. */
  onCallError?: (hostIndex: number, method: "Compute" | "SignResult" | "Health", code: string) => void;
}

/**
 * gRPC client for the three MPC hosts (`mpc.v1.Host`), with a deadline on every call.
 *
 * @example
 * const hosts = createGrpcHostsClient(["127.0.0.1:7001", "127.0.0.1:7002", "127.0.0.1:7003"]);
 * const envelopes = await hosts.compute(request, 60_000);
 */
export function createGrpcHostsClient(
  endpoints: readonly string[],
  options: GrpcHostsClientOptions = {},
): HostsClient {
  const { tls, onCallError } = options;
  const observed = <T>(index: number, method: "Compute" | "SignResult" | "Health", promise: Promise<T>): Promise<T> =>
    promise.catch((err: unknown) => {
      onCallError?.(index, method, statusName(err));
      throw err;
    });
  const { Host } = loadMpcV1();
  const stubs = endpoints.map(
    (endpoint, index) =>
      new Host(endpoint, hostApiCredentials(tls, index), {
        "grpc.max_receive_message_length": MAX_MESSAGE_BYTES,
        "grpc.max_send_message_length": MAX_MESSAGE_BYTES,
      }) as unknown as HostStub,
  );

  return {
    async compute(request, timeoutMs) {
      // All three hosts must run the job at once: they exchange messages with
      // each other, so the calls are concurrent, and one failure fails the job.
      const settled = await Promise.allSettled(stubs.map((stub, index) => observed(index, "Compute", call(stub, stub.Compute, request, timeoutMs))));
      const failures = settled
        .map((outcome, index) => (outcome.status === "rejected" ? toBridgeError(index, outcome.reason) : undefined))
        .filter((e): e is BridgeError => e !== undefined);
      if (failures.length > 0) {
        // A host that refused says why; report it before hosts that merely
        // gave up waiting for it.
        throw failures.find((e) => e instanceof HostRefusedError) ?? failures[0];
      }
      return settled.map((outcome, index) => {
        const response = (outcome as PromiseFulfilledResult<ComputeResponse>).value;
        if (response.hostIndex !== index) {
          throw new HostRefusedError(index, `answered as host ${response.hostIndex}; check SCMPC_HOSTS order`);
        }
        return Buffer.from(response.encryptedOutput);
      });
    },

    async signResult(requestId, result, timeoutMs) {
      const request: SignResultRequest = { requestId, result: Buffer.from(result.replace(/^0x/, ""), "hex") };
      const settled = await Promise.allSettled(stubs.map((stub, index) => observed(index, "SignResult", call(stub, stub.SignResult, request, timeoutMs))));
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
