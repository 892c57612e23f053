import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createCipheriv } from "node:crypto";
import { isMpcError } from "../src/errors.ts";
import { createLocalNetwork, runThreeParties } from "../src/protocol/local-harness.ts";
import { PRF_TAG } from "../src/protocol/party.ts";
import { fillPrfRange, prfPieces } from "../src/protocol/prf-stream.ts";
import { reshareArith } from "../src/protocol/reshare.ts";
import { truncationMask, zeroShareArith, zeroShareXor } from "../src/protocol/zero-sharing.ts";
import { openArithToAllForTesting } from "../src/protocol/open.ts";

describe("party set-up and correlated randomness", () => {
  it("arithmetic zero shares sum to zero and are not themselves zero", async () => {
    const n = 1000;
    const alphas = await runThreeParties(async (p) => zeroShareArith(p, p.nextStep(), n));
    let nonZero = 0;
    for (let i = 0; i < n; i++) {
      assert.equal(BigInt.asUintN(64, alphas[0][i] + alphas[1][i] + alphas[2][i]), 0n);
      if (alphas[0][i] !== 0n) nonZero++;
    }
    assert.ok(nonZero > n - 2);
  });

  it("XOR zero shares XOR to zero", async () => {
    const alphas = await runThreeParties(async (p) => zeroShareXor(p, p.nextStep(), 257));
    for (let i = 0; i < 257; i++) assert.equal(alphas[0][i] ^ alphas[1][i] ^ alphas[2][i], 0n);
    assert.notDeepEqual(alphas[0], new BigUint64Array(257));
  });

  it("pairs share streams, different steps and tags give different streams", async () => {
    const out = await runThreeParties(async (p) => ({
      next: p.prf.withNext(5, PRF_TAG.ZERO_ARITH, 4),
      prev: p.prf.withPrev(5, PRF_TAG.ZERO_ARITH, 4),
      otherStep: p.prf.withNext(6, PRF_TAG.ZERO_ARITH, 4),
      otherTag: p.prf.withNext(5, PRF_TAG.ZERO_XOR, 4),
      longer: p.prf.withNext(5, PRF_TAG.ZERO_ARITH, 8),
    }));
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(out[i].next, out[(i + 1) % 3].prev);
      assert.notDeepEqual(out[i].next, out[i].prev);
      assert.notDeepEqual(out[i].next, out[i].otherStep);
      assert.notDeepEqual(out[i].next, out[i].otherTag);
      assert.deepEqual(out[i].longer.subarray(0, 4), out[i].next); // a prefix: one keystream per (step, tag)
    }
  });

  it("the truncation mask is shared by parties 0 and 1 only", async () => {
    const masks = await runThreeParties(async (p) => (p.index === 2 ? undefined : truncationMask(p, 9, 16)));
    assert.deepEqual(masks[0], masks[1]);
    assert.equal(masks[2], undefined);
  });

  it("a fixed seed gives reproducible PRF streams; fresh seeds differ", async () => {
    const seeds = [new Uint8Array(32).fill(1), new Uint8Array(32).fill(2), new Uint8Array(32).fill(3)] as const;
    const a = await runThreeParties(async (p) => p.prf.withNext(1, 1, 2), { seeds });
    const b = await runThreeParties(async (p) => p.prf.withNext(1, 1, 2), { seeds });
    const c = await runThreeParties(async (p) => p.prf.withNext(1, 1, 2));
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, c);
  });

  it("a draw is AES-256-CTR under the pair's seed from the block (step, tag, 0), byte for byte however long", async () => {
    const seeds = [new Uint8Array(32).fill(7), new Uint8Array(32).fill(8), new Uint8Array(32).fill(9)] as const;
    // Lengths around the keystream's 32 KiB (4096-word) chunks.
    const lengths = [1, 4095, 4096, 4097, 3 * 4096 + 5, 100_000];
    const draws = await runThreeParties(async (p) => lengths.map((n) => p.prf.withNext(12, PRF_TAG.NOISE, n)), { seeds });
    for (const [k, n] of lengths.entries()) {
      const iv = Buffer.alloc(16);
      iv.writeBigUInt64BE(12n, 0);
      iv.writeUInt32BE(PRF_TAG.NOISE, 8);
      const expected = createCipheriv("aes-256-ctr", seeds[0], iv).update(Buffer.alloc(n * 8));
      const got = draws[0][k];
      assert.equal(got.length, n);
      assert.ok(Buffer.from(got.buffer, got.byteOffset, got.byteLength).equals(expected), `${n} words`);
    }
  });

  it("a draw read in pieces is the same two streams, in pieces of at most 32 Ki words covering the draw in order", async () => {
    const n = 3 * 32_768 + 1001;
    const [read] = await runThreeParties(async (p) => {
      const next = p.prf.withNext(9, PRF_TAG.ZERO_ARITH, n);
      const prev = p.prf.withPrev(9, PRF_TAG.ZERO_ARITH, n);
      let covered = 0;
      p.prf.eachPiece(9, PRF_TAG.ZERO_ARITH, n, (from, to, pieceNext, piecePrev) => {
        assert.equal(from, covered, "pieces in order, no gap");
        assert.ok(to > from && to - from <= 32_768, `piece ${from}..${to}`);
        assert.deepEqual(pieceNext, next.subarray(from, to), `next stream, words ${from}..${to}`);
        assert.deepEqual(piecePrev, prev.subarray(from, to), `prev stream, words ${from}..${to}`);
        covered = to;
      });
      return covered;
    });
    assert.equal(read, n);
  });

  it("a PRF stream read in pieces of any length equals the draw filled whole, and cannot be read past its end", () => {
    const key = new Uint8Array(32).fill(3);
    const n = 3 * 32_768 + 1001;
    const whole = new Uint8Array(n * 8);
    fillPrfRange(key, 4, PRF_TAG.ZERO_XOR, 0, whole);
    // Odd lengths, a piece of exactly 32 Ki words (the largest), and one ending at the draw's last word.
    const lengths = [1, 7, 32_768, 4096, 32_767, 2, n - (1 + 7 + 32_768 + 4096 + 32_767 + 2)];
    const next = prfPieces(key, 4, PRF_TAG.ZERO_XOR, n);
    let from = 0;
    for (const k of lengths) {
      assert.ok(Buffer.from(next(k)).equals(whole.subarray(from * 8, (from + k) * 8)), `words ${from}..${from + k}`);
      from += k;
    }
    assert.throws(() => next(1), /read past its end/);
    assert.throws(() => prfPieces(key, 4, PRF_TAG.ZERO_XOR, n)(32_769), /exceeds/);
  });

  it("the seed round is one 32-byte message per party, to the next party", async () => {
    const network = createLocalNetwork();
    const counts = await runThreeParties(async (p) => [p.bytesSent, p.messagesSent], { network });
    assert.deepEqual(counts, [[32, 1], [32, 1], [32, 1]]);
    assert.deepEqual(
      network.messages.map((m) => [m.from, m.to, m.step, m.bytes]).sort(),
      [[0, 1, 0, 32], [1, 2, 0, 32], [2, 0, 0, 32]],
    );
  });

  it("reshare: one round, one message per party to the previous party", async () => {
    const network = createLocalNetwork();
    const z = [BigUint64Array.of(1n, 2n), BigUint64Array.of(10n, 20n), BigUint64Array.of(100n, 200n)];
    const opened = await runThreeParties(async (p) => openArithToAllForTesting(p, await reshareArith(p, z[p.index])), { network });
    for (const o of opened) assert.deepEqual(o, BigUint64Array.of(111n, 222n));
    const step1 = network.messages.filter((m) => m.step === 1);
    assert.deepEqual(step1.map((m) => [m.from, m.to]).sort(), [[0, 2], [1, 0], [2, 1]]);
  });

  it("the harness rejects a duplicate (from, step) and fails the other parties", async () => {
    await assert.rejects(
      runThreeParties(async (p) => {
        if (p.index === 0) {
          await p.exchange.send(1, 7, Buffer.alloc(8));
          await p.exchange.send(1, 7, Buffer.alloc(8));
        } else if (p.index === 1) {
          await p.exchange.receive(0, 8); // never sent: must fail, not hang
        }
      }),
      (err) => isMpcError(err, "PEER_DUPLICATE"),
    );
  });

  it("a payload of the wrong length is a protocol error", async () => {
    await assert.rejects(
      runThreeParties(async (p) => {
        const step = p.nextStep();
        if (p.index === 0) await p.sendWords(1, step, BigUint64Array.of(1n, 2n));
        if (p.index === 1) await p.receiveWords(0, step, 3);
      }),
      (err) => isMpcError(err, "PEER_PROTOCOL"),
    );
  });
});
