import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import http2 from "node:http2";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { AbiCoder, getBytes, hexlify, keccak256, toUtf8Bytes, verifyMessage, Wallet, ZeroAddress } from "ethers";
import type { ComputeResponse, HealthResponse, UploadSharesRequest, UploadSharesResponse } from "@scmpc/protos";
import { loadMpcV1 } from "@scmpc/protos";
import { decodeResult, decodeRingVector, decryptOutputShare, generateBuyerKeyPair, packResult, planComputation, Rational, ringSum, unwrapEnvelope } from "../src/index.ts";
import { HOST_VERSION, mpcErrorCodeOf, offenceAttestationOf } from "../src/host/index.ts";
import { hostApiChannelOptions, hostApiCredentials } from "../src/tls/index.ts";
import { buildUploads, callUnary, CONSUMER, schemaHashOf, settleAndOpen, startCluster, type Cluster, rejectsWith } from "./support/cluster.ts";

/** Random values within the test columns' default bounds ±2^40 (support/cluster.ts). */
function randomColumn(rows: number): BigUint64Array {
  const values = new BigUint64Array(rows);
  const bytes = new Uint8Array(values.buffer);
  bytes.set(randomBytes(bytes.length));
  for (let i = 0; i < rows; i++) values[i] = BigInt.asUintN(64, BigInt.asIntN(41, values[i]));
  return values;
}


