import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { getBytes, hexlify, Wallet } from "ethers";
import type { ComputeResponse, HealthResponse, UploadSharesRequest, UploadSharesResponse } from "@scmpc/protos";
import { expandShareSeed, expandShareSeedInPieces, expandShareSeedRows, shareColumnFromSeeds, shareConstantRemainderFromSeeds, shareRemainderFromSeeds, generateBuyerKeyPair, isMpcError, ringSum, ringVectorView, shareCommitment, uploadDigest } from "../src/index.ts";
import { createShareStore } from "../src/host/index.ts";
import { buildUploads, callUnary, CONSUMER, schemaHashOf, settleAndOpen, startCluster, type Cluster, rejectsWith } from "./support/cluster.ts";

// A seller may send x0 and x1 of every vector as two seeds (share-seeds.ts):
// host 0 gets both seeds, host 1 seed 1 and x2, host 2 x2 and seed 0. The
// hosts must store and compute on exactly the vectors the seeds stand for,
// and a seeded upload must not let anyone make a host expand what it would
// not have accepted whole.


/** The request re-signed by `seller` over `commitment` (what an attacker with its own key can always do). */
async function signedAs(seller: Pick<Wallet, "signMessage">, request: UploadSharesRequest, commitment = request.commitment): Promise<UploadSharesRequest> {
  return { ...request, commitment, signature: await seller.signMessage(getBytes(uploadDigest(request.datasetId, request.hostIndex, commitment))) };
}

/**
 * Registers an uploaded two-column dataset ("amount", "other") and checks that
 * the hosts' sum@1 of "amount" is the plaintext's: the sum of its present
 * cells (a missing one counts as the column's lo, which the test columns
 * centre on 0) and their count.
 */
async function assertSumOfAmount(
  cluster: Cluster,
  seller: { address: string },
  name: string,
  upload: Awaited<ReturnType<typeof buildUploads>>,
  values: BigUint64Array,
  valid: number[],
): Promise<void> {
  cluster.chain.datasets.set(upload.datasetId, {
    seller: seller.address, name, schemaHash: schemaHashOf([{ name: "amount", scale: 0 }, { name: "other", scale: 0 }]), rowCount: BigInt(values.length),
    price: 1n, commitments: upload.commitments, active: true, minRows: 0n,
  });
  const buyer = generateBuyerKeyPair();
  const requestId = hexlify(randomBytes(32));
  const buyerKey = hexlify(buyer.publicKey);
  cluster.chain.setRequest(CONSUMER, requestId, { buyer: Wallet.createRandom().address, datasetIds: [upload.datasetId], params: '{"column":"amount"}', buyerKey, price: 1n, status: 1 });
  const computed = await Promise.all(
    [0, 1, 2].map((i) => cluster.asBridge<ComputeResponse>(i, "Compute", { requestId, algorithm: "sum@1", datasetIds: [upload.datasetId], params: '{"column":"amount"}', buyerKey, consumer: CONSUMER })),
  );
  const present = values.filter((_, i) => valid[i] === 1);
  assert.deepEqual(await settleAndOpen(cluster, { requestId, responses: computed, buyerPrivateKey: buyer.privateKey }), [ringSum(present), BigInt(present.length)]);
}

