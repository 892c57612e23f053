/**
 * Stable error codes of the MPC engine. A caller branches on the code, never
 * on the message; `host/grpc-status.ts` is the one place that maps codes to
 * gRPC status codes.
 */
export type MpcErrorCode =
  // Library: encodings and arithmetic.
  | "FIXED_POINT_MALFORMED"
  | "FIXED_POINT_PRECISION"
  | "FIXED_POINT_OUT_OF_RANGE"
  | "FIXED_POINT_SCALE_INVALID"
  | "SHARES_INVALID"
  | "SHARES_INCONSISTENT"
  | "ENCODING_INVALID"
  // Library: output envelopes.
  | "ENVELOPE_MALFORMED"
  | "ENVELOPE_DECRYPT_FAILED"
  | "KEY_INVALID"
  | "OUTPUT_TAMPERED"
  // Host: configuration.
  | "CONFIG_INVALID"
  // Host: requests.
  | "INVALID_ARGUMENT"
  | "WRONG_HOST"
  | "COMMITMENT_MISMATCH"
  | "SIGNATURE_INVALID"
  | "DATASET_ID_MISMATCH"
  | "SCHEMA_CHANGED"
  | "DATASET_NOT_FOUND"
  | "COLUMN_NOT_FOUND"
  | "ALGORITHM_UNSUPPORTED"
  | "CONSUMER_NOT_ALLOWED"
  | "DATASET_INACTIVE"
  | "ROW_COUNT_MISMATCH"
  | "CHAIN_COMMITMENT_MISMATCH"
  | "REQUEST_NOT_FOUND"
  | "REQUEST_NOT_PENDING"
  | "REQUEST_MISMATCH"
  | "REQUEST_ID_REUSED"
  | "REQUEST_TOO_LATE"
  | "BRIDGE_UNAUTHENTICATED"
  | "KEY_NOT_RELEASED"
  | "QUOTA_EXCEEDED"
  | "UPLOAD_TOO_LARGE"
  // Queries: the buyer's SQL text, parsed and checked against a schema.
  | "QUERY_INVALID"
  // Host: infrastructure and protocol.
  | "CHAIN_UNAVAILABLE"
  | "STORE_CORRUPT"
  | "STORE_IO"
  | "PEER_DUPLICATE"
  | "PEER_OUT_OF_ORDER"
  | "PEER_UNKNOWN_SENDER"
  | "PEER_IDENTITY_MISMATCH"
  | "PEER_TIMEOUT"
  | "PEER_UNAVAILABLE"
  | "PEER_REJECTED"
  | "PEER_PROTOCOL"
  | "PEER_RESTARTED"
  | "HOST_CLOSING"
  // Algorithms: policy and results.
  | "POLICY_REFUSED"
  | "SCHEMA_MISMATCH"
  | "RESULT_OUT_OF_RANGE"
  | "RANGE_TOO_WIDE"
  | "RESULT_UNDEFINED"
  | "INTERNAL";

/**
 * The one error type of the MPC engine: a stable `code`, a human message that
 * is safe to show a caller, optional structured `details` and the `cause`.
 *
 * @example
 * throw new MpcError("OUTPUT_TAMPERED", "hosts 0 and 1 disagree on x_1", { details: { hosts: [0, 1] } });
 */
export class MpcError extends Error {
  /** Stable machine-readable code. */
  readonly code: MpcErrorCode;
  /** Structured facts about the failure (host indexes, ids, ...). */
  readonly details: Readonly<Record<string, unknown>>;
  /** The underlying error, if any. */
  override readonly cause?: unknown;

  /**
   * @param code - stable error code
   * @param message - human message, safe to return to a caller
   * @param options - `cause` (underlying error) and `details`
   */
  constructor(code: MpcErrorCode, message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(message);
    this.name = "MpcError";
    this.code = code;
    this.details = options.details ?? {};
    this.cause = options.cause;
  }
}

/**
 * Type guard for {@link MpcError}, optionally for one code.
 *
 * @example
 * if (isMpcError(err, "PEER_TIMEOUT")) retryLater();
 */
export function isMpcError(err: unknown, code?: MpcErrorCode): err is MpcError {
  return err instanceof MpcError && (code === undefined || err.code === code);
}
