import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import * as grpc from "@grpc/grpc-js";
import { AbiCoder, getBytes, hexlify, keccak256, toUtf8Bytes, verifyMessage, Wallet } from "ethers";
import type { ComputeResponse, HealthResponse, UploadSharesRequest, UploadSharesResponse } from "@scmpc/protos";
import { loadMpcV1 } from "@scmpc/protos";
import { decodeResult, decodeRingVector, decryptOutputShare, generateBuyerKeyPair, openResult, packResult, planComputation, Rational, ringSum } from "../src/index.ts";
import { HOST_VERSION, mpcErrorCodeOf } from "../src/host/index.ts";
import { hostApiCredentials } from "../src/tls/index.ts";
import { buildUploads, callUnary, CONSUMER, schemaHashOf, startCluster, type Cluster } from "./support/cluster.ts";

function randomColumn(rows: number): BigUint64Array {
  const values = new BigUint64Array(rows);
  const bytes = new Uint8Array(values.buffer);
  bytes.set(randomBytes(bytes.length));
  return values;
}

function rejectsWith(status: grpc.status, code: string, pattern?: RegExp): (err: unknown) => boolean {
  return (err: unknown) => {
    const e = err as grpc.ServiceError;
    assert.equal(e.code, status, `status ${e.code}: ${e.details}`);
    assert.equal(mpcErrorCodeOf(e), code, e.details);
    if (pattern) assert.match(e.details, pattern);
    return true;
  };
}