describe("uploads with share seeds", () => {
  let cluster: Cluster;
  const seller = Wallet.createRandom();
  const values = BigUint64Array.from({ length: 3000 }, (_, i) => BigInt(i * 37));
  const valid = Array.from({ length: 3000 }, (_, i) => (i % 7 === 0 ? 0 : 1));
  const seeds = [randomBytes(32), randomBytes(32)] as const;
  let upload: Awaited<ReturnType<typeof buildUploads>>;

  before(async () => {
    cluster = await startCluster({ jobTimeoutMs: 5000 });
    upload = await buildUploads(seller, "seeded", [{ name: "amount", scale: 0, values, valid }, { name: "other", scale: 0, values: values.map((v) => v + 1n) }], { seeds });
  });
  after(async () => {
    await cluster.close();
  });

  it("sends host 0 only seeds, hosts 1 and 2 one seed and x2, a third of the bytes", () => {
    const sent = upload.requests.map((r) => r.columns.reduce((n, c) => n + c.a.length + c.b.length + c.validA.length + c.validB.length, 0));
    assert.deepEqual(sent, [0, 2 * 2 * 3000 * 8, 2 * 2 * 3000 * 8]);
    assert.deepEqual(upload.requests.map((r) => [r.seedA?.length ?? 0, r.seedB?.length ?? 0]), [[32, 32], [32, 0], [0, 32]]);
  });

  it("stores the vectors the seeds stand for, under the commitment of the whole share, and computes on them", async () => {
    const responses = await Promise.all(upload.requests.map((req, i) => callUnary<UploadSharesResponse>(cluster.clients[i], "uploadShares", req)));
    assert.deepEqual(responses.map((r) => r.commitment), upload.commitments);
    for (const hostIndex of [0, 1, 2]) {
      const stored = await createShareStore({ dataDir: cluster.dataDirOf(hostIndex), hostIndex }).get(upload.datasetId, upload.commitments[hostIndex]);
      assert.ok(stored);
      for (const [k, column] of stored.columns.entries()) {
        const whole = upload.shares[hostIndex][k];
        for (const part of ["a", "b", "validA", "validB"] as const) assert.deepEqual(Buffer.from(column[part]), Buffer.from(whole[part]), `host ${hostIndex} ${column.name}.${part}`);
      }
    }
    // Host 0's a is the stream of seed 0 for column 0's values: the documented expansion.
    assert.deepEqual(Buffer.from(upload.shares[0][0].a), expandShareSeed(seeds[0], 0, "values", values.length));
    await assertSumOfAmount(cluster, seller, "seeded", upload, values, valid);
  });

  it("refuses a seed of the wrong length, and a seeded side whose components are sent too, naming the field", async () => {
    const request = upload.requests[1];
    await assert.rejects(
      callUnary(cluster.clients[1], "uploadShares", { ...request, seedA: request.seedA!.subarray(0, 31) }),
      rejectsWith(grpc.status.INVALID_ARGUMENT, "INVALID_ARGUMENT", /seed_a must be 32 bytes, got 31/),
    );
    await assert.rejects(
      callUnary(cluster.clients[1], "uploadShares", { ...request, columns: request.columns.map((c, k) => ({ ...c, validA: upload.shares[1][k].validA })) }),
      rejectsWith(grpc.status.INVALID_ARGUMENT, "INVALID_ARGUMENT", /column "amount" component valid_a has 24000 bytes but seed_a is given/),
    );
  });

  it("refuses other seeds than the commitment was made over, even signed by the seller", async () => {
    const other = await buildUploads(seller, "seeded-2", { name: "amount", scale: 0, values }, { seeds });
    // Seed 1 swapped for a fresh one: host 0 would hold an x1 that is not host 1's.
    const swapped = await signedAs(seller, { ...other.requests[0], seedB: randomBytes(32) });
    await assert.rejects(
      callUnary(cluster.clients[0], "uploadShares", swapped),
      rejectsWith(grpc.status.INVALID_ARGUMENT, "COMMITMENT_MISMATCH", /does not match the uploaded bytes and seeds/),
    );
  });

  it("bounds a seeded share by the size it expands to before expanding anything: a stranger's 2^36-row share is refused at once", async () => {
    const stranger = Wallet.createRandom();
    const small = await buildUploads(stranger, "huge", { name: "amount", scale: 0, values: values.subarray(0, 10) }, { seeds });
    const huge = { ...small.requests[0], rowCount: String(2n ** 36n) };
    // Signed over the commitment the small share has: the host must refuse on size, never reach the expansion
    // (2 TiB could not even be allocated: that would be another error).
    await assert.rejects(
      callUnary(cluster.clients[0], "uploadShares", await signedAs(stranger, huge, shareCommitment({ datasetId: huge.datasetId, hostIndex: 0, rowCount: 10n, columns: small.shares[0] }))),
      rejectsWith(grpc.status.RESOURCE_EXHAUSTED, "UPLOAD_TOO_LARGE", /the share is 2199023255552 bytes .* and this host takes at most \d+/),
    );
    // Under v5 host 0 would store only the seeds, yet the share counts as what it expands to: refused the same.
    await assert.rejects(
      callUnary(cluster.clients[0], "uploadShares", await signedAs(stranger, { ...huge, shareEncoding: "scmpc-share-v5" })),
      rejectsWith(grpc.status.RESOURCE_EXHAUSTED, "UPLOAD_TOO_LARGE", /the share is 2199023255552 bytes .* and this host takes at most \d+/),
    );
    const health = await callUnary<HealthResponse>(cluster.clients[0], "health", {});
    assert.equal(health.status, "SERVING");
  });
});

