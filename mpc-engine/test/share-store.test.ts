import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rename, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeRingVector, isMpcError, ringVectorView, schemaText, shareColumn, shareCommitment, shareCommitmentV3, type ColumnShareBytes } from "../src/index.ts";
import { chunkDigests, COMMITMENT_CHUNK_BYTES } from "../src/share-encoding.ts";
import { createShareStore, type ShareDigests, type StoredShare } from "../src/host/index.ts";
import { writeBehind } from "../src/host/share-store.ts";

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "scmpc-store-"));
  dirs.push(dir);
  return dir;
}
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

/** Where a store keeps one version of a dataset: `<id>.<commitment hex>.share` and its markers. */
function fileOf(dataDir: string, share: Pick<StoredShare, "datasetId" | "commitment">, suffix = ".share"): string {
  return join(dataDir, "datasets", `${share.datasetId}.${share.commitment.slice(2)}${suffix}`);
}

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
    await rm(fileOf(dataDir, share));
    assert.equal(await store.get(share.datasetId, share.commitment), undefined);
    assert.equal(await store.get(share.datasetId), undefined);
    assert.equal(await store.get(share.datasetId, share.commitment), undefined);
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
    const file = await readFile(fileOf(dataDir, share));
    assert.equal(file.subarray(0, 8).toString("ascii"), "SCMPCSH2");
    assert.deepEqual(await readdir(join(dataDir, "datasets")), [`${share.datasetId}.${share.commitment.slice(2)}.share`]);
  });

  it("keeps the vectors word-aligned, as stored from an upload and as read back, so a computation uses them without a copy; an unpadded file still reads", async () => {
    const dataDir = await tempDir();
    const share = sampleShare(2);
    // An upload's vectors sit at any offset of the request's buffer.
    const shifted = { ...share, columns: share.columns.map((c) => ({ ...c, a: Buffer.concat([Buffer.alloc(3), c.a]).subarray(3) })) };
    assert.notEqual(shifted.columns[0].a.byteOffset % 8, 0);
    const store = createShareStore({ dataDir, hostIndex: 2 });
    await store.put(shifted);
    const file = await readFile(fileOf(dataDir, share));
    assert.equal((12 + file.readUInt32LE(8)) % 8, 0, "the vectors start at a multiple of 8");
    for (const loaded of [await store.get(share.datasetId), await createShareStore({ dataDir, hostIndex: 2 }).get(share.datasetId)]) {
      assert.ok(loaded);
      for (const column of loaded.columns) {
        for (const part of ["a", "b", "validA", "validB"] as const) {
          const bytes = column[part];
          assert.equal(bytes.byteOffset % 8, 0, `${column.name}.${part} aligned`);
          assert.equal(ringVectorView(bytes).buffer, bytes.buffer, `${column.name}.${part} used in place`);
        }
      }
    }
    // A file from before the padding: the same JSON without the trailing spaces.
    const header = file.subarray(12, 12 + file.readUInt32LE(8)).toString("utf8").trimEnd();
    const length = Buffer.alloc(4);
    length.writeUInt32LE(Buffer.byteLength(header));
    await writeFile(fileOf(dataDir, share), Buffer.concat([file.subarray(0, 8), length, Buffer.from(header), file.subarray(12 + file.readUInt32LE(8))]));
    const old = await createShareStore({ dataDir, hostIndex: 2 }).get(share.datasetId);
    assert.ok(old);
    assert.notEqual(old.columns[0].a.byteOffset % 8, 0);
    assert.deepEqual(ringVectorView(old.columns[0].a), ringVectorView(share.columns[0].a), "copied where unaligned, same values");
  });

  it("reports a share stored in the earlier layout (no validity shares) as corrupt, saying why, and still counts its bytes", async () => {
    const dataDir = await tempDir();
    const share = sampleShare(0);
    await createShareStore({ dataDir, hostIndex: 0 }).put(share);
    const file = fileOf(dataDir, share);
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
    await assert.rejects(reopened.get(share.datasetId, share.commitment), (err: unknown) => isMpcError(err, "STORE_CORRUPT") && /SCMPCSH1 format, without validity shares/.test(err.message));
  });

  it("returns undefined for an unknown dataset", async () => {
    const store = createShareStore({ dataDir: await tempDir(), hostIndex: 0 });
    assert.equal(await store.get("0x" + "99".repeat(32)), undefined);
  });

  it("is idempotent per version and keeps another version of the dataset beside it, each read back by its commitment", async () => {
    const dataDir = await tempDir();
    const store = createShareStore({ dataDir, hostIndex: 0 });
    const first = sampleShare(0);
    const second = sampleShare(0, BigUint64Array.of(4n, 5n, 6n), BigUint64Array.of(1n, 1n, 0n));
    assert.notEqual(first.commitment, second.commitment);
    assert.deepEqual(await store.put(first), { created: true });
    assert.deepEqual(await store.put(first), { created: false });
    assert.deepEqual(await store.put(second), { created: true });
    assert.deepEqual(await store.put(second), { created: false });
    for (const reader of [store, createShareStore({ dataDir, hostIndex: 0 })]) {
      const [a, b] = [await reader.get(first.datasetId, first.commitment), await reader.get(second.datasetId, second.commitment.toUpperCase().replace("0X", "0x"))];
      assert.deepEqual([a?.commitment, a?.rowCount], [first.commitment, 3n]);
      assert.deepEqual([b?.commitment, b?.rowCount], [second.commitment, 3n]);
      assert.deepEqual(Buffer.from(b!.columns[0].a), Buffer.from(second.columns[0].a));
      assert.equal(await reader.get(first.datasetId, "0x" + "ab".repeat(32)), undefined, "a version not held");
      assert.deepEqual(
        (await reader.usage()).map((u) => [u.commitment, u.bytes, u.registered, u.supersededAt]).sort(),
        [[first.commitment, 2 * 4 * 3 * 8, false, undefined], [second.commitment, 2 * 4 * 3 * 8, false, undefined]].sort(),
      );
    }
    assert.deepEqual((await readdir(join(dataDir, "datasets"))).sort(), [first, second].map((s) => `${s.datasetId}.${s.commitment.slice(2)}.share`).sort());
    await assert.rejects(store.get(first.datasetId, "0x1234"), (err: unknown) => isMpcError(err, "INVALID_ARGUMENT"));
  });

  it("without a commitment, gets the most recently stored version, and nothing in place of one lost from the disk", async () => {
    const dataDir = await tempDir();
    const store = createShareStore({ dataDir, hostIndex: 0 });
    const first = sampleShare(0);
    const second = sampleShare(0, BigUint64Array.of(4n, 5n, 6n));
    await store.put(first);
    assert.equal((await store.get(first.datasetId))?.commitment, first.commitment);
    await store.put(second);
    assert.equal((await store.get(first.datasetId))?.commitment, second.commitment);
    // The time of storing survives a restart (the file's mtime).
    await utimes(fileOf(dataDir, first), new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
    assert.equal((await createShareStore({ dataDir, hostIndex: 0 }).get(first.datasetId))?.commitment, second.commitment);
    await rm(fileOf(dataDir, second));
    assert.equal(await store.get(first.datasetId), undefined, "the newest version is gone; an older one is not offered in its place");
    assert.equal((await store.get(first.datasetId, first.commitment))?.commitment, first.commitment);
  });

  it("marks a version registered and superseded durably, the first superseded time winning; registered again clears it; remove takes its files", async () => {
    const dataDir = await tempDir();
    const store = createShareStore({ dataDir, hostIndex: 0 });
    const first = sampleShare(0);
    const second = sampleShare(0, BigUint64Array.of(4n, 5n, 6n));
    await store.put(first);
    await store.put(second);
    await store.markRegistered(first.datasetId, first.commitment);
    await store.markSuperseded(first.datasetId, first.commitment, 1_700_000_000_000);
    await store.markSuperseded(first.datasetId, first.commitment, 1_800_000_000_000);
    const marks = async (s: typeof store) =>
      Object.fromEntries((await s.usage()).map((u) => [u.commitment, [u.registered, u.supersededAt]]));
    const expected = { [first.commitment]: [true, 1_700_000_000_000], [second.commitment]: [false, undefined] };
    assert.deepEqual(await marks(store), expected);
    assert.deepEqual(await marks(createShareStore({ dataDir, hostIndex: 0 })), expected, "the marks survive a restart");
    assert.equal(await readFile(fileOf(dataDir, first, ".superseded"), "ascii"), "1700000000000");

    // The seller refreshed back to this version: current again, no longer superseded.
    await store.markRegistered(first.datasetId, first.commitment);
    assert.deepEqual((await marks(createShareStore({ dataDir, hostIndex: 0 })))[first.commitment], [true, undefined]);

    await store.markSuperseded(first.datasetId, first.commitment, 1_900_000_000_000);
    await store.remove(first.datasetId, first.commitment);
    assert.equal(await store.get(first.datasetId, first.commitment), undefined);
    assert.deepEqual(await readdir(join(dataDir, "datasets")), [`${second.datasetId}.${second.commitment.slice(2)}.share`]);
    assert.deepEqual(Object.keys(await marks(createShareStore({ dataDir, hostIndex: 0 }))), [second.commitment]);
    // Uploaded again, it starts afresh: no mark of the removed copy.
    await store.put(first);
    assert.deepEqual((await marks(createShareStore({ dataDir, hostIndex: 0 })))[first.commitment], [false, undefined]);
  });

  it("renames a data directory of the one-file-per-dataset layout on opening, losing nothing", async () => {
    const dataDir = await tempDir();
    const registered = sampleShare(0);
    const unregistered = { ...sampleShare(0), datasetId: "0x" + "33".repeat(32) };
    unregistered.commitment = shareCommitment({ ...unregistered, columns: unregistered.columns });
    const writer = createShareStore({ dataDir, hostIndex: 0 });
    for (const share of [registered, unregistered]) await writer.put(share);
    // The earlier layout: the same file format, named by the dataset alone, and an empty marker.
    const datasets = join(dataDir, "datasets");
    for (const share of [registered, unregistered]) await rename(fileOf(dataDir, share), join(datasets, `${share.datasetId}.share`));
    await writeFile(join(datasets, `${registered.datasetId}.registered`), "");

    // The first access, whatever it is, finds the version by its commitment.
    const store = createShareStore({ dataDir, hostIndex: 0 });
    assert.equal((await store.get(registered.datasetId, registered.commitment))?.commitment, registered.commitment);
    assert.equal((await store.get(unregistered.datasetId))?.commitment, unregistered.commitment);
    assert.deepEqual(
      (await store.usage()).map((u) => [u.datasetId, u.commitment, u.registered]).sort(),
      [[registered.datasetId, registered.commitment, true], [unregistered.datasetId, unregistered.commitment, false]].sort(),
    );
    assert.deepEqual(
      (await readdir(datasets)).sort(),
      [
        `${registered.datasetId}.${registered.commitment.slice(2)}.registered`,
        `${registered.datasetId}.${registered.commitment.slice(2)}.share`,
        `${unregistered.datasetId}.${unregistered.commitment.slice(2)}.share`,
      ].sort(),
    );
  });

  it("refuses a version file that holds another version than its name says", async () => {
    const dataDir = await tempDir();
    const first = sampleShare(0);
    const second = sampleShare(0, BigUint64Array.of(4n, 5n, 6n));
    await createShareStore({ dataDir, hostIndex: 0 }).put(first);
    await rename(fileOf(dataDir, first), fileOf(dataDir, second));
    await assert.rejects(
      createShareStore({ dataDir, hostIndex: 0 }).get(second.datasetId, second.commitment),
      (err: unknown) => isMpcError(err, "STORE_CORRUPT") && err.message.includes(`holds dataset ${first.datasetId} version ${first.commitment}`),
    );
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

  it("still verifies a share stored under the v3 encoding (no encoding in its header) against its v3 commitment, and detects a changed byte in it", async () => {
    const dataDir = await tempDir();
    const current = sampleShare(1);
    const share = { ...current, commitment: shareCommitmentV3(current) };
    // Written as a host before v4 wrote it: the same layout, a header without `encoding`, named by the v3 commitment.
    await createShareStore({ dataDir, hostIndex: 1 }).put(current);
    const bytes = await readFile(fileOf(dataDir, current));
    const headerEnd = 12 + bytes.readUInt32LE(8);
    const header = JSON.parse(bytes.subarray(12, headerEnd).toString("utf8")) as Record<string, unknown>;
    assert.equal(header.encoding, "scmpc-share-v4");
    delete header.encoding;
    header.commitment = share.commitment;
    const text = Buffer.from(JSON.stringify(header));
    const length = Buffer.alloc(4);
    length.writeUInt32LE(text.length);
    const v3 = Buffer.concat([bytes.subarray(0, 8), length, text, bytes.subarray(headerEnd)]);
    await writeFile(fileOf(dataDir, share), v3);
    const loaded = await createShareStore({ dataDir, hostIndex: 1 }).get(share.datasetId, share.commitment);
    assert.ok(loaded);
    assert.deepEqual(loaded.columns.map((c) => Buffer.from(c.validB)), share.columns.map((c) => Buffer.from(c.validB)));
    v3[v3.length - 1] ^= 1;
    await writeFile(fileOf(dataDir, share), v3);
    await assert.rejects(createShareStore({ dataDir, hostIndex: 1 }).get(share.datasetId, share.commitment), (err: unknown) => isMpcError(err, "STORE_CORRUPT") && /does not match its commitment/.test(err.message));
    // A header naming an encoding this host does not know is refused as such.
    header.encoding = "scmpc-share-v9";
    const unknown = Buffer.from(JSON.stringify(header));
    length.writeUInt32LE(unknown.length);
    await writeFile(fileOf(dataDir, share), Buffer.concat([bytes.subarray(0, 8), length, unknown, bytes.subarray(headerEnd)]));
    await assert.rejects(createShareStore({ dataDir, hostIndex: 1 }).get(share.datasetId, share.commitment), (err: unknown) => isMpcError(err, "STORE_CORRUPT") && /unknown share encoding "scmpc-share-v9"/.test(err.message));
  });

  it("loads a version asked for by several jobs at once a single time: one read, one check, one copy in memory", async () => {
    const dataDir = await tempDir();
    const share = sampleShare(0);
    await createShareStore({ dataDir, hostIndex: 0 }).put(share);
    const fresh = createShareStore({ dataDir, hostIndex: 0 });
    const [one, two, three] = await Promise.all([0, 1, 2].map(() => fresh.get(share.datasetId, share.commitment)));
    assert.ok(one);
    assert.equal(two, one);
    assert.equal(three, one);
  });

  it("stores a share given as a stream of its vectors' bytes, and keeps nothing when the stream fails or comes short", async () => {
    const dataDir = await tempDir();
    const store = createShareStore({ dataDir, hostIndex: 1 });
    const share = sampleShare(1);
    const { columns, ...rest } = share;
    const header = { ...rest, columns: columns.map(({ a: _a, b: _b, validA: _va, validB: _vb, ...schema }) => schema) };
    const bytes = Buffer.concat(columns.flatMap((c) => [c.a, c.b, c.validA, c.validB]));
    await assert.rejects(
      store.putStream(header, async (sink) => {
        await sink(bytes.subarray(0, 40));
        throw new Error("the seller went away");
      }),
      /the seller went away/,
    );
    await assert.rejects(
      store.putStream(header, (sink) => sink(bytes.subarray(0, bytes.length - 8))),
      (err: unknown) => isMpcError(err, "INVALID_ARGUMENT") && /came to 184 bytes; 192 expected/.test(err.message),
    );
    assert.deepEqual(await readdir(join(dataDir, "datasets")), [], "no file, no temp file");
    assert.deepEqual(await store.putStream(header, (sink) => sink(bytes)), { created: true });
    assert.deepEqual(await store.putStream(header, () => assert.fail("not written twice")), { created: false });
    const loaded = await createShareStore({ dataDir, hostIndex: 1 }).get(share.datasetId, share.commitment);
    assert.ok(loaded);
    assert.deepEqual(Buffer.concat(loaded.columns.flatMap((c) => [c.a, c.b, c.validA, c.validB])), bytes);
  });

  it("keeps each streamed share's own copy in memory when uploads of one size follow each other (the next one's memory prepared in advance)", async () => {
    const dataDir = await tempDir();
    const store = createShareStore({ dataDir, hostIndex: 1 });
    const shares = [1n, 2n, 3n, 4n].map((k) => {
      const share = sampleShare(1, BigUint64Array.of(k, 2n * k, 3n * k));
      return { ...share, datasetId: "0x" + k.toString(16).padStart(2, "0").repeat(32) };
    });
    const fixed = shares.map((share) => {
      const { columns, ...rest } = share;
      const commitment = shareCommitment({ datasetId: share.datasetId, hostIndex: 1, rowCount: share.rowCount, columns });
      return {
        share: { ...share, commitment },
        header: { ...rest, commitment, columns: columns.map(({ a: _a, b: _b, validA: _va, validB: _vb, ...schema }) => schema) },
        bytes: Buffer.concat(columns.flatMap((c) => [c.a, c.b, c.validA, c.validB])),
      };
    });
    for (const { header, bytes } of fixed) {
      assert.deepEqual(await store.putStream(header, (sink) => sink(bytes)), { created: true });
      // The prepared memory is made between uploads, as a host's are.
      await new Promise((resolve) => setImmediate(resolve));
    }
    for (const { share, bytes } of fixed) {
      // Damaged on disk: what a job is given is the copy in memory.
      const file = fileOf(dataDir, share);
      const damaged = await readFile(file);
      damaged[damaged.length - 1] ^= 1;
      await writeFile(file, damaged);
      const held = await store.get(share.datasetId, share.commitment);
      assert.ok(held, `dataset ${share.datasetId} in memory`);
      assert.deepEqual(Buffer.concat(held.columns.flatMap((c) => [c.a, c.b, c.validA, c.validB])), bytes, `dataset ${share.datasetId} holds its own vectors`);
    }
  });

  it("flushes a streamed share while it is written, and fails the write when a background flush failed", async () => {
    let flushes = 0;
    let release!: () => void;
    const handle = {
      datasync: () => {
        flushes++;
        return new Promise<void>((resolve) => (release = resolve));
      },
    };
    const flusher = writeBehind(handle);
    flusher.wrote(3 << 20);
    assert.equal(flushes, 0, "nothing flushed before 4 MiB");
    flusher.wrote(1 << 20);
    assert.equal(flushes, 1, "a flush started at 4 MiB, not waited for");
    flusher.wrote(8 << 20);
    assert.equal(flushes, 1, "one flush at a time");
    const settled = flusher.settle();
    release();
    await settled;
    flusher.wrote(4 << 20);
    assert.equal(flushes, 2, "the next flush once the first is done");
    release();
    await flusher.settle();

    // Linux reports a writeback error to one sync only: the one a background flush got must fail the write.
    const failing = writeBehind({ datasync: () => Promise.reject(Object.assign(new Error("EIO: i/o error, fdatasync"), { code: "EIO" })) });
    failing.wrote(4 << 20);
    await assert.rejects(failing.settle(), /EIO/);
  });

  it("detects a corrupted file", async () => {
    const dataDir = await tempDir();
    const store = createShareStore({ dataDir, hostIndex: 0 });
    const share = sampleShare(0);
    await store.put(share);
    const file = fileOf(dataDir, share);
    const bytes = await readFile(file);
    bytes[bytes.length - 1] ^= 1;
    await writeFile(file, bytes);
    await assert.rejects(createShareStore({ dataDir, hostIndex: 0 }).get(share.datasetId, share.commitment), (err: unknown) => isMpcError(err, "STORE_CORRUPT"));
  });

  it("opens a share larger than its memory on disk: rows read by blocks are the stored vectors, every chunk read checked against the commitment", async () => {
    const rows = 300_000; // 2.4 MB per vector: three 1 MiB chunks
    const chunkRows = COMMITMENT_CHUNK_BYTES / 8;
    const random = (seed: bigint): BigUint64Array => BigUint64Array.from({ length: rows }, (_, k) => (BigInt(k) * 0x9e3779b97f4a7c15n + seed) & 0xffffffffffffffffn);
    const datasetId = "0x" + "33".repeat(32);
    const columns: ColumnShareBytes[] = ["x", "y"].map((name, c) => {
      const values = shareColumn(random(BigInt(c)))[2];
      const valid = shareColumn(BigUint64Array.from({ length: rows }, (_, k) => BigInt(k % 3 === 0 ? 0 : 1)))[2];
      return { name, scale: 0, lo: "0", hi: "1000", a: encodeRingVector(values.a), b: encodeRingVector(values.b), validA: encodeRingVector(valid.a), validB: encodeRingVector(valid.b) };
    });
    const share: StoredShare = { datasetId, seller: "0x" + "22".repeat(20), name: "wide", hostIndex: 2, rowCount: BigInt(rows), commitment: shareCommitment({ datasetId, hostIndex: 2, rowCount: BigInt(rows), columns }), signature: "0x", columns };
    const dataDir = await tempDir();
    await createShareStore({ dataDir, hostIndex: 2 }).put(share);
    const small = createShareStore({ dataDir, hostIndex: 2, cacheBytes: 1 << 20 });
    const reader = await small.open(datasetId, share.commitment);
    assert.ok(reader);
    assert.equal(reader.inMemory, false);
    assert.deepEqual(reader.header.columns.map((c) => c.name), ["x", "y"]);
    const expect = (c: number, start: number, end: number) => {
      const col = columns[c];
      return { a: ringVectorView(col.a).subarray(start, end), b: ringVectorView(col.b).subarray(start, end), validA: ringVectorView(col.validA).subarray(start, end), validB: ringVectorView(col.validB).subarray(start, end) };
    };
    for (const [c, start, end] of [[0, 0, rows], [1, chunkRows - 3, chunkRows + 5], [1, 2 * chunkRows, rows], [0, 17, 17], [1, 1000, 70_000]] as const) {
      assert.deepEqual(await reader.rows(c, start, end), expect(c, start, end), `column ${c} rows ${start}..${end}`);
    }
    await assert.rejects(reader.rows(2, 0, 1), (err: unknown) => isMpcError(err, "INVALID_ARGUMENT") && /no column at index 2/.test(err.message));
    await assert.rejects(reader.rows(0, 10, rows + 1), (err: unknown) => isMpcError(err, "INVALID_ARGUMENT") && /not within the 300000 rows/.test(err.message));
    // The same share within the memory for shares is loaded whole, rows being views of it.
    const inMemory = await createShareStore({ dataDir, hostIndex: 2 }).open(datasetId);
    assert.equal(inMemory?.inMemory, true);
    assert.deepEqual(await inMemory.rows(1, 5, 9), expect(1, 5, 9));

    // A changed byte in chunk 2 of x's b: opened with the digests its upload checked, only reads touching that chunk fail.
    const digestsOf = (col: ColumnShareBytes) => ({ length: col.a.length, digests: chunkDigests(col.a) });
    const digests: ShareDigests = columns.map((col) => ({ ...col, a: digestsOf(col), b: { length: col.b.length, digests: chunkDigests(col.b) }, validA: { length: col.validA.length, digests: chunkDigests(col.validA) }, validB: { length: col.validB.length, digests: chunkDigests(col.validB) } }));
    const streamedDir = await tempDir();
    const streamed = createShareStore({ dataDir: streamedDir, hostIndex: 2, cacheBytes: 1 << 20 });
    const { columns: _columns, ...fields } = share;
    const header = { ...fields, columns: columns.map(({ a: _a, b: _b, validA: _va, validB: _vb, ...schema }) => schema) };
    await streamed.putStream(header, async (sink) => {
      for (const col of columns) for (const v of [col.a, col.b, col.validA, col.validB]) await sink(v);
      return digests;
    });
    const file = fileOf(streamedDir, share);
    const bytes = await readFile(file);
    const vectorsAt = 12 + bytes.readUInt32LE(8);
    bytes[vectorsAt + rows * 8 + (2 * chunkRows + 10) * 8] ^= 1;
    await writeFile(file, bytes);
    const trusting = await streamed.open(datasetId, share.commitment);
    assert.ok(trusting);
    assert.deepEqual(await trusting.rows(0, 0, 2 * chunkRows), expect(0, 0, 2 * chunkRows));
    await assert.rejects(trusting.rows(0, 2 * chunkRows + 100, 2 * chunkRows + 200), (err: unknown) => isMpcError(err, "STORE_CORRUPT") && /chunk 2 of column "x" b does not match its commitment/.test(err.message));
    assert.deepEqual((await trusting.rows(1, 2 * chunkRows, rows)).b, expect(1, 2 * chunkRows, rows).b);
    // A store that never saw the upload digests the file when it opens it, and finds the change there.
    await assert.rejects(createShareStore({ dataDir: streamedDir, hostIndex: 2, cacheBytes: 1 << 20 }).open(datasetId, share.commitment), (err: unknown) => isMpcError(err, "STORE_CORRUPT") && /does not match its commitment/.test(err.message));

    // Digests an upload reported wrongly are not trusted: the file is digested anew, and read as it is.
    const wrongDir = await tempDir();
    const wrong = createShareStore({ dataDir: wrongDir, hostIndex: 2, cacheBytes: 1 << 20 });
    await wrong.putStream(header, async (sink) => {
      for (const col of columns) for (const v of [col.a, col.b, col.validA, col.validB]) await sink(v);
      return digests.map((d) => ({ ...d, a: d.b }));
    });
    assert.deepEqual(await (await wrong.open(datasetId, share.commitment))!.rows(0, 0, rows), expect(0, 0, rows));
  });
});
