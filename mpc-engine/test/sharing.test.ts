import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { reconstruct, shareColumn, toRing, toSigned, ringSum, isMpcError } from "../src/index.ts";

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

describe("replicated sharing over Z_2^64", () => {
  it("reconstructs random signed columns, including the extremes", () => {
    fc.assert(
      fc.property(fc.array(fc.bigInt({ min: INT64_MIN, max: INT64_MAX }), { maxLength: 50 }), (signed) => {
        const values = BigUint64Array.from(signed.map(toRing));
        const shares = shareColumn(values);
        const back = reconstruct(shares);
        assert.deepEqual(Array.from(back, toSigned), signed);
      }),
    );
  });

  it("handles 0, -1, 2^63-1, -2^63 and 2^64-1", () => {
    const specials = [0n, -1n, INT64_MAX, INT64_MIN, 1n];
    const values = BigUint64Array.from(specials.map(toRing));
    assert.deepEqual(Array.from(reconstruct(shareColumn(values)), toSigned), specials);
  });

  it("replicates components: host i's b is host i+1's a", () => {
    const [s0, s1, s2] = shareColumn(BigUint64Array.of(7n, 8n));
    assert.deepEqual(s0.b, s1.a);
    assert.deepEqual(s1.b, s2.a);
    assert.deepEqual(s2.b, s0.a);
  });

  it("wraps around: the share sum of a column adds up mod 2^64", () => {
    const values = BigUint64Array.of((1n << 64n) - 1n, 2n, 1n << 63n, 1n << 63n);
    const [s0, s1, s2] = shareColumn(values);
    const total = toRing(ringSum(s0.a) + ringSum(s1.a) + ringSum(s2.a));
    assert.equal(total, 1n);
    assert.equal(ringSum(values), 1n);
  });

  it("uses the injected randomness for x0 and x1 (x2 is determined)", () => {
    const zero = (bytes: Uint8Array): void => void bytes.fill(0);
    const [s0, s1, s2] = shareColumn(BigUint64Array.of(42n), zero);
    assert.equal(s0.a[0], 0n);
    assert.equal(s1.a[0], 0n);
    assert.equal(s2.a[0], 42n);
  });

  it("a single share looks random: x0 differs between two sharings of one value", () => {
    const values = new BigUint64Array(64).fill(5n);
    assert.notDeepEqual(shareColumn(values)[0].a, shareColumn(values)[0].a);
  });

  it("detects inconsistent shares and names the hosts", () => {
    const shares = shareColumn(BigUint64Array.of(1n, 2n, 3n)).map((s) => ({ a: s.a.slice(), b: s.b.slice() }));
    shares[2].a[1] ^= 1n;
    assert.throws(
      () => reconstruct(shares),
      (err: unknown) => isMpcError(err, "SHARES_INCONSISTENT") && /hosts 1 and 2/.test(err.message),
    );
  });

  it("shares a million rows quickly", () => {
    const values = new BigUint64Array(1_000_000);
    for (let i = 0; i < values.length; i++) values[i] = BigInt(i);
    const started = performance.now();
    const shares = shareColumn(values);
    const elapsed = performance.now() - started;
    assert.equal(reconstruct(shares)[999_999], 999_999n);
    assert.ok(elapsed < 2000, `sharing took ${elapsed} ms`);
  });
});
