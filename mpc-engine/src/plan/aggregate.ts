import { andMany } from "../protocol/and.ts";
import { b2a } from "../protocol/b2a.ts";
import { dotProducts } from "../protocol/dot-product.ts";
import { addPublic } from "../protocol/linear.ts";
import { multiplyMany } from "../protocol/multiply.ts";
import type { Party } from "../protocol/party.ts";
import type { ArithShare, BoolShare } from "../protocol/shares.ts";
import { concatBits, notBits, splitParts, unpackShare, xorBits } from "./bits.ts";
import { countBits, type Counted } from "./count-bits.ts";
import { ringSum } from "../ring.ts";
import { bitWidth, type Planes } from "./public-tests.ts";
import type { PlanColumn, Statistic } from "./query-plan.ts";

// Operator `aggregate`: masked counts, sums and bucket counts of one block of
// rows, per group. A statistic counts the rows of a group whose cells of its
// `valid` columns are all present (SQL's NULL skipping): m = g ∧ v_S
// (one round for every group and statistic; before it, ⌈log₂ k⌉ rounds for
// statistics on k ≥ 2 columns, v_S = v_x ∧ v_y ∧ ..., one for two), bucket
// masks m ∧ [e_(b−1) ≤ x < e_b] from the column's tests (one round); row
// bits are packed (bits.ts), one bit per row per AND. count = Σm by the
// carry-save count (count-bits.ts: about one bit per row, no conversion per
// row). A sum of one column x of width w, accumulated in the ring, is read
// from the column's bit planes d = x − lo: Σ m·(x − c) = Σ_j 2^j·#(m ∧ d_j)
// + (lo − c)·#m (one AND round shared with the buckets, then the counts:
// about 2w bits per row and group). Any other sum Σ m·s of its summand s —
// a product of two (centred) columns computed once for all groups (one
// round, one word per row), or a widened sum — converts the masks it needs
// to 0/1 ring elements (b2a: 1 round, 4 words per row and mask in all) and
// takes the inner product with s (one round, one element per group:
// dot-product.ts), per global chunk for a widened sum (see sum-plan.ts).
// With neither WHERE nor GROUP BY the masks need no bits: a statistic's mask
// is the product of its columns' arithmetic validity shares (none for one
// column, one multiplication round per level of a balanced tree for more),
// a count its local sum and a sum one inner product. Opens nothing.

/** What one block contributes to each statistic, per group: the elements to add to its accumulator. */
export type BlockTotals = ArithShare[][];

/** The block's inputs to aggregation. */
export interface AggregateBlock {
  /** Global index of the block's first row (chunk boundaries of widened sums are global). */
  start: number;
  n: number;
  groups: readonly BoolShare[];
  value: (column: string) => ArithShare;
  valid: (column: string) => BoolShare;
  lt: (column: string, t: bigint) => BoolShare;
  /** The bit planes of a decomposed column. */
  planes: (column: string) => Planes;
  /**
   * With neither WHERE nor GROUP BY: a column's validity as the seller's
   * arithmetic 0/1 shares (then a count of present values is local and a sum
   * one inner product, with no conversion of bits).
   */
  validArith?: (column: string) => ArithShare;
  columns: ReadonlyMap<string, PlanColumn>;
}

/**
 * The mask of each group restricted to rows with every `valid` column
 * present: one round for all when no set has more than one column, else
 * ⌈log₂ k⌉ more for the largest set of k columns (a balanced AND tree, every
 * set's pairs batched into each round).
 */
