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
      const pairs = rows.filter((r) => r[a.x] !== null && r[a.y] !== null);
      if (pairs.length === 0) return [null];
      const xs = pairs.map((r) => r[a.x]!);
      const ys = pairs.map((r) => r[a.y]!);
      const sx = columns.get(a.x)!.scale;
      const sy = columns.get(a.y)!.scale;
      const cov = covariance(xs, ys, sx, sy);
      if (a.fn === "covar") return [cov.toDecimal(Math.max(sx, sy) + EXTRA)];
      const vx = covariance(xs, xs, sx, sx);
      const vy = covariance(ys, ys, sy, sy);
      if (vx.isZero() || vy.isZero()) return [null];
      const magnitude = cov.mul(cov).div(vx.mul(vy)).sqrtDecimal(EXTRA);
      return [cov.compare(new Rational(0n)) < 0 && /[1-9]/.test(magnitude) ? `-${magnitude}` : magnitude];
    }
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
