import { getAddress, getBytes, isAddress, isHexString, ZeroAddress } from "ethers";
import type { Logger } from "pino";
import type { ComputeRequest, ComputeResponse } from "@scmpc/protos";
import { MpcError } from "../errors.ts";
import { encryptOutputShare } from "../output-envelope.ts";
import { decodeRingVector } from "../share-encoding.ts";
import { REQUEST_STATUS_PENDING, type ChainReader } from "./chain-reader.ts";
import type { HostConfig } from "./config.ts";
import { createJobExchange } from "./job-exchange.ts";
import type { PeerClients } from "./peer-client.ts";
import type { PeerMailbox } from "./peer-mailbox.ts";
import type { ShareStore, StoredShare } from "./share-store.ts";
import { runSum, SUM_V1 } from "./sum.ts";
import { requestSeed } from "./zero-sharing.ts";

/** Runs Compute requests: validation, on-chain authorisation, protocol, encryption, caching. */
export interface ComputeService {
  /**
   * Computes this host's encrypted output share. A repeated request for a
   * finished requestId returns the cached response; a concurrent duplicate
   * joins the running job.
   */
  compute(request: ComputeRequest): Promise<ComputeResponse>;
  /** Aborts running jobs. */
  close(): void;
}

interface ParsedCompute {
  requestId: string;
  algorithm: string;
  datasetId: string;
  column: string;
  buyerKey: string;
  consumer: string;
}

const SUPPORTED = new Map([[SUM_V1.name, SUM_V1]]);

/**
 * Creates the compute service of one host.
 *
 * @example
 * const service = createComputeService({ config, store, chain, mailbox, peers, hostSecret, logger });
 * const response = await service.compute(request);
 */
export function createComputeService(deps: {
  config: HostConfig;
  store: ShareStore;
  chain: ChainReader;
  mailbox: PeerMailbox;
  peers: PeerClients;
  hostSecret: () => Buffer;
  logger: Logger;
}): ComputeService {
  const { config, logger } = deps;
  const allowed = new Set(config.algorithmContracts.map((a) => getAddress(a)));
  // Responses are kept for the life of the process: the encrypted output is
  // small and a second run would produce different ciphertexts for one request.
  const done = new Map<string, { fingerprint: string; response: ComputeResponse }>();
  const running = new Map<string, { fingerprint: string; promise: Promise<ComputeResponse> }>();
  const controllers = new Set<AbortController>();
  let closed = false;

  const runJob = async (job: ParsedCompute, signal: AbortSignal, deadline: number): Promise<ComputeResponse> => {
    const share = await deps.store.get(job.datasetId);
    if (!share) throw new MpcError("DATASET_NOT_FOUND", `host ${config.hostIndex} holds no share of dataset ${job.datasetId}`);
    const column = share.columns.find((c) => c.name === job.column);
    if (!column) throw new MpcError("COLUMN_NOT_FOUND", `dataset ${job.datasetId} has no column ${JSON.stringify(job.column)}`);

    await withDeadline(checkOnChain(job, share), deadline, signal);

    const exchange = createJobExchange({
      hostIndex: config.hostIndex,
      requestId: job.requestId,
      mailbox: deps.mailbox,
      peers: deps.peers,
      deadline,
      signal,
    });
    const values = await runSum({
      hostIndex: config.hostIndex,
      requestId: job.requestId,
      share: { a: decodeRingVector(column.a), b: decodeRingVector(column.b) },
      seed: requestSeed(deps.hostSecret(), getBytes(job.requestId)),
      exchange,
    });
    const encryptedOutput = encryptOutputShare({
      requestId: job.requestId,
      hostIndex: config.hostIndex,
      buyerPublicKey: job.buyerKey,
      values,
    });
    return { requestId: job.requestId, hostIndex: config.hostIndex, encryptedOutput };
  };

  const checkOnChain = async (job: ParsedCompute, share: StoredShare): Promise<void> => {
    const [dataset, request] = await Promise.all([
      deps.chain.getDataset(job.datasetId),
      deps.chain.getRequest(job.consumer, job.requestId),
    ]);
    if (dataset.seller === ZeroAddress) throw new MpcError("DATASET_NOT_FOUND", `dataset ${job.datasetId} is not registered on-chain`);
    if (!dataset.active) throw new MpcError("DATASET_INACTIVE", `dataset ${job.datasetId} is not active on-chain`);
    const onChain = dataset.commitments[config.hostIndex].toLowerCase();
    if (onChain !== share.commitment) {
      throw new MpcError(
        "CHAIN_COMMITMENT_MISMATCH",
        `on-chain commitment for host ${config.hostIndex} is ${onChain} but the stored share's is ${share.commitment}; refusing to compute`,
        { details: { datasetId: job.datasetId, onChain, stored: share.commitment } },
      );
    }
    if (dataset.rowCount !== share.rowCount) {
      throw new MpcError("ROW_COUNT_MISMATCH", `on-chain row count ${dataset.rowCount} differs from the stored share's ${share.rowCount}`);
    }
    if (request.buyer === ZeroAddress) {
      throw new MpcError("REQUEST_NOT_FOUND", `request ${job.requestId} is unknown to consumer ${job.consumer}`);
    }
    if (request.status !== REQUEST_STATUS_PENDING) {
      throw new MpcError("REQUEST_NOT_PENDING", `request ${job.requestId} has on-chain status ${request.status}, not Pending`);
    }
    const mismatches: string[] = [];
    if (request.datasetId.toLowerCase() !== job.datasetId) mismatches.push(`datasetId (on-chain ${request.datasetId})`);
    if (request.column !== job.column) mismatches.push(`column (on-chain ${JSON.stringify(request.column)})`);
    if (request.buyerKey.toLowerCase() !== job.buyerKey) mismatches.push(`buyerKey (on-chain ${request.buyerKey})`);
    if (mismatches.length > 0) {
      throw new MpcError("REQUEST_MISMATCH", `compute request differs from on-chain request ${job.requestId} in ${mismatches.join(", ")}`);
    }
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
      const existing = done.get(job.requestId) ?? running.get(job.requestId);
      if (existing) {
        if (existing.fingerprint !== fingerprint) {
          throw new MpcError("REQUEST_ID_REUSED", `request ${job.requestId} was already submitted with different parameters`);
        }
        return "response" in existing ? existing.response : existing.promise;
      }
      return start(job, fingerprint);
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
  const algorithm = SUPPORTED.get(request.algorithm);
  if (!algorithm) {
    throw new MpcError("ALGORITHM_UNSUPPORTED", `algorithm ${JSON.stringify(request.algorithm)} is not supported (supported: ${[...SUPPORTED.keys()].join(", ")})`);
  }
  if (request.datasetIds.length !== algorithm.datasets) {
    throw invalid(`${algorithm.name} takes ${algorithm.datasets} dataset(s), got ${request.datasetIds.length}`);
  }
  const datasetId = request.datasetIds[0];
  if (!isHexString(datasetId, 32)) throw invalid("dataset_ids must be 0x-prefixed bytes32 hex strings");
  if (request.column === "") throw invalid("column must not be empty");
  if (!isHexString(request.buyerKey, 32)) throw invalid("buyer_key must be a 0x-prefixed 32-byte X25519 public key");
  if (!isAddress(request.consumer)) throw invalid("consumer must be a 0x-prefixed address");
  return {
    requestId: request.requestId.toLowerCase(),
    algorithm: algorithm.name,
    datasetId: datasetId.toLowerCase(),
    column: request.column,
    buyerKey: request.buyerKey.toLowerCase(),
    consumer: getAddress(request.consumer),
  };
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
