// Test support: three MPC hosts in one process on loopback, a fake chain,
// and seller-side upload construction.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { getBytes, keccak256, toUtf8Bytes, Wallet, ZeroAddress, ZeroHash, type Signer } from "ethers";
import { freePort } from "@scmpc/client/processes";
import { loadMpcV1, MAX_MESSAGE_BYTES, type UploadSharesRequest } from "@scmpc/protos";
import { boundText, datasetIdOf, encodeRingVector, openResult, packResult, schemaText, shareColumn, shareColumnFromSeeds, shareCommitment, shareCommitmentV5, seededColumns, hostSeeds, uploadDigest, type ColumnShareBytes, type SchemaType } from "../../src/index.ts";
import { signBridgeCall } from "../../src/host/bridge-auth.ts";
import type { BridgeMethod } from "../../src/host/bridge-auth.ts";
import {
  createHost,
  type ChainReader,
  type HostConfig,
  mpcErrorCodeOf,
  type HostIndex,
  type MpcHost,
  type OnChainDataset,
  type OnChainRequest,
} from "../../src/host/index.ts";
import { createTlsMaterial, hostApiChannelOptions, hostApiCredentials, type HostApiTls, type TlsMaterial } from "../../src/tls/index.ts";

/** `n` free loopback ports, drawn as the local stack draws its own (`freePort`: below the range of outgoing connections' ports). */
export async function freePorts(n: number): Promise<number[]> {
  const ports: number[] = [];
  for (let k = 0; k < n; k++) ports.push(await freePort());
  return ports;
}