/** What sum@1 opens over a complete column: the sum (the column is centred on 0) and the count of present values. */
function opened(values: BigUint64Array): bigint[] {
  return [ringSum(values), BigInt(values.length)];
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
    const responses = await Promise.all([0, 1, 2].map((i) => cluster.asBridge<ComputeResponse>(i, "Compute", computeRequest(requestId))));
    assert.deepEqual(responses.map((r) => r.hostIndex), [0, 1, 2]);
    assert.equal(new Set(responses.map((r) => r.jobId)).size, 1, "the three hosts derive one job id");

    // A repeated Compute returns the cached response, not a second run.
    const again = await cluster.asBridge<ComputeResponse>(2, "Compute", computeRequest(requestId));
    assert.deepEqual(again.encryptedOutput, responses[2].encryptedOutput);
    assert.deepEqual(await settleAndOpen(cluster, { requestId, responses, buyerPrivateKey: buyer.privateKey }), opened(values));
  });

  it("joins a concurrent duplicate Compute to the running job", async () => {
    const requestId = hexlify(randomBytes(32));
    pendingRequest(requestId);
    const calls = [0, 1, 2, 0, 1, 2].map((i) => cluster.asBridge<ComputeResponse>(i, "Compute", computeRequest(requestId)));
    const responses = await Promise.all(calls);
    for (const i of [0, 1, 2]) assert.deepEqual(responses[i + 3].encryptedOutput, responses[i].encryptedOutput);
    assert.deepEqual(await settleAndOpen(cluster, { requestId, responses: responses.slice(0, 3), buyerPrivateKey: buyer.privateKey }), opened(values));
  });

  it("re-randomises output shares: host outputs are not the per-component sums", async () => {
    const requestId = hexlify(randomBytes(32));
    pendingRequest(requestId);
    const responses = await Promise.all([0, 1, 2].map((i) => cluster.asBridge<ComputeResponse>(i, "Compute", computeRequest(requestId))));
    await settleAndOpen(cluster, { requestId, responses, buyerPrivateKey: buyer.privateKey });
    const { key } = await callUnary<{ key: Buffer }>(cluster.clients[0], "releaseKey", { requestId, consumer: CONSUMER });
    const envelope = unwrapEnvelope({ jobId: responses[0].jobId, hostIndex: 0, key, wrapped: responses[0].encryptedOutput });
    const [[z0, z1]] = decryptOutputShare({ requestId, hostIndex: 0, buyerPrivateKey: buyer.privateKey, envelope });
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
        cluster.asBridge(1, "Compute", computeRequest(requestId)),
        rejectsWith(grpc.status.FAILED_PRECONDITION, "CHAIN_COMMITMENT_MISMATCH", /host 1/),
      );
    } finally {
      cluster.chain.datasets.set(upload.datasetId, dataset);
    }
  });

  it("computes a request over the dataset version it bought, after a refresh; only the current version's loss is the seller's offence", async () => {
    const v1 = cluster.chain.datasets.get(upload.datasetId)!;
    const newer = randomColumn(3000);
    const v2 = await buildUploads(seller, "payments", { name: "amount", scale: 0, values: newer });
    await Promise.all(v2.requests.map((req, i) => callUnary(cluster.clients[i], "uploadShares", req)));
    cluster.chain.datasets.set(upload.datasetId, { ...v1, rowCount: BigInt(newer.length), commitments: v2.commitments });
    cluster.chain.court = Wallet.createRandom().address;
    try {
      const run = async () => {
        const requestId = hexlify(randomBytes(32));
        pendingRequest(requestId);
        const responses = await Promise.all([0, 1, 2].map((i) => cluster.asBridge<ComputeResponse>(i, "Compute", computeRequest(requestId))));
        return settleAndOpen(cluster, { requestId, responses, buyerPrivateKey: buyer.privateKey });
      };
      // Bought before the refresh: the first version's rows, though the second is current.
      cluster.chain.pinned.set(upload.datasetId, v1);
      assert.deepEqual(await run(), opened(values));
      cluster.chain.pinned.delete(upload.datasetId);
      assert.deepEqual(await run(), opened(newer));

      const gone = { ...v1, commitments: ["0x" + "ab".repeat(32), "0x" + "ab".repeat(32), "0x" + "ab".repeat(32)] as [string, string, string] };
      const refusal = async (): Promise<grpc.ServiceError> => {
        const requestId = hexlify(randomBytes(32));
        pendingRequest(requestId);
        try {
          await cluster.asBridge(0, "Compute", computeRequest(requestId));
        } catch (err) {
          return err as grpc.ServiceError;
        }
        return assert.fail("a Compute over a version this host does not hold succeeded");
      };
      // A replaced version this host no longer holds: refused, and no attestation against the seller.
      cluster.chain.pinned.set(upload.datasetId, gone);
      const old = await refusal();
      assert.equal(mpcErrorCodeOf(old), "CHAIN_COMMITMENT_MISMATCH", old.details);
      assert.equal(offenceAttestationOf(old), undefined);
      // The current version's share not held: the seller's offence, attested.
      cluster.chain.pinned.delete(upload.datasetId);
      cluster.chain.datasets.set(upload.datasetId, { ...gone, rowCount: v1.rowCount });
      const current = await refusal();
      assert.equal(mpcErrorCodeOf(current), "CHAIN_COMMITMENT_MISMATCH", current.details);
      assert.equal(offenceAttestationOf(current)?.offence, 2);
    } finally {
      cluster.chain.pinned.delete(upload.datasetId);
      cluster.chain.datasets.set(upload.datasetId, v1);
      cluster.chain.court = ZeroAddress;
    }
  });

  it("refuses Compute from a consumer not on the allow-list, or not matching the on-chain request", async () => {
    const requestId = hexlify(randomBytes(32));
    pendingRequest(requestId, "other-column");
    await assert.rejects(
      cluster.asBridge(0, "Compute", { ...computeRequest(requestId), consumer: Wallet.createRandom().address }),
      rejectsWith(grpc.status.PERMISSION_DENIED, "CONSUMER_NOT_ALLOWED"),
    );
    await assert.rejects(
      cluster.asBridge(0, "Compute", computeRequest(requestId)),
      rejectsWith(grpc.status.PERMISSION_DENIED, "REQUEST_MISMATCH", /in params: not what the buyer paid for/),
    );
    // The datasets a Compute names are read beside the request, but the request's own event decides what is computed.
    const reads = cluster.chain.locateCalls;
    await assert.rejects(
      cluster.asBridge(0, "Compute", { ...computeRequest(requestId), params: '{"column":"other-column"}', datasetIds: [hexlify(randomBytes(32))] }),
      rejectsWith(grpc.status.PERMISSION_DENIED, "REQUEST_MISMATCH", /in datasetIds: not what the buyer paid for/),
    );
    assert.equal(cluster.chain.locateCalls, reads + 1, "the Compute's datasets were read beside the request");
    await assert.rejects(
      cluster.asBridge(0, "Compute", { ...computeRequest(requestId), algorithm: "median@9" }),
      rejectsWith(grpc.status.INVALID_ARGUMENT, "ALGORITHM_UNSUPPORTED"),
    );
  });

  it("lets an upload stream megabytes without waiting every 64 KiB: the Host API advertises a 4 MiB receive window", async () => {
    const session = http2.connect(`https://127.0.0.1:${cluster.ports[0]}`, { ca: cluster.hostTls.ca, servername: "scmpc-host-0", ALPNProtocols: ["h2"] });
    try {
      await once(session, "remoteSettings");
      // The first SETTINGS are HTTP/2's defaults; the host's own follow once it sees the connection, with a WINDOW_UPDATE.
      const widened = (): boolean => session.remoteSettings.initialWindowSize === 4 << 20 && session.state.remoteWindowSize === 4 << 20;
      for (let i = 0; i < 100 && !widened(); i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(session.remoteSettings.initialWindowSize, 4 << 20, "each stream's window");
      assert.equal(session.state.remoteWindowSize, 4 << 20, "the connection's window");
    } finally {
      session.destroy();
    }
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
    // Bounds are part of the schema the hosts plan with: malformed ones are refused, naming the column.
    for (const [lo, hi, why] of [["", "1", /column "amount" has no bound "lo"/], ["5", "1", /column "amount": bound lo 5 is above hi 1/], ["1.0", "2", /column "amount": bound lo "1.0" is not canonical/]] as const) {
      await assert.rejects(
        callUnary(cluster.clients[0], "uploadShares", { ...req, columns: [{ ...req.columns[0], lo, hi }] }),
        rejectsWith(grpc.status.INVALID_ARGUMENT, "INVALID_ARGUMENT", why),
      );
    }
    const impostor = Wallet.createRandom();
    await assert.rejects(
      callUnary(cluster.clients[0], "uploadShares", { ...req, seller: impostor.address }),
      rejectsWith(grpc.status.PERMISSION_DENIED, "SIGNATURE_INVALID"),
    );
    // Same dataset, fresh sharing: a new version, stored beside the first (the registry's refresh makes it current);
    // one with other columns than the registered schema is refused.
    const reshared = await buildUploads(seller, "payments", { name: "amount", scale: 0, values });
    await callUnary(cluster.clients[0], "uploadShares", reshared.requests[0]);
    const renamed = await buildUploads(seller, "payments", { name: "total", scale: 0, values });
    await assert.rejects(
      callUnary(cluster.clients[0], "uploadShares", renamed.requests[0]),
      rejectsWith(grpc.status.FAILED_PRECONDITION, "SCHEMA_CHANGED"),
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
      const tlsToPlain = new Host(`127.0.0.1:${plainCluster.ports[0]}`, hostApiCredentials(tlsCluster.hostTls, 0), hostApiChannelOptions(tlsCluster.hostTls, 0));
      // Another host's certificate where host 0 is expected: the pin fails.
      const wrongPin = new Host(`127.0.0.1:${tlsCluster.ports[0]}`, hostApiCredentials(tlsCluster.hostTls, 1), hostApiChannelOptions(tlsCluster.hostTls, 1));
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
    const outcomes = await Promise.allSettled([0, 1].map((i) => cluster.asBridge(i, "Compute", request)));
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
  const schema = [{ name: "x", scale: 1, lo: "-100.0", hi: "100.0" }, { name: "y", scale: 0, lo: "-100", hi: "100" }];
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
    const responses = await Promise.all([0, 1, 2].map((i) => cluster.asBridge<ComputeResponse>(i, "Compute", request)));
    const values = await settleAndOpen(cluster, { requestId, responses, buyerPrivateKey: buyer.privateKey });
    const rowCount = datasetIds.reduce((n, id) => n + cluster.chain.datasets.get(id)!.rowCount, 0n);
    return decodeResult(planComputation(algorithm, JSON.stringify(params), { columns: schema }, { rowCount, epsilonMilli: 0 }), values);
  };

  before(async () => {
    // No memory for shares: these hosts read every share from disk, a block of rows at a time, as they read one too large to hold.
    // And each host with a worker thread for the PRF streams of large rounds.
    cluster = await startCluster({ jobTimeoutMs: 10_000, config: { shareMemoryBytes: 0, workers: 2 } });
    // The second seller's share goes as the Node client sends it (v5): x0 and x1 as seeds the hosts keep,
    // drawn for the rows each block reads, beside the first seller's four stored vectors.
    const seeded = { seeds: [randomBytes(32), randomBytes(32)], encoding: "v5" } as const;
    for (const [owner, data, options] of [[seller, a, {}], [seller2, b, seeded]] as const) {
      const upload = await buildUploads(
        owner,
        "d",
        [
          { ...schema[0], values: signed(data.x) },
          { ...schema[1], values: signed(data.y) },
        ],
        options,
      );
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

  /** regression@1 of y on x (x in tenths: scale 1, y in units) and their covariance, computed in the clear. */
  const fitInTheClear = (xs: number[], ys: number[]) => {
    const X = xs.map(BigInt);
    const Y = ys.map(BigInt);
    const n = BigInt(X.length);
    const sum = (v: bigint[]) => v.reduce((s, t) => s + t, 0n);
    const mx = new Rational(sum(X), n * 10n);
    const my = new Rational(sum(Y), n);
    const cxy = new Rational(sum(X.map((x, i) => x * Y[i])), n * 10n).sub(mx.mul(my));
    const cxx = new Rational(sum(X.map((x) => x * x)), n * 100n).sub(mx.mul(mx));
    const cyy = new Rational(sum(Y.map((y) => y * y)), n).sub(my.mul(my));
    const slope = cxy.div(cxx);
    return {
      fit: { slope: slope.toDecimal(7), intercept: my.sub(slope.mul(mx)).toDecimal(7), r2: cxy.mul(cxy).div(cxx.mul(cyy)).toDecimal(6) },
      covariance: cxy.toDecimal(7),
    };
  };

  it("fits a regression across the datasets, exactly as in the clear", async () => {
    const clear = fitInTheClear([...a.x, ...b.x], [...a.y, ...b.y]);
    assert.deepEqual(await run("regression@1", { x: "x", y: "y" }, both()), clear.fit);
    assert.equal(await run("covariance@1", { x: "x", y: "y" }, both()), clear.covariance);
  });

  it("fits a regression over 70,000 rows with a worker thread drawing the rounds' PRF streams (workers = 2), exactly as in the clear", async () => {
    // Rounds of 65,536 words or more go to the thread: the regression's products over the rows do.
    const rows = 70_000;
    const xs = Array.from({ length: rows }, (_, i) => ((i * 37) % 2001) - 1000);
    const ys = Array.from({ length: rows }, (_, i) => ((i * 11) % 201) - 100);
    const upload = await buildUploads(seller, "d", [
      { ...schema[0], values: signed(xs) },
      { ...schema[1], values: signed(ys) },
    ]);
    for (const i of [0, 1, 2]) await callUnary(cluster.clients[i], "uploadShares", upload.requests[i]);
    register(upload, seller, rows);
    assert.deepEqual(await run("regression@1", { x: "x", y: "y" }, [upload.datasetId]), fitInTheClear(xs, ys).fit);
  });

  it("enforces the seller's policy: a disallowed algorithm, an exact answer not allowed, a dataset below its own minimum rows", async () => {
    const [first, second] = both();
    cluster.chain.refused.add(`${first}/${keccak256(toUtf8Bytes("max@1"))}`);
    await assert.rejects(run("max@1", { column: "x" }, both()), rejectsWith(grpc.status.PERMISSION_DENIED, "POLICY_REFUSED", /does not allow max@1/));
    // A request recorded with ε 0 (exact) over a dataset whose seller did not opt in: refused by the hosts too.
    cluster.chain.inexact.add(`${second}/${keccak256(toUtf8Bytes("sum@1"))}`);
    await assert.rejects(
      run("sum@1", { column: "x" }, both()),
      rejectsWith(grpc.status.PERMISSION_DENIED, "POLICY_REFUSED", new RegExp(`dataset ${second}: its seller does not allow exact answers to sum@1`)),
    );
    cluster.chain.inexact.clear();
    // Seller 2 requires 3 rows of its own; its 2 rows do not qualify however many rows seller 1's dataset adds.
    register(uploads[1], seller2, b.x.length, 3n);
    await assert.rejects(
      run("sum@1", { column: "x" }, both()),
      rejectsWith(grpc.status.PERMISSION_DENIED, "POLICY_REFUSED", /requires at least 3 rows of its own in a result; it holds 2/),
    );
    register(uploads[1], seller2, b.x.length);
  });

  it("refuses a job over a share changed on disk after it was checked: the chunk read is not the one committed to, and no answer comes out", async () => {
    const owner = Wallet.createRandom();
    const upload = await buildUploads(owner, "tampered", [
      { ...schema[0], values: signed(a.x) },
      { ...schema[1], values: signed(a.y) },
    ]);
    for (const i of [0, 1, 2]) await callUnary(cluster.clients[i], "uploadShares", upload.requests[i]);
    register(upload, owner, a.x.length);
    // A first job opens the share and checks its commitment; then a byte of host 1's copy changes under it.
    assert.equal(await run("sum@1", { column: "x" }, [upload.datasetId]), "3.5");
    const file = join(cluster.dataDirOf(1), "datasets", `${upload.datasetId}.${upload.commitments[1].slice(2)}.share`);
    const bytes = await readFile(file);
    bytes[bytes.length - 1] ^= 1;
    await writeFile(file, bytes);
    await assert.rejects(
      run("sum@1", { column: "y" }, [upload.datasetId]),
      rejectsWith(grpc.status.DATA_LOSS, "STORE_CORRUPT", /chunk 0 of column "y" validB does not match its commitment/),
    );
  });

  it("refuses a request the contract does not sell, bad params, and a schema that is not the shares'", async () => {
    const requestId = hexlify(randomBytes(32));
    cluster.chain.algorithms.set(CONSUMER.toLowerCase(), "mean@1");
    cluster.chain.setRequest(CONSUMER, requestId, {
      buyer: seller.address, datasetIds: both(), params: '{"column":"x"}', buyerKey, price: 1n, status: 1,
    });
    await assert.rejects(
      cluster.asBridge(0, "Compute", { requestId, algorithm: "sum@1", datasetIds: both(), params: '{"column":"x"}', buyerKey, consumer: CONSUMER }),
      rejectsWith(grpc.status.PERMISSION_DENIED, "REQUEST_MISMATCH", /in algorithm/),
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

describe("hosts signing, guarding and releasing a result", () => {
  let cluster: Cluster;
  const seller = Wallet.createRandom();
  const buyer = generateBuyerKeyPair();
  const buyerKey = hexlify(buyer.publicKey);
  const params = '{"column":"v"}';
  const values = randomColumn(100);
  let upload: Awaited<ReturnType<typeof buildUploads>>;

  const newRequest = (options: { deadline?: bigint; requestId?: string; buyerKey?: string } = {}) => {
    const requestId = options.requestId ?? hexlify(randomBytes(32));
    const key = options.buyerKey ?? buyerKey;
    cluster.chain.setRequest(CONSUMER, requestId, { buyer: seller.address, datasetIds: [upload.datasetId], params, buyerKey: key, price: 1n, status: 1, deadline: options.deadline });
    return { requestId, algorithm: "sum@1", datasetIds: [upload.datasetId], params, buyerKey: key, consumer: CONSUMER };
  };
  const computeAll = (request: object) => Promise.all([0, 1, 2].map((i) => cluster.asBridge<ComputeResponse>(i, "Compute", request)));
  const packed = (responses: ComputeResponse[]) => packResult(responses[0].jobId, responses.map((r) => r.encryptedOutput));
  const releaseKey = (host: number, requestId: string) => callUnary<{ key: Buffer; jobId: string }>(cluster.clients[host], "releaseKey", { requestId, consumer: CONSUMER });

  before(async () => {
    cluster = await startCluster({ jobTimeoutMs: 5000 });
    upload = await buildUploads(seller, "signed", { name: "v", scale: 0, values });
    for (const i of [0, 1, 2]) await callUnary(cluster.clients[i], "uploadShares", upload.requests[i]);
    cluster.chain.datasets.set(upload.datasetId, {
      seller: seller.address, name: "signed", schemaHash: schemaHashOf([{ name: "v", scale: 0 }]), rowCount: 100n, price: 1n,
      commitments: upload.commitments, active: true, minRows: 0n,
    });
  });
  after(async () => {
    await cluster.close();
  });

  it("signs the consumer's fulfillmentDigest (chain id, consumer, request id, result hash), only for its own envelope", async () => {
    const request = newRequest();
    const { requestId } = request;
    const responses = await computeAll(request);
    const result = packed(responses);
    const signed = await Promise.all(
      [0, 1, 2].map((i) => cluster.asBridge<{ signature: string; signer: string; hostIndex: number }>(i, "SignResult", { requestId, result: getBytes(result), consumer: CONSUMER })),
    );
    const digest = keccak256(AbiCoder.defaultAbiCoder().encode(["uint256", "address", "bytes32", "bytes32"], [31337n, CONSUMER, requestId, keccak256(result)]));
    signed.forEach((s, i) => {
      assert.equal(s.hostIndex, i);
      assert.equal(s.signer, cluster.signers[i].address);
      assert.equal(verifyMessage(getBytes(digest), s.signature), cluster.signers[i].address);
    });

    // A result with another envelope in host 1's place is refused by host 1.
    const forged = packResult(responses[0].jobId, [responses[0].encryptedOutput, responses[0].encryptedOutput, responses[2].encryptedOutput]);
    await assert.rejects(
      cluster.asBridge(1, "SignResult", { requestId, result: getBytes(forged), consumer: CONSUMER }),
      rejectsWith(grpc.status.DATA_LOSS, "OUTPUT_TAMPERED", /host 1/),
    );
    // A result naming another job than the chain's request is refused.
    const otherJob = packResult("0x" + "77".repeat(32), responses.map((r) => r.encryptedOutput));
    await assert.rejects(
      cluster.asBridge(0, "SignResult", { requestId, result: getBytes(otherJob), consumer: CONSUMER }),
      rejectsWith(grpc.status.PERMISSION_DENIED, "REQUEST_MISMATCH", /is job/),
    );
    await assert.rejects(
      cluster.asBridge(0, "SignResult", { requestId: hexlify(randomBytes(32)), result: getBytes(result), consumer: CONSUMER }),
      rejectsWith(grpc.status.NOT_FOUND, "REQUEST_NOT_FOUND"),
    );
    await assert.rejects(
      cluster.asBridge(0, "SignResult", { requestId, result: Buffer.from("nonsense"), consumer: CONSUMER }),
      rejectsWith(grpc.status.INVALID_ARGUMENT, "INVALID_ARGUMENT", /three packed output envelopes/),
    );
  });

  it("answers Compute and SignResult for the bridge only: a stranger's call is refused before it touches the job", async () => {
    const request = newRequest();
    const stranger = new Wallet(Wallet.createRandom().privateKey);
    const strangerCall = async (host: number, method: "Compute" | "SignResult", body: object, signer: Wallet) => {
      const metadata = new grpc.Metadata();
      const { signBridgeCall } = await import("../src/host/bridge-auth.ts");
      for (const [k, v] of Object.entries(await signBridgeCall(signer, { method, request: body } as never, host))) metadata.set(k, v);
      return callUnary(cluster.clients[host], method === "Compute" ? "compute" : "signResult", body, 5000, metadata);
    };
    // No signature, a stranger's signature, the bridge's signature for another host, a stale one.
    await assert.rejects(callUnary(cluster.clients[0], "compute", request), rejectsWith(grpc.status.UNAUTHENTICATED, "BRIDGE_UNAUTHENTICATED", /no bridge signature/));
    await assert.rejects(strangerCall(0, "Compute", request, stranger), rejectsWith(grpc.status.UNAUTHENTICATED, "BRIDGE_UNAUTHENTICATED", /not by the configured bridge/));
    const { signBridgeCall } = await import("../src/host/bridge-auth.ts");
    const forHost1 = await signBridgeCall(cluster.bridge, { method: "Compute", request }, 1);
    const replayed = new grpc.Metadata();
    for (const [k, v] of Object.entries(forHost1)) replayed.set(k, v);
    await assert.rejects(callUnary(cluster.clients[0], "compute", request, 5000, replayed), rejectsWith(grpc.status.UNAUTHENTICATED, "BRIDGE_UNAUTHENTICATED"));
    const stale = await signBridgeCall(cluster.bridge, { method: "Compute", request }, 0, Date.now() - 10 * 60_000);
    const staleMetadata = new grpc.Metadata();
    for (const [k, v] of Object.entries(stale)) staleMetadata.set(k, v);
    await assert.rejects(callUnary(cluster.clients[0], "compute", request, 5000, staleMetadata), rejectsWith(grpc.status.UNAUTHENTICATED, "BRIDGE_UNAUTHENTICATED", /clock/));
    // A stranger who asks with one wrong field (the buyer key) takes no slot: the bridge's job runs and opens.
    await assert.rejects(
      Promise.all([0, 1, 2].map((i) => strangerCall(i, "Compute", { ...request, buyerKey: hexlify(generateBuyerKeyPair().publicKey) }, stranger))),
      rejectsWith(grpc.status.UNAUTHENTICATED, "BRIDGE_UNAUTHENTICATED"),
    );
    const responses = await computeAll(request);
    assert.deepEqual(await settleAndOpen(cluster, { requestId: request.requestId, responses, buyerPrivateKey: buyer.privateKey }), opened(values));
    await assert.rejects(
      strangerCall(0, "SignResult", { requestId: request.requestId, result: getBytes(packed(responses)), consumer: CONSUMER }, stranger),
      rejectsWith(grpc.status.UNAUTHENTICATED, "BRIDGE_UNAUTHENTICATED"),
    );
  });

  it("releases its key only for a Fulfilled request with a result it signed; never for a failed or refunded one", async () => {
    const refused = (pattern: RegExp) => rejectsWith(grpc.status.FAILED_PRECONDITION, "KEY_NOT_RELEASED", pattern);
    // Computed and signed, not yet fulfilled: the wrapped result on-chain would be unreadable.
    const pending = newRequest();
    const responses = await computeAll(pending);
    const result = packed(responses);
    await Promise.all([0, 1, 2].map((i) => cluster.asBridge(i, "SignResult", { requestId: pending.requestId, result: getBytes(result), consumer: CONSUMER })));
    await assert.rejects(releaseKey(0, pending.requestId), refused(/is Pending on-chain/));
    // Failed or refunded (a fulfilment that lands late, a front-run refund): still never released.
    for (const [status, name] of [[3, "Failed"], [4, "Refunded"]] as const) {
      cluster.chain.setStatus(CONSUMER, pending.requestId, status);
      for (const host of [0, 1, 2]) await assert.rejects(releaseKey(host, pending.requestId), refused(new RegExp(`is ${name} on-chain`)));
    }
    // Fulfilled with a result the host never signed (a forged or another result): refused.
    cluster.chain.setStatus(CONSUMER, pending.requestId, 1);
    cluster.chain.fulfil(CONSUMER, pending.requestId, packResult(responses[0].jobId, [responses[1].encryptedOutput, responses[1].encryptedOutput, responses[2].encryptedOutput]));
    await assert.rejects(releaseKey(0, pending.requestId), refused(/not one this host signed/));
    // Fulfilled with the signed result: every host releases, the keys open it.
    cluster.chain.fulfil(CONSUMER, pending.requestId, result);
    const keys = await Promise.all([0, 1, 2].map((h) => releaseKey(h, pending.requestId)));
    keys.forEach((k) => assert.equal(k.jobId, responses[0].jobId));
    // A request nobody computed: refused too.
    const never = newRequest();
    await assert.rejects(releaseKey(1, never.requestId), refused(/computed no output/));
  });

  it("waits for the configured confirmations on top of the fulfilment before it releases", async () => {
    const deep = await startCluster({ jobTimeoutMs: 5000, config: { releaseConfirmations: 3 } });
    try {
      for (const i of [0, 1, 2]) await callUnary(deep.clients[i], "uploadShares", upload.requests[i]);
      deep.chain.datasets.set(upload.datasetId, cluster.chain.datasets.get(upload.datasetId)!);
      const requestId = hexlify(randomBytes(32));
      deep.chain.setRequest(CONSUMER, requestId, { buyer: seller.address, datasetIds: [upload.datasetId], params, buyerKey, price: 1n, status: 1 });
      const request = { requestId, algorithm: "sum@1", datasetIds: [upload.datasetId], params, buyerKey, consumer: CONSUMER };
      const responses = await Promise.all([0, 1, 2].map((i) => deep.asBridge<ComputeResponse>(i, "Compute", request)));
      const result = packed(responses);
      await Promise.all([0, 1, 2].map((i) => deep.asBridge(i, "SignResult", { requestId, result: getBytes(result), consumer: CONSUMER })));
      deep.chain.fulfil(CONSUMER, requestId, result);
      const ask = () => callUnary<{ key: Buffer }>(deep.clients[2], "releaseKey", { requestId, consumer: CONSUMER });
      await assert.rejects(ask(), rejectsWith(grpc.status.FAILED_PRECONDITION, "KEY_NOT_RELEASED", /0 of the 3 blocks/));
      deep.chain.blockNumber += 3;
      assert.equal((await ask()).key.length, 32);
    } finally {
      await deep.close();
    }
  });

  it("refuses to start or sign a job whose deadline is too near", async () => {
    const soon = BigInt(Math.floor(Date.now() / 1000) + 30); // the margin is 60 s
    const late = newRequest({ deadline: soon });
    await assert.rejects(cluster.asBridge(0, "Compute", late), rejectsWith(grpc.status.FAILED_PRECONDITION, "REQUEST_TOO_LATE", /at least 60 s left/));
    // Computed in time, but its deadline drew near before the bridge asked for signatures.
    const request = newRequest();
    const responses = await computeAll(request);
    cluster.chain.setDeadline(CONSUMER, request.requestId, soon);
    await assert.rejects(
      cluster.asBridge(0, "SignResult", { requestId: request.requestId, result: getBytes(packed(responses)), consumer: CONSUMER }),
      rejectsWith(grpc.status.FAILED_PRECONDITION, "REQUEST_TOO_LATE", /signs a result only with at least 60 s left/),
    );
  });

  it("keys a job on its identity: the same request id on a reset chain is a new job, computed afresh", async () => {
    const request = newRequest();
    const first = await computeAll(request);
    // The chain is reset: the same request id comes back, bought by another buyer (another key).
    const other = generateBuyerKeyPair();
    const again = newRequest({ requestId: request.requestId, buyerKey: hexlify(other.publicKey) });
    const second = await computeAll(again);
    assert.notEqual(second[0].jobId, first[0].jobId);
    assert.notDeepEqual(second[0].encryptedOutput, first[0].encryptedOutput);
    // The old job's result cannot be signed for the new request.
    await assert.rejects(
      cluster.asBridge(0, "SignResult", { requestId: request.requestId, result: getBytes(packed(first)), consumer: CONSUMER }),
      rejectsWith(grpc.status.PERMISSION_DENIED, "REQUEST_MISMATCH", /is job/),
    );
    assert.deepEqual(await settleAndOpen(cluster, { requestId: request.requestId, responses: second, buyerPrivateKey: other.privateKey }), opened(values));
    // The same request mined again in another block (a reorganisation) stays the same job: its stored answer serves it.
    cluster.chain.setRequest(CONSUMER, request.requestId, { buyer: seller.address, datasetIds: [upload.datasetId], params, buyerKey: again.buyerKey, price: 1n, status: 1 });
    const remined = await computeAll(again);
    assert.equal(remined[0].jobId, second[0].jobId);
    assert.deepEqual(remined.map((r) => r.encryptedOutput), second.map((r) => r.encryptedOutput));
  });

  it("answers a finished job after a restart as before: the same envelope, the same signature, the same key", async () => {
    const request = newRequest();
    const { requestId } = request;
    const responses = await computeAll(request);
    const result = packed(responses);
    const before = await cluster.asBridge<{ signature: string }>(1, "SignResult", { requestId, result: getBytes(result), consumer: CONSUMER });

    // The bridge resumes the job after host 1 restarted: host 1 answers from disk, not by a new run.
    await cluster.restart(1);
    const again = await cluster.asBridge<ComputeResponse>(1, "Compute", request);
    assert.deepEqual(again.encryptedOutput, responses[1].encryptedOutput);
    const after = await cluster.asBridge<{ signature: string }>(1, "SignResult", { requestId, result: getBytes(result), consumer: CONSUMER });
    assert.equal(after.signature, before.signature);
    assert.deepEqual(await settleAndOpen(cluster, { requestId, responses, buyerPrivateKey: buyer.privateKey }), opened(values));
  });

  it("lets a host that lost a job mid-run finish it: the peers that finished replay their messages", async () => {
    const request = newRequest();
    const responses = await computeAll(request);
    // Host 0 crashed before it recorded its answer (its peers had finished): it restarts with no trace of the job.
    const { rm } = await import("node:fs/promises");
    const { join } = await import("node:path");
    const dataDir = cluster.dataDirOf(0);
    await rm(join(dataDir, "results", `${responses[0].jobId}.json`));
    await cluster.restart(0);
    // The bridge's retry: hosts 1 and 2 answer from their record and replay; host 0 runs the job again and finishes.
    const retried = await computeAll(request);
    assert.deepEqual(retried[1].encryptedOutput, responses[1].encryptedOutput);
    assert.deepEqual(retried[2].encryptedOutput, responses[2].encryptedOutput);
    assert.notDeepEqual(retried[0].encryptedOutput, responses[0].encryptedOutput);
    assert.deepEqual(await settleAndOpen(cluster, { requestId: request.requestId, responses: retried, buyerPrivateKey: buyer.privateKey }), opened(values));
  });
});
