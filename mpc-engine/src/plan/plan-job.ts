import { MpcError } from "../errors.ts";
import { MAX_OPENED_VALUES, MAX_RESULT_LENGTH } from "../output-envelope.ts";
import { datasetIdOf } from "../share-encoding.ts";
import { ALGORITHMS, decodeResult, openedCount, planComputation, type AlgorithmResult, type DatasetSchema, type Plan } from "../algorithms/catalog.ts";
import { columnKind } from "../algorithms/column-types.ts";
import { parseQuery } from "../query/parse-query.ts";
import type { QuerySchema } from "../query/check-query.ts";
import type { DatasetRef, Query } from "../query/query-ast.ts";
import { decodeQuery, type QueryResult } from "./decode-query.ts";
import { planQuery } from "./plan-query.ts";
import type { QueryPlan } from "./query-plan.ts";
import { queryOpenedCount } from "./opened-count.ts";
import { QUERY_ALGORITHM } from "./query-policy.ts";

// A job's plan, whatever was bought: a named algorithm (`mean@1`, ...) or a
// query (`query@1`, its SQL text in the request's params). Buyer and hosts
// plan both from the same on-chain facts; this is the one entry point for
// planning and decoding. It imports none of the protocols that run a job
// (job-plan.ts adds running), so a buyer's client — in a browser too — plans
// and decodes with exactly the hosts' code.

export { QUERY_ALGORITHM, QUERY_RESTRICTED_ENTRY, queryAggregateEntry } from "./query-policy.ts";

/** A planned job. */
export type JobPlan = { kind: "algorithm"; algorithm: string; plan: Plan } | { kind: "query"; algorithm: typeof QUERY_ALGORITHM; plan: QueryPlan; query: Query };

/** A job's answer: a named algorithm's result, or a query's table. */
export type JobResult = { kind: "algorithm"; result: AlgorithmResult } | { kind: "query"; result: QueryResult };

/** Every algorithm a job may name. */
export function jobAlgorithms(): string[] {
  return [...Object.keys(ALGORITHMS), QUERY_ALGORITHM];
}

/**
 * A dataset schema as the query checker reads it: every column's kind (int
 * and decimal from the scale), bounds and dictionary.
 *
 * @example
 * querySchema({ columns: [{ name: "age", scale: 0, lo: "0", hi: "120" }] }) // { columns: [{ name: "age", type: "int", ... }] }
 */
export function querySchema(schema: DatasetSchema): QuerySchema {
  return {
    columns: schema.columns.map((c) => ({
      name: c.name,
      type: columnKind(c),
      scale: c.scale,
      lo: c.lo,
      hi: c.hi,
      ...(c.categories ? { categories: c.categories } : {}),
    })),
  };
}

/**
 * The request params of a query: `{"sql": "<text>"}`.
 *
 * @example
 * queryParams('SELECT count(*) FROM "0x…"') // '{"sql":"SELECT count(*) FROM \\"0x…\\""}'
 */
export function queryParams(sql: string): string {
  return JSON.stringify({ sql });
}

/** The SQL text of a query request's params. */
export function querySql(paramsText: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(paramsText);
  } catch {
    throw new MpcError("INVALID_ARGUMENT", `params: not valid JSON`);
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw new MpcError("INVALID_ARGUMENT", "params: must be a JSON object");
  const keys = Object.keys(parsed);
  const sql = (parsed as { sql?: unknown }).sql;
  if (typeof sql !== "string" || keys.length !== 1) throw new MpcError("INVALID_ARGUMENT", `params: ${QUERY_ALGORITHM} takes {"sql": "<query>"} and nothing else`);
  return sql;
}

/** A FROM reference's dataset id (lowercase): an id as written, an address as keccak256(seller, name). */
export function datasetRefId(ref: DatasetRef): string {
  return (ref.kind === "id" ? ref.id : datasetIdOf(ref.seller, ref.name)).toLowerCase();
}

/**
 * The aggregate functions a query uses (`count` for count(*) and count(col)),
 * for sellers' per-aggregate permissions.
 *
 * @example
 * queryFunctions(parseQuery('SELECT avg(x), count(*) FROM "0x…"')) // ["avg", "count"]
 */
export function queryFunctions(query: Query): string[] {
  return [...new Set(query.select.flatMap((item) => (item.kind === "aggregate" ? [item.fn] : [])))];
}

/**
 * Plans a job from its algorithm, params text and the public facts (schema,
 * total rows, ε in milli-ε). For a query the datasets in FROM must be those
 * of the request (`datasetIds`, any order).
 *
 * @throws MpcError `ALGORITHM_UNSUPPORTED`, `INVALID_ARGUMENT`, `QUERY_INVALID`, `RANGE_TOO_WIDE`
 * @example
 * planJob("query@1", queryParams(sql), schema, { rowCount: 100n, epsilonMilli: 1000, datasetIds: [id] })
 */
export function planJob(algorithm: string, paramsText: string, schema: DatasetSchema, options: { rowCount: bigint; epsilonMilli: number; datasetIds?: readonly string[] }): JobPlan {
  if (algorithm !== QUERY_ALGORITHM) return { kind: "algorithm", algorithm, plan: planComputation(algorithm, paramsText, schema, options) };
  const query = parseQuery(querySql(paramsText));
  if (options.datasetIds !== undefined) {
    const named = new Set(query.from.map(datasetRefId));
    const requested = new Set(options.datasetIds.map((id) => id.toLowerCase()));
    const missing = [...requested].filter((id) => !named.has(id));
    const extra = [...named].filter((id) => !requested.has(id));
    if (missing.length > 0 || extra.length > 0) {
      throw new MpcError(
        "INVALID_ARGUMENT",
        `the query's FROM must name exactly the request's datasets` +
          (extra.length > 0 ? `; not in the request: ${extra.join(", ")}` : "") +
          (missing.length > 0 ? `; in the request but not in FROM: ${missing.join(", ")}` : ""),
      );
    }
  }
  const plan = planQuery(query, querySchema(schema), options);
  // Refused before payment: a longer result would fail on-chain after the hosts had computed it.
  const opened = queryOpenedCount(plan);
  if (opened > MAX_OPENED_VALUES) {
    throw new MpcError(
      "QUERY_INVALID",
      `the query would open ${opened} values (statistics × groups); an on-chain result holds at most ${MAX_OPENED_VALUES} (${MAX_RESULT_LENGTH} bytes): ask for fewer aggregates, groups or histogram edges`,
    );
  }
  return { kind: "query", algorithm: QUERY_ALGORITHM, query, plan };
}

/** The columns a job reads. */
export function jobColumns(job: JobPlan): string[] {
  return (job.kind === "query" ? job.plan : job.plan.query).columns.map((c) => c.name);
}

/** Number of ring values a job opens. */
export function jobOpenedCount(job: JobPlan): number {
  return job.kind === "query" ? queryOpenedCount(job.plan) : openedCount(job.plan);
}

/** The buyer's side: the opened values decoded into the job's answer. */
export function decodeJob(job: JobPlan, values: bigint[]): JobResult {
  if (job.kind === "query") return { kind: "query", result: decodeQuery(job.plan, values) };
  return { kind: "algorithm", result: decodeResult(job.plan, values) };
}
