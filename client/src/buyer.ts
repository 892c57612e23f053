import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { hexlify } from "ethers";
import type { StackState } from "./state.ts";
import { releaseKeyOverGrpc } from "./key-release.ts";
import { purchaseComputation, purchaseQuery, type BuyerTransport, type PurchaseOptions, type PurchasedQuery, type PurchasedResult } from "./purchase.ts";

// The buyer's purchase from Node: keys kept as files, the hosts reached over gRPC.
export * from "./purchase.ts";

/**
 * The Node buyer's transport: each request's private key in
 * `<keyDir>/<requestId>.key` (0600, so the result can be decrypted again), the
 * hosts' release keys over gRPC with the stack's TLS trust.
 *
 * @example
 * const transport = fileTransport(state, path.join(dir, "buyer-keys"));
 */
export function fileTransport(state: StackState, keyDir: string): BuyerTransport {
  return {
    async keepKey(requestId, privateKey) {
      await mkdir(keyDir, { recursive: true, mode: 0o700 });
      await writeFile(path.join(keyDir, `${requestId}.key`), hexlify(privateKey) + "\n", { mode: 0o600 });
    },
    releaseKey: (hostIndex, request) => releaseKeyOverGrpc({ hosts: state.hosts, tls: state.hostTls }, hostIndex, request),
  };
}

/** Where the buyer's per-request private keys are kept, in place of a transport. */
type WithKeyDir<T> = Omit<T, "transport"> & { keyDir: string };

/**
 * Buys one computation from Node: see {@link purchaseComputation}; the key is kept in `keyDir`.
 *
 * @example
 * const { result } = await buyComputation({ state, buyer, algorithm: "mean@1", datasetIds: [id], params: '{"column":"salary"}', keyDir });
 */
export function buyComputation(options: WithKeyDir<PurchaseOptions>): Promise<PurchasedResult> {
  return purchaseComputation({ ...options, transport: fileTransport(options.state, options.keyDir) });
}

/**
 * Buys the answer to a query from Node: see {@link purchaseQuery}; the key is kept in `keyDir`.
 *
 * @example
 * const { result } = await buyQuery({ state, buyer, sql: 'SELECT avg(salary) FROM "0x…"', keyDir, epsilon: "1" });
 */
export function buyQuery(options: WithKeyDir<Parameters<typeof purchaseQuery>[0]>): Promise<PurchasedQuery> {
  return purchaseQuery({ ...options, transport: fileTransport(options.state, options.keyDir) });
}
