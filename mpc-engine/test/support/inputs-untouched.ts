// Test support: hosts run the protocols on views of the stored share's
// memory (no copy), so no protocol may write to its inputs. Every run through
// the test harnesses checks it.
import assert from "node:assert/strict";
import type { ArithShare } from "../../src/protocol/shares.ts";

/** Copies every component of every party's share, to compare with after a run. */
export function snapshotInputs(shares: Record<string, ArithShare[]>): () => void {
  const copies = Object.entries(shares).map(([name, parties]) => [name, parties.map((s) => ({ a: s.a.slice(), b: s.b.slice() }))] as const);
  return () => {
    for (const [name, parties] of copies) {
      parties.forEach((copy, i) => {
        assert.deepEqual(shares[name][i].a, copy.a, `party ${i} wrote to its input ${name} (component a)`);
        assert.deepEqual(shares[name][i].b, copy.b, `party ${i} wrote to its input ${name} (component b)`);
      });
    }
  };
}
