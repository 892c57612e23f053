// A refreshed dataset has several versions on a host: the one current
// on-chain, the next one uploaded ahead of its refreshDataset, and the ones a
// refresh replaced, kept while a pending request may still be computed over
// them (a request pins the version current when it was made).
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { Wallet } from "ethers";
import { pino } from "pino";
import type { UploadSharesResponse } from "@scmpc/protos";
import { createShareStore, mpcErrorCodeOf, type ShareStore } from "../src/host/index.ts";
import {
  createUnregisteredSweeper,
  supersededRetention,
  SUPERSEDED_RETENTION_FALLBACK_MS,
  SUPERSEDED_RETENTION_MARGIN_MS,
} from "../src/host/unregistered-sweeper.ts";
import { buildUploads, callUnary, FakeChain, schemaHashOf, startCluster, type Cluster } from "./support/cluster.ts";

const silent = pino({ level: "silent" });
const column = (rows: number, value = 7n) => ({ name: "v", scale: 0, values: new BigUint64Array(rows).fill(value) });
/** Bytes one host stores for a one-column share of `rows` rows: four 8-byte components per row. */
const shareBytes = (rows: number) => rows * 32;
type Upload = Awaited<ReturnType<typeof buildUploads>>;

/** Stores host 0's share of an upload, as UploadShares would. */
async function put(store: ShareStore, seller: { address: string }, upload: Upload): Promise<void> {
  const r = upload.requests[0];
  await store.put({ datasetId: upload.datasetId, seller: seller.address, name: r.name, hostIndex: 0, rowCount: BigInt(r.rowCount), commitment: r.commitment, signature: r.signature, columns: upload.shares[0] });
}

/** Lists (or refreshes) a dataset on the fake chain with an upload's commitments. */
function list(chain: FakeChain, seller: { address: string }, upload: Upload): void {
  chain.datasets.set(upload.datasetId, {
    seller: seller.address, name: upload.requests[0].name, schemaHash: schemaHashOf([{ name: "v", scale: 0 }]), rowCount: BigInt(upload.requests[0].rowCount),
    price: 1n, commitments: upload.commitments, active: true, minRows: 0n,
  });
}

