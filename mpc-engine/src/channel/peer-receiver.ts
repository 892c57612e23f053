import type { Socket } from "node:net";
import type { Server, TLSSocket } from "node:tls";
import { createServer } from "node:tls";
import { isHexString } from "ethers";
import type { Logger } from "pino";
import type { PeerAck, PeerFrame } from "@scmpc/protos";
import { MpcError } from "../errors.ts";
import { peerServerTlsOptions } from "../host/credentials.ts";
import type { PeerMailbox } from "../host/peer-mailbox.ts";
import { certificateFingerprint, type CertificateFingerprint } from "../tls/fingerprint.ts";
import type { PeerTls } from "../tls/peer-tls.ts";
import { createFrameAssembler, HELLO_JOB_ID, MAX_FRAME_BYTES } from "./frames.ts";
import type { PeerBoots } from "./peer-boots.ts";
import { createRecordReader, hostAndPort, KEEPALIVE_MS, peerCodec, writeRecord } from "./peer-wire.ts";

/** Highest protocol step a peer may address (bounds mailbox keys). */
export const MAX_STEP = 1 << 16;

/** A TLS handshake not finished in this long is dropped: a stranger cannot hold connections open by stalling it. */
const HANDSHAKE_TIMEOUT_MS = 10_000;
/** How long a refused connection stays open for its refusal to be read before it is cut. */
const REFUSED_LINGER_MS = 2_000;

/**
 * Identifies the host at the other end of a Peer connection from its TLS
 * client certificate (DER): the index whose pinned fingerprint it matches.
 *
 * @throws MpcError `PEER_UNKNOWN_SENDER` without a certificate, for an unpinned one, or for this host's own
 * @example
 * const fromHost = callerHostIndex(socket.getPeerCertificate().raw, { hostIndex: 0, fingerprints });
 */
export function callerHostIndex(raw: Buffer | undefined, pins: { hostIndex: number; fingerprints: readonly CertificateFingerprint[] }): number {
  if (!raw) throw new MpcError("PEER_UNKNOWN_SENDER", "the caller presented no verified TLS client certificate");
  const fingerprint = certificateFingerprint(raw);
  const index = pins.fingerprints.indexOf(fingerprint);
  if (index < 0 || index === pins.hostIndex) {
    throw new MpcError("PEER_UNKNOWN_SENDER", `client certificate ${fingerprint} is not pinned for another host of this deployment`, {
      details: { fingerprint },
    });
  }
  return index;
}

/** The receiving side of a host's Peer port. */
export interface PeerReceiver {
  /** Listens on `host:port` (port 0: any free one); resolves to the port bound. */
  listen(address: string): Promise<number>;
  /** Stops listening and drops every connection (senders resend what was not acknowledged). */
  close(): void;
}

/**
 * The Peer port: mutual TLS, then records (peer-wire.ts) — PeerFrames from
 * the connecting host, PeerAcks back. It authenticates the connecting host
 * by its certificate, greets it (an ack of message 0 carrying this
 * process's boot id: the connection is ready), reassembles its frames into
 * messages, delivers each to the mailbox under the certificate's host index,
 * and acknowledges it.
 *
 * A message the mailbox refuses (duplicate, out of order) or with an
 * invalid job id or step gets a refusing ack; the connection goes on. Every
 * frame carries the sender's boot id and every ack this host's, so each side
 * learns when the other restarted; a hello (the {@link HELLO_JOB_ID} job)
 * only does that. A certificate not pinned for another host
 * (`PEER_UNKNOWN_SENDER`), a frame claiming another sender than the
 * certificate (`PEER_IDENTITY_MISMATCH`), and records or frames that do not
 * form messages (`PEER_PROTOCOL`) get a refusal — an ack of message 0 not
 * accepted, naming the error — and the connection ends.
 *
 * @example
 * const receiver = createPeerReceiver({ hostIndex, tls, mailbox, boots, logger });
 * const port = await receiver.listen("127.0.0.1:7102");
 */
export function createPeerReceiver(deps: { hostIndex: number; tls: PeerTls; mailbox: PeerMailbox; boots: PeerBoots; logger: Logger }): PeerReceiver {
  const { logger } = deps;
  // Every TCP connection, handshakes in progress included: close() ends them all.
  const connections = new Set<Socket>();
  const server: Server = createServer({ ...peerServerTlsOptions(deps.tls), handshakeTimeout: HANDSHAKE_TIMEOUT_MS }, (socket) => serveConnection(socket, deps));
  server.on("connection", (socket: Socket) => {
    connections.add(socket);
    socket.on("close", () => connections.delete(socket));
  });
  // A client without a certificate of the deployment's CA never completes the handshake.
  server.on("tlsClientError", (err, socket) => {
    logger.debug({ msg: err.message, peer: `${socket.remoteAddress}:${socket.remotePort}` }, "peer TLS handshake refused");
  });
  return {
    listen(address) {
      const { host, port } = hostAndPort(address);
      return new Promise((resolve, reject) => {
        const failed = (err: NodeJS.ErrnoException): void => reject(new Error(`cannot listen on the Peer port ${address}: ${err.code ?? err.message}`, { cause: err }));
        server.once("error", failed);
        server.listen(port, host, () => {
          server.off("error", failed);
          resolve((server.address() as { port: number }).port);
        });
      });
    },
    close() {
      server.close();
      for (const socket of connections) socket.destroy();
      connections.clear();
    },
  };
}

