import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeRingVector, isMpcError, shareColumn, shareCommitment } from "../src/index.ts";
import { createShareStore, type StoredShare } from "../src/host/index.ts";

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "scmpc-store-"));
  dirs.push(dir);
  return dir;
}
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

function sampleShare(hostIndex: number, values = BigUint64Array.of(1n, 2n, 3n)): StoredShare {
  const share = shareColumn(values)[hostIndex];
  const datasetId = "0x" + "11".repeat(32);
  const columns = [{ name: "v", scale: 0, lo: "0", hi: "10", a: encodeRingVector(share.a), b: encodeRingVector(share.b) }];
  const rowCount = BigInt(values.length);
  return {
    datasetId,
    seller: "0x" + "22".repeat(20),
    name: "sample",
    hostIndex,
    rowCount,
    commitment: shareCommitment({ datasetId, hostIndex, rowCount, columns }),
    signature: "0x",
    columns,
  };
}

describe("share store", () => {
  it("persists a share that a new instance reads back, leaving no temp files", async () => {
    const dataDir = await tempDir();
    const share = sampleShare(1);
    assert.deepEqual(await createShareStore({ dataDir, hostIndex: 1 }).put(share), { created: true });
    const loaded = await createShareStore({ dataDir, hostIndex: 1 }).get(share.datasetId);
    assert.ok(loaded);
    assert.equal(loaded.commitment, share.commitment);
    assert.equal(loaded.rowCount, 3n);
    assert.deepEqual(Buffer.from(loaded.columns[0].a), Buffer.from(share.columns[0].a));
    assert.deepEqual(Buffer.from(loaded.columns[0].b), Buffer.from(share.columns[0].b));
    assert.deepEqual(await readdir(join(dataDir, "datasets")), [`${share.datasetId}.share`]);
  });

  it("returns undefined for an unknown dataset", async () => {
    const store = createShareStore({ dataDir: await tempDir(), hostIndex: 0 });
    assert.equal(await store.get("0x" + "99".repeat(32)), undefined);
  });

  it("is idempotent for the same commitment and refuses a different one", async () => {
    const store = createShareStore({ dataDir: await tempDir(), hostIndex: 0 });
    const share = sampleShare(0);
    assert.deepEqual(await store.put(share), { created: true });
    assert.deepEqual(await store.put(share), { created: false });
    const other = sampleShare(0, BigUint64Array.of(4n, 5n, 6n));
    await assert.rejects(store.put(other), (err: unknown) => isMpcError(err, "DATASET_CONFLICT") && err.message.includes(share.commitment));
    assert.equal((await store.get(share.datasetId))?.commitment, share.commitment);
  });

  it("serialises concurrent uploads of one dataset: exactly one creates it", async () => {
    const store = createShareStore({ dataDir: await tempDir(), hostIndex: 2 });
    const share = sampleShare(2);
    const results = await Promise.all([store.put(share), store.put(share), store.put(share)]);
    assert.equal(results.filter((r) => r.created).length, 1);
  });

  it("stores only its own host's share", async () => {
    const store = createShareStore({ dataDir: await tempDir(), hostIndex: 0 });
    await assert.rejects(store.put(sampleShare(1)), (err: unknown) => isMpcError(err, "WRONG_HOST"));
  });

  it("detects a corrupted file", async () => {
    const dataDir = await tempDir();
    const store = createShareStore({ dataDir, hostIndex: 0 });
    const share = sampleShare(0);
    await store.put(share);
    const file = join(dataDir, "datasets", `${share.datasetId}.share`);
    const { readFile } = await import("node:fs/promises");
    const bytes = await readFile(file);
    bytes[bytes.length - 1] ^= 1;
    await writeFile(file, bytes);
    await assert.rejects(createShareStore({ dataDir, hostIndex: 0 }).get(share.datasetId), (err: unknown) => isMpcError(err, "STORE_CORRUPT"));
  });
});
