import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { hexlify, keccak256, toUtf8Bytes, Wallet } from "ethers";
import {
  datasetIdOf,
  decodeResult,
  decodeRingVector,
  generateBuyerKeyPair,
  planComputation,
  reconstruct,
  schemaText,
  shareCommitmentV5,
  seededColumns,
} from "@scmpc/mpc-engine";
import type { ComputeResponse } from "@scmpc/protos";
import { createShareStore } from "@scmpc/mpc-engine/host";
import { CONSUMER, settleAndOpen, startCluster, type Cluster } from "../../mpc-engine/test/support/cluster.ts";
import { shareAndUpload } from "../src/seller.ts";
import { readSellerTable } from "../src/seller-table.ts";
import type { StackState } from "../src/state.ts";

// A seller's typed table — a category, a date, a bool and numbers, with
// blank cells — read, shared (values and validity) and uploaded to three
// real hosts, which check and store it; the stored shares give back exactly
// the seller's table, and the hosts compute over it.
const STAFF = [
  "name,dept,hired,remote,salary,bonus",
  "ana,eng,2019-03-01,true,72000,3500.50",
  "ben,ops,,false,,1200.00",
  "cy,sales,2021-07-15,TRUE,55000,",
  "dee,,2024-12-31,false,91000,800.25",
  "eve,eng,2020-01-10,,64000,NA",
  "fay,ops,2022-05-05,true,48000,0.00",
].join("\n");

