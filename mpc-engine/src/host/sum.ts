import { getBytes } from "ethers";
import { MpcError } from "../errors.ts";
import type { OutputSharePair } from "../output-envelope.ts";
import { ringSum } from "../ring.ts";
import type { HostShare } from "../sharing.ts";
import type { JobExchange } from "./job-exchange.ts";
import { zeroShare } from "./zero-sharing.ts";

/** Declaration of an MPC algorithm a host can run. */
export interface AlgorithmDeclaration {
  /** Versioned name, as in ComputeRequest.algorithm. */
  name: string;
  /** Number of datasets it reads. */
  datasets: number;
  /** What the buyer receives. */
  output: string;
  /** What the output reveals beyond itself and what the hosts learn. */
  leakage: string;
}

/** `sum@1`: the sum of one column. */
export const SUM_V1: AlgorithmDeclaration = {
  name: "sum@1",
  datasets: 1,
  output: "one ring element: the column's sum mod 2^64, fixed point at the column's scale",
  leakage:
    "the buyer learns the sum (and the row count, public on-chain); hosts learn nothing: " +
    "the output shares are re-randomised with a zero sharing, so the buyer does not see per-component sums",
};

/**
 * Runs `sum@1` for this host. Two rounds, one message each way:
 *
 * - step 0: send seed s_i to host i+1, receive s_{i−1} from host i−1;
 *   z_i = Σ a + α_i with α_i = PRF(s_i) − PRF(s_{i−1}) (Σ α = 0);
 * - step 1: send z_i to host i−1, receive z_{i+1} from host i+1.
 *
 * Returns the output share (z_i, z_{i+1}); Σ z = Σ x mod 2^64.
 *
 * @throws MpcError `PEER_TIMEOUT` or `PEER_PROTOCOL`
 * @example
 * const [pair] = await runSum({ hostIndex: 0, requestId, share, seed, exchange });
 */
export async function runSum(input: {
  hostIndex: number;
  requestId: string;
  share: HostShare;
  seed: Buffer;
  exchange: JobExchange;
}): Promise<OutputSharePair[]> {
  const { hostIndex, share, seed, exchange } = input;
  const next = (hostIndex + 1) % 3;
  const previous = (hostIndex + 2) % 3;
  const requestId = getBytes(input.requestId);

  const [, previousSeed] = await Promise.all([exchange.send(next, 0, seed), exchange.receive(previous, 0)]);
  expectLength(previousSeed, 32, previous, 0);

  const z = BigInt.asUintN(64, ringSum(share.a) + zeroShare(seed, previousSeed, requestId));
  const zBytes = Buffer.alloc(8);
  zBytes.writeBigUInt64LE(z);
  const [, nextZ] = await Promise.all([exchange.send(previous, 1, zBytes), exchange.receive(next, 1)]);
  expectLength(nextZ, 8, next, 1);

  return [[z, nextZ.readBigUInt64LE(0)]];
}

function expectLength(payload: Buffer, length: number, fromHost: number, step: number): void {
  if (payload.length !== length) {
    throw new MpcError("PEER_PROTOCOL", `host ${fromHost} sent a step-${step} payload of ${payload.length} bytes, expected ${length}`, {
      details: { fromHost, step },
    });
  }
}
