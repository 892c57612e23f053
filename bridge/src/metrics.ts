import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { JobState } from "./job-store.ts";

/** The bridge's Prometheus metrics, on a registry of its own (no global state). */
export interface BridgeMetrics {
  registry: Registry;
  /** Jobs finished by this process, by outcome (`completed`, `failed`). */
  jobsFinished: Counter<"outcome">;
  /** Seconds from a job's (re)start to its end, by outcome. */
  jobDuration: Histogram<"outcome">;
  /** Failed calls to an MPC host, by host index, gRPC method and gRPC status name. */
  hostCallErrors: Counter<"host" | "method" | "code">;
  /** PATCHes to a `responseURL`, by outcome (`delivered`, `retry`, `failed`). */
  callbackDeliveries: Counter<"outcome">;
  /** Jobs in each state, read from the store at scrape time. */
  setJobsByState(read: () => Record<JobState, number>): void;
}

/**
 * Creates the bridge's metrics (names prefixed `scmpc_bridge_`), plus the
 * default process metrics, on a new registry.
 *
 * @example
 * const metrics = createBridgeMetrics();
 * reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
 */
export function createBridgeMetrics(): BridgeMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "scmpc_bridge_" });
  let readStates: (() => Record<JobState, number>) | undefined;
  new Gauge({
    name: "scmpc_bridge_jobs",
    help: "Jobs in the bridge's store, by state (running, completed, failed).",
    labelNames: ["state"],
    registers: [registry],
    collect() {
      if (!readStates) return;
      for (const [state, n] of Object.entries(readStates())) this.set({ state }, n);
    },
  });
  return {
    registry,
    jobsFinished: new Counter({
      name: "scmpc_bridge_jobs_finished_total",
      help: "Jobs finished by this bridge process, by outcome.",
      labelNames: ["outcome"],
      registers: [registry],
    }),
    jobDuration: new Histogram({
      name: "scmpc_bridge_job_duration_seconds",
      help: "Time from a job's start (or restart) to its end, by outcome.",
      labelNames: ["outcome"],
      buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30, 60, 120, 300],
      registers: [registry],
    }),
    hostCallErrors: new Counter({
      name: "scmpc_bridge_host_call_errors_total",
      help: "Failed gRPC calls to an MPC host, by host index, method and gRPC status.",
      labelNames: ["host", "method", "code"],
      registers: [registry],
    }),
    callbackDeliveries: new Counter({
      name: "scmpc_bridge_callback_deliveries_total",
      help: "PATCHes of a finished job to a Chainlink node's responseURL, by outcome.",
      labelNames: ["outcome"],
      registers: [registry],
    }),
    setJobsByState(read) {
      readStates = read;
    },
  };
}
