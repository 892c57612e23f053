import type { Command } from "commander";
import { resolveAlgorithm } from "../buyer.ts";
import { listingLines, showDataset } from "../dataset-policy.ts";
import { listMarket, marketLines, RANK_WINDOW_DAYS } from "../market-list.ts";
import { act, connected, DATASET_NAMING, examples, UsageError, type CliContext } from "./context.ts";

// What is for sale: the listing, ranked, and one dataset's terms. Read-only:
// anyone may run them.

/**
 * Adds the `market` command group to the program.
 *
 * @example
 * addMarketCommands(ctx, program);
 */
export function addMarketCommands(ctx: CliContext, program: Command): void {
  const { out } = ctx;
  const group = program
    .command("market")
    .helpGroup("Buyers:")
    .summary("the datasets for sale, and one dataset's terms")
    .description("What is for sale: the datasets listed, ranked, and one dataset's schema, policy, price and privacy budget.")
    .addHelpText("after", examples("scmpc market list", "scmpc market show <dataset id>"));

  group
    .command("list")
    .summary("the datasets for sale, ranked")
    .description(
      `The datasets for sale, by rank — a public metric of on-chain facts alone: paid computations in the last ${RANK_WINDOW_DAYS} days, ` +
        "subscribers, stake and age (see the README) — by price, or newest first. Paused datasets are listed as such, " +
        "deregistered ones not at all.",
    )
    .option("--sort <rank|price|new>", "the order (default rank)")
    .option("--algorithm <alg>", "only the datasets allowing this algorithm")
    .option("--json", "print one JSON array: each dataset's id, address, price, rank, budget left, subscription terms and the rank's inputs (facts)")
    .addHelpText("after", examples("scmpc market list", "scmpc market list --sort price --algorithm mean --json"))
    .action(
      act(ctx, async (command) => {
        const o = command.opts<{ sort?: string; algorithm?: string; json?: boolean }>();
        const sort = o.sort ?? "rank";
        if (sort !== "rank" && sort !== "price" && sort !== "new") throw new UsageError(`--sort is rank, price or new; got "${sort}"`);
        const algorithm = o.algorithm === undefined ? undefined : resolveAlgorithm(o.algorithm);
        await connected(ctx, command, "buyer", async ({ state, provider }) => {
          const entries = await listMarket({ state, provider, sort, algorithm });
          if (o.json) out.log(JSON.stringify(entries));
          else for (const line of marketLines(entries)) out.log(line);
        });
      }),
    );

  group
    .command("show")
    .summary("a dataset's schema, bounds, policy, price and privacy budget left")
    .description(
      "A dataset's schema (types, bounds and category dictionaries, all public), its policy (algorithms allowed, exact " +
        "answers allowed, fewest rows per result), price, stake, privacy budget left, subscription terms and payees.",
    )
    .argument("<dataset>", `the dataset: ${DATASET_NAMING}`)
    .option("--json", "print the listing as one JSON object")
    .addHelpText("after", examples("scmpc market show 0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC/salaries", "scmpc market show salaries --account seller --json"))
    .action(
      act(ctx, async (command) => {
        const [dataset] = command.args;
        const { json } = command.opts<{ json?: boolean }>();
        await connected(ctx, command, "buyer", async ({ state, signer }) => {
          const listing = await showDataset({ state, runner: signer, dataset });
          if (json) out.log(JSON.stringify(listing));
          else for (const line of listingLines(listing)) out.log(line);
        });
      }),
    );
}
