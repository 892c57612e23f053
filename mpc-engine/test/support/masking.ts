import assert from "node:assert/strict";
import { createLocalNetwork, type LocalNetwork } from "../../src/protocol/local-harness.ts";

/** One protocol message as a masking check sees it: who sent it where, at which step, and its count of set bits. */
export interface RecordedPayload {
  from: number;
  to: number;
  step: number;
  ones: number;
  bits: number;
}

/**
 * An in-memory network that records every protocol message (step > 0: not the
 * key agreement) with its count of set bits, for checks that a protocol
 * masks what it sends.
 *
 * @example
 * const { network, payloads } = recordingNetwork();
 * await runThreeParties((p) => b2a(p, shares[p.index]), { network });
 */
export function recordingNetwork(): { network: LocalNetwork; payloads: RecordedPayload[] } {
  const payloads: RecordedPayload[] = [];
  const inner = createLocalNetwork();
  const network: LocalNetwork = {
    ...inner,
    exchangeFor(index) {
      const exchange = inner.exchangeFor(index);
      return {
        send(to, step, payload) {
          if (step > 0) {
            let ones = 0;
            for (const byte of payload) for (let v = byte; v !== 0; v &= v - 1) ones++;
            payloads.push({ from: index, to, step, ones, bits: payload.length * 8 });
          }
          return exchange.send(to, step, payload);
        },
        receive: (from, step) => exchange.receive(from, step),
      };
    },
  };
  return { network, payloads };
}

/** Asserts each payload has about half its bits set (within 6 standard deviations of a Binomial(bits, 1/2) count): what a one-time pad gives. */
export function assertBalanced(payloads: readonly RecordedPayload[]): void {
  for (const m of payloads) {
    const deviation = Math.abs(m.ones - m.bits / 2) / (Math.sqrt(m.bits) / 2);
    assert.ok(deviation < 6, `step ${m.step}, ${m.from} → ${m.to}: ${m.ones}/${m.bits} bits set`);
  }
}
