import { AbiCoder } from "ethers";
import { packResult } from "@scmpc/mpc-engine";
import type { FastifyBaseLogger as Logger } from "fastify";
import type { HostsClient } from "./hosts-client.ts";
import type { ComputationData } from "./schemas.ts";

/** Runs MPC jobs, at most one per on-chain request id. */
export interface JobRunner {
  /**
   * Resolves to the on-chain payload (0x-hex) of the request's job —
   * abi.encode(bytes result, bytes[3] signatures) — starting the job only if
   * it is not running or done.
   */
  run(data: ComputationData, log: Logger): Promise<string>;
}

const COMPLETED_CACHE_SIZE = 10_000;

/**
 * Keys jobs by the on-chain `requestId`: a repeated call for a request that
 * is running joins it, and one that is done gets the same answer, so a
 * retried bridge call never starts a second MPC run in this process.
 *
 * @example
 * const jobs = createJobRunner(hosts, 60_000);
 * const result = await jobs.run(data, log);
 */
export function createJobRunner(hosts: HostsClient, computeTimeoutMs: number): JobRunner {
  const running = new Map<string, Promise<string>>();
  const completed = new Map<string, string>();

  async function execute(data: ComputationData, log: Logger): Promise<string> {
    const started = performance.now();
    log.info({ algorithm: data.algorithm, datasetIds: data.datasetIds }, "job started");
    const envelopes = await hosts.compute(
      {
        requestId: data.requestId,
        algorithm: data.algorithm,
        datasetIds: data.datasetIds.split(","),
        params: data.params,
        buyerKey: data.buyerKey,
        consumer: data.consumer,
      },
      computeTimeoutMs,
    );
    const result = packResult(envelopes);
    // The contract accepts the result only with all three hosts' signatures
    // over (requestId, keccak256(result)); each host signs only if its own
    // envelope is in it unchanged.
    const signatures = await hosts.signResult(data.requestId, result, computeTimeoutMs);
    const payload = AbiCoder.defaultAbiCoder().encode(["bytes", "bytes[3]"], [result, signatures]);
    log.info({ ms: Math.round(performance.now() - started) }, "job completed");
    return payload;
  }

  return {
    run(data, log) {
      const key = data.requestId.toLowerCase();
      const done = completed.get(key);
      if (done !== undefined) {
        log.info("job already completed; answering from the completed jobs");
        return Promise.resolve(done);
      }
      const inFlight = running.get(key);
      if (inFlight) {
        log.info("job already running; joining it");
        return inFlight;
      }
      const job = execute(data, log)
        .then((result) => {
          completed.set(key, result);
          if (completed.size > COMPLETED_CACHE_SIZE) completed.delete(completed.keys().next().value as string);
          return result;
        })
        .finally(() => running.delete(key));
      running.set(key, job);
      return job;
    },
  };
}
