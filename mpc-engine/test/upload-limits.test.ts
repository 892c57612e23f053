import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { Wallet } from "ethers";
import { pino } from "pino";
import type { UploadSharesResponse } from "@scmpc/protos";
import { createShareStore, mpcErrorCodeOf } from "../src/host/index.ts";
import { createUnregisteredSweeper } from "../src/host/unregistered-sweeper.ts";
import { buildUploads, callUnary, FakeChain, schemaHashOf, startCluster, type Cluster } from "./support/cluster.ts";

// Uploads are the one part of the Host API open to anyone: a stranger with
// fresh keys must not be able to fill a host's disk.
const column = (rows: number) => ({ name: "v", scale: 0, values: new BigUint64Array(rows).fill(7n) });
/** Bytes one host stores for a one-column share of `rows` rows: four 8-byte components per row (value and validity, two each). */
const shareBytes = (rows: number) => rows * 32;

describe("bounded uploads", () => {
  const clusters: Cluster[] = [];
  const dirs: string[] = [];
  after(async () => {
    for (const c of clusters) await c.close();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it("refuses a message larger than the largest share the host takes, naming the limit", async () => {
    const cluster = await startCluster({ jobTimeoutMs: 2000, config: { maxUploadBytes: 64 * 1024 } });
    clusters.push(cluster);
    const small = await buildUploads(Wallet.createRandom(), "small", column(100));
    await callUnary<UploadSharesResponse>(cluster.clients[0], "uploadShares", small.requests[0]);
    const big = await buildUploads(Wallet.createRandom(), "big", column(10_000));
    await assert.rejects(callUnary(cluster.clients[0], "uploadShares", big.requests[0]), (err: unknown) => {
      const e = err as grpc.ServiceError;
      assert.equal(e.code, grpc.status.RESOURCE_EXHAUSTED, e.details);
      assert.match(e.details, /larger than max/);
      return true;
    });
  });

  it("holds each seller to its quota, and all unregistered uploads together to the host's room for them", async () => {
    const rows = 1000;
    const cluster = await startCluster({ jobTimeoutMs: 2000, config: { sellerQuotaBytes: 2 * shareBytes(rows), unregisteredMaxBytes: 5 * shareBytes(rows) } });
    clusters.push(cluster);
    const seller = Wallet.createRandom();
    const upload = async (owner: { address: string } & Parameters<typeof buildUploads>[0], name: string) =>
      callUnary<UploadSharesResponse>(cluster.clients[1], "uploadShares", (await buildUploads(owner, name, column(rows))).requests[1]);
    const first = await buildUploads(seller, "one", column(rows));
    await callUnary(cluster.clients[1], "uploadShares", first.requests[1]);
    await upload(seller, "two");
    // The same share again takes no room: idempotent.
    await callUnary(cluster.clients[1], "uploadShares", first.requests[1]);
    await assert.rejects(upload(seller, "three"), (err: unknown) => {
      const e = err as grpc.ServiceError;
      assert.equal(e.code, grpc.status.RESOURCE_EXHAUSTED);
      assert.equal(mpcErrorCodeOf(e), "QUOTA_EXCEEDED");
      assert.match(e.details, new RegExp(`seller ${seller.address} stores ${2 * shareBytes(rows)} bytes`));
      return true;
    });
    // Sybils: each fresh seller is within its quota, but unregistered uploads together are bounded.
    await upload(Wallet.createRandom(), "sybil-1");
    await upload(Wallet.createRandom(), "sybil-2");
    await upload(Wallet.createRandom(), "sybil-3");
    await assert.rejects(upload(Wallet.createRandom(), "sybil-4"), (err: unknown) => {
      assert.equal(mpcErrorCodeOf(err), "QUOTA_EXCEEDED");
      assert.match((err as grpc.ServiceError).details, /not yet registered on-chain/);
      return true;
    });
  });

  it("counts uploads in progress against the quotas: uploads sent at once cannot each pass a check the others would fail", async () => {
    const rows = 20_000;
    const cluster = await startCluster({ jobTimeoutMs: 2000, config: { sellerQuotaBytes: 2 * shareBytes(rows), unregisteredMaxBytes: 3 * shareBytes(rows) } });
    clusters.push(cluster);
    const settled = async (uploads: Awaited<ReturnType<typeof buildUploads>>[]) =>
      Promise.allSettled(uploads.map((u) => callUnary<UploadSharesResponse>(cluster.clients[1], "uploadShares", u.requests[1])));
    const refusals = (results: PromiseSettledResult<unknown>[]): [string | undefined, string][] =>
      results.filter((r): r is PromiseRejectedResult => r.status === "rejected").map((r) => [mpcErrorCodeOf(r.reason), (r.reason as grpc.ServiceError).details]);
    // One seller, room for two shares: one version sent three times at once takes the room of one.
    const seller = Wallet.createRandom();
    const once = await buildUploads(seller, "one", column(rows));
    const repeated = await settled([once, once, once]);
    assert.deepEqual(refusals(repeated), []);
    // Two more versions at once, room for one.
    const own = await Promise.all(["two", "three"].map((name) => buildUploads(seller, name, column(rows))));
    const first = await settled(own);
    assert.equal(first.filter((r) => r.status === "fulfilled").length, 1, JSON.stringify(refusals(first)));
    assert.deepEqual(refusals(first).map(([code]) => code), ["QUOTA_EXCEEDED"]);
    assert.match(refusals(first)[0][1], new RegExp(`seller ${seller.address} stores \\d+ bytes on this host( and is uploading \\d+ more)?; this ${shareBytes(rows)}-byte share would pass its quota`));
    // Sybils at once: room for one more unregistered share on the host.
    const sybils = await Promise.all([1, 2, 3].map((k) => buildUploads(Wallet.createRandom(), `sybil-${k}`, column(rows))));
    const second = await settled(sybils);
    assert.equal(second.filter((r) => r.status === "fulfilled").length, 1, JSON.stringify(refusals(second)));
    assert.ok(refusals(second).every(([code, details]) => code === "QUOTA_EXCEEDED" && /not yet registered on-chain/.test(details)));
    assert.equal((await createShareStore({ dataDir: cluster.dataDirOf(1), hostIndex: 1 }).usage()).length, 3);
  });

  it("deletes shares not registered on-chain in time and keeps the registered ones", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "scmpc-sweep-"));
    dirs.push(dataDir);
    const store = createShareStore({ dataDir, hostIndex: 0 });
    const chain = new FakeChain();
    const seller = Wallet.createRandom();
    const kept = await buildUploads(seller, "kept", column(10));
    const dropped = await buildUploads(seller, "dropped", column(10));
    const forged = await buildUploads(seller, "forged", column(10));
    for (const u of [kept, dropped, forged]) {
      const r = u.requests[0];
      await store.put({ datasetId: u.datasetId, seller: seller.address, name: r.name, hostIndex: 0, rowCount: 10n, commitment: r.commitment, signature: r.signature, columns: u.shares[0] });
    }
    const listed = (u: typeof kept, commitments: [string, string, string]) =>
      chain.datasets.set(u.datasetId, {
        seller: seller.address, name: "x", schemaHash: schemaHashOf([{ name: "v", scale: 0 }]), rowCount: 10n, price: 1n, commitments, active: true, minRows: 0n,
      });
    listed(kept, kept.commitments);
    // Registered, but with other shares than the ones this host holds: not this upload's registration.
    listed(forged, [`0x${"ee".repeat(32)}`, forged.commitments[1], forged.commitments[2]]);
    const ttlMs = 60_000;
    const sweeper = createUnregisteredSweeper({ store, chain, hostIndex: 0, ttlMs, retentionMs: async () => 3_600_000, logger: pino({ level: "silent" }) });
    const version = (u: typeof kept) => `${u.datasetId}:${u.commitments[0]}`;

    // Within the time limit nothing is deleted; the registered share is marked.
    assert.deepEqual(await sweeper.sweep(Date.now()), { registered: [version(kept)], deleted: [], superseded: [], dropped: [] });
    // Past it, the unregistered ones go; the registered one stays however old it is.
    const later = await sweeper.sweep(Date.now() + ttlMs + 1);
    assert.deepEqual([later.registered, later.superseded, later.dropped], [[], [], []]);
    assert.deepEqual([...later.deleted].sort(), [version(dropped), version(forged)].sort());
    assert.ok(await store.get(kept.datasetId));
    assert.equal(await store.get(dropped.datasetId), undefined);
    assert.deepEqual((await store.usage()).map((u) => [u.datasetId, u.registered]), [[kept.datasetId, true]]);
    // The mark survives a restart of the store.
    const reopened = createShareStore({ dataDir, hostIndex: 0 });
    assert.deepEqual((await reopened.usage()).map((u) => u.registered), [true]);

    // While the chain cannot be read, nothing is deleted.
    const late = await buildUploads(seller, "late", column(10));
    const r = late.requests[0];
    await store.put({ datasetId: late.datasetId, seller: seller.address, name: r.name, hostIndex: 0, rowCount: 10n, commitment: r.commitment, signature: r.signature, columns: late.shares[0] });
    chain.getDataset = async () => {
      throw new Error("chain down");
    };
    assert.deepEqual(await sweeper.sweep(Date.now() + ttlMs + 1), { registered: [], deleted: [], superseded: [], dropped: [] });
    assert.ok(await store.get(late.datasetId));
  });
});
