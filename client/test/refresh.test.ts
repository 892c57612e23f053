import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { schemaDifferences } from "../src/refresh.ts";

describe("a new version's schema", () => {
  const registered = [
    { name: "salary", scale: 0, lo: "30000", hi: "100000" },
    { name: "bonus", scale: 2, lo: "0.00", hi: "10000.00" },
    { name: "dept", scale: 0, lo: "0", hi: "2", type: "category" as const, categories: ["eng", "ops", "sales"] },
  ];

  it("is the registered one: no difference", () => {
    assert.deepEqual(schemaDifferences(registered, registered.map((c) => ({ ...c }))), []);
  });

  it("names each column that is missing or differs in type, bounds or dictionary", () => {
    const found = [
      { name: "salary", scale: 0, lo: "0", hi: "100000" },
      { name: "dept", scale: 0, lo: "0", hi: "3", type: "category" as const, categories: ["eng", "hr", "ops", "sales"] },
    ];
    assert.deepEqual(schemaDifferences(registered, found), [
      'column "salary" is int 0..100000, registered as int 30000..100000',
      'column "bonus" is missing',
      'column "dept" is category 0..3 {eng,hr,ops,sales}, registered as category 0..2 {eng,ops,sales}',
    ]);
  });

  it("keeps the registered order", () => {
    assert.deepEqual(schemaDifferences(registered, [registered[1], registered[0], registered[2]]), ["the columns are not in the registered order"]);
  });
});
