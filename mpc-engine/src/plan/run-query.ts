import { MpcError } from "../errors.ts";
import { noiseScales } from "../algorithms/privacy-plan.ts";
import { addShares } from "../protocol/linear.ts";
import { drawPairwiseNoise } from "../protocol/noise.ts";
import type { Party } from "../protocol/party.ts";
import { concatShares, type ArithShare, type BoolShare } from "../protocol/shares.ts";
import { wideSums } from "../protocol/wide-sum.ts";
import { aggregateBlock, bitSummedKeys, validMasks, type AggregateBlock } from "./aggregate.ts";
import { clearTail, concatBits, publicBits, rows, validityBits, wordsFor } from "./bits.ts";
import { filterRows } from "./filter.ts";
import { groupRows } from "./group.ts";
import { selectRanks, type Selection } from "./order-statistic.ts";
import { bitWidth, decompose, lessThanPublic, type Planes } from "./public-tests.ts";
import { queryOpenedCount } from "./opened-count.ts";
import type { FilterNode, PlanColumn, QueryPlan, RowTest, Statistic } from "./query-plan.ts";

// Operators `scan`, `noise` and `open`, and the loop that runs the others
// over blocks of rows (query-plan.ts lists them). Scan reads each column's
// value and validity shares, the datasets' rows concatenated (no rounds).
// Noise: in DP mode every opened statistic gets three discrete Laplace terms
// drawn by the pairs of hosts before the first round (protocol/noise.ts; no
// message). Open: the statistics, in plan order, go to the re-randomisation
// and the buyer — nothing else leaves the MPC.

/** Value and validity (0/1) shares of every column a plan reads, over some rows. */
export interface QueryRows {
  values: ReadonlyMap<string, ArithShare>;
  valid: ReadonlyMap<string, ArithShare>;
}

/**
 * One party's inputs read a block of rows at a time (a host's shares too
 * large to hold, read from disk): `read` gives rows [start, end), rows of
 * all datasets concatenated.
 */
export interface QueryRowSource {
  rowCount: number;
  read(start: number, end: number): Promise<QueryRows>;
}

/** One party's inputs to a query: all rows in memory, or a {@link QueryRowSource}. */
export type QueryInputs = (QueryRows & { rowCount: number }) | QueryRowSource;

/** Views of rows [start, end) of inputs held in memory. */
function rowsInMemory(inputs: QueryRows & { rowCount: number }, plan: QueryPlan): QueryRowSource {
  const n = inputs.rowCount;
  checkRows(inputs, plan, n);
  const slice = (map: ReadonlyMap<string, ArithShare>, start: number, end: number): Map<string, ArithShare> =>
    new Map(plan.columns.map((c) => [c.name, rows(map.get(c.name)!, start, end)]));
  return { rowCount: n, read: async (start, end) => ({ values: slice(inputs.values, start, end), valid: slice(inputs.valid, start, end) }) };
}

/** Checks that `rows` (all of them, or a block read) has every column the plan reads, over `n` rows. */
function checkRows(rows: QueryRows, plan: QueryPlan, n: number): QueryRows {
  for (const c of plan.columns) {
    for (const [what, map] of [["value", rows.values], ["validity", rows.valid]] as const) {
      const share = map.get(c.name);
      if (share === undefined) throw new MpcError("COLUMN_NOT_FOUND", `no ${what} share of column ${JSON.stringify(c.name)}`);
      if (share.a.length !== n || share.b.length !== n) throw new MpcError("ROW_COUNT_MISMATCH", `the ${what} share of column "${c.name}" has ${share.a.length} rows, expected ${n}`);
    }
  }
  return rows;
}

/**
 * Rows of a block's per-row vectors, summed over the vectors it converts
 * (bounds a host's working memory: 32 MiB of such vectors). Blocks run one
 * after the other, each with all its rounds, so bigger blocks mean fewer
 * rounds: `count-if@1` over 1M rows is one block of 54 rounds, against four
 * blocks and 210 rounds at 2^20 words.
 */
export const QUERY_BLOCK_WORDS = 1 << 22;

/** Words of a block's packed row bits, summed over the planes it holds at once. */
export const QUERY_BLOCK_PLANE_WORDS = 1 << 22;

/** The public constants each column is tested against, within its bounds (others are decided publicly). */
export function testConstants(plan: QueryPlan): Map<string, bigint[]> {
  const columns = new Map(plan.columns.map((c) => [c.name, c]));
  const out = new Map<string, Set<bigint>>();
  const add = (column: string, t: bigint): void => {
    const c = columns.get(column)!;
    if (t <= c.lo || t > c.hi) return;
    if (!out.has(column)) out.set(column, new Set());
    out.get(column)!.add(t);
  };
  const visitTest = (test: RowTest): void => {
    if (test.kind === "lt") add(test.column, test.t);
    else if (test.kind === "not") visitTest(test.arg);
    else if (test.kind === "xor") test.args.forEach(visitTest);
  };
  const visit = (node: FilterNode): void => {
    if (node.kind === "test") visitTest(node.test);
    else if (node.kind === "not") visit(node.arg);
    else if (node.kind === "and" || node.kind === "or") node.args.forEach(visit);
  };
  if (plan.filter) visit(plan.filter);
  for (const g of plan.groupBy) for (let j = 1; j < g.labels.length - 1; j++) add(g.column, BigInt(j));
  for (const s of plan.statistics) if (s.kind === "buckets") s.edges.forEach((e) => add(s.column, e));
  return new Map([...out].map(([c, ts]) => [c, [...ts].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0))]));
}

