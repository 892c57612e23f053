// Local benchmark of the three-party primitives: all three parties run in this
// one process on the in-memory network (no sockets), so the times below are
// the local computation of ALL THREE parties together plus in-memory copies —
// each party's own share is about a third on a machine with a core per party.
// Run: node --import tsx mpc-engine/bench/primitives.ts
// Bytes: sent by party 0 (the fixed-point multiplication's truncation message
// comes from party 0 alone; every other primitive is symmetric).
import { randomFillSync } from "node:crypto";
import { defaultKernels, wasmKernels, type VectorKernels } from "../src/kernels/index.ts";
import { lessThan, lessThanBit, equalBit } from "../src/protocol/compare.ts";
import { createLocalNetwork, runThreeParties, shareArithForTesting } from "../src/protocol/local-harness.ts";
import { multiply } from "../src/protocol/multiply.ts";
import { fixedMultiply } from "../src/protocol/fixed-multiply.ts";
import type { Party } from "../src/protocol/party.ts";
import type { ArithShare } from "../src/protocol/shares.ts";

const MULT_BATCH = 1_000_000;
const CMP_BATCH = 100_000;
const REPEATS = 5;

function randomSigned(n: number, bits: number): BigUint64Array {
  const v = new BigUint64Array(n);
  randomFillSync(v);
  // Values in [−2^(bits−1), 2^(bits−1)): the comparison's range assumption.
  for (let i = 0; i < n; i++) v[i] = BigInt.asUintN(64, BigInt.asIntN(bits, v[i]));
  return v;
}

interface Measurement {
  bestMs: number;
  bytesPerElementPerParty: number;
  rounds: number;
}

async function measure(
  n: number,
  bits: number,
  kernels: VectorKernels,
  op: (party: Party, x: ArithShare, y: ArithShare) => Promise<ArithShare | unknown>,
): Promise<Measurement> {
  const x = shareArithForTesting(randomSigned(n, bits));
  const y = shareArithForTesting(randomSigned(n, bits));
  let best = Infinity;
  let bytes = 0;
  let rounds = 0;
  for (let r = 0; r < REPEATS; r++) {
    const network = createLocalNetwork();
    let started = 0;
    let elapsed = 0;
    // Time from the end of the seed round (all parties set up) to the end.
    let ready = 0;
    await runThreeParties(
      async (party) => {
        if (++ready === 3) started = performance.now();
        const before = party.bytesSent;
        await new Promise((resolve) => setImmediate(resolve));
        await op(party, x[party.index], y[party.index]);
        elapsed = performance.now() - started;
        if (party.index === 0) bytes = party.bytesSent - before;
      },
      { network, kernels },
    );
    best = Math.min(best, elapsed);
    rounds = new Set(network.messages.map((m) => m.step)).size - 1; // minus the seed round
  }
  return { bestMs: best, bytesPerElementPerParty: bytes / n, rounds };
}

function line(label: string, n: number, m: Measurement): string {
  const perSecond = (n / m.bestMs) * 1000;
  return (
    `${label.padEnd(34)} batch ${String(n).padStart(9)}  ${m.bestMs.toFixed(1).padStart(7)} ms (3 parties, 1 process)  ` +
    `${Math.round(perSecond).toLocaleString("en-US").padStart(12)}/s  ${m.bytesPerElementPerParty} B/element/party  ${m.rounds} rounds`
  );
}

// Both fast kernel sets: the default (typed) and the all-WebAssembly one.
const kernelSets = [defaultKernels, wasmKernels];
for (const kernels of kernelSets) {
  console.log(`kernels: ${kernels.name}, node ${process.version}`);
  console.log(line("multiplication", MULT_BATCH, await measure(MULT_BATCH, 64, kernels, multiply)));
  console.log(
    line("fixed-point multiplication (÷10^4)", MULT_BATCH, await measure(MULT_BATCH, 24, kernels, (p, x, y) => fixedMultiply(p, x, y, 10_000n))),
  );
  console.log(line("less-than (boolean bit)", CMP_BATCH, await measure(CMP_BATCH, 62, kernels, lessThanBit)));
  console.log(line("less-than (arithmetic 0/1)", CMP_BATCH, await measure(CMP_BATCH, 62, kernels, lessThan)));
  console.log(line("equality (boolean bit)", CMP_BATCH, await measure(CMP_BATCH, 64, kernels, equalBit)));
}
