import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Command } from "commander";
import { buildProgram, main } from "../src/cli.ts";
import { accountOf, type CliContext } from "../src/commands/context.ts";

// The CLI's help and parsing, in process: every command documents its options
// with an example, usage mistakes exit 2 naming what is wrong, repeatable
// options accumulate and --account is read wherever it stands.

function context(): CliContext & { lines: string[]; errors: string[] } {
  const lines: string[] = [];
  const errors: string[] = [];
  return { lines, errors, out: { log: (line) => lines.push(line), error: (line) => errors.push(line) }, env: {}, progressStream: undefined, exitCode: 0 };
}

async function run(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const { out, lines, errors } = context();
  const code = await main(argv, out, { env: { SCMPC_HOME: "/nonexistent-scmpc-home" }, progressStream: undefined });
  return { code, stdout: lines.join("\n"), stderr: errors.join("\n") };
}

/** Each command's words after `scmpc`, groups included. */
function commandPaths(command: Command, prefix: string[] = []): { path: string[]; command: Command }[] {
  return command.commands.flatMap((c) => [{ path: [...prefix, c.name()], command: c }, ...commandPaths(c, [...prefix, c.name()])]);
}

const program = buildProgram(context());
const paths = commandPaths(program).filter(({ command }) => command.name() !== "help");
const leaves = paths.filter(({ command }) => command.commands.length === 0);

describe("scmpc --help", () => {
  it("lists the roles and every command with its arguments", async () => {
    const { code, stdout } = await run("--help");
    assert.equal(code, 0);
    for (const role of ["Operators:", "Sellers:", "Buyers:"]) assert.match(stdout, new RegExp(`^${role}$`, "m"));
    for (const { path, command } of leaves) {
      const args = command.registeredArguments.map((a) => `<${a.name()}>`).join(" ");
      assert.ok(stdout.includes(`scmpc ${[...path, args].join(" ").trim()}  `), `scmpc --help lists ${path.join(" ")}`);
    }
    assert.match(stdout, /SCMPC_PRIVATE_KEY/);
    assert.match(stdout, /SCMPC_HOME/);
    // With no arguments at all, the same help, and success.
    assert.deepEqual(await run(), { code: 0, stdout, stderr: "" });
  });

  it("knows every command of each role", () => {
    assert.deepEqual(
      leaves.map(({ path }) => path.join(" ")),
      [
        "up",
        "tls create",
        "tls show",
        "seller upload",
        "seller refresh",
        "seller policy",
        "seller balance",
        "seller withdraw",
        "seller price",
        "seller subscription",
        "seller trial",
        "seller payouts",
        "seller pause",
        "seller resume",
        "seller deregister",
        "seller withdraw-stake",
        "market list",
        "market show",
        "buyer request",
        "buyer query",
        "buyer subscribe",
        "buyer renew",
        "buyer unsubscribe",
        "buyer subscriptions",
        "buyer prepay",
        "buyer fee-credits",
        "buyer reclaim-fees",
        "buyer refund",
        "buyer punish",
        "buyer balance",
        "buyer withdraw",
        "algorithms",
      ],
    );
  });

  for (const { path, command } of paths) {
    it(`scmpc ${path.join(" ")} --help lists its options with their descriptions, the global ones, and an example`, async () => {
      const { code, stdout, stderr } = await run(...path, "--help");
      assert.equal(code, 0, stderr);
      assert.match(stdout, new RegExp(`^Usage: scmpc ${path.join(" ")} `, "m"));
      for (const option of command.options) {
        assert.ok(stdout.includes(option.flags), `${option.flags} listed`);
        assert.ok(option.description.length > 0, `${option.flags} described`);
        assert.ok(stdout.includes(option.description.split(" ").slice(0, 2).join(" ")), `${option.flags}'s description shown`);
      }
      for (const argument of command.registeredArguments) assert.ok(argument.description.length > 0, `<${argument.name()}> described`);
      assert.match(stdout, /--account <role\|index>/);
      assert.match(stdout, /^Examples?:\n {2}\$ scmpc /m);
      assert.match(stdout, /SCMPC_PRIVATE_KEY/);
    });
  }

  it("offers --json on every command a script reads, up (a long-running process) aside", () => {
    const without = leaves.filter(({ command }) => !command.options.some((o) => o.long === "--json")).map(({ path }) => path.join(" "));
    assert.deepEqual(without, ["up"]);
  });
});

