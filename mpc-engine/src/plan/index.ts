// The plan IR and its operators (query-plan.ts lists them): planned from a
// query and public facts, run by each host over its shares, decoded by the
// buyer.
export { planQuery } from "./plan-query.ts";
export { runQuery, type QueryInputs } from "./run-query.ts";
export { queryOpenedCount } from "./opened-count.ts";
export { decodeQuery, type QueryResult } from "./decode-query.ts";
export type { QueryPlan, PlanColumn, Statistic, OutputItem } from "./query-plan.ts";
