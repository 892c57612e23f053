import { AbiCoder, getAddress, getBytes, isAddress, isHexString, keccak256, toUtf8Bytes, Wallet, ZeroAddress } from "ethers";
import type { Logger } from "pino";
import type { ComputeRequest, ComputeResponse, SignResultRequest, SignResultResponse } from "@scmpc/protos";
import { ALGORITHMS, planComputation, schemaText, type Plan } from "../algorithms/catalog.ts";
import { rerandomize, runPlan } from "../algorithms/run.ts";
import { MpcError } from "../errors.ts";
import { encryptOutputShare, unpackResult, type OutputSharePair } from "../output-envelope.ts";
import { setupParty } from "../protocol/party.ts";
import type { ArithShare } from "../protocol/shares.ts";
import { decodeRingVector } from "../share-encoding.ts";
import { REQUEST_STATUS_PENDING, requestHashOf, type ChainReader } from "./chain-reader.ts";
import type { HostConfig } from "./config.ts";
import type { FinishedJob, JobResults } from "./job-results.ts";
import { createJobExchange } from "./job-exchange.ts";
import type { PeerClients } from "./peer-client.ts";
import type { PeerMailbox } from "./peer-mailbox.ts";
import type { ShareStore, StoredShare } from "./share-store.ts";
import { requestSeed } from "./request-seed.ts";

/** Runs Compute requests: validation, on-chain authorisation, protocol, encryption, caching. */
export interface ComputeService {
  /**
   * Computes this host's encrypted output share. A repeated request for a
   * finished requestId returns the cached response; a concurrent duplicate
   * joins the running job.
   */
  compute(request: ComputeRequest): Promise<ComputeResponse>;
  /**
   * Signs a packed result for the chain: only for a job this host finished,
   * and only if the result carries this host's own envelope unchanged.
   */
  signResult(request: SignResultRequest): Promise<SignResultResponse>;
  /** Aborts running jobs. */
  close(): void;
}

interface ParsedCompute {
  requestId: string;
  algorithm: string;
  /** Lowercase, in the order the request gives (the contract keeps them ascending). */
  datasetIds: string[];
  params: string;
  buyerKey: string;
  consumer: string;
}

/** Most datasets one request may combine (as the per-algorithm contract). */
const MAX_DATASETS = 20;

/**
 * Creates the compute service of one host.
 *
 * @example
 * const service = createComputeService({ config, store, chain, mailbox, peers, hostSecret, results: createJobResults(config.dataDir), logger });
 * const response = await service.compute(request);
 */
