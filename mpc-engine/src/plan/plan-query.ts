import { parseIsoDate } from "@scmpc/tables/values";
import { MpcError } from "../errors.ts";
import { encodeFixedPoint } from "../fixed-point.ts";
import { parseColumnBounds, halfWidth } from "../algorithms/column-bounds.ts";
import { binEdges, dpPlan, planRelease, type DpRelease } from "../algorithms/privacy-plan.ts";
import { planSum, type PlannedSum } from "../algorithms/sum-plan.ts";
import { checkQuery, type QuerySchema } from "../query/check-query.ts";
import { formatAggregate } from "../query/format-query.ts";
import type { AggregateItem, Literal, Predicate, Query } from "../query/query-ast.ts";
import { QueryError } from "../query/query-error.ts";
import { MAX_ROWS, type FilterNode, type GroupColumn, type OutputItem, type PlanColumn, type QueryPlan, type Rank, type RowTest, type Statistic } from "./query-plan.ts";

/** What a statistic is before its sum is planned (the DP release it gets is known only once all are collected). */
type Pending =
  | { kind: "count"; key: string; valid: string[]; public?: true }
  | { kind: "sum"; key: string; valid: string[]; label: string; columns: PlanColumn[]; centred: boolean; sensitivity: bigint }
  | { kind: "buckets"; key: string; valid: string[]; column: string; edges: bigint[] }
  | { kind: "select"; key: string; valid: string[]; column: string; rank: Rank };

/**
 * Plans a checked query: the IR the hosts run (see query-plan.ts), from public
 * facts only. `rowCount` is the total rows of the datasets read;
 * `epsilonMilli` the ε the buyer spent on each (0: exact, a seller's opt-in).
 *
 * In DP mode every opened statistic gets an equal share of ε, all groups of
 * one statistic together (one release, its L1 sensitivity over the groups);
 * count(*) without WHERE and GROUP BY is the public row count and spends
 * nothing. Order statistics (min, max, median, quantile) are answered from a
 * noisy histogram over public bins in DP mode, by exact radix selection in
 * exact mode.
 *
 * @throws QueryError (`QUERY_INVALID`) for a query the schema cannot answer;
 *   MpcError `RANGE_TOO_WIDE` when a sum could wrap the ring even widened
 * @example
 * planQuery(parseQuery(`SELECT avg(salary) FROM "0x…" WHERE dept = 'eng'`), schema, { rowCount: 1000n, epsilonMilli: 1000 })
 */
