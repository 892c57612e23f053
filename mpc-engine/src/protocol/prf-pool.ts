import { Worker } from "node:worker_threads";
import { MpcError } from "../errors.ts";
import { MAX_DRAW_WORDS } from "./prf-stream.ts";

/** One range of a stream a worker fills: words from `fromWord`, at `byteOffset` of the task's memory. */
export interface PrfRange {
  key: Uint8Array;
  fromWord: number;
  byteOffset: number;
  byteLength: number;
}

/** What a PRF worker is sent: ranges of the streams of one (step, tag), all in one shared memory. */
export interface PrfTask {
  id: number;
  memory: SharedArrayBuffer;
  step: number;
  tag: number;
  ranges: PrfRange[];
}

/** A worker's answer: the task done, or why not. */
export interface PrfTaskDone {
  id: number;
  error?: string;
}

/**
 * Both streams of a draw, filled piece by piece by the worker threads, in
 * memory the pool reuses once the draw is released.
 */
export interface PrfDraw {
  /** The stream shared with the next party (words of a piece are there once it is ready). */
  next: BigUint64Array;
  /** The stream shared with the previous party. */
  prev: BigUint64Array;
  /** Words per piece: piece j is words [j·pieceWords, (j+1)·pieceWords) of both streams. */
  pieceWords: number;
  /** Number of pieces. */
  pieces: number;
  /**
   * Resolves once piece j of both streams is filled.
   *
   * @throws MpcError `INTERNAL` when the worker thread filling it failed or stopped
   */
  ready(piece: number): Promise<void>;
  /** Gives the memory back to the pool: neither stream is read after. */
  release(): void;
}

/**
 * Threads for the local work of a round: the pairwise PRF streams are drawn
 * by worker threads into shared memory, a piece at a time, while the event
 * loop computes the round's cross terms over the pieces already drawn
 * (cross-round.ts), so a round's local work runs on two or more cores. The
 * event loop keeps the channel (TLS, gRPC), which does not spread over
 * threads.
 */
export interface PrfPool {
  /** Threads a round's local work runs on: the event loop and `workers − 1` worker threads drawing the streams. */
  readonly workers: number;
  /** Whether a draw of n words per stream goes to the worker threads (there are some, and n is large enough to pay for the hand-over). */
  takes(n: number): boolean;
  /**
   * Starts drawing the streams shared with the next and with the previous
   * party for (step, tag), n words each: equal, word for word, to drawing
   * them on the event loop. Pieces go to the threads in turn; each starts on
   * a whole AES block. Release the draw when done with it.
   */
  draw(keys: { next: Uint8Array; prev: Uint8Array }, step: number, tag: number, n: number): PrfDraw;
  /** Stops the worker threads; pieces not yet ready are refused. */
  close(): Promise<void>;
}

/**
 * Smallest draw handed to the worker threads, in words per stream (1 MiB
 * of AES for both streams, under a millisecond here): a chosen floor, not
 * a measured crossover; smaller draws stay on the event loop, where a
 * message to a thread and back would be a larger share of the work.
 */
export const MIN_POOLED_WORDS = 1 << 16;

/**
 * Words per piece of a draw: at most 2^17 (1 MiB of each stream, ~1.5 ms
 * of AES), and at least four pieces a draw, so the event loop waits only
 * for the first piece while the messages to the threads cost little.
 */
const MAX_PIECE_WORDS = 1 << 17;
const MIN_PIECES = 4;

/** Words per piece of a draw of n words: even, so every piece starts on a whole AES block. */
function pieceWordsFor(n: number): number {
  return Math.min(MAX_PIECE_WORDS, Math.max(2, 2 * Math.ceil(n / MIN_PIECES / 2)));
}

/**
 * Released draw memories kept for the next draws: a reused memory spares
 * the threads the page faults of 16 MB per 1M-word round. Measured here, a
 * small gain: a 1M-word round's cross terms beside a thread filling the
 * draw took 20–24 ms with the draw in reused memory against 24 ms in fresh
 * (10–11 ms when the loop's own output was reused too, which a round's
 * result cannot be).
 */
const KEPT_MEMORIES = 2;

/** A piece's promise, settled by the worker's answer. */
interface Piece {
  promise: Promise<void>;
  resolve: () => void;
  reject: (err: unknown) => void;
}

