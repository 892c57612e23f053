import { MpcError } from "../errors.ts";

/** One protocol message between hosts. */
export interface MailboxMessage {
  jobId: string;
  step: number;
  fromHost: number;
  payload: Buffer;
}

/**
 * Inbox of protocol messages, keyed by (jobId, step, fromHost). Per job and
 * sending host, steps arrive in increasing order: the channel keeps each
 * sender's messages in order, so a lower step (not already held) is a
 * reordering, and is refused.
 */
export interface PeerMailbox {
  /**
   * Accepts a message, possibly before the local job has started.
   *
   * @throws MpcError `PEER_DUPLICATE` if the key was already delivered
   * @throws MpcError `PEER_OUT_OF_ORDER` if a higher step from that host already arrived for the job
   */
  deliver(message: MailboxMessage): void;
  /**
   * Waits for the message with this key until `deadline` (epoch ms) or `signal` aborts.
   *
   * @throws MpcError `PEER_TIMEOUT` naming the host that did not send
   */
  receive(key: { jobId: string; step: number; fromHost: number }, until: { deadline: number; signal?: AbortSignal }): Promise<Buffer>;
  /**
   * Forgets a job's messages and which ones were taken, once its run ended
   * (finished, failed or replayed). Later ones are taken afresh: a job runs
   * again (a retry, or a replay for a peer that crashed) only from its first
   * step, and then every host's messages are needed again.
   */
  finish(jobId: string): void;
  /** Stops the sweeper and forgets every message; pending receives end by their deadline or signal. */
  close(): void;
}

interface Slot {
  payload?: Buffer;
  /** The job took the message: its bytes are dropped, the key is remembered (a resend is a duplicate). */
  consumed?: boolean;
  arrivedAt: number;
  waiters: Set<{ resolve: (payload: Buffer) => void }>;
}

/**
 * Creates an in-memory mailbox. A message's bytes are dropped as soon as the
 * job takes it (a job's traffic can be many times its inputs: it is never
 * all held at once); messages for jobs that never start are swept after
 * `retentionMs`. It is not durable: a host that restarts has lost it, and its
 * peers run the job again from the start for it (a finished peer replays its
 * messages when the job is asked for again).
 *
 * @example
 * const mailbox = createPeerMailbox({ retentionMs: 300_000 });
 * const seed = await mailbox.receive({ jobId, step: 0, fromHost: 2 }, { deadline: Date.now() + 30_000 });
 */
export function createPeerMailbox(options: { retentionMs: number; now?: () => number }): PeerMailbox {
  const now = options.now ?? Date.now;
  const slots = new Map<string, Slot>();
  // Highest step delivered per (jobId, fromHost), for the order check.
  const highest = new Map<string, { step: number; at: number }>();
  const keyOf = (jobId: string, step: number, fromHost: number): string =>
    `${jobId.toLowerCase()}/${step}/${fromHost}`;

  const sweeper = setInterval(() => {
    const cutoff = now() - options.retentionMs;
    for (const [key, slot] of slots) if (slot.waiters.size === 0 && slot.arrivedAt < cutoff) slots.delete(key);
    for (const [key, h] of highest) if (h.at < cutoff) highest.delete(key);
  }, Math.max(1000, Math.floor(options.retentionMs / 4)));
  sweeper.unref();

  return {
    deliver(message) {
      const jobId = message.jobId.toLowerCase();
      const duplicate = (why: string): MpcError =>
        new MpcError("PEER_DUPLICATE", `message (job ${jobId}, step ${message.step}, from host ${message.fromHost}) refused: ${why}`, {
          details: { jobId, step: message.step, fromHost: message.fromHost },
        });
      const key = keyOf(jobId, message.step, message.fromHost);
      const slot = slots.get(key) ?? { arrivedAt: now(), waiters: new Set() };
      if (slot.payload !== undefined || slot.consumed) throw duplicate("already delivered");
      const senderKey = `${jobId}/${message.fromHost}`;
      const last = highest.get(senderKey);
      if (last !== undefined && last.step > message.step) {
        throw new MpcError(
          "PEER_OUT_OF_ORDER",
          `message (job ${jobId}, step ${message.step}, from host ${message.fromHost}) refused: step ${last.step} from that host already arrived`,
          { details: { jobId, step: message.step, fromHost: message.fromHost, highestStep: last.step } },
        );
      }
      highest.set(senderKey, { step: message.step, at: now() });
      slot.arrivedAt = now();
      slots.set(key, slot);
      if (slot.waiters.size > 0) {
        slot.consumed = true;
        for (const waiter of slot.waiters) waiter.resolve(message.payload);
        slot.waiters.clear();
      } else {
        slot.payload = message.payload;
      }
    },

    receive({ jobId, step, fromHost }, { deadline, signal }) {
      const key = keyOf(jobId, step, fromHost);
      const slot = slots.get(key) ?? { arrivedAt: now(), waiters: new Set() };
      slots.set(key, slot);
      if (slot.payload !== undefined) {
        const payload = slot.payload;
        slot.payload = undefined;
        slot.consumed = true;
        return Promise.resolve(payload);
      }
      return new Promise<Buffer>((resolve, reject) => {
        const waiter = {
          resolve: (payload: Buffer) => {
            cleanup();
            resolve(payload);
          },
        };
        const fail = (err: unknown): void => {
          cleanup();
          slot.waiters.delete(waiter);
          reject(err);
        };
        const onAbort = (): void => fail(signal?.reason);
        const timer = setTimeout(
          () =>
            fail(
              new MpcError("PEER_TIMEOUT", `no step-${step} message from host ${fromHost} for job ${jobId} before the job deadline`, {
                details: { jobId, step, missingHost: fromHost },
              }),
            ),
          Math.max(0, deadline - now()),
        );
        const cleanup = (): void => {
          clearTimeout(timer);
          signal?.removeEventListener("abort", onAbort);
        };
        if (signal?.aborted) return onAbort();
        signal?.addEventListener("abort", onAbort, { once: true });
        slot.waiters.add(waiter);
      });
    },

    finish(jobId) {
      const id = jobId.toLowerCase();
      for (const key of slots.keys()) if (key.startsWith(`${id}/`)) slots.delete(key);
      for (const key of highest.keys()) if (key.startsWith(`${id}/`)) highest.delete(key);
    },

    close() {
      clearInterval(sweeper);
      slots.clear();
      highest.clear();
    },
  };
}