export function planQuery(query: Query, schema: QuerySchema, options: { rowCount: bigint; epsilonMilli: number; name?: string }): QueryPlan {
  const { rowCount, epsilonMilli } = options;
  if (typeof rowCount !== "bigint" || rowCount < 1n || rowCount > MAX_ROWS) {
    throw new MpcError("INVALID_ARGUMENT", `the plan needs the total row count, a bigint from 1 to ${MAX_ROWS}; got ${String(rowCount)}`);
  }
  if (!Number.isSafeInteger(epsilonMilli) || epsilonMilli < 0) {
    throw new MpcError("INVALID_ARGUMENT", `the plan needs the ε spent in milli-ε, an integer ≥ 0; got ${String(epsilonMilli)}`);
  }
  checkQuery(query, schema);
  const private_ = epsilonMilli > 0;
  const columns = new Map<string, PlanColumn>();
  const column = (name: string): PlanColumn => {
    let c = columns.get(name);
    if (c === undefined) {
      const s = schema.columns.find((x) => x.name === name)!;
      const bounds = parseColumnBounds(s);
      c = { name, type: s.type, scale: s.scale, ...bounds, ...(s.categories ? { categories: s.categories } : {}) };
      columns.set(name, c);
    }
    return c;
  };

  const filter = query.where === undefined ? undefined : compileFilter(query.where, column);
  const groupBy: GroupColumn[] = query.groupBy.map((name) => {
    const c = column(name);
    const labels = c.type === "bool" ? ["false", "true"] : [...(c.categories ?? [])];
    return { column: name, labels: [...labels, null] };
  });
  const groups = groupBy.reduce((g, c) => g * c.labels.length, 1);
  const grouped = groups > 1;

  const pending: Pending[] = [];
  const add = (p: Pending): number => {
    const at = pending.findIndex((q) => q.key === p.key);
    if (at >= 0) return at;
    pending.push(p);
    return pending.length - 1;
  };
  const count = (valid: string[]): number => add({ kind: "count", key: `count[${valid.join(",")}]`, valid });
  const sum = (valid: string[], factors: PlanColumn[], centred: boolean): number => {
    const [x, y] = factors;
    const label = y === undefined ? `Σ${centred ? `(${x.name}−c)` : x.name}` : x.name === y.name ? (centred ? `Σ(${x.name}−c)²` : `Σ${x.name}²`) : centred ? `Σ(${x.name}−c)(${y.name}−c)` : `Σ${x.name}·${y.name}`;
    const w = (c: PlanColumn): bigint => (centred ? halfWidth(c) : maxAbs(c));
    // L1 sensitivity over the groups under replace-one (a row may also move between groups or in/out of the filter).
    const sensitivity = y === undefined ? 2n * w(x) : x.name === y.name ? (grouped ? 2n : 1n) * w(x) ** 2n : 2n * w(x) * w(y);
    return add({ kind: "sum", key: `${label}[${valid.join(",")}]`, valid, label, columns: factors, centred, sensitivity });
  };

  const output: OutputItem[] = [];
  for (const item of query.select) {
    if (item.kind === "column") {
      output.push({ kind: "group", name: item.alias ?? item.column, group: query.groupBy.indexOf(item.column) });
      continue;
    }
    const name = item.alias ?? formatAggregate(item);
    output.push(planAggregate(item, name));
  }

  function planAggregate(item: AggregateItem, name: string): OutputItem {
    switch (item.fn) {
      case "count": {
        // The row count is public on-chain: opened exactly, without noise, spending nothing.
        if (item.column === undefined && filter === undefined && !grouped) return { kind: "count", name, count: add({ kind: "count", key: "rows", valid: [], public: true }), public: true };
        // count(col) reads the column's validity: the hosts load it with the column.
        if (item.column !== undefined) column(item.column);
        return { kind: "count", name, count: count(item.column === undefined ? [] : [item.column]) };
      }
      case "sum":
      case "avg": {
        if ("column" in item.arg) {
          const x = column(item.arg.column);
          return { kind: item.fn, name, sum: sum([x.name], [x], true), count: count([x.name]), scale: x.scale, centred: true, column: x };
        }
        const [xn, yn] = item.arg.product;
        const x = column(xn);
        const y = column(yn);
        const valid = unique([xn, yn]);
        if (xn === yn) {
          // Σx² is centred: Σ(x−c)² + 2c·Σ(x−c) + n·c²; its two sums share the count.
          return { kind: item.fn, name, sum: sum(valid, [x, x], false), count: count(valid), scale: 2 * x.scale, centred: false, column: x };
        }
        return { kind: item.fn, name, sum: sum(valid, [x, y], false), count: count(valid), scale: x.scale + y.scale, centred: false, column: x };
      }
      case "var":
      case "stddev": {
        const x = column(item.column);
        return { kind: item.fn, name, sums: [sum([x.name], [x], true), sum([x.name], [x, x], true)], count: count([x.name]), column: x };
      }
      case "covar":
      case "corr": {
        const x = column(item.x);
        const y = column(item.y);
        const valid = unique([x.name, y.name]);
        // Σx, Σy, Σxy, and for corr Σx², Σy², all over the rows where both are present.
        const sums = [sum(valid, [x], true), sum(valid, [y], true), sum(valid, [x, y], true)];
        if (item.fn === "corr") sums.push(sum(valid, [x, x], true), sum(valid, [y, y], true));
        return { kind: item.fn, name, sums, count: count(valid), x, y };
      }
      case "regr_slope":
      case "regr_intercept":
      case "regr_r2": {
        const x = column(item.x);
        const y = column(item.y);
        const valid = unique([x.name, y.name]);
        // Σx, Σy, Σxy, Σx², Σy² over the rows where both are present: one set for the three.
        const sums = [sum(valid, [x], true), sum(valid, [y], true), sum(valid, [x, y], true), sum(valid, [x, x], true), sum(valid, [y, y], true)];
        return { kind: item.fn, name, sums, count: count(valid), x, y };
      }
      case "linear_regression": {
        const y = column(item.y);
        const xs = item.x.map(column);
        // Listwise: every statistic over the rows where y and every x are present, so that they describe one set of rows.
        const valid = unique([...item.x, item.y]);
        const sxx: number[] = [];
        xs.forEach((xi, i) => xs.slice(i).forEach((xj) => sxx.push(sum(valid, [xi, xj], true))));
        return {
          kind: "linear_regression",
          name,
          x: xs,
          y,
          count: count(valid),
          sx: xs.map((x) => sum(valid, [x], true)),
          sy: sum(valid, [y], true),
          sxx,
          sxy: xs.map((x) => sum(valid, [x, y], true)),
          syy: sum(valid, [y, y], true),
        };
      }
      case "histogram": {
        const x = column(item.column);
        const edges = item.edges.map((e) => literalUnits(x, e));
        for (let i = 1; i < edges.length; i++) {
          if (edges[i] <= edges[i - 1]) throw new QueryError(`${formatAggregate(item)}: the edges must be strictly increasing`);
        }
        const at = add({ kind: "buckets", key: `hist[${x.name}](${edges.join(",")})`, valid: [x.name], column: x.name, edges });
        return { kind: "histogram", name, buckets: at, column: x };
      }
      case "min":
      case "max":
      case "median":
      case "quantile": {
        const x = column(item.column);
        const p = item.fn === "min" ? { a: 0n, b: 1n } : item.fn === "max" ? { a: 1n, b: 1n } : item.fn === "median" ? { a: 1n, b: 2n } : fraction((item as { p: string }).p, formatAggregate(item));
        const which = item.fn === "min" ? "min" : item.fn === "max" ? "max" : "quantile";
        if (private_) {
          const edges = binEdges(x);
          const at = add({ kind: "buckets", key: `hist[${x.name}](${edges.join(",")})`, valid: [x.name], column: x.name, edges });
          return { kind: "quantile", name, select: at, column: x, p, which };
        }
        const rank: Rank = p.a === 0n ? { a: 0n, b: 1n, d: 1n } : { a: p.a, b: p.b, d: 0n };
        // The selection compares b·(a count) with a·c in the ring's signed range.
        if (rank.b * rowCount >= 1n << 62n) throw new MpcError("RANGE_TOO_WIDE", `${formatAggregate(item)}: p has too many decimals for ${rowCount} rows; round it`);
        const at = add({ kind: "select", key: `select[${x.name}](${rank.a}/${rank.b}-${rank.d})`, valid: [x.name], column: x.name, rank });
        return { kind: "quantile", name, select: at, column: x, p, which };
      }
    }
  }

  // DP: one release per statistic, equal shares of ε.
  const releases: (DpRelease | undefined)[] = [];
  const labelsOf = (p: Pending): string[] => {
    const per = p.kind === "buckets" ? p.edges.length + 1 : 1;
    return Array.from({ length: groups * per }, (_, j) => `${p.key} group ${Math.floor(j / per)}${per > 1 ? ` bucket ${j % per}` : ""}`);
  };
  const sensitivityOf = (p: Pending): bigint => (p.kind === "count" ? (grouped ? 2n : 1n) : p.kind === "sum" ? p.sensitivity : 2n);
  const noised = pending.filter((p) => !(p.kind === "count" && p.public)).length;
  for (const p of pending) {
    const open = p.kind === "count" && p.public;
    releases.push(private_ && !open ? planRelease(labelsOf(p), sensitivityOf(p), epsilonMilli, noised) : undefined);
  }
  const statistics: Statistic[] = pending.map((p, k) => {
    if (p.kind !== "sum") return p;
    const bounded = p.columns.map((c) => (p.centred ? { name: c.name, scale: c.scale, lo: c.lo, hi: c.hi } : { name: c.name, scale: c.scale, lo: -maxAbs(c), hi: maxAbs(c) }));
    const planned: PlannedSum = planSum(options.name ?? "query", p.label, bounded, rowCount, releases[k]);
    return { kind: "sum", key: p.key, valid: p.valid, sums: [planned] };
  });
  const plan: QueryPlan = { text: query.text, rowCount, columns: [...columns.values()], ...(filter ? { filter } : {}), groupBy, groups, statistics, output };
  if (!private_) return plan;
  return { ...plan, dp: dpPlan(epsilonMilli, releases.filter((r): r is DpRelease => r !== undefined)), releases };
}

