import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatShare } from "../src/dataset-policy.ts";
import { parsePayees } from "../src/payouts.ts";

// `scmpc seller payouts --to`: who shares a dataset's revenue, read and
// checked before any transaction.
const A = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const B = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";

describe("seller payouts --to", () => {
  it("reads addresses and percentages with up to two decimals, as basis points", () => {
    assert.deepEqual(parsePayees(`${A.toLowerCase()}=10%, ${B}=2.55`), [
      { account: A, bps: 1000 },
      { account: B, bps: 255 },
    ]);
    assert.deepEqual(parsePayees("none"), []);
    assert.deepEqual(parsePayees(`${A}=100`), [{ account: A, bps: 10_000 }]);
  });

  it("refuses a malformed entry, a zero or excessive share, a repeat, a total over 100% and too many payees", () => {
    assert.throws(() => parsePayees(`${A}`), /a payee is <address>=<percent>/);
    assert.throws(() => parsePayees(`0x1234=5%`), /a payee is <address>=<percent>/);
    assert.throws(() => parsePayees(`${A}=1.234%`), /at most two decimals/);
    assert.throws(() => parsePayees(`${A}=0%`), /more than 0% and at most 100%/);
    assert.throws(() => parsePayees(`${A}=100.01%`), /more than 0% and at most 100%/);
    assert.throws(() => parsePayees(`${A}=5%,${A.toLowerCase()}=5%`), /named twice/);
    assert.throws(() => parsePayees(`${A}=60%,${B}=40.01%`), /add up to 100.01%, more than 100%/);
    const nine = Array.from({ length: 9 }, (_, i) => `0x${(i + 1).toString(16).padStart(40, "0")}=1%`).join(",");
    assert.throws(() => parsePayees(nine), /at most 8 payees/);
  });

  it("prints shares as short percentages", () => {
    assert.equal(formatShare(1000), "10%");
    assert.equal(formatShare(1250), "12.5%");
    assert.equal(formatShare(1), "0.01%");
    assert.equal(formatShare(10_000), "100%");
  });
});
