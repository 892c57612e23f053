import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { isMpcError } from "../src/errors.ts";
import { fixedMultiply } from "../src/protocol/fixed-multiply.ts";
import { createLocalNetwork, runThreeParties, shareArithForTesting } from "../src/protocol/local-harness.ts";
import { truncate } from "../src/protocol/truncate.ts";
import { toRing, toSigned } from "../src/ring.ts";
import { reconstruct } from "../src/sharing.ts";

// floor division on signed bigints
function floorDiv(x: bigint, d: bigint): bigint {
  const q = x / d;
  return x % d !== 0n && x < 0n ? q - 1n : q;
}

const DIVISORS = [2n, 1n << 16n, 1n << 40n, 10n, 100n, 10n ** 6n, 10n ** 9n, 10n ** 12n];
// |x| < 2^44: a failure (probability |x|/2^64 ≤ 2^-20 per element) is not
// expected in these runs; a flaky failure would be that event.
const value = fc.oneof(fc.bigInt({ min: -(1n << 44n), max: 1n << 44n }), fc.constantFrom(0n, 1n, -1n, 9n, -9n, 10n, -10n));

describe("truncation by a public divisor", () => {
  it("is ⌊x/D⌋ or ⌈x/D⌉ (error < 1 ulp) for powers of 2 and 10, positive and negative", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(value, { minLength: 1, maxLength: 80 }), fc.constantFrom(...DIVISORS), async (xs, d) => {
        const X = shareArithForTesting(BigUint64Array.from(xs.map(toRing)));
        const out = reconstruct(await runThreeParties((p) => truncate(p, X[p.index], d)));
        xs.forEach((x, i) => {
          const got = toSigned(out[i]);
          const lo = floorDiv(x, d);
          assert.ok(got === lo || got === lo + 1n, `${x}/${d}: got ${got}, expected ${lo} or ${lo + 1n}`);
          if (x % d === 0n) assert.ok(got === lo || got === lo + 1n);
        });
      }),
      { numRuns: 40 },
    );
  });

  it("the error is spread both ways (it is a randomised rounding, not a bias of −1)", async () => {
    const n = 2000;
    const X = shareArithForTesting(BigUint64Array.from({ length: n }, () => toRing(15n))); // 1.5 at scale 10
    const out = reconstruct(await runThreeParties((p) => truncate(p, X[p.index], 10n)));
    const ones = out.filter((v) => v === 1n).length;
    const twos = out.filter((v) => v === 2n).length;
    assert.equal(ones + twos, n);
    assert.ok(ones > n / 4 && twos > n / 4, `${ones} ones, ${twos} twos`);
  });

  it("one round, one message, sent by party 0 to party 2", async () => {
    const network = createLocalNetwork();
    const X = shareArithForTesting(BigUint64Array.of(1000n, 2000n, 3000n));
    await runThreeParties((p) => truncate(p, X[p.index], 1000n), { network });
    const round = network.messages.filter((m) => m.step === 1);
    assert.deepEqual(round.map((m) => [m.from, m.to, m.bytes]), [[0, 2, 24]]);
  });

  it("rejects a divisor outside [1, 2^63)", async () => {
    const X = shareArithForTesting(BigUint64Array.of(1n));
    await assert.rejects(runThreeParties((p) => truncate(p, X[p.index], 0n)), (e) => isMpcError(e, "INVALID_ARGUMENT"));
  });
});

describe("fixed-point multiplication", () => {
  it("is within 1 ulp of x·y/D at scales 10^2, 10^6 and 2^16", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.bigInt({ min: -(1n << 20n), max: 1n << 20n }), fc.bigInt({ min: -(1n << 20n), max: 1n << 20n })), {
          minLength: 1,
          maxLength: 50,
        }),
        fc.constantFrom(100n, 10n ** 6n, 1n << 16n),
        async (pairs, scale) => {
          const X = shareArithForTesting(BigUint64Array.from(pairs.map(([x]) => toRing(x))));
          const Y = shareArithForTesting(BigUint64Array.from(pairs.map(([, y]) => toRing(y))));
          const out = reconstruct(await runThreeParties((p) => fixedMultiply(p, X[p.index], Y[p.index], scale)));
          pairs.forEach(([x, y], i) => {
            const lo = floorDiv(x * y, scale);
            const got = toSigned(out[i]);
            assert.ok(got === lo || got === lo + 1n, `${x}·${y}/${scale}: got ${got}`);
          });
        },
      ),
      { numRuns: 30 },
    );
  });

  it("computes 1.50 × −2.25 = −3.375 → −3.38 or −3.37 at scale 100", async () => {
    const X = shareArithForTesting(BigUint64Array.of(150n));
    const Y = shareArithForTesting(BigUint64Array.of(toRing(-225n)));
    const [got] = Array.from(reconstruct(await runThreeParties((p) => fixedMultiply(p, X[p.index], Y[p.index], 100n))), toSigned);
    assert.ok(got === -338n || got === -337n);
  });
});
