import type { FastifyBaseLogger as Logger } from "fastify";
import type { CallbackRow, JobRow, JobStore } from "./job-store.ts";
import type { BridgeMetrics } from "./metrics.ts";

/** How the dispatcher delivers and retries. */
export interface CallbackOptions {
  /** Sent as `Authorization: Bearer` with every PATCH when set. */
  token?: string;
  maxAttempts: number;
  timeoutMs: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

/** Delivers finished jobs to the `responseURL`s that wait for them. */
export interface CallbackDispatcher {
  /** Delivers (now) every waiting callback of a finished job. */
  dispatch(requestId: string): void;
  /** Schedules every callback left undelivered in the store (at start-up). */
  resume(): void;
  /** Stops retrying (pending PATCHes are aborted; the store keeps what is owed). */
  close(): void;
}

/**
 * The body PATCHed to a Chainlink node's `responseURL`. A node's
 * `/v2/resume/<id>` endpoint decodes `{ value }` or `{ error: string }` (exactly
 * one); the External Adapter fields (`data.result`, `jobRunID`, `statusCode`)
 * are there too for other callers. `value` is the answer the synchronous path
 * gives, so a job spec reads `data,result` in both modes.
 *
 * @example
 * await fetch(url, { method: "PATCH", body: JSON.stringify(callbackBody(job, "1")) });
 */
export function callbackBody(job: JobRow, jobRunID: string): Record<string, unknown> {
  if (job.state === "completed" && job.result !== null) {
    const answer = { jobRunID, statusCode: 200, data: { result: job.result }, result: job.result };
    return { ...answer, value: answer };
  }
  const error = job.error ?? { name: "InternalError", message: "the job ended without a result", statusCode: 500 };
  return { jobRunID, status: "errored", statusCode: error.statusCode, error: `${error.name}: ${error.message}` };
}

/**
 * Creates the dispatcher: a PATCH per waiting callback, retried with
 * exponential backoff until it is accepted or `maxAttempts` are spent; each
 * outcome is written to the store (so `GET /jobs/:requestId` shows it and a
 * restart resumes it). Every failure is retried, 4xx included: a node may
 * refuse a PATCH that overtakes its own record of the pending answer.
 *
 * @example
 * const callbacks = createCallbackDispatcher({ store, metrics, logger, options });
 * callbacks.dispatch(requestId);
 */
export function createCallbackDispatcher(deps: {
  store: JobStore;
  metrics: BridgeMetrics;
  logger: Logger;
  options: CallbackOptions;
  now?: () => number;
}): CallbackDispatcher {
  const { store, metrics, logger, options } = deps;
  const now = deps.now ?? Date.now;
  const timers = new Map<string, NodeJS.Timeout>();
  const inFlight = new Set<string>();
  const closing = new AbortController();
  const keyOf = (c: CallbackRow): string => `${c.requestId} ${c.url}`;

  const schedule = (callback: CallbackRow): void => {
    const key = keyOf(callback);
    if (closing.signal.aborted || inFlight.has(key) || timers.has(key)) return;
    const delay = Math.max(0, callback.nextAttemptAt - now());
    const timer = setTimeout(() => {
      timers.delete(key);
      void attempt(callback.requestId, callback.url);
    }, delay);
    timer.unref();
    timers.set(key, timer);
  };

  const attempt = async (requestId: string, url: string): Promise<void> => {
    const callback = store.callbacksOf(requestId).find((c) => c.url === url);
    const job = store.get(requestId);
    if (!callback || !job || callback.state !== "waiting" || job.state === "running") return;
    const key = keyOf(callback);
    if (inFlight.has(key)) return;
    inFlight.add(key);
    const log = logger.child({ requestId: job.requestId, jobRunID: callback.jobRunID });
    const attempts = callback.attempts + 1;
    let error: string;
    try {
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (options.token) headers.authorization = `Bearer ${options.token}`;
      const response = await fetch(url, {
        method: "PATCH",
        headers,
        body: JSON.stringify(callbackBody(job, callback.jobRunID)),
        signal: AbortSignal.any([closing.signal, AbortSignal.timeout(options.timeoutMs)]),
      });
      await response.body?.cancel();
      if (response.ok) {
        store.updateCallback(requestId, url, { state: "delivered", attempts, nextAttemptAt: 0, lastError: null }, now());
        metrics.callbackDeliveries.inc({ outcome: "delivered" });
        log.info({ attempts, status: response.status }, "job delivered to responseURL");
        return;
      }
      error = `responseURL answered HTTP ${response.status}`;
    } catch (err) {
      if (closing.signal.aborted) return;
      const e = err as Error & { cause?: { code?: string } };
      error = `responseURL unreachable: ${e.cause?.code ?? e.name}: ${e.message}`;
    } finally {
      inFlight.delete(key);
    }
    if (attempts >= options.maxAttempts) {
      store.updateCallback(requestId, url, { state: "failed", attempts, nextAttemptAt: 0, lastError: error }, now());
      metrics.callbackDeliveries.inc({ outcome: "failed" });
      log.error({ attempts, error }, "giving up delivering the job to responseURL");
      return;
    }
    const delay = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** (attempts - 1));
    const next = { state: "waiting" as const, attempts, nextAttemptAt: now() + delay, lastError: error };
    store.updateCallback(requestId, url, next, now());
    metrics.callbackDeliveries.inc({ outcome: "retry" });
    log.warn({ attempts, error, retryInMs: delay }, "delivering the job to responseURL failed; will retry");
    schedule({ ...callback, ...next });
  };

  return {
    dispatch(requestId) {
      for (const callback of store.callbacksOf(requestId)) {
        if (callback.state === "waiting") schedule({ ...callback, nextAttemptAt: 0 });
      }
    },
    resume() {
      for (const callback of store.undeliveredCallbacks()) schedule(callback);
    },
    close() {
      closing.abort();
      for (const timer of timers.values()) clearTimeout(timer);
      timers.clear();
    },
  };
}
