import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeRingVector, isMpcError, schemaText, shareColumn, shareCommitment, type ColumnShareBytes } from "../src/index.ts";
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

function sampleShare(hostIndex: number, values = BigUint64Array.of(1n, 2n, 3n), valid = BigUint64Array.of(1n, 0n, 1n)): StoredShare {
  const share = shareColumn(values)[hostIndex];
  const validity = shareColumn(valid)[hostIndex];
  const dept = shareColumn(BigUint64Array.of(2n, 0n, 1n))[hostIndex];
  const allPresent = shareColumn(BigUint64Array.of(1n, 1n, 1n))[hostIndex];
  const datasetId = "0x" + "11".repeat(32);
  const columns: ColumnShareBytes[] = [
    { name: "v", scale: 0, lo: "0", hi: "10", a: encodeRingVector(share.a), b: encodeRingVector(share.b), validA: encodeRingVector(validity.a), validB: encodeRingVector(validity.b) },
    {
      name: "dept",
      scale: 0,
      lo: "0",
      hi: "2",
      type: "category",
      categories: ["eng", "ops", "sales"],
      a: encodeRingVector(dept.a),
      b: encodeRingVector(dept.b),
      validA: encodeRingVector(allPresent.a),
      validB: encodeRingVector(allPresent.b),
    },
  ];
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
  it("a share deleted from the disk is missing, even while a copy of it is in memory", async () => {
    const dataDir = await tempDir();
    const share = sampleShare(0);
    const store = createShareStore({ dataDir, hostIndex: 0 });
    await store.put(share);
    assert.ok(await store.get(share.datasetId), "cached after the upload");
    await rm(join(dataDir, "datasets", `${share.datasetId}.share`));
    assert.equal(await store.get(share.datasetId), undefined);
    assert.equal(await store.get(share.datasetId), undefined);
  });

  it("persists a share, validity, types and dictionaries included, that a new instance reads back, leaving no temp files", async () => {
    const dataDir = await tempDir();
    const share = sampleShare(1);
    const store = createShareStore({ dataDir, hostIndex: 1 });
    assert.deepEqual(await store.put(share), { created: true });
    const loaded = await createShareStore({ dataDir, hostIndex: 1 }).get(share.datasetId);
    assert.ok(loaded);
    assert.equal(loaded.commitment, share.commitment);
    assert.equal(loaded.rowCount, 3n);
    for (const [k, column] of share.columns.entries()) {
      for (const part of ["a", "b", "validA", "validB"] as const) assert.deepEqual(Buffer.from(loaded.columns[k][part]), Buffer.from(column[part]), `${column.name}.${part}`);
    }
    assert.deepEqual(
      loaded.columns.map(({ name, scale, lo, hi, type, categories }) => ({ name, scale, lo, hi, type, categories })),
      [
        { name: "v", scale: 0, lo: "0", hi: "10", type: undefined, categories: undefined },
        { name: "dept", scale: 0, lo: "0", hi: "2", type: "category", categories: ["eng", "ops", "sales"] },
      ],
    );
    // The on-chain schema the hosts check rebuilds from what was stored.
    assert.equal(
      schemaText(loaded.columns),
      '{"columns":[{"name":"v","scale":0,"lo":"0","hi":"10"},{"name":"dept","scale":0,"lo":"0","hi":"2","type":"category","categories":["eng","ops","sales"]}]}',
    );
    // Every stored byte counts: two columns × four components × three rows × 8 bytes.
    assert.deepEqual((await store.usage()).map((u) => u.bytes), [2 * 4 * 3 * 8]);
    assert.deepEqual((await createShareStore({ dataDir, hostIndex: 1 }).usage()).map((u) => u.bytes), [2 * 4 * 3 * 8]);
    const file = await readFile(join(dataDir, "datasets", `${share.datasetId}.share`));
    assert.equal(file.subarray(0, 8).toString("ascii"), "SCMPCSH2");
    assert.deepEqual(await readdir(join(dataDir, "datasets")), [`${share.datasetId}.share`]);
  });

  it("reports a share stored in the earlier layout (no validity shares) as corrupt, saying why, and still counts its bytes", async () => {
    const dataDir = await tempDir();
    const share = sampleShare(0);
    await createShareStore({ dataDir, hostIndex: 0 }).put(share);
    const file = join(dataDir, "datasets", `${share.datasetId}.share`);
    const bytes = await readFile(file);
    const headerEnd = 12 + bytes.readUInt32LE(8);
    // The SCMPCSH1 layout: magic, header, then a and b of each column only.
    const columnBytes = 3 * 8;
    const v1 = Buffer.concat([
      Buffer.from("SCMPCSH1", "ascii"),
      bytes.subarray(8, headerEnd),
      ...[0, 1].map((k) => bytes.subarray(headerEnd + k * 4 * columnBytes, headerEnd + k * 4 * columnBytes + 2 * columnBytes)),
    ]);
    await writeFile(file, v1);
    const reopened = createShareStore({ dataDir, hostIndex: 0 });
    assert.deepEqual((await reopened.usage()).map((u) => u.bytes), [2 * 2 * 3 * 8]);
    await assert.rejects(reopened.get(share.datasetId), (err: unknown) => isMpcError(err, "STORE_CORRUPT") && /SCMPCSH1 format, without validity shares/.test(err.message));
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
    const bytes = await readFile(file);
    bytes[bytes.length - 1] ^= 1;
    await writeFile(file, bytes);
    await assert.rejects(createShareStore({ dataDir, hostIndex: 0 }).get(share.datasetId), (err: unknown) => isMpcError(err, "STORE_CORRUPT"));
  });
});
