import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomFillSync } from "node:crypto";
import { bigintKernels } from "../src/kernels/index.ts";
import { B2A_ROUNDS, b2a, b2aBytesSentPerElement } from "../src/protocol/b2a.ts";
import { addShares, andPublic, mulPublic, shiftRight, subShares } from "../src/protocol/linear.ts";
import { createLocalNetwork, runThreeParties, shareBoolForTesting, type LocalNetwork } from "../src/protocol/local-harness.ts";
import { multiply } from "../src/protocol/multiply.ts";
import type { Party, PartyIndex } from "../src/protocol/party.ts";
import { reshareArith } from "../src/protocol/reshare.ts";
import type { ArithShare, BoolShare } from "../src/protocol/shares.ts";
import { assertBalanced, recordingNetwork } from "./support/masking.ts";

const SEED_BYTES = 32;
const PARTIES: PartyIndex[] = [0, 1, 2];

/** The b2a this module replaced (reshare t, then one multiplication: 2 rounds, 48 bytes per element), kept as the reference. */
async function b2aReference(party: Party, bits: BoolShare, bitIndex = 0): Promise<ArithShare> {
  const bit = andPublic(party, bitIndex === 0 ? bits : shiftRight(party, bits, bitIndex), 1n);
  const n = bit.a.length;
  const k = party.kernels;
  const zero = new BigUint64Array(n);
  const t = await reshareArith(party, party.index === 0 ? k.xor(bit.a, bit.b) : zero);
  const b2: ArithShare =
    party.index === 0 ? { a: zero, b: zero } : party.index === 1 ? { a: zero, b: bit.b } : { a: bit.a, b: zero };
  const product = await multiply(party, t, b2);
  return subShares(party, addShares(party, t, b2), mulPublic(party, product, 2n));
}

/** Sums the components, checking each is held identically by its two parties. */
function reconstructArith(shares: readonly ArithShare[]): BigUint64Array {
  const [s0, s1, s2] = shares;
  const n = s0.a.length;
  const out = new BigUint64Array(n);
  for (let i = 0; i < n; i++) {
    assert.equal(s0.b[i], s1.a[i], `component 1 disagrees at row ${i}`);
    assert.equal(s1.b[i], s2.a[i], `component 2 disagrees at row ${i}`);
    assert.equal(s2.b[i], s0.a[i], `component 0 disagrees at row ${i}`);
    out[i] = s0.a[i] + s1.a[i] + s2.a[i];
  }
  return out;
}

function randomWords(n: number): BigUint64Array {
  const v = new BigUint64Array(n);
  randomFillSync(v);
  return v;
}

/** Boolean shares with chosen components b0, b1, b2 (party i holds (b_i, b_{i+1})). */
function boolWith(c0: BigUint64Array, c1: BigUint64Array, c2: BigUint64Array): [BoolShare, BoolShare, BoolShare] {
  return [
    { a: c0, b: c1 },
    { a: c1, b: c2 },
    { a: c2, b: c0 },
  ];
}

const bitsOf = (v: BigUint64Array, bitIndex = 0): BigUint64Array => v.map((w) => (w >> BigInt(bitIndex)) & 1n);

