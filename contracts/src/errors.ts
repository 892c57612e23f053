/**
 * Errors raised by `@scmpc/contracts`. Each has a stable `code` for callers
 * to branch on and keeps the underlying failure as `cause`.
 *
 * @example
 * ```ts
 * try {
 *   loadArtifact("AlgorithmComputation");
 * } catch (err) {
 *   if (err instanceof ContractsError && err.code === "ARTIFACT_NOT_FOUND") process.exit(1);
 * }
 * ```
 */
export class ContractsError extends Error {
  override name = "ContractsError";
  readonly code: ContractsErrorCode;

  constructor(code: ContractsErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/**
 * The `code` values a {@link ContractsError} can carry.
 *
 * @example
 * ```ts
 * const code: ContractsErrorCode = "ARTIFACT_NOT_FOUND";
 * ```
 */
export type ContractsErrorCode = "ARTIFACT_NOT_FOUND" | "ARTIFACT_INVALID" | "DEPLOYMENT_FAILED" | "INVALID_HOSTS" | "INVALID_EPSILON";
