import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomFillSync } from "node:crypto";
import fc from "fast-check";
import { bigintKernels } from "../src/kernels/index.ts";
import { unpackBits, unpackShare, wordsFor } from "../src/plan/bits.ts";
import { a2b } from "../src/protocol/a2b.ts";
import { shiftRight } from "../src/protocol/linear.ts";
import {
  createLocalNetwork,
  reconstructBoolForTesting,
  runThreeParties,
  shareArithForTesting,
  type LocalNetwork,
} from "../src/protocol/local-harness.ts";
import { lessThanPacked, MSB_ROUNDS, msbBit, msbBitsSentPerElement, msbPacked } from "../src/protocol/msb.ts";
import type { Party, PartyIndex } from "../src/protocol/party.ts";
import type { ArithShare } from "../src/protocol/shares.ts";
import { assertBalanced, recordingNetwork } from "./support/masking.ts";
import { toRing } from "../src/ring.ts";

const M64 = (1n << 64n) - 1n;
const TOP = 1n << 63n;
const SEED_BYTES = 32;
const EDGE = [0n, 1n, 2n, TOP - 1n, TOP, TOP + 1n, M64, M64 - 1n, 1n << 32n, (1n << 32n) - 1n, 1n << 62n, 3n << 62n];

const signOf = (v: bigint): bigint => (BigInt.asIntN(64, v) < 0n ? 1n : 0n);

function randomWords(n: number): BigUint64Array {
  const v = new BigUint64Array(n);
  randomFillSync(v);
  return v;
}

/** Shares with chosen components x0, x1 (x2 = d − x0 − x1), to force every way L = x0 + x1 and L + x2 can wrap. */
function shareWith(d: bigint[], x0: bigint[], x1: bigint[]): [ArithShare, ArithShare, ArithShare] {
  const c0 = BigUint64Array.from(x0);
  const c1 = BigUint64Array.from(x1);
  const c2 = BigUint64Array.from(d.map((v, i) => BigInt.asUintN(64, v - x0[i] - x1[i])));
  return [
    { a: c0, b: c1 },
    { a: c1, b: c2 },
    { a: c2, b: c0 },
  ];
}

async function signs(shares: [ArithShare, ArithShare, ArithShare], n: number, network?: LocalNetwork): Promise<BigUint64Array> {
  const out = await runThreeParties((p) => msbPacked(p, shares[p.index]), { network });
  return unpackBits(reconstructBoolForTesting(out), n);
}

