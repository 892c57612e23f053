import type * as grpc from "@grpc/grpc-js";
import { loadMpcV1 } from "@scmpc/protos";
import { hostApiChannelOptions, hostApiCredentials, type HostApiTls } from "@scmpc/mpc-engine/tls";
import type { UploadSharesRequest, UploadSharesResponse } from "@scmpc/protos";

/** Deadline of one share upload; a 1M-row column is 32 MB per host (values and validity). */
const UPLOAD_TIMEOUT_MS = 120_000;

/**
 * Uploads one host's share — each column's value and validity components,
 * with its schema — over gRPC (over TLS to the host's pinned certificate
 * when `tls` is given) and resolves once the host has durably stored it. The
 * error names the host and what it answered.
 *
 * @example
 * await uploadShare("127.0.0.1:7001", request, { ca, fingerprints });
 */
export function uploadShare(endpoint: string, request: UploadSharesRequest, tls?: HostApiTls): Promise<UploadSharesResponse> {
  const { Host } = loadMpcV1();
  const client = new Host(endpoint, hostApiCredentials(tls, request.hostIndex), hostApiChannelOptions(tls, request.hostIndex)) as unknown as grpc.Client & {
    UploadShares(
      req: UploadSharesRequest,
      options: grpc.CallOptions,
      cb: (err: grpc.ServiceError | null, res?: UploadSharesResponse) => void,
    ): void;
  };
  return new Promise<UploadSharesResponse>((resolve, reject) => {
    client.UploadShares(request, { deadline: Date.now() + UPLOAD_TIMEOUT_MS }, (err, res) => {
      client.close();
      if (err) {
        reject(new Error(`MPC host ${request.hostIndex} (${endpoint}) refused the upload: ${err.details || err.message}`, { cause: err }));
        return;
      }
      resolve(res as UploadSharesResponse);
    });
  });
}
