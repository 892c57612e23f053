// Test support: a plaintext SQL engine for the query subset, written from
// SQL's semantics and independent of the plan IR (no centring, no masks, no
// bit tricks): the reference the MPC answers are checked against.
import { formatIsoDate, parseIsoDate } from "@scmpc/tables/values";
import { Rational } from "../../src/algorithms/rational.ts";
import type { QueryColumn } from "../../src/query/check-query.ts";
import type { Aggregate, Literal, Predicate, Query } from "../../src/query/query-ast.ts";

/** A row: each column's value in units (fixed point, day count, 0/1, dictionary index), or null. */
export type PlainRow = Record<string, bigint | null>;

const EXTRA = 6;

function units(column: QueryColumn, literal: Literal): bigint {
  switch (literal.kind) {
    case "bool":
      return literal.value ? 1n : 0n;
    case "string":
      return column.type === "date" ? BigInt(parseIsoDate(literal.text)!) : BigInt(column.categories!.indexOf(literal.text));
    case "number": {
      const negative = literal.text.startsWith("-");
      const [whole, fraction = ""] = literal.text.replace("-", "").split(".");
      const v = BigInt(whole + fraction.padEnd(column.scale, "0"));
      return negative ? -v : v;
    }
  }
}

/** SQL's three-valued result of a predicate on a row: true, false or null (unknown). */
function evaluate(p: Predicate, row: PlainRow, columns: Map<string, QueryColumn>): boolean | null {
  switch (p.op) {
    case "and": {
      const vs = p.args.map((a) => evaluate(a, row, columns));
      return vs.includes(false) ? false : vs.includes(null) ? null : true;
    }
    case "or": {
      const vs = p.args.map((a) => evaluate(a, row, columns));
      return vs.includes(true) ? true : vs.includes(null) ? null : false;
    }
    case "not": {
      const v = evaluate(p.arg, row, columns);
      return v === null ? null : !v;
    }
    case "null":
      return (row[p.column] === null) !== p.negated;
    case "cmp": {
      const x = row[p.column];
      if (x === null) return null;
      const t = units(columns.get(p.column)!, p.value);
      return { "=": x === t, "<>": x !== t, "<": x < t, "<=": x <= t, ">": x > t, ">=": x >= t }[p.cmp];
    }
    case "between": {
      const x = row[p.column];
      if (x === null) return null;
      const c = columns.get(p.column)!;
      const inside = units(c, p.lo) <= x && x <= units(c, p.hi);
      return inside !== p.negated;
    }
    case "in": {
      const x = row[p.column];
      if (x === null) return null;
      const c = columns.get(p.column)!;
      return p.values.some((v) => units(c, v) === x) !== p.negated;
    }
  }
}

function text(column: QueryColumn, v: bigint): string {
  return column.type === "date" ? formatIsoDate(Number(v)) : Rational.scaled(v, column.scale).toDecimal(column.scale);
}

function mean(xs: bigint[]): Rational {
  return xs.reduce((s, x) => s.add(new Rational(x)), new Rational(0n)).div(new Rational(BigInt(xs.length)));
}

function covariance(xs: bigint[], ys: bigint[], sx: number, sy: number): Rational {
  const mx = mean(xs);
  const my = mean(ys);
  let acc = new Rational(0n);
  xs.forEach((x, i) => (acc = acc.add(new Rational(x).sub(mx).mul(new Rational(ys[i]).sub(my)))));
  return acc.div(new Rational(BigInt(xs.length))).mul(Rational.scaled(1n, sx + sy));
}