describe("sign bit by the L + R split (msbPacked)", () => {
  it("matches BigInt.asIntN(64, d) < 0 on random values", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.bigInt({ min: 0n, max: M64 }), { minLength: 1, maxLength: 150 }), async (xs) => {
        const d = BigUint64Array.from(xs);
        assert.deepEqual(await signs(shareArithForTesting(d), d.length), BigUint64Array.from(xs.map(signOf)));
      }),
      { numRuns: 25 },
    );
  });

  it("is exact on edge values under every overflow pattern of the shares", async () => {
    // For each edge d, components chosen so that x0 + x1 wraps or not and
    // L + x2 wraps or not, incl. all-ones and top-bit components.
    const comps = [0n, 1n, TOP - 1n, TOP, M64, M64 - 1n, 0x5555555555555555n, 0xaaaaaaaaaaaaaaaan];
    const d: bigint[] = [];
    const x0: bigint[] = [];
    const x1: bigint[] = [];
    for (const v of EDGE) {
      for (const a of comps) {
        for (const b of comps) {
          d.push(v);
          x0.push(a);
          x1.push(b);
        }
      }
    }
    const got = await signs(shareWith(d, x0, x1), d.length);
    assert.deepEqual(got, BigUint64Array.from(d.map(signOf)));
    assert.ok(d.length > 64 * 10);
  });

  for (const n of [1, 63, 64, 65, 1000]) {
    it(`handles ${n} elements (packed words, tail bits cleared)`, async () => {
      const d = randomWords(n);
      d.set(BigUint64Array.from(EDGE.slice(0, Math.min(n, EDGE.length))));
      const shares = shareArithForTesting(d);
      const out = await runThreeParties((p) => msbPacked(p, shares[p.index]));
      const packed = reconstructBoolForTesting(out);
      assert.equal(packed.length, wordsFor(n));
      assert.deepEqual(unpackBits(packed, n), BigUint64Array.from(d, signOf));
      const spare = packed.length * 64 - n;
      if (spare > 0) assert.equal(packed[packed.length - 1] >> BigInt(64 - spare), 0n);
    });
  }

  it("takes no round for zero elements", async () => {
    const network = createLocalNetwork();
    const shares = shareArithForTesting(new BigUint64Array(0));
    const out = await runThreeParties((p) => msbPacked(p, shares[p.index]), { network });
    assert.equal(reconstructBoolForTesting(out).length, 0);
    assert.equal(network.messages.length, 3); // the seed round only
  });

  for (const n of [64, 1000]) {
    it(`uses ${MSB_ROUNDS} rounds and 245/181/181 bits per element per party (${n} elements)`, async () => {
      const network = createLocalNetwork();
      const d = randomWords(n);
      assert.deepEqual(await signs(shareArithForTesting(d), n, network), BigUint64Array.from(d, signOf));
      const rounds = network.messages.filter((m) => m.step > 0);
      const steps = [...new Set(rounds.map((m) => m.step))].sort((a, b) => a - b);
      assert.equal(steps.length, 7);
      const pairsOf = (step: number) =>
        rounds
          .filter((m) => m.step === step)
          .map((m) => [m.from, m.to])
          .sort();
      assert.deepEqual(pairsOf(steps[0]), [[0, 1], [0, 2], [1, 2], [2, 1]]);
      for (const step of steps.slice(1)) assert.deepEqual(pairsOf(step), [[0, 2], [1, 0], [2, 1]]);
      const words = wordsFor(n);
      const sent = ([0, 1, 2] as PartyIndex[]).map((i) => network.bytesSentBy(i) - SEED_BYTES);
      assert.deepEqual(sent, [245 * 8 * words, 181 * 8 * words, 181 * 8 * words]);
      assert.deepEqual(sent, ([0, 1, 2] as const).map((i) => msbBitsSentPerElement(i) * 8 * words));
      // Per 64 elements: 607 bits in all ≈ 75.9 bytes per comparison.
      assert.ok(sent.reduce((s, b) => s + b, 0) / (64 * words) <= 76);
    });
  }

  it("every message is masked: all-zero shares still give balanced payloads", async () => {
    // d = 0 with x0 = x1 = x2 = 0, so L = R = 0: an unmasked message would be all zero.
    const n = 4096;
    const zero = new BigUint64Array(n);
    const shares: [ArithShare, ArithShare, ArithShare] = [
      { a: zero, b: zero },
      { a: zero, b: zero },
      { a: zero, b: zero },
    ];
    const { network, payloads } = recordingNetwork();
    const out = await runThreeParties((p) => msbPacked(p, shares[p.index]), { network });
    assert.deepEqual(unpackBits(reconstructBoolForTesting(out), n), new BigUint64Array(n));
    assert.equal(payloads.length, 4 + 3 * 6);
    assertBalanced(payloads);
  });

  it("equals the sign bit of the full adder (a2b) bit for bit (both kernel sets)", async () => {
    // The adder path compare.ts used before: a2b, then bit 63.
    const adderSign = async (p: Party, x: ArithShare) => shiftRight(p, await a2b(p, x), 63);
    const n = 300;
    const d = randomWords(n);
    d.set(BigUint64Array.from(EDGE));
    const X = shareArithForTesting(d);
    const ys = randomWords(n).map((v) => v >> 2n); // x, y ∈ [−2^62, 2^62): the lessThanBit range
    const xs = randomWords(n).map((v) => v >> 2n);
    const toSigned = (v: bigint) => toRing(BigInt.asIntN(62, v));
    const XL = shareArithForTesting(xs.map(toSigned));
    const YL = shareArithForTesting(ys.map(toSigned));
    for (const kernels of [undefined, bigintKernels]) {
      const [ours, theirs, oursLt, theirsLt] = await Promise.all([
        runThreeParties((p) => msbBit(p, X[p.index]), { kernels }),
        runThreeParties((p) => adderSign(p, X[p.index]), { kernels }),
        runThreeParties(async (p) => unpackShare(await lessThanPacked(p, XL[p.index], YL[p.index]), n), { kernels }),
        runThreeParties((p) => adderSign(p, { a: p.kernels.sub(XL[p.index].a, YL[p.index].a), b: p.kernels.sub(XL[p.index].b, YL[p.index].b) }), { kernels }),
      ]);
      assert.deepEqual(reconstructBoolForTesting(ours), reconstructBoolForTesting(theirs));
      assert.deepEqual(reconstructBoolForTesting(ours), BigUint64Array.from(d, signOf));
      assert.deepEqual(reconstructBoolForTesting(oursLt), reconstructBoolForTesting(theirsLt));
      const expectedLt = BigUint64Array.from({ length: n }, (_, i) => (BigInt.asIntN(62, xs[i]) < BigInt.asIntN(62, ys[i]) ? 1n : 0n));
      assert.deepEqual(reconstructBoolForTesting(oursLt), expectedLt);
    }
  });
});