function newPiece(): Piece {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A piece nobody waits for (its round failed first) is not an unhandled rejection.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/**
 * Creates the pool (threads start at the first draw that uses them).
 *
 * @param input.workers - threads for a round's local work, ≥ 1: the event
 *   loop and `workers − 1` worker threads; 1 keeps every draw on the event loop
 * @param input.minWords - smallest draw given to the threads (default {@link MIN_POOLED_WORDS})
 * @example
 * const pool = createPrfPool({ workers: availableParallelism() });
 * const party = await setupParty({ index, exchange, prfPool: pool });
 */
export function createPrfPool(input: { workers: number; minWords?: number }): PrfPool {
  const { workers } = input;
  if (!Number.isSafeInteger(workers) || workers < 1) throw new RangeError(`workers must be an integer of at least 1, got ${workers}`);
  const minWords = input.minWords ?? MIN_POOLED_WORDS;
  const threads: (Worker | undefined)[] = Array.from({ length: workers - 1 }, () => undefined);
  /** Task id → its piece and thread. */
  const tasks = new Map<number, { piece: Piece; thread: number }>();
  let nextId = 0;
  let nextThread = 0;
  let closed = false;
  const kept: SharedArrayBuffer[] = [];

  /** Memory for 2n words: the smallest kept one that holds them, else new. */
  const memoryFor = (n: number): SharedArrayBuffer => {
    let best = -1;
    kept.forEach((m, i) => {
      if (m.byteLength >= 16 * n && (best < 0 || m.byteLength < kept[best].byteLength)) best = i;
    });
    return best < 0 ? new SharedArrayBuffer(16 * n) : kept.splice(best, 1)[0];
  };
  const keep = (memory: SharedArrayBuffer): void => {
    if (closed) return;
    kept.push(memory);
    // Keep the largest: a smaller draw fits in them too.
    kept.sort((a, b) => b.byteLength - a.byteLength);
    kept.length = Math.min(kept.length, KEPT_MEMORIES);
  };

  const refuse = (thread: number | undefined, err: MpcError): void => {
    for (const [id, task] of tasks) {
      if (thread !== undefined && task.thread !== thread) continue;
      tasks.delete(id);
      task.piece.reject(err);
    }
  };

  const thread = (k: number): Worker => {
    const existing = threads[k];
    if (existing !== undefined) return existing;
    const worker = new Worker(new URL("./prf-worker.ts", import.meta.url));
    // Idle threads do not keep a process alive; close() ends them.
    worker.unref();
    worker.on("message", (done: PrfTaskDone) => {
      const task = tasks.get(done.id);
      if (task === undefined) return;
      tasks.delete(done.id);
      if (done.error === undefined) task.piece.resolve();
      else task.piece.reject(new MpcError("INTERNAL", `PRF worker thread ${k}: ${done.error}`));
    });
    const failed = (why: string): void => {
      if (threads[k] !== worker) return;
      // Replaced at the next draw that needs it.
      threads[k] = undefined;
      refuse(k, new MpcError("INTERNAL", `PRF worker thread ${k} ${why}`));
    };
    worker.on("error", (err) => failed(`failed: ${err.message}`));
    worker.on("exit", (code) => failed(`exited with code ${code}`));
    threads[k] = worker;
    return worker;
  };

  return {
    workers,
    takes: (n) => workers > 1 && n >= minWords && !closed,
    draw(keys, step, tag, n) {
      if (closed) throw new MpcError("INTERNAL", "PRF pool closed");
      if (workers === 1) throw new MpcError("INTERNAL", "a PRF pool of 1 worker (the event loop) has no threads to draw on");
      if (!Number.isSafeInteger(n) || n < 0 || n > MAX_DRAW_WORDS) throw new RangeError(`PRF draw of ${n} words`);
      const memory = memoryFor(n);
      const pieceWords = pieceWordsFor(n);
      const count = Math.ceil(n / pieceWords);
      const pieces = Array.from({ length: count }, newPiece);
      pieces.forEach((piece, j) => {
        const from = j * pieceWords;
        const to = Math.min(n, from + pieceWords);
        const ranges = [keys.next, keys.prev].map((key, s) => ({ key, fromWord: from, byteOffset: 8 * (s * n + from), byteLength: 8 * (to - from) }));
        const id = nextId++;
        const k = nextThread;
        nextThread = (nextThread + 1) % threads.length;
        tasks.set(id, { piece, thread: k });
        thread(k).postMessage({ id, memory, step, tag, ranges } satisfies PrfTask);
      });
      let released = false;
      return {
        next: new BigUint64Array(memory, 0, n),
        prev: new BigUint64Array(memory, 8 * n, n),
        pieceWords,
        pieces: count,
        ready: (j) => pieces[j].promise,
        release: () => {
          if (released) return;
          released = true;
          // Kept once every piece is written (a round that failed may release
          // while threads still fill it), and not at all if one failed.
          void Promise.all(pieces.map((p) => p.promise)).then(() => keep(memory), () => undefined);
        },
      };
    },
    async close() {
      closed = true;
      kept.length = 0;
      const running = threads.filter((t): t is Worker => t !== undefined);
      threads.fill(undefined);
      refuse(undefined, new MpcError("INTERNAL", "PRF pool closed"));
      await Promise.all(running.map((t) => t.terminate()));
    },
  };
}
