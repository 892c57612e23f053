import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatPeriod } from "../src/dataset-policy.ts";
import { parsePeriod } from "../src/subscriptions.ts";

// `scmpc seller subscription --period`: a subscription period in words.
describe("subscription periods", () => {
  it("reads s, m, h, d and w, and prints the largest unit that divides the period", () => {
    assert.equal(parsePeriod("30d"), 30 * 86_400);
    assert.equal(parsePeriod("12h"), 12 * 3600);
    assert.equal(parsePeriod("2w"), 14 * 86_400);
    assert.equal(parsePeriod("90m"), 5400);
    assert.equal(parsePeriod("3600s"), 3600);
    assert.equal(formatPeriod(30 * 86_400), "30d");
    assert.equal(formatPeriod(14 * 86_400), "2w");
    assert.equal(formatPeriod(5400), "90m");
    assert.equal(formatPeriod(61), "61s");
  });

  it("refuses anything else, naming the forms it takes", () => {
    for (const bad of ["30", "0d", "1y", "-2d", "d", "1.5h"]) assert.throws(() => parsePeriod(bad), /a period is a positive whole number of s, m, h, d or w/);
  });
});