describe("dataset versions on a host", () => {
  const dirs: string[] = [];
  const clusters: Cluster[] = [];
  after(async () => {
    for (const c of clusters) await c.close();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });
  const tempDir = async () => {
    const dir = await mkdtemp(join(tmpdir(), "scmpc-versions-"));
    dirs.push(dir);
    return dir;
  };

  it("marks the version a refresh replaced superseded and drops it only once superseded for longer than the retention", async () => {
    const dataDir = await tempDir();
    const store = createShareStore({ dataDir, hostIndex: 0 });
    const chain = new FakeChain();
    const seller = Wallet.createRandom();
    const ttlMs = 60_000;
    const retentionMs = 2 * 3_600_000;
    let retentionReads = 0;
    const sweeperOf = (s: ShareStore) =>
      createUnregisteredSweeper({ store: s, chain, hostIndex: 0, ttlMs, retentionMs: async () => (retentionReads++, retentionMs), logger: silent });
    const sweeper = sweeperOf(store);
    const v1 = await buildUploads(seller, "rolling", column(10, 1n));
    const v2 = await buildUploads(seller, "rolling", column(12, 2n));
    assert.equal(v1.datasetId, v2.datasetId);
    const name = (u: Upload) => `${u.datasetId}:${u.commitments[0]}`;
    const t0 = Date.now();

    await put(store, seller, v1);
    list(chain, seller, v1);
    assert.deepEqual(await sweeper.sweep(t0), { registered: [name(v1)], deleted: [], superseded: [], dropped: [] });
    // The next version, uploaded ahead of its refreshDataset, waits like any unregistered upload.
    await put(store, seller, v2);
    assert.deepEqual(await sweeper.sweep(t0 + 1000), { registered: [], deleted: [], superseded: [], dropped: [] });

    // refreshDataset: v2 is current, v1 superseded from the time this host first sees it.
    list(chain, seller, v2);
    const t1 = t0 + 5000;
    assert.deepEqual(await sweeper.sweep(t1), { registered: [name(v2)], deleted: [], superseded: [name(v1)], dropped: [] });
    assert.deepEqual(await sweeper.sweep(t1 + 1000), { registered: [], deleted: [], superseded: [], dropped: [] }, "marked once");
    assert.equal(retentionReads, 1);
    const reopened = createShareStore({ dataDir, hostIndex: 0 });
    assert.deepEqual(
      Object.fromEntries((await reopened.usage()).map((u) => [u.commitment, [u.registered, u.supersededAt]])),
      { [v1.commitments[0]]: [true, t1], [v2.commitments[0]]: [true, undefined] },
      "the superseded time survives a restart",
    );

    // Kept for as long as a request made before the refresh may be pending, past the time limit for unregistered uploads.
    const restarted = sweeperOf(reopened);
    assert.deepEqual((await restarted.sweep(t1 + retentionMs)).dropped, []);
    assert.ok(await reopened.get(v1.datasetId, v1.commitments[0]));
    assert.deepEqual(await restarted.sweep(t1 + retentionMs + 1), { registered: [], deleted: [], superseded: [], dropped: [name(v1)] });
    assert.equal(await reopened.get(v1.datasetId, v1.commitments[0]), undefined);
    assert.equal((await reopened.get(v2.datasetId, v2.commitments[0]))?.rowCount, 12n);
    assert.equal((await reopened.get(v2.datasetId))?.commitment, v2.commitments[0]);
    assert.deepEqual((await reopened.usage()).map((u) => u.commitment), [v2.commitments[0]]);
  });

  it("takes back a superseded version its seller refreshed back to, and leaves a registered dataset gone from the chain alone", async () => {
    const store = createShareStore({ dataDir: await tempDir(), hostIndex: 0 });
    const chain = new FakeChain();
    const seller = Wallet.createRandom();
    const sweeper = createUnregisteredSweeper({ store, chain, hostIndex: 0, ttlMs: 60_000, retentionMs: async () => 1000, logger: silent });
    const v1 = await buildUploads(seller, "back", column(10, 1n));
    const v2 = await buildUploads(seller, "back", column(10, 2n));
    const now = Date.now();
    await put(store, seller, v1);
    await put(store, seller, v2);
    list(chain, seller, v1);
    await sweeper.sweep(now);
    list(chain, seller, v2);
    assert.deepEqual((await sweeper.sweep(now)).superseded, [`${v1.datasetId}:${v1.commitments[0]}`]);
    list(chain, seller, v1);
    const back = await sweeper.sweep(now + 1);
    assert.deepEqual([back.registered, back.superseded, back.dropped], [[`${v1.datasetId}:${v1.commitments[0]}`], [`${v2.datasetId}:${v2.commitments[0]}`], []]);
    // Long after, v1 (current) stays and v2 (superseded) goes.
    assert.deepEqual((await sweeper.sweep(now + 10_000)).dropped, [`${v2.datasetId}:${v2.commitments[0]}`]);
    assert.ok(await store.get(v1.datasetId, v1.commitments[0]));

    // A dataset no longer on-chain at all: its registered version is kept.
    chain.datasets.delete(v1.datasetId);
    assert.deepEqual(await sweeper.sweep(now + 100_000_000), { registered: [], deleted: [], superseded: [], dropped: [] });
    assert.ok(await store.get(v1.datasetId, v1.commitments[0]));
  });

  it("keeps a version registered and replaced while the host was not looking, as superseded, instead of deleting it as a stray upload", async () => {
    const store = createShareStore({ dataDir: await tempDir(), hostIndex: 0 });
    const chain = new FakeChain();
    const seller = Wallet.createRandom();
    const sweeper = createUnregisteredSweeper({ store, chain, hostIndex: 0, ttlMs: 60_000, retentionMs: async () => 3_600_000, logger: silent });
    const v1 = await buildUploads(seller, "unseen", column(10, 1n));
    const v2 = await buildUploads(seller, "unseen", column(10, 2n));
    const stray = await buildUploads(seller, "unseen", column(10, 3n));
    const now = Date.now();
    for (const u of [v1, v2, stray]) await put(store, seller, u);
    // Registered as v1 and refreshed to v2 before this host's first sweep: v1 is in a DatasetRefreshed's previous commitments.
    list(chain, seller, v2);
    chain.replaced.add(`${v1.datasetId}:${v1.commitments[0]}`);
    const swept = await sweeper.sweep(now + 61_000);
    assert.deepEqual(
      [swept.registered, swept.superseded, swept.deleted],
      [[`${v2.datasetId}:${v2.commitments[0]}`], [`${v1.datasetId}:${v1.commitments[0]}`], [`${stray.datasetId}:${stray.commitments[0]}`]],
    );
    assert.ok(await store.get(v1.datasetId, v1.commitments[0]), "requests may have bought it: kept for the retention");
    assert.deepEqual((await sweeper.sweep(now + 61_000 + 3_600_001)).dropped, [`${v1.datasetId}:${v1.commitments[0]}`]);
  });

  it("marks and deletes nothing while the chain cannot be read, nor drops anything while the retention is unknown", async () => {
    const store = createShareStore({ dataDir: await tempDir(), hostIndex: 0 });
    const chain = new FakeChain();
    const seller = Wallet.createRandom();
    let retentionUnknown = false;
    const retentionMs = async () => {
      if (retentionUnknown) throw new Error("no timeout");
      return 1000;
    };
    const sweeper = createUnregisteredSweeper({ store, chain, hostIndex: 0, ttlMs: 60_000, retentionMs, logger: silent });
    const v1 = await buildUploads(seller, "flaky", column(10, 1n));
    const v2 = await buildUploads(seller, "flaky", column(10, 2n));
    const stray = await buildUploads(seller, "stray", column(10));
    const now = Date.now();
    await put(store, seller, v1);
    list(chain, seller, v1);
    await sweeper.sweep(now);
    await put(store, seller, v2);
    await put(store, seller, stray);
    list(chain, seller, v2);
    const getDataset = chain.getDataset;
    chain.getDataset = async (id) => (id === stray.datasetId ? Promise.reject(new Error("chain down")) : getDataset.call(chain, id));
    // v2 would be marked registered and v1 superseded: nothing is, since one read failed.
    const empty = { registered: [], deleted: [], superseded: [], dropped: [] };
    assert.deepEqual(await sweeper.sweep(now + 1000), empty);
    assert.deepEqual((await store.usage()).map((u) => [u.commitment, u.registered, u.supersededAt]).sort(), [
      [v1.commitments[0], true, undefined], [v2.commitments[0], false, undefined], [stray.commitments[0], false, undefined],
    ].sort());
    chain.getDataset = getDataset;
    assert.deepEqual((await sweeper.sweep(now + 2000)).superseded, [`${v1.datasetId}:${v1.commitments[0]}`]);

    // Past retention and past the time limit, with the chain down: all three stay.
    chain.getDataset = async () => {
      throw new Error("chain down");
    };
    assert.deepEqual(await sweeper.sweep(now + 100_000_000), empty);
    chain.getDataset = getDataset;
    // The chain back but the retention unknown: the stray upload goes, the superseded version stays.
    retentionUnknown = true;
    assert.deepEqual(await sweeper.sweep(now + 100_000_000), { ...empty, deleted: [`${stray.datasetId}:${stray.commitments[0]}`] });
    assert.ok(await store.get(v1.datasetId, v1.commitments[0]));
    retentionUnknown = false;
    assert.deepEqual((await sweeper.sweep(now + 100_000_000)).dropped, [`${v1.datasetId}:${v1.commitments[0]}`]);
  });

  it("keeps superseded versions for the longest request timeout plus a margin, read once, else 7 days", async () => {
    const timeouts = new Map([["0xa", 3600n], ["0xb", 86_400n]]);
    let reads = 0;
    let failing = false;
    const chain = {
      async requestTimeout(consumer: string) {
        reads++;
        if (failing) throw new Error("rpc down");
        return timeouts.get(consumer)!;
      },
    };
    failing = true;
    const retention = supersededRetention({ chain, consumers: ["0xa", "0xb"], logger: silent });
    assert.equal(await retention(), SUPERSEDED_RETENTION_FALLBACK_MS);
    assert.equal(SUPERSEDED_RETENTION_FALLBACK_MS, 7 * 24 * 3600 * 1000);
    failing = false;
    assert.equal(await retention(), 86_400_000 + SUPERSEDED_RETENTION_MARGIN_MS, "read again after a failure");
    assert.equal(SUPERSEDED_RETENTION_MARGIN_MS, 10 * 60 * 1000);
    const readsSoFar = reads;
    assert.equal(await retention(), 86_400_000 + SUPERSEDED_RETENTION_MARGIN_MS);
    assert.equal(reads, readsSoFar, "cached once read");
    assert.equal(await supersededRetention({ chain: {}, consumers: ["0xa"], logger: silent })(), SUPERSEDED_RETENTION_FALLBACK_MS);
  });

  it("takes a new version of a registered dataset with its schema, refuses another schema, and counts every version against the quota", async () => {
    const rows = 100;
    const cluster = await startCluster({ jobTimeoutMs: 2000, config: { sellerQuotaBytes: 2 * shareBytes(rows) } });
    clusters.push(cluster);
    const seller = Wallet.createRandom();
    const upload = (u: Upload) => callUnary<UploadSharesResponse>(cluster.clients[0], "uploadShares", u.requests[0]);
    const v1 = await buildUploads(seller, "monthly", column(rows, 1n));
    await upload(v1);
    list(cluster.chain, seller, v1);

    const v2 = await buildUploads(seller, "monthly", column(rows, 2n));
    assert.deepEqual(await upload(v2), { datasetId: v2.datasetId, commitment: v2.commitments[0], hostIndex: 0 });
    // The same version again takes no room.
    await upload(v1);
    await upload(v2);
    const stored = createShareStore({ dataDir: cluster.dataDirOf(0), hostIndex: 0 });
    assert.equal((await stored.get(v1.datasetId, v1.commitments[0]))?.commitment, v1.commitments[0]);
    assert.equal((await stored.get(v2.datasetId, v2.commitments[0]))?.commitment, v2.commitments[0]);

    // Another schema for the registered dataset: other bounds, or another column.
    for (const changed of [{ ...column(rows, 3n), hi: "100" }, { ...column(rows, 3n), name: "w" }]) {
      const v3 = await buildUploads(seller, "monthly", changed);
      await assert.rejects(upload(v3), (err: unknown) => {
        const e = err as grpc.ServiceError;
        assert.equal(e.code, grpc.status.FAILED_PRECONDITION, e.details);
        assert.equal(mpcErrorCodeOf(e), "SCHEMA_CHANGED");
        assert.match(e.details, new RegExp(`dataset ${v1.datasetId} is registered with another schema; a new version must keep its columns, types and bounds`));
        return true;
      });
    }
    // The same schema, a third version: past the seller's quota, both stored versions counted.
    const v3 = await buildUploads(seller, "monthly", column(rows, 3n));
    await assert.rejects(upload(v3), (err: unknown) => {
      assert.equal(mpcErrorCodeOf(err), "QUOTA_EXCEEDED");
      assert.match((err as grpc.ServiceError).details, new RegExp(`seller ${seller.address} stores ${2 * shareBytes(rows)} bytes`));
      return true;
    });

    // While the chain cannot be read, a version is refused as retryable.
    const getDataset = cluster.chain.getDataset;
    cluster.chain.getDataset = async () => {
      throw new Error("chain down");
    };
    try {
      await assert.rejects(upload(await buildUploads(Wallet.createRandom(), "fresh", column(rows))), (err: unknown) => {
        const e = err as grpc.ServiceError;
        assert.equal(e.code, grpc.status.UNAVAILABLE, e.details);
        assert.equal(mpcErrorCodeOf(e), "CHAIN_UNAVAILABLE");
        return true;
      });
    } finally {
      cluster.chain.getDataset = getDataset;
    }
  });
});
