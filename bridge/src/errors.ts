/**
 * Errors of the bridge and the relay. Each carries a stable `code`, an HTTP
 * `statusCode` for the External Adapter answer and the `name` a Chainlink
 * node shows to its operator. One place, {@link toAdapterErrorBody}, turns
 * them into the External Adapter error body.
 */
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

/** An MPC host could not be reached or did not answer in time. */
export class HostUnavailableError extends BridgeError {
  readonly hostIndex: number;

  constructor(hostIndex: number, message: string, options?: { cause?: unknown }) {
    super("HOST_UNAVAILABLE", 502, `MPC host ${hostIndex} unavailable: ${message}`, options);
    this.name = "HostUnavailableError";
    this.hostIndex = hostIndex;
  }
}

/** An MPC host answered and refused the job (policy, commitment, on-chain check...). */
export class HostRefusedError extends BridgeError {
  readonly hostIndex: number;

  constructor(hostIndex: number, message: string, options?: { cause?: unknown }) {
    super("HOST_REFUSED", 422, `MPC host ${hostIndex} refused the job: ${message}`, options);
    this.name = "HostRefusedError";
    this.hostIndex = hostIndex;
  }
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
