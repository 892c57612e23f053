import { AbiCoder, getAddress, getBytes, isAddress, isHexString, keccak256, toUtf8Bytes, Wallet, ZeroAddress } from "ethers";
import type { Logger } from "pino";
import type {
  ComputeRequest,
  ComputeResponse,
  ReleaseKeyRequest,
  ReleaseKeyResponse,
  SignResultRequest,
  SignResultResponse,
} from "@scmpc/protos";
import { schemaText } from "../algorithms/catalog.ts";
import { rerandomize } from "../algorithms/run.ts";
import { jobAlgorithms, jobColumns, planJob, queryAggregateEntry, queryFunctions, QUERY_RESTRICTED_ENTRY, runJob, type JobPlan } from "../plan/job-plan.ts";
import { MpcError } from "../errors.ts";
import { encryptOutputShare, unpackResult, type OutputSharePair } from "../output-envelope.ts";
import type { PrfPool } from "../protocol/prf-pool.ts";
import { setupParty } from "../protocol/party.ts";
import { newReleaseKey, wrapEnvelope } from "../release-key.ts";
import { REQUEST_STATUS_FULFILLED, REQUEST_STATUS_PENDING, type ChainReader, type OnChainDataset, type OnChainRequest } from "./chain-reader.ts";
import type { HostConfig } from "./config.ts";
import { jobIdOf, jobInputsHash } from "./job-identity.ts";
import type { FinishedJob, JobResults } from "./job-results.ts";
import { createJobExchange } from "./job-exchange.ts";
import type { PeerClients } from "./peer-client.ts";
import type { PeerMailbox } from "./peer-mailbox.ts";
import type { ShareReader, ShareStore } from "./share-store.ts";
import { requestSeed } from "./request-seed.ts";
import { shareRowSource } from "./share-rows.ts";
import { courtAddress, offenceDigest, OFFENCE_COMMITMENT_MISMATCH, OFFENCE_SHARE_MISSING, type Offence, type OffenceAttestation } from "./offence.ts";

/** Runs Compute requests: validation, on-chain authorisation, protocol, encryption, caching, key release. */
export interface ComputeService {
  /**
   * Computes this host's output share, encrypted to the buyer and wrapped
   * under a fresh release key. A repeated request for a finished job returns
   * the stored response (and, while the request is pending, replays the job's
   * messages in the background for a peer that lost them); a concurrent
   * duplicate joins the running job. The caller must be authenticated as the
   * bridge before this is called.
   */
  compute(request: ComputeRequest): Promise<ComputeResponse>;
  /**
   * Signs a packed result for the chain: only for a job this host finished,
   * whose request is still pending with time left before its deadline, and
   * only if the result carries this host's own wrapped envelope unchanged.
   */
  signResult(request: SignResultRequest): Promise<SignResultResponse>;
  /**
   * Gives anyone this host's release key of a job, once the chain shows its
   * request Fulfilled with a result this host signed, `releaseConfirmations`
   * blocks deep. Refused otherwise: a failed, refunded or late request never
   * becomes readable.
   */
  releaseKey(request: ReleaseKeyRequest): Promise<ReleaseKeyResponse>;
  /**
   * Where this host is with a job (for a buyer's progress display): unknown
   * to it, computing, or answered (its signed output kept). Job ids derive
   * from public chain data, and the answer says nothing of the output.
   */
  jobState(jobId: string): Promise<"unknown" | "computing" | "answered">;
  /** A peer host restarted (lost its mailbox): the jobs and replays that exchanged messages with its previous process are aborted, to be run again. */
  peerRestarted(host: number, jobs: readonly string[]): void;
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
  /** The request's ε per dataset in milli-ε, as the chain recorded it (0: exact). */
  epsilonMilli: number;
  consumer: string;
}

/** A request as the chain holds it, with the identity of the job that answers it. */
interface LocatedJob {
  /** What the chain says was asked. */
  job: ParsedCompute;
  jobId: string;
  request: OnChainRequest;
  datasets: OnChainDataset[];
  chainId: bigint;
  /** The chain's time now: the later of the latest block's timestamp and this host's clock (unix seconds). */
  chainTime: number;
  /** Per dataset, whether its seller allows the algorithm, and an exact answer to it (true when ε is spent): read with the datasets for a job about to run. */
  policy?: Promise<Array<readonly [boolean, boolean]>>;
}