describe("three hosts computing sum@1", () => {
  let cluster: Cluster;
  const seller = Wallet.createRandom();
  const buyer = generateBuyerKeyPair();
  const buyerKey = hexlify(buyer.publicKey);
  const values = randomColumn(5000);
  let upload: Awaited<ReturnType<typeof buildUploads>>;

  const pendingRequest = (requestId: string, column = "amount"): void =>
    cluster.chain.setRequest(CONSUMER, requestId, {
      buyer: Wallet.createRandom().address, datasetIds: [upload.datasetId], params: JSON.stringify({ column }), buyerKey, price: 1n, status: 1,
    });
  const computeRequest = (requestId: string) => ({
    requestId, algorithm: "sum@1", datasetIds: [upload.datasetId], params: '{"column":"amount"}', buyerKey, consumer: CONSUMER,
  });

  before(async () => {
    cluster = await startCluster({ jobTimeoutMs: 5000 });
    upload = await buildUploads(seller, "payments", { name: "amount", scale: 0, values });
    cluster.chain.datasets.set(upload.datasetId, {
      seller: seller.address, name: "payments", schemaHash: schemaHashOf([{ name: "amount", scale: 0 }]), rowCount: BigInt(values.length),
      price: 1n, commitments: upload.commitments, active: true, minRows: 0n,
    });
  });
  after(async () => {
    await cluster.close();
  });

  it("reports health", async () => {
    const health = await Promise.all(cluster.clients.map((c) => callUnary<HealthResponse>(c, "health", {})));
    assert.deepEqual(health.map((h) => [h.hostIndex, h.status, h.version]), [0, 1, 2].map((i) => [i, "SERVING", HOST_VERSION]));
  });

  it("accepts each host's upload, idempotently", async () => {
    const responses = await Promise.all(
      upload.requests.map((req, i) => callUnary<UploadSharesResponse>(cluster.clients[i], "uploadShares", req)),
    );
    assert.deepEqual(responses.map((r) => r.commitment), upload.commitments);
    const again = await callUnary<UploadSharesResponse>(cluster.clients[1], "uploadShares", upload.requests[1]);
    assert.equal(again.commitment, upload.commitments[1]);
  });

  it("computes the sum: the buyer opens it to the plaintext sum mod 2^64", async () => {
    const requestId = hexlify(randomBytes(32));
    pendingRequest(requestId);
    const responses = await Promise.all(
      cluster.clients.map((c) => callUnary<ComputeResponse>(c, "compute", computeRequest(requestId))),
    );
    assert.deepEqual(responses.map((r) => r.hostIndex), [0, 1, 2]);
    const result = packResult(responses.map((r) => r.encryptedOutput));
    assert.deepEqual(openResult({ requestId, buyerPrivateKey: buyer.privateKey, result }), [ringSum(values)]);

    // A repeated Compute returns the cached response, not a second run.
    const again = await callUnary<ComputeResponse>(cluster.clients[2], "compute", computeRequest(requestId));
    assert.deepEqual(again.encryptedOutput, responses[2].encryptedOutput);
  });

  it("joins a concurrent duplicate Compute to the running job", async () => {
    const requestId = hexlify(randomBytes(32));
    pendingRequest(requestId);
    const calls = [0, 1, 2, 0, 1, 2].map((i) => callUnary<ComputeResponse>(cluster.clients[i], "compute", computeRequest(requestId)));
    const responses = await Promise.all(calls);
    for (const i of [0, 1, 2]) assert.deepEqual(responses[i + 3].encryptedOutput, responses[i].encryptedOutput);
    const result = packResult(responses.slice(0, 3).map((r) => r.encryptedOutput));
    assert.deepEqual(openResult({ requestId, buyerPrivateKey: buyer.privateKey, result }), [ringSum(values)]);
  });

  it("re-randomises output shares: host outputs are not the per-component sums", async () => {
    const requestId = hexlify(randomBytes(32));
    pendingRequest(requestId);
    const responses = await Promise.all(cluster.clients.map((c) => callUnary<ComputeResponse>(c, "compute", computeRequest(requestId))));
    const [[z0, z1]] = decryptOutputShare({ requestId, hostIndex: 0, buyerPrivateKey: buyer.privateKey, envelope: responses[0].encryptedOutput });
    // Without the zero sharing, host 0 would return (Σ x_0, Σ x_1) and the buyer would see those component sums.
    assert.notEqual(z0, ringSum(decodeRingVector(upload.requests[0].columns[0].a)));
    assert.notEqual(z1, ringSum(decodeRingVector(upload.requests[0].columns[0].b)));
  });

  it("refuses a Compute whose stored share does not match the on-chain commitment", async () => {
    const requestId = hexlify(randomBytes(32));
    pendingRequest(requestId);
    const dataset = cluster.chain.datasets.get(upload.datasetId)!;
    const tampered = { ...dataset, commitments: [dataset.commitments[0], "0x" + "ee".repeat(32), dataset.commitments[2]] as [string, string, string] };
    cluster.chain.datasets.set(upload.datasetId, tampered);
    try {
      await assert.rejects(
        callUnary(cluster.clients[1], "compute", computeRequest(requestId)),
        rejectsWith(grpc.status.FAILED_PRECONDITION, "CHAIN_COMMITMENT_MISMATCH", /host 1/),
      );
    } finally {
      cluster.chain.datasets.set(upload.datasetId, dataset);
    }
  });

  it("refuses Compute from a consumer not on the allow-list, or not matching the on-chain request", async () => {
    const requestId = hexlify(randomBytes(32));
    pendingRequest(requestId, "other-column");
    await assert.rejects(
      callUnary(cluster.clients[0], "compute", { ...computeRequest(requestId), consumer: Wallet.createRandom().address }),
      rejectsWith(grpc.status.PERMISSION_DENIED, "CONSUMER_NOT_ALLOWED"),
    );
    await assert.rejects(
      callUnary(cluster.clients[0], "compute", computeRequest(requestId)),
      rejectsWith(grpc.status.PERMISSION_DENIED, "REQUEST_MISMATCH", /datasets, params or buyer key/),
    );
    await assert.rejects(
      callUnary(cluster.clients[0], "compute", { ...computeRequest(requestId), algorithm: "median@9" }),
      rejectsWith(grpc.status.INVALID_ARGUMENT, "ALGORITHM_UNSUPPORTED"),
    );
  });

  it("refuses bad uploads with a clear status", async () => {
    const req = upload.requests[0];
    const withColumns = (mutate: (a: Buffer) => void): UploadSharesRequest => {
      const a = Buffer.from(req.columns[0].a);
      mutate(a);
      return { ...req, columns: [{ ...req.columns[0], a }] };
    };
    await assert.rejects(
      callUnary(cluster.clients[1], "uploadShares", req),
      rejectsWith(grpc.status.INVALID_ARGUMENT, "WRONG_HOST"),
    );
    await assert.rejects(
      callUnary(cluster.clients[0], "uploadShares", withColumns((a) => (a[0] ^= 1))),
      rejectsWith(grpc.status.INVALID_ARGUMENT, "COMMITMENT_MISMATCH"),
    );
    await assert.rejects(
      callUnary(cluster.clients[0], "uploadShares", { ...req, columns: [{ ...req.columns[0], a: req.columns[0].a.subarray(8) }] }),
      rejectsWith(grpc.status.INVALID_ARGUMENT, "INVALID_ARGUMENT", /row_count\*8/),
    );
    const impostor = Wallet.createRandom();
    await assert.rejects(
      callUnary(cluster.clients[0], "uploadShares", { ...req, seller: impostor.address }),
      rejectsWith(grpc.status.PERMISSION_DENIED, "SIGNATURE_INVALID"),
    );
    // Same dataset, fresh sharing: a different commitment for an existing dataset.
    const reshared = await buildUploads(seller, "payments", { name: "amount", scale: 0, values });
    await assert.rejects(
      callUnary(cluster.clients[0], "uploadShares", reshared.requests[0]),
      rejectsWith(grpc.status.ALREADY_EXISTS, "DATASET_CONFLICT"),
    );
  });
});