export async function validMasks(party: Party, block: AggregateBlock, sets: readonly string[][]): Promise<Map<string, BoolShare[]>> {
  const out = new Map<string, BoolShare[]>();
  const keyOf = (s: readonly string[]): string => s.join("\u0000");
  const several = [...new Map(sets.filter((s) => s.length >= 2).map((s) => [keyOf(s), s])).values()];
  const anded = await balancedProducts(
    several.map((s) => s.map((c) => block.valid(c))),
    (pairs) => andMany(party, pairs),
  );
  const validOf = new Map<string, BoolShare>(several.map((s, k) => [keyOf(s), anded[k]!]));
  const distinct = [...new Map(sets.map((s) => [keyOf(s), s])).values()];
  const wanted = distinct.filter((s) => s.length > 0);
  const masked = wanted.length === 0 ? [] : await andMany(party, wanted.flatMap((s) => block.groups.map((g) => [g, validOf.get(keyOf(s)) ?? block.valid(s[0])] as const)));
  wanted.forEach((s, j) => out.set(keyOf(s), masked.slice(j * block.groups.length, (j + 1) * block.groups.length)));
  if (distinct.some((s) => s.length === 0)) out.set("", [...block.groups]);
  return out;
}

/** Bucket j of edges e: [e_(j−1) ≤ x < e_j] from the tests (local), the first and last open-ended. */
function bucketBits(party: Party, block: AggregateBlock, column: string, edges: readonly bigint[]): BoolShare[] {
  const below = edges.map((e) => block.lt(column, e));
  return [...below, undefined].map((upTo, j) => {
    if (j === 0) return upTo!;
    if (upTo === undefined) return notBits(party, below[j - 1]);
    return xorBits(party, upTo, below[j - 1]);
  });
}

function centred(party: Party, x: ArithShare, centre: bigint): ArithShare {
  return centre === 0n ? x : addPublic(party, x, -centre);
}

/**
 * Per segment, Σ m·v − c·Σ m: the inner product of a mask and a column less
 * the centre times the mask's count (`maskSums`, per segment), both shared
 * alike (a party's components of Σ m are the sums of its components of m),
 * so the result is the sharing of Σ m·(v − c).
 */
function lessCentre(dot: ArithShare, maskSums: SegmentSums, centre: bigint): ArithShare {
  const out = { a: new BigUint64Array(maskSums.a.length), b: new BigUint64Array(maskSums.a.length) };
  maskSums.a.forEach((sum, j) => {
    out.a[j] = dot.a[j] - centre * sum;
    out.b[j] = dot.b[j] - centre * maskSums.b[j];
  });
  return out;
}

/** A party's components of Σ m over each segment of a mask m. */
interface SegmentSums {
  a: bigint[];
  b: bigint[];
}

/**
 * Σ m of masks per segment, each mask and segmentation summed once: every
 * sum that takes a centre off and the count of the same rows read it (at
 * 10^7 rows a pass of ~30 ms per party each).
 */
function maskSumsMemo(): {
  of(mask: ArithShare, ends: readonly number[]): SegmentSums;
  /** Records sums already taken (by the pass of an inner product over the mask). */
  keep(mask: ArithShare, ends: readonly number[], sums: SegmentSums): void;
  total(mask: ArithShare, n: number): { a: bigint; b: bigint };
} {
  const memo = new Map<ArithShare, Map<string, SegmentSums>>();
  const byEndsOf = (mask: ArithShare): Map<string, SegmentSums> => {
    let byEnds = memo.get(mask);
    if (byEnds === undefined) memo.set(mask, (byEnds = new Map()));
    return byEnds;
  };
  const keep = (mask: ArithShare, ends: readonly number[], sums: SegmentSums): void => {
    const byEnds = byEndsOf(mask);
    if (!byEnds.has(ends.join(","))) byEnds.set(ends.join(","), sums);
  };
  const of = (mask: ArithShare, ends: readonly number[]): SegmentSums => {
    const byEnds = byEndsOf(mask);
    const key = ends.join(",");
    let sums = byEnds.get(key);
    if (sums === undefined) {
      sums = { a: [], b: [] };
      let from = 0;
      for (const end of ends) {
        sums.a.push(ringSum(mask.a.subarray(from, end)));
        sums.b.push(ringSum(mask.b.subarray(from, end)));
        from = end;
      }
      byEnds.set(key, sums);
    }
    return sums;
  };
  return {
    of,
    keep,
    // The whole mask's sum: the sum of any segmentation's sums already taken, else one pass.
    total(mask, n) {
      const sums = memo.get(mask)?.values().next().value ?? of(mask, [n]);
      const add = (xs: bigint[]) => BigInt.asUintN(64, xs.reduce((x, y) => x + y, 0n));
      return { a: add(sums.a), b: add(sums.b) };
    },
  };
}