function aggregate(a: Aggregate, rows: PlainRow[], columns: Map<string, QueryColumn>): (string | null)[] {
  const present = (name: string): bigint[] => rows.map((r) => r[name]).filter((v): v is bigint => v !== null);
  // The rows where both columns are present (pairwise-complete, as SQL's two-argument aggregates), with their scales.
  const presentPairs = (x: string, y: string): { xs: bigint[]; ys: bigint[]; sx: number; sy: number } | undefined => {
    const pairs = rows.filter((r) => r[x] !== null && r[y] !== null);
    if (pairs.length === 0) return undefined;
    return { xs: pairs.map((r) => r[x]!), ys: pairs.map((r) => r[y]!), sx: columns.get(x)!.scale, sy: columns.get(y)!.scale };
  };
  switch (a.fn) {
    case "count":
      return [String(a.column === undefined ? rows.length : present(a.column).length)];
    case "sum":
    case "avg": {
      let xs: bigint[];
      let scale: number;
      if ("column" in a.arg) {
        xs = present(a.arg.column);
        scale = columns.get(a.arg.column)!.scale;
      } else {
        const [x, y] = a.arg.product;
        xs = rows.filter((r) => r[x] !== null && r[y] !== null).map((r) => r[x]! * r[y]!);
        scale = columns.get(x)!.scale + columns.get(y)!.scale;
      }
      if (xs.length === 0) return [null];
      const total = xs.reduce((s, x) => s + x, 0n);
      return [a.fn === "sum" ? Rational.scaled(total, scale).toDecimal(scale) : Rational.scaled(total, scale).div(new Rational(BigInt(xs.length))).toDecimal(scale + EXTRA)];
    }
    case "var":
    case "stddev": {
      const xs = present(a.column);
      if (xs.length === 0) return [null];
      const s = columns.get(a.column)!.scale;
      const v = covariance(xs, xs, s, s);
      return [a.fn === "var" ? v.toDecimal(s + EXTRA) : v.sqrtDecimal(s + EXTRA)];
    }
    case "covar":
    case "corr": {
      const both = presentPairs(a.x, a.y);
      if (both === undefined) return [null];
      const { xs, ys, sx, sy } = both;
      const cov = covariance(xs, ys, sx, sy);
      if (a.fn === "covar") return [cov.toDecimal(Math.max(sx, sy) + EXTRA)];
      const vx = covariance(xs, xs, sx, sx);
      const vy = covariance(ys, ys, sy, sy);
      if (vx.isZero() || vy.isZero()) return [null];
      const magnitude = cov.mul(cov).div(vx.mul(vy)).sqrtDecimal(EXTRA);
      return [cov.compare(new Rational(0n)) < 0 && /[1-9]/.test(magnitude) ? `-${magnitude}` : magnitude];
    }
    case "regr_slope":
    case "regr_intercept":
    case "regr_r2": {
      const both = presentPairs(a.x, a.y);
      if (both === undefined) return [null];
      const { xs, ys, sx, sy } = both;
      const vx = covariance(xs, xs, sx, sx);
      if (vx.isZero()) return [null];
      const slope = covariance(xs, ys, sx, sy).div(vx);
      const digits = Math.max(sx, sy) + EXTRA;
      if (a.fn === "regr_slope") return [slope.toDecimal(digits)];
      if (a.fn === "regr_intercept") return [mean(ys).mul(Rational.scaled(1n, sy)).sub(slope.mul(mean(xs).mul(Rational.scaled(1n, sx)))).toDecimal(digits)];
      const vy = covariance(ys, ys, sy, sy);
      if (vy.isZero()) return ["1.000000"];
      const cov = covariance(xs, ys, sx, sy);
      return [cov.mul(cov).div(vx.mul(vy)).toDecimal(EXTRA)];
    }
    case "linear_regression":
      return plainRegression(a.y, a.x, rows, columns);
    case "min":
    case "max":
    case "median":
    case "quantile": {
      const xs = present(a.column).sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
      if (xs.length === 0) return [null];
      const c = BigInt(xs.length);
      let rank: bigint;
      if (a.fn === "min") rank = 1n;
      else if (a.fn === "max") rank = c;
      else {
        const [num, den] = a.fn === "median" ? [1n, 2n] : fraction((a as { p: string }).p);
        rank = (num * c + den - 1n) / den;
        if (rank < 1n) rank = 1n;
      }
      return [text(columns.get(a.column)!, xs[Number(rank) - 1])];
    }
    case "histogram": {
      const c = columns.get(a.column)!;
      const edges = a.edges.map((e) => units(c, e));
      const xs = present(a.column);
      return [...edges, undefined].map((e, j) =>
        String(xs.filter((x) => (j === 0 || x >= edges[j - 1]) && (e === undefined || x < e)).length),
      );
    }
  }
}

/**
 * Least squares the textbook way: the design matrix [1, x_1..x_k] of the rows
 * where y and every x are present, (XᵀX)⁻¹ by Gauss–Jordan with row exchanges,
 * residuals summed row by row. Cells: coefficients, intercept, standard
 * errors (x's, then the intercept's), r², n.
 */