/** Most datasets one request may combine (as the per-algorithm contract). */
const MAX_DATASETS = 20;
/** Key releases looking at the chain at once; more are refused until one ends (a stranger cannot queue unbounded reads). */
const MAX_CONCURRENT_RELEASES = 32;
const STATUS_NAMES = ["None", "Pending", "Fulfilled", "Failed", "Refunded"];

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
  /** Worker threads for the rounds' PRF streams (config.workers); none: all on the event loop. */
  prfPool?: PrfPool;
  /** Called when a protocol run of a job ends (success or not), to forget what it exchanged. */
  onRunEnded?: (jobId: string) => void;
}): ComputeService {
  const { config, logger, chain } = deps;
  const allowed = new Set(config.algorithmContracts.map((a) => getAddress(a)));
  const signer = new Wallet(config.signingKey);
  // Finished jobs are kept (in memory, and on disk for after a restart): the
  // wrapped output is small, and a second run would encrypt it differently.
  const done = new Map<string, FinishedJob>();
  const finished = async (jobId: string): Promise<FinishedJob | undefined> => {
    const cached = done.get(jobId);
    if (cached) return cached;
    const stored = await deps.results.get(jobId);
    if (stored && !done.has(jobId)) done.set(jobId, stored);
    return done.get(jobId);
  };
  const running = new Map<string, Promise<ComputeResponse>>();
  /** Protocol runs (jobs and replays) by job id, to abort when a peer restarts or the host closes. */
  const controllers = new Map<AbortController, string>();
  const replaying = new Set<string>();
  let releasing = 0;
  let closed = false;

  /**
   * Finds the request on-chain and derives its job's identity: the contract
   * sells an algorithm, knows the request, its `ComputationRequested` event
   * says what was asked, every dataset is registered. Nothing the bridge says
   * goes into the identity.
   */
  const locate = async (requestId: string, consumer: string, options: { policy?: boolean; datasetIds?: readonly string[] } = {}): Promise<LocatedJob> => {
    /** Per dataset, whether its seller allows the algorithm, and an exact answer to it (true unless `askExact`). */
    const policyOf = (ids: readonly string[], askExact: boolean) =>
      chain.algorithmOf(consumer).then((algorithm) => {
        const algorithmId = keccak256(toUtf8Bytes(algorithm));
        return Promise.all(ids.map((id) => Promise.all([chain.isAlgorithmAllowed(id, algorithmId), askExact ? chain.isExactAllowed(id, algorithmId) : true] as const)));
      });
    // Given the datasets a Compute names, the reader reads them beside the request (two round trips to the node, not three), and a
    // job about to run reads their policies at once too: whether exact answers are allowed is asked before the request's ε is known.
    const expected = options.datasetIds !== undefined && chain.locateRequest ? options.datasetIds : undefined;
    const early = expected !== undefined && options.policy ? policyOf(expected, true) : undefined;
    early?.catch(() => undefined);
    const [algorithm, located, chainId, head] = await Promise.all([
      chain.algorithmOf(consumer),
      expected === undefined
        ? chain.getRequest(consumer, requestId).then((request) => ({ request, datasets: undefined }))
        : chain.locateRequest!(consumer, requestId, expected),
      chain.chainId(),
      chain.head(),
    ]);
    const { request } = located;
    if (request.buyer === ZeroAddress || request.requested === undefined) {
      throw new MpcError("REQUEST_NOT_FOUND", `request ${requestId} is unknown to consumer ${consumer}`);
    }
    const { datasetIds, params, buyerKey, epsilonMilli, at } = request.requested;
    // For a job about to run, the sellers' policies are read beside the datasets rather than after them (a round trip less).
    const policy = !options.policy
      ? undefined
      : early !== undefined && located.datasets !== undefined
        ? early.then((read) => read.map(([allowed, exactAllowed]) => [allowed, epsilonMilli === 0 ? exactAllowed : true] as const))
        : policyOf(datasetIds, epsilonMilli === 0);
    // Awaited in prepare(), or never if the job stops before: not an unhandled rejection.
    policy?.catch(() => undefined);
    // The version of each dataset the buyer paid for: a refresh after the request does not change its answer.
    const datasets =
      located.datasets ??
      (await Promise.all(datasetIds.map((id) => (at !== undefined && chain.datasetAtRequest ? chain.datasetAtRequest(id, at) : chain.getDataset(id)))));
    datasets.forEach((dataset, k) => {
      if (dataset.seller === ZeroAddress) throw new MpcError("DATASET_NOT_FOUND", `dataset ${datasetIds[k]} is not registered on-chain`);
    });
    const inputsHash = jobInputsHash({ algorithm, datasetIds, params, buyerKey, epsilonMilli, commitments: datasets.map((d) => d.commitments) });
    const jobId = jobIdOf({ chainId, consumer, requestId }, inputsHash);
    return {
      job: { requestId, algorithm, datasetIds, params, buyerKey, epsilonMilli, consumer },
      jobId,
      request,
      datasets,
      chainId,
      chainTime: Math.max(head.timestamp, Math.floor(Date.now() / 1000)),
      ...(policy === undefined ? {} : { policy }),
    };
  };

  /**
   * This host's signed statement of a seller's offence at a request, for the
   * registry's penalty court (see offence.ts), as `{ attestation }` to spread
   * into an error's details; nothing while no court is named or the chain
   * cannot say which: the refusal stands either way.
   */
  const attestation = async (located: LocatedJob, datasetId: string, offence: Offence): Promise<{ attestation?: OffenceAttestation }> => {
    let court: string | undefined;
    try {
      court = courtAddress((await chain.penaltyCourt?.()) ?? ZeroAddress);
    } catch (err) {
      logger.warn({ err, datasetId }, "could not read the penalty court; the refusal carries no attestation");
      return {};
    }
    if (court === undefined) return {};
    const { consumer, requestId } = located.job;
    const digest = offenceDigest({ chainId: located.chainId, court }, consumer, requestId, datasetId, offence);
    logger.warn({ requestId, datasetId, offence }, "attesting a seller's offence for the penalty court");
    return { attestation: { host: config.hostIndex, datasetId, offence, signature: await signer.signMessage(getBytes(digest)) } };
  };

  /** Refuses work on a request whose deadline is too near for its answer to land in time. */
  const checkDeadline = (located: LocatedJob, what: string): void => {
    const left = Number(located.request.deadline) - located.chainTime;
    if (left < config.deadlineMarginS) {
      throw new MpcError(
        "REQUEST_TOO_LATE",
        `request ${located.job.requestId} has ${Math.max(0, left)} s left before its deadline; this host ${what} only with at least ${config.deadlineMarginS} s left`,
        { details: { requestId: located.job.requestId, secondsLeft: left } },
      );
    }
  };

  /**
   * Everything this host checks before it computes, independently of the
   * bridge: the request is pending; every dataset is active, allows the
   * algorithm, holds at least its own minimum rows, and has the schema and
   * commitment of the share held here. Returns the shares and the plan.
   */
  const prepare = async (located: LocatedJob): Promise<{ shares: ShareReader[]; plan: JobPlan }> => {
    const { job, datasets } = located;
    const shares: ShareReader[] = [];
    for (const [k, datasetId] of job.datasetIds.entries()) {
      const dataset = datasets[k];
      const commitment = dataset.commitments[config.hostIndex].toLowerCase();
      const share = (await deps.store.open(datasetId, commitment)) ?? (await deps.store.open(datasetId));
      if (!share) {
        // The dataset is registered on-chain (located) and this host was never given its share:
        // the seller's offence, which this host signs for the penalty court.
        throw new MpcError("DATASET_NOT_FOUND", `host ${config.hostIndex} holds no share of dataset ${datasetId}`, {
          details: { datasetId, ...(dataset.superseded ? {} : await attestation(located, datasetId, OFFENCE_SHARE_MISSING)) },
        });
      }
      shares.push(share);
    }
    const algorithmId = keccak256(toUtf8Bytes(job.algorithm));
    const totalRows = datasets.reduce((n, d) => n + d.rowCount, 0n);
    for (const [k, dataset] of datasets.entries()) {
      const id = job.datasetIds[k];
      const share = shares[k].header;
      if (!dataset.active) throw new MpcError("DATASET_INACTIVE", `dataset ${id} is not active on-chain`);
      const onChain = dataset.commitments[config.hostIndex].toLowerCase();
      if (onChain !== share.commitment) {
        throw new MpcError(
          "CHAIN_COMMITMENT_MISMATCH",
          `dataset ${id}: on-chain commitment for host ${config.hostIndex} is ${onChain} but the stored share's is ${share.commitment}; refusing to compute`,
          // Sellers answer for the current version: a replaced one this host no longer holds is not an offence.
          { details: { datasetId: id, onChain, stored: share.commitment, ...(dataset.superseded ? {} : await attestation(located, id, OFFENCE_COMMITMENT_MISMATCH)) } },
        );
      }
      if (dataset.rowCount !== share.rowCount) {
        throw new MpcError("ROW_COUNT_MISMATCH", `dataset ${id}: on-chain row count ${dataset.rowCount} differs from the stored share's ${share.rowCount}`);
      }
      if (keccak256(toUtf8Bytes(schemaText(share.columns))) !== dataset.schemaHash) {
        throw new MpcError("SCHEMA_MISMATCH", `dataset ${id}: the stored share's columns do not match the on-chain schema`);
      }
      // Seller policy, enforced here as well as by the contract. The minimum
      // is the dataset's own: rows of other datasets in the request (a
      // buyer's own zeros, say) do not count towards it.
      // Both asked at once (with the datasets, for a job located to run): each is a round trip to the node.
      const [allowed, exactAllowed] = located.policy
        ? (await located.policy)[k]
        : await Promise.all([chain.isAlgorithmAllowed(id, algorithmId), job.epsilonMilli === 0 ? chain.isExactAllowed(id, algorithmId) : true]);
      if (!allowed) {
        throw new MpcError("POLICY_REFUSED", `dataset ${id}: its seller does not allow ${job.algorithm}`);
      }
      if (!exactAllowed) {
        throw new MpcError("POLICY_REFUSED", `dataset ${id}: its seller does not allow exact answers to ${job.algorithm} (the request spends no ε)`);
      }
      if (dataset.rowCount < dataset.minRows) {
        throw new MpcError("POLICY_REFUSED", `dataset ${id}: its seller requires at least ${dataset.minRows} rows of its own in a result; it holds ${dataset.rowCount}`);
      }
    }
    if (new Set(datasets.map((d) => d.schemaHash)).size > 1) {
      throw new MpcError("SCHEMA_MISMATCH", "the datasets of one request must share one schema");
    }
    // Planned from on-chain facts (the schema's bounds, the rows of every dataset, the ε the
    // contract charged to every dataset's budget), as the buyer did before paying; ε 0 only
    // where every seller allows exact answers (checked above, as the contract did).
    const columns = shares[0].header.columns.map(({ name, scale, lo, hi, type, categories }) => ({
      name,
      scale,
      lo,
      hi,
      ...(type === undefined ? {} : { type }),
      ...(categories === undefined ? {} : { categories: [...categories] }),
    }));
    const plan = planJob(job.algorithm, job.params, { columns }, { rowCount: totalRows, epsilonMilli: job.epsilonMilli, datasetIds: job.datasetIds });
    if (plan.kind === "query") {
      // Sellers may sell queries with some aggregate functions only.
      for (const id of job.datasetIds) {
        if (!(await chain.isAlgorithmAllowed(id, keccak256(toUtf8Bytes(QUERY_RESTRICTED_ENTRY))))) continue;
        for (const fn of queryFunctions(plan.query)) {
          if (!(await chain.isAlgorithmAllowed(id, keccak256(toUtf8Bytes(queryAggregateEntry(fn)))))) {
            throw new MpcError("POLICY_REFUSED", `dataset ${id}: its seller does not allow ${fn}() in queries`);
          }
        }
      }
    }
    return { shares, plan };
  };

  /**
   * The three-party protocol of one job: every message it sends follows from
   * the host's secret, the job id and the shares, so a rerun or a replay sends
   * exactly the messages of the first run.
   */
  const runProtocol = async (located: LocatedJob, signal: AbortSignal, deadline: number): Promise<OutputSharePair[]> => {
    const { shares, plan } = await withDeadline(prepare(located), deadline, signal);
    const exchange = createJobExchange({
      hostIndex: config.hostIndex,
      jobId: located.jobId,
      mailbox: deps.mailbox,
      peers: deps.peers,
      deadline,
      signal,
      logger: logger.child({ requestId: located.job.requestId }),
    });
    const party = await setupParty({
      index: config.hostIndex as 0 | 1 | 2,
      exchange,
      randomSeed: requestSeed(deps.hostSecret(), getBytes(located.jobId)),
      prfPool: deps.prfPool,
    });
    const opened = await rerandomize(party, await runJob(party, plan, shareRowSource(jobColumns(plan), shares)));
    return Array.from(opened.a, (a, k) => [a, opened.b[k]] as const);
  };

  /** Runs `fn` under an abort controller that a peer restart, the job timeout or closing the host aborts. */
  const controlled = async <T>(jobId: string, fn: (signal: AbortSignal, deadline: number) => Promise<T>): Promise<T> => {
    const controller = new AbortController();
    controllers.set(controller, jobId);
    const deadline = Date.now() + config.jobTimeoutMs;
    // A backstop: every step honours the deadline itself and names what it waited for.
    const timer = setTimeout(
      () => controller.abort(new MpcError("PEER_TIMEOUT", `job ${jobId} exceeded ${config.jobTimeoutMs} ms`)),
      config.jobTimeoutMs + 1000,
    );
    try {
      return await fn(controller.signal, deadline);
    } catch (err) {
      controller.abort(err);
      throw err;
    } finally {
      clearTimeout(timer);
      controllers.delete(controller);
      if (![...controllers.values()].includes(jobId)) deps.onRunEnded?.(jobId);
    }
  };

  const start = (located: LocatedJob): Promise<ComputeResponse> => {
    const { job, jobId } = located;
    const log = logger.child({ requestId: job.requestId, jobId });
    const startedAt = Date.now();
    log.info({ algorithm: job.algorithm, datasets: job.datasetIds.length }, "job started");
    const promise = controlled(jobId, async (signal, deadline) => {
      const values = await runProtocol(located, signal, deadline);
      const envelope = encryptOutputShare({ requestId: job.requestId, hostIndex: config.hostIndex, buyerPublicKey: job.buyerKey, values });
      const releaseKey = newReleaseKey();
      const response: ComputeResponse = {
        requestId: job.requestId,
        hostIndex: config.hostIndex,
        encryptedOutput: wrapEnvelope({ jobId, hostIndex: config.hostIndex, key: releaseKey, envelope }),
        jobId,
      };
      const record: FinishedJob = {
        jobId,
        requestId: job.requestId,
        consumer: job.consumer,
        requestBlock: located.request.requestBlock,
        fingerprint: JSON.stringify(job),
        response,
        releaseKey,
        signedResults: [],
      };
      // On disk before anyone sees it: the answer to this job never changes.
      await deps.results.put(record);
      return record;
    })
      .then(
        (record) => {
          done.set(jobId, record);
          deps.mailbox.finish(jobId);
          log.info({ algorithm: job.algorithm, ms: Date.now() - startedAt }, "job finished");
          return record.response;
        },
        (err: unknown) => {
          // A retry runs the job from its first step, and the peers send everything again.
          deps.mailbox.finish(jobId);
          log.warn({ code: (err as MpcError).code, err }, "job failed");
          throw err;
        },
      )
      .finally(() => running.delete(jobId));
    running.set(jobId, promise);
    return promise;
  };

  /**
   * Runs a finished job's protocol again, in the background, discarding its
   * output: a peer asked for the job again because it lost its messages (it
   * crashed mid-job), and it can only finish with every host's messages. The
   * stored answer stays the answer.
   */
  const replay = (located: LocatedJob): void => {
    const { jobId } = located;
    if (replaying.has(jobId) || closed) return;
    replaying.add(jobId);
    const log = logger.child({ requestId: located.job.requestId, jobId });
    log.info("replaying a finished job's messages for a peer that runs it again");
    void controlled(jobId, (signal, deadline) => runProtocol(located, signal, deadline))
      .then(
        () => log.info("replay finished"),
        (err: unknown) => log.warn({ code: (err as MpcError).code, msg: (err as Error).message }, "replay ended early"),
      )
      .finally(() => {
        replaying.delete(jobId);
        deps.mailbox.finish(jobId);
      });
  };

  const allowedConsumer = (consumer: string): string => {
    if (!isAddress(consumer)) throw new MpcError("INVALID_ARGUMENT", "consumer must be a 0x-prefixed address");
    const address = getAddress(consumer);
    if (!allowed.has(address)) throw new MpcError("CONSUMER_NOT_ALLOWED", `consumer ${address} is not an allowed algorithm contract`);
    return address;
  };

  return {
    async compute(request) {
      if (closed) throw new MpcError("HOST_CLOSING", "host is shutting down");
      const asked = parse(request);
      allowedConsumer(asked.consumer);
      const located = await withDeadline(locate(asked.requestId, asked.consumer, { policy: true, datasetIds: asked.datasetIds }), Date.now() + config.jobTimeoutMs);
      const differences = (["algorithm", "datasetIds", "params", "buyerKey"] as const).filter(
        (k) => JSON.stringify(asked[k]) !== JSON.stringify(located.job[k]),
      );
      if (differences.length > 0) {
        throw new MpcError(
          "REQUEST_MISMATCH",
          `compute request differs from on-chain request ${asked.requestId} in ${differences.join(", ")}: not what the buyer paid for`,
        );
      }
      const { jobId } = located;
      const answered = await finished(jobId);
      // From here to start(), nothing awaits: a concurrent duplicate sees the running job.
      if (answered) {
        if (located.request.status === REQUEST_STATUS_PENDING) replay(located);
        return answered.response;
      }
      const current = running.get(jobId);
      if (current) return current;
      if (located.request.status !== REQUEST_STATUS_PENDING) {
        throw new MpcError("REQUEST_NOT_PENDING", `request ${asked.requestId} has on-chain status ${located.request.status}, not Pending`);
      }
      checkDeadline(located, "starts a job");
      return start(located);
    },

    async signResult(request) {
      if (!isHexString(request.requestId, 32)) throw new MpcError("INVALID_ARGUMENT", "request_id must be a 0x-prefixed bytes32 hex string");
      const requestId = request.requestId.toLowerCase();
      const consumer = allowedConsumer(request.consumer);
      const result = `0x${Buffer.from(request.result).toString("hex")}`;
      let unpacked: ReturnType<typeof unpackResult>;
      try {
        unpacked = unpackResult(result);
      } catch (cause) {
        throw new MpcError("INVALID_ARGUMENT", "result is not a job id and three packed output envelopes", { cause });
      }
      const located = await withDeadline(locate(requestId, consumer), Date.now() + config.jobTimeoutMs);
      if (unpacked.jobId !== located.jobId) {
        throw new MpcError("REQUEST_MISMATCH", `the result is for job ${unpacked.jobId}, but request ${requestId} on-chain is job ${located.jobId}`);
      }
      const job = await finished(located.jobId);
      if (!job) throw new MpcError("REQUEST_NOT_FOUND", `host ${config.hostIndex} has no finished job for request ${requestId}`);
      if (!unpacked.envelopes[config.hostIndex].equals(Buffer.from(job.response.encryptedOutput))) {
        throw new MpcError("OUTPUT_TAMPERED", `the result does not carry host ${config.hostIndex}'s own output envelope for request ${requestId}`);
      }
      if (located.request.status !== REQUEST_STATUS_PENDING) {
        throw new MpcError("REQUEST_NOT_PENDING", `request ${requestId} has on-chain status ${located.request.status}, not Pending`);
      }
      checkDeadline(located, "signs a result");
      const resultHash = keccak256(result).toLowerCase();
      if (!job.signedResults.includes(resultHash)) {
        // Recorded before the signature leaves: the key is released for a result this host signed.
        const updated = { ...job, signedResults: [...job.signedResults, resultHash] };
        await deps.results.put(updated);
        done.set(job.jobId, updated);
      }
      // The consumer's fulfillmentDigest: chain id and contract bind the signature to one deployment.
      const digest = keccak256(
        AbiCoder.defaultAbiCoder().encode(["uint256", "address", "bytes32", "bytes32"], [located.chainId, consumer, requestId, resultHash]),
      );
      return { requestId, hostIndex: config.hostIndex, signature: await signer.signMessage(getBytes(digest)), signer: signer.address };
    },

    async jobState(jobId) {
      const id = jobId.toLowerCase();
      if (running.has(id)) return "computing";
      return (await finished(id)) === undefined ? "unknown" : "answered";
    },
    async releaseKey(request) {
      if (!isHexString(request.requestId, 32)) throw new MpcError("INVALID_ARGUMENT", "request_id must be a 0x-prefixed bytes32 hex string");
      const requestId = request.requestId.toLowerCase();
      const consumer = allowedConsumer(request.consumer);
      if (releasing >= MAX_CONCURRENT_RELEASES) throw new MpcError("QUOTA_EXCEEDED", "too many key releases at once; try again shortly");
      releasing++;
      try {
        const located = await withDeadline(locate(requestId, consumer), Date.now() + config.jobTimeoutMs);
        const refuse = (why: string): MpcError => new MpcError("KEY_NOT_RELEASED", `host ${config.hostIndex} does not release its key for request ${requestId}: ${why}`);
        const job = await finished(located.jobId);
        if (!job) throw refuse("it computed no output for this request");
        const status = located.request.status;
        if (status !== REQUEST_STATUS_FULFILLED) {
          throw refuse(`the request is ${STATUS_NAMES[status] ?? status} on-chain; keys are released only once it is Fulfilled (the sellers paid)`);
        }
        if (!job.signedResults.includes(located.request.resultHash.toLowerCase())) {
          throw refuse("the result fulfilled on-chain is not one this host signed");
        }
        if (config.releaseConfirmations > 0) {
          const [fulfilment, head] = await Promise.all([chain.fulfilment(consumer, requestId, job.requestBlock), chain.head()]);
          const depth = fulfilment === undefined ? -1 : head.number - fulfilment.blockNumber;
          if (depth < config.releaseConfirmations) {
            throw refuse(`its fulfilment has ${Math.max(0, depth)} of the ${config.releaseConfirmations} blocks on top this host waits for`);
          }
        }
        return { requestId, hostIndex: config.hostIndex, key: job.releaseKey, jobId: job.jobId };
      } finally {
        releasing--;
      }
    },

    peerRestarted(host, jobs) {
      const affected = [...controllers].filter(([, jobId]) => jobs.includes(jobId));
      if (affected.length === 0) return;
      logger.warn({ host, jobs: [...new Set(affected.map(([, jobId]) => jobId))] }, "a peer host restarted mid-job; aborting the jobs it was part of (a retry runs them again)");
      for (const [controller, jobId] of affected) {
        controller.abort(new MpcError("PEER_RESTARTED", `host ${host} restarted during job ${jobId} and lost its messages; the job must run again`, { details: { host } }));
      }
    },

    close() {
      closed = true;
      for (const c of controllers.keys()) c.abort(new MpcError("HOST_CLOSING", "host is shutting down"));
    },
  };
}

/** What the bridge asks; the ε comes from the chain alone. */
function parse(request: ComputeRequest): Omit<ParsedCompute, "epsilonMilli"> {
  const invalid = (message: string): MpcError => new MpcError("INVALID_ARGUMENT", message);
  if (!isHexString(request.requestId, 32)) throw invalid("request_id must be a 0x-prefixed bytes32 hex string");
  if (!jobAlgorithms().includes(request.algorithm)) {
    throw new MpcError(
      "ALGORITHM_UNSUPPORTED",
      `algorithm ${JSON.stringify(request.algorithm)} is not supported (supported: ${jobAlgorithms().join(", ")})`,
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

function withDeadline<T>(promise: Promise<T>, deadline: number, signal?: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new MpcError("CHAIN_UNAVAILABLE", "on-chain checks did not finish before the job deadline")),
      Math.max(0, deadline - Date.now()),
    );
    const onAbort = (): void => reject(signal?.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    promise.then(resolve, reject).finally(() => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    });
  });
}
