import { once } from "node:events";
import type * as grpc from "@grpc/grpc-js";
import { loadMpcV1 } from "@scmpc/protos";
import { hostApiChannelOptions, hostApiCredentials, type HostApiTls } from "@scmpc/mpc-engine/tls";
import type { UploadSharesPiece, UploadSharesRequest, UploadSharesResponse } from "@scmpc/protos";

/** Deadline of one share upload; a 1M-row column is 32 MB per host (values and validity). */
const UPLOAD_TIMEOUT_MS = 120_000;

/** Bytes of each data message of a streamed upload. */
const PIECE_BYTES = 1 << 20;

/**
 * Uploads one host's share — each column's value and validity components
 * (those a seed does not stand for), with its schema — over gRPC (over TLS
 * to the host's pinned certificate when `tls` is given) and resolves once
 * the host has durably stored it. It goes as a stream (UploadSharesStream):
 * the request without its vectors first, then the vectors' bytes in 1 MiB
 * messages as fast as the host takes them, so neither side holds a second
 * copy of the share and a share is not bounded by one message's size. The
 * error names the host and what it answered.
 *
 * @example
 * await uploadShareStream("127.0.0.1:7001", request, { ca, fingerprints });
 */
export async function uploadShareStream(endpoint: string, request: UploadSharesRequest, tls?: HostApiTls): Promise<UploadSharesResponse> {
  const { Host } = loadMpcV1();
  const client = new Host(endpoint, hostApiCredentials(tls, request.hostIndex), hostApiChannelOptions(tls, request.hostIndex)) as unknown as grpc.Client & {
    UploadSharesStream(options: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: UploadSharesResponse) => void): grpc.ClientWritableStream<UploadSharesPiece>;
  };
  let call: grpc.ClientWritableStream<UploadSharesPiece> | undefined;
  const answered = new Promise<UploadSharesResponse>((resolve, reject) => {
    call = client.UploadSharesStream({ deadline: Date.now() + UPLOAD_TIMEOUT_MS }, (err, res) => {
      client.close();
      if (err) reject(new Error(`MPC host ${request.hostIndex} (${endpoint}) refused the upload: ${err.details || err.message}`, { cause: err }));
      else resolve(res as UploadSharesResponse);
    });
  });
  const stream = call!;
  // The host may answer before the last piece: a refusal, or the same version already stored. Writing stops there.
  let over = false;
  const ended = answered.then(
    () => void (over = true),
    () => void (over = true),
  );
  const send = async (piece: UploadSharesPiece): Promise<void> => {
    if (!stream.write(piece)) await Promise.race([once(stream, "drain"), ended]);
  };
  const empty = Buffer.alloc(0);
  await send({ header: { ...request, columns: request.columns.map((c) => ({ ...c, a: empty, b: empty, validA: empty, validB: empty })) } });
  for (const column of request.columns) {
    for (const vector of [column.a, column.b, column.validA, column.validB]) {
      for (let at = 0; at < vector.length && !over; at += PIECE_BYTES) await send({ data: vector.subarray(at, at + PIECE_BYTES) });
    }
  }
  if (!over) stream.end();
  return answered;
}
