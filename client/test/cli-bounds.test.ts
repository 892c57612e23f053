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

describe("scmpc seller upload --type and --categories", () => {
  const upload = async (...flags: string[]) => {
    const errors: string[] = [];
    const code = await main(["seller", "upload", "missing.csv", "--name", "n", "--price", "1", ...flags], { log: () => undefined, error: (line: string) => errors.push(line) });
    return { code, errors };
  };

  it("refuses a malformed, repeated or stray type or dictionary as a usage error", async () => {
    for (const [flags, message] of [
      [["--type", "hired"], /--type takes <column>=<type> \(e\.g\. hired=date, price=decimal:2\); got "hired"/],
      [["--type", "hired=datetime"], /--type hired: type "datetime" is not one of int, decimal, decimal:<places> \(0 to 12\), category, bool, date/],
      [["--type", "a=int,a=bool"], /--type gives column "a" twice/],
      [["--categories", "dept"], /--categories takes <column>=<v1>,<v2>,\.\.\. with no empty value/],
      [["--categories", "dept=eng,,ops"], /with no empty value \(e\.g\. dept=eng,ops,sales\); got "dept=eng,,ops"/],
      [["--categories", "dept=a", "--categories", "dept=b"], /--categories gives column "dept" twice/],
      [["--column", "a", "--type", "b=int"], /--type names "b", not among the --column\(s\) shared/],
      [["--column", "a", "--categories", "b=x,y"], /--categories names "b", not among the --column\(s\) shared/],
    ] as const) {
      const { code, errors } = await upload(...flags);
      assert.equal(code, 2, flags.join(" "));
      assert.match(errors[0], message);
    }
  });

  it("takes every column without --column: the command goes on to read the stack and the table", async () => {
    const home = process.env.SCMPC_HOME;
    process.env.SCMPC_HOME = "/nonexistent-scmpc-home";
    try {
      const { code, errors } = await upload("--type", "hired=date,price=decimal:2", "--categories", "dept=eng,ops,sales");
      // Parsed: it fails for want of a running stack, not of its arguments.
      assert.equal(code, 1, errors.join("\n"));
      assert.doesNotMatch(errors[0], /--column|--type|--categories|Unknown option/);
    } finally {
      if (home === undefined) delete process.env.SCMPC_HOME;
      else process.env.SCMPC_HOME = home;
    }
  });
});

describe("scmpc --exact", () => {
  const call = async (...args: string[]) => {
    const errors: string[] = [];
    const code = await main(args, { log: () => undefined, error: (line: string) => errors.push(line) });
    return { code, errors };
  };

  it("is a buyer's switch and a seller's list, wherever options put the command group", async () => {
    // A seller's --exact takes algorithms: an unknown one is a usage error naming it.
    const seller = await call("--account", "seller2", "seller", "policy", "--dataset", `0x${"ab".repeat(32)}`, "--exact", "nonsense");
    assert.equal(seller.code, 2);
    assert.match(seller.errors[0], /unknown algorithm "nonsense"/);
    // A buyer's --exact takes nothing: after --account, the group is still "buyer", so the
    // algorithm after --exact stays a positional and parsing succeeds (the command then fails
    // for want of a running stack, not of its arguments).
    const home = process.env.SCMPC_HOME;
    process.env.SCMPC_HOME = "/nonexistent-scmpc-home";
    try {
      const buyer = await call("--account", "buyer2", "buyer", "request", "--exact", "sum", "--dataset", `0x${"ab".repeat(32)}`, "--column", "salary");
      assert.equal(buyer.code, 1, buyer.errors.join("\n"));
      assert.doesNotMatch(buyer.errors[0], /--exact|Unknown option|argument/);
    } finally {
      if (home === undefined) delete process.env.SCMPC_HOME;
      else process.env.SCMPC_HOME = home;
    }
  });
});