function plainRegression(yName: string, xNames: string[], rows: PlainRow[], columns: Map<string, QueryColumn>): (string | null)[] {
  const used = rows.filter((r) => r[yName] !== null && xNames.every((x) => r[x] !== null));
  const k = xNames.length;
  const n = used.length;
  const none = (): (string | null)[] => [...Array.from({ length: 2 * k + 3 }, () => null), String(n)];
  if (n === 0) return none();
  const value = (r: PlainRow, name: string) => Rational.scaled(r[name]!, columns.get(name)!.scale);
  const design = used.map((r) => [new Rational(1n), ...xNames.map((x) => value(r, x))]);
  const ys = used.map((r) => value(r, yName));
  const m = k + 1;
  const zero = new Rational(0n);
  const xtx = Array.from({ length: m }, (_, i) => Array.from({ length: m }, (_, j) => design.reduce((s, row) => s.add(row[i].mul(row[j])), zero)));
  const xty = Array.from({ length: m }, (_, i) => design.reduce((s, row, t) => s.add(row[i].mul(ys[t])), zero));
  const a = xtx.map((row) => [...row]);
  const inv = xtx.map((_, i) => xtx.map((__, j) => new Rational(i === j ? 1n : 0n)));
  for (let p = 0; p < m; p++) {
    const q = a.findIndex((row, i) => i >= p && !row[p].isZero());
    if (q < 0) return none();
    [a[p], a[q]] = [a[q], a[p]];
    [inv[p], inv[q]] = [inv[q], inv[p]];
    const pivot = a[p][p];
    a[p] = a[p].map((v) => v.div(pivot));
    inv[p] = inv[p].map((v) => v.div(pivot));
    for (let i = 0; i < m; i++) {
      if (i === p) continue;
      const f = a[i][p];
      a[i] = a[i].map((v, j) => v.sub(f.mul(a[p][j])));
      inv[i] = inv[i].map((v, j) => v.sub(f.mul(inv[p][j])));
    }
  }
  const beta = inv.map((row) => row.reduce((s, v, j) => s.add(v.mul(xty[j])), zero));
  const fitted = design.map((row) => row.reduce((s, v, j) => s.add(v.mul(beta[j])), zero));
  const rss = ys.reduce((s, y, t) => s.add(y.sub(fitted[t]).mul(y.sub(fitted[t]))), zero);
  const ybar = ys.reduce((s, y) => s.add(y), zero).div(new Rational(BigInt(n)));
  const tss = ys.reduce((s, y) => s.add(y.sub(ybar).mul(y.sub(ybar))), zero);
  const digits = Math.max(columns.get(yName)!.scale, ...xNames.map((x) => columns.get(x)!.scale)) + EXTRA;
  const r2 = tss.isZero() ? new Rational(1n) : new Rational(1n).sub(rss.div(tss));
  const dof = BigInt(n - k - 1);
  const se = (j: number): string | null => (dof <= 0n ? null : rss.div(new Rational(dof)).mul(inv[j][j]).sqrtDecimal(digits));
  return [
    ...beta.slice(1).map((b) => b.toDecimal(digits)),
    beta[0].toDecimal(digits),
    ...xNames.map((_, i) => se(i + 1)),
    se(0),
    r2.toDecimal(EXTRA),
    String(n),
  ];
}

function fraction(p: string): [bigint, bigint] {
  const [whole, digits = ""] = p.split(".");
  return [BigInt(whole + digits), 10n ** BigInt(digits.length)];
}

/**
 * The answer to a query over plaintext rows: one row per group (the GROUP BY
 * columns' dictionaries, then NULL, the first column slowest), the select
 * items' values as decimal text or null.
 */
export function plainQuery(query: Query, columnList: readonly QueryColumn[], rows: readonly PlainRow[]): (string | null)[][] {
  const columns = new Map(columnList.map((c) => [c.name, c]));
  const passing = query.where === undefined ? [...rows] : rows.filter((r) => evaluate(query.where!, r, columns) === true);
  const domains = query.groupBy.map((name) => {
    const c = columns.get(name)!;
    const size = c.type === "bool" ? 2 : c.categories!.length;
    return [...Array.from({ length: size }, (_, j) => BigInt(j) as bigint | null), null];
  });
  let keys: (bigint | null)[][] = [[]];
  for (const domain of domains) keys = keys.flatMap((k) => domain.map((v) => [...k, v]));
  return keys.map((key) => {
    const members = passing.filter((r) => query.groupBy.every((name, i) => r[name] === key[i]));
    return query.select.flatMap((item) => {
      if (item.kind === "column") {
        const v = key[query.groupBy.indexOf(item.column)];
        const c = columns.get(item.column)!;
        return [v === null ? null : c.type === "bool" ? (v === 1n ? "true" : "false") : c.categories![Number(v)]];
      }
      return aggregate(item, members, columns);
    });
  });
}