function maxAbs(c: PlanColumn): bigint {
  const lo = c.lo < 0n ? -c.lo : c.lo;
  const hi = c.hi < 0n ? -c.hi : c.hi;
  return lo > hi ? lo : hi;
}

function unique(names: string[]): string[] {
  return [...new Set(names)];
}

/** p of quantile(col, p) as a reduced fraction a/b in [0, 1]. */
function fraction(text: string, call: string): { a: bigint; b: bigint } {
  const match = /^(\d+)(?:\.(\d+))?$/.exec(text);
  if (match === null) throw new QueryError(`${call}: p must be a decimal from 0 to 1`);
  const digits = match[2] ?? "";
  const b = 10n ** BigInt(digits.length);
  const a = BigInt(match[1] + digits);
  if (a > b) throw new QueryError(`${call}: p must be a decimal from 0 to 1`);
  const g = gcd(a, b);
  return { a: a / g, b: b / g };
}

function gcd(x: bigint, y: bigint): bigint {
  while (y !== 0n) [x, y] = [y, x % y];
  return x === 0n ? 1n : x;
}

/** A constant in the units of the column it is compared with: fixed point, day count, 0/1, or dictionary index. */
function literalUnits(column: PlanColumn, value: Literal): bigint {
  switch (value.kind) {
    case "number":
      return BigInt.asIntN(64, encodeFixedPoint(value.text, column.scale));
    case "bool":
      return value.value ? 1n : 0n;
    case "string": {
      if (column.type === "date") return BigInt(parseIsoDate(value.text)!);
      return BigInt(column.categories!.indexOf(value.text));
    }
  }
}