export function createComputeService(deps: {
  config: HostConfig;
  store: ShareStore;
  chain: ChainReader;
  mailbox: PeerMailbox;
  peers: PeerClients;
  hostSecret: () => Buffer;
  /** Finished jobs on disk: a restarted host answers a resumed job as it did before. */
  results: JobResults;
  logger: Logger;
}): ComputeService {
  const { config, logger } = deps;
  const allowed = new Set(config.algorithmContracts.map((a) => getAddress(a)));
  const signer = new Wallet(config.signingKey);
  // Responses are kept (in memory, and on disk for after a restart): the
  // encrypted output is small and a second run would produce different
  // ciphertexts for one request.
  const done = new Map<string, FinishedJob>();
  const finished = async (requestId: string): Promise<FinishedJob | undefined> => {
    const cached = done.get(requestId);
    if (cached) return cached;
    const stored = await deps.results.get(requestId);
    if (stored) done.set(requestId, stored);
    return stored;
  };
  const running = new Map<string, { fingerprint: string; promise: Promise<ComputeResponse> }>();
  const controllers = new Set<AbortController>();
  let closed = false;

  const runJob = async (job: ParsedCompute, signal: AbortSignal, deadline: number): Promise<ComputeResponse> => {
    const shares: StoredShare[] = [];
    for (const datasetId of job.datasetIds) {
      const share = await deps.store.get(datasetId);
      if (!share) throw new MpcError("DATASET_NOT_FOUND", `host ${config.hostIndex} holds no share of dataset ${datasetId}`);
      shares.push(share);
    }
    const plan = await withDeadline(checkOnChain(job, shares), deadline, signal);

    const exchange = createJobExchange({
      hostIndex: config.hostIndex,
      requestId: job.requestId,
      mailbox: deps.mailbox,
      peers: deps.peers,
      deadline,
      signal,
    });
    // The seed is derived from the host's secret and the request id, so a
    // retried job sends exactly the messages it sent before.
    const party = await setupParty({
      index: config.hostIndex as 0 | 1 | 2,
      exchange,
      randomSeed: requestSeed(deps.hostSecret(), getBytes(job.requestId)),
    });
    const rowCount = shares.reduce((n, s) => n + Number(s.rowCount), 0);
    const opened = await rerandomize(party, await runPlan(party, plan, { columns: columnInputs(plan, shares), rowCount }));
    const values: OutputSharePair[] = Array.from(opened.a, (a, k) => [a, opened.b[k]]);
    const encryptedOutput = encryptOutputShare({
      requestId: job.requestId,
      hostIndex: config.hostIndex,
      buyerPublicKey: job.buyerKey,
      values,
    });
    return { requestId: job.requestId, hostIndex: config.hostIndex, encryptedOutput };
  };

  /**
   * Everything this host checks on-chain before it computes, independently of
   * the bridge: the contract sells this algorithm; the request is pending and
   * matches (datasets, params, buyer key); every dataset is registered, active,
   * allows the algorithm, has the schema and commitment of the share held here;
   * the rows together meet every seller's minimum. Returns the plan.
   */
  const checkOnChain = async (job: ParsedCompute, shares: StoredShare[]): Promise<Plan> => {
    const [algorithm, request, datasets] = await Promise.all([
      deps.chain.algorithmOf(job.consumer),
      deps.chain.getRequest(job.consumer, job.requestId),
      Promise.all(job.datasetIds.map((id) => deps.chain.getDataset(id))),
    ]);
    if (algorithm !== job.algorithm) {
      throw new MpcError("REQUEST_MISMATCH", `contract ${job.consumer} sells ${algorithm}, not ${job.algorithm}`);
    }
    if (request.buyer === ZeroAddress) {
      throw new MpcError("REQUEST_NOT_FOUND", `request ${job.requestId} is unknown to consumer ${job.consumer}`);
    }
    if (request.status !== REQUEST_STATUS_PENDING) {
      throw new MpcError("REQUEST_NOT_PENDING", `request ${job.requestId} has on-chain status ${request.status}, not Pending`);
    }
    if (requestHashOf(job) !== request.requestHash.toLowerCase()) {
      throw new MpcError(
        "REQUEST_MISMATCH",
        `compute request differs from on-chain request ${job.requestId}: its datasets, params or buyer key are not the ones the buyer paid for`,
      );
    }

    const algorithmId = keccak256(toUtf8Bytes(job.algorithm));
    const totalRows = datasets.reduce((n, d) => n + d.rowCount, 0n);
    for (const [k, dataset] of datasets.entries()) {
      const id = job.datasetIds[k];
      const share = shares[k];
      if (dataset.seller === ZeroAddress) throw new MpcError("DATASET_NOT_FOUND", `dataset ${id} is not registered on-chain`);
      if (!dataset.active) throw new MpcError("DATASET_INACTIVE", `dataset ${id} is not active on-chain`);
      const onChain = dataset.commitments[config.hostIndex].toLowerCase();
      if (onChain !== share.commitment) {
        throw new MpcError(
          "CHAIN_COMMITMENT_MISMATCH",
          `dataset ${id}: on-chain commitment for host ${config.hostIndex} is ${onChain} but the stored share's is ${share.commitment}; refusing to compute`,
          { details: { datasetId: id, onChain, stored: share.commitment } },
        );
      }
      if (dataset.rowCount !== share.rowCount) {
        throw new MpcError("ROW_COUNT_MISMATCH", `dataset ${id}: on-chain row count ${dataset.rowCount} differs from the stored share's ${share.rowCount}`);
      }
      if (keccak256(toUtf8Bytes(schemaText(share.columns))) !== dataset.schemaHash) {
        throw new MpcError("SCHEMA_MISMATCH", `dataset ${id}: the stored share's columns do not match the on-chain schema`);
      }
      // Seller policy, enforced here as well as by the contract.
      if (!(await deps.chain.isAlgorithmAllowed(id, algorithmId))) {
        throw new MpcError("POLICY_REFUSED", `dataset ${id}: its seller does not allow ${job.algorithm}`);
      }
      if (totalRows < dataset.minRows) {
        throw new MpcError("POLICY_REFUSED", `dataset ${id}: its seller requires results over at least ${dataset.minRows} rows; this one aggregates ${totalRows}`);
      }
    }
    if (new Set(datasets.map((d) => d.schemaHash)).size > 1) {
      throw new MpcError("SCHEMA_MISMATCH", "the datasets of one request must share one schema");
    }
    return planComputation(job.algorithm, job.params, { columns: shares[0].columns.map((c) => ({ name: c.name, scale: c.scale })) });
  };

  const start = (job: ParsedCompute, fingerprint: string): Promise<ComputeResponse> => {
    const controller = new AbortController();
    controllers.add(controller);
    const deadline = Date.now() + config.jobTimeoutMs;
    const timer = setTimeout(
      () => controller.abort(new MpcError("PEER_TIMEOUT", `job ${job.requestId} exceeded ${config.jobTimeoutMs} ms`)),
      config.jobTimeoutMs + 50,
    );
    const startedAt = Date.now();
    const promise = runJob(job, controller.signal, deadline)
      .then(async (response) => {
        // On disk before anyone sees it: the answer to this request never changes.
        await deps.results.put(job.requestId, { fingerprint, response });
        return response;
      })
      .then(
        (response) => {
          done.set(job.requestId, { fingerprint, response });
          deps.mailbox.finish(job.requestId);
          logger.info({ requestId: job.requestId, algorithm: job.algorithm, ms: Date.now() - startedAt }, "job finished");
          return response;
        },
        (err: unknown) => {
          // Keep the mailbox: a retry can still use messages peers will not resend.
          controller.abort(err);
          logger.warn({ requestId: job.requestId, code: (err as MpcError).code, err }, "job failed");
          throw err;
        },
      )
      .finally(() => {
        clearTimeout(timer);
        controllers.delete(controller);
        running.delete(job.requestId);
      });
    running.set(job.requestId, { fingerprint, promise });
    return promise;
  };

  return {
    async compute(request) {
      if (closed) throw new MpcError("HOST_CLOSING", "host is shutting down");
      const job = parse(request);
      if (!allowed.has(job.consumer)) {
        throw new MpcError("CONSUMER_NOT_ALLOWED", `consumer ${job.consumer} is not an allowed algorithm contract`);
      }
      const fingerprint = JSON.stringify(job);
      let existing: FinishedJob | { fingerprint: string; promise: Promise<ComputeResponse> } | undefined = done.get(job.requestId) ?? running.get(job.requestId);
      if (!existing) {
        // Finished before a restart? (Looked up again after the read: a concurrent duplicate may have started it meanwhile.)
        await finished(job.requestId);
        existing = done.get(job.requestId) ?? running.get(job.requestId);
      }
      if (existing) {
        if (existing.fingerprint !== fingerprint) {
          throw new MpcError("REQUEST_ID_REUSED", `request ${job.requestId} was already submitted with different parameters`);
        }
        return "response" in existing ? existing.response : existing.promise;
      }
      return start(job, fingerprint);
    },
    async signResult(request) {
      if (!isHexString(request.requestId, 32)) throw new MpcError("INVALID_ARGUMENT", "request_id must be a 0x-prefixed bytes32 hex string");
      const requestId = request.requestId.toLowerCase();
      const job = await finished(requestId);
      if (!job) throw new MpcError("REQUEST_NOT_FOUND", `host ${config.hostIndex} has no finished job for request ${requestId}`);
      let envelopes: Buffer[];
      try {
        envelopes = unpackResult(`0x${Buffer.from(request.result).toString("hex")}`);
      } catch (cause) {
        throw new MpcError("INVALID_ARGUMENT", "result is not three packed output envelopes", { cause });
      }
      if (!Buffer.from(envelopes[config.hostIndex]).equals(Buffer.from(job.response.encryptedOutput))) {
        throw new MpcError("OUTPUT_TAMPERED", `the result does not carry host ${config.hostIndex}'s own output envelope for request ${requestId}`);
      }
      const digest = keccak256(AbiCoder.defaultAbiCoder().encode(["bytes32", "bytes32"], [requestId, keccak256(request.result)]));
      return {
        requestId,
        hostIndex: config.hostIndex,
        signature: await signer.signMessage(getBytes(digest)),
        signer: signer.address,
      };
    },
    close() {
      closed = true;
      for (const c of controllers) c.abort(new MpcError("HOST_CLOSING", "host is shutting down"));
    },
  };
}

