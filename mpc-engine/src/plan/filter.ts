import { andMany } from "../protocol/and.ts";
import type { Party } from "../protocol/party.ts";
import type { BoolShare } from "../protocol/shares.ts";
import { notBits, publicBits, xorBits } from "./bits.ts";
import type { FilterNode, RowTest } from "./query-plan.ts";

// Operator `filter`: WHERE as a secret row mask, in SQL's three-valued logic.
// Each node yields two bits per row, T (true) and F (false); a row whose
// comparison reads a NULL cell is neither (unknown). A comparison leaf:
// T = r ∧ v, F = v ⊕ T (v the cell's validity bit, r the test's bit); IS NULL:
// T = ¬v, F = v; NOT swaps T and F; AND: T = ∧T, F = ∨F; OR: T = ∨T, F = ∧F
// (x ∨ y = x ⊕ y ⊕ (x ∧ y)). The row passes when T.
// Cost: one round for all leaves, then one round per AND/OR operand beyond
// the first (both bits of a node in the same round); one bit per row per
// AND (bits packed, bits.ts). Opens nothing.

/** Evaluates a row test from the block's test bits (`lt` keyed by column and constant); local. */
export function evaluateTest(party: Party, test: RowTest, lt: (column: string, t: bigint) => BoolShare, words: number): BoolShare {
  switch (test.kind) {
    case "lt":
      return lt(test.column, test.t);
    case "const":
      return publicBits(party, words, test.value);
    case "not":
      return notBits(party, evaluateTest(party, test.arg, lt, words));
    case "xor":
      return test.args.map((a) => evaluateTest(party, a, lt, words)).reduce((x, y) => xorBits(party, x, y), publicBits(party, words, false));
  }
}

/**
 * The rows that pass WHERE, as packed row bits (`words` words).
 *
 * @example
 * const pass = await filterRows(party, plan.filter, lt, valid, words);
 */
export async function filterRows(
  party: Party,
  filter: FilterNode,
  lt: (column: string, t: bigint) => BoolShare,
  valid: (column: string) => BoolShare,
  words: number,
): Promise<BoolShare> {
  // All comparison leaves in one round.
  const leaves: (FilterNode & { kind: "test" })[] = [];
  const collect = (node: FilterNode): void => {
    if (node.kind === "test") leaves.push(node);
    else if (node.kind === "not") collect(node.arg);
    else if (node.kind === "and" || node.kind === "or") node.args.forEach(collect);
  };
  collect(filter);
  const leafTrue = leaves.length === 0 ? [] : await andMany(party, leaves.map((l) => [evaluateTest(party, l.test, lt, words), valid(l.column)] as const));
  const truth = new Map(leaves.map((l, k) => [l, leafTrue[k]]));

  const evaluate = async (node: FilterNode): Promise<{ t: BoolShare; f: BoolShare }> => {
    switch (node.kind) {
      case "test": {
        const t = truth.get(node)!;
        return { t, f: xorBits(party, valid(node.column), t) };
      }
      case "null": {
        const v = valid(node.column);
        const isNull = notBits(party, v);
        return node.negated ? { t: v, f: isNull } : { t: isNull, f: v };
      }
      case "not": {
        const { t, f } = await evaluate(node.arg);
        return { t: f, f: t };
      }
      case "and":
      case "or": {
        let acc = await evaluate(node.args[0]);
        for (const arg of node.args.slice(1)) {
          const next = await evaluate(arg);
          const [tt, ff] = await andMany(party, [
            [acc.t, next.t],
            [acc.f, next.f],
          ]);
          acc =
            node.kind === "and"
              ? { t: tt, f: xorBits(party, xorBits(party, acc.f, next.f), ff) }
              : { t: xorBits(party, xorBits(party, acc.t, next.t), tt), f: ff };
        }
        return acc;
      }
    }
  };
  return (await evaluate(filter)).t;
}
