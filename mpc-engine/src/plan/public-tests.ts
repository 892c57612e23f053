import { andMany } from "../protocol/and.ts";
import { addPublic } from "../protocol/linear.ts";
import type { Party } from "../protocol/party.ts";
import { reshareXor } from "../protocol/reshare.ts";
import { shareLength, type ArithShare, type BoolShare } from "../protocol/shares.ts";
import { notBits, packPlanes, publicBits, splitParts, wordsFor, xorBits } from "./bits.ts";

// Operators `decompose` and `test`: comparisons of a secret column with
// public constants (WHERE constants, histogram edges, group dictionaries).
// Bits are packed (bits.ts): one plane per bit position, 64 rows per word.
//
// decompose: the w bits of d = x − lo (lo the column's public lower bound, so
//   d ∈ [0, 2^w) with w the bit width of hi − lo), only those w bits: the
//   low w bits of x0 + x1 + x2 are those of S + 2·MAJ(x0, x1, x2) with
//   S = x0 ⊕ x1 ⊕ x2 (each party's two components, as they stand) and MAJ
//   from x_i ∧ x_(i+1) (local, then one reshare round), then a ripple-carry
//   adder over the planes: carry_(j+1) = ((S_j ⊕ c_j) ∧ (C_j ⊕ c_j)) ⊕ c_j,
//   one AND of a plane per bit. w − 1 rounds (every column of the block in
//   the same rounds), 2w − 3 bits per row and column. One decomposition
//   serves every test of the column, and the order statistics.
// test: [d < t] for public t ∈ [1, 2^w), most significant bit first:
//   [d < t] = ⊕ over the bits j where t_j = 1 of E_(j+1)(t) ∧ ¬d_j, with
//   E_k(t) = [d and t agree on bits k … w − 1] (the terms exclude each other,
//   so XOR is their OR) and E_k(t) = E_(k+1)(t) ∧ (d_k = t_k). Constants of a
//   column share their prefixes' E, so a histogram's edges pay once for the
//   high bits they agree on. w − 1 rounds; per row one bit per distinct
//   prefix and one per set bit of each constant. Opens nothing.
//
// A value outside its column's declared bounds (a seller's lie) only makes
// that row's tests wrong: the bits above w are not read.

/** Bits needed for d ∈ [0, hi − lo]. */
export function bitWidth(lo: bigint, hi: bigint): number {
  const span = hi - lo;
  return span <= 0n ? 1 : span.toString(2).length;
}

/** A column's decomposition: its planes d_0 … d_(w−1), each a packed share of the block's rows. */
export type Planes = BoolShare[];

/**
 * The bits of x − lo for each column of a block (low `width` bits), every
 * column in the same rounds.
 *
 * @example
 * const [age, hired] = await decompose(party, [{ x: age, lo: 0n, width: 7 }, { x: hired, lo: 17897n, width: 12 }]);
 */
export async function decompose(party: Party, columns: readonly { x: ArithShare; lo: bigint; width: number }[]): Promise<Planes[]> {
  if (columns.length === 0) return [];
  const words = wordsFor(shareLength(columns[0].x));
  const s: Planes[] = columns.map((c) => {
    const d = c.lo === 0n ? c.x : addPublic(party, c.x, -c.lo);
    const a = packPlanes(d.a, c.width);
    const b = packPlanes(d.b, c.width);
    return a.map((plane, j) => ({ a: plane, b: b[j] }));
  });
  // MAJ planes 0 … w − 2 of every column: local x_i ∧ x_(i+1), one reshare.
  const majCount = columns.map((c) => Math.max(0, c.width - 1));
  const local = new BigUint64Array(majCount.reduce((k, m) => k + m, 0) * words);
  let at = 0;
  s.forEach((planes, c) => {
    for (let j = 0; j < majCount[c]; j++, at += words) party.kernels.and(planes[j].a, planes[j].b, local.subarray(at, at + words));
  });
  const majAll = local.length === 0 ? [] : splitParts(await reshareXor(party, local), local.length / words, words);
  let next = 0;
  const carryIn: Planes[] = majCount.map((m) => majAll.slice(next, (next += m)));
  // C_j = MAJ_(j−1); the carry into bit 1 is S_0 ∧ C_0 = 0, into bit 2 S_1 ∧ C_1.
  const out: Planes[] = s.map((planes, c) => planes.map((p, j) => (j === 0 ? p : xorBits(party, p, carryIn[c][j - 1]))));
  const carry: (BoolShare | undefined)[] = columns.map(() => undefined);
  const maxWidth = Math.max(...columns.map((c) => c.width));
  for (let j = 1; j < maxWidth - 1; j++) {
    const live = columns.map((c, k) => k).filter((k) => j < columns[k].width - 1);
    const pairs = live.map((k) => {
      const sj = s[k][j];
      const cj = carryIn[k][j - 1];
      const cin = carry[k];
      return cin === undefined ? ([sj, cj] as const) : ([xorBits(party, sj, cin), xorBits(party, cj, cin)] as const);
    });
    const products = await andMany(party, pairs);
    live.forEach((k, i) => {
      const cin = carry[k];
      const cout = cin === undefined ? products[i] : xorBits(party, products[i], cin);
      carry[k] = cout;
      out[k][j + 1] = xorBits(party, out[k][j + 1], cout);
    });
  }
  return out;
}

