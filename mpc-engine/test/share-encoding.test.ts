import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { createHash } from "node:crypto";
import { AbiCoder, getBytes, keccak256, Wallet, verifyMessage } from "ethers";
import {
  COMMITMENT_CHUNK_BYTES,
  SHARE_DOMAIN,
  SHARE_DOMAIN_V3,
  SHARE_DOMAIN_V5,
  chunkDigests,
  datasetIdOf,
  decodeRingVector,
  encodeRingVector,
  encodeShare,
  shareCommitment,
  shareCommitmentV3,
  shareCommitments,
  shareCommitmentV5,
  shareCommitmentsV5,
  uploadDigest,
  type ShareCommitmentInput,
} from "../src/index.ts";

const base = (): ShareCommitmentInput => ({
  datasetId: "0x" + "ab".repeat(32),
  hostIndex: 1,
  rowCount: 2n,
  columns: [
    {
      name: "age",
      scale: 0,
      lo: "0",
      hi: "150",
      a: Buffer.from("0102030405060708090a0b0c0d0e0f10", "hex"),
      b: Buffer.alloc(16, 7),
      validA: Buffer.alloc(16, 3),
      validB: Buffer.alloc(16, 4),
    },
    { name: "salary", scale: 2, lo: "0.00", hi: "200000.00", a: Buffer.alloc(16, 1), b: Buffer.alloc(16, 2), validA: Buffer.alloc(16, 5), validB: Buffer.alloc(16, 6) },
    {
      name: "dept",
      scale: 0,
      lo: "0",
      hi: "2",
      type: "category",
      categories: ["eng", "ops", "sales"],
      a: Buffer.alloc(16, 8),
      b: Buffer.alloc(16, 9),
      validA: Buffer.alloc(16, 10),
      validB: Buffer.alloc(16, 11),
    },
  ],
});

const COMPONENTS = ["a", "b", "validA", "validB"] as const;

/** Little-endian u32 and u64, and a u32-length-prefixed UTF-8 text, as the encoding writes them. */
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};
const u64 = (n: number) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
};
const text = (t: string) => Buffer.concat([u32(Buffer.byteLength(t)), Buffer.from(t, "utf8")]);

/** A column's part of the encoding: its schema fields, then each component as its length and `payload`. */
const columnEncoding = (c: ShareCommitmentInput["columns"][number], payload: (component: Uint8Array, part: (typeof COMPONENTS)[number]) => Uint8Array) =>
  Buffer.concat([
    text(c.name),
    u32(c.scale),
    text(c.lo),
    text(c.hi),
    text(c.type ?? ""),
    u32(c.categories?.length ?? 0),
    ...(c.categories ?? []).map(text),
    ...COMPONENTS.flatMap((part) => [u64(c[part].length), payload(c[part], part)]),
  ]);

