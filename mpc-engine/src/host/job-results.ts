import { mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import type { ComputeResponse } from "@scmpc/protos";
import { MpcError } from "../errors.ts";
import { writeDurably } from "./share-store.ts";

/** A finished job as the host answered it. */
export interface FinishedJob {
  /** The job identity (lowercase 0x bytes32), see job-identity.ts. */
  jobId: string;
  /** The on-chain request the job answers (lowercase) and the contract holding it (checksummed). */
  requestId: string;
  consumer: string;
  /** The block of the request's `ComputationRequested` event (where fulfilment searches start). */
  requestBlock: bigint;
  /** What the job was asked (its canonical JSON): a rerun must ask the same. */
  fingerprint: string;
  /** The answer: the wrapped envelope, never anything that opens it. */
  response: ComputeResponse;
  /** The key that unwraps this host's envelope: secret until the chain shows the request Fulfilled. */
  releaseKey: Buffer;
  /** keccak256 of every packed result this host signed for the job (lowercase 0x). */
  signedResults: string[];
}

/** The host's durable record of finished jobs, so that its answer survives a restart. */
export interface JobResults {
  get(jobId: string): Promise<FinishedJob | undefined>;
  /** Resolves once the record is on disk. */
  put(job: FinishedJob): Promise<void>;
}

interface StoredJob {
  jobId: string;
  requestId: string;
  consumer: string;
  requestBlock: string;
  fingerprint: string;
  response: { requestId: string; hostIndex: number; jobId: string; encryptedOutput: string };
  releaseKey: string;
  signedResults: string[];
}

/**
 * Finished jobs in `dataDir/results/<jobId>.json` (mode 0600: it holds the
 * release key), written durably before the host answers or signs. A host
 * restarted after answering answers a repeated Compute (the bridge resuming a
 * job), SignResult and ReleaseKey exactly as before, so the three envelopes,
 * the signatures over them and the keys that open them stay the same.
 *
 * @example
 * const results = createJobResults(config.dataDir);
 * await results.put(job);
 */
export function createJobResults(dataDir: string): JobResults {
  const dir = path.join(dataDir, "results");
  const file = (jobId: string): string => {
    if (!/^0x[0-9a-f]{64}$/.test(jobId)) throw new MpcError("INVALID_ARGUMENT", `not a job id: ${jobId}`);
    return path.join(dir, `${jobId}.json`);
  };
  let made: Promise<unknown> | undefined;
  return {
    async get(jobId) {
      let text: string;
      try {
        text = await readFile(file(jobId), "utf8");
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
        throw new MpcError("STORE_IO", `cannot read the result of job ${jobId}`, { cause: err });
      }
      const stored = JSON.parse(text) as StoredJob;
      return {
        ...stored,
        requestBlock: BigInt(stored.requestBlock),
        response: { ...stored.response, encryptedOutput: Buffer.from(stored.response.encryptedOutput, "base64") },
        releaseKey: Buffer.from(stored.releaseKey, "hex"),
      };
    },
    async put(job) {
      await (made ??= mkdir(dir, { recursive: true, mode: 0o700 }));
      const body: StoredJob = {
        ...job,
        requestBlock: job.requestBlock.toString(),
        response: { ...job.response, encryptedOutput: Buffer.from(job.response.encryptedOutput).toString("base64") },
        releaseKey: job.releaseKey.toString("hex"),
      };
      await writeDurably(dir, file(job.jobId), Buffer.from(JSON.stringify(body)));
    },
  };
}
