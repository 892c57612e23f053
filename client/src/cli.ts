import { Command, CommanderError, Help, type Option } from "commander";
import { addAlgorithmsCommand } from "./commands/algorithms.ts";
import { addBuyerCommands } from "./commands/buyer.ts";
import type { CliContext, Out } from "./commands/context.ts";
import { addMarketCommands } from "./commands/market.ts";
import { addOperatorCommands } from "./commands/operator.ts";
import { addSellerCommands } from "./commands/seller.ts";

export { paramsFromFlags, queryLines } from "./commands/buyer.ts";
export type { Out } from "./commands/context.ts";

const ENVIRONMENT = `
Environment:
  SCMPC_PRIVATE_KEY   act with this key instead of a development account
  SCMPC_HOME          directory of the stack state file, logs and buyer keys (default ./.scmpc)`;

const ROLES = "deployer, relay, seller, buyer, seller2, buyer2";

/** `scmpc seller upload`. */
function fullName(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c !== null; c = c.parent) names.unshift(c.name());
  return names.join(" ");
}

/** The command and every command under it, depth first. */
function everyCommand(command: Command): Command[] {
  return [command, ...command.commands.flatMap(everyCommand)];
}

/** The commands a user runs (not the groups), with the heading of the role each belongs to. */
function leaves(program: Command): { role: string; command: Command }[] {
  return program.commands.flatMap((top) =>
    everyCommand(top)
      .filter((c) => c.commands.length === 0)
      .map((command) => ({ role: top.helpGroup().replace(/:$/, ""), command })),
  );
}

/** `scmpc --help`'s index of every command, by role, each with its arguments and summary. */
function commandIndex(program: Command): string {
  const entries = leaves(program).map(({ role, command }) => ({
    role,
    term: [fullName(command), ...command.registeredArguments.map((a) => (a.required ? `<${a.name()}>` : `[${a.name()}]`))].join(" "),
    summary: command.summary(),
  }));
  const width = Math.max(...entries.map((e) => e.term.length));
  const lines = ["", "Every command, by role (scmpc <role> <command> --help lists its options, with an example):"];
  for (const role of [...new Set(entries.map((e) => e.role))]) {
    lines.push(`  ${role}`);
    for (const e of entries.filter((x) => x.role === role)) lines.push(`    ${e.term.padEnd(width)}  ${e.summary}`);
  }
  lines.push("", `Datasets are named by id, by <seller address>/<name>, or by <name> alone for a dataset of the account the command runs as.`);
  return lines.join("\n");
}

/**
 * Builds the `scmpc` program: one command group per role (operators: `up`,
 * `tls`; sellers: `seller`; buyers: `market`, `buyer`, `algorithms`), each
 * command with its own help and example. Its output goes to `ctx.out`; it
 * never exits the process (commander's exits become {@link CommanderError}s).
 *
 * @example
 * await buildProgram({ out: console, env: process.env, progressStream: undefined, exitCode: 0 }).parseAsync(["algorithms"], { from: "user" });
 */
export function buildProgram(ctx: CliContext): Command {
  const { out } = ctx;
  // Set before the commands are added: each copies its parent's output, help and exit settings.
  const program = new Command("scmpc")
    .description("scmpc — the sc-mpc data market: sellers secret-share tables to three MPC hosts, buyers pay on-chain for aggregate results.")
    .option("--account <role|index>", `act as a local development account: a role (${ROLES}) or an index; default the command's own role`)
    .configureOutput({
      writeOut: (text) => out.log(text.replace(/\n$/, "")),
      writeErr: (text) => out.error(text.replace(/\n$/, "")),
    })
    .configureHelp({
      showGlobalOptions: true,
      // Commander's usage line says only [options]: the help marks the ones a command cannot run without.
      optionDescription: (option: Option) => `${Help.prototype.optionDescription.call(new Help(), option)}${option.mandatory ? " (required)" : ""}`,
    })
    .exitOverride()
    .addHelpText("afterAll", ENVIRONMENT);
  addOperatorCommands(ctx, program);
  addSellerCommands(ctx, program);
  addMarketCommands(ctx, program);
  addBuyerCommands(ctx, program);
  addAlgorithmsCommand(ctx, program);
  program.addHelpText("after", () => commandIndex(program));
  for (const command of everyCommand(program)) {
    const name = fullName(command);
    const what = command.commands.length > 0 ? "its commands" : "its options, with an example";
    command.showHelpAfterError(`usage: ${command.createHelp().commandUsage(command)}\n(${name} --help lists ${what})`);
    // A group's help is shown as an error only when no command followed the group's name.
    if (command.commands.length > 0) command.addHelpText("before", ({ error }) => (error ? `error: ${name} needs a command\n` : ""));
  }
  return program;
}

/**
 * Runs the CLI with `argv` (without node and script); resolves to the exit
 * code: 0 done, 1 failed, 2 a usage mistake (an unknown command or option, a
 * missing or malformed argument).
 *
 * @example
 * process.exitCode = await main(["seller", "balance", "--json"]);
 */
export async function main(
  argv: string[],
  out: Out = { log: console.log, error: console.error },
  options: { env?: NodeJS.ProcessEnv; progressStream?: NodeJS.WriteStream } = {},
): Promise<number> {
  const ctx: CliContext = {
    out,
    env: options.env ?? process.env,
    // Progress bars only where someone watches: a terminal's stderr, never a pipe or a file.
    progressStream: "progressStream" in options ? options.progressStream : process.stderr.isTTY ? process.stderr : undefined,
    exitCode: 0,
  };
  const program = buildProgram(ctx);
  if (argv.length === 0) {
    program.outputHelp();
    return 0;
  }
  try {
    await program.parseAsync(argv, { from: "user" });
    return ctx.exitCode;
  } catch (err) {
    // Commander has printed the mistake, or the help asked for.
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    out.error(`error: ${(err as Error).message}`);
    return 1;
  }
}
