import { Contract, formatUnits, type Signer } from "ethers";
import { loadArtifact } from "@scmpc/contracts";
import { PAYMENT_DECIMALS } from "./dataset-policy.ts";
import type { StackState } from "./state.ts";

// Penalties for provable offences: when two MPC hosts refused a request because
// a dataset's share was missing or did not match its on-chain commitment, each
// signed an attestation, which the bridge keeps with the failed job and serves
// to anybody. With them, anyone may have the PenaltyCourt punish the dataset:
// the request fails with a refund if it is still pending, part of the seller's
// stake is slashed (part of that to the buyer, the rest burned), and the
// dataset is deregistered.

/** Two hosts' attestations as the bridge serves them (`GET /offences/:requestId`). */
export interface AttestedOffence {
  requestId: string;
  consumer: string;
  attestations: { host: number; datasetId: string; offence: number; signature: string }[];
}

/** What a punishment did. */
export interface Punishment {
  requestId: string;
  datasetId: string;
  /** The attesting hosts and their offences ("missing" or "mismatch"). */
  hosts: { host: number; offence: string }[];
  /** The buyer compensated. */
  buyer: string;
  /** Slashed from the stake and paid to the buyer, in mUSD. */
  slashed: string;
  compensation: string;
  transaction: string;
}

const OFFENCE_NAMES: Record<number, string> = { 1: "missing", 2: "mismatch" };

/**
 * The hosts' attestations of an offence at a request, from the bridge.
 *
 * @throws Error when the bridge has none (no offence attested, or the job has not failed)
 */
export async function fetchOffence(bridgeUrl: string, requestId: string): Promise<AttestedOffence> {
  const url = new URL(`offences/${requestId.toLowerCase()}`, bridgeUrl.endsWith("/") ? bridgeUrl : `${bridgeUrl}/`);
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  } catch (cause) {
    throw new Error(`the bridge at ${bridgeUrl} is unreachable: ${(cause as Error).message}`, { cause });
  }
  const body = (await response.json().catch(() => ({}))) as Partial<AttestedOffence> & { error?: { message?: string } };
  if (response.status === 404) {
    throw new Error(`no offence is attested for request ${requestId}: the hosts found its datasets' shares in order, or its job has not failed (yet)`);
  }
  if (!response.ok || !Array.isArray(body.attestations)) {
    throw new Error(`the bridge answered ${response.status} for the offences of request ${requestId}: ${body.error?.message ?? "no attestations"}`);
  }
  return body as AttestedOffence;
}

/**
 * Has the penalty court punish the dataset two hosts attested an offence of at
 * `requestId`. Anyone may call it: the court checks the hosts' signatures.
 *
 * @throws Error naming why the court refused (already punished, a fulfilled request, ...)
 * @example
 * const { slashed, compensation } = await punishRequest({ state, signer, requestId });
 */
export async function punishRequest(options: { state: StackState; signer: Signer; requestId: string; offence?: AttestedOffence }): Promise<Punishment> {
  const { state, signer, requestId } = options;
  const offence = options.offence ?? (await fetchOffence(state.bridgeUrl, requestId));
  const [first, second] = offence.attestations;
  if (first === undefined || second === undefined || first.datasetId !== second.datasetId) throw new Error(`request ${requestId}: the bridge returned no two attestations of one dataset`);
  const court = new Contract(state.contracts.penaltyCourt, loadArtifact("PenaltyCourt").abi, signer);
  if (await court.isPunished(offence.consumer, requestId, first.datasetId)) {
    throw new Error(`dataset ${first.datasetId} was already punished for request ${requestId}`);
  }
  const attestations = [first, second].map(({ host, offence: code, signature }) => ({ host, offence: code, signature }));
  const receipt = await (await court.punish(offence.consumer, requestId, first.datasetId, attestations)).wait();
  const registry = new Contract(state.contracts.registry, loadArtifact("DatasetRegistry").abi, signer);
  const punished = receipt.logs.map((log: { topics: string[]; data: string }) => registry.interface.parseLog(log)).find((e: { name?: string } | null) => e?.name === "DatasetPunished");
  if (!punished) throw new Error(`the court's transaction ${receipt.hash} punished nothing`);
  return {
    requestId,
    datasetId: first.datasetId,
    hosts: [first, second].map((a) => ({ host: a.host, offence: OFFENCE_NAMES[a.offence] ?? String(a.offence) })),
    buyer: punished.args.compensated as string,
    slashed: formatUnits(punished.args.slashed as bigint, PAYMENT_DECIMALS),
    compensation: formatUnits(punished.args.compensation as bigint, PAYMENT_DECIMALS),
    transaction: receipt.hash as string,
  };
}
