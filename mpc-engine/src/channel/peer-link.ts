import { connect, type ConnectionOptions, type TLSSocket } from "node:tls";
import type { PeerAck } from "@scmpc/protos";
import { MpcError, type MpcErrorCode } from "../errors.ts";
import { DEFAULT_CHUNK_BYTES, encodePeerFrame, HELLO_JOB_ID, MAX_CHUNK_BYTES, toFrames, type ChannelMessage } from "./frames.ts";
import type { PeerBoots } from "./peer-boots.ts";
import { createRecordReader, hostAndPort, KEEPALIVE_MS, MAX_ACK_BYTES, peerCodec, writeRecord } from "./peer-wire.ts";

/** The sending half of the channel to one peer host. */
export interface PeerLink {
  /**
   * Sends one message and resolves once the peer acknowledged it, or already
   * held it (PEER_DUPLICATE: messages are deterministic per key, so a resend
   * after a lost ack is harmless). Messages go out one at a time in call
   * order, so per request a peer sees steps in the order they were sent.
   *
   * @throws MpcError `PEER_UNAVAILABLE` (never reached before `deadline`), `PEER_TIMEOUT`
   *   (reached but not acknowledged before `deadline`) or `PEER_REJECTED` (refused), each naming the host
   */
  send(message: ChannelMessage, deadline: number, signal?: AbortSignal): Promise<void>;
  /**
   * Sends a hello (an empty message of the {@link HELLO_JOB_ID} job) so the
   * peer learns this process's boot id; retried until `deadline`, never thrown.
   */
  hello(deadline: number): Promise<void>;
  /** Ends the connection; pending sends fail with `HOST_CLOSING`. */
  close(): void;
}

/** Options of {@link createPeerLink}. */
export interface PeerLinkOptions {
  /** This host's index, sent as the claimed sender (the peer checks it against the certificate). */
  fromHost: number;
  /** The peer's index, for errors. */
  toHost: number;
  /** `host:port` of the peer's Peer port. */
  address: string;
  /** Mutual-TLS options pinning the peer's certificate (`peerClientTlsOptions`). */
  tls: ConnectionOptions;
  /** Data bytes per frame (default {@link DEFAULT_CHUNK_BYTES}, at most {@link MAX_CHUNK_BYTES}). */
  chunkBytes?: number;
  /** A connection idle this long is closed; the next message opens a new one. */
  idleMs?: number;
  /** This process's boot id (sent in every frame) and the registry of the peers' (read from every ack). */
  boots: PeerBoots;
}

interface Pending {
  message: ChannelMessage;
  deadline: number;
  signal?: AbortSignal;
  resolve: () => void;
  reject: (err: unknown) => void;
  onAbort?: () => void;
}

interface OpenStream {
  socket: TLSSocket;
  /** Resolves once the peer greeted this connection (it authenticated this host and is reading). */
  ready: Promise<void>;
  greeted: boolean;
  /** Rejects once the connection is over for any reason. */
  broken: Promise<never>;
  /** Resolves with the ack of a message id. */
  acks: Map<number, (ack: PeerAck) => void>;
  brokenBy?: Error;
}

/** Refusal by the peer: final, not retried. */
class Refused extends Error {
  constructor(readonly ack: PeerAck) {
    super(ack.errorMessage);
  }
}

/** The peer refused the connection itself (its certificate's host, a malformed frame): final, not retried. */
class ConnectionRefused extends Refused {}

const RETRY_BACKOFF_MAX_MS = 500;

/**
 * Opens the channel to one peer: a mutual-TLS connection to its Peer port,
 * opened on first use, carrying messages as records of frames
 * (peer-wire.ts) and reopened after a broken one, the message resent, until
 * the message's deadline. Idle connections are closed.
 *
 * @example
 * const link = createPeerLink({ fromHost: 0, toHost: 1, address: "127.0.0.1:7102", tls: peerClientTlsOptions(peerTls, 1), boots });
 * await link.send({ jobId, step: 0, payload }, Date.now() + 30_000);
 */
