import Fastify from "fastify";
import type { FastifyError, FastifyInstance, FastifyReply, FastifyServerOptions } from "fastify";
import helmet from "@fastify/helmet";
import rateLimit from "@fastify/rate-limit";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import { Type } from "typebox";
import { accessKeyCheck } from "./access-key.ts";
import { BridgeError, InvalidRequestError, NotFoundError, RateLimitedError, toAdapterErrorBody } from "./errors.ts";
import type { AdapterErrorBody as ErrorBody } from "./errors.ts";
import type { HostsClient } from "./hosts-client.ts";
import type { JobRow, JobStore } from "./job-store.ts";
import { createJobRunner } from "./job-runner.ts";
import { createBridgeMetrics } from "./metrics.ts";
import type { BridgeMetrics } from "./metrics.ts";
import type { RequestChecker } from "./onchain-request-check.ts";
import { createCallbackDispatcher } from "./response-callback.ts";
import type { CallbackOptions } from "./response-callback.ts";
import { AdapterErrorBody, AdapterPending, AdapterRequest, AdapterSuccess, HealthAnswer, JobParams, JobStatus, OffenceAnswer } from "./schemas.ts";

/** What {@link buildApp} needs. */
export interface BridgeDeps {
  hosts: HostsClient;
  /** The durable job store; the caller opens and closes it. */
  store: JobStore;
  /** The on-chain check of every new request. */
  checker: RequestChecker;
  /** The key callers present as `Authorization: Bearer`; undefined: no check (explicitly insecure). */
  accessKey: string | undefined;
  /** Deadline of one job start (Compute and SignResult on the three hosts). */
  jobTimeoutMs: number;
  /** Deadline of the on-chain check (default 10 s). */
  chainTimeoutMs?: number;
  /** Calls to `POST /` and `GET /jobs/...` per client address and window (default 600 a minute). */
  rateLimit?: { max: number; windowMs: number };
  /** Delivery of asynchronous jobs to `responseURL`. */
  callbacks?: Partial<CallbackOptions> & { allowedOrigins?: readonly string[] };
  /** Metrics to record into (default: a new registry). */
  metrics?: BridgeMetrics;
  /** Fastify options, e.g. `loggerInstance`. */
  fastify?: FastifyServerOptions;
}

/** Largest request body the bridge accepts: requests carry ids, never data. */
export const BODY_LIMIT_BYTES = 64 * 1024;
const HEALTH_TIMEOUT_MS = 2_000;

function jobRunIdOf(body: unknown): string {
  const id = (body as { id?: unknown } | null)?.id;
  return typeof id === "string" || typeof id === "number" ? String(id) : "";
}

/** One readable line per schema violation, naming the field (and the unknown one). */
function describeValidation(errors: readonly { instancePath: string; keyword: string; params: Record<string, unknown>; message?: string }[], dataVar: string): string {
  return errors
    .map((e) => {
      const where = `${dataVar}${e.instancePath}`;
      if (e.keyword === "additionalProperties") return `${where} has unknown field "${String(e.params.additionalProperty)}"`;
      if (e.keyword === "required") return `${where} is missing required field "${String(e.params.missingProperty)}"`;
      return `${where} ${e.message ?? "is invalid"}`;
    })
    .join("; ");
}

const iso = (ms: number): string => new Date(ms).toISOString();

function jobStatus(job: JobRow, store: JobStore) {
  return {
    requestId: job.requestId,
    state: job.state,
    attempts: job.attempts,
    algorithm: job.algorithm,
    consumer: job.consumer,
    createdAt: iso(job.createdAt),
    updatedAt: iso(job.updatedAt),
    ...(job.finishedAt !== null ? { finishedAt: iso(job.finishedAt) } : {}),
    ...(job.result !== null ? { result: job.result } : {}),
    ...(job.error !== null ? { error: job.error } : {}),
    callbacks: store.callbacksOf(job.requestId).map((c) => ({
      origin: new URL(c.url).origin,
      jobRunID: c.jobRunID,
      state: c.state,
      attempts: c.attempts,
      ...(c.lastError !== null ? { lastError: c.lastError } : {}),
      ...(c.state === "waiting" && c.nextAttemptAt > 0 ? { nextAttemptAt: iso(c.nextAttemptAt) } : {}),
    })),
  };
}

/**
 * Builds the SC-MPC bridge: a Chainlink External Adapter (`POST /`, answered
 * synchronously, or `{ pending: true }` and later PATCHed to `responseURL`)
 * that runs the requested computation on the three MPC hosts exactly once per
 * on-chain request, plus `GET /jobs/:requestId`, `GET /health`, `GET /metrics`
 * and OpenAPI documentation at `/docs`. When ready it resumes the jobs and
 * callbacks a previous process left unfinished in the store. It never
 * listens; `server.ts` does.
 *
 * @example
 * const app = buildApp({ hosts, store: openJobStore(file), checker, accessKey, jobTimeoutMs: 120_000 });
 * const res = await app.inject({ method: "POST", url: "/", headers: { authorization: `Bearer ${accessKey}` }, payload: { id: "1", data } });
 */
