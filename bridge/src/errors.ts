/**
 * Errors of the bridge and the relay. Each carries a stable `code`, an HTTP
 * `statusCode` for the External Adapter answer and the `name` a Chainlink
 * node shows to its operator. One place, {@link toAdapterErrorBody}, turns
 * them into the External Adapter error body.
 */
import type { OffenceAttestation } from "@scmpc/mpc-engine/host";

export class BridgeError extends Error {
  readonly code: string;
  readonly statusCode: number;

  constructor(code: string, statusCode: number, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "BridgeError";
    this.code = code;
    this.statusCode = statusCode;
  }
}

/** The request body is not a valid External Adapter request for this bridge. */
export class InvalidRequestError extends BridgeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("INVALID_REQUEST", 400, message, options);
    this.name = "InvalidRequestError";
  }
}

/** The caller did not present the bridge's access key (or presented another). */
export class UnauthorizedError extends BridgeError {
  constructor(message: string) {
    super("UNAUTHORIZED", 401, message);
    this.name = "UnauthorizedError";
  }
}

/** The caller sent more requests than the rate limit allows. */
export class RateLimitedError extends BridgeError {
  constructor(message: string) {
    super("RATE_LIMITED", 429, message);
    this.name = "RateLimitedError";
  }
}

/** No route or no job under the given path or request id. */
export class NotFoundError extends BridgeError {
  constructor(message: string) {
    super("NOT_FOUND", 404, message);
    this.name = "NotFoundError";
  }
}

/** The request id is already a job with different inputs: a request id names one request only. */
export class RequestIdReusedError extends BridgeError {
  constructor(requestId: string, differences: readonly string[]) {
    super("REQUEST_ID_REUSED", 409, `request ${requestId} is already a job with different ${differences.join(", ")}; refusing to run it again with other inputs`);
    this.name = "RequestIdReusedError";
  }
}

/**
 * What the bridge was asked differs from what the chain says: the request is
 * unknown to the consumer, not pending, or its algorithm, datasets, params or
 * buyer key are not the ones the buyer paid for. Definitive: a retry cannot
 * change it.
 */
export class OnChainMismatchError extends BridgeError {
  readonly reason: "REQUEST_NOT_FOUND" | "REQUEST_NOT_PENDING" | "REQUEST_MISMATCH";

  constructor(reason: OnChainMismatchError["reason"], message: string) {
    super(reason, 422, message);
    this.name = "OnChainMismatchError";
    this.reason = reason;
  }
}

/** The bridge could not read the chain to check a request; worth a retry. */
export class ChainUnavailableError extends BridgeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("CHAIN_UNAVAILABLE", 503, message, options);
    this.name = "ChainUnavailableError";
  }
}

/** The job did not finish before its deadline; worth a retry (the hosts keep what they finished). */
export class JobTimeoutError extends BridgeError {
  constructor(requestId: string, timeoutMs: number) {
    super("JOB_TIMEOUT", 504, `job ${requestId} did not finish within ${timeoutMs} ms`);
    this.name = "JobTimeoutError";
  }
}

/** An MPC host could not be reached or did not answer in time. */
export class HostUnavailableError extends BridgeError {
  readonly hostIndex: number;
  /** The gRPC status name of the failed call, when there was one (e.g. `DEADLINE_EXCEEDED`). */
  readonly grpcCode?: string;

  constructor(hostIndex: number, message: string, options?: { cause?: unknown; grpcCode?: string }) {
    super("HOST_UNAVAILABLE", 502, `MPC host ${hostIndex} unavailable: ${message}`, options);
    this.name = "HostUnavailableError";
    this.hostIndex = hostIndex;
    this.grpcCode = options?.grpcCode;
  }
}

/** An MPC host answered and refused the job (policy, commitment, on-chain check...). */
export class HostRefusedError extends BridgeError {
  readonly hostIndex: number;
  /** The gRPC status name of the failed call, when there was one (e.g. `FAILED_PRECONDITION`). */
  readonly grpcCode?: string;
  /** The host's signed statement of a seller's offence, when it refused for one. */
  readonly attestation?: OffenceAttestation;

  constructor(hostIndex: number, message: string, options?: { cause?: unknown; grpcCode?: string; attestation?: OffenceAttestation }) {
    super("HOST_REFUSED", 422, `MPC host ${hostIndex} refused the job: ${message}`, options);
    this.name = "HostRefusedError";
    this.hostIndex = hostIndex;
    this.grpcCode = options?.grpcCode;
    this.attestation = options?.attestation;
  }
}

/**
 * Two or more hosts refused the job because a dataset's share was missing or
 * did not match its on-chain commitment, and signed attestations of it: with
 * two of them anyone may have the dataset punished (PenaltyCourt). The bridge
 * keeps them with the failed job (`GET /offences/:requestId`).
 */
export class OffenceAttestedError extends BridgeError {
  readonly attestations: readonly OffenceAttestation[];

  constructor(attestations: readonly OffenceAttestation[], options?: { cause?: unknown }) {
    const hosts = attestations.map((a) => a.host).join(" and ");
    const what = attestations.map((a) => `dataset ${a.datasetId} ${a.offence === 1 ? "missing" : "not matching its commitment"} at host ${a.host}`).join("; ");
    super("OFFENCE_ATTESTED", 422, `MPC hosts ${hosts} attest a seller's offence: ${what}`, options);
    this.name = "OffenceAttestedError";
    this.attestations = attestations;
  }
}

/**
 * The attestations of one dataset signed by at least two different hosts, from
 * the hosts' refusals; empty when no dataset has two.
 */
export function attestedOffence(failures: readonly BridgeError[]): OffenceAttestation[] {
  const byDataset = new Map<string, OffenceAttestation[]>();
  for (const failure of failures) {
    if (!(failure instanceof HostRefusedError)) continue;
    const { attestation } = failure;
    // A host speaks for itself only.
    if (attestation === undefined || attestation.host !== failure.hostIndex) continue;
    const list = byDataset.get(attestation.datasetId) ?? [];
    if (!list.some((a) => a.host === attestation.host)) list.push(attestation);
    byDataset.set(attestation.datasetId, list);
  }
  return [...byDataset.values()].find((list) => list.length >= 2) ?? [];
}

/**
 * Whether a failed job may be run again when the same request comes back:
 * only failures a later attempt can cure (a host or the chain unreachable, a
 * deadline, an unexpected error). A refusal or a mismatch stays the answer.
 */
export function isRetryable(err: unknown): boolean {
  return !(err instanceof BridgeError) || err.statusCode >= 500;
}

/** The External Adapter error body (DESIGN §5). */
export interface AdapterErrorBody {
  jobRunID: string;
  status: "errored";
  statusCode: number;
  error: { name: string; message: string };
}

/**
 * Maps any thrown value to the External Adapter error body. Unknown errors
 * become a generic 500 so that no stack trace or internal detail leaks.
 *
 * @example
 * reply.code(body.statusCode).send(toAdapterErrorBody("1", err));
 */
export function toAdapterErrorBody(jobRunID: string, err: unknown): AdapterErrorBody {
  if (err instanceof BridgeError) {
    return { jobRunID, status: "errored", statusCode: err.statusCode, error: { name: err.name, message: err.message } };
  }
  return {
    jobRunID,
    status: "errored",
    statusCode: 500,
    error: { name: "InternalError", message: "internal error in the bridge; see its logs" },
  };
}
