import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomFillSync } from "node:crypto";
import fc from "fast-check";
import { ringSum } from "../src/ring.ts";

/** The definition: BigInt additions reduced mod 2^64. */
function reference(values: BigUint64Array): bigint {
  let acc = 0n;
  for (const v of values) acc = BigInt.asUintN(64, acc + v);
  return acc;
}

describe("ringSum", () => {
  it("equals the sum mod 2^64 of any vector, at any offset of its buffer", () => {
    fc.assert(
      fc.property(fc.bigUint64Array({ maxLength: 300 }), fc.nat(5), (values, skip) => {
        const view = values.subarray(Math.min(skip, values.length));
        assert.equal(ringSum(view), reference(view));
      }),
    );
  });

  it("stays exact past a block of 2^20 elements, with every half at its largest", () => {
    const max = new BigUint64Array((1 << 20) * 2 + 3).fill(2n ** 64n - 1n);
    assert.equal(ringSum(max), BigInt.asUintN(64, -BigInt(max.length)));
    for (const n of [(1 << 20) - 1, 1 << 20, (1 << 20) + 1]) assert.equal(ringSum(max.subarray(0, n)), BigInt.asUintN(64, -BigInt(n)));
    const random = new BigUint64Array((1 << 20) + 17);
    randomFillSync(random);
    assert.equal(ringSum(random), reference(random));
    assert.equal(ringSum(new BigUint64Array(0)), 0n);
  });
});
