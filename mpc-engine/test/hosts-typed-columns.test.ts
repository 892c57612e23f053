import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import * as grpc from "@grpc/grpc-js";
import { hexlify, keccak256, toUtf8Bytes, Wallet } from "ethers";
import type { ColumnShare, ComputeResponse, UploadSharesRequest, UploadSharesResponse } from "@scmpc/protos";
import {
  decodeJob,
  decodeResult,
  decodeRingVector,
  generateBuyerKeyPair,
  planComputation,
  planJob,
  QUERY_ALGORITHM,
  queryAggregateEntry,
  reconstruct,
  type SchemaColumn,
} from "../src/index.ts";
import { createShareStore } from "../src/host/index.ts";
import { buildUploads, callUnary, CONSUMER, rejectsWith, schemaHashOf, settleAndOpen, startCluster, type Cluster } from "./support/cluster.ts";

// A seller's typed table on three hosts: category, bool and date columns
// next to a numeric one, missing cells in several, each cell's validity bit
// shared and stored next to its value.


const ring = (v: number) => BigInt.asUintN(64, BigInt(v));

describe("three hosts holding a typed table with missing values", () => {
  let cluster: Cluster;
  const seller = Wallet.createRandom();
  const buyer = generateBuyerKeyPair();
  const buyerKey = hexlify(buyer.publicKey);
  const schema: SchemaColumn[] = [
    { name: "amount", scale: 0, lo: "-100", hi: "100" },
    { name: "dept", scale: 0, lo: "0", hi: "2", type: "category", categories: ["eng", "ops", "sales"] },
    { name: "remote", scale: 0, lo: "0", hi: "1", type: "bool" },
    { name: "hired", scale: 0, lo: "17897", hi: "20088", type: "date" },
  ];
  // Six rows; a missing cell holds the column's lo, as the seller's client shares it.
  const rows = {
    amount: { values: [10, -100, 30, 40, -100, 5], valid: [1, 0, 1, 1, 0, 1] },
    dept: { values: [0, 2, 1, 0, 0, 2], valid: [1, 1, 1, 0, 1, 1] },
    remote: { values: [1, 0, 1, 1, 0, 0], valid: [1, 1, 1, 1, 0, 1] },
    hired: { values: [18000, 17897, 19500, 20000, 18500, 17897], valid: [1, 0, 1, 1, 1, 0] },
  };
  const columns = () =>
    schema.map((c) => {
      const data = rows[c.name as keyof typeof rows];
      return { ...c, values: BigUint64Array.from(data.values, ring), valid: data.valid };
    });
  let upload: Awaited<ReturnType<typeof buildUploads>>;

  const run = async (algorithm: string, params: object) => {
    const requestId = hexlify(randomBytes(32));
    cluster.chain.algorithms.set(CONSUMER.toLowerCase(), algorithm);
    cluster.chain.setRequest(CONSUMER, requestId, { buyer: seller.address, datasetIds: [upload.datasetId], params: JSON.stringify(params), buyerKey, price: 1n, status: 1 });
    const request = { requestId, algorithm, datasetIds: [upload.datasetId], params: JSON.stringify(params), buyerKey, consumer: CONSUMER };
    return { request, responses: () => Promise.all([0, 1, 2].map((i) => cluster.asBridge<ComputeResponse>(i, "Compute", request))) };
  };
  const answer = async (algorithm: string, params: object) => {
    const { request, responses } = await run(algorithm, params);
    const values = await settleAndOpen(cluster, { requestId: request.requestId, responses: await responses(), buyerPrivateKey: buyer.privateKey });
    return decodeResult(planComputation(algorithm, JSON.stringify(params), { columns: schema }, { rowCount: 6n, epsilonMilli: 0 }), values);
  };

  before(async () => {
    cluster = await startCluster({ jobTimeoutMs: 10_000 });
    upload = await buildUploads(seller, "staff", columns());
  });
  after(async () => {
    await cluster.close();
  });

  it("refuses an upload whose validity components, types or dictionaries are malformed, naming the column", async () => {
    const req = upload.requests[0];
    const withColumn = (k: number, change: Partial<ColumnShare>): UploadSharesRequest => ({
      ...req,
      columns: req.columns.map((c, i) => (i === k ? { ...c, ...change } : c)),
    });
    const cases: [UploadSharesRequest, RegExp][] = [
      [withColumn(0, { validA: req.columns[0].validA.subarray(8) }), /column "amount" component valid_a has 40 bytes, expected row_count\*8 = 48/],
      [withColumn(2, { validB: Buffer.alloc(0) }), /column "remote" component valid_b has 0 bytes/],
      [withColumn(1, { hi: "5" }), /column "dept": a category column of 3 categories has scale 0 and bounds 0 and 2; got scale 0, lo "0", hi "5"/],
      [withColumn(1, { categories: [] }), /column "dept": a category column has 1 to 256 categories; got 0/],
      [withColumn(1, { categories: Array.from({ length: 257 }, (_, i) => `c${i}`), hi: "256" }), /column "dept": a category column has 1 to 256 categories; got 257/],
      [withColumn(1, { categories: ["eng", "ops", "eng"] }), /column "dept": category "eng" appears twice/],
      [withColumn(1, { categories: ["eng", "", "sales"] }), /column "dept": category 1 must be non-empty text/],
      [withColumn(1, { type: "" }), /column "dept": only a category column has categories/],
      [withColumn(0, { categories: ["a"] }), /column "amount": only a category column has categories/],
      [withColumn(0, { type: "text" }), /column "amount": type "text" is not one of category, bool, date/],
      [withColumn(2, { hi: "2" }), /column "remote": a bool column has scale 0 and bounds 0 and 1/],
      [withColumn(3, { scale: 1, lo: "17897.0", hi: "20088.0" }), /column "hired": a date column has scale 0/],
    ];
    for (const [request, why] of cases) {
      await assert.rejects(callUnary(cluster.clients[0], "uploadShares", request), rejectsWith(grpc.status.INVALID_ARGUMENT, "INVALID_ARGUMENT", why));
    }
    // Swapping a column's validity components keeps every length right but breaks the seller's commitment.
    await assert.rejects(
      callUnary(cluster.clients[0], "uploadShares", withColumn(0, { validA: req.columns[0].validB, validB: req.columns[0].validA })),
      rejectsWith(grpc.status.INVALID_ARGUMENT, "COMMITMENT_MISMATCH"),
    );
  });

  it("stores each host's validity shares next to its value shares; together they give back the seller's bits", async () => {
    const acks = await Promise.all(upload.requests.map((req, i) => callUnary<UploadSharesResponse>(cluster.clients[i], "uploadShares", req)));
    assert.deepEqual(acks.map((a) => a.commitment), upload.commitments);
    cluster.chain.datasets.set(upload.datasetId, {
      seller: seller.address, name: "staff", schemaHash: schemaHashOf(schema), rowCount: 6n, price: 1n, commitments: upload.commitments, active: true, minRows: 0n,
    });
    const stored = await Promise.all([0, 1, 2].map((i) => createShareStore({ dataDir: cluster.dataDirOf(i), hostIndex: i }).get(upload.datasetId)));
    for (const [k, column] of schema.entries()) {
      const held = stored.map((share) => share!.columns[k]);
      assert.deepEqual(held.map((c) => [c.type, c.categories]), [0, 1, 2].map(() => [column.type, column.categories]));
      const valid = reconstruct(held.map((c) => ({ a: decodeRingVector(c.validA), b: decodeRingVector(c.validB) })));
      assert.deepEqual([...valid], rows[column.name as keyof typeof rows].valid.map(BigInt), column.name);
      // One host's validity components alone are not the bits.
      assert.notDeepEqual([...decodeRingVector(held[0].validA)], rows[column.name as keyof typeof rows].valid.map(BigInt));
    }
  });

  it("checks the typed schema against the chain and computes over bool and date columns", async () => {
    // remote: true in rows 0, 2, 3; row 4 is missing and never compares true.
    assert.equal(await answer("count-if@1", { column: "remote", op: "eq", threshold: "1" }), "3");
    assert.equal(await answer("count-if@1", { column: "remote", op: "ne", threshold: "1" }), "2");
    assert.equal(await answer("max@1", { column: "hired" }), "20000");
    // Missing cells are skipped as SQL skips NULL (they are shared as lo, -100, which the validity bits mask out).
    assert.equal(await answer("sum@1", { column: "amount" }), String(10 + 30 + 40 + 5));
    assert.equal(await answer("mean@1", { column: "amount" }), "21.250000");
  });

  it("refuses a named algorithm over a category column, naming it", async () => {
    const { responses } = await run("mean@1", { column: "dept" });
    await assert.rejects(responses(), rejectsWith(grpc.status.INVALID_ARGUMENT, "INVALID_ARGUMENT", /"column" names column "dept", a category column/));
  });

  it("answers a query@1 request by re-planning the SQL from the chain, and refuses one the seller's policy or the request does not cover", async () => {
    const from = `"${upload.datasetId.toLowerCase()}"`;
    const sql = (text: string) => ({ sql: text });
    // A buyer who skips the client's checks and asks the contract directly: the hosts re-check.
    const restricted = `${upload.datasetId.toLowerCase()}/${keccak256(toUtf8Bytes(queryAggregateEntry("avg")))}`;
    cluster.chain.refused.add(restricted);
    try {
      const avg = await run(QUERY_ALGORITHM, sql(`SELECT avg(amount) FROM ${from}`));
      await assert.rejects(avg.responses(), rejectsWith(grpc.status.PERMISSION_DENIED, "POLICY_REFUSED", /does not allow avg\(\) in queries/));
      const params = sql(`SELECT dept, count(*), count(amount) FROM ${from} GROUP BY dept`);
      const { request, responses } = await run(QUERY_ALGORITHM, params);
      const values = await settleAndOpen(cluster, { requestId: request.requestId, responses: await responses(), buyerPrivateKey: buyer.privateKey });
      const plan = planJob(QUERY_ALGORITHM, JSON.stringify(params), { columns: schema }, { rowCount: 6n, epsilonMilli: 0, datasetIds: [upload.datasetId] });
      const answer = decodeJob(plan, values);
      assert.equal(answer.kind, "query");
      assert.equal(answer.result.rows.reduce((n: number, row) => n + Number(row[1]), 0), 6, "every row in some group");
    } finally {
      cluster.chain.refused.delete(restricted);
    }
    // FROM must name the request's datasets: a query text over another dataset is refused, not run over this one.
    const other = await run(QUERY_ALGORITHM, sql(`SELECT count(*) FROM "0x${"ab".repeat(32)}"`));
    await assert.rejects(other.responses(), rejectsWith(grpc.status.INVALID_ARGUMENT, "INVALID_ARGUMENT", /FROM must name exactly the request's datasets/));
  });

  it("refuses to compute when the on-chain schema names other types or categories than the stored shares", async () => {
    const dataset = cluster.chain.datasets.get(upload.datasetId)!;
    const renamed = schema.map((c) => (c.name === "dept" ? { ...c, categories: ["eng", "ops", "sale"] } : c));
    const untyped = schema.map(({ type: _type, categories: _categories, ...c }) => c);
    try {
      for (const other of [renamed, untyped]) {
        cluster.chain.datasets.set(upload.datasetId, { ...dataset, schemaHash: schemaHashOf(other) });
        const { request } = await run("sum@1", { column: "amount" });
        await assert.rejects(cluster.asBridge(0, "Compute", request), rejectsWith(grpc.status.FAILED_PRECONDITION, "SCHEMA_MISMATCH"));
      }
    } finally {
      cluster.chain.datasets.set(upload.datasetId, dataset);
    }
  });
});
