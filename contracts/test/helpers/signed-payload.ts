/**
 * Builds the bridge's answer to a computation request the way the three MPC
 * hosts and the relay do: a result, each host's signature over it, and the
 * Operator's `fulfillOracleRequest2` data. Shared by the gas script, the
 * tests' market fixture and the property-based and reentrancy tests; no test
 * of its own.
 */
import { AbiCoder, concat, getBytes, keccak256, randomBytes, toUtf8Bytes } from "ethers";
import type { BytesLike, Signer } from "ethers";

const coder = AbiCoder.defaultAbiCoder();

/** Size of one host's buyer envelope (its output share encrypted to the buyer's X25519 key). */
export const ENVELOPE_BYTES = 94;
/** Version byte of a wrapped envelope (the buyer's envelope inside is version 1). */
export const WRAPPED_VERSION = 2;
/** The wrapping header: version(1) || hostIndex(1) || keccak256(release key)(32) || iv(12) || tag(16). */
export const WRAPPED_HEADER_BYTES = 1 + 1 + 32 + 12 + 16;
/** One host's wrapped envelope: the header around the buyer envelope (156 bytes). */
export const WRAPPED_ENVELOPE_BYTES = WRAPPED_HEADER_BYTES + ENVELOPE_BYTES;

/**
 * Where a fulfilment is valid: the chain and the AlgorithmComputation contract
 * it answers. The hosts' signatures cover both, so a signature made for one
 * deployment is worthless on another chain or to another contract.
 */
export interface FulfilmentScope {
  chainId: bigint;
  /** The AlgorithmComputation's address. */
  consumer: string;
}

/** `n` bytes, random or (with a seed) derived from `label` so that runs repeat. */
function bytesOf(n: number, seed: string | undefined, label: string): Uint8Array {
  if (seed === undefined) return randomBytes(n);
  const words: string[] = [];
  for (let i = 0; i * 32 < n; i++) words.push(keccak256(toUtf8Bytes(`${seed}/${label}/${i}`)));
  return getBytes(concat(words)).slice(0, n);
}

/**
 * One host's wrapped envelope laid out as the hosts send it: version, host
 * index, keccak256 of the release key, IV, tag, then the 94-byte buyer envelope
 * (ciphertext here). The contracts never look inside; the layout matters for
 * size and for how many of its calldata bytes are zero.
 */
export function wrappedEnvelope(hostIndex: number, seed?: string): Uint8Array {
  const releaseKey = bytesOf(32, seed, `${hostIndex}/key`);
  return getBytes(
    concat([
      Uint8Array.of(WRAPPED_VERSION, hostIndex),
      keccak256(releaseKey),
      bytesOf(12, seed, `${hostIndex}/iv`),
      bytesOf(16, seed, `${hostIndex}/tag`),
      bytesOf(ENVELOPE_BYTES, seed, `${hostIndex}/envelope`),
    ]),
  );
}

/**
 * A result as the hosts now send it: `abi.encode(bytes32 jobId, bytes w0, bytes w1, bytes w2)`
 * with three 156-byte wrapped envelopes (704 bytes in all). The bytes are random,
 * or derived from `seed` (so that calldata, whose zero bytes cost less, is the same
 * from run to run).
 */
export function envelopeResult(seed?: string): string {
  const jobId = bytesOf(32, seed, "job");
  return coder.encode(["bytes32", "bytes", "bytes", "bytes"], [jobId, wrappedEnvelope(0, seed), wrappedEnvelope(1, seed), wrappedEnvelope(2, seed)]);
}

/**
 * The 32 bytes each host signs (EIP-191), as `AlgorithmComputation.fulfillmentDigest`
 * computes them: keccak256(abi.encode(chainId, consumer, requestId, keccak256(result))).
 */
export function fulfilmentDigest(scope: FulfilmentScope, requestId: string, result: BytesLike): string {
  return keccak256(
    coder.encode(["uint256", "address", "bytes32", "bytes32"], [scope.chainId, scope.consumer, requestId, keccak256(result)]),
  );
}

/**
 * `abi.encode(bytes result, bytes[3] signatures)` with signature i made by `signers[i]`
 * (`personal_sign` over {@link fulfilmentDigest} for `scope`).
 */
export async function signedPayload(
  signers: readonly Signer[],
  scope: FulfilmentScope,
  requestId: string,
  result: BytesLike,
): Promise<string> {
  if (signers.length !== 3) throw new Error(`three host signers are needed, got ${signers.length}`);
  const digest = getBytes(fulfilmentDigest(scope, requestId, result));
  const signatures = await Promise.all(signers.map((s) => s.signMessage(digest)));
  return coder.encode(["bytes", "bytes[3]"], [result, signatures]);
}

/** The Operator's `data` argument: abi.encode(requestId, payload); its first word must be the request id. */
export function fulfilmentData(requestId: string, payload: BytesLike): string {
  return coder.encode(["bytes32", "bytes"], [requestId, payload]);
}