describe("the Host API's transport", () => {
  it("is TLS by default: a plaintext client is refused; with SCMPC_HOST_API_TLS=false it is plaintext and a TLS client is refused", async () => {
    const { Host } = loadMpcV1();
    const tlsCluster = await startCluster({ jobTimeoutMs: 2000 });
    const plainCluster = await startCluster({ jobTimeoutMs: 2000, apiTls: false });
    try {
      const health = (client: grpc.Client) => callUnary<HealthResponse>(client, "health", {}, 2000);
      assert.equal((await health(tlsCluster.clients[0])).status, "SERVING");
      assert.equal((await health(plainCluster.clients[0])).status, "SERVING");
      const plainToTls = new Host(`127.0.0.1:${tlsCluster.ports[0]}`, hostApiCredentials(undefined, 0));
      const tlsToPlain = new Host(`127.0.0.1:${plainCluster.ports[0]}`, hostApiCredentials(tlsCluster.hostTls, 0));
      // Another host's certificate where host 0 is expected: the pin fails.
      const wrongPin = new Host(`127.0.0.1:${tlsCluster.ports[0]}`, hostApiCredentials(tlsCluster.hostTls, 1));
      try {
        for (const client of [plainToTls, tlsToPlain, wrongPin]) {
          await assert.rejects(health(client), (err: unknown) => (err as grpc.ServiceError).code === grpc.status.UNAVAILABLE);
        }
      } finally {
        for (const client of [plainToTls, tlsToPlain, wrongPin]) client.close();
      }
    } finally {
      await tlsCluster.close();
      await plainCluster.close();
    }
  });
});

describe("a dead peer", () => {
  let cluster: Cluster;
  const seller = Wallet.createRandom();
  const buyer = generateBuyerKeyPair();
  const jobTimeoutMs = 1000;

  before(async () => {
    cluster = await startCluster({ indices: [0, 1], jobTimeoutMs });
  });
  after(async () => {
    await cluster.close();
  });

  it("ends the job with PEER_TIMEOUT or PEER_UNAVAILABLE naming the missing host, within the job timeout", async () => {
    const values = randomColumn(10);
    const upload = await buildUploads(seller, "small", { name: "v", scale: 0, values });
    for (const i of [0, 1]) await callUnary(cluster.clients[i], "uploadShares", upload.requests[i]);
    cluster.chain.datasets.set(upload.datasetId, {
      seller: seller.address, name: "small", schemaHash: schemaHashOf([{ name: "v", scale: 0 }]), rowCount: 10n, price: 1n,
      commitments: upload.commitments, active: true, minRows: 0n,
    });
    const requestId = hexlify(randomBytes(32));
    const buyerKey = hexlify(buyer.publicKey);
    cluster.chain.setRequest(CONSUMER, requestId, {
      buyer: seller.address, datasetIds: [upload.datasetId], params: '{"column":"v"}', buyerKey, price: 1n, status: 1,
    });
    const request = { requestId, algorithm: "sum@1", datasetIds: [upload.datasetId], params: '{"column":"v"}', buyerKey, consumer: CONSUMER };
    const started = Date.now();
    const outcomes = await Promise.allSettled([0, 1].map((i) => callUnary(cluster.clients[i], "compute", request)));
    const elapsed = Date.now() - started;
    // Host 0 waits for host 2's message (PEER_TIMEOUT); host 1 cannot reach host 2 with its own (PEER_UNAVAILABLE).
    for (const outcome of outcomes) {
      assert.equal(outcome.status, "rejected");
      const err = (outcome as PromiseRejectedResult).reason as grpc.ServiceError;
      if (mpcErrorCodeOf(err) === "PEER_UNAVAILABLE") rejectsWith(grpc.status.UNAVAILABLE, "PEER_UNAVAILABLE", /host 2/)(err);
      else rejectsWith(grpc.status.DEADLINE_EXCEEDED, "PEER_TIMEOUT", /host 2/)(err);
    }
    assert.ok(elapsed < jobTimeoutMs + 1500, `took ${elapsed} ms`);
  });
});

