// A PRF worker thread (prf-pool.ts): fills ranges of pairwise PRF streams
// into the shared memory it is handed, and answers with the task's id.
import { parentPort } from "node:worker_threads";
import { fillPrfRange } from "./prf-stream.ts";
import type { PrfTask, PrfTaskDone } from "./prf-pool.ts";

if (parentPort === null) throw new Error("prf-worker.ts runs as a worker thread");
const port = parentPort;
port.on("message", (task: PrfTask) => {
  let done: PrfTaskDone;
  try {
    for (const r of task.ranges) fillPrfRange(r.key, task.step, task.tag, r.fromWord, new Uint8Array(task.memory, r.byteOffset, r.byteLength));
    done = { id: task.id };
  } catch (err) {
    done = { id: task.id, error: err instanceof Error ? err.message : String(err) };
  }
  port.postMessage(done);
});