describe("scmpc usage mistakes", () => {
  it("exit 2 with a message naming what is wrong, then the command's usage", async () => {
    for (const [argv, message] of [
      [["fly"], /^error: unknown command 'fly'\nusage: scmpc \[options\] \[command\]/],
      [["seller"], /^error: scmpc seller needs a command\n/],
      [["seller", "uplod"], /^error: unknown command 'uplod'/],
      [["seller", "upload", "t.csv", "--price", "1"], /^error: required option '--name <name>' not specified\nusage: scmpc seller upload \[options\] <file>\n\(scmpc seller upload --help lists its options, with an example\)/],
      [["seller", "upload", "--name", "n", "--price", "1"], /^error: missing required argument 'file'/],
      [["seller", "upload", "t.csv", "--name", "n", "--price", "1", "--colum", "a"], /^error: unknown option '--colum'\n\(Did you mean --column\?\)/],
      [["seller", "price", "--dataset", "d"], /^error: required option '--price <amount>' not specified/],
      [["seller", "policy", "--dataset", "d"], /^error: seller policy needs at least one of --allow, --exact, --budget, --min-rows/],
      [["seller", "upload", "t.csv", "--name", "n", "--price", "1", "--min-rows", "ten"], /^error: --min-rows must be a non-negative integer; got "ten"/],
      [["buyer", "request", "sum"], /^error: required option '--dataset <dataset>' not specified/],
      [["buyer", "request", "median", "--dataset", "d"], /^error: unknown algorithm "median"/],
      [["buyer", "request", "ttest", "--dataset", "d", "--column", "salary"], /^error: ttest needs --column, --by and --groups <g1,g2>/],
      [["buyer", "query", "SELECT count(*) FROM \"x\"", "GROUP"], /^error: buyer query takes one query in quotes; also got "GROUP"/],
      [["buyer", "refund"], /^error: required option '--request <id>' not specified/],
      [["market", "list", "--sort", "popular"], /^error: --sort is rank, price or new; got "popular"/],
      [["market", "show"], /^error: missing required argument 'dataset'/],
      [["tls", "create", "--dir", "/tmp/x", "--name", "7=h"], /^error: --name must be <host index 0-2>=<name>/],
      [["up", "now"], /^error: too many arguments for 'up'/],
    ] as const) {
      const { code, stdout, stderr } = await run(...argv);
      assert.equal(code, 2, `${argv.join(" ")}: ${stderr}`);
      assert.match(stderr, message, argv.join(" "));
      assert.equal(stdout, "", argv.join(" "));
    }
  });

  it("a failure past parsing exits 1 with one error line", async () => {
    const { code, stderr } = await run("seller", "balance", "--json");
    assert.equal(code, 1);
    assert.equal(stderr, "error: no local stack state at /nonexistent-scmpc-home/state.json: start one with `scmpc up` (or set SCMPC_HOME)");
  });
});

describe("scmpc parsing", () => {
  /** Parses `argv` with the named command's action replaced, and returns what the action saw. */
  async function parsed(argv: string[], path: string[]): Promise<{ opts: Record<string, unknown>; args: string[]; account: string | undefined }> {
    const program = buildProgram(context());
    let command = program;
    for (const name of path) command = command.commands.find((c) => c.name() === name)!;
    let seen: { opts: Record<string, unknown>; args: string[]; account: string | undefined } | undefined;
    command.action((...args: unknown[]) => {
      const self = args[args.length - 1] as Command;
      seen = { opts: self.opts(), args: self.args, account: accountOf(self) };
    });
    await program.parseAsync(argv, { from: "user" });
    return seen!;
  }

  it("accumulates repeated options in order", async () => {
    const upload = await parsed(
      ["seller", "upload", "t.csv", "--name", "n", "--price", "1", "--column", "a", "--column", "b,c", "--type", "a=int", "--type", "b=date", "--categories", "c=x,y", "--bounds", "a=0:9", "--bounds", "b=2020-01-01:2024-12-31"],
      ["seller", "upload"],
    );
    assert.deepEqual(upload.args, ["t.csv"]);
    assert.deepEqual(upload.opts, {
      name: "n",
      price: "1",
      column: ["a", "b,c"],
      type: ["a=int", "b=date"],
      categories: ["c=x,y"],
      bounds: ["a=0:9", "b=2020-01-01:2024-12-31"],
    });
    const request = await parsed(["buyer", "request", "mean", "--dataset", "a", "--dataset", "b", "--column", "salary"], ["buyer", "request"]);
    assert.deepEqual(request.opts, { dataset: ["a", "b"], column: ["salary"] });
    const tls = await parsed(["tls", "create", "--dir", "d", "--name", "0=a", "--name", "1=b,c"], ["tls", "create"]);
    assert.deepEqual(tls.opts.name, ["0=a", "1=b,c"]);
  });

  it("reads --account before or after the command, and a buyer's --exact as a switch, a seller's as a list", async () => {
    assert.equal((await parsed(["--account", "buyer2", "buyer", "request", "--exact", "sum", "--dataset", "d"], ["buyer", "request"])).account, "buyer2");
    const after = await parsed(["buyer", "request", "--exact", "sum", "--dataset", "d", "--account", "3"], ["buyer", "request"]);
    assert.deepEqual([after.account, after.args, after.opts.exact], ["3", ["sum"], true]);
    const seller = await parsed(["seller", "policy", "--dataset", "d", "--exact", "sum,mean", "--account", "seller2"], ["seller", "policy"]);
    assert.deepEqual([seller.account, seller.opts.exact], ["seller2", "sum,mean"]);
    // A negative threshold is the option's value, not an option.
    assert.equal((await parsed(["buyer", "request", "count-if", "--dataset", "d", "--column", "t", "--op", "lt", "--threshold", "-5"], ["buyer", "request"])).opts.threshold, "-5");
  });
});
