import { AbiCoder, getAddress, getBytes, keccak256, verifyMessage } from "ethers";
import type { Signer } from "ethers";
import type { ComputeRequest, SignResultRequest } from "@scmpc/protos";
import { MpcError } from "../errors.ts";

/** Metadata key of the bridge's EIP-191 signature over a call. */
export const BRIDGE_SIGNATURE_METADATA = "scmpc-bridge-signature";
/** Metadata key of when the bridge signed the call (unix milliseconds, decimal). */
export const BRIDGE_ISSUED_AT_METADATA = "scmpc-bridge-issued-at";
/** How far a call's signing time may be from the host's clock. */
export const BRIDGE_CALL_MAX_SKEW_MS = 5 * 60_000;
const DOMAIN = "scmpc-bridge-call-v1";

/** The Host API methods only the bridge may call. */
export type BridgeMethod = "Compute" | "SignResult";
type BridgeCall = { method: "Compute"; request: ComputeRequest } | { method: "SignResult"; request: SignResultRequest };

/** keccak256 of a call's fields, in a fixed encoding (the signature covers every field). */
function bodyHash(call: BridgeCall): string {
  const abi = AbiCoder.defaultAbiCoder();
  if (call.method === "Compute") {
    const r = call.request;
    return keccak256(
      abi.encode(["string", "string", "string[]", "string", "string", "string"], [r.requestId, r.algorithm, r.datasetIds, r.params, r.buyerKey, r.consumer]),
    );
  }
  const r = call.request;
  return keccak256(abi.encode(["string", "bytes", "string"], [r.requestId, r.result, r.consumer]));
}

/**
 * The 32 bytes the bridge signs (EIP-191) for one call to one host: the
 * method, the host's index, the call's fields and when it was signed. A
 * signature for host 0 is no good at host 1, nor for another request.
 *
 * @example
 * const digest = bridgeCallDigest({ method: "Compute", request }, 1, Date.now());
 */
export function bridgeCallDigest(call: BridgeCall, hostIndex: number, issuedAtMs: number): string {
  return keccak256(
    AbiCoder.defaultAbiCoder().encode(["string", "uint256", "string", "bytes32", "uint256"], [DOMAIN, hostIndex, call.method, bodyHash(call), issuedAtMs]),
  );
}

/**
 * Bridge side: the metadata entries that authenticate one call to host
 * `hostIndex`, signed with the bridge's key.
 *
 * @example
 * const headers = await signBridgeCall(bridgeWallet, { method: "Compute", request }, 0);
 * for (const [k, v] of Object.entries(headers)) metadata.set(k, v);
 */
export async function signBridgeCall(signer: Signer, call: BridgeCall, hostIndex: number, now: number = Date.now()): Promise<Record<string, string>> {
  const signature = await signer.signMessage(getBytes(bridgeCallDigest(call, hostIndex, now)));
  return { [BRIDGE_SIGNATURE_METADATA]: signature, [BRIDGE_ISSUED_AT_METADATA]: String(now) };
}

/**
 * Host side: checks that a call to this host was signed by the configured
 * bridge within {@link BRIDGE_CALL_MAX_SKEW_MS}. Run before the request is
 * looked at, so a stranger's call never touches a job.
 *
 * @throws MpcError `BRIDGE_UNAUTHENTICATED` naming what is missing or wrong
 * @example
 * verifyBridgeCall({ method: "Compute", request }, call.metadata.getMap(), { hostIndex: 0, bridgeAddress });
 */
export function verifyBridgeCall(
  call: BridgeCall,
  metadata: Readonly<Record<string, unknown>>,
  expected: { hostIndex: number; bridgeAddress: string; now?: number },
): void {
  const refuse = (why: string): MpcError =>
    new MpcError("BRIDGE_UNAUTHENTICATED", `${call.method} is for the market's bridge only: ${why}`);
  const signature = metadata[BRIDGE_SIGNATURE_METADATA];
  const issuedText = metadata[BRIDGE_ISSUED_AT_METADATA];
  if (typeof signature !== "string" || typeof issuedText !== "string") throw refuse("the call carries no bridge signature");
  const issuedAt = Number(issuedText);
  const now = expected.now ?? Date.now();
  if (!Number.isSafeInteger(issuedAt) || Math.abs(now - issuedAt) > BRIDGE_CALL_MAX_SKEW_MS) {
    throw refuse(`the signature's time ${JSON.stringify(issuedText)} is not within ${BRIDGE_CALL_MAX_SKEW_MS / 1000} s of this host's clock`);
  }
  let signer: string;
  try {
    signer = verifyMessage(getBytes(bridgeCallDigest(call, expected.hostIndex, issuedAt)), signature);
  } catch {
    throw refuse("the signature is malformed");
  }
  if (signer !== getAddress(expected.bridgeAddress)) throw refuse(`signed by ${signer}, not by the configured bridge`);
}