function parse(request: ComputeRequest): ParsedCompute {
  const invalid = (message: string): MpcError => new MpcError("INVALID_ARGUMENT", message);
  if (!isHexString(request.requestId, 32)) throw invalid("request_id must be a 0x-prefixed bytes32 hex string");
  if (!(request.algorithm in ALGORITHMS)) {
    throw new MpcError(
      "ALGORITHM_UNSUPPORTED",
      `algorithm ${JSON.stringify(request.algorithm)} is not supported (supported: ${Object.keys(ALGORITHMS).join(", ")})`,
    );
  }
  if (request.datasetIds.length === 0 || request.datasetIds.length > MAX_DATASETS) {
    throw invalid(`dataset_ids must list 1 to ${MAX_DATASETS} datasets, got ${request.datasetIds.length}`);
  }
  for (const id of request.datasetIds) {
    if (!isHexString(id, 32)) throw invalid("dataset_ids must be 0x-prefixed bytes32 hex strings");
  }
  const datasetIds = request.datasetIds.map((id) => id.toLowerCase());
  if (new Set(datasetIds).size !== datasetIds.length) throw invalid("dataset_ids must not repeat a dataset");
  if (request.params === "") throw invalid("params must not be empty");
  if (!isHexString(request.buyerKey, 32)) throw invalid("buyer_key must be a 0x-prefixed 32-byte X25519 public key");
  if (!isAddress(request.consumer)) throw invalid("consumer must be a 0x-prefixed address");
  return {
    requestId: request.requestId.toLowerCase(),
    algorithm: request.algorithm,
    datasetIds,
    params: request.params,
    buyerKey: request.buyerKey.toLowerCase(),
    consumer: getAddress(request.consumer),
  };
}

