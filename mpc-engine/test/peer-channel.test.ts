import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { connect as netConnect, createServer, type Server as NetServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Writable } from "node:stream";
import { connect, createServer as createTlsServer } from "node:tls";
import { pino } from "pino";
import { loadMpcV1, type PeerAck, type PeerFrame } from "@scmpc/protos";
import { isMpcError } from "../src/index.ts";
import { createPeerBoots } from "../src/channel/peer-boots.ts";
import { createPeerLink, type PeerLink } from "../src/channel/peer-link.ts";
import { createPeerReceiver, type PeerReceiver } from "../src/channel/peer-receiver.ts";
import { allocatePayload, DEFAULT_CHUNK_BYTES, encodePeerFrame, MAX_FRAME_BYTES, toFrames } from "../src/channel/frames.ts";
import { createRecordReader, hostAndPort, markPrefixRoom, MAX_ACK_BYTES, peerCodec, writeRecord } from "../src/channel/peer-wire.ts";
import { createJobExchange, createPeerMailbox, peerClientTlsOptions, peerServerTlsOptions, type PeerMailbox } from "../src/host/index.ts";
import { createTlsMaterial, loadPeerTls, type PeerTls, type TlsMaterial } from "../src/tls/index.ts";

const silent = pino({ level: "silent" });
const jobIdOf = (): string => "0x" + randomBytes(32).toString("hex");

/** The Peer port of host `hostIndex` on 127.0.0.1 port 0, as createHost builds it. */
interface Receiver {
  port: number;
  address: string;
  mailbox: PeerMailbox;
  receiver: PeerReceiver;
}

