import { PRF_TAG, type Party } from "./party.ts";
import { exchangeMasked } from "./reshare.ts";
import { shareLength, type BoolShare } from "./shares.ts";

/**
 * Bitwise AND of several pairs of boolean-shared word vectors in ONE round:
 * the XOR analogue of multiplication, z_i = (x_i∧y_i) ⊕ (x_i∧y_{i+1}) ⊕
 * (x_{i+1}∧y_i) ⊕ α_i, sent to the previous party. 64 ANDs per word, one word
 * (8 bytes) per party per word-AND. This is how a layer of a boolean circuit
 * is batched: every AND of the layer goes in `pairs`.
 *
 * @throws MpcError `PEER_PROTOCOL` or `PEER_TIMEOUT` from the exchange
 * @example
 * const [g, p] = await andMany(party, [[p0, gShifted], [p0, pShifted]]);
 */
export async function andMany(party: Party, pairs: readonly (readonly [BoolShare, BoolShare])[]): Promise<BoolShare[]> {
  const lengths = pairs.map(([x, y]) => {
    const n = shareLength(x);
    if (shareLength(y) !== n) throw new RangeError(`AND of vectors of lengths ${n} and ${shareLength(y)}`);
    return n;
  });
  const total = lengths.reduce((s, n) => s + n, 0);
  const step = party.nextStep();
  const { kernels } = party;

  // prepare
  const fNext = party.prf.withNext(step, PRF_TAG.ZERO_XOR, total);
  const fPrev = party.prf.withPrev(step, PRF_TAG.ZERO_XOR, total);
  const z = pairs.length === 1 ? fNext : new BigUint64Array(total);
  let offset = 0;
  pairs.forEach(([x, y], j) => {
    const end = offset + lengths[j];
    kernels.andCross(x.a, x.b, y.a, y.b, fNext.subarray(offset, end), fPrev.subarray(offset, end), z.subarray(offset, end));
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

/**
 * Bitwise AND of two boolean-shared word vectors: one round, one word per
 * party per element. See {@link andMany}.
 *
 * @example
 * const w = await and(party, x, y);
 */
export async function and(party: Party, x: BoolShare, y: BoolShare): Promise<BoolShare> {
  const [w] = await andMany(party, [[x, y]]);
  return w;
}