/** One share vector of the rows of several, in order. */
function concatShares(parts: readonly ArithShare[]): ArithShare {
  const rows = parts.reduce((n, p) => n + p.a.length, 0);
  const out = { a: new BigUint64Array(rows), b: new BigUint64Array(rows) };
  let offset = 0;
  for (const p of parts) {
    out.a.set(p.a, offset);
    out.b.set(p.b, offset);
    offset += p.a.length;
  }
  return out;
}

/** This host's share of each column the plan reads, the datasets' rows concatenated in request order. */
function columnInputs(plan: Plan, shares: readonly StoredShare[]): Map<string, ArithShare> {
  const names = "column" in plan ? [plan.column.name] : "x" in plan ? [...new Set([plan.x.name, plan.y.name])] : [];
  const inputs = new Map<string, ArithShare>();
  for (const name of names) {
    const parts = shares.map((share) => {
      const column = share.columns.find((c) => c.name === name);
      if (!column) throw new MpcError("COLUMN_NOT_FOUND", `dataset ${share.datasetId} has no column ${JSON.stringify(name)}`);
      return column;
    });
    const decoded = parts.map((c) => ({ a: decodeRingVector(c.a), b: decodeRingVector(c.b) }));
    inputs.set(name, decoded.length === 1 ? decoded[0] : concatShares(decoded));
  }
  return inputs;
}

function withDeadline<T>(promise: Promise<T>, deadline: number, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new MpcError("CHAIN_UNAVAILABLE", "on-chain checks did not finish before the job deadline")),
      Math.max(0, deadline - Date.now()),
    );
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
    });
  });
}