describe("three hosts running the algorithm library over the mutual-TLS channel", () => {
  let cluster: Cluster;
  const seller = Wallet.createRandom();
  const seller2 = Wallet.createRandom();
  const buyer = generateBuyerKeyPair();
  const buyerKey = hexlify(buyer.publicKey);
  const schema = [{ name: "x", scale: 1 }, { name: "y", scale: 0 }];
  const signed = (v: number[]) => BigUint64Array.from(v, (n) => BigInt.asUintN(64, BigInt(n)));
  // x at scale 1 (tenths), y integers: two datasets of one schema from two sellers.
  const a = { x: [15, -20, 33, 7], y: [3, -4, 7, 1] };
  const b = { x: [100, 0], y: [21, 0] };
  const uploads: Awaited<ReturnType<typeof buildUploads>>[] = [];

  const register = (upload: Awaited<ReturnType<typeof buildUploads>>, owner: { address: string }, rows: number, minRows = 0n) =>
    cluster.chain.datasets.set(upload.datasetId, {
      seller: owner.address, name: "d", schemaHash: schemaHashOf(schema), rowCount: BigInt(rows), price: 1n,
      commitments: upload.commitments, active: true, minRows,
    });
  const run = async (algorithm: string, params: object, datasetIds: string[]) => {
    const requestId = hexlify(randomBytes(32));
    cluster.chain.algorithms.set(CONSUMER.toLowerCase(), algorithm);
    cluster.chain.setRequest(CONSUMER, requestId, {
      buyer: seller.address, datasetIds, params: JSON.stringify(params), buyerKey, price: 1n, status: 1,
    });
    const request = { requestId, algorithm, datasetIds, params: JSON.stringify(params), buyerKey, consumer: CONSUMER };
    const responses = await Promise.all(cluster.clients.map((c) => callUnary<ComputeResponse>(c, "compute", request)));
    const values = openResult({ requestId, buyerPrivateKey: buyer.privateKey, result: packResult(responses.map((r) => r.encryptedOutput)) });
    return decodeResult(planComputation(algorithm, JSON.stringify(params), { columns: schema }), values);
  };

  before(async () => {
    cluster = await startCluster({ jobTimeoutMs: 10_000 });
    for (const [owner, data] of [[seller, a], [seller2, b]] as const) {
      const upload = await buildUploads(owner, "d", [
        { name: "x", scale: 1, values: signed(data.x) },
        { name: "y", scale: 0, values: signed(data.y) },
      ]);
      for (const i of [0, 1, 2]) await callUnary(cluster.clients[i], "uploadShares", upload.requests[i]);
      register(upload, owner, data.x.length);
      uploads.push(upload);
    }
  });
  after(async () => {
    await cluster.close();
  });

  const both = () => uploads.map((u) => u.datasetId);

  it("computes over two sellers' datasets taken together", async () => {
    // x over both: 1.5, -2.0, 3.3, 0.7, 10.0, 0.0 → sum 13.5, mean 2.25, max 10.0, min -2.0
    assert.equal(await run("sum@1", { column: "x" }, both()), "13.5");
    assert.equal(await run("mean@1", { column: "x" }, both()), "2.2500000");
    assert.equal(await run("max@1", { column: "x" }, both()), "10.0");
    assert.equal(await run("min@1", { column: "x" }, both()), "-2.0");
    assert.equal(await run("count-if@1", { column: "y", op: "gt", threshold: "0" }, both()), "4");
    assert.deepEqual(await run("histogram@1", { column: "x", edges: ["0", "2.5"] }, both()), { edges: ["0.0", "2.5"], counts: ["1", "3", "2"] });
    assert.equal(await run("count@1", {}, both()), "6");
  });

  it("fits a regression across the datasets, exactly as in the clear", async () => {
    const xs = [...a.x, ...b.x].map(BigInt);
    const ys = [...a.y, ...b.y].map(BigInt);
    const n = BigInt(xs.length);
    const sum = (v: bigint[]) => v.reduce((s, t) => s + t, 0n);
    // x is in tenths (scale 1), y in units.
    const mx = new Rational(sum(xs), n * 10n);
    const my = new Rational(sum(ys), n);
    const cxy = new Rational(sum(xs.map((x, i) => x * ys[i])), n * 10n).sub(mx.mul(my));
    const cxx = new Rational(sum(xs.map((x) => x * x)), n * 100n).sub(mx.mul(mx));
    const cyy = new Rational(sum(ys.map((y) => y * y)), n).sub(my.mul(my));
    const slope = cxy.div(cxx);
    assert.deepEqual(await run("regression@1", { x: "x", y: "y" }, both()), {
      slope: slope.toDecimal(7),
      intercept: my.sub(slope.mul(mx)).toDecimal(7),
      r2: cxy.mul(cxy).div(cxx.mul(cyy)).toDecimal(6),
    });
    assert.equal(await run("covariance@1", { x: "x", y: "y" }, both()), cxy.toDecimal(7));
  });

  it("enforces the seller's policy: a disallowed algorithm, too few rows", async () => {
    const [first] = both();
    cluster.chain.refused.add(`${first}/${keccak256(toUtf8Bytes("max@1"))}`);
    await assert.rejects(run("max@1", { column: "x" }, both()), rejectsWith(grpc.status.PERMISSION_DENIED, "POLICY_REFUSED", /does not allow max@1/));
    register(uploads[1], seller2, b.x.length, 10n);
    await assert.rejects(
      run("sum@1", { column: "x" }, both()),
      rejectsWith(grpc.status.PERMISSION_DENIED, "POLICY_REFUSED", /at least 10 rows; this one aggregates 6/),
    );
    register(uploads[1], seller2, b.x.length);
  });

  it("refuses a request the contract does not sell, bad params, and a schema that is not the shares'", async () => {
    const requestId = hexlify(randomBytes(32));
    cluster.chain.algorithms.set(CONSUMER.toLowerCase(), "mean@1");
    cluster.chain.setRequest(CONSUMER, requestId, {
      buyer: seller.address, datasetIds: both(), params: '{"column":"x"}', buyerKey, price: 1n, status: 1,
    });
    await assert.rejects(
      callUnary(cluster.clients[0], "compute", { requestId, algorithm: "sum@1", datasetIds: both(), params: '{"column":"x"}', buyerKey, consumer: CONSUMER }),
      rejectsWith(grpc.status.PERMISSION_DENIED, "REQUEST_MISMATCH", /sells mean@1, not sum@1/),
    );
    await assert.rejects(run("sum@1", { column: "z" }, both()), rejectsWith(grpc.status.INVALID_ARGUMENT, "INVALID_ARGUMENT", /no column "z"/));
    const dataset = cluster.chain.datasets.get(both()[0])!;
    cluster.chain.datasets.set(both()[0], { ...dataset, schemaHash: schemaHashOf([{ name: "x", scale: 2 }, { name: "y", scale: 0 }]) });
    try {
      await assert.rejects(run("sum@1", { column: "x" }, both()), rejectsWith(grpc.status.FAILED_PRECONDITION, "SCHEMA_MISMATCH"));
    } finally {
      cluster.chain.datasets.set(both()[0], dataset);
    }
  });
});

