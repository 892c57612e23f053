import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { paramsFromFlags } from "../src/cli.ts";

// `scmpc buyer request <algorithm>` flags → the params JSON sent on-chain.

describe("scmpc buyer request: parameters from flags", () => {
  it("regression: one --x is the simple form, a comma list the multiple one", () => {
    assert.equal(paramsFromFlags("regression@1", { x: "age", y: "salary" }), '{"x":"age","y":"salary"}');
    assert.equal(paramsFromFlags("regression@1", { x: "age, tenure,level", y: "salary" }), '{"x":["age","tenure","level"],"y":"salary"}');
    assert.throws(() => paramsFromFlags("regression@1", { x: "age" }), /needs --x and --y/);
  });

  it("correlation --columns and ttest --column --by --groups", () => {
    assert.equal(paramsFromFlags("correlation@1", { columns: "a,b,c" }), '{"columns":["a","b","c"]}');
    assert.throws(() => paramsFromFlags("correlation@1", {}), /correlation needs --columns/);
    assert.equal(paramsFromFlags("ttest@1", { column: ["salary"], by: "dept", groups: "eng,ops" }), '{"column":"salary","by":"dept","groups":["eng","ops"]}');
    assert.throws(() => paramsFromFlags("ttest@1", { column: ["salary"], by: "dept" }), /ttest needs --column, --by and --groups/);
  });
});
