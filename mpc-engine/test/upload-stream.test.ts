import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { getBytes, Wallet } from "ethers";
import type { UploadSharesPiece, UploadSharesRequest, UploadSharesResponse } from "@scmpc/protos";
import { uploadDigest } from "../src/index.ts";
import { createShareStore } from "../src/host/index.ts";
import { buildUploads, callClientStream, callUnary, startCluster, type Cluster, rejectsWith } from "./support/cluster.ts";

// UploadSharesStream: the header is checked before any data is read, the
// data is written and digested as it arrives, and a stream that is short,
// long, out of order or not the share the seller signed leaves nothing.


/** The stream a seller sends for `request`: its header, then the vectors it carries, cut into pieces of `pieceBytes` that straddle vectors and columns. */
function piecesOf(request: UploadSharesRequest, pieceBytes: number): UploadSharesPiece[] {
  const empty = Buffer.alloc(0);
  const data = Buffer.concat(request.columns.flatMap((c) => [c.a, c.b, c.validA, c.validB]));
  const pieces: UploadSharesPiece[] = [{ header: { ...request, columns: request.columns.map((c) => ({ ...c, a: empty, b: empty, validA: empty, validB: empty })) } }];
  for (let at = 0; at < data.length; at += pieceBytes) pieces.push({ data: data.subarray(at, at + pieceBytes) });
  return pieces;
}