describe("host-to-host channel (records over mutual TLS)", () => {
  let dir: string;
  // Four certificates from one CA; only the first three are pinned, so host-3's is valid but unknown.
  let material: TlsMaterial;
  let rogue: TlsMaterial;
  let pins: string[];
  const receivers: Receiver[] = [];
  const links: PeerLink[] = [];
  const netServers: NetServer[] = [];
  const sockets = new Set<Socket>();
  const tlsServers: NetServer[] = [];

  const tlsOf = (m: TlsMaterial, index: number, pinned = pins): PeerTls =>
    loadPeerTls({
      hostIndex: index,
      tls: { caFile: m.caFile, certFile: m.hosts[index].certFile, keyFile: m.hosts[index].keyFile },
      peerFingerprints: index < 3 ? pinned : [...pinned, m.hosts[index].fingerprint],
    });

  const startReceiver = async (hostIndex: number): Promise<Receiver> => {
    const mailbox = createPeerMailbox({ retentionMs: 60_000 });
    const receiver = createPeerReceiver({ hostIndex, tls: tlsOf(material, hostIndex), mailbox, boots: createPeerBoots(), logger: silent });
    const port = await receiver.listen("127.0.0.1:0");
    const started = { port, address: `127.0.0.1:${port}`, mailbox, receiver };
    receivers.push(started);
    return started;
  };

  const link = (fromHost: number, toHost: number, address: string, tls: PeerTls = tlsOf(material, fromHost), chunkBytes?: number): PeerLink => {
    const l = createPeerLink({ fromHost, toHost, address, tls: peerClientTlsOptions(tls, toHost), chunkBytes, boots: createPeerBoots() });
    links.push(l);
    return l;
  };

  /** A raw connection to a Peer port: writes frames (or any bytes) as given, collects the acks, the greeting and a refusal. */
  const rawConnection = (address: string, tls: PeerTls, toHost: number) => {
    const socket = connect({ ...hostAndPort(address), ...peerClientTlsOptions(tls, toHost) });
    const { decodeAck } = peerCodec();
    const acks: PeerAck[] = [];
    const connection: { greeting?: PeerAck; refusal?: PeerAck } = {};
    const waiters: (() => void)[] = [];
    const read = createRecordReader(MAX_ACK_BYTES, (bytes) => {
      const ack = decodeAck(bytes);
      if (ack.messageId !== 0) acks.push(ack);
      else if (ack.accepted) connection.greeting = ack;
      else connection.refusal = ack;
      waiters.splice(0).forEach((w) => w());
    });
    socket.on("data", read);
    socket.on("error", () => {});
    const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()));
    return {
      connection,
      acks,
      closed,
      write: (frame: PeerFrame) => writeRecord(socket, encodePeerFrame(frame)),
      writeBytes: (bytes: Buffer) => socket.write(bytes),
      end: () => socket.end(),
      async ackCount(n: number): Promise<PeerAck[]> {
        while (acks.length < n) await new Promise<void>((r) => waiters.push(r));
        return acks;
      },
    };
  };

  const noMessage = (mailbox: PeerMailbox, jobId: string, step: number, fromHost: number) =>
    assert.rejects(mailbox.receive({ jobId, step, fromHost }, { deadline: Date.now() + 200 }), (err: unknown) => isMpcError(err, "PEER_TIMEOUT"));

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "scmpc-channel-"));
    material = await createTlsMaterial({ hosts: 4, dir: join(dir, "tls") });
    rogue = await createTlsMaterial({ hosts: 3, dir: join(dir, "rogue") });
    pins = material.hosts.slice(0, 3).map((h) => h.fingerprint);
  });

  after(async () => {
    for (const l of links) l.close();
    for (const r of receivers) {
      r.receiver.close();
      r.mailbox.close();
    }
    for (const s of sockets) s.destroy();
    await Promise.all([...netServers, ...tlsServers].map((s) => new Promise((resolve) => s.close(resolve))));
    await rm(dir, { recursive: true, force: true });
  });

  it("carries small, empty and multi-megabyte payloads intact, keyed by the sender's certificate", async () => {
    const host1 = await startReceiver(1);
    const toHost1 = link(0, 1, host1.address);
    const jobId = jobIdOf();
    const big = randomBytes(8 * 1024 * 1024 + 123);
    await toHost1.send({ jobId, step: 0, payload: Buffer.from("seed") }, Date.now() + 10_000);
    await toHost1.send({ jobId, step: 1, payload: Buffer.alloc(0) }, Date.now() + 10_000);
    await toHost1.send({ jobId, step: 2, payload: big }, Date.now() + 10_000);
    const got = (step: number) => host1.mailbox.receive({ jobId, step, fromHost: 0 }, { deadline: Date.now() + 1000 });
    assert.equal((await got(0)).toString(), "seed");
    assert.equal((await got(1)).length, 0);
    assert.ok((await got(2)).equals(big), "8 MB payload reassembled byte for byte");
    // The same payload cut into 1 MiB frames (the default carries it whole).
    assert.ok(big.length < DEFAULT_CHUNK_BYTES);
    const chunked = link(0, 1, host1.address, undefined, 1 << 20);
    const chunkedJob = jobIdOf();
    await chunked.send({ jobId: chunkedJob, step: 0, payload: big }, Date.now() + 10_000);
    const reassembled = await host1.mailbox.receive({ jobId: chunkedJob, step: 0, fromHost: 0 }, { deadline: Date.now() + 1000 });
    assert.ok(reassembled.equals(big), "9 frames reassembled byte for byte");

    // Throughput of sequential 8 MiB messages (diagnostic only: machines differ).
    const payload = randomBytes(8 << 20);
    const id = jobIdOf();
    const started = performance.now();
    for (let step = 0; step < 8; step++) await toHost1.send({ jobId: id, step, payload }, Date.now() + 30_000);
    const mibPerSecond = 64 / ((performance.now() - started) / 1000);
    console.log(`# channel loopback throughput: ${mibPerSecond.toFixed(0)} MiB/s (8 × 8 MiB, default chunk size)`);
  });

  it("encodes frames as the generic encoder does, data placed so that the receiver gets it word-aligned", () => {
    const { requestSerialize, requestDeserialize } = loadMpcV1().Peer.service.Exchange;
    const jobId = jobIdOf();
    const frames: PeerFrame[] = [
      ...toFrames({ messageId: 1, fromHost: 0, message: { jobId, step: 0, payload: Buffer.alloc(0) }, chunkBytes: 1024, bootId: "" }),
      ...toFrames({ messageId: 300, fromHost: 2, message: { jobId, step: 70_000, payload: randomBytes(5000) }, chunkBytes: 1024, bootId: "b".repeat(32) }),
      ...toFrames({ messageId: 2 ** 32 - 1, fromHost: 1, message: { jobId, step: 2 ** 28, payload: randomBytes(8 << 20) }, chunkBytes: DEFAULT_CHUNK_BYTES, bootId: "boot" }),
    ];
    for (const frame of frames) {
      const ours = encodePeerFrame(frame);
      const decoded = requestDeserialize(ours) as PeerFrame;
      const generic = requestDeserialize(requestSerialize(frame)) as PeerFrame;
      assert.deepEqual({ ...decoded, align: undefined }, { ...generic, align: undefined }, `frame ${frame.messageId}/${frame.chunkIndex}`);
      if (frame.data.length > 0) {
        // After the record's 5-byte prefix, data starts on an 8-byte boundary of the record.
        const offset = ours.indexOf(frame.data.subarray(0, 64));
        assert.equal((5 + offset) % 8, 0, `data of frame ${frame.messageId}/${frame.chunkIndex} at offset ${offset}`);
      }
    }
  });

  it("delivers a one-frame payload word-aligned where it arrived, whatever the frame's header", async () => {
    const host1 = await startReceiver(1);
    const toHost1 = link(0, 1, host1.address);
    // Steps and lengths whose varints differ in length move where data starts in the message.
    for (const [step, words] of [[0, 1], [1, 17], [200, 1000], [20_000, 70_000], [65_000, 1 << 20]] as const) {
      const jobId = jobIdOf();
      const payload = randomBytes(words * 8);
      await toHost1.send({ jobId, step, payload }, Date.now() + 10_000);
      const got = await host1.mailbox.receive({ jobId, step, fromHost: 0 }, { deadline: Date.now() + 1000 });
      assert.ok(got.equals(payload), `${words} words intact`);
      // A view of the received message (not a copy made to align it), at a multiple of 8: the words can be read in place.
      assert.equal(got.byteOffset % 8, 0, `${words} words at step ${step} start at byte ${got.byteOffset} of the message`);
      assert.ok(got.buffer.byteLength > got.length, "a view of the received message");
    }
  });

  it("sends a payload made for sending as it lies: the frame's header and the record's prefix written in the room before it, the payload not copied", async () => {
    const host1 = await startReceiver(1);
    const host2 = await startReceiver(2);
    const toHost1 = link(0, 1, host1.address);
    const toHost2 = link(0, 2, host2.address);
    const { requestDeserialize } = loadMpcV1().Peer.service.Exchange;
    for (const words of [1, 3, 1000, 1 << 20]) {
      const jobId = jobIdOf();
      const payload = allocatePayload(words * 8);
      randomBytes(payload.length).copy(payload);
      const sent = Buffer.from(payload);
      await toHost1.send({ jobId, step: 7, payload }, Date.now() + 10_000);
      const got = await host1.mailbox.receive({ jobId, step: 7, fromHost: 0 }, { deadline: Date.now() + 1000 });
      assert.ok(got.equals(sent), `${words} words delivered intact`);
      // The record sent lies in the payload's own memory: its 5-byte prefix (uncompressed, length), then the frame ending with the payload.
      const memory = Buffer.from(payload.buffer, 0, payload.byteOffset + payload.length);
      const start = [...Array(payload.byteOffset - 4).keys()].find(
        (at) => memory[at] === 0 && memory.readUInt32BE(at + 1) === memory.length - at - 5,
      );
      assert.ok(start !== undefined, `${words} words: the record's prefix written before the frame in the payload's memory`);
      const frame = requestDeserialize(memory.subarray(start + 5)) as PeerFrame;
      assert.equal(frame.jobId, jobId);
      assert.ok(frame.data.equals(sent), "the frame around the payload decodes to it");
      const room = Buffer.from(memory.subarray(0, payload.byteOffset));
      // Sent again (another peer): the room is taken, so this frame is a copy, and the first frame's bytes stay as they were.
      await toHost2.send({ jobId, step: 7, payload }, Date.now() + 10_000);
      const again = await host2.mailbox.receive({ jobId, step: 7, fromHost: 0 }, { deadline: Date.now() + 1000 });
      assert.ok(again.equals(sent), `${words} words delivered intact a second time`);
      assert.ok(Buffer.from(memory.subarray(0, payload.byteOffset)).equals(room), "the second send wrote nothing into the room");
      assert.ok(payload.equals(sent), "the payload itself never written");
    }
  });

  it("writes a frame in place byte for byte as it writes a copy, and only where the room is its own and large enough", () => {
    const jobId = jobIdOf();
    const payload = allocatePayload(4096);
    // Fresh zeros: a word a round leaves unwritten sends no earlier memory of the process.
    assert.ok(Buffer.from(payload.buffer).equals(Buffer.alloc(payload.byteOffset + payload.length)), "the payload and its room start zeroed");
    randomBytes(payload.length).copy(payload);
    const frameOf = (data: Buffer, bootId = "b".repeat(36)): PeerFrame =>
      toFrames({ messageId: 300, fromHost: 2, message: { jobId, step: 70_000, payload: data }, chunkBytes: DEFAULT_CHUNK_BYTES, bootId })[0];
    const copied = encodePeerFrame(frameOf(Buffer.from(payload)));
    // A view of another buffer at the same offset, or a part of the payload past its start: copies.
    const other = Buffer.alloc(payload.byteOffset + payload.length).subarray(payload.byteOffset);
    payload.copy(other);
    assert.notEqual(encodePeerFrame(frameOf(other)).buffer, other.buffer, "a plain buffer's frame is a copy");
    assert.notEqual(encodePeerFrame(frameOf(payload.subarray(8))).buffer, payload.buffer, "a part past the payload's start is copied");
    // A header longer than the room (a boot id of 300 bytes): copied, the room left unused.
    assert.notEqual(encodePeerFrame(frameOf(payload, "x".repeat(300))).buffer, payload.buffer, "a header the room cannot hold is copied");
    const inPlace = encodePeerFrame(frameOf(payload));
    assert.equal(inPlace.buffer, payload.buffer, "the payload's frame is a view of its memory");
    assert.ok(inPlace.equals(copied), "the same bytes either way");
    assert.notEqual(encodePeerFrame(frameOf(payload)).buffer, payload.buffer, "the room serves one frame");
  });

  it("reads records cut anywhere into word-aligned messages, and writes a prefix in place only into a room marked for it", () => {
    const messages = [Buffer.alloc(0), randomBytes(1), randomBytes(20_000), randomBytes(3 << 20)];
    /** A socket stand-in keeping what is written to it (copies, or the buffers themselves). */
    const sinkOf = (into: Buffer[], copy: boolean) => ({ write: (b: Buffer) => into.push(copy ? Buffer.from(b) : b) > 0, cork() {}, uncork() {} }) as unknown as Writable;
    const wire: Buffer[] = [];
    for (const m of messages) writeRecord(sinkOf(wire, true), m);
    const bytes = Buffer.concat(wire);
    assert.equal(bytes.length, messages.reduce((n, m) => n + 5 + m.length, 0));
    for (const cut of [1, 2, 5, 7, 4096, 65_536, bytes.length]) {
      const got: Buffer[] = [];
      const read = createRecordReader(4 << 20, (m) => got.push(m));
      for (let at = 0; at < bytes.length; at += cut) read(bytes.subarray(at, at + cut));
      assert.deepEqual(got.map((m) => m.length), messages.map((m) => m.length), `cut every ${cut} bytes`);
      got.forEach((m, k) => {
        assert.ok(m.equals(messages[k]), `message ${k} intact, cut every ${cut} bytes`);
        assert.equal(m.byteOffset, 5, "each message 5 bytes into its own aligned record");
      });
    }
    // In place: the prefix goes into the marked room, and the record sent is the message's own memory.
    const memory = Buffer.from(new ArrayBuffer(64));
    const message = markPrefixRoom(memory.subarray(8, 40).fill(7));
    const sent: Buffer[] = [];
    writeRecord(sinkOf(sent, false), message);
    assert.equal(sent.length, 1);
    assert.equal(sent[0].buffer, memory.buffer, "sent as it lies");
    assert.equal(sent[0].byteOffset, 3);
    assert.deepEqual([...memory.subarray(3, 8)], [0, 0, 0, 0, 32], "flag 0, then the length big-endian");
    writeRecord(sinkOf(sent, false), message);
    assert.notEqual(sent[1].buffer, memory.buffer, "the room serves one record");
    assert.throws(() => markPrefixRoom(memory.subarray(4, 8)), /no room/);
    // A flag other than 0, or a length past the limit, is refused before any memory is taken for it.
    assert.throws(() => createRecordReader(1024, () => {})(Buffer.from([1, 0, 0, 0, 4])), (err: unknown) => isMpcError(err, "PEER_PROTOCOL") && /flag 1/.test(err.message));
    assert.throws(() => createRecordReader(1024, () => {})(Buffer.from([0, 0, 0, 4, 1])), (err: unknown) => isMpcError(err, "PEER_PROTOCOL") && /1025 bytes declared/.test(err.message));
  });

  it("ends the connection of a pinned peer whose records are malformed (oversized, compressed, not a frame), delivering nothing", async () => {
    const host1 = await startReceiver(1);
    const jobId = jobIdOf();
    const prefix = (flag: number, length: number): Buffer => Buffer.from([flag, ...[24, 16, 8, 0].map((shift) => (length >>> shift) & 0xff)]);
    const cases: [string, Buffer, RegExp][] = [
      ["a length past the largest frame", prefix(0, MAX_FRAME_BYTES + 1), /bytes declared/],
      ["a compressed record", prefix(1, 10), /flag 1/],
      ["bytes that are no PeerFrame", Buffer.concat([prefix(0, 4), Buffer.from([0xff, 0xff, 0xff, 0xff])]), /not a PeerFrame/],
    ];
    for (const [what, bytes, reason] of cases) {
      const raw = rawConnection(host1.address, tlsOf(material, 0), 1);
      raw.writeBytes(bytes);
      await raw.closed;
      assert.equal(raw.connection.greeting?.accepted, true, `${what}: greeted first (host 0 is pinned)`);
      assert.equal(raw.connection.refusal?.errorCode, "PEER_PROTOCOL", what);
      assert.match(raw.connection.refusal?.errorMessage ?? "", reason, what);
    }
    // A frame after the malformed record on the same connection is never read.
    const raw = rawConnection(host1.address, tlsOf(material, 0), 1);
    raw.writeBytes(Buffer.concat([prefix(1, 0)]));
    raw.write(toFrames({ messageId: 1, fromHost: 0, message: { jobId, step: 0, payload: Buffer.from("after") }, chunkBytes: 1024, bootId: "" })[0]);
    await raw.closed;
    assert.equal(raw.acks.length, 0);
    await noMessage(host1.mailbox, jobId, 0, 0);
  });

  it("refuses a replayed message and a reordered one, and the link reports the refusal", async () => {
    const host1 = await startReceiver(1);
    const jobId = jobIdOf();
    const stream = rawConnection(host1.address, tlsOf(material, 0), 1);
    const frame = (messageId: number, step: number, payload: string): PeerFrame =>
      toFrames({ messageId, fromHost: 0, message: { jobId, step, payload: Buffer.from(payload) }, chunkBytes: 1024, bootId: "" })[0];
    stream.write(frame(1, 2, "first"));
    stream.write(frame(2, 2, "replayed"));
    stream.write(frame(3, 1, "late"));
    stream.write(frame(4, 3, "next"));
    const acks = await stream.ackCount(4);
    assert.deepEqual(
      acks.map((a) => [a.messageId, a.accepted, a.errorCode]),
      [[1, true, ""], [2, false, "PEER_DUPLICATE"], [3, false, "PEER_OUT_OF_ORDER"], [4, true, ""]],
    );
    assert.match(acks[2].errorMessage, /step 1 from host 0.*step 3|step 2 from that host/);
    const kept = await host1.mailbox.receive({ jobId, step: 2, fromHost: 0 }, { deadline: Date.now() + 1000 });
    assert.equal(kept.toString(), "first", "the replay did not overwrite the original");
    await noMessage(host1.mailbox, jobId, 1, 0);
    stream.end();

    // Through a link: a resend of a delivered message counts as delivered, a lower step is refused.
    const toHost1 = link(0, 1, host1.address);
    await toHost1.send({ jobId, step: 3, payload: Buffer.from("next") }, Date.now() + 5000);
    await assert.rejects(toHost1.send({ jobId, step: 0, payload: Buffer.from("old") }, Date.now() + 5000), (err: unknown) => {
      assert.ok(isMpcError(err, "PEER_REJECTED"), String(err));
      assert.equal(err.details.peerCode, "PEER_OUT_OF_ORDER");
      assert.match(err.message, /host 1 refused the step-0 message/);
      return true;
    });
  });

  it("refuses a client whose certificate comes from another CA", async () => {
    const host1 = await startReceiver(1);
    const jobId = jobIdOf();
    // The impostor trusts the right CA and pins host 1 correctly: only its own certificate is wrong.
    const rogueHost0 = tlsOf(rogue, 0, rogue.hosts.map((h) => h.fingerprint));
    const impostor = link(0, 1, host1.address, { ...tlsOf(material, 0), cert: rogueHost0.cert, key: rogueHost0.key });
    await assert.rejects(impostor.send({ jobId, step: 0, payload: Buffer.from("x") }, Date.now() + 1500), (err: unknown) => {
      // The TLS handshake fails, so the channel never becomes ready.
      assert.ok(isMpcError(err, "PEER_UNAVAILABLE"), String(err));
      assert.match(err.message, /host 1 could not be reached/);
      return true;
    });
    await noMessage(host1.mailbox, jobId, 0, 0);
  });

  it("refuses a server whose certificate is not the one pinned for that host", async () => {
    const host2 = await startReceiver(2);
    const jobId = jobIdOf();
    // Host 0 believes host 2's address is host 1's: valid CA, wrong pin.
    const misdirected = link(0, 1, host2.address);
    await assert.rejects(misdirected.send({ jobId, step: 0, payload: Buffer.from("x") }, Date.now() + 1500), (err: unknown) =>
      isMpcError(err, "PEER_UNAVAILABLE") && /not the pinned/.test(err.message),
    );
    await noMessage(host2.mailbox, jobId, 0, 0);
  });

  it("takes the sender's identity from its certificate: host 2 claiming to be host 0 is refused", async () => {
    const host1 = await startReceiver(1);
    const jobId = jobIdOf();
    const stream = rawConnection(host1.address, tlsOf(material, 2), 1);
    stream.write(toFrames({ messageId: 1, fromHost: 0, message: { jobId, step: 0, payload: Buffer.from("forged") }, chunkBytes: 1024, bootId: "" })[0]);
    await stream.closed;
    assert.equal(stream.connection.refusal?.errorCode, "PEER_IDENTITY_MISMATCH");
    assert.match(stream.connection.refusal?.errorMessage ?? "", /authenticated as host 2 .* claiming to be from host 0/);
    assert.equal(stream.acks.length, 0, "the forged message is not acknowledged");
    await noMessage(host1.mailbox, jobId, 0, 0);
    await noMessage(host1.mailbox, jobId, 0, 2);

    // The same through a link: the send fails at once, not at the deadline.
    const forger = link(0, 1, host1.address, tlsOf(material, 2));
    await assert.rejects(forger.send({ jobId, step: 0, payload: Buffer.from("forged") }, Date.now() + 5000), (err: unknown) =>
      isMpcError(err, "PEER_REJECTED") && /claiming to be from host 0/.test(err.message),
    );

    // A certificate from the right CA that is not pinned for any host is refused too.
    const stranger = rawConnection(host1.address, tlsOf(material, 3), 1);
    stranger.write(toFrames({ messageId: 1, fromHost: 3, message: { jobId, step: 0, payload: Buffer.from("?") }, chunkBytes: 1024, bootId: "" })[0]);
    await stranger.closed;
    assert.equal(stranger.connection.greeting, undefined, "never greeted");
    assert.equal(stranger.connection.refusal?.errorCode, "PEER_UNKNOWN_SENDER");
    assert.equal(stranger.acks.length, 0);
    await noMessage(host1.mailbox, jobId, 0, 3);
  });

  it("ends a job's receive() and send() with an error naming a peer that died", async () => {
    const host1 = await startReceiver(1);
    const toHost1 = link(0, 1, host1.address);
    const jobId = jobIdOf();
    await toHost1.send({ jobId, step: 0, payload: Buffer.from("before") }, Date.now() + 5000);
    host1.receiver.close();

    const mailbox0 = createPeerMailbox({ retentionMs: 60_000 });
    const controller = new AbortController();
    const started = Date.now();
    const exchange = createJobExchange({
      hostIndex: 0,
      jobId,
      mailbox: mailbox0,
      peers: { deliver: (to, message, deadline, signal) => toHost1.send(message, deadline, signal), hello: async () => {}, close() {} },
      deadline: Date.now() + 1500,
      signal: controller.signal,
    });
    const [sent, received] = await Promise.allSettled([exchange.send(1, 1, Buffer.from("after")), exchange.receive(1, 1)]);
    mailbox0.close();
    assert.equal(sent.status, "rejected");
    const sendError = (sent as PromiseRejectedResult).reason;
    assert.ok(isMpcError(sendError, "PEER_UNAVAILABLE") || isMpcError(sendError, "PEER_TIMEOUT"), String(sendError));
    assert.match(sendError.message, /host 1/);
    assert.equal(received.status, "rejected");
    const receiveError = (received as PromiseRejectedResult).reason;
    assert.ok(isMpcError(receiveError, "PEER_TIMEOUT") && receiveError.details.missingHost === 1, String(receiveError));
    assert.ok(Date.now() - started < 10_000, `took ${Date.now() - started} ms`);
  });

  it("closes every connection when it closes, a stranger's handshake still in progress included", async () => {
    const host1 = await startReceiver(1);
    const toHost1 = link(0, 1, host1.address);
    await toHost1.send({ jobId: jobIdOf(), step: 0, payload: Buffer.from("x") }, Date.now() + 5000);
    // A stranger opens TCP and never starts TLS: without close() it would hold the port's process for the handshake timeout.
    const stranger = netConnect(host1.port, "127.0.0.1");
    stranger.on("error", () => {});
    sockets.add(stranger);
    await new Promise((resolve) => stranger.once("connect", resolve));
    const strangerClosed = new Promise((resolve) => stranger.once("close", resolve));
    host1.receiver.close();
    const leftOpen = new Promise((_, reject) => setTimeout(() => reject(new Error("the stranger's connection was left open")), 5000).unref());
    await Promise.race([strangerClosed, leftOpen]);
    // The link's connection is gone too: its next message finds no port.
    await assert.rejects(toHost1.send({ jobId: jobIdOf(), step: 0, payload: Buffer.from("y") }, Date.now() + 800), (err: unknown) => isMpcError(err, "PEER_UNAVAILABLE"));
  });

  it("ends send() with an error naming a peer that stalls (accepts TCP, never answers; or never acks)", async () => {
    const silentPeer = createServer((socket) => {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
    });
    netServers.push(silentPeer);
    const port = await new Promise<number>((resolve) => silentPeer.listen(0, "127.0.0.1", () => resolve((silentPeer.address() as { port: number }).port)));
    const toStalled = link(0, 2, `127.0.0.1:${port}`);
    const started = Date.now();
    await assert.rejects(toStalled.send({ jobId: jobIdOf(), step: 0, payload: randomBytes(1000) }, Date.now() + 1500), (err: unknown) =>
      (isMpcError(err, "PEER_UNAVAILABLE") || isMpcError(err, "PEER_TIMEOUT")) && /host 2/.test(err.message),
    );
    assert.ok(Date.now() - started < 10_000, `took ${Date.now() - started} ms`);

    // A peer that completes TLS, greets, and takes frames but never acknowledges them.
    const mute = createTlsServer(peerServerTlsOptions(tlsOf(material, 2)), (socket) => {
      writeRecord(socket, peerCodec().encodeAck({ messageId: 0, accepted: true, errorCode: "", errorMessage: "", bootId: "mute" }));
      socket.on("data", () => {});
      socket.on("error", () => {});
    });
    tlsServers.push(mute);
    const mutePort = await new Promise<number>((resolve) => mute.listen(0, "127.0.0.1", () => resolve((mute.address() as { port: number }).port)));
    const toMute = link(0, 2, `127.0.0.1:${mutePort}`);
    const begun = Date.now();
    await assert.rejects(toMute.send({ jobId: jobIdOf(), step: 0, payload: randomBytes(3 << 20) }, Date.now() + 1500), (err: unknown) =>
      isMpcError(err, "PEER_TIMEOUT") && /host 2 did not acknowledge/.test(err.message),
    );
    assert.ok(Date.now() - begun < 10_000, `took ${Date.now() - begun} ms`);
  });
});