describe("a seller's typed table with missing values", () => {
  let dir: string;
  let csv: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "scmpc-seller-table-"));
    csv = path.join(dir, "staff.csv");
    await writeFile(csv, `${STAFF}\n`);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("types every column, shares a missing cell as the column's lo with validity 0, and reports the missing counts", async () => {
    const table = await readSellerTable(csv, {
      types: { hired: "date" },
      categories: { dept: ["eng", "ops", "sales"] },
      bounds: { salary: { lo: "0", hi: "200000" }, hired: { lo: "2019-01-01", hi: "2024-12-31" } },
    });
    assert.equal(table.rowCount, 6);
    const byName = Object.fromEntries(table.columns.map((c) => [c.schema.name, c]));
    assert.deepEqual(table.columns.map((c) => c.schema.name), ["name", "dept", "hired", "remote", "salary", "bonus"]);
    assert.deepEqual(table.columns.map((c) => c.kind), ["category", "category", "date", "bool", "int", "decimal"]);
    assert.deepEqual(byName.dept.schema, { name: "dept", scale: 0, lo: "0", hi: "2", type: "category", categories: ["eng", "ops", "sales"] });
    assert.deepEqual(byName.hired.schema, { name: "hired", scale: 0, lo: "17897", hi: "20088", type: "date" });
    assert.deepEqual(byName.remote.schema, { name: "remote", scale: 0, lo: "0", hi: "1", type: "bool" });
    assert.deepEqual(byName.salary.schema, { name: "salary", scale: 0, lo: "0", hi: "200000" });
    // Derived bounds of a decimal: outward to one significant digit.
    assert.deepEqual(byName.bonus.schema, { name: "bonus", scale: 2, lo: "0.00", hi: "4000.00" });
    assert.deepEqual(
      table.columns.map((c) => [c.schema.name, c.missing]),
      [["name", 0], ["dept", 1], ["hired", 1], ["remote", 1], ["salary", 1], ["bonus", 2]],
    );
    assert.equal(byName.name.dictionaryDerived, true);
    assert.equal(byName.dept.dictionaryDerived, false);
    assert.equal(byName.salary.boundsDerived, false);
    assert.equal(byName.bonus.boundsDerived, true);
    assert.deepEqual([...byName.dept.valid], [1, 1, 1, 0, 1, 1]);
    assert.deepEqual([...byName.dept.values], [0n, 1n, 2n, 0n, 0n, 1n]);
    // A missing date is its lo, 2019-01-01 (day 17897), not day 0: every value shared lies within the public bounds.
    assert.deepEqual([...byName.hired.values], [17956n, 17897n, 18823n, 20088n, 18271n, 19117n]);
    assert.deepEqual([...byName.remote.values], [1n, 0n, 1n, 0n, 0n, 1n]);
    assert.deepEqual([...byName.salary.valid], [1, 0, 1, 1, 1, 1]);
    assert.equal(byName.salary.plaintextSum, "330000");
    assert.equal(byName.bonus.plaintextSum, "5500.75");
  });

  it("takes the columns named, in that order, and reports table errors naming file, line, column and value", async () => {
    const picked = await readSellerTable(csv, { columns: ["salary", "remote"] });
    assert.deepEqual(picked.columns.map((c) => c.schema.name), ["salary", "remote"]);
    await assert.rejects(readSellerTable(csv, { types: { name: "int" } }), (err: Error & { code?: string }) => {
      assert.equal(err.code, "TABLE_INVALID");
      assert.equal(err.message, `${csv} line 2, column "name": "ana" is not an integer`);
      return true;
    });
    await assert.rejects(readSellerTable(csv, { categories: { dept: ["eng", "ops"] } }), /line 4, column "dept": "sales" is not among the categories of the column \(eng, ops\)/);
    await assert.rejects(readSellerTable(csv, { types: { remote: "decimal:99" } }), /column "remote": type "decimal:99" is not one of/);
    await assert.rejects(readSellerTable(csv, { bounds: { salary: { lo: "60000", hi: "100000" } } }), /line 4, column "salary": 55000 is outside the declared bounds \[60000, 100000\]/);
  });

  it("reads JSON Lines by extension, a null or absent key as a missing cell", async () => {
    const ndjson = path.join(dir, "staff.ndjson");
    await writeFile(ndjson, ['{"dept":"eng","remote":true,"salary":72000}', '{"dept":null,"remote":false}', '{"dept":"ops","salary":-5}'].join("\n"));
    const table = await readSellerTable(ndjson);
    assert.deepEqual(table.columns.map((c) => [c.schema.name, c.kind, c.missing]), [["dept", "category", 1], ["remote", "bool", 1], ["salary", "int", 1]]);
    // Derived bounds [-5, 80000]: the missing salary is shared as lo, -5 (two's complement in the ring).
    const salary = table.columns[2];
    assert.deepEqual([salary.schema.lo, salary.schema.hi], ["-5", "80000"]);
    assert.deepEqual([...salary.values], [72000n, BigInt.asUintN(64, -5n), BigInt.asUintN(64, -5n)]);
    assert.deepEqual([...salary.valid], [1, 0, 1]);
  });

  it("refuses before sharing what the hosts would refuse: an empty dictionary, more than 256 categories", async () => {
    const empty = path.join(dir, "empty.csv");
    await writeFile(empty, "x,c\n1,\n2,NA\n");
    await assert.rejects(readSellerTable(empty, { types: { c: "category" } }), (err: Error & { code?: string }) => {
      assert.equal(err.code, "TABLE_INVALID");
      assert.match(err.message, /empty\.csv column "c": every cell is missing, so its category dictionary would be empty; fix it with --categories c=/);
      return true;
    });
    const many = Array.from({ length: 257 }, (_, i) => `v${i}`);
    await assert.rejects(readSellerTable(empty, { columns: ["c"], categories: { c: many } }), /empty\.csv column "c": a category column has 1 to 256 categories; got 257/);
  });

  it("refuses a table naming two columns alike, naming the header and its columns, before anything is shared", async () => {
    const twice = path.join(dir, "twice.csv");
    await writeFile(twice, "v,w, v \n1,2,3\n");
    for (const columns of [undefined, ["w"]]) {
      await assert.rejects(readSellerTable(twice, { columns }), (err: Error & { code?: string }) => {
        assert.equal(err.code, "TABLE_INVALID");
        assert.equal(err.message, `${twice}: duplicate column name "v" (columns 1 and 3); rename one`);
        return true;
      });
    }
    const json = path.join(dir, "twice.json");
    await writeFile(json, '[{"v": 1, "v": 2}]');
    await assert.rejects(readSellerTable(json), /twice\.json record 1: duplicate column name "v" \(keys 1 and 2 of the record/);
  });

  describe("shared and uploaded to three hosts", () => {
    let cluster: Cluster;
    const seller = Wallet.createRandom();
    const buyer = generateBuyerKeyPair();
    before(async () => {
      cluster = await startCluster({ jobTimeoutMs: 10_000, apiTls: false });
    });
    after(async () => {
      await cluster.close();
    });

    it("the hosts store values and validity that reconstruct the table, commit to them, and compute over them", async () => {
      const table = await readSellerTable(csv, { types: { hired: "date" }, bounds: { salary: { lo: "0", hi: "200000" } } });
      const columns = table.columns.map((c) => ({ ...c.schema, values: c.values, valid: c.valid }));
      const state = { hosts: cluster.ports.map((p) => `127.0.0.1:${p}`) } as StackState;
      const datasetId = datasetIdOf(seller.address, "staff");
      const commitments = await shareAndUpload({ state, seller, datasetId, name: "staff", columns });

      const stored = await Promise.all([0, 1, 2].map((i) => createShareStore({ dataDir: cluster.dataDirOf(i), hostIndex: i }).get(datasetId)));
      for (const [i, share] of stored.entries()) {
        assert.ok(share);
        assert.equal(share.commitment, commitments[i]);
        // x0 and x1 went as seeds (host 0 both, host 1 seed 1, host 2 seed 0), bound by them under the v5 encoding.
        assert.equal(share.encoding, "scmpc-share-v5");
        assert.deepEqual([share.seeds?.a !== undefined, share.seeds?.b !== undefined], [[true, true], [true, false], [false, true]][i]);
        assert.equal(shareCommitmentV5({ datasetId, hostIndex: i, rowCount: 6n, columns: seededColumns(share.columns, share.seeds, 6n) }), commitments[i]);
        assert.equal(schemaText(share.columns), schemaText(table.columns.map((c) => c.schema)));
      }
      for (const [k, column] of table.columns.entries()) {
        const held = stored.map((s) => s!.columns[k]);
        const values = reconstruct(held.map((c) => ({ a: decodeRingVector(c.a), b: decodeRingVector(c.b) })));
        const valid = reconstruct(held.map((c) => ({ a: decodeRingVector(c.validA), b: decodeRingVector(c.validB) })));
        assert.deepEqual(values, column.values, column.schema.name);
        assert.deepEqual([...valid], [...column.valid].map(BigInt), column.schema.name);
      }

      // Registered with the schema the seller publishes: the hosts check it against what they hold, then compute.
      const schema = table.columns.map((c) => c.schema);
      cluster.chain.datasets.set(datasetId, {
        seller: seller.address, name: "staff", schemaHash: keccak256(toUtf8Bytes(schemaText(schema))), rowCount: 6n, price: 1n,
        commitments: commitments as [string, string, string], active: true, minRows: 0n,
      });
      const buy = async (algorithm: string, params: object) => {
        const requestId = hexlify(randomBytes(32));
        const buyerKey = hexlify(buyer.publicKey);
        cluster.chain.algorithms.set(CONSUMER.toLowerCase(), algorithm);
        cluster.chain.setRequest(CONSUMER, requestId, { buyer: seller.address, datasetIds: [datasetId], params: JSON.stringify(params), buyerKey, price: 1n, status: 1 });
        const request = { requestId, algorithm, datasetIds: [datasetId], params: JSON.stringify(params), buyerKey, consumer: CONSUMER };
        const responses = await Promise.all([0, 1, 2].map((i) => cluster.asBridge<ComputeResponse>(i, "Compute", request)));
        const opened = await settleAndOpen(cluster, { requestId, responses, buyerPrivateKey: buyer.privateKey });
        return decodeResult(planComputation(algorithm, JSON.stringify(params), { columns: schema }, { rowCount: 6n, epsilonMilli: 0 }), opened);
      };
      // The missing salary is shared as lo = 0: the sum is the sum of the present salaries.
      assert.equal(await buy("sum@1", { column: "salary" }), "330000");
      // Three rows are remote; the missing cell is shared as 0 (false).
      assert.equal(await buy("count-if@1", { column: "remote", op: "eq", threshold: "1" }), "3");
    });
  });
});