/**
 * The valid-column sets whose sums are all of one column each, accumulated
 * in the ring, and cheaper from the columns' bit planes than from converted
 * masks: 2 bits per row and bit of each summed column (an AND and a count)
 * against 128 (a b2a of the mask) per group. Their columns are decomposed.
 *
 * @example
 * bitSummedKeys(plan.statistics, columns) // Set { "price" }
 */
export function bitSummedKeys(statistics: readonly Statistic[], columns: ReadonlyMap<string, PlanColumn>, allRows: boolean): Set<string> {
  const cost = new Map<string, number>();
  // Over all rows the masks are arithmetic already (see AggregateBlock.validArith).
  if (allRows) return new Set();
  for (const s of statistics) {
    if (s.kind !== "sum") continue;
    const key = s.valid.join("\u0000");
    const single = s.sums[0].factors.length === 1 && s.sums[0].accumulation.kind === "ring";
    const column = columns.get(s.sums[0].factors[0].column)!;
    cost.set(key, single && cost.get(key) !== Infinity ? (cost.get(key) ?? 0) + 2 * bitWidth(column.lo, column.hi) : Infinity);
  }
  return new Set([...cost].filter(([, bits]) => bits <= 128).map(([key]) => key));
}

/**
 * One block's contribution to every count, sum and bucket statistic (order
 * statistics are selected after the last block), per group. The groups'
 * masks have their tails clear.
 *
 * @example
 * const totals = await aggregateBlock(party, plan.statistics, block, masks);
 */