export function buildApp(deps: BridgeDeps): FastifyInstance {
  const app = Fastify({
    bodyLimit: BODY_LIMIT_BYTES,
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, allErrors: true } },
    schemaErrorFormatter: (errors, dataVar) => new InvalidRequestError(describeValidation(errors, dataVar)),
    ...deps.fastify,
  });
  const metrics = deps.metrics ?? createBridgeMetrics();
  const { store } = deps;
  const callbacks = createCallbackDispatcher({
    store,
    metrics,
    logger: app.log,
    options: { maxAttempts: 10, timeoutMs: 10_000, baseDelayMs: 1_000, maxDelayMs: 300_000, ...deps.callbacks },
  });
  const jobs = createJobRunner({
    store,
    hosts: deps.hosts,
    checker: deps.checker,
    metrics,
    logger: app.log,
    jobTimeoutMs: deps.jobTimeoutMs,
    chainTimeoutMs: deps.chainTimeoutMs ?? 10_000,
    onFinished: (job) => callbacks.dispatch(job.requestId),
  });
  const checkAccessKey = accessKeyCheck(deps.accessKey);
  const allowedOrigins = new Set(deps.callbacks?.allowedOrigins ?? []);
  const limit = deps.rateLimit ?? { max: 600, windowMs: 60_000 };
  const protectedRoute = { rateLimit: { max: limit.max, timeWindow: limit.windowMs } };

  // Every error, including schema validation, oversized bodies and unknown
  // routes, leaves in the External Adapter error shape.
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const fastifyStatus = err.statusCode;
    // Fastify's own 4xx (unparsable, oversized, wrong content type) keep
    // their status and become InvalidRequestError; the bridge's errors keep theirs.
    let mapped: unknown = err;
    if (!(err instanceof BridgeError) && fastifyStatus !== undefined && fastifyStatus < 500) {
      const message = err.code === "FST_ERR_CTP_BODY_TOO_LARGE" ? `request body is larger than the bridge's limit of ${BODY_LIMIT_BYTES} bytes` : err.message;
      mapped = new InvalidRequestError(message, { cause: err });
    }
    const body = toAdapterErrorBody(jobRunIdOf(request.body), mapped);
    if (!(err instanceof BridgeError) && fastifyStatus !== undefined && fastifyStatus < 500) body.statusCode = fastifyStatus;
    if (body.statusCode >= 500) request.log.error({ err }, "request failed");
    else request.log.warn({ error: body.error }, "request refused");
    return reply.code(body.statusCode).send(body);
  });
  app.setNotFoundHandler((request, reply) => {
    const body = toAdapterErrorBody("", new NotFoundError(`no route ${request.method} ${request.url.split("?")[0]}`));
    return reply.code(404).send(body);
  });

  app.register(helmet, { global: true });
  app.register(rateLimit, {
    global: false,
    errorResponseBuilder: (_request, context) => new RateLimitedError(`more than ${context.max} calls in ${context.after}; retry later`),
  });
  app.register(swagger, {
    openapi: {
      openapi: "3.0.3",
      info: {
        title: "SC-MPC bridge",
        description:
          "Chainlink External Adapter of the SC-MPC data market: runs a buyer's computation on the three MPC hosts, exactly once per on-chain request id.",
        version: "1.0.0",
      },
      components: { securitySchemes: { bearerAuth: { type: "http", scheme: "bearer", description: "SCMPC_BRIDGE_ACCESS_KEY (a Chainlink node's bridge token)" } } },
    },
  });
  app.register(swaggerUi, { routePrefix: "/docs", staticCSP: true });

  app.register(async (scoped) => {
    const api = scoped.withTypeProvider<TypeBoxTypeProvider>();
    const authenticate = async (request: { headers: { authorization?: string } }) => checkAccessKey(request.headers.authorization);
    const sendFailure = (reply: FastifyReply, jobRunID: string, job: JobRow) => {
      const error = job.error ?? { name: "InternalError", message: "the job ended without a result", statusCode: 500 };
      const body: ErrorBody = { jobRunID, status: "errored", statusCode: error.statusCode, error: { name: error.name, message: error.message } };
      return reply.code(error.statusCode).send(body);
    };

    api.post(
      "/",
      {
        config: protectedRoute,
        onRequest: authenticate,
        // From here on every line this request logs (its completion too) names the job.
        preHandler: async (request) => {
          request.log = request.log.child({ requestId: request.body.data.requestId.toLowerCase(), jobRunID: jobRunIdOf(request.body) });
        },
        schema: {
          summary: "Run (or join) the MPC job of an on-chain request",
          description:
            "External Adapter call. Without responseURL the answer waits for the job. With responseURL (a Chainlink node's async bridge task) a running job is answered { pending: true } and its outcome PATCHed to responseURL as { value: <answer> } or { error: \"<name>: <message>\" }. A request id names one job: repeated calls join it or get its stored outcome.",
          security: [{ bearerAuth: [] }],
          body: AdapterRequest,
          response: {
            200: Type.Union([AdapterSuccess, AdapterPending]),
            400: AdapterErrorBody,
            401: AdapterErrorBody,
            409: AdapterErrorBody,
            413: AdapterErrorBody,
            415: AdapterErrorBody,
            422: AdapterErrorBody,
            429: AdapterErrorBody,
            500: AdapterErrorBody,
            502: AdapterErrorBody,
            503: AdapterErrorBody,
            504: AdapterErrorBody,
          },
        },
      },
      async (request, reply) => {
        const jobRunID = request.body.id === undefined ? "" : String(request.body.id);
        const { data, responseURL } = request.body;
        const log = request.log;
        // The PATCH carries the answer and the callback token: only to origins the operator listed.
        if (responseURL !== undefined && !allowedOrigins.has(new URL(responseURL).origin)) {
          throw new InvalidRequestError(`responseURL origin ${new URL(responseURL).origin} is not one the bridge calls back (SCMPC_BRIDGE_CALLBACK_ORIGINS)`);
        }
        const { job, finished } = await jobs.submit({ data, callback: responseURL ? { url: responseURL, jobRunID } : undefined }, log);
        if (job.state === "running" && responseURL !== undefined) {
          log.info({ attempt: job.attempts }, "job acknowledged; the outcome goes to responseURL");
          return reply.header("x-chainlink-pending", "true").code(200).send({ jobRunID, pending: true as const });
        }
        const final = job.state === "running" ? await finished : job;
        if (final.state === "completed" && final.result !== null) {
          return reply.code(200).send({ jobRunID, statusCode: 200, data: { result: final.result }, result: final.result });
        }
        return sendFailure(reply, jobRunID, final);
      },
    );

    api.get(
      "/jobs/:requestId",
      {
        config: protectedRoute,
        onRequest: authenticate,
        schema: {
          summary: "Where the job of an on-chain request stands",
          security: [{ bearerAuth: [] }],
          params: JobParams,
          response: { 200: JobStatus, 400: AdapterErrorBody, 401: AdapterErrorBody, 404: AdapterErrorBody, 429: AdapterErrorBody },
        },
      },
      async (request) => {
        const job = store.get(request.params.requestId);
        if (!job) throw new NotFoundError(`no job for request ${request.params.requestId.toLowerCase()}`);
        return jobStatus(job, store);
      },
    );

    // Public: attestations name a dataset and an offence, nothing of anyone's data, and
    // the penalty court accepts them from anybody.
    api.get(
      "/offences/:requestId",
      {
        config: protectedRoute,
        schema: {
          summary: "Two hosts' signed attestations of a seller's offence at a request, for PenaltyCourt.punish",
          params: JobParams,
          response: { 200: OffenceAnswer, 400: AdapterErrorBody, 404: AdapterErrorBody, 429: AdapterErrorBody },
        },
      },
      async (request) => {
        const requestId = request.params.requestId.toLowerCase();
        const job = store.get(requestId);
        const attestations = job?.error?.attestations ?? [];
        if (!job || attestations.length < 2) throw new NotFoundError(`no attested offence for request ${requestId}`);
        return { requestId, consumer: job.consumer, attestations };
      },
    );

    api.get(
      "/health",
      { schema: { summary: "Reachability of each MPC host, and of the job store", response: { 200: HealthAnswer, 503: HealthAnswer } } },
      async (_request, reply) => {
        const hosts = await deps.hosts.health(HEALTH_TIMEOUT_MS);
        let storeHealth: { ok: boolean; error?: string };
        try {
          store.countByState();
          storeHealth = { ok: true };
        } catch (err) {
          storeHealth = { ok: false, error: (err as Error).message };
        }
        const ok = hosts.every((h) => h.reachable) && storeHealth.ok;
        return reply.code(ok ? 200 : 503).send({ status: ok ? "ok" : "degraded", hosts, store: storeHealth });
      },
    );

    api.get(
      "/metrics",
      { schema: { summary: "Prometheus metrics", produces: ["text/plain"], response: { 200: Type.String() } } },
      async (_request, reply) => {
        return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
      },
    );

    api.get("/openapi.json", { schema: { hide: true } }, async () => scoped.swagger());
  });

  app.addHook("onReady", async () => {
    jobs.resume();
    callbacks.resume();
  });
  app.addHook("onClose", async () => {
    callbacks.close();
  });

  return app;
}