export function createPeerLink(options: PeerLinkOptions): PeerLink {
  const { fromHost, toHost } = options;
  const chunkBytes = Math.min(options.chunkBytes ?? DEFAULT_CHUNK_BYTES, MAX_CHUNK_BYTES);
  const idleMs = options.idleMs ?? 15_000;
  const { host, port } = hostAndPort(options.address);
  const { decodeAck } = peerCodec();
  const queue: Pending[] = [];
  let stream: OpenStream | undefined;
  let nextMessageId = 1;
  let pumping = false;
  let idleTimer: NodeJS.Timeout | undefined;
  let closed = false;
  /** Whether the last connection opened was greeted by the peer: a stalled peer then times out, one never reached is unavailable. */
  let lastGreeted = false;
  /** Aborts a hello still being sent: a real message carries the boot id as well, and must not wait behind it. */
  let helloController: AbortController | undefined;

  const error = (code: MpcErrorCode, message: string, cause?: unknown, details: Record<string, unknown> = {}): MpcError =>
    new MpcError(code, message, { cause, details: { host: toHost, ...details } });

  const dropStream = (how: "end" | "cancel"): void => {
    const s = stream;
    stream = undefined;
    if (!s) return;
    if (how === "end") s.socket.end();
    else s.socket.destroy();
  };

  const openStream = (): OpenStream => {
    if (stream && !stream.brokenBy) return stream;
    dropStream("cancel");
    const socket = connect({ host, port, ...options.tls });
    let breakWith!: (err: Error) => void;
    const broken = new Promise<never>((_, reject) => (breakWith = reject));
    broken.catch(() => {});
    let greet!: () => void;
    const ready = new Promise<void>((resolve) => (greet = resolve));
    const s: OpenStream = { socket, ready, greeted: false, broken, acks: new Map() };
    lastGreeted = false;
    const breakStream = (err: Error): void => {
      if (s.brokenBy) return;
      s.brokenBy = err;
      if (stream === s) stream = undefined;
      socket.destroy();
      breakWith(err);
    };
    const read = createRecordReader(MAX_ACK_BYTES, (bytes) => {
      const ack = decodeAck(bytes);
      if (ack.messageId !== 0) {
        s.acks.get(ack.messageId)?.(ack);
        return;
      }
      // Message 0: the peer's greeting, or its refusal of this connection.
      if (!ack.accepted) throw new ConnectionRefused(ack);
      options.boots.observe(toHost, ack.bootId);
      s.greeted = true;
      lastGreeted = true;
      greet();
    });
    socket.setNoDelay(true);
    socket.setKeepAlive(true, KEEPALIVE_MS);
    socket.on("data", (chunk: Buffer) => {
      try {
        read(chunk);
      } catch (err) {
        breakStream(err as Error);
      }
    });
    socket.on("error", (err) => breakStream(err));
    socket.on("end", () => breakStream(new Error("the peer ended the connection")));
    socket.on("close", () => breakStream(new Error("the connection closed")));
    stream = s;
    return s;
  };

  /** Writes one message's frames and waits for its ack, the stream breaking, the deadline or the signal. */
  const transmit = async (s: OpenStream, p: Pending): Promise<PeerAck> => {
    const messageId = nextMessageId++;
    const frames = toFrames({ messageId, fromHost, message: p.message, chunkBytes, bootId: options.boots.own });
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const stop = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new DeadlineReached()), Math.max(0, p.deadline - Date.now()));
      onAbort = () => reject(p.signal?.reason);
      p.signal?.addEventListener("abort", onAbort, { once: true });
    });
    stop.catch(() => {});
    const acked = new Promise<PeerAck>((resolve) => s.acks.set(messageId, resolve));
    try {
      if (!s.greeted) await Promise.race([s.ready, s.broken, stop]);
      for (const frame of frames) {
        if (s.brokenBy) throw s.brokenBy;
        if (!writeRecord(s.socket, encodePeerFrame(frame))) {
          await Promise.race([new Promise<void>((resolve) => s.socket.once("drain", resolve)), s.broken, stop]);
        }
      }
      const ack = await Promise.race([acked, s.broken, stop]);
      options.boots.observe(toHost, ack.bootId, p.message.jobId === HELLO_JOB_ID ? undefined : p.message.jobId);
      return ack;
    } finally {
      clearTimeout(timer);
      if (onAbort) p.signal?.removeEventListener("abort", onAbort);
      s.acks.delete(messageId);
    }
  };

  const deliverOne = async (p: Pending): Promise<void> => {
    const { jobId, step } = p.message;
    const what = `the step-${step} message of job ${jobId}`;
    let backoff = 50;
    let lastError: unknown;
    for (;;) {
      if (closed) throw error("HOST_CLOSING", "host is shutting down");
      if (p.signal?.aborted) throw p.signal.reason;
      if (Date.now() >= p.deadline) {
        // Connected but silent is a stalled peer; no connection is an unreachable one.
        throw lastGreeted
          ? error("PEER_TIMEOUT", `host ${toHost} did not acknowledge ${what} before the job deadline`, lastError, { jobId, step })
          : error("PEER_UNAVAILABLE", `host ${toHost} could not be reached with ${what} before the job deadline: ${describe(lastError)}`, lastError, {
              jobId,
              step,
            });
      }
      const s = openStream();
      try {
        const ack = await transmit(s, p);
        if (ack.accepted) return;
        throw new Refused(ack);
      } catch (err) {
        if (err instanceof ConnectionRefused) {
          // The peer refused the connection (identity, malformed frames): resending cannot help.
          throw error("PEER_REJECTED", `host ${toHost} ended the connection carrying ${what}: ${err.ack.errorCode}: ${err.ack.errorMessage}`, undefined, {
            jobId,
            step,
            peerCode: err.ack.errorCode,
          });
        }
        if (err instanceof Refused) {
          if (err.ack.errorCode === "PEER_DUPLICATE") return;
          throw error("PEER_REJECTED", `host ${toHost} refused ${what}: ${err.ack.errorCode}: ${err.ack.errorMessage}`, undefined, {
            jobId,
            step,
            peerCode: err.ack.errorCode,
          });
        }
        if (err instanceof DeadlineReached || p.signal?.aborted) {
          // Part of the message may be on the connection: it cannot carry another.
          if (stream === s) dropStream("cancel");
          continue;
        }
        lastError = err;
        if (stream === s) dropStream("cancel");
      }
      await sleep(Math.min(backoff, Math.max(0, p.deadline - Date.now())), p.signal);
      backoff = Math.min(backoff * 2, RETRY_BACKOFF_MAX_MS);
    }
  };

  const pump = async (): Promise<void> => {
    if (pumping) return;
    pumping = true;
    clearTimeout(idleTimer);
    try {
      while (queue.length > 0) {
        const p = queue[0];
        try {
          await deliverOne(p);
          p.resolve();
        } catch (err) {
          p.reject(err);
        } finally {
          queue.shift();
          if (p.onAbort) p.signal?.removeEventListener("abort", p.onAbort);
        }
      }
    } finally {
      pumping = false;
      idleTimer = setTimeout(() => dropStream("end"), idleMs);
      idleTimer.unref();
    }
  };

  return {
    send(message, deadline, signal) {
      if (closed) return Promise.reject(error("HOST_CLOSING", "host is shutting down"));
      if (message.jobId !== HELLO_JOB_ID) helloController?.abort(new Error("a protocol message superseded the hello"));
      if (signal?.aborted) return Promise.reject(signal.reason);
      return new Promise<void>((resolve, reject) => {
        const p: Pending = { message, deadline, signal, resolve, reject };
        if (signal) {
          // A queued (not yet sending) message leaves the queue on abort; the one in flight is stopped by transmit().
          p.onAbort = () => {
            const at = queue.indexOf(p);
            if (at > 0) {
              queue.splice(at, 1);
              reject(signal.reason);
            }
          };
          signal.addEventListener("abort", p.onAbort, { once: true });
        }
        queue.push(p);
        void pump();
      });
    },
    async hello(deadline) {
      // A hello is one frame of no data; a peer that is down now learns the
      // boot id from the first real message instead.
      const controller = new AbortController();
      helloController = controller;
      await this.send({ jobId: HELLO_JOB_ID, step: 0, payload: Buffer.alloc(0) }, deadline, controller.signal).catch(() => undefined);
      if (helloController === controller) helloController = undefined;
    },
    close() {
      closed = true;
      clearTimeout(idleTimer);
      dropStream("cancel");
    },
  };
}

class DeadlineReached extends Error {}

function describe(err: unknown): string {
  if (err === undefined) return "no connection attempt finished";
  return (err as Error).message ?? String(err);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