export async function aggregateBlock(party: Party, statistics: readonly Statistic[], block: AggregateBlock, masks: Map<string, BoolShare[]>): Promise<BlockTotals> {
  const G = block.groups.length;
  const keyOf = (s: Statistic): string => s.valid.join("\u0000");
  const maskOf = (s: Statistic): BoolShare[] => masks.get(keyOf(s))!;

  // Bucket masks.
  const bucketPairs: (readonly [BoolShare, BoolShare])[] = [];
  for (const s of statistics) {
    if (s.kind !== "buckets") continue;
    const inBucket = bucketBits(party, block, s.column, s.edges);
    for (const m of maskOf(s)) for (const b of inBucket) bucketPairs.push([m, b]);
  }

  // Sums of one decomposed column: Σ m·(x − c) = Σ_j 2^j·#(m ∧ d_j) + (lo − c)·#m.
  const arithmetic = block.validArith !== undefined;
  const byBits = bitSummedKeys(statistics, block.columns, arithmetic);
  const bitSums = statistics.filter((s): s is Statistic & { kind: "sum" } => s.kind === "sum" && byBits.has(keyOf(s)));
  const planePairs = bitSums.flatMap((s) => maskOf(s).flatMap((m) => block.planes(s.sums[0].factors[0].column).map((d) => [m, d] as const)));

  // Bucket masks and masked planes, one round.
  const anded = bucketPairs.length + planePairs.length === 0 ? [] : await andMany(party, [...bucketPairs, ...planePairs]);
  const bucketMasks = anded.slice(0, bucketPairs.length);
  const maskedPlanes = anded.slice(bucketPairs.length);

  // Every count (of a statistic's rows, of a bucket's, of a sum's masked planes) in one carry-save count.
  const toCount: Counted[] = [];
  const countSlot = new Map<string, number>();
  for (const s of statistics) {
    if ((s.kind !== "count" && !bitSums.includes(s as Statistic & { kind: "sum" })) || countSlot.has(keyOf(s)) || (arithmetic && s.kind === "count")) continue;
    countSlot.set(keyOf(s), toCount.length);
    toCount.push(...maskOf(s));
  }
  const bucketAt = toCount.length;
  toCount.push(...bucketMasks);
  const planesAt = toCount.length;
  let at = 0;
  for (const s of bitSums) {
    const width = block.planes(s.sums[0].factors[0].column).length;
    for (let g = 0; g < G; g++, at += width) toCount.push(maskedPlanes.slice(at, at + width));
  }
  const counts = toCount.length === 0 ? undefined : await countBits(party, toCount);
  const sumOf = new Map<Statistic, ArithShare[]>();
  let planeIndex = planesAt;
  for (const s of bitSums) {
    const { column, centre } = s.sums[0].factors[0];
    const offset = BigInt.asUintN(64, block.columns.get(column)!.lo - centre);
    sumOf.set(
      s,
      Array.from({ length: G }, (_, g) => {
        const m = countSlot.get(keyOf(s))! + g;
        const weighted = planeIndex++;
        return { a: BigUint64Array.of(counts!.a[m] * offset + counts!.a[weighted]), b: BigUint64Array.of(counts!.b[m] * offset + counts!.b[weighted]) };
      }),
    );
  }

  // Other sums: the masks they need as 0/1 ring elements, in one b2a; over
  // all rows the products of the columns' arithmetic validity instead.
  const sums = statistics.filter((s): s is Statistic & { kind: "sum" } => s.kind === "sum" && !byBits.has(keyOf(s)));
  const arithmeticMask = arithmetic
    ? await validityProducts(party, block, statistics.filter((s) => s.kind === "count" || s.kind === "sum").map((s) => s.valid))
    : undefined;
  const sumSlot = new Map<string, number>();
  const toConvert: BoolShare[] = [];
  for (const s of arithmetic ? [] : sums) {
    if (sumSlot.has(keyOf(s))) continue;
    sumSlot.set(keyOf(s), toConvert.length);
    toConvert.push(...maskOf(s).map((m) => unpackShare(m, block.n)));
  }
  const arith = toConvert.length === 0 ? [] : splitParts(await b2a(party, concatBits(toConvert)), toConvert.length, block.n);
  const maskFor = (s: Statistic, g: number): ArithShare => arithmeticMask?.get(keyOf(s)) ?? arith[sumSlot.get(keyOf(s))! + g];

  // Summands: products of two columns once for all groups, one round.
  const products = sums.filter((s) => s.sums[0].factors.length === 2);
  const factor = (f: { column: string; centre: bigint }): ArithShare => centred(party, block.value(f.column), f.centre);
  const productValues = products.length === 0 ? [] : await multiplyMany(party, products.map((s) => [factor(s.sums[0].factors[0]), factor(s.sums[0].factors[1])] as const));
  // A one-column sum is taken of the column as it is: Σ m·(v − c) = Σ m·v − c·Σ m in the ring, so the
  // centre comes off the inner product (below) instead of a centred copy of the column being made.
  const summandOf = (s: Statistic & { kind: "sum" }): ArithShare =>
    s.sums[0].factors.length === 2 ? productValues[products.indexOf(s)] : block.value(s.sums[0].factors[0].column);

  const maskSums = maskSumsMemo();
  // Masked sums as inner products, grouped by their segments (the whole block, or global chunks).
  const segmented = new Map<string, { ends: number[]; items: { s: Statistic; g: number }[] }>();
  for (const s of sums) {
    const acc = s.sums[0].accumulation;
    const ends = acc.kind === "ring" ? [block.n] : chunkEnds(block.start, block.n, acc.chunkRows);
    const key = ends.join(",");
    if (!segmented.has(key)) segmented.set(key, { ends, items: [] });
    for (let g = 0; g < G; g++) segmented.get(key)!.items.push({ s, g });
  }
  for (const { ends, items } of segmented.values()) {
    const { dots, firstSums } = await dotProducts(
      party,
      items.map(({ s, g }) => [maskFor(s, g), summandOf(s as Statistic & { kind: "sum" })] as const),
      ends,
    );
    // The masks' own sums (counts, centres) come from the inner products' pass over them.
    items.forEach(({ s, g }, i) => maskSums.keep(maskFor(s, g), ends, firstSums[i]));
    items.forEach(({ s, g }, i) => {
      if (!sumOf.has(s)) sumOf.set(s, []);
      const sum = s as Statistic & { kind: "sum" };
      const centre = sum.sums[0].factors.length === 1 ? sum.sums[0].factors[0].centre : 0n;
      sumOf.get(s)!.push(centre === 0n ? dots[i] : lessCentre(dots[i], maskSums.of(maskFor(s, g), ends), centre));
    });
  }

  const element = (x: ArithShare, at: number): ArithShare => ({ a: x.a.subarray(at, at + 1), b: x.b.subarray(at, at + 1) });
  let bucketIndex = bucketAt;
  return statistics.map((s) => {
    switch (s.kind) {
      case "count": {
        const local = arithmeticMask?.get(keyOf(s));
        if (local !== undefined) {
          const total = maskSums.total(local, block.n);
          return [{ a: BigUint64Array.of(total.a), b: BigUint64Array.of(total.b) }];
        }
        const first = countSlot.get(keyOf(s))!;
        return Array.from({ length: G }, (_, k) => element(counts!, first + k));
      }
      case "sum":
        return sumOf.get(s)!;
      case "buckets":
        return Array.from({ length: G }, () => {
          const from = bucketIndex;
          bucketIndex += s.edges.length + 1;
          return { a: counts!.a.slice(from, bucketIndex), b: counts!.b.slice(from, bucketIndex) };
        });
      case "select":
        return [];
    }
  });
}

