import { sampleDiscreteLaplace, type Ratio } from "./discrete-laplace.ts";
import { PRF_TAG, type Party } from "./party.ts";
import type { ArithShare } from "./shares.ts";
import { createStreamReader } from "./stream-reader.ts";

/**
 * Differential-privacy noise that no single party knows, with no message.
 *
 * Each pair of neighbours (i, i+1) shares a PRF stream (keyed by party i's
 * seed, which only the pair holds). For each requested scale t_k both members
 * of the pair read the same exact discrete Laplace sample N_{i+1} ~ DLap(t_k)
 * from that stream and add it to the replicated component x_{i+1} that both
 * hold — party i as its `b`, party i+1 as its `a`. The three pairs do this
 * for the three components, so the returned share is a sharing of
 *
 *   N = N_0 + N_1 + N_2,
 *
 * and party i knows N_i and N_{i+1} but never N_{i+2}: that term alone is a
 * full DLap(t_k), so whatever one host learns, the released value still
 * carries noise it cannot remove (ε-DP against any single curious host; all
 * three terms against the buyer). The price is three terms instead of one:
 * Var N = 3·Var DLap(t_k).
 *
 * One step is reserved (every party calls this at the same point of the
 * protocol); its PRF draws are tagged {@link PRF_TAG.NOISE}. Zero rounds,
 * zero bytes. The noise does not depend on the data, so a rerun of a job with
 * the same seeds draws exactly the same noise. The sampler's running time
 * depends on the samples (rejection loops of a few microseconds each); it
 * runs locally before the job's first round and is not made constant-time.
 *
 * @returns the share of (N^(0), ..., N^(k−1)), one element per scale, to add
 *   (`addShares`) to the statistics to release
 * @example
 * const noisy = addShares(party, counts, drawPairwiseNoise(party, [{ num: 2n, den: 1n }]));
 */
export function drawPairwiseNoise(party: Party, scales: readonly Ratio[]): ArithShare {
  const step = party.nextStep();
  const n = scales.length;
  // Stream shared with the previous party: the pair (i−1, i) draws N_i, component x_i = a.
  const withPrev = createStreamReader((words) => party.prf.withPrev(step, PRF_TAG.NOISE, words));
  // Stream shared with the next party: the pair (i, i+1) draws N_{i+1}, component x_{i+1} = b.
  const withNext = createStreamReader((words) => party.prf.withNext(step, PRF_TAG.NOISE, words));
  const a = new BigUint64Array(n);
  const b = new BigUint64Array(n);
  scales.forEach((scale, k) => {
    a[k] = BigInt.asUintN(64, sampleDiscreteLaplace(scale, withPrev));
    b[k] = BigInt.asUintN(64, sampleDiscreteLaplace(scale, withNext));
  });
  return { a, b };
}
