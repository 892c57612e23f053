import { MpcError } from "../errors.ts";

/** One protocol message between hosts. */
export interface MailboxMessage {
  requestId: string;
  step: number;
  fromHost: number;
  payload: Buffer;
}

/**
 * Inbox of protocol messages, keyed by (requestId, step, fromHost). Per
 * request and sending host, steps arrive in increasing order: the channel
 * keeps each sender's messages in order, so a lower step is a replay or a
 * reordering, and is refused.
 */
export interface PeerMailbox {
  /**
   * Accepts a message, possibly before the local job has started.
   *
   * @throws MpcError `PEER_DUPLICATE` if the key was already delivered or the request is finished
   * @throws MpcError `PEER_OUT_OF_ORDER` if a higher step from that host already arrived for the request
   */
  deliver(message: MailboxMessage): void;
  /**
   * Waits for the message with this key until `deadline` (epoch ms) or `signal` aborts.
   *
   * @throws MpcError `PEER_TIMEOUT` naming the host that did not send
   */
  receive(key: { requestId: string; step: number; fromHost: number }, until: { deadline: number; signal?: AbortSignal }): Promise<Buffer>;
  /** Drops a successfully finished request's messages and refuses later ones for it. */
  finish(requestId: string): void;
  /** Stops the sweeper and forgets every message; pending receives end by their deadline or signal. */
  close(): void;
}

interface Slot {
  payload?: Buffer;
  arrivedAt: number;
  waiters: Set<{ resolve: (payload: Buffer) => void }>;
}

/**
 * Creates an in-memory mailbox. Messages of jobs that failed are kept (a
 * retried Compute can still use them: peers that finished will not resend)
 * and swept after `retentionMs`, as are messages for jobs that never start.
 *
 * @example
 * const mailbox = createPeerMailbox({ retentionMs: 300_000 });
 * const seed = await mailbox.receive({ requestId, step: 0, fromHost: 2 }, { deadline: Date.now() + 30_000 });
 */
export function createPeerMailbox(options: { retentionMs: number; now?: () => number }): PeerMailbox {
  const now = options.now ?? Date.now;
  const slots = new Map<string, Slot>();
  const finished = new Map<string, number>();
  // Highest step delivered per (requestId, fromHost), for the order check.
  const highest = new Map<string, { step: number; at: number }>();
  const keyOf = (requestId: string, step: number, fromHost: number): string =>
    `${requestId.toLowerCase()}/${step}/${fromHost}`;

  const sweeper = setInterval(() => {
    const cutoff = now() - options.retentionMs;
    for (const [key, slot] of slots) if (slot.waiters.size === 0 && slot.arrivedAt < cutoff) slots.delete(key);
    for (const [id, at] of finished) if (at < cutoff) finished.delete(id);
    for (const [key, h] of highest) if (h.at < cutoff) highest.delete(key);
  }, Math.max(1000, Math.floor(options.retentionMs / 4)));
  sweeper.unref();

  return {
    deliver(message) {
      const requestId = message.requestId.toLowerCase();
      const duplicate = (why: string): MpcError =>
        new MpcError("PEER_DUPLICATE", `message (request ${requestId}, step ${message.step}, from host ${message.fromHost}) refused: ${why}`, {
          details: { requestId, step: message.step, fromHost: message.fromHost },
        });
      if (finished.has(requestId)) throw duplicate("the request is already finished");
      const key = keyOf(requestId, message.step, message.fromHost);
      const slot = slots.get(key) ?? { arrivedAt: now(), waiters: new Set() };
      if (slot.payload !== undefined) throw duplicate("already delivered");
      const senderKey = `${requestId}/${message.fromHost}`;
      const last = highest.get(senderKey);
      if (last !== undefined && last.step > message.step) {
        throw new MpcError(
          "PEER_OUT_OF_ORDER",
          `message (request ${requestId}, step ${message.step}, from host ${message.fromHost}) refused: step ${last.step} from that host already arrived`,
          { details: { requestId, step: message.step, fromHost: message.fromHost, highestStep: last.step } },
        );
      }
      highest.set(senderKey, { step: message.step, at: now() });
      slot.payload = message.payload;
      slot.arrivedAt = now();
      slots.set(key, slot);
      for (const waiter of slot.waiters) waiter.resolve(message.payload);
      slot.waiters.clear();
    },

    receive({ requestId, step, fromHost }, { deadline, signal }) {
      const key = keyOf(requestId, step, fromHost);
      const slot = slots.get(key) ?? { arrivedAt: now(), waiters: new Set() };
      slots.set(key, slot);
      if (slot.payload !== undefined) return Promise.resolve(slot.payload);
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
              new MpcError("PEER_TIMEOUT", `no step-${step} message from host ${fromHost} for request ${requestId} before the job deadline`, {
                details: { requestId, step, missingHost: fromHost },
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

    finish(requestId) {
      const id = requestId.toLowerCase();
      for (const key of slots.keys()) if (key.startsWith(`${id}/`)) slots.delete(key);
      for (const key of highest.keys()) if (key.startsWith(`${id}/`)) highest.delete(key);
      finished.set(id, now());
    },

    close() {
      clearInterval(sweeper);
      slots.clear();
      finished.clear();
      highest.clear();
    },
  };
}
