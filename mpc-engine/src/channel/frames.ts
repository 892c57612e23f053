import type { PeerFrame } from "@scmpc/protos";
import { MpcError } from "../errors.ts";
import { markPrefixRoom, RECORD_PREFIX_BYTES } from "./peer-wire.ts";

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
 * 8-byte elements and then some). A message of many frames costs the
 * receiver one more copy to join them, and each frame its own record and
 * header (README "Host-to-host channel").
 */
export const DEFAULT_CHUNK_BYTES = 16 << 20;
/** Largest chunk a sender may use. */
export const MAX_CHUNK_BYTES = 16 << 20;
/** Largest frame the Peer port accepts: a maximal chunk plus its header fields. */
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

/** Field numbers of PeerFrame (host_peer.proto). */
const FIELD = { messageId: 1, jobId: 2, step: 3, fromHost: 4, chunkIndex: 5, chunkCount: 6, totalLength: 7, data: 8, bootId: 9, align: 10 } as const;

/**
 * Bytes kept free before a payload made by {@link allocatePayload}: room for
 * a record's prefix and every field of a frame that comes before its data (a
 * frame's header is about 170 bytes: numbers, a 66-character job id, a boot
 * id). A multiple of 8, so the payload's words are aligned.
 */
const PAYLOAD_ROOM_BYTES = 256;
/** Payload buffers whose room before the payload no frame has used yet: the buffer, and where its payload starts. */
const unusedRoom = new WeakMap<ArrayBufferLike, number>();

/**
 * A buffer for an outgoing payload of `bytes` bytes, with room before it for
 * the frame's header: {@link encodePeerFrame} writes the header there and
 * sends the frame as a view of this memory instead of copying the payload
 * into a new buffer. A protocol round fills it with what it sends (its
 * masked cross terms) and keeps it as its share; the payload must not change
 * until the send is acknowledged. The room serves one frame: a resend, or a
 * second send of the same payload, copies.
 *
 * @example
 * const payload = allocatePayload(8 * n); // then fill, and send it as one message
 */
export function allocatePayload(bytes: number): Buffer {
  // Zero-filled, fresh memory: a round that left a word unwritten would send a zero, never bytes of
  // memory this process used before (another job's shares). For megabytes it is mapped zero pages, no memset.
  const whole = Buffer.from(new ArrayBuffer(PAYLOAD_ROOM_BYTES + bytes));
  unusedRoom.set(whole.buffer, PAYLOAD_ROOM_BYTES);
  return whole.subarray(PAYLOAD_ROOM_BYTES);
}

/** Takes the unused room before `data` for `headerBytes` of a frame (true), or says there is none (false). */
function takeRoom(data: Uint8Array, headerBytes: number): boolean {
  const start = unusedRoom.get(data.buffer);
  if (start === undefined || data.byteOffset !== start || headerBytes + RECORD_PREFIX_BYTES > start) return false;
  unusedRoom.delete(data.buffer);
  return true;
}

/** Bytes of a protobuf varint of an unsigned 32-bit value. */
function varintBytes(n: number): number {
  return n < 1 << 7 ? 1 : n < 1 << 14 ? 2 : n < 1 << 21 ? 3 : n < 1 << 28 ? 4 : 5;
}

/**
 * A PeerFrame in protobuf bytes: its numbers, job id and boot id, then
 * `align` with as many bytes (0 to 7) as put `data`, which comes last, at a
 * multiple of 8 bytes into the record the receiver reads (its 5-byte
 * prefix included, peer-wire.ts). The receiver decodes `data` as a view of that
 * message, so it can read the payload's 64-bit words where they arrived
 * rather than copy them to an aligned buffer: one copy of every round's
 * vector fewer. Any protobuf decoder reads the same frame (fields may come
 * in any order; `align` is ignored).
 *
 * When `data` was made by {@link allocatePayload} and its room is unused,
 * the header is written into that room and the frame is a view of the
 * payload's memory, with room left before it for the record's prefix
 * (peer-wire.ts): the payload goes from the round that computed it to
 * TLS without a copy.
 *
 * @example
 * const bytes = encodePeerFrame(toFrames({ messageId: 1, fromHost: 0, message, chunkBytes, bootId })[0]);
 */
export function encodePeerFrame(frame: PeerFrame): Buffer {
  const jobId = Buffer.from(frame.jobId, "utf8");
  const bootId = Buffer.from(frame.bootId, "utf8");
  const data = frame.data;
  // proto3: fields at their default (0, empty) are not written.
  const numbers = (["messageId", "step", "fromHost", "chunkIndex", "chunkCount", "totalLength"] as const).filter((f) => frame[f] !== 0);
  const stringField = (b: Buffer): number => (b.length > 0 ? 1 + varintBytes(b.length) + b.length : 0);
  const head = numbers.reduce((n, f) => n + 1 + varintBytes(frame[f]), 0) + stringField(jobId) + stringField(bootId);
  let header = head;
  let pad = 0;
  if (data.length > 0) {
    // align's tag and length, then data's tag and length.
    const dataTag = 1 + varintBytes(data.length);
    pad = (8 - ((RECORD_PREFIX_BYTES + head + 2 + dataTag) % 8)) % 8;
    header = head + 2 + pad + dataTag;
  }
  const inPlace = data.length > 0 && takeRoom(data, header);
  const out = inPlace ? Buffer.from(data.buffer, data.byteOffset - header, header + data.length) : Buffer.allocUnsafe(header + data.length);
  let at = 0;
  const varint = (n: number): void => {
    while (n >= 0x80) {
      out[at++] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    out[at++] = n;
  };
  const number = (field: number, n: number): void => {
    if (n === 0) return;
    out[at++] = field << 3;
    varint(n);
  };
  const bytes = (field: number, b: Uint8Array): void => {
    if (b.length === 0) return;
    out[at++] = (field << 3) | 2;
    varint(b.length);
    out.set(b, at);
    at += b.length;
  };
  number(FIELD.messageId, frame.messageId);
  bytes(FIELD.jobId, jobId);
  number(FIELD.step, frame.step);
  number(FIELD.fromHost, frame.fromHost);
  number(FIELD.chunkIndex, frame.chunkIndex);
  number(FIELD.chunkCount, frame.chunkCount);
  number(FIELD.totalLength, frame.totalLength);
  bytes(FIELD.bootId, bootId);
  if (data.length > 0) {
    out[at++] = (FIELD.align << 3) | 2;
    out[at++] = pad;
    out.fill(0, at, at + pad);
    at += pad;
    out[at++] = (FIELD.data << 3) | 2;
    varint(data.length);
    if (at !== header) throw new Error(`PeerFrame header encoded to ${at} bytes, ${header} expected`);
    if (!inPlace) out.set(data, at);
    at += data.length;
  }
  if (at !== out.length) throw new Error(`PeerFrame encoded to ${at} bytes, ${out.length} expected`);
  return inPlace ? markPrefixRoom(out) : out;
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
