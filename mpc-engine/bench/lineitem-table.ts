// The query benchmark's table: eight TPC-H lineitem-shaped columns derived
// from a seed. The coordinator derives the plaintext (to check the answers)
// and each party process derives the same plaintext and then its own share,
// so no 1M-row vector crosses a process boundary: the cheapest honest way to
// give three processes consistent replicated shares of one table. Every
// party seeing the plaintext is a property of this benchmark's set-up only;
// the protocol run on the shares is the hosts' own, message for message.
import { createCipheriv, createHash } from "node:crypto";
import { parseIsoDate } from "@scmpc/tables/values";
import type { ArithShare } from "../src/protocol/shares.ts";
import type { QueryColumn } from "../src/query/index.ts";
import { shareColumn } from "../src/sharing.ts";

/** A column's generator: values uniform in [lo, hi] units; `missingPercent` of its cells missing (validity 0). */
interface ColumnSpec {
  column: QueryColumn;
  lo: number;
  hi: number;
  missingPercent: number;
}

const day = (iso: string): number => parseIsoDate(iso)!;

const REGIONS = ["AFRICA", "AMERICA", "ASIA", "EUROPE", "MIDDLE EAST", "OCEANIA", "CARIBBEAN", "NORDICS"];

const SPECS: readonly ColumnSpec[] = [
  { column: { name: "shipdate", type: "date", scale: 0, lo: String(day("1992-01-02")), hi: String(day("1998-12-01")) }, lo: day("1992-01-02"), hi: day("1998-12-01"), missingPercent: 0 },
  { column: { name: "discount", type: "decimal", scale: 2, lo: "0.00", hi: "0.10" }, lo: 0, hi: 10, missingPercent: 0 },
  { column: { name: "quantity", type: "int", scale: 0, lo: "1", hi: "50" }, lo: 1, hi: 50, missingPercent: 0 },
  // The one column with missing cells: every benchmark query reads it, so each exercises SQL's NULL skipping.
  { column: { name: "price", type: "decimal", scale: 2, lo: "900.00", hi: "105000.00" }, lo: 90_000, hi: 10_500_000, missingPercent: 5 },
  { column: { name: "region", type: "category", scale: 0, lo: "0", hi: String(REGIONS.length - 1), categories: REGIONS }, lo: 0, hi: REGIONS.length - 1, missingPercent: 0 },
  { column: { name: "tax", type: "decimal", scale: 2, lo: "0.00", hi: "0.08" }, lo: 0, hi: 8, missingPercent: 0 },
  { column: { name: "returned", type: "bool", scale: 0, lo: "0", hi: "1" }, lo: 0, hi: 1, missingPercent: 0 },
  { column: { name: "orderkey", type: "int", scale: 0, lo: "1", hi: "6000000" }, lo: 1, hi: 6_000_000, missingPercent: 0 },
];

/** The table's schema, as a dataset declares it. */
export const LINEITEM_SCHEMA: { columns: QueryColumn[] } = { columns: SPECS.map((s) => s.column) };

/** One plaintext column: values in units (a missing cell holds the column's lo, as a seller's upload does) and presence. */
export interface PlainColumn {
  values: Int32Array;
  present: Uint8Array;
}

/** AES-256-CTR keystream under a key derived from the seed and a label: the same bytes in every process. */
function keystream(seed: string, label: string, bytes: number): Buffer {
  const key = createHash("sha256").update(`sc-mpc query bench\u0000${seed}\u0000${label}`).digest();
  return createCipheriv("aes-256-ctr", key, Buffer.alloc(16)).update(Buffer.alloc(bytes));
}

function uniform(seed: string, label: string, rows: number): Uint32Array {
  const bytes = keystream(seed, label, 4 * rows);
  return new Uint32Array(bytes.buffer, bytes.byteOffset, rows);
}

function plainColumn(seed: string, rows: number, spec: ColumnSpec): PlainColumn {
  const span = spec.hi - spec.lo + 1;
  const draws = uniform(seed, `${spec.column.name}/values`, rows);
  const values = new Int32Array(rows);
  // Modulo bias is below span / 2^32 < 0.3%: irrelevant to a benchmark.
  for (let i = 0; i < rows; i++) values[i] = spec.lo + (draws[i] % span);
  const present = new Uint8Array(rows).fill(1);
  if (spec.missingPercent > 0) {
    const gaps = uniform(seed, `${spec.column.name}/missing`, rows);
    for (let i = 0; i < rows; i++) {
      if (gaps[i] % 100 < spec.missingPercent) {
        present[i] = 0;
        values[i] = spec.lo;
      }
    }
  }
  return { values, present };
}

/**
 * The plaintext table of `rows` rows for a seed, by column name.
 *
 * @example
 * lineitemPlain("seed", 1000).get("price")!.values.length // 1000 (prices in cents)
 */
export function lineitemPlain(seed: string, rows: number): Map<string, PlainColumn> {
  return new Map(SPECS.map((s) => [s.column.name, plainColumn(seed, rows, s)]));
}

/** Party `index`'s share of a ring vector, shared with randomness derived from the seed (so the three parties' shares fit together). */
function shareOf(words: BigUint64Array, seed: string, label: string, index: 0 | 1 | 2): ArithShare {
  const shares = shareColumn(words, (bytes) => bytes.set(keystream(seed, label, bytes.length)));
  // Copies: the other parties' components can then be collected.
  return { a: shares[index].a.slice(), b: shares[index].b.slice() };
}

/**
 * Party `index`'s value and validity shares of every column of the table for
 * a seed, derived one column at a time (the plaintext of one column at most
 * is alive at once).
 *
 * @example
 * const { values, valid } = lineitemShares("seed", 1000, 0);
 */
export function lineitemShares(seed: string, rows: number, index: 0 | 1 | 2): { values: Map<string, ArithShare>; valid: Map<string, ArithShare> } {
  const values = new Map<string, ArithShare>();
  const valid = new Map<string, ArithShare>();
  for (const spec of SPECS) {
    const plain = plainColumn(seed, rows, spec);
    const name = spec.column.name;
    values.set(name, shareOf(BigUint64Array.from(plain.values, (v) => BigInt.asUintN(64, BigInt(v))), seed, `${name}/share-values`, index));
    valid.set(name, shareOf(BigUint64Array.from(plain.present, (p) => BigInt(p)), seed, `${name}/share-valid`, index));
  }
  return { values, valid };
}
