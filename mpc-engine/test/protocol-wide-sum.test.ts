import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { a2b } from "../src/protocol/a2b.ts";
import { extractBits } from "../src/protocol/bit-extract.ts";
import { runThreeParties, shareArithForTesting } from "../src/protocol/local-harness.ts";
import { openArithToAllForTesting } from "../src/protocol/open.ts";
import { WIDE_OFFSET, wideSums } from "../src/protocol/wide-sum.ts";
import { CHUNK_OFFSET } from "../src/algorithms/sum-plan.ts";

// The widened sum opens (H, L) with H·2^32 + L = Σ (S_j + 2^62) and 0 ≤ L < 2^32:
// the canonical limbs of the exact sum, whatever the chunks were.
const LIMIT = (1n << 62n) - 1n;
const ring = (v: bigint) => BigInt.asUintN(64, v);

async function opened(groups: bigint[][]): Promise<[bigint, bigint][]> {
  const shared = groups.map((g) => shareArithForTesting(BigUint64Array.from(g, ring)));
  const [out] = await runThreeParties(async (party) => {
    const limbs = await wideSums(party, shared.map((s) => s[party.index]));
    return Promise.all(limbs.map((l) => openArithToAllForTesting(party, l)));
  });
  return out.map((v) => [v[0], v[1]]);
}

describe("widened sums (protocol/wide-sum.ts)", () => {
  it("open the canonical limbs of the exact sum, beyond 2^64", async () => {
    const chunk = fc.oneof(fc.bigInt({ min: -LIMIT, max: LIMIT }), fc.constantFrom(LIMIT, -LIMIT, 0n, -1n, 1n));
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(chunk, { minLength: 1, maxLength: 40 }), { minLength: 1, maxLength: 3 }), async (groups) => {
        const limbs = await opened(groups);
        groups.forEach((g, k) => {
          const [h, l] = limbs[k];
          assert.ok(l < 1n << 32n, "the low limb is normalised");
          const total = g.reduce((a, b) => a + b, 0n) + BigInt(g.length) * WIDE_OFFSET;
          assert.equal(h, total >> 32n);
          assert.equal(l, total & 0xffffffffn);
        });
      }),
      { numRuns: 20 },
    );
  });

  it("gives the same limbs for the same total, however it is chunked", async () => {
    // Σ = 2·(2^62 − 1) either way; un-normalised limb sums would differ by the chunks' carries.
    const [[h1, l1], [h2, l2]] = await opened([[LIMIT, LIMIT, 0n], [LIMIT - 5n, LIMIT + 5n - 2n ** 32n, 2n ** 32n]]);
    assert.deepEqual([h1, l1], [h2, l2]);
  });

  it("shares the offset the planner subtracts", () => {
    assert.equal(WIDE_OFFSET, CHUNK_OFFSET);
  });

  it("extracts a bit field as an arithmetic value", async () => {
    const values = BigUint64Array.of(0n, 1n, (1n << 64n) - 1n, 0x123456789abcdef0n);
    const shares = shareArithForTesting(values);
    const [out] = await runThreeParties(async (party) => {
      const bits = await a2b(party, shares[party.index]);
      return Promise.all([
        openArithToAllForTesting(party, await extractBits(party, bits, 32, 32)),
        openArithToAllForTesting(party, await extractBits(party, bits, 4, 8)),
      ]);
    });
    assert.deepEqual([...out[0]], [...values].map((v) => v >> 32n));
    assert.deepEqual([...out[1]], [...values].map((v) => (v >> 4n) & 0xffn));
  });
});
