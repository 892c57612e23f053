import { AbiCoder } from "ethers";
import { packResult } from "@scmpc/mpc-engine";
import type { FastifyBaseLogger as Logger } from "fastify";
import { BridgeError, isRetryable, JobTimeoutError, OffenceAttestedError, RequestIdReusedError } from "./errors.ts";
import type { HostsClient } from "./hosts-client.ts";
import type { JobError, JobInputs, JobRow, JobStore } from "./job-store.ts";
import type { BridgeMetrics } from "./metrics.ts";
import type { RequestChecker } from "./onchain-request-check.ts";
import type { ComputationData } from "./schemas.ts";

/** One call for a request: its data and, on the asynchronous path, where to PATCH the outcome. */
export interface Submission {
  data: ComputationData;
  callback?: { url: string; jobRunID: string };
}

/** What {@link JobRunner.submit} hands back once the request is acknowledged. */
export interface Admission {
  /** The job as stored when the call was acknowledged (`running`, or already finished). */
  job: JobRow;
  /** Resolves to the finished job (`completed` or `failed`). */
  finished: Promise<JobRow>;
}

/** Runs MPC jobs durably, at most one run at a time per on-chain request id. */
export interface JobRunner {
  /**
   * Acknowledges a request: answers from the store when the job is finished;
   * joins it when it runs; otherwise checks the request on-chain, writes the
   * job row durably (with the callback, if any) and starts the job. Resolves
   * only after the row is on disk.
   *
   * @throws RequestIdReusedError when the request id is a job with other inputs
   * @throws OnChainMismatchError / ChainUnavailableError from the on-chain check
   */
  submit(submission: Submission, log: Logger): Promise<Admission>;
  /** Starts again every job a previous process left `running` (call once at start-up). */
  resume(): void;
  /** Waits for the jobs running in this process to end (their rows stay `running` if the process dies first). */
  drain(): Promise<void>;
}

/** Dependencies of {@link createJobRunner}. */
export interface JobRunnerDeps {
  store: JobStore;
  hosts: HostsClient;
  checker: RequestChecker;
  metrics: BridgeMetrics;
  logger: Logger;
  /** Deadline of one job start, covering Compute and SignResult on the three hosts. */
  jobTimeoutMs: number;
  /** Deadline of the on-chain check. */
  chainTimeoutMs: number;
  /** Called with every job that finishes (to deliver its callbacks). */
  onFinished?: (job: JobRow) => void;
  now?: () => number;
}

function inputsOf(data: ComputationData): JobInputs {
  return {
    requestId: data.requestId.toLowerCase(),
    algorithm: data.algorithm,
    datasetIds: data.datasetIds.toLowerCase(),
    params: data.params,
    buyerKey: data.buyerKey.toLowerCase(),
    consumer: data.consumer.toLowerCase(),
  };
}

/** The fields in which a new call differs from the stored job. */
function differences(job: JobInputs, data: ComputationData): string[] {
  const asked = inputsOf(data);
  return (["algorithm", "datasetIds", "params", "buyerKey", "consumer"] as const).filter((k) => job[k] !== asked[k]);
}

function toJobError(err: unknown): JobError {
  if (err instanceof BridgeError) {
    const attestations = err instanceof OffenceAttestedError ? { attestations: [...err.attestations] } : {};
    return { name: err.name, message: err.message, statusCode: err.statusCode, code: err.code, retryable: isRetryable(err), ...attestations };
  }
  return { name: "InternalError", message: "internal error in the bridge; see its logs", statusCode: 500, code: "INTERNAL", retryable: true };
}

/** Whether a job is the final answer to every later call for its request. */
export function isFinal(job: JobRow): boolean {
  return job.state === "completed" || (job.state === "failed" && job.error?.retryable === false);
}

/**
 * Creates the job runner. Jobs are keyed by the on-chain request id in the
 * durable store, so neither a repeated call, nor a retry, nor a restart of
 * the bridge starts a second MPC run for a request whose run is going on or
 * has succeeded; a run that failed for a reason a retry can cure (a host or
 * the chain unreachable, a deadline) runs again when the request comes back.
 *
 * @example
 * const jobs = createJobRunner({ store, hosts, checker, metrics, logger, jobTimeoutMs: 120_000, chainTimeoutMs: 10_000 });
 * const { job, finished } = await jobs.submit({ data }, log);
 */