/** [x < t], decided publicly where t lies outside the column's bounds. */
function lessThan(column: PlanColumn, t: bigint): RowTest {
  if (t <= column.lo) return { kind: "const", value: false };
  if (t > column.hi) return { kind: "const", value: true };
  return { kind: "lt", column: column.name, t };
}

function xor(...args: RowTest[]): RowTest {
  return { kind: "xor", args };
}

function not(arg: RowTest): RowTest {
  return { kind: "not", arg };
}

/** [x = t] as lt(t + 1) ⊕ lt(t): values are integers in units. */
function equals(column: PlanColumn, t: bigint): RowTest {
  return xor(lessThan(column, t + 1n), lessThan(column, t));
}

function compileFilter(predicate: Predicate, column: (name: string) => PlanColumn): FilterNode {
  switch (predicate.op) {
    case "and":
    case "or":
      return { kind: predicate.op, args: predicate.args.map((a) => compileFilter(a, column)) };
    case "not":
      return { kind: "not", arg: compileFilter(predicate.arg, column) };
    case "null":
      // IS NULL reads the column's validity: the hosts load it with the column.
      return { kind: "null", column: column(predicate.column).name, negated: predicate.negated };
    case "cmp": {
      const c = column(predicate.column);
      const t = literalUnits(c, predicate.value);
      const test = (() => {
        switch (predicate.cmp) {
          case "<":
            return lessThan(c, t);
          case "<=":
            return lessThan(c, t + 1n);
          case ">":
            return not(lessThan(c, t + 1n));
          case ">=":
            return not(lessThan(c, t));
          case "=":
            return equals(c, t);
          case "<>":
            return not(equals(c, t));
        }
      })();
      return { kind: "test", column: c.name, test };
    }
    case "between": {
      const c = column(predicate.column);
      const lo = literalUnits(c, predicate.lo);
      const hi = literalUnits(c, predicate.hi);
      const inside: RowTest = lo > hi ? { kind: "const", value: false } : xor(lessThan(c, hi + 1n), lessThan(c, lo));
      return { kind: "test", column: c.name, test: predicate.negated ? not(inside) : inside };
    }
    case "in": {
      const c = column(predicate.column);
      // Equalities with distinct values are exclusive: their OR is their XOR, local.
      const values = [...new Set(predicate.values.map((v) => literalUnits(c, v)))];
      const any = xor(...values.map((v) => equals(c, v)));
      return { kind: "test", column: c.name, test: predicate.negated ? not(any) : any };
    }
  }
}
