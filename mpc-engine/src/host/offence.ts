import { AbiCoder, getAddress, isHexString, keccak256, toUtf8Bytes } from "ethers";

/**
 * Offences a host attests at compute time (the PenaltyCourt's codes): the host
 * holds no share of a registered dataset, or holds one whose commitment is not
 * the one the dataset registered on-chain for this host.
 */
export const OFFENCE_SHARE_MISSING = 1;
export const OFFENCE_COMMITMENT_MISMATCH = 2;
export type Offence = typeof OFFENCE_SHARE_MISSING | typeof OFFENCE_COMMITMENT_MISMATCH;

/** The gRPC metadata key of a host's attestation on a refused Compute. */
export const OFFENCE_METADATA = "scmpc-offence-attestation";

/** `PenaltyCourt.OFFENCE_TAG`. */
const OFFENCE_TAG = keccak256(toUtf8Bytes("scmpc-offence-v1"));

/**
 * One host's signed statement that a dataset of a request was missing or did
 * not match its commitment: EIP-191 over {@link offenceDigest}.
 */
export interface OffenceAttestation {
  host: number;
  datasetId: string;
  offence: Offence;
  signature: string;
}

/**
 * The 32 bytes a host signs, as `PenaltyCourt.offenceDigest` computes them:
 * bound to the chain, the court, the computation, the request, the dataset and
 * the offence, so an attestation is worth nothing anywhere else.
 */
export function offenceDigest(
  scope: { chainId: bigint; court: string },
  computation: string,
  requestId: string,
  datasetId: string,
  offence: Offence,
): string {
  return keccak256(
    AbiCoder.defaultAbiCoder().encode(
      ["bytes32", "uint256", "address", "address", "bytes32", "bytes32", "uint8"],
      [OFFENCE_TAG, scope.chainId, scope.court, computation, requestId, datasetId, offence],
    ),
  );
}

/**
 * Reads an attestation from its JSON text (gRPC metadata, a bridge answer);
 * undefined for anything that is not one.
 */
export function parseOffenceAttestation(value: unknown): OffenceAttestation | undefined {
  let a: Partial<OffenceAttestation>;
  try {
    a = (typeof value === "string" ? JSON.parse(value) : value) as Partial<OffenceAttestation>;
  } catch {
    return undefined;
  }
  if (a === null || typeof a !== "object") return undefined;
  if (typeof a.host !== "number" || ![0, 1, 2].includes(a.host)) return undefined;
  if (a.offence !== OFFENCE_SHARE_MISSING && a.offence !== OFFENCE_COMMITMENT_MISMATCH) return undefined;
  if (!isHexString(a.datasetId, 32) || !isHexString(a.signature, 65)) return undefined;
  return { host: a.host, datasetId: a.datasetId.toLowerCase(), offence: a.offence, signature: a.signature };
}

/** The court's address as the registry names it, checksummed; undefined while none is named. */
export function courtAddress(value: string): string | undefined {
  const address = getAddress(value);
  return /^0x0{40}$/i.test(address) ? undefined : address;
}