export function createJobRunner(deps: JobRunnerDeps): JobRunner {
  const { store, hosts, checker, metrics, jobTimeoutMs } = deps;
  const now = deps.now ?? Date.now;
  metrics.setJobsByState(() => store.countByState());
  /** Jobs being admitted or run by this process, by lowercase request id. */
  const active = new Map<string, { admitted: Promise<JobRow>; finished: Promise<JobRow> }>();

  async function execute(job: JobRow, deadline: number): Promise<string> {
    const remaining = (): number => Math.max(1, deadline - Date.now());
    const { jobId, envelopes } = await hosts.compute(
      {
        requestId: job.requestId,
        algorithm: job.algorithm,
        datasetIds: job.datasetIds.split(","),
        params: job.params,
        buyerKey: job.buyerKey,
        consumer: job.consumer,
      },
      remaining(),
    );
    const result = packResult(jobId, envelopes);
    // The contract accepts the result only with all three hosts' signatures
    // over (chain id, consumer, requestId, keccak256(result)); each host signs
    // only if its own envelope is in it unchanged.
    const signatures = await hosts.signResult({ requestId: job.requestId, result, consumer: job.consumer }, remaining());
    return AbiCoder.defaultAbiCoder().encode(["bytes", "bytes[3]"], [result, signatures]);
  }

  /** Runs a `running` job to its end and records the outcome; never rejects for a job failure. */
  async function run(job: JobRow, log: Logger): Promise<JobRow> {
    const started = performance.now();
    log.info({ algorithm: job.algorithm, datasetIds: job.datasetIds, attempt: job.attempts }, "job started");
    let timer: NodeJS.Timeout | undefined;
    let finished: JobRow;
    try {
      const deadline = Date.now() + jobTimeoutMs;
      // The hosts get the remaining time as their gRPC deadline; the timer
      // ends the job even if a call ignores it.
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new JobTimeoutError(job.requestId, jobTimeoutMs)), jobTimeoutMs);
      });
      const payload = await Promise.race([execute(job, deadline), timeout]);
      finished = store.complete(job.requestId, payload, now());
      log.info({ ms: Math.round(performance.now() - started) }, "job completed");
    } catch (err) {
      const error = toJobError(err);
      finished = store.fail(job.requestId, error, now());
      if (error.statusCode >= 500) log.error({ err, code: error.code, retryable: error.retryable }, "job failed");
      else log.warn({ code: error.code, error: error.message }, "job refused");
    } finally {
      clearTimeout(timer);
    }
    const outcome = finished.state;
    metrics.jobsFinished.inc({ outcome });
    metrics.jobDuration.observe({ outcome }, (performance.now() - started) / 1000);
    try {
      deps.onFinished?.(finished);
    } catch (err) {
      log.error({ err }, "delivering the finished job failed");
    }
    return finished;
  }

  function track(key: string, admitted: Promise<JobRow>, finished: Promise<JobRow>): void {
    const entry = { admitted, finished };
    active.set(key, entry);
    const forget = (): void => {
      if (active.get(key) === entry) active.delete(key);
    };
    finished.then(forget, forget);
  }

  return {
    async submit(submission, log) {
      const key = submission.data.requestId.toLowerCase();
      const current = active.get(key);
      if (current) {
        // Another call admitted (or is admitting) this request: join it.
        const job = await current.admitted;
        const diff = differences(job, submission.data);
        if (diff.length > 0) throw new RequestIdReusedError(key, diff);
        const latest = store.get(key)!;
        // Read and written with no await in between: a job that is still
        // running here finishes later and then delivers this callback too; one
        // that has finished is answered by the caller directly.
        if (submission.callback && latest.state === "running") {
          store.addCallback(key, submission.callback.url, submission.callback.jobRunID, now());
        }
        log.info({ attempt: job.attempts, state: latest.state }, "job already admitted; joining it");
        return { job: latest, finished: current.finished };
      }

      const stored = store.get(key);
      if (stored) {
        const diff = differences(stored, submission.data);
        if (diff.length > 0) throw new RequestIdReusedError(key, diff);
        if (isFinal(stored)) {
          log.info({ state: stored.state }, "job already finished; answering from the store");
          return { job: stored, finished: Promise.resolve(stored) };
        }
      }

      // A new job, or one to run again: admission (on-chain check, durable
      // row) and run are tracked at once, so that concurrent calls join.
      let resolveAdmitted!: (job: JobRow) => void;
      let rejectAdmitted!: (err: unknown) => void;
      const admitted = new Promise<JobRow>((resolve, reject) => {
        resolveAdmitted = resolve;
        rejectAdmitted = reject;
      });
      admitted.catch(() => {});
      const finished = (async (): Promise<JobRow> => {
        let job: JobRow;
        try {
          if (stored?.state === "running") {
            // Left running by a crashed process and not resumed yet: it was checked when admitted.
            job = stored;
          } else {
            await checker.check(submission.data, deps.chainTimeoutMs);
            job = stored
              ? store.restart(key, now())
              : store.insert(inputsOf(submission.data), now(), submission.callback);
          }
          if (stored && submission.callback) store.addCallback(key, submission.callback.url, submission.callback.jobRunID, now());
        } catch (err) {
          rejectAdmitted(err);
          throw err;
        }
        resolveAdmitted(job);
        return run(job, log);
      })();
      finished.catch(() => {});
      track(key, admitted, finished);
      const job = await admitted;
      if (stored) log.info({ attempt: job.attempts, previous: stored.error?.code }, "job failed before; running it again");
      return { job, finished };
    },

    resume() {
      for (const job of store.running()) {
        const key = job.requestId;
        if (active.has(key)) continue;
        const log = deps.logger.child({ requestId: job.requestId });
        log.info({ attempt: job.attempts }, "resuming a job left running by a previous bridge process");
        // Not checked on-chain again: it was when admitted. The hosts answer a
        // repeated Compute from their own state (see README "Resume after a crash").
        const finished = run(job, log);
        track(key, Promise.resolve(job), finished);
      }
    },

    async drain() {
      await Promise.allSettled([...active.values()].map((a) => a.finished));
    },
  };
}
