import type { Party } from "./party.ts";
import type { ArithShare, BoolShare } from "./shares.ts";

// Opening to ALL three parties. For tests and benchmarks only: a production
// result is opened to the buyer alone (output-envelope.ts), never to the hosts.

/**
 * TEST ONLY: opens an arithmetic share to every party in one round (each
 * party sends x_i to the next, which lacks it). Every party learns x.
 *
 * @example
 * const plain = await openArithToAllForTesting(party, x);
 */
export async function openArithToAllForTesting(party: Party, x: ArithShare): Promise<BigUint64Array> {
  const step = party.nextStep();
  const [, missing] = await Promise.all([
    party.sendWords(party.next, step, x.a),
    party.receiveWords(party.prev, step, x.a.length),
  ]);
  const sum = party.kernels.add(x.a, x.b);
  return party.kernels.add(sum, missing, sum);
}

/**
 * TEST ONLY: opens a boolean share to every party in one round.
 *
 * @example
 * const words = await openBoolToAllForTesting(party, w);
 */
export async function openBoolToAllForTesting(party: Party, x: BoolShare): Promise<BigUint64Array> {
  const step = party.nextStep();
  const [, missing] = await Promise.all([
    party.sendWords(party.next, step, x.a),
    party.receiveWords(party.prev, step, x.a.length),
  ]);
  const sum = party.kernels.xor(x.a, x.b);
  return party.kernels.xor(sum, missing, sum);
}
