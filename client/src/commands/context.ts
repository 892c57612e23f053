import type { Command } from "commander";
import { JsonRpcProvider } from "ethers";
import type { Signer } from "ethers";
import { resolveSigner, type DevRole } from "../accounts.ts";
import { readState, stateDir, type StackState } from "../state.ts";

/** Where a command prints: its results (`log`, stdout) and its errors and warnings (`error`, stderr). */
export type Out = { log: (line: string) => void; error: (line: string) => void };

/** What every command runs with, built once per run of the CLI. */
export interface CliContext {
  out: Out;
  /** The environment: `SCMPC_HOME`, `SCMPC_PRIVATE_KEY`. */
  env: NodeJS.ProcessEnv;
  /** Where progress bars are drawn: a terminal's stderr, or nowhere (piped, redirected, under test). */
  progressStream: NodeJS.WriteStream | undefined;
  /** The exit code the command's action settled on. */
  exitCode: number;
}

/** A mistake in how the command was called: printed with the command's usage, exit code 2. */
export class UsageError extends Error {
  readonly code = "USAGE";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "UsageError";
  }
}

/** What a command acting on the market connects with: the state file's stack, a provider and the signer it acts as. */
export interface Connection {
  /** The state directory (`SCMPC_HOME`, default `./.scmpc`). */
  dir: string;
  state: StackState;
  provider: JsonRpcProvider;
  signer: Signer;
}

/** The `--account` given anywhere on the command line (a global option). */
export function accountOf(command: Command): string | undefined {
  return command.optsWithGlobals<{ account?: string }>().account;
}

/**
 * Runs `body` connected to the stack in the state directory, as the signer
 * `--account` or `SCMPC_PRIVATE_KEY` names (default: the command's role), and
 * closes the provider afterwards, whatever happens.
 *
 * @example
 * await connected(ctx, command, "seller", async ({ state, signer }) => { ... });
 */
export async function connected<T>(ctx: CliContext, command: Command, role: DevRole, body: (connection: Connection) => Promise<T>): Promise<T> {
  const dir = stateDir(ctx.env);
  const state = await readState(dir);
  const provider = new JsonRpcProvider(state.rpcUrl, state.chainId, { staticNetwork: true });
  try {
    const signer = resolveSigner({ account: accountOf(command), privateKey: ctx.env.SCMPC_PRIVATE_KEY, defaultRole: role }, provider);
    return await body({ dir, state, provider, signer });
  } finally {
    provider.destroy();
  }
}

/**
 * A command's action: runs `body` with the command and records its exit
 * code; a {@link UsageError} becomes the command's usage error (exit 2),
 * any other error one line `error: <message>` (exit 1).
 *
 * @example
 * command.action(act(ctx, async (command) => { ctx.out.log("done"); }));
 */
export function act(ctx: CliContext, body: (command: Command) => Promise<number | void>): (...args: unknown[]) => Promise<void> {
  return async (...args: unknown[]) => {
    // Commander passes the positional arguments, the options, then the command itself.
    const command = args[args.length - 1] as Command;
    try {
      ctx.exitCode = (await body(command)) ?? 0;
    } catch (err) {
      if (err instanceof UsageError) command.error(`error: ${err.message}`, { exitCode: 2, code: "scmpc.usage" });
      ctx.out.error(`error: ${(err as Error).message}`);
      ctx.exitCode = 1;
    }
  };
}

/** Option parser of a repeatable option: every value given, in order. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** The help text after a command's options: its examples, each a command line. */
export function examples(...lines: string[]): string {
  return `\n${lines.length === 1 ? "Example" : "Examples"}:\n${lines.map((line) => `  $ ${line}`).join("\n")}`;
}

/** How a dataset is named on the command line, for the help of the options and arguments naming one. */
export const DATASET_NAMING = "its id, <seller address>/<name>, or the name alone of one of your own";