/**
 * Runs a query plan on this party's shares and returns the shares of the
 * statistics to open, in plan order (statistic, then group, then element).
 * Rows go through filter, group and aggregate in blocks (a multiple of 64
 * rows, sized so that the per-row vectors stay within
 * {@link QUERY_BLOCK_WORDS} and the packed row bits within
 * {@link QUERY_BLOCK_PLANE_WORDS} words; `blockRows` fixes it); order
 * statistics run over all rows after the last block.
 *
 * @throws MpcError `COLUMN_NOT_FOUND` or `ROW_COUNT_MISMATCH` for inputs that do not fit the plan
 * @example
 * const opened = await runQuery(party, plan, { values, valid, rowCount: 1000 });
 */
export async function runQuery(party: Party, plan: QueryPlan, inputs: QueryInputs, options: { blockRows?: number } = {}): Promise<ArithShare> {
  const n = inputs.rowCount;
  if (BigInt(n) !== plan.rowCount) throw new MpcError("ROW_COUNT_MISMATCH", `the query was planned for ${plan.rowCount} rows; the inputs have ${n}`);
  const columns = new Map<string, PlanColumn>(plan.columns.map((c) => [c.name, c]));
  const source = "read" in inputs ? inputs : rowsInMemory(inputs, plan);
  // Drawn before any other step, at the same point on every party.
  const noise = plan.dp === undefined ? undefined : drawPairwiseNoise(party, noiseScales(plan.dp));

  const constants = testConstants(plan);
  const selects = plan.statistics.filter((s): s is Statistic & { kind: "select" } => s.kind === "select");
  const allRows = plan.filter === undefined && plan.groupBy.length === 0;
  const bitSummed = bitSummedKeys(plan.statistics, columns, allRows);
  const summedColumns = plan.statistics.flatMap((s) => (s.kind === "sum" && bitSummed.has(s.valid.join("\u0000")) ? [s.sums[0].factors[0].column] : []));
  const decomposed = [...new Set([...constants.keys(), ...selects.map((s) => s.column), ...summedColumns])];
  const widthOf = (name: string): number => bitWidth(columns.get(name)!.lo, columns.get(name)!.hi);
  const planeCount =
    decomposed.reduce((k, name) => k + 3 * widthOf(name), 0) +
    [...constants].reduce((k, [name, ts]) => k + 2 * ts.length * widthOf(name), 0) +
    plan.groups * (plan.statistics.length + plan.statistics.reduce((k, s) => k + (s.kind === "buckets" ? s.edges.length + 1 : 0), 0)) +
    plan.groups * summedColumns.reduce((k, name) => k + widthOf(name), 0);
  const rowVectors = 4 + 3 * plan.groups * plan.statistics.filter((s) => s.kind === "sum" && !bitSummed.has(s.valid.join("\u0000"))).length;
  const blockRows =
    options.blockRows ?? Math.max(64, Math.min(n, 64 * Math.floor(Math.min(QUERY_BLOCK_WORDS / rowVectors, (64 * QUERY_BLOCK_PLANE_WORDS) / Math.max(1, planeCount)) / 64)));
  if (!Number.isInteger(blockRows) || blockRows < 1) throw new RangeError(`block of ${blockRows} rows`);

  const accumulators: ArithShare[][] = plan.statistics.map((s) =>
    Array.from({ length: plan.groups }, () => {
      const size = s.kind === "sum" && s.sums[0].accumulation.kind === "wide" ? s.sums[0].accumulation.chunks : s.kind === "buckets" ? s.edges.length + 1 : 1;
      return { a: new BigUint64Array(size), b: new BigUint64Array(size) };
    }),
  );
  const selectionParts = selects.map(() => Array.from({ length: plan.groups }, () => ({ planes: [] as Planes[], masks: [] as BoolShare[] })));

  // The next block's rows are read while this one computes.
  const readBlock = (start: number): Promise<QueryRows> | undefined => {
    if (start >= n) return undefined;
    const read = source.read(start, Math.min(n, start + blockRows));
    read.catch(() => undefined);
    return read;
  };
  let next = readBlock(0);
  for (let start = 0; start < n; start += blockRows) {
    const end = Math.min(n, start + blockRows);
    const size = end - start;
    const words = wordsFor(size);
    const inputRows = checkRows(await next!, plan, size);
    next = readBlock(end);
    const value = (name: string): ArithShare => inputRows.values.get(name)!;
    const validCache = new Map<string, BoolShare>();
    const valid = (name: string): BoolShare => {
      let v = validCache.get(name);
      if (v === undefined) validCache.set(name, (v = validityBits(inputRows.valid.get(name)!)));
      return v;
    };
    const planesList = await decompose(party, decomposed.map((name) => ({ x: value(name), lo: columns.get(name)!.lo, width: widthOf(name) })));
    const planesOf = new Map(decomposed.map((name, k) => [name, planesList[k]]));
    const tests = [...constants].flatMap(([name, ts]) => ts.map((t) => ({ name, t, planes: planesOf.get(name)!, offset: t - columns.get(name)!.lo })));
    const testBits = await lessThanPublic(party, tests.map((x) => ({ planes: x.planes, t: x.offset })));
    const bank = new Map(tests.map((x, k) => [`${x.name}\u0000${x.t}`, testBits[k]]));
    const lt = (name: string, t: bigint): BoolShare => {
      const c = columns.get(name)!;
      if (t <= c.lo) return publicBits(party, words, false);
      if (t > c.hi) return publicBits(party, words, true);
      const bits = bank.get(`${name}\u0000${t}`);
      if (bits === undefined) throw new MpcError("INTERNAL", `no test of "${name}" against ${t} was planned`);
      return bits;
    };
    const pass = plan.filter === undefined ? undefined : await filterRows(party, plan.filter, lt, valid, words);
    // Counting reads whole words: the groups' bits beyond the block's rows are cleared once here.
    const groups = (await groupRows(party, plan.groupBy, lt, valid, pass, words)).map((g) => clearTail(party, g, size));
    const planes = (name: string): Planes => {
      const p = planesOf.get(name);
      if (p === undefined) throw new MpcError("INTERNAL", `column "${name}" was not decomposed`);
      return p;
    };
    const validArith = allRows ? (name: string): ArithShare => inputRows.valid.get(name)! : undefined;
    const block: AggregateBlock = { start, n: size, groups, value, valid, lt, planes, validArith, columns };
    // Over all rows, counts and sums take arithmetic masks: only buckets and order statistics need these bits.
    const bitMasked = plan.statistics.filter((s) => !allRows || s.kind === "buckets" || s.kind === "select");
    const masks = await validMasks(party, block, bitMasked.map((s) => s.valid));
    const totals = await aggregateBlock(party, plan.statistics, block, masks);
    plan.statistics.forEach((s, k) => {
      if (s.kind === "select") return;
      totals[k].forEach((part, g) => {
        const acc = accumulators[k][g];
        const at = s.kind === "sum" && s.sums[0].accumulation.kind === "wide" ? Math.floor(start / s.sums[0].accumulation.chunkRows) : 0;
        for (let e = 0; e < part.a.length; e++) {
          acc.a[at + e] += part.a[e];
          acc.b[at + e] += part.b[e];
        }
      });
    });
    selects.forEach((s, k) => {
      const m = masks.get(s.valid.join("\u0000"))!;
      for (let g = 0; g < plan.groups; g++) {
        selectionParts[k][g].planes.push(planesOf.get(s.column)!);
        selectionParts[k][g].masks.push(m[g]);
      }
    });
  }

  const selections: Selection[] = selects.flatMap((s, k) =>
    selectionParts[k].map((p) => ({
      planes: Array.from({ length: widthOf(s.column) }, (_, j) => concatBits(p.planes.map((block) => block[j]))),
      mask: concatBits(p.masks),
      rank: s.rank,
    })),
  );
  const selected = await selectRanks(party, selections);

  // Noise, widening and the order of the opened values.
  let noiseAt = 0;
  const noiseOf = (count: number): ArithShare | undefined => {
    if (noise === undefined) return undefined;
    const part = { a: noise.a.subarray(noiseAt, noiseAt + count), b: noise.b.subarray(noiseAt, noiseAt + count) };
    noiseAt += count;
    return part;
  };
  const wide: ArithShare[] = [];
  const pieces: (ArithShare | number)[] = [];
  let selectAt = 0;
  plan.statistics.forEach((s, k) => {
    for (let g = 0; g < plan.groups; g++) {
      const acc = accumulators[k][g];
      if (s.kind === "select") {
        pieces.push(selected[selectAt++]);
        continue;
      }
      const noisy = plan.releases?.[k] === undefined ? undefined : noiseOf(s.kind === "buckets" ? s.edges.length + 1 : 1);
      if (s.kind === "sum" && s.sums[0].accumulation.kind === "wide") {
        wide.push(noisy === undefined ? acc : concatShares([acc, noisy]));
        pieces.push(wide.length - 1);
        continue;
      }
      pieces.push(noisy === undefined ? acc : addShares(party, acc, noisy));
    }
  });
  const limbs = await wideSums(party, wide);
  const result = concatShares(pieces.map((p) => (typeof p === "number" ? limbs[p] : p)));
  if (result.a.length !== queryOpenedCount(plan)) {
    throw new MpcError("INTERNAL", `the query produced ${result.a.length} values, expected ${queryOpenedCount(plan)}`);
  }
  return result;
}
