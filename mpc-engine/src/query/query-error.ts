import { MpcError } from "../errors.ts";

/** Where in the query text a syntax error was found (1-based line and column, 0-based offset). */
export interface QueryPosition {
  offset: number;
  line: number;
  column: number;
}

/**
 * A query the language does not accept, or that does not fit the dataset's
 * schema: code `QUERY_INVALID`, and a message naming the offending construct
 * that is safe to show the buyer. `position` is set for syntax errors.
 *
 * @example
 * try {
 *   parseQuery('SELECT count(*) FROM "0x…" ORDER BY 1');
 * } catch (err) {
 *   if (err instanceof QueryError) console.error(err.message); // ORDER BY is not supported
 * }
 */
export class QueryError extends MpcError {
  /** Where the parser stopped, for syntax errors. */
  readonly position?: QueryPosition;

  /**
   * @param message - what is wrong, naming the construct
   * @param options - `cause` (the parser's own error) and `position`
   */
  constructor(message: string, options: { cause?: unknown; position?: QueryPosition } = {}) {
    super("QUERY_INVALID", message, {
      cause: options.cause,
      details: options.position === undefined ? {} : { position: options.position },
    });
    this.name = "QueryError";
    if (options.position !== undefined) this.position = options.position;
  }
}
