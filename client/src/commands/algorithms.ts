import type { Command } from "commander";
import { jobUuidOf } from "@scmpc/contracts";
import { ALGORITHMS } from "@scmpc/mpc-engine";
import { act, examples, type CliContext } from "./context.ts";

/**
 * Adds `algorithms` to the program: what the market sells, read from the
 * engine (no stack needed).
 *
 * @example
 * addAlgorithmsCommand(ctx, program);
 */
export function addAlgorithmsCommand(ctx: CliContext, program: Command): void {
  const { out } = ctx;
  program
    .command("algorithms")
    .helpGroup("Buyers:")
    .summary("the algorithms, their parameters, their noise and what each reveals")
    .description(
      "The algorithms the market sells: each one's parameters (the flags of buyer request), the noise of its differentially " +
        "private answer, and what an exact answer reveals.",
    )
    .option("--json", "print one JSON array: each algorithm with the Chainlink job id its contract sends (chainlinkExternalJobId)")
    .addHelpText("after", examples("scmpc algorithms", "scmpc algorithms --json"))
    .action(
      act(ctx, async (command) => {
        const { json } = command.opts<{ json?: boolean }>();
        // With each, the Chainlink job id its contract sends (a node's job takes `chainlinkExternalJobId`).
        if (json) out.log(JSON.stringify(Object.values(ALGORITHMS).map((a) => ({ ...a, chainlinkExternalJobId: jobUuidOf(a.name) }))));
        else {
          for (const a of Object.values(ALGORITHMS)) {
            out.log(
              `${a.name.padEnd(14)} ${a.summary}\n${"".padEnd(15)}params:  ${a.params}\n${"".padEnd(15)}noise:   ${a.dp}\n` +
                `${"".padEnd(15)}exact:   ${a.leakage}`,
            );
          }
        }
      }),
    );
}
