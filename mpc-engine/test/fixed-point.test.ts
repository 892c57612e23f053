import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { decodeFixedPoint, encodeFixedPoint, isMpcError, toRing } from "../src/index.ts";

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

describe("fixed point", () => {
  it("encodes examples exactly", () => {
    assert.equal(encodeFixedPoint("1.5", 2), 150n);
    assert.equal(encodeFixedPoint("-1.25", 2), toRing(-125n));
    assert.equal(encodeFixedPoint("42", 0), 42n);
    assert.equal(encodeFixedPoint("+0.10", 1), 1n);
    assert.equal(encodeFixedPoint(".5", 1), 5n);
    assert.equal(encodeFixedPoint("-0", 3), 0n);
    assert.equal(encodeFixedPoint("9223372036854775807", 0), INT64_MAX);
    assert.equal(encodeFixedPoint("-9223372036854775808", 0), toRing(INT64_MIN));
  });

  it("decodes as signed with exactly `scale` digits", () => {
    assert.equal(decodeFixedPoint(toRing(-125n), 2), "-1.25");
    assert.equal(decodeFixedPoint(5n, 3), "0.005");
    assert.equal(decodeFixedPoint(toRing(-5n), 3), "-0.005");
    assert.equal(decodeFixedPoint(toRing(INT64_MIN), 0), "-9223372036854775808");
    assert.equal(decodeFixedPoint(0n, 2), "0.00");
  });

  it("round-trips every signed 64-bit value at every scale", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: INT64_MIN, max: INT64_MAX }), fc.integer({ min: 0, max: 18 }), (v, scale) => {
        const x = toRing(v);
        assert.equal(encodeFixedPoint(decodeFixedPoint(x, scale), scale), x);
      }),
    );
  });

  it("rejects malformed text", () => {
    for (const text of ["", "abc", "1.2.3", "1e5", " 1", "1 ", "--1", "0x10", ".", "-", "1,5", "NaN"]) {
      assert.throws(() => encodeFixedPoint(text, 2), (err: unknown) => isMpcError(err, "FIXED_POINT_MALFORMED"), text);
    }
  });

  it("rejects inexact and out-of-range values", () => {
    assert.throws(() => encodeFixedPoint("1.234", 2), (err: unknown) => isMpcError(err, "FIXED_POINT_PRECISION"));
    assert.equal(encodeFixedPoint("1.2300", 2), 123n);
    assert.throws(() => encodeFixedPoint("9223372036854775808", 0), (err: unknown) => isMpcError(err, "FIXED_POINT_OUT_OF_RANGE"));
    assert.throws(() => encodeFixedPoint("-9223372036854775809", 0), (err: unknown) => isMpcError(err, "FIXED_POINT_OUT_OF_RANGE"));
    assert.throws(() => encodeFixedPoint("92233720368547758.08", 2), (err: unknown) => isMpcError(err, "FIXED_POINT_OUT_OF_RANGE"));
    assert.throws(() => encodeFixedPoint("1", 19), (err: unknown) => isMpcError(err, "FIXED_POINT_SCALE_INVALID"));
    assert.throws(() => encodeFixedPoint("1", -1), (err: unknown) => isMpcError(err, "FIXED_POINT_SCALE_INVALID"));
  });
});
