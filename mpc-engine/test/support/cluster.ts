// Test support: three MPC hosts in one process on loopback, a fake chain,
// and seller-side upload construction.
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { getBytes, ZeroAddress, ZeroHash, type Signer } from "ethers";
import { loadMpcV1, MAX_MESSAGE_BYTES, type UploadSharesRequest } from "@scmpc/protos";
import { datasetIdOf, encodeRingVector, shareColumn, shareCommitment, uploadDigest } from "../../src/index.ts";
import {
  createHost,
  type ChainReader,
  type HostConfig,
  type HostIndex,
  type MpcHost,
  type OnChainDataset,
  type OnChainRequest,
} from "../../src/host/index.ts";

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

/** In-memory {@link ChainReader}: tests set datasets and requests directly. */
export class FakeChain implements ChainReader {
  readonly datasets = new Map<string, OnChainDataset>();
  readonly requests = new Map<string, OnChainRequest>();
  async getDataset(datasetId: string): Promise<OnChainDataset> {
    return (
      this.datasets.get(datasetId.toLowerCase()) ?? {
        seller: ZeroAddress, name: "", schemaHash: ZeroHash, rowCount: 0n, price: 0n,
        commitments: [ZeroHash, ZeroHash, ZeroHash], active: false,
      }
    );
  }
  async getRequest(consumer: string, requestId: string): Promise<OnChainRequest> {
    return (
      this.requests.get(`${consumer.toLowerCase()}/${requestId.toLowerCase()}`) ?? {
        buyer: ZeroAddress, datasetId: ZeroHash, column: "", buyerKey: ZeroHash, price: 0n, status: 0, result: "0x",
      }
    );
  }
  setRequest(consumer: string, requestId: string, request: OnChainRequest): void {
    this.requests.set(`${consumer.toLowerCase()}/${requestId.toLowerCase()}`, request);
  }
  close(): void {}
}

export const CONSUMER = "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0";
export const REGISTRY = "0x5FbDB2315678afecb367f032d93F642f64180aa3";

/** A running set of hosts with Host-service clients. */
export interface Cluster {
  ports: number[];
  hosts: Map<number, MpcHost>;
  clients: grpc.Client[];
  chain: FakeChain;
  close(): Promise<void>;
}

/** Starts the hosts in `indices` (others stay dead) with a shared fake chain. */
export async function startCluster(options: { indices?: number[]; jobTimeoutMs: number }): Promise<Cluster> {
  const indices = options.indices ?? [0, 1, 2];
  const ports = await freePorts(3);
  const peers = ports.map((p) => `127.0.0.1:${p}`) as [string, string, string];
  const chain = new FakeChain();
  const dataDirs: string[] = [];
  const hosts = new Map<number, MpcHost>();
  for (const hostIndex of indices) {
    const dataDir = await mkdtemp(join(tmpdir(), `scmpc-host${hostIndex}-`));
    dataDirs.push(dataDir);
    const config: HostConfig = {
      hostIndex: hostIndex as HostIndex,
      listen: peers[hostIndex],
      peers,
      dataDir,
      rpcUrl: "http://127.0.0.1:1",
      registryAddress: REGISTRY,
      algorithmContracts: [CONSUMER],
      jobTimeoutMs: options.jobTimeoutMs,
      logLevel: "silent",
    };
    const host = createHost(config, { chainReader: chain });
    hosts.set(hostIndex, host);
    await host.start();
  }
  const { Host } = loadMpcV1();
  const clients = peers.map(
    (address) =>
      new Host(address, grpc.credentials.createInsecure(), {
        "grpc.max_send_message_length": MAX_MESSAGE_BYTES,
        "grpc.max_receive_message_length": MAX_MESSAGE_BYTES,
      }),
  );
  return {
    ports,
    hosts,
    clients,
    chain,
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

/** Seller side: shares one column and builds the three signed upload requests. */
export async function buildUploads(
  seller: Signer & { address: string },
  name: string,
  column: { name: string; scale: number; values: BigUint64Array },
): Promise<{ datasetId: string; commitments: [string, string, string]; requests: UploadSharesRequest[] }> {
  const datasetId = datasetIdOf(seller.address, name);
  const shares = shareColumn(column.values);
  const rowCount = String(column.values.length);
  const requests: UploadSharesRequest[] = [];
  for (const hostIndex of [0, 1, 2]) {
    const columns = [
      { name: column.name, scale: column.scale, a: encodeRingVector(shares[hostIndex].a), b: encodeRingVector(shares[hostIndex].b) },
    ];
    const commitment = shareCommitment({ datasetId, hostIndex, rowCount: BigInt(rowCount), columns });
    const signature = await seller.signMessage(getBytes(uploadDigest(datasetId, hostIndex, commitment)));
    requests.push({ datasetId, seller: seller.address, name, hostIndex, rowCount, columns, commitment, signature });
  }
  return { datasetId, commitments: requests.map((r) => r.commitment) as [string, string, string], requests };
}
