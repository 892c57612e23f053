import Fastify from "fastify";
import type { FastifyInstance, FastifyServerOptions } from "fastify";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import { BridgeError, InvalidRequestError, toAdapterErrorBody } from "./errors.ts";
import type { HostsClient } from "./hosts-client.ts";
import { createJobRunner } from "./job-runner.ts";
import { AdapterErrorBody, AdapterRequest, AdapterSuccess, HealthAnswer } from "./schemas.ts";

/** What {@link buildApp} needs. */
export interface BridgeDeps {
  hosts: HostsClient;
  computeTimeoutMs: number;
  /** Fastify options, e.g. `loggerInstance`. */
  fastify?: FastifyServerOptions;
}

/** Largest request body the bridge accepts: requests carry ids, never data. */
const BODY_LIMIT_BYTES = 64 * 1024;
const HEALTH_TIMEOUT_MS = 2_000;

function jobRunIdOf(body: unknown): string {
  const id = (body as { id?: unknown } | null)?.id;
  return typeof id === "string" || typeof id === "number" ? String(id) : "";
}

/**
 * Builds the SC-MPC bridge: a Chainlink External Adapter (`POST /`) that runs
 * the requested computation on the three MPC hosts, plus `GET /health`.
 * It never listens; `server.ts` does.
 *
 * @example
 * const app = buildApp({ hosts: createGrpcHostsClient(endpoints), computeTimeoutMs: 60_000 });
 * const res = await app.inject({ method: "POST", url: "/", payload: { id: "1", data } });
 */
export function buildApp(deps: BridgeDeps): FastifyInstance {
  const app = Fastify({ bodyLimit: BODY_LIMIT_BYTES, ...deps.fastify }).withTypeProvider<TypeBoxTypeProvider>();
  const jobs = createJobRunner(deps.hosts, deps.computeTimeoutMs);

  // Every error, including schema validation and oversized bodies, leaves in
  // the External Adapter error shape.
  app.setErrorHandler((err, request, reply) => {
    const jobRunID = jobRunIdOf(request.body);
    const fastifyErr = err as { validation?: unknown; statusCode?: number; message: string };
    // Fastify's own 4xx (schema validation, unparsable or oversized body)
    // become InvalidRequestError; the bridge's errors keep their own status.
    const mapped =
      !(err instanceof BridgeError) &&
      (fastifyErr.validation !== undefined || (fastifyErr.statusCode !== undefined && fastifyErr.statusCode < 500))
        ? new InvalidRequestError(fastifyErr.message, { cause: err })
        : err;
    const body = toAdapterErrorBody(jobRunID, mapped);
    if (fastifyErr.statusCode === 413) body.statusCode = 413;
    if (body.statusCode >= 500) request.log.error({ err }, "request failed");
    else request.log.warn({ err: { message: (mapped as Error).message } }, "request refused");
    return reply.code(body.statusCode).send(body);
  });

  app.post(
    "/",
    {
      schema: {
        body: AdapterRequest,
        response: { 200: AdapterSuccess, "4xx": AdapterErrorBody, "5xx": AdapterErrorBody },
      },
    },
    async (request) => {
      const jobRunID = request.body.id === undefined ? "" : String(request.body.id);
      const log = request.log.child({ requestId: request.body.data.requestId, jobRunID });
      const result = await jobs.run(request.body.data, log);
      return { jobRunID, statusCode: 200, data: { result }, result };
    },
  );

  app.get("/health", { schema: { response: { 200: HealthAnswer, 503: HealthAnswer } } }, async (_request, reply) => {
    const hosts = await deps.hosts.health(HEALTH_TIMEOUT_MS);
    const ok = hosts.every((h) => h.reachable);
    return reply.code(ok ? 200 : 503).send({ status: ok ? "ok" : "degraded", hosts });
  });

  return app;
}
