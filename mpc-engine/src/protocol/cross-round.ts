import type { VectorKernels } from "../kernels/index.ts";
import type { Party } from "./party.ts";
import { exchangeMasked } from "./reshare.ts";
import { shareLength } from "./shares.ts";

type Share = { a: BigUint64Array; b: BigUint64Array };
type CrossKernel = VectorKernels["mulCross"];

/**
 * The one round shared by multiplication and AND (Araki et al. 2016): for
 * every pair, prepare z_i = x_i·y_i + x_i·y_{i+1} + x_{i+1}·y_i + α_i (or the
 * XOR/AND analogue) into one vector, send it to the previous party, receive
 * z_{i+1} from the next, finalize (z_i, z_{i+1}) per pair. `cross` is the
 * kernel (ring or boolean) and `tag` the zero sharing's PRF tag.
 *
 * The results are views into one buffer per component; they are not to be
 * mutated in place.
 *
 * @example
 * const [xy] = await crossRound(party, [[x, y]], party.kernels.mulCross, PRF_TAG.ZERO_ARITH, "multiplying");
 */
export async function crossRound(
  party: Party,
  pairs: readonly (readonly [Share, Share])[],
  cross: CrossKernel,
  tag: number,
  what: string,
): Promise<Share[]> {
  const lengths = pairs.map(([x, y]) => {
    const n = shareLength(x);
    if (shareLength(y) !== n) throw new RangeError(`${what} vectors of lengths ${n} and ${shareLength(y)}`);
    return n;
  });
  const total = lengths.reduce((s, n) => s + n, 0);
  const step = party.nextStep();

  // prepare
  const fNext = party.prf.withNext(step, tag, total);
  const fPrev = party.prf.withPrev(step, tag, total);
  const z = pairs.length === 1 ? fNext : new BigUint64Array(total);
  let offset = 0;
  pairs.forEach(([x, y], j) => {
    const end = offset + lengths[j];
    cross(x.a, x.b, y.a, y.b, fNext.subarray(offset, end), fPrev.subarray(offset, end), z.subarray(offset, end));
    offset = end;
  });

  // exchange
  const joined = await exchangeMasked(party, step, z);

  // finalize
  offset = 0;
  return lengths.map((n) => {
    const share = { a: joined.a.subarray(offset, offset + n), b: joined.b.subarray(offset, offset + n) };
    offset += n;
    return share;
  });
}
