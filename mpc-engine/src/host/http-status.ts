import { MpcError, type MpcErrorCode } from "../errors.ts";

/** Refusals of the web API that concern HTTP itself, not a call's content. */
export type WebApiErrorCode = "ROUTE_NOT_FOUND" | "METHOD_NOT_ALLOWED" | "UNSUPPORTED_MEDIA_TYPE" | "BODY_TOO_LARGE";

/** A refusal of the web API at the HTTP level (route, method, media type, body size), with its status. */
export class WebApiError extends Error {
  /** Stable machine-readable code. */
  readonly code: WebApiErrorCode;
  /** The HTTP status it is answered with. */
  readonly status: number;
  /** Response headers it adds (e.g. `Allow` on 405). */
  readonly headers: Readonly<Record<string, string>>;

  /**
   * @param code - stable error code
   * @param status - HTTP status
   * @param message - human message, safe to return to a caller
   * @param headers - response headers the refusal adds
   */
  constructor(code: WebApiErrorCode, status: number, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = "WebApiError";
    this.code = code;
    this.status = status;
    this.headers = headers;
  }
}

/** Seconds a caller should wait before retrying a 503 (the chain or a peer unreachable, the host closing). */
export const RETRY_AFTER_S = 5;

const STATUS: Record<MpcErrorCode, number> = {
  FIXED_POINT_MALFORMED: 400,
  FIXED_POINT_PRECISION: 400,
  FIXED_POINT_OUT_OF_RANGE: 400,
  FIXED_POINT_SCALE_INVALID: 400,
  SHARES_INVALID: 400,
  SHARES_INCONSISTENT: 400,
  ENCODING_INVALID: 400,
  ENVELOPE_MALFORMED: 400,
  ENVELOPE_DECRYPT_FAILED: 400,
  KEY_INVALID: 400,
  OUTPUT_TAMPERED: 400,
  CONFIG_INVALID: 500,
  INVALID_ARGUMENT: 400,
  WRONG_HOST: 400,
  COMMITMENT_MISMATCH: 400,
  SIGNATURE_INVALID: 403,
  DATASET_ID_MISMATCH: 400,
  SCHEMA_CHANGED: 409,
  DATASET_NOT_FOUND: 404,
  COLUMN_NOT_FOUND: 404,
  ALGORITHM_UNSUPPORTED: 400,
  CONSUMER_NOT_ALLOWED: 403,
  DATASET_INACTIVE: 409,
  ROW_COUNT_MISMATCH: 409,
  CHAIN_COMMITMENT_MISMATCH: 409,
  REQUEST_NOT_FOUND: 404,
  REQUEST_NOT_PENDING: 409,
  REQUEST_MISMATCH: 409,
  REQUEST_ID_REUSED: 409,
  REQUEST_TOO_LATE: 409,
  BRIDGE_UNAUTHENTICATED: 401,
  // The request is known but its key is not (yet, or ever) due: the chain's state, not the call, decides.
  KEY_NOT_RELEASED: 409,
  // A limit of this host over time (a seller's stored bytes, unregistered uploads, key releases at
  // once), not of this request's size: 429. A body too large for the host is UPLOAD_TOO_LARGE, 413.
  QUOTA_EXCEEDED: 429,
  UPLOAD_TOO_LARGE: 413,
  QUERY_INVALID: 400,
  CHAIN_UNAVAILABLE: 503,
  STORE_CORRUPT: 500,
  STORE_IO: 500,
  PEER_DUPLICATE: 409,
  PEER_OUT_OF_ORDER: 409,
  PEER_UNKNOWN_SENDER: 403,
  PEER_IDENTITY_MISMATCH: 403,
  PEER_TIMEOUT: 504,
  PEER_UNAVAILABLE: 503,
  PEER_REJECTED: 502,
  PEER_PROTOCOL: 502,
  PEER_RESTARTED: 503,
  HOST_CLOSING: 503,
  POLICY_REFUSED: 403,
  SCHEMA_MISMATCH: 409,
  RESULT_OUT_OF_RANGE: 422,
  RANGE_TOO_WIDE: 422,
  RESULT_UNDEFINED: 422,
  INTERNAL: 500,
};

/** The JSON body of every web API refusal. */
export interface WebApiErrorBody {
  error: { code: MpcErrorCode | WebApiErrorCode; message: string; details?: Record<string, unknown> };
}

/**
 * The one mapping from engine errors to the web API's HTTP answers: status by
 * code, body `{error: {code, message, details?}}`, and `Retry-After` on 503.
 * An error that is not an MpcError becomes 500 `INTERNAL` without its message
 * or stack; a 5xx carries no details.
 *
 * @example
 * const { status, headers, body } = toHttpError(err);
 * res.writeHead(status, headers).end(JSON.stringify(body));
 */
export function toHttpError(err: unknown): { status: number; headers: Record<string, string>; body: WebApiErrorBody } {
  if (err instanceof WebApiError) {
    return { status: err.status, headers: { ...err.headers }, body: { error: { code: err.code, message: err.message } } };
  }
  const mpc = err instanceof MpcError ? err : new MpcError("INTERNAL", "internal error", { cause: err });
  const status = STATUS[mpc.code];
  const headers: Record<string, string> = status === 503 ? { "retry-after": String(RETRY_AFTER_S) } : {};
  const details = status < 500 && Object.keys(mpc.details).length > 0 ? jsonSafe(mpc.details) : undefined;
  return { status, headers, body: { error: { code: mpc.code, message: mpc.message, ...(details === undefined ? {} : { details }) } } };
}

/** Details as JSON can carry them: bigints as decimal strings. */
function jsonSafe(details: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return JSON.parse(JSON.stringify(details, (_key, value: unknown) => (typeof value === "bigint" ? value.toString() : value))) as Record<string, unknown>;
}
