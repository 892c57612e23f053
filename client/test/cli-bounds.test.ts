import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { main } from "../src/cli.ts";

// `--bounds` is parsed and checked against the shared columns before anything
// touches the chain or the file (usage errors exit with code 2).
async function upload(...bounds: string[]): Promise<{ code: number; errors: string[] }> {
  const errors: string[] = [];
  const out = { log: () => undefined, error: (line: string) => errors.push(line) };
  const args = ["seller", "upload", "missing.csv", "--name", "n", "--column", "a,b", "--price", "1", ...bounds.flatMap((b) => ["--bounds", b])];
  return { code: await main(args, out), errors };
}

describe("scmpc seller upload --bounds", () => {
  it("refuses a malformed, repeated or stray bound as a usage error", async () => {
    for (const [bounds, message] of [
      [["a=1"], /--bounds takes <column>=<lo>:<hi> \(e\.g\. salary=30000:200000\); got "a=1"/],
      [["a=1:2:3"], /got "a=1:2:3"/],
      [["a=-5:-1", "a=1:2"], /--bounds gives column "a" twice/],
      [["a=1:2,z=1:2"], /--bounds names "z", not among the --column\(s\) shared/],
    ] as const) {
      const { code, errors } = await upload(...bounds);
      assert.equal(code, 2, bounds.join(" "));
      assert.match(errors[0], message);
    }
  });
});