/** One authenticated connection's records: frames in, acks out. */
function serveConnection(socket: TLSSocket, deps: { hostIndex: number; tls: PeerTls; mailbox: PeerMailbox; boots: PeerBoots; logger: Logger }): void {
  const { mailbox, boots, logger } = deps;
  const { decodeFrame, encodeAck } = peerCodec();
  const peer = `${socket.remoteAddress}:${socket.remotePort}`;
  socket.setNoDelay(true);
  // A peer that vanished without closing (a crash of its machine, a cut cable) is noticed and its connection dropped.
  socket.setKeepAlive(true, KEEPALIVE_MS);
  // A broken connection needs no answer; the sender resends on a new one.
  socket.on("error", (err) => logger.debug({ msg: err.message, peer }, "peer connection broken"));
  const send = (ack: PeerAck): void => {
    writeRecord(socket, encodeAck(ack));
  };
  let ended = false;
  const fail = (err: MpcError): void => {
    if (ended) return;
    ended = true;
    logger.warn({ code: err.code, msg: err.message, peer }, "peer connection refused");
    send({ messageId: 0, accepted: false, errorCode: err.code, errorMessage: err.message, bootId: boots.own });
    // The refusal is flushed and the connection half-closed; a peer that goes on sending is cut off shortly after.
    socket.end();
    setTimeout(() => socket.destroy(), REFUSED_LINGER_MS).unref();
  };

  let fromHost: number;
  try {
    fromHost = callerHostIndex(socket.getPeerCertificate().raw, { hostIndex: deps.hostIndex, fingerprints: deps.tls.fingerprints });
  } catch (err) {
    fail(err as MpcError);
    return;
  }
  send({ messageId: 0, accepted: true, errorCode: "", errorMessage: "", bootId: boots.own });
  const assembler = createFrameAssembler();

  const onFrame = (frame: PeerFrame): void => {
    if (frame.fromHost !== fromHost) {
      throw new MpcError("PEER_IDENTITY_MISMATCH", `a connection authenticated as host ${fromHost} carried a message claiming to be from host ${frame.fromHost}`, {
        details: { certificateHost: fromHost, claimedHost: frame.fromHost },
      });
    }
    const message = assembler.push(frame);
    if (message === undefined) return;
    boots.observe(fromHost, frame.bootId, message.jobId === HELLO_JOB_ID ? undefined : message.jobId);
    const ack: PeerAck = { messageId: message.messageId, accepted: true, errorCode: "", errorMessage: "", bootId: boots.own };
    try {
      if (!isHexString(message.jobId, 32)) throw new MpcError("INVALID_ARGUMENT", "job_id must be a 0x-prefixed bytes32");
      if (message.step > MAX_STEP) throw new MpcError("INVALID_ARGUMENT", `step ${message.step} exceeds ${MAX_STEP}`);
      if (message.jobId !== HELLO_JOB_ID) mailbox.deliver({ jobId: message.jobId, step: message.step, fromHost, payload: message.payload });
    } catch (err) {
      const e = err instanceof MpcError ? err : new MpcError("INTERNAL", "internal error", { cause: err });
      if (e.code === "INTERNAL") logger.error({ err }, "peer message delivery failed");
      else logger.debug({ code: e.code, msg: e.message, fromHost }, "peer message refused");
      ack.accepted = false;
      ack.errorCode = e.code;
      ack.errorMessage = e.code === "INTERNAL" ? "internal error" : e.message;
    }
    send(ack);
  };
  const read = createRecordReader(MAX_FRAME_BYTES, (bytes) => {
    if (ended) return;
    let frame: PeerFrame;
    try {
      frame = decodeFrame(bytes);
    } catch (cause) {
      throw new MpcError("PEER_PROTOCOL", "malformed record: not a PeerFrame", { cause });
    }
    onFrame(frame);
  });
  socket.on("data", (chunk: Buffer) => {
    if (ended) return;
    try {
      read(chunk);
    } catch (err) {
      fail(err instanceof MpcError ? err : new MpcError("INTERNAL", "internal error", { cause: err }));
    }
  });
  socket.on("end", () => {
    if (ended) return;
    ended = true;
    socket.end();
  });
}