/**
 * [d < t] for each (planes of d, public t) pair, packed. Every t must lie in
 * [1, 2^w) for its planes' width w. Tests on the same planes share their
 * prefixes.
 *
 * @example
 * const [below10] = await lessThanPublic(party, [{ planes, t: 10n }]);
 */
export async function lessThanPublic(party: Party, tests: readonly { planes: Planes; t: bigint }[]): Promise<BoolShare[]> {
  if (tests.length === 0) return [];
  const words = tests[0].planes[0].a.length;
  const one = publicBits(party, words, true);
  const notCache = new Map<BoolShare, BoolShare>();
  const not = (x: BoolShare): BoolShare => {
    let y = notCache.get(x);
    if (y === undefined) notCache.set(x, (y = notBits(party, x)));
    return y;
  };
  const literal = (planes: Planes, k: number, bit: bigint): BoolShare => (bit === 1n ? planes[k] : not(planes[k]));
  // E_k(p) per decomposition, keyed by k and p = t >> k; E_w(0) is the public 1.
  const prefixes = new Map<Planes, Map<string, BoolShare>>();
  const prefixOf = (planes: Planes, k: number, p: bigint): BoolShare | undefined => {
    if (k === planes.length) return one;
    return prefixes.get(planes)?.get(`${k}:${p}`);
  };
  const lt: (BoolShare | undefined)[] = tests.map(() => undefined);
  const columnIndex = new Map<Planes, number>();
  for (const { planes, t } of tests) {
    if (t < 1n || t >= 1n << BigInt(planes.length)) throw new RangeError(`public constant ${t} outside [1, 2^${planes.length})`);
    if (!prefixes.has(planes)) prefixes.set(planes, new Map());
    if (!columnIndex.has(planes)) columnIndex.set(planes, columnIndex.size);
  }
  const lowestSet = (t: bigint): number => (t & -t).toString(2).length - 1;
  const maxWidth = Math.max(...tests.map((x) => x.planes.length));
  // Round r handles bit k = w − 1 − r of each decomposition: its terms and its prefixes.
  for (let r = 0; r < maxWidth; r++) {
    const pairs: (readonly [BoolShare, BoolShare])[] = [];
    const sinks: ((value: BoolShare) => void)[] = [];
    const local: (() => void)[] = [];
    const wanted = new Set<string>();
    tests.forEach(({ planes, t }, i) => {
      const w = planes.length;
      const k = w - 1 - r;
      if (k < 0) return;
      const above = prefixOf(planes, k + 1, t >> BigInt(k + 1))!;
      const secretAbove = k + 1 < w;
      if (((t >> BigInt(k)) & 1n) === 1n) {
        const add = (term: BoolShare): void => {
          lt[i] = lt[i] === undefined ? term : xorBits(party, lt[i]!, term);
        };
        if (secretAbove) {
          pairs.push([above, not(planes[k])]);
          sinks.push(add);
        } else local.push(() => add(not(planes[k])));
      }
      // E_k(t) is needed when a set bit of t lies below k.
      const key = `${k}:${t >> BigInt(k)}`;
      const id = `${columnIndex.get(planes)}|${key}`;
      if (k > lowestSet(t) && !wanted.has(id)) {
        wanted.add(id);
        const lit = literal(planes, k, (t >> BigInt(k)) & 1n);
        const store = (value: BoolShare): void => void prefixes.get(planes)!.set(key, value);
        if (secretAbove) {
          pairs.push([above, lit]);
          sinks.push(store);
        } else local.push(() => store(lit));
      }
    });
    const products = pairs.length === 0 ? [] : await andMany(party, pairs);
    products.forEach((p, i) => sinks[i](p));
    local.forEach((f) => f());
  }
  return lt.map((x) => x!);
}
