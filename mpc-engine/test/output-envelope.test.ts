import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  encryptOutputShare,
  generateBuyerKeyPair,
  isMpcError,
  openResult,
  packResult,
  shareColumn,
  unpackResult,
  type OutputSharePair,
} from "../src/index.ts";

const requestId = "0x" + "5a".repeat(32);

/** Output shares (a, b) per host of the given values. */
function outputShares(values: bigint[]): OutputSharePair[][] {
  const shares = shareColumn(BigUint64Array.from(values));
  return [0, 1, 2].map((host) => values.map((_, k) => [shares[host].a[k], shares[host].b[k]] as const));
}

function seal(publicKey: Buffer, perHost: OutputSharePair[][]): Buffer[] {
  return perHost.map((values, hostIndex) => encryptOutputShare({ requestId, hostIndex, buyerPublicKey: publicKey, values }));
}

describe("output envelope", () => {
  const buyer = generateBuyerKeyPair();

  it("round-trips random values through pack, unpack and open", () => {
    fc.assert(
      fc.property(fc.array(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), { minLength: 1, maxLength: 5 }), (values) => {
        const result = packResult(seal(buyer.publicKey, outputShares(values)));
        assert.match(result, /^0x[0-9a-f]+$/);
        assert.deepEqual(openResult({ requestId, buyerPrivateKey: buyer.privateKey, result }), values);
      }),
      { numRuns: 25 },
    );
  });

  it("has the documented layout", () => {
    const envelope = encryptOutputShare({ requestId, hostIndex: 2, buyerPublicKey: buyer.publicKey, values: [[1n, 2n]] });
    assert.equal(envelope[0], 1);
    assert.equal(envelope[1], 2);
    assert.equal(envelope.length, 1 + 1 + 32 + 12 + 16 + 16);
    const [, , e2] = unpackResult(packResult(seal(buyer.publicKey, outputShares([9n]))));
    assert.equal(e2[1], 2);
  });

  it("detects a tampered component and names the inconsistent host pair", () => {
    const perHost = outputShares([100n, 200n]);
    // Host 1 lies about its first component (x_1) of value 1.
    perHost[1][1] = [perHost[1][1][0] + 1n, perHost[1][1][1]];
    const result = packResult(seal(buyer.publicKey, perHost));
    assert.throws(
      () => openResult({ requestId, buyerPrivateKey: buyer.privateKey, result }),
      (err: unknown) =>
        isMpcError(err, "OUTPUT_TAMPERED") && /hosts 0 and 1/.test(err.message) && JSON.stringify(err.details.pairs) === "[[0,1]]",
    );
  });

  it("names the suspect host when it lies on both components", () => {
    const perHost = outputShares([5n]);
    perHost[2][0] = [perHost[2][0][0] + 1n, perHost[2][0][1] + 1n];
    const result = packResult(seal(buyer.publicKey, perHost));
    assert.throws(
      () => openResult({ requestId, buyerPrivateKey: buyer.privateKey, result }),
      (err: unknown) => isMpcError(err, "OUTPUT_TAMPERED") && err.details.suspectHost === 2,
    );
  });

  it("fails to open with a wrong key, naming the host", () => {
    const other = generateBuyerKeyPair();
    const result = packResult(seal(buyer.publicKey, outputShares([1n])));
    assert.throws(
      () => openResult({ requestId, buyerPrivateKey: other.privateKey, result }),
      (err: unknown) => isMpcError(err, "ENVELOPE_DECRYPT_FAILED") && err.details.host === 0,
    );
  });

  it("fails to open for another request id or a flipped ciphertext bit, naming the host", () => {
    const envelopes = seal(buyer.publicKey, outputShares([1n]));
    assert.throws(
      () => openResult({ requestId: "0x" + "5b".repeat(32), buyerPrivateKey: buyer.privateKey, result: envelopes }),
      (err: unknown) => isMpcError(err, "ENVELOPE_DECRYPT_FAILED"),
    );
    envelopes[1][envelopes[1].length - 1] ^= 1;
    assert.throws(
      () => openResult({ requestId, buyerPrivateKey: buyer.privateKey, result: envelopes }),
      (err: unknown) => isMpcError(err, "ENVELOPE_DECRYPT_FAILED") && err.details.host === 1 && /host 1/.test(err.message),
    );
  });

  it("refuses envelopes in the wrong order", () => {
    const [e0, e1, e2] = seal(buyer.publicKey, outputShares([1n]));
    assert.throws(
      () => openResult({ requestId, buyerPrivateKey: buyer.privateKey, result: packResult([e1, e0, e2]) }),
      (err: unknown) => isMpcError(err, "ENVELOPE_MALFORMED") && err.details.host === 0,
    );
  });
});
