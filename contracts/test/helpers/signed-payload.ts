/**
 * Builds the bridge's answer to a computation request the way the three MPC
 * hosts and the relay do: a result, each host's signature over it, and the
 * Operator's `fulfillOracleRequest2` data. Shared by the gas script and the
 * property-based and reentrancy tests; no test of its own.
 */
import { AbiCoder, concat, getBytes, keccak256, randomBytes, toUtf8Bytes } from "ethers";
import type { BytesLike, Signer } from "ethers";

const coder = AbiCoder.defaultAbiCoder();

/** Size of one host's encrypted share of a result (what the MPC engine sends the buyer). */
export const ENVELOPE_BYTES = 94;

/**
 * A result of realistic size: three 94-byte envelopes ABI-encoded as `(bytes, bytes, bytes)`
 * (480 bytes). Only the length matters to the contracts: the bytes are random, or derived
 * from `seed` (so that calldata, whose zero bytes cost less, is the same from run to run).
 */
export function envelopeResult(seed?: string): string {
  const envelope = (i: number): Uint8Array =>
    seed === undefined
      ? randomBytes(ENVELOPE_BYTES)
      : getBytes(concat([keccak256(toUtf8Bytes(`${seed}/${i}/a`)), keccak256(toUtf8Bytes(`${seed}/${i}/b`)), keccak256(toUtf8Bytes(`${seed}/${i}/c`))])).slice(0, ENVELOPE_BYTES);
  return coder.encode(["bytes", "bytes", "bytes"], [envelope(0), envelope(1), envelope(2)]);
}

/** The 32 bytes each host signs (EIP-191): keccak256(abi.encode(requestId, keccak256(result))). */
export function fulfilmentDigest(requestId: string, result: BytesLike): string {
  return keccak256(coder.encode(["bytes32", "bytes32"], [requestId, keccak256(result)]));
}

/**
 * `abi.encode(bytes result, bytes[3] signatures)` with signature i made by `signers[i]`
 * (`personal_sign` over {@link fulfilmentDigest}).
 */
export async function signedPayload(signers: readonly Signer[], requestId: string, result: BytesLike): Promise<string> {
  if (signers.length !== 3) throw new Error(`three host signers are needed, got ${signers.length}`);
  const digest = getBytes(fulfilmentDigest(requestId, result));
  const signatures = await Promise.all(signers.map((s) => s.signMessage(digest)));
  return coder.encode(["bytes", "bytes[3]"], [result, signatures]);
}

/** The Operator's `data` argument: abi.encode(requestId, payload); its first word must be the request id. */
export function fulfilmentData(requestId: string, payload: BytesLike): string {
  return coder.encode(["bytes32", "bytes"], [requestId, payload]);
}