describe("b2a (one-round helper product)", () => {
  it("is exact on all 8 combinations of (b0, b1, b2), with noise in the other bits, both kernel sets", async () => {
    // Each element is one combination; the words carry random high bits, which b2a must ignore.
    const reps = 16;
    const n = 8 * reps;
    const c = [randomWords(n), randomWords(n), randomWords(n)];
    for (let i = 0; i < n; i++) {
      const combo = i % 8;
      for (let j = 0; j < 3; j++) c[j][i] = (c[j][i] & ~1n) | BigInt((combo >> j) & 1);
    }
    const expected = BigUint64Array.from({ length: n }, (_, i) => BigInt(((i % 8) ^ ((i % 8) >> 1) ^ ((i % 8) >> 2)) & 1));
    for (const kernels of [undefined, bigintKernels]) {
      const shares = boolWith(c[0], c[1], c[2]);
      const out = await runThreeParties((p) => b2a(p, shares[p.index]), { kernels });
      assert.deepEqual(reconstructArith(out), expected);
    }
  });

  it("converts random vectors of lengths 0, 1, 63, 64, 1000 at bit indices 0, 1, 31, 63", async () => {
    for (const n of [0, 1, 63, 64, 1000]) {
      for (const bitIndex of [0, 1, 31, 63]) {
        const v = randomWords(n);
        const shares = shareBoolForTesting(v);
        const out = await runThreeParties((p) => b2a(p, shares[p.index], bitIndex));
        assert.deepEqual(reconstructArith(out), bitsOf(v, bitIndex), `n = ${n}, bit ${bitIndex}`);
      }
    }
  });

  it("opens to the same values as the old reshare-then-multiply path", async () => {
    for (const n of [1, 63, 64, 1000]) {
      const v = randomWords(n);
      const shares = shareBoolForTesting(v);
      const [fresh, old] = await Promise.all([
        runThreeParties((p) => b2a(p, shares[p.index], 5)),
        runThreeParties((p) => b2aReference(p, shares[p.index], 5)),
      ]);
      assert.deepEqual(reconstructArith(fresh), reconstructArith(old));
      assert.deepEqual(reconstructArith(old), bitsOf(v, 5));
    }
  });

  it("sends nothing for an empty vector", async () => {
    const network = createLocalNetwork();
    const shares = shareBoolForTesting(new BigUint64Array(0));
    const out = await runThreeParties((p) => b2a(p, shares[p.index]), { network });
    assert.deepEqual(reconstructArith(out), new BigUint64Array(0));
    assert.equal(network.messages.length, 3); // the seed round only
  });

  it("takes one round: four messages (0→1, 0→2, 1→2, 2→1), 16 bytes per element from party 0 and 8 from each other", async () => {
    for (const n of [1, 64, 1000]) {
      const network = createLocalNetwork();
      const v = randomWords(n);
      const shares = shareBoolForTesting(v);
      const out = await runThreeParties((p) => b2a(p, shares[p.index]), { network });
      assert.deepEqual(reconstructArith(out), bitsOf(v));
      const protocol = network.messages.filter((m) => m.step > 0);
      assert.equal(new Set(protocol.map((m) => m.step)).size, B2A_ROUNDS);
      assert.deepEqual(
        protocol.map((m) => `${m.from}>${m.to}:${m.bytes}`).sort(),
        [`0>1:${8 * n}`, `0>2:${8 * n}`, `1>2:${8 * n}`, `2>1:${8 * n}`],
      );
      const sent = PARTIES.map((i) => network.bytesSentBy(i) - SEED_BYTES);
      assert.deepEqual(sent, [16 * n, 8 * n, 8 * n]);
      assert.deepEqual(sent, PARTIES.map((i) => b2aBytesSentPerElement(i) * n));
    }
  });

  it("against the old path: 1 round instead of 2, 32 bytes per element instead of 48", async () => {
    const n = 100;
    const counts = async (fn: (p: Party, s: BoolShare) => Promise<ArithShare>) => {
      const network = createLocalNetwork();
      const shares = shareBoolForTesting(randomWords(n));
      await runThreeParties((p) => fn(p, shares[p.index]), { network });
      const protocol = network.messages.filter((m) => m.step > 0);
      return { rounds: new Set(protocol.map((m) => m.step)).size, bytes: protocol.reduce((s, m) => s + m.bytes, 0) };
    };
    assert.deepEqual(await counts((p, s) => b2aReference(p, s)), { rounds: 2, bytes: 48 * n });
    assert.deepEqual(await counts((p, s) => b2a(p, s)), { rounds: 1, bytes: 32 * n });
  });

  it("masks every message: with all shares zero, each payload is about half ones", async () => {
    const n = 4096;
    const zero = new BigUint64Array(n);
    const shares = boolWith(zero, zero, zero);
    const { network, payloads } = recordingNetwork();
    const out = await runThreeParties((p) => b2a(p, shares[p.index]), { network });
    assert.deepEqual(reconstructArith(out), new BigUint64Array(n));
    assert.equal(payloads.length, 4);
    assertBalanced(payloads);
  });

  it("gives fresh output components: the same input converted twice shares differently", async () => {
    const v = randomWords(64);
    const shares = shareBoolForTesting(v);
    const [x, y] = await Promise.all([
      runThreeParties((p) => b2a(p, shares[p.index])),
      runThreeParties((p) => b2a(p, shares[p.index])),
    ]);
    assert.deepEqual(reconstructArith(x), reconstructArith(y));
    assert.notDeepEqual(x[0].a, y[0].a);
    assert.notDeepEqual(x[0].b, y[0].b);
  });
});