describe("share encoding and commitments", () => {
  it("is deterministic", () => {
    assert.equal(shareCommitment(base()), shareCommitment(base()));
  });

  it("lays out v4 as documented: after hi, type, the dictionary, then a, b, validA, validB, each as its length and chunk digests", () => {
    const input = base();
    const column = (c: ShareCommitmentInput["columns"][number]) => columnEncoding(c, (bytes) => createHash("sha256").update(bytes).digest());
    const expected = Buffer.concat([
      text("scmpc-share-v4"),
      Buffer.from("ab".repeat(32), "hex"),
      Buffer.of(1),
      u64(2),
      u32(3),
      ...input.columns.map(column),
    ]);
    assert.deepEqual(encodeShare(input), expected);
    assert.equal(shareCommitment(input), keccak256(expected));
    // The category column's schema part byte for byte, up to the length of its component a.
    assert.equal(
      encodeShare({ ...input, columns: [input.columns[2]] }).subarray(63, 63 + 69).toString("hex"),
      [
        "04000000" + "64657074", // "dept"
        "00000000", // scale 0
        "01000000" + "30", // lo "0"
        "01000000" + "32", // hi "2"
        "08000000" + "63617465676f7279", // "category"
        "03000000", // three categories
        "03000000" + "656e67", // "eng"
        "03000000" + "6f7073", // "ops"
        "05000000" + "73616c6573", // "sales"
        "1000000000000000", // a: 16 bytes
      ].join(""),
    );
    assert.equal(SHARE_DOMAIN, "scmpc-share-v4");
  });

  it("lays out v5 as v4 but each component as its length, a kind byte, then its chunk digests (sent, 0) or its seed's SHA-256 (seeded, 1)", () => {
    const input = base();
    const seedA = Buffer.alloc(32, 0xa1);
    const seedB = Buffer.alloc(32, 0xb2);
    const sha = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest();
    // Side a from seedA, b sent: host 1's share as the seller's client sends it (x1 a seed, x2 the vector).
    const seeded = { ...input, columns: input.columns.map((c) => ({ ...c, a: { length: 16, seed: seedA }, validA: { length: 16, seed: seedA } })) };
    const column = (c: ShareCommitmentInput["columns"][number]) =>
      columnEncoding(c, (bytes, part) => (part === "a" || part === "validA" ? Buffer.concat([Buffer.of(1), sha(seedA)]) : Buffer.concat([Buffer.of(0), sha(bytes)])));
    const expected = Buffer.concat([text("scmpc-share-v5"), Buffer.from("ab".repeat(32), "hex"), Buffer.of(1), u64(2), u32(3), ...input.columns.map(column)]);
    assert.equal(shareCommitmentV5(seeded), keccak256(expected));
    assert.equal(SHARE_DOMAIN_V5, "scmpc-share-v5");
    // The vectors sent under v5 are not the v4 commitment (the kind bytes and tag differ); given as digests, the same.
    assert.notEqual(shareCommitmentV5(input), shareCommitment(input));
    const digested = { ...input, columns: input.columns.map((c) => ({ ...c, b: { length: 16, digests: sha(c.b) } })) };
    assert.equal(shareCommitmentV5(digested), shareCommitmentV5(input));
    // A seed binds its vector: another seed, or the side sent instead, is another commitment.
    const otherSeed = { ...seeded, columns: seeded.columns.map((c, k) => (k === 2 ? { ...c, validA: { length: 16, seed: seedB } } : c)) };
    assert.notEqual(shareCommitmentV5(otherSeed), shareCommitmentV5(seeded));
    assert.notEqual(shareCommitmentV5(seeded), shareCommitmentV5(input));
    // The three at once (x1 digested once for hosts 0 and 1) equal one by one; v4 has no seeded vectors.
    const three = [0, 1, 2].map((hostIndex) => ({ ...seeded, hostIndex, columns: seeded.columns.map((c) => ({ ...c, b: hostIndex === 1 ? c.b : { length: 16, seed: seedB } })) }));
    assert.deepEqual(shareCommitmentsV5(three), three.map(shareCommitmentV5));
    assert.throws(() => shareCommitments([seeded as unknown as ShareCommitmentInput]), /a v4 commitment has no seeded vectors/);
  });

  it("digests a vector by 1 MiB chunks, the last one shorter, so a change in any chunk changes the commitment", () => {
    const long = new Uint8Array(2 * COMMITMENT_CHUNK_BYTES + 24).map((_, i) => i * 7);
    const digests = chunkDigests(long);
    assert.equal(digests.length, 3 * 32);
    const expected = [0, 1, 2].map((k) => createHash("sha256").update(long.subarray(k * COMMITMENT_CHUNK_BYTES, (k + 1) * COMMITMENT_CHUNK_BYTES)).digest());
    assert.deepEqual(Buffer.from(digests), Buffer.concat(expected));
    assert.equal(chunkDigests(new Uint8Array(0)).length, 0);
    const rows = long.length / 8;
    const input = (bytes: Uint8Array): ShareCommitmentInput => ({
      ...base(),
      rowCount: BigInt(rows),
      columns: [{ name: "x", scale: 0, lo: "0", hi: "1", a: bytes, b: long, validA: long, validB: long }],
    });
    const reference = shareCommitment(input(long));
    for (const at of [0, COMMITMENT_CHUNK_BYTES - 1, COMMITMENT_CHUNK_BYTES, long.length - 1]) {
      const changed = long.slice();
      changed[at] ^= 1;
      assert.notEqual(shareCommitment(input(changed)), reference, `byte ${at}`);
    }
    // Moving the chunk boundary is not possible: the length is in the encoding and fixes the chunks.
    assert.notEqual(shareCommitment(input(long.subarray(0, long.length - 8))), reference);
  });

  it("gives the three hosts' commitments of one sharing at once, each vector digested once, as one by one", () => {
    const x = [0, 1, 2].map((k) => Buffer.alloc(16, k + 20));
    const v = [0, 1, 2].map((k) => Buffer.alloc(16, k + 30));
    const shares = [0, 1, 2].map((hostIndex): ShareCommitmentInput => ({
      ...base(),
      hostIndex,
      columns: [{ name: "age", scale: 0, lo: "0", hi: "150", a: x[hostIndex], b: x[(hostIndex + 1) % 3], validA: v[hostIndex], validB: v[(hostIndex + 1) % 3] }],
    }));
    assert.deepEqual(
      shareCommitments(shares),
      shares.map((share) => shareCommitment(share)),
    );
    // Views of one buffer at other offsets are other vectors.
    const one = Buffer.alloc(32, 1);
    one[20] = 9;
    const views = [0, 1, 2].map((hostIndex): ShareCommitmentInput => ({
      ...base(),
      hostIndex,
      columns: [{ name: "age", scale: 0, lo: "0", hi: "150", a: one.subarray(0, 16), b: one.subarray(16, 32), validA: one.subarray(8, 24), validB: one.subarray(0, 16) }],
    }));
    assert.deepEqual(
      shareCommitments(views),
      views.map((share) => shareCommitment(share)),
    );
  });

  it("keeps the v3 commitment, over the vectors' bytes, for shares stored before v4", () => {
    const input = base();
    const column = (c: ShareCommitmentInput["columns"][number]) => columnEncoding(c, (bytes) => bytes);
    const v3 = Buffer.concat([text(SHARE_DOMAIN_V3), Buffer.from("ab".repeat(32), "hex"), Buffer.of(1), u64(2), u32(3), ...input.columns.map(column)]);
    assert.equal(shareCommitmentV3(input), keccak256(v3));
    assert.notEqual(shareCommitmentV3(input), shareCommitment(input));
  });

  it("changes when any single byte of any component, validity included, changes", () => {
    const reference = shareCommitment(base());
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 }), fc.constantFrom(...COMPONENTS), fc.integer({ min: 0, max: 15 }), (col, part, byte) => {
        const input = base();
        input.columns[col][part][byte] ^= 0x01;
        assert.notEqual(shareCommitment(input), reference);
      }),
    );
  });

  it("binds datasetId, hostIndex, rowCount, names, scales, bounds, types and dictionaries", () => {
    const reference = shareCommitment(base());
    const variants: Array<(i: ShareCommitmentInput) => void> = [
      (i) => (i.datasetId = "0x" + "ac".repeat(32)),
      (i) => (i.hostIndex = 2),
      (i) => (i.rowCount = 3n),
      (i) => (i.columns[0].name = "agf"),
      (i) => (i.columns[1].scale = 3),
      (i) => (i.columns[0].lo = "1"),
      (i) => (i.columns[1].hi = "200000.01"),
      (i) => (i.columns[0].type = "date"),
      (i) => (i.columns[2].type = undefined),
      (i) => (i.columns[2].categories = ["eng", "sales", "ops"]),
      (i) => (i.columns[2].categories = ["eng", "ops", "sale"]),
      (i) => (i.columns[2].categories = ["eng", "ops"]),
      // The validity components of two columns swapped, or a column's own validA and validB.
      (i) => ([i.columns[0].validA, i.columns[1].validA] = [i.columns[1].validA, i.columns[0].validA]),
      (i) => ([i.columns[0].validA, i.columns[0].validB] = [i.columns[0].validB, i.columns[0].validA]),
      (i) => ([i.columns[0].a, i.columns[0].validA] = [i.columns[0].validA, i.columns[0].a]),
    ];
    for (const mutate of variants) {
      const input = base();
      mutate(input);
      assert.notEqual(shareCommitment(input), reference);
    }
  });

  it("is unambiguous across column boundaries (length prefixes)", () => {
    const one = base();
    const other = base();
    // Moving a byte from one column name into the next would collide without length prefixes.
    one.columns[0].name = "ab";
    one.columns[1].name = "c";
    other.columns[0].name = "a";
    other.columns[1].name = "bc";
    assert.notEqual(shareCommitment(one), shareCommitment(other));
    // Likewise between a column's two bounds.
    const lo = base();
    const hi = base();
    lo.columns[0].lo = "1";
    lo.columns[0].hi = "50";
    hi.columns[0].lo = "15";
    hi.columns[0].hi = "0";
    assert.notEqual(shareCommitment(lo), shareCommitment(hi));
    // Likewise between the type and the dictionary, and between categories.
    const joined = base();
    const split = base();
    joined.columns[2].categories = ["engops", "sales"];
    split.columns[2].categories = ["eng", "opssales"];
    assert.notEqual(shareCommitment(joined), shareCommitment(split));
    const typeThenCategory = base();
    const categoryOnly = base();
    typeThenCategory.columns[2].categories = ["eng"];
    categoryOnly.columns[2].type = undefined;
    categoryOnly.columns[2].categories = ["category", "eng"];
    assert.notEqual(shareCommitment(typeThenCategory), shareCommitment(categoryOnly));
  });

  it("is domain-separated as v4 and refuses a column without bounds or without validity shares", () => {
    assert.equal(encodeShare(base()).subarray(4, 18).toString("utf8"), "scmpc-share-v4");
    const input = base();
    delete (input.columns[0] as { lo?: string }).lo;
    assert.throws(() => shareCommitment(input), (err: Error & { code?: string }) => err.code === "ENCODING_INVALID" && /no bounds/.test(err.message));
    const noValidity = base();
    delete (noValidity.columns[1] as { validB?: Uint8Array }).validB;
    assert.throws(
      () => shareCommitment(noValidity),
      (err: Error & { code?: string }) => err.code === "ENCODING_INVALID" && /column "salary" has no validity shares/.test(err.message),
    );
  });

  it("upload digest is keccak256(abi.encode(tag, datasetId, uint8 hostIndex, commitment)) and recovers the signer", async () => {
    const wallet = Wallet.createRandom();
    const datasetId = datasetIdOf(wallet.address, "salaries");
    const commitment = shareCommitment({ ...base(), datasetId });
    const digest = uploadDigest(datasetId, 1, commitment);
    const expected = keccak256(
      AbiCoder.defaultAbiCoder().encode(["string", "bytes32", "uint8", "bytes32"], ["scmpc-upload-v1", datasetId, 1, commitment]),
    );
    assert.equal(digest, expected);
    const signature = await wallet.signMessage(getBytes(digest));
    assert.equal(verifyMessage(getBytes(digest), signature), wallet.address);
    assert.notEqual(uploadDigest(datasetId, 2, commitment), digest);
  });

  it("ring vectors round-trip through little-endian bytes, from unaligned buffers too", () => {
    const values = BigUint64Array.of(1n, (1n << 64n) - 1n, 1n << 63n);
    const bytes = encodeRingVector(values);
    assert.equal(bytes.readBigUInt64LE(8), (1n << 64n) - 1n);
    const unaligned = Buffer.concat([Buffer.alloc(3), bytes]).subarray(3);
    assert.deepEqual(decodeRingVector(unaligned), values);
  });
});
