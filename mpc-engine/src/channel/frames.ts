import type { PeerFrame } from "@scmpc/protos";
import { MpcError } from "../errors.ts";

/** One protocol message between hosts, as the channel carries it. */
export interface ChannelMessage {
  /** The job (see job-identity.ts); {@link HELLO_JOB_ID} for a hello. */
  jobId: string;
  step: number;
  payload: Buffer;
}

/**
 * The job id of a hello: an empty message a host sends each peer when it
 * starts, so that peers learn its new boot id at once (and stop waiting for
 * messages of jobs it lost) rather than at their next send.
 */
export const HELLO_JOB_ID = `0x${"00".repeat(32)}`;

/**
 * Default chunk size: a round's vector in one frame up to 16 MiB (a million
 * 8-byte elements and then some). Every frame costs grpc-js a serialization,
 * a framing copy and a reassembly on the other side, and a message of many
 * frames one more copy to join them; with the peer windows opened (see
 * peer-server.ts), 1M multiplications between three host processes took
 * 120 ms with 16 MiB frames against 210 ms with 1 MiB ones (README "Host-to-host
 * channel").
 */
export const DEFAULT_CHUNK_BYTES = 16 << 20;
/** Largest chunk a sender may use. */
export const MAX_CHUNK_BYTES = 16 << 20;
/** Largest frame the Peer service accepts: a maximal chunk plus its header fields. */
export const MAX_FRAME_BYTES = MAX_CHUNK_BYTES + (64 << 10);
/** Largest message (sum of its chunks) a host accepts: a few 8-byte vectors of millions of rows. */
export const MAX_MESSAGE_BYTES = 256 << 20;

/**
 * Splits a message into frames of at most `chunkBytes` data each (views of
 * the payload, not copies). An empty payload is one empty frame.
 *
 * @example
 * for (const frame of toFrames({ messageId: 7, fromHost: 0, message, chunkBytes: DEFAULT_CHUNK_BYTES, bootId })) stream.write(frame);
 */
export function toFrames(input: { messageId: number; fromHost: number; message: ChannelMessage; chunkBytes: number; bootId: string }): PeerFrame[] {
  const { messageId, fromHost, message, chunkBytes, bootId } = input;
  const total = message.payload.length;
  if (total > MAX_MESSAGE_BYTES) {
    throw new MpcError("INVALID_ARGUMENT", `a ${total}-byte message exceeds the channel's ${MAX_MESSAGE_BYTES}-byte limit`);
  }
  const chunkCount = Math.max(1, Math.ceil(total / chunkBytes));
  return Array.from({ length: chunkCount }, (_, chunkIndex) => ({
    messageId,
    jobId: message.jobId,
    step: message.step,
    fromHost,
    chunkIndex,
    chunkCount,
    totalLength: total,
    data: message.payload.subarray(chunkIndex * chunkBytes, Math.min(total, (chunkIndex + 1) * chunkBytes)),
    bootId,
  }));
}

/** Reassembles the frames of one stream into messages. */
export interface FrameAssembler {
  /**
   * Takes the stream's next frame; returns the message it completes, if any.
   *
   * @throws MpcError `PEER_PROTOCOL` when frames do not form a message (the stream must end)
   */
  push(frame: PeerFrame): (ChannelMessage & { messageId: number }) | undefined;
}

/**
 * Creates the reassembler of one stream. Frames of a message must arrive
 * back to back, in chunk order, with the same header; anything else is a
 * broken sender, not a message to refuse politely.
 *
 * @example
 * const assembler = createFrameAssembler();
 * const message = assembler.push(frame); // undefined until the last chunk
 */
export function createFrameAssembler(): FrameAssembler {
  let current: { head: PeerFrame; chunks: Buffer[]; received: number } | undefined;
  let lastMessageId = 0;
  const broken = (why: string): MpcError => new MpcError("PEER_PROTOCOL", `malformed frame stream: ${why}`);

  return {
    push(frame) {
      if (current === undefined) {
        if (frame.chunkIndex !== 0) throw broken(`message ${frame.messageId} starts at chunk ${frame.chunkIndex}`);
        if (frame.messageId <= lastMessageId) throw broken(`message id ${frame.messageId} does not increase (last ${lastMessageId})`);
        if (frame.chunkCount < 1 || frame.totalLength > MAX_MESSAGE_BYTES) {
          throw broken(`message ${frame.messageId} declares ${frame.chunkCount} chunks of ${frame.totalLength} bytes in all`);
        }
        lastMessageId = frame.messageId;
        current = { head: frame, chunks: [], received: 0 };
      } else {
        const h = current.head;
        if (
          frame.messageId !== h.messageId ||
          frame.jobId !== h.jobId ||
          frame.step !== h.step ||
          frame.fromHost !== h.fromHost ||
          frame.chunkCount !== h.chunkCount ||
          frame.totalLength !== h.totalLength ||
          frame.chunkIndex !== current.chunks.length
        ) {
          throw broken(`frame (message ${frame.messageId}, chunk ${frame.chunkIndex}) interrupts message ${h.messageId} at chunk ${current.chunks.length}`);
        }
      }
      current.chunks.push(frame.data);
      current.received += frame.data.length;
      if (current.received > current.head.totalLength) throw broken(`message ${frame.messageId} exceeds its declared ${current.head.totalLength} bytes`);
      if (current.chunks.length < current.head.chunkCount) return undefined;
      const { head, chunks, received } = current;
      current = undefined;
      if (received !== head.totalLength) throw broken(`message ${head.messageId} has ${received} of its declared ${head.totalLength} bytes`);
      return {
        messageId: head.messageId,
        jobId: head.jobId,
        step: head.step,
        payload: chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, received),
      };
    },
  };
}
