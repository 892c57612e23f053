import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { rerandomize } from "../src/algorithms/run.ts";
import { createShareStore, type ShareReader, type StoredShare } from "../src/host/index.ts";
import { shareRowSource } from "../src/host/share-rows.ts";
import { decodeQuery } from "../src/plan/decode-query.ts";
import { planQuery } from "../src/plan/plan-query.ts";
import { runQuery } from "../src/plan/run-query.ts";
import { runThreeParties, shareArithForTesting } from "../src/protocol/local-harness.ts";
import { parseQuery, type QueryColumn } from "../src/query/index.ts";
import { encodeRingVector, shareCommitment } from "../src/share-encoding.ts";
import { plainQuery, type PlainRow } from "./support/plain-sql.ts";

// Jobs over shares read from disk a block of rows at a time (shares larger
// than a host's memory for them): the rows of several datasets, blocks that
// straddle them, and chunk-checked reads give the answer of the plaintext.

const dirs: string[] = [];
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

const schema: QueryColumn[] = [
  { name: "v", type: "int", scale: 0, lo: "-1000", hi: "1000" },
  { name: "f", type: "int", scale: 0, lo: "0", hi: "100" },
  { name: "g", type: "category", scale: 0, lo: "0", hi: "2", categories: ["x", "y", "z"] },
];
const ring = (v: bigint) => BigInt.asUintN(64, v);

/** Rows with a NULL here and there, the same on every run. */
function table(n: number, seed: number): PlainRow[] {
  let state = seed;
  const next = (m: number) => ((state = (state * 1103515245 + 12345) % 2 ** 31), state % m);
  return Array.from({ length: n }, () => ({
    v: next(17) === 0 ? null : BigInt(next(2001) - 1000),
    f: BigInt(next(101)),
    g: next(11) === 0 ? null : BigInt(next(3)),
  }));
}

/** Each host's share of `rows` as its store keeps it. */
function storedShares(rows: readonly PlainRow[], datasetByte: string): StoredShare[] {
  const datasetId = `0x${datasetByte.repeat(32)}`;
  const shared = schema.map((c) => ({
    values: shareArithForTesting(BigUint64Array.from(rows, (r) => ring(r[c.name] ?? 0n))),
    valid: shareArithForTesting(BigUint64Array.from(rows, (r) => (r[c.name] === null ? 0n : 1n))),
  }));
  return [0, 1, 2].map((hostIndex) => {
    const columns = schema.map((c, k) => ({
      name: c.name,
      scale: c.scale,
      lo: c.lo,
      hi: c.hi,
      ...(c.type === "category" ? { type: c.type, categories: [...(c.categories ?? [])] } : {}),
      a: encodeRingVector(shared[k].values[hostIndex].a),
      b: encodeRingVector(shared[k].values[hostIndex].b),
      validA: encodeRingVector(shared[k].valid[hostIndex].a),
      validB: encodeRingVector(shared[k].valid[hostIndex].b),
    }));
    const rowCount = BigInt(rows.length);
    return { datasetId, seller: `0x${"22".repeat(20)}`, name: datasetByte, hostIndex, rowCount, commitment: shareCommitment({ datasetId, hostIndex, rowCount, columns }), signature: "0x", columns };
  });
}

describe("jobs over shares read from disk by blocks of rows", () => {
  it("a filtered group average, a minimum and counts over two datasets, blocks straddling them, equal the plaintext answer", async () => {
    const first = table(2300, 7);
    const second = table(1500, 11);
    const datasets = [storedShares(first, "a1"), storedShares(second, "b2")];
    const readers: ShareReader[][] = [];
    for (const hostIndex of [0, 1, 2]) {
      const dataDir = await mkdtemp(join(tmpdir(), "scmpc-rows-"));
      dirs.push(dataDir);
      // No memory for shares: every share is read from disk.
      const store = createShareStore({ dataDir, hostIndex, cacheBytes: 0 });
      const mine: ShareReader[] = [];
      for (const shares of datasets) {
        const share = shares[hostIndex];
        await store.put(share);
        const reader = await store.open(share.datasetId, share.commitment);
        assert.equal(reader?.inMemory, false);
        mine.push(reader!);
      }
      readers.push(mine);
    }
    const sql = `SELECT g, count(*), avg(v), min(v), sum(f) FROM "0x${"a1".repeat(32)}" WHERE f >= 40 AND v IS NOT NULL GROUP BY g`;
    const query = parseQuery(sql);
    const rows = [...first, ...second];
    const plan = planQuery(query, { columns: schema }, { rowCount: BigInt(rows.length), epsilonMilli: 0 });
    const outputs = await runThreeParties(async (party) =>
      rerandomize(party, await runQuery(party, plan, shareRowSource(plan.columns.map((c) => c.name), readers[party.index]), { blockRows: 1024 })),
    );
    const opened = Array.from(outputs[0].a, (_, k) => ring(outputs[0].a[k] + outputs[1].a[k] + outputs[2].a[k]));
    assert.deepEqual(decodeQuery(plan, opened).rows, plainQuery(query, schema, rows));
  });
});
