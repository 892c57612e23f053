import type { Party } from "../protocol/party.ts";
import type { ArithShare } from "../protocol/shares.ts";
import type { JobPlan } from "./plan-job.ts";
import { runQuery, type QueryInputs } from "./run-query.ts";

// A job's plan, run and decoded: the hosts' entry point. Planning and
// decoding live in plan-job.ts, free of the protocols (the buyer's client
// imports that one); running a job's plan on a party's shares is here.

export {
  QUERY_ALGORITHM,
  QUERY_RESTRICTED_ENTRY,
  datasetRefId,
  decodeJob,
  jobAlgorithms,
  jobColumns,
  jobOpenedCount,
  planJob,
  queryAggregateEntry,
  queryFunctions,
  queryParams,
  querySchema,
  querySql,
  type JobPlan,
  type JobResult,
} from "./plan-job.ts";

/**
 * Runs a job on this party's shares: values and validity per column, rows of
 * all datasets concatenated, in memory or read a block at a time. A named
 * algorithm runs its query, as `runPlan` does. Returns the shares of the
 * values to open.
 */
export async function runJob(party: Party, job: JobPlan, inputs: QueryInputs): Promise<ArithShare> {
  return runQuery(party, job.kind === "query" ? job.plan : job.plan.query, inputs);
}
