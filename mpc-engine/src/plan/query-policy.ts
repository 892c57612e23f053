// How queries are named in sellers' policies: constants a market listing
// reads without loading the query parser or the planner.

/** The algorithm name under which queries are sold. */
export const QUERY_ALGORITHM = "query@1";

/**
 * The policy entry that restricts `query@1` to some aggregate functions: a
 * dataset whose allowed algorithms list it (with `query@1`) sells a query
 * only when every aggregate function the query uses is listed as well, as
 * {@link queryAggregateEntry}. Policy ids are keccak256 of these names, as
 * of algorithm names. The contract checks `query@1`; the hosts and the
 * buyer's client check the functions.
 */
export const QUERY_RESTRICTED_ENTRY = "query@1:restricted";

/**
 * The policy entry allowing one aggregate function under a restricted `query@1`.
 *
 * @example
 * queryAggregateEntry("avg") // "query@1:avg"
 */
export function queryAggregateEntry(fn: string): string {
  return `${QUERY_ALGORITHM}:${fn}`;
}
