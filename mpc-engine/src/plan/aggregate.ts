import { andMany } from "../protocol/and.ts";
import { b2a } from "../protocol/b2a.ts";
import { addPublic } from "../protocol/linear.ts";
import { multiplyMany } from "../protocol/multiply.ts";
import type { Party } from "../protocol/party.ts";
import type { ArithShare, BoolShare } from "../protocol/shares.ts";
import { ringSum } from "../ring.ts";
import { concatBits, notBits, splitParts, xorBits } from "./bits.ts";
import type { PlanColumn, Statistic } from "./query-plan.ts";

// Operator `aggregate`: masked counts, sums and bucket counts of one block of
// rows, per group. A statistic counts the rows of a group whose cells of its
// `valid` columns are all present (SQL's NULL skipping): m = g ∧ v_S
// (one round for every group and statistic; before it, ⌈log₂ k⌉ rounds for
// statistics on k ≥ 2 columns, v_S = v_x ∧ v_y ∧ ..., one for two), bucket masks m ∧ [e_(b−1) ≤ x < e_b] from
// the column's tests (one round), all converted to 0/1 arithmetic shares in
// one b2a (2 rounds, 2 words per row and mask). count = Σm (local); a sum
// Σ m·s of its summand s — x − c, or a product of two (centred) columns
// computed once for all groups — is one multiplication round (one word per
// row and group; two rounds for products). Totals are local sums of the
// block, or chunk sums for a widened sum (see sum-plan.ts). Opens nothing.

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
  // Each set's layer of partial ANDs, halved each round until one remains.
  let layers: BoolShare[][] = several.map((s) => s.map((c) => block.valid(c)));
  while (layers.some((l) => l.length > 1)) {
    const pairs = layers.flatMap((l) => Array.from({ length: Math.floor(l.length / 2) }, (_, i) => [l[2 * i], l[2 * i + 1]] as const));
    const anded = await andMany(party, pairs);
    let at = 0;
    layers = layers.map((l) => {
      const next = Array.from({ length: Math.floor(l.length / 2) }, () => anded[at++]);
      return l.length % 2 === 1 ? [...next, l[l.length - 1]] : next;
    });
  }
  const validOf = new Map<string, BoolShare>(several.map((s, k) => [keyOf(s), layers[k][0]]));
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
 * One block's contribution to every count, sum and bucket statistic (order
 * statistics are selected after the last block), per group.
 *
 * @example
 * const totals = await aggregateBlock(party, plan.statistics, block, masks);
 */
export async function aggregateBlock(party: Party, statistics: readonly Statistic[], block: AggregateBlock, masks: Map<string, BoolShare[]>): Promise<BlockTotals> {
  const G = block.groups.length;
  const maskOf = (s: Statistic): BoolShare[] => masks.get(s.valid.join("\u0000"))!;

  // Bucket masks, one round.
  const bucketPairs: (readonly [BoolShare, BoolShare])[] = [];
  for (const s of statistics) {
    if (s.kind !== "buckets") continue;
    const inBucket = bucketBits(party, block, s.column, s.edges);
    for (const m of maskOf(s)) for (const b of inBucket) bucketPairs.push([m, b]);
  }
  const bucketMasks = bucketPairs.length === 0 ? [] : await andMany(party, bucketPairs);

  // Every mask to convert, in one b2a.
  const toConvert: BoolShare[] = [];
  const slot = new Map<string, number>();
  for (const s of statistics) {
    if (s.kind !== "count" && s.kind !== "sum") continue;
    const key = s.valid.join("\u0000");
    if (slot.has(key)) continue;
    slot.set(key, toConvert.length);
    toConvert.push(...maskOf(s));
  }
  const bucketAt = toConvert.length;
  toConvert.push(...bucketMasks);
  const arith = toConvert.length === 0 ? [] : splitParts(await b2a(party, concatBits(toConvert)), toConvert.length, block.n);

  // Summands: products of two columns once for all groups, then masked, one round each.
  const sums = statistics.filter((s): s is Statistic & { kind: "sum" } => s.kind === "sum");
  const products = sums.filter((s) => s.sums[0].factors.length === 2);
  const factor = (f: { column: string; centre: bigint }): ArithShare => centred(party, block.value(f.column), f.centre);
  const productValues = products.length === 0 ? [] : await multiplyMany(party, products.map((s) => [factor(s.sums[0].factors[0]), factor(s.sums[0].factors[1])] as const));
  const summandOf = new Map<Statistic, ArithShare>(sums.map((s) => [s, s.sums[0].factors.length === 2 ? productValues[products.indexOf(s)] : factor(s.sums[0].factors[0])]));
  const maskedPairs = sums.flatMap((s) => {
    const first = slot.get(s.valid.join("\u0000"))!;
    return Array.from({ length: G }, (_, k) => [arith[first + k], summandOf.get(s)!] as const);
  });
  const masked = maskedPairs.length === 0 ? [] : await multiplyMany(party, maskedPairs);

  let bucketIndex = bucketAt;
  let sumIndex = 0;
  return statistics.map((s) => {
    switch (s.kind) {
      case "count": {
        const first = slot.get(s.valid.join("\u0000"))!;
        return Array.from({ length: G }, (_, k) => total(arith[first + k]));
      }
      case "sum":
        return Array.from({ length: G }, () => {
          const m = masked[sumIndex++];
          const acc = s.sums[0].accumulation;
          return acc.kind === "ring" ? total(m) : chunkTotals(m, block.start, acc.chunkRows);
        });
      case "buckets":
        return Array.from({ length: G }, () => {
          const counts = Array.from({ length: s.edges.length + 1 }, () => total(arith[bucketIndex++]));
          return { a: BigUint64Array.from(counts, (c) => c.a[0]), b: BigUint64Array.from(counts, (c) => c.b[0]) };
        });
      case "select":
        return [];
    }
  });
}

function total(x: { a: BigUint64Array; b: BigUint64Array }): ArithShare {
  return { a: BigUint64Array.of(ringSum(x.a)), b: BigUint64Array.of(ringSum(x.b)) };
}

/**
 * The block's sums per global chunk of `chunkRows` rows it touches: element 0
 * is the chunk holding the block's first row (the accumulator adds them at
 * ⌊start / chunkRows⌋ onwards).
 */
function chunkTotals(x: ArithShare, start: number, chunkRows: number): ArithShare {
  const n = x.a.length;
  const first = Math.floor(start / chunkRows);
  const last = Math.floor((start + n - 1) / chunkRows);
  const out = { a: new BigUint64Array(last - first + 1), b: new BigUint64Array(last - first + 1) };
  for (let c = first; c <= last; c++) {
    const from = Math.max(0, c * chunkRows - start);
    const to = Math.min(n, (c + 1) * chunkRows - start);
    out.a[c - first] = ringSum(x.a.subarray(from, to));
    out.b[c - first] = ringSum(x.b.subarray(from, to));
  }
  return out;
}
