import type { PeerCertificate } from "node:tls";
import * as grpc from "@grpc/grpc-js";
import { isHexString } from "ethers";
import type { Logger } from "pino";
import type { PeerAck, PeerFrame } from "@scmpc/protos";
import { MpcError } from "../errors.ts";
import { toServiceError } from "../host/grpc-status.ts";
import type { PeerMailbox } from "../host/peer-mailbox.ts";
import { certificateFingerprint, type CertificateFingerprint } from "../tls/fingerprint.ts";
import { createFrameAssembler, HELLO_JOB_ID } from "./frames.ts";
import type { PeerBoots } from "./peer-boots.ts";

/** Highest protocol step a peer may address (bounds mailbox keys). */
export const MAX_STEP = 1 << 16;

/**
 * Identifies the host at the other end of a Peer-service call from its TLS
 * client certificate: the index whose pinned fingerprint it matches.
 *
 * @throws MpcError `PEER_UNKNOWN_SENDER` without a certificate, for an unpinned one, or for this host's own
 * @example
 * const fromHost = callerHostIndex(call, { hostIndex: 0, fingerprints });
 */
export function callerHostIndex(
  call: { getAuthContext(): { sslPeerCertificate?: PeerCertificate } | null },
  pins: { hostIndex: number; fingerprints: readonly CertificateFingerprint[] },
): number {
  const raw = call.getAuthContext()?.sslPeerCertificate?.raw;
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

/**
 * The Peer service's `Exchange` handler: authenticates the calling host by
 * its certificate, reassembles its frames into messages, delivers each to
 * the mailbox under the certificate's host index, and acknowledges it.
 *
 * A message the mailbox refuses (duplicate, out of order) or with an
 * invalid job id or step gets a refusing ack; the stream goes on. Every frame
 * carries the sender's boot id and every ack this host's, so each side learns
 * when the other restarted; a hello (the {@link HELLO_JOB_ID} job) only does that. A frame claiming another sender than the certificate ends the stream
 * with PERMISSION_DENIED (`PEER_IDENTITY_MISMATCH`); frames that do not
 * form messages end it with `PEER_PROTOCOL`.
 *
 * @example
 * server.addService(Peer.service, { exchange: createExchangeHandler({ hostIndex, fingerprints, mailbox, boots, logger }) });
 */
export function createExchangeHandler(deps: {
  hostIndex: number;
  fingerprints: readonly CertificateFingerprint[];
  mailbox: PeerMailbox;
  boots: PeerBoots;
  logger: Logger;
}): grpc.handleBidiStreamingCall<PeerFrame, PeerAck> {
  const { mailbox, boots, logger } = deps;
  return (call) => {
    let ended = false;
    const fail = (err: MpcError): void => {
      if (ended) return;
      ended = true;
      logger.warn({ code: err.code, msg: err.message, peer: call.getPeer() }, "peer stream refused");
      // grpc-js ends a server stream with the status of an emitted error.
      call.emit("error", toServiceError(err));
    };

    let fromHost: number;
    try {
      fromHost = callerHostIndex(call, deps);
    } catch (err) {
      fail(err as MpcError);
      return;
    }
    const assembler = createFrameAssembler();

    call.on("data", (frame: PeerFrame) => {
      if (ended) return;
      if (frame.fromHost !== fromHost) {
        fail(
          new MpcError(
            "PEER_IDENTITY_MISMATCH",
            `a stream authenticated as host ${fromHost} carried a message claiming to be from host ${frame.fromHost}`,
            { details: { certificateHost: fromHost, claimedHost: frame.fromHost } },
          ),
        );
        return;
      }
      let message;
      try {
        message = assembler.push(frame);
      } catch (err) {
        fail(err as MpcError);
        return;
      }
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
      call.write(ack);
    });
    call.on("end", () => {
      if (ended) return;
      ended = true;
      call.end();
    });
    // A cancelled or broken stream needs no answer; the sender resends on a new one.
    call.on("error", () => {
      ended = true;
    });
  };
}
