import assert from "node:assert/strict";
import path from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { TableInputError } from "../src/index.ts";
import { readTableFile } from "../src/node.ts";

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures");

describe("reading a table file from disk", () => {
  it("takes the format from the path and names the path in messages", async () => {
    const table = await readTableFile(path.join(fixtures, "mixed.parquet"), { columns: ["age"] });
    assert.equal(table.columns[0].plaintextSum, "197");
    const missing = path.join(fixtures, "absent.csv");
    await assert.rejects(readTableFile(missing), (err: Error) => err instanceof TableInputError && err.message.startsWith(`cannot read ${missing}: `));
  });
});