/**
 * The product of each list (undefined for an empty one) by a balanced tree:
 * every list's pairs of a level in one call of `round`, ⌈log₂ k⌉ rounds for
 * the longest list of k.
 */
async function balancedProducts<T>(lists: readonly T[][], round: (pairs: (readonly [T, T])[]) => Promise<T[]>): Promise<(T | undefined)[]> {
  let layers = lists;
  while (layers.some((l) => l.length > 1)) {
    const products = await round(layers.flatMap((l) => Array.from({ length: Math.floor(l.length / 2) }, (_, i) => [l[2 * i], l[2 * i + 1]] as const)));
    let at = 0;
    layers = layers.map((l) => {
      const next = Array.from({ length: Math.floor(l.length / 2) }, () => products[at++]);
      return l.length % 2 === 1 ? [...next, l[l.length - 1]] : next;
    });
  }
  return layers.map((l) => l[0]);
}

/**
 * Over all rows: the mask of each valid-column set as an arithmetic 0/1
 * share, the product of the columns' validity shares (a balanced tree, one
 * multiplication round per level, every set in the same rounds; none for a
 * single column); the empty set is the public 1.
 */
async function validityProducts(party: Party, block: AggregateBlock, sets: readonly string[][]): Promise<Map<string, ArithShare>> {
  const distinct = [...new Map(sets.map((s) => [s.join("\u0000"), s])).values()];
  const products = await balancedProducts(
    distinct.map((set) => set.map((c) => block.validArith!(c))),
    (pairs) => multiplyMany(party, pairs),
  );
  const ones = (): ArithShare => {
    const one = new BigUint64Array(block.n).fill(1n);
    const zero = new BigUint64Array(block.n);
    return { a: party.index === 0 ? one : zero, b: party.index === 2 ? one : zero };
  };
  return new Map(distinct.map((set, k) => [set.join("\u0000"), products[k] ?? ones()]));
}

/**
 * The end rows (within the block) of the global chunks of `chunkRows` rows
 * the block touches: the accumulator adds them at ⌊start / chunkRows⌋ onwards.
 */
function chunkEnds(start: number, n: number, chunkRows: number): number[] {
  const first = Math.floor(start / chunkRows);
  const last = Math.floor((start + n - 1) / chunkRows);
  return Array.from({ length: last - first + 1 }, (_, k) => Math.min(n, (first + k + 1) * chunkRows - start));
}