/** In-memory {@link ChainReader}: tests set datasets, policies and requests directly. */
export class FakeChain implements ChainReader {
  readonly datasets = new Map<string, OnChainDataset>();
  readonly requests = new Map<string, OnChainRequest>();
  /** `${datasetId}/${algorithmId}` pairs the sellers do NOT allow (everything else is allowed). */
  readonly refused = new Set<string>();
  /** `${datasetId}/${algorithmId}` pairs whose exact answers the sellers do NOT allow (everything else is allowed). */
  readonly inexact = new Set<string>();
  /** The algorithm each consumer contract sells; the test consumer sells whatever the request names unless set. */
  readonly algorithms = new Map<string, string>();
  /** Per dataset, the version a request bought when a refresh has replaced it since (else the current one is). */
  readonly pinned = new Map<string, OnChainDataset>();
  /** `${datasetId}:${commitment}` of versions a refresh replaced (the previous commitments of `DatasetRefreshed`). */
  readonly replaced = new Set<string>();
  async wasReplaced(datasetId: string, _hostIndex: number, commitment: string): Promise<boolean> {
    return this.replaced.has(`${datasetId.toLowerCase()}:${commitment.toLowerCase()}`);
  }
  /** The registry's penalty court (none while zero: refusals then carry no attestation). */
  court: string = ZeroAddress;
  async penaltyCourt(): Promise<string> {
    return this.court;
  }
  async datasetAtRequest(datasetId: string): Promise<OnChainDataset> {
    const pinned = this.pinned.get(datasetId.toLowerCase());
    return pinned === undefined ? { ...(await this.getDataset(datasetId)), superseded: false } : { ...pinned, superseded: true };
  }
  async getDataset(datasetId: string): Promise<OnChainDataset> {
    return (
      this.datasets.get(datasetId.toLowerCase()) ?? {
        seller: ZeroAddress, name: "", schemaHash: ZeroHash, rowCount: 0n, price: 0n,
        commitments: [ZeroHash, ZeroHash, ZeroHash], active: false, minRows: 0n,
      }
    );
  }
  async isAlgorithmAllowed(datasetId: string, algorithmId: string): Promise<boolean> {
    return !this.refused.has(`${datasetId.toLowerCase()}/${algorithmId}`);
  }
  async isExactAllowed(datasetId: string, algorithmId: string): Promise<boolean> {
    return !this.inexact.has(`${datasetId.toLowerCase()}/${algorithmId}`);
  }
  async algorithmOf(consumer: string): Promise<string> {
    return this.algorithms.get(consumer.toLowerCase()) ?? "sum@1";
  }
  /** The latest block number; `fulfil` mines at it and moves it on. */
  blockNumber = 100;
  readonly fulfilments = new Map<string, { blockNumber: number; resultHash: string }>();
  async chainId(): Promise<bigint> {
    return 31337n;
  }
  async head(): Promise<{ number: number; timestamp: number }> {
    return { number: this.blockNumber, timestamp: Math.floor(Date.now() / 1000) };
  }
  async getRequest(consumer: string, requestId: string): Promise<OnChainRequest> {
    return (
      this.requests.get(`${consumer.toLowerCase()}/${requestId.toLowerCase()}`) ?? {
        buyer: ZeroAddress, status: 0, deadline: 0n, price: 0n, fee: 0n, requestBlock: 0n, requested: undefined, resultHash: ZeroHash,
      }
    );
  }
  /** Reads served by {@link locateRequest}, for tests that check the datasets a Compute names are not trusted. */
  locateCalls = 0;
  async locateRequest(consumer: string, requestId: string, datasetIds: readonly string[]): Promise<{ request: OnChainRequest; datasets?: OnChainDataset[] }> {
    this.locateCalls++;
    const request = await this.getRequest(consumer, requestId);
    const asked = datasetIds.map((id) => id.toLowerCase());
    if (request.requested === undefined || request.requested.datasetIds.join() !== asked.join()) return { request };
    return { request, datasets: await Promise.all(asked.map((id) => this.datasetAtRequest(id))) };
  }
  async fulfilment(consumer: string, requestId: string): Promise<{ blockNumber: number; resultHash: string } | undefined> {
    return this.fulfilments.get(`${consumer.toLowerCase()}/${requestId.toLowerCase()}`);
  }
  /** Records a request as the per-algorithm contract would: what was asked is in its event. */
  setRequest(
    consumer: string,
    requestId: string,
    request: { buyer: string; datasetIds: string[]; params: string; buyerKey: string; price: bigint; status: number; deadline?: bigint; epsilonMilli?: number },
  ): void {
    this.requests.set(`${consumer.toLowerCase()}/${requestId.toLowerCase()}`, {
      buyer: request.buyer,
      status: request.status,
      deadline: request.deadline ?? BigInt(Math.floor(Date.now() / 1000) + 3600),
      price: request.price,
      fee: 0n,
      requestBlock: BigInt(this.blockNumber),
      requested: {
        datasetIds: request.datasetIds.map((id) => id.toLowerCase()),
        params: request.params,
        buyerKey: request.buyerKey.toLowerCase(),
        // Exact unless the test asks for noise.
        epsilonMilli: request.epsilonMilli ?? 0,
        at: { block: BigInt(this.blockNumber), logIndex: 0 },
      },
      resultHash: ZeroHash,
    });
  }
  /** Moves a request's deadline (unix seconds). */
  setDeadline(consumer: string, requestId: string, deadline: bigint): void {
    const key = `${consumer.toLowerCase()}/${requestId.toLowerCase()}`;
    this.requests.set(key, { ...this.requests.get(key)!, deadline });
  }
  /** Sets a request's on-chain status (3 Failed, 4 Refunded, ...). */
  setStatus(consumer: string, requestId: string, status: number): void {
    const key = `${consumer.toLowerCase()}/${requestId.toLowerCase()}`;
    this.requests.set(key, { ...this.requests.get(key)!, status });
  }
  /** Fulfils a request as the contract would: Fulfilled, with the result's hash, in a new block. */
  fulfil(consumer: string, requestId: string, result: string): void {
    const key = `${consumer.toLowerCase()}/${requestId.toLowerCase()}`;
    const resultHash = keccak256(result).toLowerCase();
    this.blockNumber += 1;
    this.requests.set(key, { ...this.requests.get(key)!, status: 2, resultHash });
    this.fulfilments.set(key, { blockNumber: this.blockNumber, resultHash });
  }
  close(): void {}
}

export const CONSUMER = "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0";
export const REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3";

/** A running set of hosts with Host-service clients. */
export interface Cluster {
  /** Host API ports, index order. */
  ports: number[];
  /** Peer (mutual TLS) ports, index order. */
  peerPorts: number[];
  /** The deployment's CA and host certificates. */
  tls: TlsMaterial;
  /** How clients trust the hosts' Host API (TLS, pinned certificates). */
  hostTls: HostApiTls;
  hosts: Map<number, MpcHost>;
  /** The hosts' result-signing keys, index order. */
  signers: { address: string; privateKey: string }[];
  /** The bridge's key: the hosts answer Compute and SignResult only when it signed the call. */
  bridge: Wallet;
  clients: grpc.Client[];
  chain: FakeChain;
  /** Calls Compute or SignResult on host `index` as the bridge does (the call signed by the bridge's key). */
  asBridge<Res>(index: number, method: BridgeMethod, request: unknown, timeoutMs?: number): Promise<Res>;
  /** Closes host `index` and starts a new one on the same configuration and data directory. */
  restart(index: number): Promise<void>;
  /** Host `index`'s data directory (share store, finished jobs). */
  dataDirOf(index: number): string;
  close(): Promise<void>;
}