describe("hosts signing a packed result for the chain", () => {
  let cluster: Cluster;
  const seller = Wallet.createRandom();
  const buyer = generateBuyerKeyPair();
  const buyerKey = hexlify(buyer.publicKey);
  let upload: Awaited<ReturnType<typeof buildUploads>>;

  before(async () => {
    cluster = await startCluster({ jobTimeoutMs: 5000 });
    upload = await buildUploads(seller, "signed", { name: "v", scale: 0, values: randomColumn(100) });
    for (const i of [0, 1, 2]) await callUnary(cluster.clients[i], "uploadShares", upload.requests[i]);
    cluster.chain.datasets.set(upload.datasetId, {
      seller: seller.address, name: "signed", schemaHash: schemaHashOf([{ name: "v", scale: 0 }]), rowCount: 100n, price: 1n,
      commitments: upload.commitments, active: true, minRows: 0n,
    });
  });
  after(async () => {
    await cluster.close();
  });

  it("signs keccak256(requestId, keccak256(result)) with each host's key, only for its own envelope", async () => {
    const requestId = hexlify(randomBytes(32));
    cluster.chain.setRequest(CONSUMER, requestId, { buyer: seller.address, datasetIds: [upload.datasetId], params: '{"column":"v"}', buyerKey, price: 1n, status: 1 });
    const request = { requestId, algorithm: "sum@1", datasetIds: [upload.datasetId], params: '{"column":"v"}', buyerKey, consumer: CONSUMER };
    const responses = await Promise.all(cluster.clients.map((c) => callUnary<ComputeResponse>(c, "compute", request)));
    const result = packResult(responses.map((r) => r.encryptedOutput));
    const signed = await Promise.all(
      cluster.clients.map((c) => callUnary<{ signature: string; signer: string; hostIndex: number }>(c, "signResult", { requestId, result: getBytes(result) })),
    );
    const digest = keccak256(AbiCoder.defaultAbiCoder().encode(["bytes32", "bytes32"], [requestId, keccak256(result)]));
    signed.forEach((s, i) => {
      assert.equal(s.hostIndex, i);
      assert.equal(s.signer, cluster.signers[i].address);
      assert.equal(verifyMessage(getBytes(digest), s.signature), cluster.signers[i].address);
    });

    // A result with another envelope in host 1's place is refused by host 1 (and signed by nobody else's key for it).
    const forged = packResult([responses[0].encryptedOutput, responses[0].encryptedOutput, responses[2].encryptedOutput]);
    await assert.rejects(
      callUnary(cluster.clients[1], "signResult", { requestId, result: getBytes(forged) }),
      rejectsWith(grpc.status.DATA_LOSS, "OUTPUT_TAMPERED", /host 1/),
    );
    await assert.rejects(
      callUnary(cluster.clients[0], "signResult", { requestId: hexlify(randomBytes(32)), result: getBytes(result) }),
      rejectsWith(grpc.status.NOT_FOUND, "REQUEST_NOT_FOUND"),
    );
    await assert.rejects(
      callUnary(cluster.clients[0], "signResult", { requestId, result: Buffer.from("nonsense") }),
      rejectsWith(grpc.status.INVALID_ARGUMENT, "INVALID_ARGUMENT", /three packed output envelopes/),
    );
  });

  it("answers a finished job after a restart as before: the same envelope, the same signature", async () => {
    const requestId = hexlify(randomBytes(32));
    cluster.chain.setRequest(CONSUMER, requestId, { buyer: seller.address, datasetIds: [upload.datasetId], params: '{"column":"v"}', buyerKey, price: 1n, status: 1 });
    const request = { requestId, algorithm: "sum@1", datasetIds: [upload.datasetId], params: '{"column":"v"}', buyerKey, consumer: CONSUMER };
    const responses = await Promise.all(cluster.clients.map((c) => callUnary<ComputeResponse>(c, "compute", request)));
    const result = packResult(responses.map((r) => r.encryptedOutput));
    const before = await callUnary<{ signature: string }>(cluster.clients[1], "signResult", { requestId, result: getBytes(result) });

    // The bridge resumes the job after host 1 restarted: host 1 answers from disk, not by a new run.
    await cluster.restart(1);
    const again = await callUnary<ComputeResponse>(cluster.clients[1], "compute", request);
    assert.deepEqual(again.encryptedOutput, responses[1].encryptedOutput);
    const after = await callUnary<{ signature: string }>(cluster.clients[1], "signResult", { requestId, result: getBytes(result) });
    assert.equal(after.signature, before.signature);
    // Asked with other parameters under the same request id, it still refuses.
    await assert.rejects(
      callUnary(cluster.clients[1], "compute", { ...request, params: '{"column":"w"}' }),
      rejectsWith(grpc.status.ALREADY_EXISTS, "REQUEST_ID_REUSED"),
    );
  });
});
