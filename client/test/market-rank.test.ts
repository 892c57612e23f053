import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { marketLines, rankOf, type MarketEntry } from "../src/market-list.ts";

// The market's ranking: a documented function of on-chain facts.
describe("market ranking", () => {
  const base = { paidComputations: 0, subscribers: 0, stake: 0, ageDays: 0, penalties: 0 };

  it("is the documented sum of its terms, to one decimal", () => {
    assert.equal(rankOf(base), 0);
    assert.equal(rankOf({ ...base, paidComputations: 7 }), 30);
    assert.equal(rankOf({ ...base, subscribers: 3 }), 20);
    assert.equal(rankOf({ ...base, stake: 99 }), 10);
    assert.equal(rankOf({ ...base, ageDays: 730 }), 5);
    assert.equal(rankOf({ ...base, ageDays: 73 }), 1);
    assert.equal(rankOf({ ...base, paidComputations: 1, penalties: 1 }), -15);
  });

  it("rises with sales, subscribers, stake and age, and falls with every penalty", () => {
    const r = rankOf({ paidComputations: 4, subscribers: 2, stake: 50, ageDays: 90, penalties: 0 });
    assert.ok(rankOf({ paidComputations: 5, subscribers: 2, stake: 50, ageDays: 90, penalties: 0 }) > r);
    assert.ok(rankOf({ paidComputations: 4, subscribers: 3, stake: 50, ageDays: 90, penalties: 0 }) > r);
    assert.ok(rankOf({ paidComputations: 4, subscribers: 2, stake: 500, ageDays: 90, penalties: 0 }) > r);
    assert.ok(rankOf({ paidComputations: 4, subscribers: 2, stake: 50, ageDays: 120, penalties: 0 }) > r);
    assert.ok(rankOf({ paidComputations: 4, subscribers: 2, stake: 50, ageDays: 90, penalties: 1 }) < r);
  });

  it("prints an aligned table, paused datasets marked", () => {
    const entry = (name: string, rank: number, active: boolean): MarketEntry => ({
      id: `0x${"ab".repeat(32)}`,
      address: `0x70997970C51812dc3A010C7d01b50e0d17dc79C8/${name}`,
      name,
      seller: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
      price: "2.0",
      rank,
      budgetLeft: "9.5",
      subscription: null,
      active,
      rowCount: 10,
      columns: 2,
      stake: "10.0",
      facts: { paidComputations: 3, subscribers: 0, penalties: 0, ageDays: 1 },
      registeredAt: "2026-12-01T00:00:00.000Z",
      allowedAlgorithms: ["sum@1"],
    });
    const lines = marketLines([entry("salaries", 25.3, true), entry("a-much-longer-dataset-name", 5, false)]);
    assert.equal(lines.length, 3);
    assert.match(lines[0], /^rank {2}dataset +price +budget +size +last 30 d$/);
    assert.match(lines[1], /^25\.3 {2}0x70997970C51812dc3A010C7d01b50e0d17dc79C8\/salaries +2\.0 mUSD {2}ε 9\.5 left {2}10 rows × 2 {2}3 paid$/);
    assert.match(lines[2], /^ 5\.0 .*\(paused\)$/);
    assert.deepEqual(marketLines([]), ["no datasets listed"]);
  });
});
