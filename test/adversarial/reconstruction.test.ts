import assert from "node:assert/strict";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { Contract } from "ethers";
import { loadArtifact } from "@scmpc/contracts";
import { buyComputation } from "../../client/src/buyer.ts";
import { uploadDataset, type UploadedDataset } from "../../client/src/seller.ts";
import { SAMPLE, startMarket, type Market } from "./support.ts";

// The curious buyer who simply pays: histograms with adaptively narrowed
// public edges pin the sample's salaries down one by one. Against exact
// answers (a seller who opted in) the attack recovers nearly every salary;
// against the default differentially private answers it recovers fewer than
// half before the dataset's budget runs out, and the purchase after that is
// refused before anything is paid.
const MAX_EDGES = 64;
const SALARIES = [72000n, 81500n, 54000n, 49800n, 41250n, 95400n, 39900n, 67300n, 70150n, 52600n];

/** Intervals [lo, hi) the attacker believes hold salaries, with how many. */
type Candidate = { lo: bigint; hi: bigint; count: number };

/** Edges that keep every candidate's ends and split its inside evenly, at most MAX_EDGES in all. */
function edgesFor(candidates: readonly Candidate[]): bigint[] {
  const kept = [...candidates].sort((a, b) => b.count - a.count).slice(0, Math.floor(MAX_EDGES / 3));
  const inner = Math.floor((MAX_EDGES - 2 * kept.length) / Math.max(1, kept.length));
  const edges = new Set<bigint>();
  for (const c of kept) {
    edges.add(c.lo);
    edges.add(c.hi);
    const width = c.hi - c.lo;
    const parts = BigInt(Math.min(inner + 1, Number(width)));
    for (let k = 1n; k < parts; k++) edges.add(c.lo + (width * k) / parts);
  }
  return [...edges].sort((a, b) => (a < b ? -1 : 1)).slice(0, MAX_EDGES);
}

/**
 * The attacker's next beliefs: the buckets, inside a current candidate, whose
 * count rounds to one or more. `bounds` are −∞ and the edges; `counts[j]` is
 * the count of [bounds[j], bounds[j + 1]).
 */
function narrow(candidates: readonly Candidate[], bounds: readonly bigint[], counts: readonly number[]): Candidate[] {
  const next: Candidate[] = [];
  for (let j = 1; j < bounds.length; j++) {
    const count = Math.round(counts[j - 1]);
    const [lo, hi] = [bounds[j - 1], bounds[j]];
    if (count >= 1 && candidates.some((c) => c.lo <= lo && hi <= c.hi)) next.push({ lo, hi, count });
  }
  return next;
}

/** How many salaries the attacker's final beliefs name exactly (width-1 buckets, counted as a multiset). */
function recovered(candidates: readonly Candidate[]): number {
  const left = [...SALARIES];
  let hits = 0;
  for (const c of candidates) {
    if (c.hi - c.lo !== 1n) continue;
    for (let k = 0; k < c.count; k++) {
      const at = left.indexOf(c.lo);
      if (at < 0) break;
      left.splice(at, 1);
      hits++;
    }
  }
  return hits;
}

describe("adversarial: rebuilding rows from paid histograms", { timeout: 900_000 }, () => {
  let market: Market;
  let exact: UploadedDataset;
  let dp: UploadedDataset;

  before(async () => {
    market = await startMarket();
    const sell = (name: string, exactAlgorithms: string[]) =>
      uploadDataset({ state: market.stack.state, seller: market.seller, file: SAMPLE, name, columns: ["salary"], price: "1", exact: exactAlgorithms });
    exact = await sell("salaries-exact", ["histogram@1"]);
    dp = await sell("salaries-dp", []);
  });
  after(async () => {
    await market?.close();
  });

  /** Runs the adaptive attack for at most `rounds` purchases; returns the beliefs and the purchases made. */
  async function attack(dataset: UploadedDataset, options: { rounds: number; exact: boolean }): Promise<{ beliefs: Candidate[]; purchases: number; stoppedBy?: Error }> {
    const column = dataset.columns[0];
    let beliefs: Candidate[] = [{ lo: BigInt(column.lo), hi: BigInt(column.hi) + 1n, count: SALARIES.length }];
    let purchases = 0;
    const everything: Candidate[] = [...beliefs];
    for (let round = 0; round < options.rounds; round++) {
      // Done once every belief is one value (exact answers get there); noisy answers may leave none: start over.
      if (options.exact && beliefs.every((c) => c.hi - c.lo === 1n)) break;
      if (beliefs.length === 0) beliefs = everything;
      const edges = edgesFor(beliefs);
      let result;
      try {
        result = await buyComputation({
          state: market.stack.state,
          buyer: market.buyer,
          algorithm: "histogram@1",
          datasetIds: [dataset.datasetId],
          params: JSON.stringify({ column: "salary", edges: edges.map(String) }),
          keyDir: path.join(market.stack.dir, "buyer-keys"),
          ...(options.exact ? { exact: true } : { epsilon: "1" }),
        });
      } catch (err) {
        return { beliefs, purchases, stoppedBy: err as Error };
      }
      purchases++;
      const counts = (result.result as { counts: string[] }).counts.map(Number);
      // Buckets: (−∞, e1), [e1, e2), ... ; counts[j] is the bucket ending at edges[j].
      beliefs = narrow(beliefs, [-(1n << 62n), ...edges], counts);
    }
    return { beliefs, purchases };
  }

  it("against exact answers, six purchases recover nearly every salary (the attack is real)", async (t) => {
    const { beliefs, purchases } = await attack(exact, { rounds: 8, exact: true });
    t.diagnostic(`exact attack: ${purchases} purchases, recovered ${recovered(beliefs)} of 10`);
    assert.ok(purchases <= 8);
    assert.ok(recovered(beliefs) >= 8, `recovered ${recovered(beliefs)} of 10 in ${purchases} purchases`);
  });

  it("against the default DP answers, fewer than half before the budget runs out; then the purchase is refused before payment", async (t) => {
    const { beliefs, purchases, stoppedBy } = await attack(dp, { rounds: 20, exact: false });
    t.diagnostic(`DP attack: ${purchases} purchases at ε = 1, recovered ${recovered(beliefs)} of 10`);
    assert.equal(purchases, 10, "the default budget of ε = 10 pays for ten purchases at ε = 1");
    assert.ok(recovered(beliefs) < 5, `recovered ${recovered(beliefs)} of 10`);
    assert.match(String(stoppedBy?.message), /budget/);
    // Refused by the buyer's own client, before anything was paid.
    const token = new Contract(market.stack.state.contracts.paymentToken, loadArtifact("DevPaymentToken").abi, market.provider);
    const balance: bigint = await token.balanceOf(await market.buyer.getAddress());
    const head = await market.provider.getBlockNumber();
    await assert.rejects(attack(dp, { rounds: 1, exact: false }).then((r) => (r.stoppedBy ? Promise.reject(r.stoppedBy) : r)), /budget/);
    assert.equal(await token.balanceOf(await market.buyer.getAddress()), balance);
    assert.equal(await market.provider.getBlockNumber(), head);
  });
});