describe("uploads as a stream", () => {
  let cluster: Cluster;
  const seller = Wallet.createRandom();
  const rows = 40_000;
  const columns = [
    { name: "amount", scale: 0, values: BigUint64Array.from({ length: rows }, (_, i) => BigInt(i)), valid: Array.from({ length: rows }, (_, i) => (i % 5 === 0 ? 0 : 1)) },
    { name: "other", scale: 0, values: BigUint64Array.from({ length: rows }, (_, i) => BigInt(3 * i)) },
  ];

  before(async () => {
    cluster = await startCluster({ jobTimeoutMs: 5000 });
  });
  after(async () => {
    await cluster.close();
  });

  /** What host `index` has in its store directory: no version of `datasetId`, and no temp file, after a refusal. */
  async function leftOf(index: number, datasetId: string): Promise<string[]> {
    return (await readdir(join(cluster.dataDirOf(index), "datasets")).catch(() => [] as string[])).filter((f) => f.startsWith(datasetId) || f.includes(".tmp-"));
  }

  it("stores whole and seeded shares (v4 and v5) sent in pieces of any size as the shares themselves, under their commitments; the same version again is answered at once", async () => {
    const seeds = [randomBytes(32), randomBytes(32)] as const;
    for (const [name, options] of [["streamed", {}], ["streamed-seeded", { seeds }], ["streamed-v5", { seeds, encoding: "v5" }]] as const) {
      const upload = await buildUploads(seller, name, columns, options);
      const responses = await Promise.all(upload.requests.map((r, i) => callClientStream<UploadSharesResponse>(cluster.clients[i], "uploadSharesStream", piecesOf(r, 7777))));
      assert.deepEqual(responses.map((r) => r.commitment), upload.commitments);
      for (const hostIndex of [0, 1, 2]) {
        const stored = await createShareStore({ dataDir: cluster.dataDirOf(hostIndex), hostIndex }).get(upload.datasetId, upload.commitments[hostIndex]);
        assert.ok(stored, `${name}: host ${hostIndex} stored it`);
        for (const [k, column] of stored.columns.entries()) {
          for (const part of ["a", "b", "validA", "validB"] as const) {
            assert.deepEqual(Buffer.from(column[part]), Buffer.from(upload.shares[hostIndex][k][part]), `${name}: host ${hostIndex} ${column.name}.${part}`);
          }
        }
      }
      const again = await callClientStream<UploadSharesResponse>(cluster.clients[1], "uploadSharesStream", piecesOf(upload.requests[1], 1 << 20));
      assert.equal(again.commitment, upload.commitments[1]);
    }
  });

  it("refuses a stream that does not start with its header, or whose header carries vectors, before reading data", async () => {
    const upload = await buildUploads(seller, "no-header", columns);
    const pieces = piecesOf(upload.requests[0], 1 << 16);
    await assert.rejects(
      callClientStream(cluster.clients[0], "uploadSharesStream", pieces.slice(1)),
      rejectsWith(grpc.status.INVALID_ARGUMENT, "INVALID_ARGUMENT", /must begin with its header/),
    );
    await assert.rejects(
      callClientStream(cluster.clients[0], "uploadSharesStream", [{ header: upload.requests[0] }]),
      rejectsWith(grpc.status.INVALID_ARGUMENT, "INVALID_ARGUMENT", /column "amount" component a has 320000 bytes in the header of an upload stream/),
    );
    assert.deepEqual(await leftOf(0, upload.datasetId), []);
  });

  it("keeps nothing of a stream that is short, long, carries a second header, or is not the signed share", async () => {
    const upload = await buildUploads(seller, "broken", columns);
    const pieces = piecesOf(upload.requests[2], 50_000);
    const flipped = pieces.map((p, k) => (k === pieces.length - 2 && p.data ? { data: Buffer.from(p.data).fill(1, 0, 1) } : p));
    const cases: Array<[string, UploadSharesPiece[], string, RegExp]> = [
      ["short", pieces.slice(0, -1), "INVALID_ARGUMENT", /ended after \d+ bytes of the share's vectors; more were due/],
      ["long", [...pieces, { data: Buffer.alloc(8) }], "INVALID_ARGUMENT", /more bytes than the share's vectors/],
      ["second header", [...pieces.slice(0, 3), pieces[0], ...pieces.slice(3)], "INVALID_ARGUMENT", /one header, then only data/],
      ["a changed byte", flipped, "COMMITMENT_MISMATCH", /does not match the uploaded bytes/],
    ];
    for (const [what, stream, code, pattern] of cases) {
      await assert.rejects(callClientStream(cluster.clients[2], "uploadSharesStream", stream), rejectsWith(grpc.status.INVALID_ARGUMENT, code, pattern), what);
      assert.deepEqual(await leftOf(2, upload.datasetId), [], `${what}: nothing kept`);
    }
    // The intact stream after all that: stored.
    const stored = await callClientStream<UploadSharesResponse>(cluster.clients[2], "uploadSharesStream", pieces);
    assert.equal(stored.commitment, upload.commitments[2]);
  });

  it("bounds a streamed share by its declared size before reading any data: a stranger's 2^36 rows are refused with the header", async () => {
    const stranger = Wallet.createRandom();
    const small = await buildUploads(stranger, "huge-stream", columns);
    const header = { ...small.requests[0], rowCount: String(2n ** 36n) };
    const signed = { ...header, signature: await stranger.signMessage(getBytes(uploadDigest(header.datasetId, 0, header.commitment))) };
    await assert.rejects(
      callClientStream(cluster.clients[0], "uploadSharesStream", piecesOf(signed, 1 << 20).slice(0, 1)),
      rejectsWith(grpc.status.RESOURCE_EXHAUSTED, "UPLOAD_TOO_LARGE", /the share is 4398046511104 bytes/),
    );
    assert.deepEqual(await leftOf(0, small.datasetId), []);
  });

  it("takes a streamed share larger than the largest message (SCMPC_HOST_MAX_SHARE_BYTES bounds it), which sent whole is refused naming the limit", async () => {
    const small = await startCluster({ jobTimeoutMs: 5000, config: { maxUploadBytes: 256 * 1024, maxShareBytes: 1 << 30 } });
    try {
      // 40,000 rows × 2 columns: a 2.56 MB share, ten times the largest message; host 0 is sent only seeds.
      const upload = await buildUploads(seller, "larger-than-a-message", columns, { seeds: [randomBytes(32), randomBytes(32)] as const });
      await assert.rejects(
        callUnary(small.clients[0], "uploadShares", upload.requests[0]),
        rejectsWith(grpc.status.RESOURCE_EXHAUSTED, "UPLOAD_TOO_LARGE", /the share is 2560000 bytes .* at most 262144 sent whole \(a streamed upload takes more\)/),
      );
      const responses = await Promise.all(upload.requests.map((r, i) => callClientStream<UploadSharesResponse>(small.clients[i], "uploadSharesStream", piecesOf(r, 1 << 16))));
      assert.deepEqual(responses.map((r) => r.commitment), upload.commitments);
    } finally {
      await small.close();
    }
  });
});
