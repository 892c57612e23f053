import path from "node:path";
import type { Command } from "commander";
import { runTlsCommand, TlsUsageError } from "@scmpc/mpc-engine/tls";
import { startLocalStack } from "../stack.ts";
import { stateDir } from "../state.ts";
import { act, collect, examples, UsageError, type CliContext } from "./context.ts";

// The operators' commands: `up` (the local stack) and `tls create|show` (the
// hosts' mutual-TLS material for a deployment without the local stack).

async function up(ctx: CliContext): Promise<number> {
  const { out } = ctx;
  const dir = stateDir(ctx.env);
  out.log(`starting the local stack in ${dir} ...`);
  const stack = await startLocalStack({ dir, progress: (line) => out.log(`  ${line}`) });
  out.log(`ready: state in ${path.join(dir, "state.json")}, logs in ${path.join(dir, "logs")}; Ctrl-C stops everything`);
  let stopping = false;
  let failed = false;
  await new Promise<void>((resolve) => {
    const onSignal = () => {
      stopping = true;
      resolve();
    };
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
    for (const proc of stack.processes) {
      void proc.exited.then((code) => {
        // A terminal's Ctrl-C reaches the children too; only an exit nobody
        // asked for is reported.
        if (stopping) return;
        stopping = true;
        failed = true;
        out.error(`${proc.name} exited unexpectedly (code ${code}); stopping the stack`);
        resolve();
      });
    }
  });
  out.log("stopping the local stack ...");
  await stack.stop();
  out.log("stopped");
  return failed ? 1 : 0;
}

/** Runs the engine's TLS command with the arguments commander parsed; its usage mistakes are the CLI's. */
async function tls(ctx: CliContext, argv: string[]): Promise<number> {
  try {
    return await runTlsCommand(argv, ctx.out);
  } catch (err) {
    if (err instanceof TlsUsageError) throw new UsageError(err.message, { cause: err });
    throw err;
  }
}

/**
 * Adds the operators' commands to the program: `up`, `tls create`, `tls show`.
 *
 * @example
 * addOperatorCommands(ctx, program);
 */
export function addOperatorCommands(ctx: CliContext, program: Command): void {
  program
    .command("up")
    .helpGroup("Operators:")
    .summary("start the local stack (chain, contracts, 3 MPC hosts, bridge, relay, web market)")
    .description(
      "Start the local stack: a Hardhat node with the market deployed, three MPC hosts, the bridge and the relay, on free " +
        "loopback ports, and the web market (its URL on the line starting with web). Writes the state file the other commands read (state.json in SCMPC_HOME, default ./.scmpc) and " +
        'the logs (logs/), creates the hosts\' TLS material (tls/) on first run, prints "ready" once every process ' +
        "answers, and runs until Ctrl-C, which stops every process it started.",
    )
    .addHelpText("after", examples("scmpc up", "SCMPC_HOME=/tmp/market scmpc up"))
    .action(act(ctx, () => up(ctx)));

  const group = program
    .command("tls")
    .helpGroup("Operators:")
    .summary("the hosts' mutual-TLS material for a deployment")
    .description("The hosts' mutual-TLS material for a deployment without the local stack (plain processes or containers).")
    .addHelpText("after", examples("scmpc tls create --dir tls --per-host tls/bundles", "scmpc tls show --dir tls"));

  group
    .command("create")
    .summary("create a CA and one certificate per host")
    .description(
      "Create the hosts' mutual-TLS material in <dir>: a CA (ca.pem; its key is not kept) and one certificate and key per " +
        "host (host-<i>.pem, host-<i>-key.pem), each valid as TLS server and client, with the subject alternative names " +
        "scmpc-host-<i>, localhost, 127.0.0.1 and the names given with --name (the names the other hosts dial host <i> by). " +
        "Refuses to overwrite existing material unless --force.",
    )
    .requiredOption("--dir <dir>", "directory of the material")
    .option("--name <i>=<names>", "the names host <i> (0, 1 or 2) is dialled by, comma separated (repeatable)", collect)
    .option(
      "--per-host <out>",
      "also write <out>/host-<i>/ for each host: ca.pem, every host's certificate and that host's key only, the directory to hand to host <i>'s operator",
    )
    .option("--public <out>", "also write the CA and the three certificates (no key) to <out>: what sellers and the bridge need to reach the hosts' Host API over TLS")
    .option("--force", "replace existing material (every host then needs its new files)")
    .option("--keep-existing", "keep valid existing material and only (re)write the bundles")
    .option("--owner <uid>:<gid>", "give every file written to that user (when run as root, e.g. in a container's one-shot job)")
    .option("--json", "print one JSON object: dir, fingerprints, bundles, public")
    .addHelpText(
      "after",
      examples("scmpc tls create --dir tls --name 0=mpc0.example.org --name 1=mpc1.example.org --name 2=mpc2.example.org --per-host tls/bundles"),
    )
    .action(
      act(ctx, (command) => {
        const o = command.opts<{ dir: string; name?: string[]; perHost?: string; public?: string; force?: boolean; keepExisting?: boolean; owner?: string; json?: boolean }>();
        return tls(ctx, [
          "create",
          "--dir",
          o.dir,
          ...(o.name ?? []).flatMap((name) => ["--name", name]),
          ...(o.perHost === undefined ? [] : ["--per-host", o.perHost]),
          ...(o.public === undefined ? [] : ["--public", o.public]),
          ...(o.force ? ["--force"] : []),
          ...(o.keepExisting ? ["--keep-existing"] : []),
          ...(o.owner === undefined ? [] : ["--owner", o.owner]),
          ...(o.json ? ["--json"] : []),
        ]);
      }),
    );

  group
    .command("show")
    .summary("the fingerprints of the material")
    .description("Print the fingerprints of the material in <dir> (for SCMPC_HOST_PEER_FINGERPRINTS and the host registry's tlsFingerprint).")
    .requiredOption("--dir <dir>", "directory of the material")
    .option("--json", "print one JSON object: dir, fingerprints")
    .addHelpText("after", examples("scmpc tls show --dir tls"))
    .action(
      act(ctx, (command) => {
        const o = command.opts<{ dir: string; json?: boolean }>();
        return tls(ctx, ["show", "--dir", o.dir, ...(o.json ? ["--json"] : [])]);
      }),
    );
}