describe("share seeds drawn in parts", () => {
  it("expands a seed to the documented stream: AES-256-CTR from u32 column ‖ u32 part ‖ u64 0, checked against WebCrypto, drawn in one call and in pieces", async () => {
    const seed = randomBytes(32);
    const key = await crypto.subtle.importKey("raw", seed, "AES-CTR", false, ["encrypt"]);
    // 100,000 rows are drawn in one cipher call; 1,100,000 (8.8 MB) are over the 8 MiB of one call and drawn in pieces.
    for (const [column, part, partIndex, rows] of [[0, "values", 0, 100_000], [5, "validity", 1, 100_000], [2, "values", 0, 1_100_000]] as const) {
      const counter = new Uint8Array(16);
      new DataView(counter.buffer).setUint32(0, column);
      new DataView(counter.buffer).setUint32(4, partIndex);
      const expected = Buffer.from(await crypto.subtle.encrypt({ name: "AES-CTR", counter, length: 64 }, key, new Uint8Array(rows * 8)));
      const drawn = expandShareSeed(seed, column, part, rows);
      // Compared as bytes, not deepEqual: a failure's diff of megabytes would take minutes to print.
      assert.ok(drawn.equals(expected), `column ${column} ${part}`);
      assert.equal(drawn.byteOffset % 8, 0, "word-aligned");
      for (const pieceBytes of [1000, 1 << 20, 16 << 20]) {
        const pieces = [...expandShareSeedInPieces(seed, column, part, rows, pieceBytes)];
        assert.ok(pieces.every((piece) => piece.byteOffset % 8 === 0 && piece.length <= pieceBytes), `pieces of at most ${pieceBytes} bytes, word-aligned`);
        assert.ok(Buffer.concat(pieces).equals(expected), `column ${column} ${part} in pieces of ${pieceBytes} bytes`);
      }
    }
  });

  it("makes x2 alone, drawing x0 and x1 a piece at a time, equal to the whole sharing's across the pieces' edges", () => {
    const seeds = [randomBytes(32), randomBytes(32)] as const;
    for (const n of [0, 1, 65_535, 65_536, 150_001]) {
      const values = BigUint64Array.from({ length: n }, (_, i) => BigInt(i) * 0x9e3779b97f4a7c15n & 0xffffffffffffffffn);
      const whole = shareColumnFromSeeds(values, seeds, 2, "values");
      assert.deepEqual(shareRemainderFromSeeds(values, seeds, 2, "values"), whole[1].b, `${n} rows`);
      // A column with no value missing: x2 of its validity, made without a vector of ones, is that of the ones.
      const ones = new BigUint64Array(n).fill(1n);
      assert.deepEqual(shareConstantRemainderFromSeeds(1n, n, seeds, 2, "validity"), shareColumnFromSeeds(ones, seeds, 2, "validity")[1].b, `${n} rows of ones`);
    }
  });

  it("draws rows [first, end) of a seeded vector alone, equal to that part of the whole stream, from odd and even rows, across blocks and keystream pieces", () => {
    const seed = randomBytes(32);
    const rows = 100_000; // 800 KB: four 256 KiB keystream pieces (32,768 words each)
    const whole = ringVectorView(expandShareSeed(seed, 3, "validity", rows));
    for (const [first, end] of [[0, rows], [1, 2], [1, rows], [32_767, 32_769], [32_768, 98_305], [65_535, 99_999], [99_999, 100_000], [7, 7]]) {
      assert.deepEqual(ringVectorView(expandShareSeedRows(seed, 3, "validity", first, end)), whole.subarray(first, end), `rows ${first}..${end}`);
    }
    assert.notDeepEqual(ringVectorView(expandShareSeedRows(seed, 3, "values", 0, 4)), whole.subarray(0, 4));
    assert.throws(() => expandShareSeedRows(seed, 3, "values", 5, 4), /rows 5..4 out of range/);
  });
});

