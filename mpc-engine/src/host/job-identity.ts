import { AbiCoder, keccak256 } from "ethers";

/** Domain tag of a job identity. */
export const JOB_DOMAIN = "scmpc-job-v1";

/** What one job computes: the request's parameters and the exact shares it reads. */
export interface JobInputs {
  /** `name@version`. */
  algorithm: string;
  /** Lowercase 0x dataset ids, in request (ascending) order. */
  datasetIds: readonly string[];
  /** The parameters' JSON text, as on-chain. */
  params: string;
  /** Lowercase 0x bytes32 X25519 key of the buyer. */
  buyerKey: string;
  /** The request's privacy budget per dataset in milli-ε (0: exact); it decides the noise added. */
  epsilonMilli: number;
  /** Per dataset, its on-chain commitments of hosts 0, 1 and 2 (the shares computed over). */
  commitments: readonly (readonly [string, string, string])[];
}

/**
 * keccak256 of everything a job computes over: a job whose algorithm,
 * datasets, parameters, buyer key, ε or shares differ has another hash.
 *
 * @example
 * const inputsHash = jobInputsHash({ algorithm: "sum@1", datasetIds: [id], params, buyerKey, epsilonMilli: 1000, commitments: [dataset.commitments] });
 */
export function jobInputsHash(inputs: JobInputs): string {
  return keccak256(
    AbiCoder.defaultAbiCoder().encode(
      ["string", "bytes32[]", "string", "bytes32", "uint32", "bytes32[3][]"],
      [inputs.algorithm, inputs.datasetIds, inputs.params, inputs.buyerKey, inputs.epsilonMilli, inputs.commitments],
    ),
  );
}

/** Where a job's request lives: which chain, which contract, which request. */
export interface JobLocation {
  chainId: bigint;
  /** The per-algorithm contract holding the request. */
  consumer: string;
  /** The on-chain (Chainlink) request id. */
  requestId: string;
}

/**
 * The identity of one job, lowercase 0x bytes32: keccak256 of the chain id,
 * the consumer, the request id and the inputs' hash (which covers the
 * buyer's fresh key and the shares computed over). Every host derives it from
 * the chain on its own, so the three agree without trusting the bridge.
 * Randomness seeds, host-to-host mailboxes, finished results and release keys
 * are keyed on it: a request id that comes back with other inputs (a chain
 * reset that kept the hosts' disks, the same deployment on two chains) is
 * another job and shares nothing with the first, while the same request
 * mined again in another block by a reorganisation stays the same job (its
 * stored answer and keys still serve it).
 *
 * @example
 * const jobId = jobIdOf({ chainId: 31337n, consumer, requestId }, jobInputsHash(inputs));
 */
export function jobIdOf(location: JobLocation, inputsHash: string): string {
  return keccak256(
    AbiCoder.defaultAbiCoder().encode(
      ["string", "uint256", "address", "bytes32", "bytes32"],
      [JOB_DOMAIN, location.chainId, location.consumer, location.requestId, inputsHash],
    ),
  ).toLowerCase();
}
