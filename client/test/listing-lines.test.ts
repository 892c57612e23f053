import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { describeColumn } from "../src/column-description.ts";
import { listingLines, type DatasetListing } from "../src/dataset-policy.ts";

// What `scmpc market show` prints of a schema: each column's type and public
// domain, read from the on-chain schema text.
describe("market show: a typed schema", () => {
  const listing: DatasetListing = {
    id: `0x${"ab".repeat(32)}`,
    address: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8/staff",
    seller: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    name: "staff",
    active: true,
    rowCount: 120,
    version: 1,
    price: "2.0",
    stake: "10.0",
    schema: [
      { name: "salary", scale: 0, lo: "0", hi: "200000" },
      { name: "bonus", scale: 2, lo: "0.00", hi: "10000.00" },
      { name: "dept", scale: 0, lo: "0", hi: "2", type: "category", categories: ["eng", "ops", "sales"] },
      { name: "hired", scale: 0, lo: "17897", hi: "20088", type: "date" },
      { name: "remote", scale: 0, lo: "0", hi: "1", type: "bool" },
    ],
    policy: { allowedAlgorithms: ["sum@1"], exactAlgorithms: [], minRows: 10, budget: { total: "10", spent: "0", remaining: "10" } },
    payouts: [],
    subscription: null,
    trial: null,
  };

  it("prints one line per column: its type, then its bounds, dates or dictionary", () => {
    const lines = listingLines(listing);
    const at = lines.indexOf("  columns  (types, bounds and category dictionaries are public; any cell may be missing)");
    assert.ok(at > 0, lines.join("\n"));
    assert.deepEqual(lines.slice(at + 1, at + 6), [
      "    salary  int [0, 200000]",
      "    bonus   decimal:2 [0.00, 10000.00]",
      "    dept    category {eng, ops, sales}",
      "    hired   date 2019-01-01..2024-12-31",
      "    remote  bool",
    ]);
  });

  it("names the payees sharing the revenue, and only when there are some", () => {
    assert.ok(!listingLines(listing).some((line) => line.startsWith("  payouts")));
    const shared = listingLines({ ...listing, payouts: [{ account: "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC", share: "12.5%" }] });
    assert.equal(shared.at(-1), "  payouts  0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC 12.5%; the seller the rest");
  });

  it("offers the trial a seller grants, and nothing when there is none", () => {
    assert.ok(!listingLines(listing).some((line) => line.startsWith("  trial")));
    const offered = listingLines({ ...listing, trial: { perBuyer: 2, epsilon: "0.1", remaining: 40 } });
    assert.ok(offered.includes("  trial    2 free computation(s) per buyer at ε 0.1 at most, 40 left in all (buyer request --trial)"), offered.join("\n"));
  });

  it("names the version of a refreshed dataset's rows, and none before its first refresh", () => {
    assert.ok(listingLines(listing).includes("  rows     120 (at least 10 of them in any result)"), listingLines(listing).join("\n"));
    assert.ok(listingLines({ ...listing, version: 3 }).includes("  rows     120 (at least 10 of them in any result), version 3"));
  });

  it("cuts a long dictionary short, saying how many categories there are", () => {
    const categories = Array.from({ length: 30 }, (_, i) => `r${i}`);
    const text = describeColumn({ name: "region", scale: 0, lo: "0", hi: "29", type: "category", categories });
    assert.equal(text, `category {${categories.slice(0, 20).join(", ")}, … (30 in all)}`);
  });
});
