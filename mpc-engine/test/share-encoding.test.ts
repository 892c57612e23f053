import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { AbiCoder, getBytes, keccak256, Wallet, verifyMessage } from "ethers";
import {
  datasetIdOf,
  decodeRingVector,
  encodeRingVector,
  encodeShare,
  shareCommitment,
  uploadDigest,
  type ShareCommitmentInput,
} from "../src/index.ts";

const base = (): ShareCommitmentInput => ({
  datasetId: "0x" + "ab".repeat(32),
  hostIndex: 1,
  rowCount: 2n,
  columns: [
    { name: "age", scale: 0, lo: "0", hi: "150", a: Buffer.from("0102030405060708090a0b0c0d0e0f10", "hex"), b: Buffer.alloc(16, 7) },
    { name: "salary", scale: 2, lo: "0.00", hi: "200000.00", a: Buffer.alloc(16, 1), b: Buffer.alloc(16, 2) },
  ],
});

describe("share encoding and commitments", () => {
  it("is deterministic", () => {
    assert.equal(shareCommitment(base()), shareCommitment(base()));
  });

  it("changes when any single byte of any component changes", () => {
    const reference = shareCommitment(base());
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1 }), fc.constantFrom("a" as const, "b" as const), fc.integer({ min: 0, max: 15 }), (col, part, byte) => {
        const input = base();
        input.columns[col][part][byte] ^= 0x01;
        assert.notEqual(shareCommitment(input), reference);
      }),
    );
  });

  it("binds datasetId, hostIndex, rowCount, names, scales and bounds", () => {
    const reference = shareCommitment(base());
    const variants: Array<(i: ShareCommitmentInput) => void> = [
      (i) => (i.datasetId = "0x" + "ac".repeat(32)),
      (i) => (i.hostIndex = 2),
      (i) => (i.rowCount = 3n),
      (i) => (i.columns[0].name = "agf"),
      (i) => (i.columns[1].scale = 3),
      (i) => (i.columns[0].lo = "1"),
      (i) => (i.columns[1].hi = "200000.01"),
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
  });

  it("is domain-separated as v2 and refuses a column without bounds", () => {
    assert.equal(encodeShare(base()).subarray(4, 18).toString("utf8"), "scmpc-share-v2");
    const input = base();
    delete (input.columns[0] as { lo?: string }).lo;
    assert.throws(() => shareCommitment(input), (err: Error & { code?: string }) => err.code === "ENCODING_INVALID" && /no bounds/.test(err.message));
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