/** Starts the hosts in `indices` (others stay dead) with a shared fake chain and fresh TLS material. */
export async function startCluster(options: {
  indices?: number[];
  jobTimeoutMs: number;
  /** Serve the Host API over TLS (default true); clients follow. */
  apiTls?: boolean;
  /** Each host's TLS files and pins, instead of fresh material made here (e.g. from `tls create --per-host`). */
  tlsOf?: (hostIndex: number) => Pick<HostConfig, "tls" | "peerFingerprints">;
  /** Overrides of the hosts' other settings (release confirmations, deadline margin, upload limits...). */
  config?: Partial<HostConfig>;
}): Promise<Cluster> {
  const indices = options.indices ?? [0, 1, 2];
  const allPorts = await freePorts(6);
  const ports = allPorts.slice(0, 3);
  const peerPorts = allPorts.slice(3);
  const apis = ports.map((p) => `127.0.0.1:${p}`);
  const peers = peerPorts.map((p) => `127.0.0.1:${p}`) as [string, string, string];
  const chain = new FakeChain();
  const signers = [0, 1, 2].map(() => Wallet.createRandom());
  const bridge = new Wallet(Wallet.createRandom().privateKey);
  const tlsDir = await mkdtemp(join(tmpdir(), "scmpc-tls-"));
  const tls = await createTlsMaterial({ hosts: 3, dir: tlsDir });
  const dataDirs: string[] = [tlsDir];
  const hosts = new Map<number, MpcHost>();
  const configs = new Map<number, HostConfig>();
  for (const hostIndex of indices) {
    const dataDir = await mkdtemp(join(tmpdir(), `scmpc-host${hostIndex}-`));
    dataDirs.push(dataDir);
    const config: HostConfig = {
      hostIndex: hostIndex as HostIndex,
      listen: apis[hostIndex],
      apiTls: options.apiTls ?? true,
      peerListen: peers[hostIndex],
      peers,
      tls: { caFile: tls.caFile, certFile: tls.hosts[hostIndex].certFile, keyFile: tls.hosts[hostIndex].keyFile },
      peerFingerprints: tls.hosts.map((h) => h.fingerprint) as [string, string, string],
      ...options.tlsOf?.(hostIndex),
      dataDir,
      rpcUrl: "http://127.0.0.1:1",
      registryAddress: REGISTRY,
      algorithmContracts: [CONSUMER],
      jobTimeoutMs: options.jobTimeoutMs,
      bridgeAddress: bridge.address,
      releaseConfirmations: 0,
      deadlineMarginS: 60,
      maxUploadBytes: MAX_MESSAGE_BYTES,
      maxShareBytes: 1 << 30,
      shareMemoryBytes: 1 << 29,
      // The event loop and a worker thread: a round of 65,536 words or more draws its PRF streams on the thread.
      workers: 2,
      sellerQuotaBytes: 1 << 30,
      unregisteredTtlMs: 3_600_000,
      unregisteredMaxBytes: 1 << 30,
      signingKey: signers[hostIndex].privateKey,
      logLevel: "silent",
      ...options.config,
    };
    configs.set(hostIndex, config);
    const host = createHost(config, { chainReader: chain });
    hosts.set(hostIndex, host);
    await host.start();
  }
  const { Host } = loadMpcV1();
  // Clients trust each host as its configuration says (its CA; its certificate pinned).
  const hostTls: HostApiTls = { ca: readFileSync(tls.caFile, "utf8"), fingerprints: tls.hosts.map((h) => h.fingerprint) };
  const clientTls = (index: number): HostApiTls => {
    const config = configs.get(index);
    return config === undefined ? hostTls : { ca: readFileSync(config.tls.caFile, "utf8"), fingerprints: config.peerFingerprints };
  };
  const clients = apis.map(
    (address, index) =>
      new Host(
        address,
        hostApiCredentials(options.apiTls === false ? undefined : clientTls(index), index),
        hostApiChannelOptions(options.apiTls === false ? undefined : clientTls(index), index),
      ),
  );
  return {
    ports,
    peerPorts,
    tls,
    hostTls,
    hosts,
    signers,
    bridge,
    clients,
    chain,
    async asBridge(index, method, request, timeoutMs = 10_000) {
      const metadata = new grpc.Metadata();
      const call = { method, request } as Parameters<typeof signBridgeCall>[1];
      for (const [k, v] of Object.entries(await signBridgeCall(bridge, call, index))) metadata.set(k, v);
      return callUnary(clients[index], method === "Compute" ? "compute" : "signResult", request, timeoutMs, metadata);
    },
    dataDirOf(index) {
      return configs.get(index)!.dataDir;
    },
    async restart(index) {
      await hosts.get(index)!.close();
      const host = createHost(configs.get(index)!, { chainReader: chain });
      hosts.set(index, host);
      await host.start();
    },
    async close() {
      for (const c of clients) c.close();
      await Promise.all([...hosts.values()].map((h) => h.close()));
      for (const dir of dataDirs) await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Calls a unary method with a deadline (and metadata, if given); resolves the response or rejects the gRPC error. */
export function callUnary<Res>(client: grpc.Client, method: string, request: unknown, timeoutMs = 10_000, metadata?: grpc.Metadata): Promise<Res> {
  return new Promise((resolve, reject) => {
    const fn = (client as unknown as Record<string, (...args: unknown[]) => void>)[method].bind(client);
    const done = (err: grpc.ServiceError | null, res: Res) => (err ? reject(err) : resolve(res));
    if (metadata) fn(request, metadata, { deadline: new Date(Date.now() + timeoutMs) }, done);
    else fn(request, { deadline: new Date(Date.now() + timeoutMs) }, done);
  });
}

/** An `assert.rejects` check: the gRPC status, the engine's error code and, when given, a pattern of the details. */
export function rejectsWith(status: grpc.status, code: string, pattern?: RegExp): (err: unknown) => boolean {
  return (err: unknown) => {
    const e = err as grpc.ServiceError;
    assert.equal(e.code, status, `status ${e.code}: ${e.details}`);
    assert.equal(mpcErrorCodeOf(e), code, e.details);
    if (pattern) assert.match(e.details, pattern);
    return true;
  };
}

/**
 * Calls a client-streaming method: writes `messages` in order, then ends the
 * stream, and resolves or rejects with the host's answer (which may come
 * before every message is written: writing then stops).
 */
export function callClientStream<Res>(client: grpc.Client, method: string, messages: readonly unknown[], timeoutMs = 30_000): Promise<Res> {
  return new Promise((resolve, reject) => {
    const fn = (client as unknown as Record<string, (...args: unknown[]) => grpc.ClientWritableStream<unknown>>)[method].bind(client);
    let over = false;
    const call = fn({ deadline: new Date(Date.now() + timeoutMs) }, (err: grpc.ServiceError | null, res: Res) => {
      over = true;
      if (err) reject(err);
      else resolve(res);
    });
    void (async () => {
      for (const message of messages) {
        if (over) return;
        if (!call.write(message)) await new Promise((done) => call.once("drain", done));
      }
      if (!over) call.end();
    })();
  });
}

/** A test column's public bounds: the given ones, else ±2^40 units at its scale (test values stay within them). */
export function withBounds<C extends { name: string; scale: number; lo?: string; hi?: string }>(column: C): C & { lo: string; hi: string } {
  return { ...column, lo: column.lo ?? boundText(-(1n << 40n), column.scale), hi: column.hi ?? boundText(1n << 40n, column.scale) };
}

/** A test column's schema: name, scale, bounds (default as {@link withBounds}), and a type and dictionary where it has them. */
type TestSchemaColumn = { name: string; scale: number; lo?: string; hi?: string; type?: SchemaType; categories?: string[] };

/** The on-chain schema hash of a dataset, as the seller publishes it (default bounds as {@link withBounds}). */
export function schemaHashOf(columns: TestSchemaColumn[]): string {
  return keccak256(toUtf8Bytes(schemaText(columns.map(withBounds))));
}

/** A test column to share: `valid` holds one 0 (missing) or 1 (present) per row; every cell is present where it is not given. */
type TestColumn = TestSchemaColumn & { values: BigUint64Array; valid?: ArrayLike<number> };

/**
 * Seller side: shares one column (or several, row-aligned), values and
 * validity, and builds the three signed upload requests (`shares[i]`: host
 * i's columns as a share store holds them). With `seeds`, x0 and x1 are the
 * seeds' streams and go as the seeds; with `encoding: "v5"` too, the
 * commitments bind them by their seeds, as the seller's client sends them.
 */
export async function buildUploads(
  seller: Signer & { address: string },
  name: string,
  column: TestColumn | TestColumn[],
  options: { seeds?: readonly [Uint8Array, Uint8Array]; encoding?: "v5" } = {},
): Promise<{ datasetId: string; commitments: [string, string, string]; requests: UploadSharesRequest[]; shares: ColumnShareBytes[][] }> {
  const columns = (Array.isArray(column) ? column : [column]).map(withBounds);
  const datasetId = datasetIdOf(seller.address, name);
  const { seeds } = options;
  const share = (values: BigUint64Array, k: number, part: "values" | "validity") => (seeds === undefined ? shareColumn(values) : shareColumnFromSeeds(values, seeds, k, part));
  const shares = columns.map((c, k) => share(c.values, k, "values"));
  const validShares = columns.map((c, k) => share(BigUint64Array.from({ length: c.values.length }, (_, i) => BigInt(c.valid?.[i] ?? 1)), k, "validity"));
  const rowCount = String(columns[0].values.length);
  const requests: UploadSharesRequest[] = [];
  const hostShares: ColumnShareBytes[][] = [];
  for (const hostIndex of [0, 1, 2]) {
    const columnShares = columns.map((c, k): ColumnShareBytes & { a: Buffer; b: Buffer; validA: Buffer; validB: Buffer } => ({
      name: c.name,
      scale: c.scale,
      lo: c.lo,
      hi: c.hi,
      ...(c.type === undefined ? {} : { type: c.type }),
      ...(c.categories === undefined ? {} : { categories: c.categories }),
      a: encodeRingVector(shares[k][hostIndex].a),
      b: encodeRingVector(shares[k][hostIndex].b),
      validA: encodeRingVector(validShares[k][hostIndex].a),
      validB: encodeRingVector(validShares[k][hostIndex].b),
    }));
    const held = seeds === undefined ? {} : hostSeeds(seeds, hostIndex);
    const [seedA, seedB] = [held.a, held.b].map((seed) => (seed === undefined ? undefined : Buffer.from(seed)));
    const v5 = seeds !== undefined && options.encoding === "v5";
    const commitment = v5
      ? shareCommitmentV5({ datasetId, hostIndex, rowCount: BigInt(rowCount), columns: seededColumns(columnShares, held, BigInt(rowCount)) })
      : shareCommitment({ datasetId, hostIndex, rowCount: BigInt(rowCount), columns: columnShares });
    const signature = await seller.signMessage(getBytes(uploadDigest(datasetId, hostIndex, commitment)));
    hostShares.push(columnShares);
    if (seeds === undefined) {
      requests.push({ datasetId, seller: seller.address, name, hostIndex, rowCount, columns: columnShares, commitment, signature });
      continue;
    }
    // As the seller's client sends them: x0 and x1 as their seeds, their components empty.
    const sent = columnShares.map((c) => ({ ...c, ...(seedA ? { a: Buffer.alloc(0), validA: Buffer.alloc(0) } : {}), ...(seedB ? { b: Buffer.alloc(0), validB: Buffer.alloc(0) } : {}) }));
    requests.push({ datasetId, seller: seller.address, name, hostIndex, rowCount, columns: sent, commitment, signature, ...(seedA ? { seedA } : {}), ...(seedB ? { seedB } : {}), ...(v5 ? { shareEncoding: "scmpc-share-v5" } : {}) });
  }
  return { datasetId, commitments: requests.map((r) => r.commitment) as [string, string, string], requests, shares: hostShares };
}

/**
 * The rest of a sale after the three Compute answers, as the market runs it:
 * the bridge packs the wrapped envelopes and has each host sign the result,
 * the chain records the request Fulfilled, the buyer asks each host for its
 * release key and opens the result. Returns the opened values.
 */
export async function settleAndOpen(
  cluster: Cluster,
  sale: { requestId: string; responses: { jobId: string; encryptedOutput: Buffer }[]; buyerPrivateKey: Uint8Array; consumer?: string },
): Promise<bigint[]> {
  const consumer = sale.consumer ?? CONSUMER;
  const result = packResult(sale.responses[0].jobId, sale.responses.map((r) => r.encryptedOutput));
  await Promise.all([0, 1, 2].map((i) => cluster.asBridge(i, "SignResult", { requestId: sale.requestId, result: getBytes(result), consumer })));
  cluster.chain.fulfil(consumer, sale.requestId, result);
  const keys = await Promise.all(
    cluster.clients.map((c) => callUnary<{ key: Buffer }>(c, "releaseKey", { requestId: sale.requestId, consumer })),
  );
  return openResult({ requestId: sale.requestId, buyerPrivateKey: sale.buyerPrivateKey, result, releaseKeys: keys.map((k) => k.key), jobId: sale.responses[0].jobId });
}
