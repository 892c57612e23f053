import type { Writable } from "node:stream";
import { loadMpcV1, type PeerAck, type PeerFrame } from "@scmpc/protos";
import { MpcError } from "../errors.ts";

/**
 * Bytes before each record on a Peer connection: a flag byte (0: the
 * message is not compressed; nothing else is accepted) and the message's
 * length as a big-endian u32 — gRPC's own framing of a message, here with
 * no HTTP/2 around it.
 */
export const RECORD_PREFIX_BYTES = 5;

/**
 * Largest record a sender sees: an ack, or the greeting or refusal a
 * receiver sends on a connection (a few hundred bytes).
 */
export const MAX_ACK_BYTES = 64 << 10;

/** Idle time after which TCP keepalive probes a Peer connection (both ends): a peer that vanished without closing is noticed. */
export const KEEPALIVE_MS = 30_000;

/** Serialized messages with at least {@link RECORD_PREFIX_BYTES} free bytes of their own memory just before them. */
const roomBefore = new WeakSet<Buffer>();

/**
 * Marks a serialized message as having {@link RECORD_PREFIX_BYTES} free
 * bytes of its own memory before it, for {@link writeRecord} to write the
 * record's prefix into instead of copying the message; returns it.
 *
 * @example
 * return markPrefixRoom(Buffer.from(payload.buffer, payload.byteOffset - header, header + payload.length));
 */
export function markPrefixRoom(message: Buffer): Buffer {
  if (message.byteOffset < RECORD_PREFIX_BYTES) throw new RangeError(`no room for a record's prefix before a message at byte ${message.byteOffset}`);
  roomBefore.add(message);
  return message;
}

/** Messages below this many bytes go out as one buffer (prefix and message copied together); larger ones as two writes, corked. */
const COPY_BELOW_BYTES = 16 << 10;

/**
 * Writes one message as a record: its prefix, then its bytes. A message
 * marked by {@link markPrefixRoom} gets its prefix in the room before it and
 * goes to TLS as it lies (a round's vector is never copied on its way out);
 * the room serves one record. Returns what `socket.write` returns (false:
 * wait for `drain`).
 *
 * @example
 * if (!writeRecord(socket, encodePeerFrame(frame))) await once(socket, "drain");
 */
export function writeRecord(socket: Writable, message: Buffer): boolean {
  if (message.length > 0xffffffff) throw new RangeError(`a ${message.length}-byte message does not fit a record`);
  if (roomBefore.delete(message)) {
    const record = Buffer.from(message.buffer, message.byteOffset - RECORD_PREFIX_BYTES, RECORD_PREFIX_BYTES + message.length);
    writePrefix(record, message.length);
    return socket.write(record);
  }
  if (message.length < COPY_BELOW_BYTES) {
    const record = Buffer.allocUnsafe(RECORD_PREFIX_BYTES + message.length);
    writePrefix(record, message.length);
    message.copy(record, RECORD_PREFIX_BYTES);
    return socket.write(record);
  }
  const prefix = Buffer.allocUnsafe(RECORD_PREFIX_BYTES);
  writePrefix(prefix, message.length);
  socket.cork();
  socket.write(prefix);
  const ok = socket.write(message);
  socket.uncork();
  return ok;
}

function writePrefix(into: Buffer, length: number): void {
  into[0] = 0;
  into.writeUInt32BE(length, 1);
}

/**
 * A reader of one connection's records: takes the bytes as they arrive, in
 * chunks cut anywhere, and calls `onRecord` with each whole message. Each
 * record is read into its own fresh buffer, prefix first, so the message
 * starts 5 bytes into 8-aligned memory: a frame written by
 * `encodePeerFrame` has its data word-aligned there, and the receiver reads
 * its 64-bit words in place (the one copy of a received vector is this one,
 * from TLS's buffers into the record).
 *
 * @throws MpcError `PEER_PROTOCOL` on a flag other than 0 or a declared length over `maxBytes` (the connection must end)
 * @example
 * const read = createRecordReader(MAX_FRAME_BYTES, (message) => handle(decodePeerFrame(message)));
 * socket.on("data", (chunk) => read(chunk));
 */
export function createRecordReader(maxBytes: number, onRecord: (message: Buffer) => void): (chunk: Buffer) => void {
  const prefix = Buffer.alloc(RECORD_PREFIX_BYTES);
  let prefixBytes = 0;
  let record: Buffer | undefined;
  let filled = 0;
  return (chunk) => {
    let at = 0;
    while (at < chunk.length) {
      if (record === undefined) {
        const take = Math.min(RECORD_PREFIX_BYTES - prefixBytes, chunk.length - at);
        chunk.copy(prefix, prefixBytes, at, at + take);
        prefixBytes += take;
        at += take;
        if (prefixBytes < RECORD_PREFIX_BYTES) return;
        prefixBytes = 0;
        if (prefix[0] !== 0) throw new MpcError("PEER_PROTOCOL", `malformed record: flag ${prefix[0]} (records are never compressed)`);
        const length = prefix.readUInt32BE(1);
        if (length > maxBytes) throw new MpcError("PEER_PROTOCOL", `malformed record: ${length} bytes declared, at most ${maxBytes} taken`);
        // Fresh zeroed memory at offset 0: 8-aligned.
        record = Buffer.from(new ArrayBuffer(RECORD_PREFIX_BYTES + length));
        prefix.copy(record);
        filled = RECORD_PREFIX_BYTES;
      }
      const take = Math.min(record.length - filled, chunk.length - at);
      chunk.copy(record, filled, at, at + take);
      filled += take;
      at += take;
      if (filled === record.length) {
        const message = record.subarray(RECORD_PREFIX_BYTES);
        record = undefined;
        onRecord(message);
      }
    }
  };
}

interface PeerCodec {
  decodeFrame(bytes: Buffer): PeerFrame;
  encodeAck(ack: PeerAck): Buffer;
  decodeAck(bytes: Buffer): PeerAck;
}
let codec: PeerCodec | undefined;

/** The protobuf codec of PeerFrame and PeerAck (host_peer.proto); frames are encoded by `encodePeerFrame`. */
export function peerCodec(): PeerCodec {
  if (codec === undefined) {
    const { requestDeserialize, responseSerialize, responseDeserialize } = loadMpcV1().Peer.service.Exchange;
    codec = {
      decodeFrame: (bytes) => requestDeserialize(bytes) as PeerFrame,
      encodeAck: (ack) => responseSerialize(ack),
      decodeAck: (bytes) => responseDeserialize(bytes) as PeerAck,
    };
  }
  return codec;
}

/**
 * `host:port` split for `net`: a name (letters, digits, dots, hyphens), an
 * IPv4 address or a bracketed IPv6 address, and a port 0–65535. The one
 * parser of the hosts' addresses: the configuration checks its own with it.
 *
 * @throws Error naming the address when it is not of that form
 * @example
 * hostAndPort("127.0.0.1:7102") // { host: "127.0.0.1", port: 7102 }
 */
export function hostAndPort(address: string): { host: string; port: number } {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(address);
  const port = match ? Number(match[3]) : NaN;
  if (!match || port > 65535) throw new Error(`${JSON.stringify(address)} is not host:port`);
  return { host: match[1] ?? match[2], port };
}
