// Test support: three MPC hosts in one process on loopback, a fake chain,
// and seller-side upload construction.
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { getBytes, keccak256, toUtf8Bytes, Wallet, ZeroAddress, ZeroHash, type Signer } from "ethers";
import { loadMpcV1, MAX_MESSAGE_BYTES, type UploadSharesRequest } from "@scmpc/protos";
import { datasetIdOf, encodeRingVector, schemaText, shareColumn, shareCommitment, uploadDigest } from "../../src/index.ts";
import { requestHashOf } from "../../src/host/chain-reader.ts";
import {
  createHost,
  type ChainReader,
  type HostConfig,
  type HostIndex,
  type MpcHost,
  type OnChainDataset,
  type OnChainRequest,
} from "../../src/host/index.ts";
import { createTlsMaterial, hostApiCredentials, type HostApiTls, type TlsMaterial } from "../../src/tls/index.ts";

/** Reserves `n` free loopback ports (bind port 0, read, release). */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () => new Promise<ReturnType<typeof createServer>>((resolve) => {
      const s = createServer();
      s.listen(0, "127.0.0.1", () => resolve(s));
    })),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

/** In-memory {@link ChainReader}: tests set datasets, policies and requests directly. */
export class FakeChain implements ChainReader {
  readonly datasets = new Map<string, OnChainDataset>();
  readonly requests = new Map<string, OnChainRequest>();
  /** `${datasetId}/${algorithmId}` pairs the sellers do NOT allow (everything else is allowed). */
  readonly refused = new Set<string>();
  /** The algorithm each consumer contract sells; the test consumer sells whatever the request names unless set. */
  readonly algorithms = new Map<string, string>();
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
  async algorithmOf(consumer: string): Promise<string> {
    return this.algorithms.get(consumer.toLowerCase()) ?? "sum@1";
  }
  async getRequest(consumer: string, requestId: string): Promise<OnChainRequest> {
    return (
      this.requests.get(`${consumer.toLowerCase()}/${requestId.toLowerCase()}`) ?? {
        buyer: ZeroAddress, status: 0, deadline: 0n, price: 0n, fee: 0n, requestHash: ZeroHash, resultHash: ZeroHash,
      }
    );
  }
  /** Records a request as the per-algorithm contract would: its datasets, params and key only as their hash. */
  setRequest(
    consumer: string,
    requestId: string,
    request: { buyer: string; datasetIds: string[]; params: string; buyerKey: string; price: bigint; status: number },
  ): void {
    this.requests.set(`${consumer.toLowerCase()}/${requestId.toLowerCase()}`, {
      buyer: request.buyer,
      status: request.status,
      deadline: BigInt(Math.floor(Date.now() / 1000) + 3600),
      price: request.price,
      fee: 0n,
      requestHash: requestHashOf(request),
      resultHash: ZeroHash,
    });
  }
  close(): void {}
}

export const CONSUMER = "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0";
export const REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3";

/** A running set of hosts with Host-service clients. */
export interface Cluster {
  /** Host API ports, index order. */
  ports: number[];
  /** Peer service (mutual TLS) ports, index order. */
  peerPorts: number[];
  /** The deployment's CA and host certificates. */
  tls: TlsMaterial;
  /** How clients trust the hosts' Host API (TLS, pinned certificates). */
  hostTls: HostApiTls;
  hosts: Map<number, MpcHost>;
  /** The hosts' result-signing keys, index order. */
  signers: { address: string; privateKey: string }[];
  clients: grpc.Client[];
  chain: FakeChain;
  /** Closes host `index` and starts a new one on the same configuration and data directory. */
  restart(index: number): Promise<void>;
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
}): Promise<Cluster> {
  const indices = options.indices ?? [0, 1, 2];
  const allPorts = await freePorts(6);
  const ports = allPorts.slice(0, 3);
  const peerPorts = allPorts.slice(3);
  const apis = ports.map((p) => `127.0.0.1:${p}`);
  const peers = peerPorts.map((p) => `127.0.0.1:${p}`) as [string, string, string];
  const chain = new FakeChain();
  const signers = [0, 1, 2].map(() => Wallet.createRandom());
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
      signingKey: signers[hostIndex].privateKey,
      logLevel: "silent",
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
      new Host(address, hostApiCredentials(options.apiTls === false ? undefined : clientTls(index), index), {
        "grpc.max_send_message_length": MAX_MESSAGE_BYTES,
        "grpc.max_receive_message_length": MAX_MESSAGE_BYTES,
      }),
  );
  return {
    ports,
    peerPorts,
    tls,
    hostTls,
    hosts,
    signers,
    clients,
    chain,
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

/** Calls a unary method with a deadline; resolves the response or rejects the gRPC error. */
export function callUnary<Res>(client: grpc.Client, method: string, request: unknown, timeoutMs = 10_000): Promise<Res> {
  return new Promise((resolve, reject) => {
    const fn = (client as unknown as Record<string, (...args: unknown[]) => void>)[method].bind(client);
    fn(request, { deadline: new Date(Date.now() + timeoutMs) }, (err: grpc.ServiceError | null, res: Res) =>
      err ? reject(err) : resolve(res),
    );
  });
}

/** The on-chain schema hash of a single-column dataset, as the seller publishes it. */
export function schemaHashOf(columns: { name: string; scale: number }[]): string {
  return keccak256(toUtf8Bytes(schemaText(columns)));
}

/** Seller side: shares one column (or several, row-aligned) and builds the three signed upload requests. */
export async function buildUploads(
  seller: Signer & { address: string },
  name: string,
  column: { name: string; scale: number; values: BigUint64Array } | { name: string; scale: number; values: BigUint64Array }[],
): Promise<{ datasetId: string; commitments: [string, string, string]; requests: UploadSharesRequest[] }> {
  const columns = Array.isArray(column) ? column : [column];
  const datasetId = datasetIdOf(seller.address, name);
  const shares = columns.map((c) => shareColumn(c.values));
  const rowCount = String(columns[0].values.length);
  const requests: UploadSharesRequest[] = [];
  for (const hostIndex of [0, 1, 2]) {
    const columnShares = columns.map((c, k) => ({
      name: c.name,
      scale: c.scale,
      a: encodeRingVector(shares[k][hostIndex].a),
      b: encodeRingVector(shares[k][hostIndex].b),
    }));
    const commitment = shareCommitment({ datasetId, hostIndex, rowCount: BigInt(rowCount), columns: columnShares });
    const signature = await seller.signMessage(getBytes(uploadDigest(datasetId, hostIndex, commitment)));
    requests.push({ datasetId, seller: seller.address, name, hostIndex, rowCount, columns: columnShares, commitment, signature });
  }
  return { datasetId, commitments: requests.map((r) => r.commitment) as [string, string, string], requests };
}
