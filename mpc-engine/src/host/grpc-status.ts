import * as grpc from "@grpc/grpc-js";
import { OFFENCE_METADATA, parseOffenceAttestation, type OffenceAttestation } from "./offence.ts";
import { MpcError, type MpcErrorCode } from "../errors.ts";

/** Metadata key carrying the stable {@link MpcErrorCode} of a failed call. */
export const ERROR_CODE_METADATA = "scmpc-error-code";

/**
 * Client side: the offence attestation a host sent with its refusal, if any.
 *
 * @example
 * const attestation = offenceAttestationOf(err);
 */
export function offenceAttestationOf(err: unknown): OffenceAttestation | undefined {
  const value = (err as Partial<grpc.ServiceError> | undefined)?.metadata?.get?.(OFFENCE_METADATA)?.[0];
  return typeof value === "string" ? parseOffenceAttestation(value) : undefined;
}

const STATUS: Record<MpcErrorCode, grpc.status> = {
  FIXED_POINT_MALFORMED: grpc.status.INVALID_ARGUMENT,
  FIXED_POINT_PRECISION: grpc.status.INVALID_ARGUMENT,
  FIXED_POINT_OUT_OF_RANGE: grpc.status.INVALID_ARGUMENT,
  FIXED_POINT_SCALE_INVALID: grpc.status.INVALID_ARGUMENT,
  SHARES_INVALID: grpc.status.INVALID_ARGUMENT,
  SHARES_INCONSISTENT: grpc.status.INVALID_ARGUMENT,
  ENCODING_INVALID: grpc.status.INVALID_ARGUMENT,
  ENVELOPE_MALFORMED: grpc.status.INVALID_ARGUMENT,
  ENVELOPE_DECRYPT_FAILED: grpc.status.INVALID_ARGUMENT,
  KEY_INVALID: grpc.status.INVALID_ARGUMENT,
  OUTPUT_TAMPERED: grpc.status.DATA_LOSS,
  CONFIG_INVALID: grpc.status.FAILED_PRECONDITION,
  INVALID_ARGUMENT: grpc.status.INVALID_ARGUMENT,
  WRONG_HOST: grpc.status.INVALID_ARGUMENT,
  COMMITMENT_MISMATCH: grpc.status.INVALID_ARGUMENT,
  SIGNATURE_INVALID: grpc.status.PERMISSION_DENIED,
  DATASET_ID_MISMATCH: grpc.status.PERMISSION_DENIED,
  SCHEMA_CHANGED: grpc.status.FAILED_PRECONDITION,
  DATASET_NOT_FOUND: grpc.status.NOT_FOUND,
  COLUMN_NOT_FOUND: grpc.status.NOT_FOUND,
  ALGORITHM_UNSUPPORTED: grpc.status.INVALID_ARGUMENT,
  CONSUMER_NOT_ALLOWED: grpc.status.PERMISSION_DENIED,
  DATASET_INACTIVE: grpc.status.FAILED_PRECONDITION,
  ROW_COUNT_MISMATCH: grpc.status.FAILED_PRECONDITION,
  CHAIN_COMMITMENT_MISMATCH: grpc.status.FAILED_PRECONDITION,
  REQUEST_NOT_FOUND: grpc.status.NOT_FOUND,
  REQUEST_NOT_PENDING: grpc.status.FAILED_PRECONDITION,
  REQUEST_MISMATCH: grpc.status.PERMISSION_DENIED,
  REQUEST_ID_REUSED: grpc.status.ALREADY_EXISTS,
  REQUEST_TOO_LATE: grpc.status.FAILED_PRECONDITION,
  BRIDGE_UNAUTHENTICATED: grpc.status.UNAUTHENTICATED,
  KEY_NOT_RELEASED: grpc.status.FAILED_PRECONDITION,
  QUOTA_EXCEEDED: grpc.status.RESOURCE_EXHAUSTED,
  UPLOAD_TOO_LARGE: grpc.status.RESOURCE_EXHAUSTED,
  QUERY_INVALID: grpc.status.INVALID_ARGUMENT,
  CHAIN_UNAVAILABLE: grpc.status.UNAVAILABLE,
  STORE_CORRUPT: grpc.status.DATA_LOSS,
  STORE_IO: grpc.status.INTERNAL,
  PEER_DUPLICATE: grpc.status.ALREADY_EXISTS,
  PEER_OUT_OF_ORDER: grpc.status.FAILED_PRECONDITION,
  PEER_UNKNOWN_SENDER: grpc.status.PERMISSION_DENIED,
  PEER_IDENTITY_MISMATCH: grpc.status.PERMISSION_DENIED,
  PEER_TIMEOUT: grpc.status.DEADLINE_EXCEEDED,
  PEER_UNAVAILABLE: grpc.status.UNAVAILABLE,
  PEER_REJECTED: grpc.status.INTERNAL,
  PEER_PROTOCOL: grpc.status.INTERNAL,
  PEER_RESTARTED: grpc.status.ABORTED,
  HOST_CLOSING: grpc.status.UNAVAILABLE,
  POLICY_REFUSED: grpc.status.PERMISSION_DENIED,
  SCHEMA_MISMATCH: grpc.status.FAILED_PRECONDITION,
  RESULT_OUT_OF_RANGE: grpc.status.OUT_OF_RANGE,
  RANGE_TOO_WIDE: grpc.status.FAILED_PRECONDITION,
  RESULT_UNDEFINED: grpc.status.FAILED_PRECONDITION,
  INTERNAL: grpc.status.INTERNAL,
};

/**
 * The one mapping from engine errors to gRPC errors: status by code, message
 * `CODE: message`, and the code in metadata. Unknown errors become INTERNAL
 * without their message (no leaks).
 *
 * @example
 * callback(toServiceError(err));
 */
export function toServiceError(err: unknown): Partial<grpc.StatusObject> & { code: grpc.status } {
  const mpc = err instanceof MpcError ? err : new MpcError("INTERNAL", "internal error", { cause: err });
  const metadata = new grpc.Metadata();
  metadata.set(ERROR_CODE_METADATA, mpc.code);
  // A host's signed statement of a seller's offence travels with the refusal (see offence.ts).
  const attestation = mpc.details.attestation;
  if (attestation !== undefined) metadata.set(OFFENCE_METADATA, JSON.stringify(attestation));
  return { code: STATUS[mpc.code], details: `${mpc.code}: ${mpc.message}`, metadata };
}

/**
 * Client side: reads the engine's error code from a failed call (metadata,
 * else the `CODE:` message prefix), or undefined for a transport error.
 *
 * @example
 * if (mpcErrorCodeOf(err) === "PEER_TIMEOUT") scheduleRetry();
 */
export function mpcErrorCodeOf(err: unknown): MpcErrorCode | undefined {
  const e = err as Partial<grpc.ServiceError> | undefined;
  const fromMetadata = e?.metadata?.get?.(ERROR_CODE_METADATA)?.[0];
  if (typeof fromMetadata === "string" && fromMetadata in STATUS) return fromMetadata as MpcErrorCode;
  const prefix = /^([A-Z_]+):/.exec(e?.details ?? "")?.[1];
  return prefix !== undefined && prefix in STATUS ? (prefix as MpcErrorCode) : undefined;
}