describe("uploads under the v5 encoding: seeded vectors bound by their seeds", () => {
  let cluster: Cluster;
  const seller = Wallet.createRandom();
  const rows = 3001;
  const values = BigUint64Array.from({ length: rows }, (_, i) => BigInt(i * 11));
  const valid = Array.from({ length: rows }, (_, i) => (i % 5 === 0 ? 0 : 1));
  const seeds = [randomBytes(32), randomBytes(32)] as const;
  let upload: Awaited<ReturnType<typeof buildUploads>>;
  const fileOf = (hostIndex: number, commitment = upload.commitments[hostIndex]) => join(cluster.dataDirOf(hostIndex), "datasets", `${upload.datasetId}.${commitment.slice(2)}.share`);

  before(async () => {
    cluster = await startCluster({ jobTimeoutMs: 5000 });
    upload = await buildUploads(seller, "seeded-v5", [{ name: "amount", scale: 0, values, valid }, { name: "other", scale: 0, values: values.map((v) => v + 1n) }], { seeds, encoding: "v5" });
  });
  after(async () => {
    await cluster.close();
  });

  it("stores the seeds in place of the vectors they stand for, gives jobs those vectors (loaded whole or read by rows from disk), and computes on them", async () => {
    assert.deepEqual(upload.requests.map((r) => r.shareEncoding), ["scmpc-share-v5", "scmpc-share-v5", "scmpc-share-v5"]);
    const responses = await Promise.all(upload.requests.map((req, i) => callUnary<UploadSharesResponse>(cluster.clients[i], "uploadShares", req)));
    assert.deepEqual(responses.map((r) => r.commitment), upload.commitments);
    // Host 0 holds both seeds and no vector; hosts 1 and 2 hold x2 of both columns, values and validity.
    const sizes = await Promise.all([0, 1, 2].map(async (i) => (await stat(fileOf(i))).size));
    assert.ok(sizes[0] < 4096, `host 0's file is its header: ${sizes[0]} bytes`);
    for (const i of [1, 2]) assert.ok(sizes[i] >= 2 * 2 * rows * 8 && sizes[i] < 2 * 2 * rows * 8 + 4096, `host ${i}'s file holds x2 only: ${sizes[i]} bytes`);
    for (const hostIndex of [0, 1, 2]) {
      for (const cacheBytes of [undefined, 0]) {
        const reader = await createShareStore({ dataDir: cluster.dataDirOf(hostIndex), hostIndex, ...(cacheBytes === undefined ? {} : { cacheBytes }) }).open(upload.datasetId, upload.commitments[hostIndex]);
        assert.ok(reader);
        assert.equal(reader.inMemory, cacheBytes === undefined);
        for (const [k, whole] of upload.shares[hostIndex].entries()) {
          for (const [first, end] of [[0, rows], [1, 2], [1499, 3001]]) {
            const got = await reader.rows(k, first, end);
            for (const part of ["a", "b", "validA", "validB"] as const) {
              assert.deepEqual(got[part], ringVectorView(whole[part]).subarray(first, end), `host ${hostIndex} column ${k} ${part} rows ${first}..${end} (${cacheBytes === 0 ? "disk" : "memory"})`);
            }
          }
        }
      }
    }
    await assertSumOfAmount(cluster, seller, "seeded-v5", upload, values, valid);
  });

  it("refuses another seed than the commitment binds, even signed by the seller, and an encoding it does not know", async () => {
    const other = await buildUploads(seller, "seeded-v5-2", { name: "amount", scale: 0, values }, { seeds, encoding: "v5" });
    // Host 0 drawing x1 from another seed would hold an x1 that is not host 1's: the v5 commitment binds the seed.
    await assert.rejects(
      callUnary(cluster.clients[0], "uploadShares", await signedAs(seller, { ...other.requests[0], seedB: randomBytes(32) })),
      rejectsWith(grpc.status.INVALID_ARGUMENT, "COMMITMENT_MISMATCH", /does not match the uploaded bytes and seeds .* under the scmpc-share-v5 encoding/),
    );
    // A v5 commitment presented as v4: the host draws and hashes the seeded vectors, and they are not what it binds.
    await assert.rejects(
      callUnary(cluster.clients[1], "uploadShares", { ...other.requests[1], shareEncoding: "" }),
      rejectsWith(grpc.status.INVALID_ARGUMENT, "COMMITMENT_MISMATCH", /under the scmpc-share-v4 encoding/),
    );
    await assert.rejects(
      callUnary(cluster.clients[1], "uploadShares", { ...other.requests[1], shareEncoding: "scmpc-share-v9" }),
      rejectsWith(grpc.status.INVALID_ARGUMENT, "INVALID_ARGUMENT", /share_encoding "scmpc-share-v9" is not one this host takes/),
    );
  });

  it("finds a seed changed on disk: the share no longer loads, nor opens for reading by rows", async () => {
    const file = fileOf(0);
    const bytes = await readFile(file);
    const text = bytes.toString("latin1");
    const seedHex = Buffer.from(seeds[0]).toString("hex");
    const at = text.indexOf(seedHex);
    assert.ok(at > 0, "host 0's header holds seed 0");
    bytes[at] = bytes[at] === 0x30 ? 0x31 : 0x30; // one hex digit changed
    await writeFile(file, bytes);
    const corrupt = (err: unknown) => isMpcError(err, "STORE_CORRUPT") && /content does not match its commitment/.test(err.message);
    await assert.rejects(createShareStore({ dataDir: cluster.dataDirOf(0), hostIndex: 0 }).get(upload.datasetId, upload.commitments[0]), corrupt);
    await assert.rejects(createShareStore({ dataDir: cluster.dataDirOf(0), hostIndex: 0, cacheBytes: 0 }).open(upload.datasetId, upload.commitments[0]), corrupt);
  });
});
