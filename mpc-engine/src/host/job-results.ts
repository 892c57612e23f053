import { mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import type { ComputeResponse } from "@scmpc/protos";
import { MpcError } from "../errors.ts";
import { writeDurably } from "./share-store.ts";

/** A finished job as the host answered it. */
export interface FinishedJob {
  /** What the job was asked (its canonical JSON): a rerun must ask the same. */
  fingerprint: string;
  response: ComputeResponse;
}

/** The host's durable record of finished jobs, so that its answer survives a restart. */
export interface JobResults {
  get(requestId: string): Promise<FinishedJob | undefined>;
  /** Resolves once the record is on disk. */
  put(requestId: string, job: FinishedJob): Promise<void>;
}

/**
 * Finished jobs in `dataDir/results/<requestId>.json`, written durably
 * before the host answers. A host restarted after answering answers a
 * repeated Compute (the bridge resuming a job) and SignResult exactly as
 * before, so the three envelopes, and the signatures over them, stay the same.
 *
 * @example
 * const results = createJobResults(config.dataDir);
 * await results.put(requestId, { fingerprint, response });
 */
export function createJobResults(dataDir: string): JobResults {
  const dir = path.join(dataDir, "results");
  const file = (requestId: string): string => {
    if (!/^0x[0-9a-f]{64}$/.test(requestId)) throw new MpcError("INVALID_ARGUMENT", `not a request id: ${requestId}`);
    return path.join(dir, `${requestId}.json`);
  };
  let made: Promise<unknown> | undefined;
  return {
    async get(requestId) {
      let text: string;
      try {
        text = await readFile(file(requestId), "utf8");
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
        throw new MpcError("STORE_IO", `cannot read the result of ${requestId}`, { cause: err });
      }
      const stored = JSON.parse(text) as { fingerprint: string; response: { requestId: string; hostIndex: number; encryptedOutput: string } };
      return {
        fingerprint: stored.fingerprint,
        response: { ...stored.response, encryptedOutput: Buffer.from(stored.response.encryptedOutput, "base64") },
      };
    },
    async put(requestId, job) {
      await (made ??= mkdir(dir, { recursive: true, mode: 0o700 }));
      const body = {
        fingerprint: job.fingerprint,
        response: { ...job.response, encryptedOutput: Buffer.from(job.response.encryptedOutput).toString("base64") },
      };
      await writeDurably(dir, file(requestId), Buffer.from(JSON.stringify(body)));
    },
  };
}
