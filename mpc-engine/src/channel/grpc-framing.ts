import { createRequire } from "node:module";

/** Bytes gRPC puts before each message on the wire: a compression flag and a 4-byte big-endian length. */
export const GRPC_PREFIX_BYTES = 5;

/** Serialized messages with at least {@link GRPC_PREFIX_BYTES} free bytes of their own memory just before them. */
const roomBefore = new WeakSet<Buffer>();

interface SendFilter {
  sendCompression?: { constructor?: { name?: string } };
  maxSendMessageLength?: number;
}
type SendMessage = (this: SendFilter, message: Promise<{ message: Buffer; flags?: number }>) => Promise<{ message: Buffer; flags?: number }>;

/**
 * Whether gRPC frames a message marked by {@link markPrefixRoom} where it
 * lies. grpc-js frames every message it sends by copying it into a new
 * buffer 5 bytes longer (its `CompressionFilter.sendMessage`, with the
 * identity encoding); for a round's 8 MB vector that is one more copy, and
 * one more 8 MB of memory for the collector, per message. When the memory
 * before the message is free (a frame written in place, see
 * `allocatePayload`), the prefix can be written there instead and the
 * message sent as is. This wraps that method of the grpc-js the project
 * pins; with a grpc-js whose filter has another shape the wrapper is not
 * installed and every message is framed by copying, as before.
 */
export const prefixInPlace: boolean = install();

/**
 * Marks a serialized message as having {@link GRPC_PREFIX_BYTES} free bytes
 * of its own memory before it, for gRPC to write its prefix into; returns it.
 *
 * @example
 * return markPrefixRoom(Buffer.from(payload.buffer, payload.byteOffset - header, header + payload.length));
 */
export function markPrefixRoom(message: Buffer): Buffer {
  if (message.byteOffset < GRPC_PREFIX_BYTES) throw new RangeError(`no room for gRPC's prefix before a message at byte ${message.byteOffset}`);
  roomBefore.add(message);
  return message;
}

function install(): boolean {
  let filter: { prototype: { sendMessage?: SendMessage } } | undefined;
  try {
    filter = createRequire(import.meta.url)("@grpc/grpc-js/build/src/compression-filter.js").CompressionFilter;
  } catch {
    return false;
  }
  const original = filter?.prototype.sendMessage;
  if (typeof original !== "function") return false;
  if ((original as { inPlace?: boolean }).inPlace) return true;
  const sendMessage: SendMessage = async function (this: SendFilter, message) {
    const resolved = await message;
    const bytes = resolved.message;
    const limit = this.maxSendMessageLength ?? -1;
    if (
      !roomBefore.has(bytes) ||
      this.sendCompression?.constructor?.name !== "IdentityHandler" ||
      (limit !== -1 && bytes.length > limit)
    ) {
      // Compressed, too large (refused there) or not ours: grpc-js's own framing.
      return original.call(this, Promise.resolve(resolved));
    }
    const framed = Buffer.from(bytes.buffer, bytes.byteOffset - GRPC_PREFIX_BYTES, GRPC_PREFIX_BYTES + bytes.length);
    framed[0] = 0; // not compressed
    framed.writeUInt32BE(bytes.length, 1);
    return { message: framed, flags: resolved.flags };
  };
  Object.assign(sendMessage, { inPlace: true });
  filter!.prototype.sendMessage = sendMessage;
  return true;
}
