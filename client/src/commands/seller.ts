import type { Command } from "commander";
import { DEFAULT_BUDGET_EPSILON, setDatasetPolicy, showDataset } from "../dataset-policy.ts";
import { describeColumn } from "../column-description.ts";
import { MAX_PAYEES, parsePayees, setPayees } from "../payouts.ts";
import { DEFAULT_MIN_ROWS, manageDataset, uploadDataset, type UploadedDataset } from "../seller.ts";
import { curate, curationLine, refreshDataset, type RefreshedDataset } from "../refresh.ts";
import { offerSubscription, parsePeriod } from "../subscriptions.ts";
import { DEFAULT_TRIAL_BUYERS, offerTrial } from "../trials.ts";
import { addBalanceCommands } from "./balances.ts";
import { act, collect, connected, DATASET_NAMING, examples, UsageError, type CliContext } from "./context.ts";
import { uploadProgressBar } from "./progress.ts";
import { algorithmList, boundsFromFlags, categoriesFromFlags, columnsFromFlags, minRowsFlag, typesFromFlags } from "./seller-flags.ts";

// The sellers' commands: share and register a table, then run the listing
// (policy, price, subscriptions, payees, pause, deregister) and collect.

/** One line per shared column: its type and public domain, whether derived, and the seller's own count of missing cells. */
function uploadedColumnLines(ds: UploadedDataset): string[] {
  const width = Math.max(...ds.columns.map((c) => c.name.length));
  const lines = ds.columns.map((column, k) => {
    const summary = ds.columnSummaries[k];
    const derived = summary.boundsDerived ? " (bounds derived)" : summary.dictionaryDerived ? " (dictionary from the data)" : "";
    const count = summary.categories === undefined ? "" : `, ${summary.categories} categor${summary.categories === 1 ? "y" : "ies"}`;
    return `  ${column.name.padEnd(width)}  ${describeColumn(column)}${count}${derived}; ${summary.missing} missing`;
  });
  if (ds.columnSummaries.some((c) => c.missing > 0)) {
    lines.push("  (missing counts are your own record: each host holds only shares of which cells are missing)");
  }
  return lines;
}

/** The upload for the seller's terminal: what the data made public, then what was registered. */
function uploadLines(ds: UploadedDataset): string[] {
  const lines: string[] = [];
  // Derived bounds and dictionaries reveal each column's rough range, or its values, to every buyer: say so, once per column.
  for (const name of ds.derivedBounds) {
    const c = ds.columns.find((col) => col.name === name)!;
    const shown = c.type === "date" ? describeColumn(c).slice("date ".length) : `[${c.lo}, ${c.hi}]`;
    lines.push(
      `column "${name}": bounds ${shown} derived from the data; bounds are public and published on-chain with the schema ` +
        `(choose them with --bounds ${name}=<lo>:<hi>)`,
    );
  }
  for (const summary of ds.columnSummaries.filter((c) => c.dictionaryDerived)) {
    const present = ds.rowCount - summary.missing;
    const distinct = present > 1 && summary.categories === present ? "; every value is distinct, so the dictionary lists each row's value" : "";
    lines.push(
      `column "${summary.name}": category dictionary of ${summary.categories} values read from the data; it is public and published on-chain ` +
        `with the schema${distinct} (fix it with --categories ${summary.name}=<v1>,<v2>,…, or leave the column out with --column)`,
    );
  }
  lines.push(`dataset ${ds.address}: ${ds.rowCount} rows of ${ds.columns.length} column${ds.columns.length === 1 ? "" : "s"} shared to 3 hosts and registered`);
  lines.push(...uploadedColumnLines(ds));
  lines.push(`dataset id ${ds.datasetId}`);
  lines.push(
    `privacy budget ε ${ds.budget}; exact answers allowed for ${ds.exactAlgorithms.length > 0 ? ds.exactAlgorithms.join(", ") : "no algorithm"} ` +
      `(every other answer is differentially private)`,
  );
  return lines;
}

/** The help of an algorithm list option (`--allow`, `--exact`). */
const ALGORITHM_LIST = "algorithm names, comma separated (sum,mean,...); query for queries with any aggregate, or, last, query:<fn>,... for queries using only those aggregate functions";

interface UploadFlags {
  name: string;
  price: string;
  column?: string[];
  type?: string[];
  categories?: string[];
  bounds?: string[];
  allow?: string;
  exact?: string;
  budget?: string;
  minRows?: string;
  stake?: string;
  json?: boolean;
}

function addUpload(ctx: CliContext, group: Command): void {
  const { out } = ctx;
  group
    .command("upload")
    .summary("share a table to the 3 hosts and register the dataset")
    .description(
      "Share a table (CSV with a header row, a JSON array of records, NDJSON/JSON Lines, or Parquet) to the 3 MPC hosts " +
        "and register the dataset on-chain with the commitments of the shares, the public schema and your policy. Nothing " +
        "but the shares leaves your machine.\n\n" +
        "Defaults: every column, types inferred from the data; missing cells — empty, NA, null — are shared with a secret " +
        "validity bit; every algorithm allowed, with differential privacy only (--exact lists those whose exact answers you " +
        `allow); a total privacy budget of ε ${DEFAULT_BUDGET_EPSILON}; at least ${DEFAULT_MIN_ROWS} rows; the registry's minimum stake; ` +
        "bounds derived from the data, rounded outward to one significant digit; category dictionaries the distinct values. " +
        "Types, bounds and dictionaries are public, on-chain. A header naming two columns alike is refused.",
    )
    .argument("<file>", "the table: .csv, .json, .ndjson/.jsonl or .parquet")
    .requiredOption("--name <name>", "the dataset's name, unique among yours: its permanent address is <seller address>/<name>")
    .requiredOption("--price <amount>", "price per computation, in mUSD")
    .option("--column <col>", "a column to share, or several comma separated (repeatable); default every column", collect)
    .option("--type <col>=<type>", "a column's type: int, decimal, decimal:<places>, category, bool or date; several comma separated (repeatable); default inferred", collect)
    .option("--categories <col>=<v1>,<v2>,...", "a category column's public dictionary, one column per flag (repeatable); default its distinct values", collect)
    .option("--bounds <col>=<lo>:<hi>", "a column's public bounds (dates as YYYY-MM-DD), several comma separated (repeatable); default derived from the data", collect)
    .option("--allow <alg,...>", `algorithms buyers may run: ${ALGORITHM_LIST}; default every algorithm`)
    .option("--exact <alg,...>", "allowed algorithms whose exact answers (no noise, no budget) you allow; default none")
    .option("--budget <ε>", `total privacy budget, ε (default ${DEFAULT_BUDGET_EPSILON})`)
    .option("--min-rows <n>", `fewest rows a result may aggregate (default ${DEFAULT_MIN_ROWS})`)
    .option("--stake <amount>", "stake locked while listed, in mUSD (default the registry's minimum)")
    .option("--json", "print the upload as one JSON object (datasetId, address, rowCount, columns, columnSummaries, ...)")
    .addHelpText(
      "after",
      examples(
        "scmpc seller upload client/samples/salaries.csv --name salaries --column salary --column bonus --price 25 --bounds salary=0:200000,bonus=0:10000 --exact sum",
        "scmpc seller upload staff.parquet --name staff --price 10 --type hired=date,bonus=decimal:2 --categories dept=eng,ops,sales --json",
      ),
    )
    .action(
      act(ctx, async (command) => {
        const [file] = command.args;
        const o = command.opts<UploadFlags>();
        const columns = columnsFromFlags(o.column);
        const minRows = minRowsFlag(o.minRows);
        const bounds = boundsFromFlags(o.bounds ?? []);
        const types = typesFromFlags(o.type ?? []);
        const categories = categoriesFromFlags(o.categories ?? []);
        if (columns !== undefined) {
          for (const [flag, given] of [["--bounds", bounds], ["--type", types], ["--categories", categories]] as const) {
            const stray = Object.keys(given).filter((c) => !columns.includes(c));
            if (stray.length > 0) throw new UsageError(`${flag} names ${stray.map((c) => `"${c}"`).join(", ")}, not among the --column(s) shared`);
          }
        }
        const allow = algorithmList(o.allow);
        const exact = algorithmList(o.exact);
        await connected(ctx, command, "seller", async ({ state, signer }) => {
          const progress = o.json || ctx.progressStream === undefined ? undefined : uploadProgressBar(ctx.progressStream);
          let ds: UploadedDataset;
          try {
            ds = await uploadDataset({
              state,
              seller: signer,
              file,
              name: o.name,
              columns,
              types,
              categories,
              price: o.price,
              allow,
              exact,
              budget: o.budget,
              minRows,
              stake: o.stake,
              bounds,
              progress: progress?.report,
            });
          } finally {
            progress?.stop();
          }
          // A pending change of the host set is a warning in either mode (the JSON carries it as well).
          for (const line of ds.pendingHostChanges) out.error(`warning: ${line}`);
          if (o.json) out.log(JSON.stringify(ds));
          else for (const line of uploadLines(ds)) out.log(line);
        });
      }),
    );
}

function addRefresh(ctx: CliContext, group: Command): void {
  const { out } = ctx;
  group
    .command("refresh")
    .summary("register a new version of a dataset from a new file")
    .description(
      "Share a new file of one of your datasets to the 3 MPC hosts and register it as the dataset's next version (row count " +
        "and commitments). The file is read with the registered schema — its columns, types, bounds and dictionaries — and " +
        "one that does not fit is refused naming what differs. Requests already made are computed over the version they " +
        "bought; requests from now on (subscribers' too) use the new one. The privacy budget carries over.\n\n" +
        "With --every the command runs as a curation job: every period it registers the file again if its content changed, " +
        "logging each step on stdout, until stopped (Ctrl-C). It keeps its place in the state directory, so a restarted job " +
        "waits out the period it was in and never registers the same content twice.",
    )
    .argument("<dataset>", `the dataset: ${DATASET_NAMING}`)
    .requiredOption("--file <file>", "the new table: .csv, .json, .ndjson/.jsonl or .parquet, with the registered columns")
    .option("--every <period>", "run as a curation job, looking at the file every period: a whole number of s, m, h, d or w (1h, 30m, ...)")
    .option("--json", "print the new version as one JSON object (datasetId, address, version, rowCount, previousRowCount, commitments, txHash); with --every one JSON object per step")
    .addHelpText("after", examples("scmpc seller refresh salaries --file salaries-2027.csv", "scmpc seller refresh salaries --file /srv/export/salaries.csv --every 1h"))
    .action(
      act(ctx, async (command) => {
        const [dataset] = command.args;
        const o = command.opts<{ file: string; every?: string; json?: boolean }>();
        let everyS: number | undefined;
        if (o.every !== undefined) {
          try {
            everyS = parsePeriod(o.every);
          } catch (err) {
            throw new UsageError(`--every: ${(err as Error).message}`);
          }
        }
        await connected(ctx, command, "seller", async ({ dir, state, signer }) => {
          if (everyS === undefined) {
            const progress = o.json || ctx.progressStream === undefined ? undefined : uploadProgressBar(ctx.progressStream);
            let done: RefreshedDataset;
            try {
              done = await refreshDataset({ state, seller: signer, dataset, file: o.file, progress: progress?.report });
            } finally {
              progress?.stop();
            }
            if (o.json) out.log(JSON.stringify(done));
            else out.log(`${done.address} (${done.datasetId}): version ${done.version} registered, ${done.rowCount} rows (was ${done.previousRowCount}), transaction ${done.txHash}`);
            return;
          }
          const stop = new AbortController();
          const onSignal = () => stop.abort();
          process.once("SIGINT", onSignal);
          process.once("SIGTERM", onSignal);
          try {
            await curate({ state, seller: signer, dir, dataset, file: o.file, everyS, signal: stop.signal, log: (e) => out.log(o.json ? JSON.stringify(e) : curationLine(e)) });
          } finally {
            process.off("SIGINT", onSignal);
            process.off("SIGTERM", onSignal);
          }
        });
      }),
    );
}

function addPolicy(ctx: CliContext, group: Command): void {
  const { out } = ctx;
  group
    .command("policy")
    .summary("change a dataset's policy (what is not given stays)")
    .description(
      "Change a dataset's policy: the algorithms allowed, those whose exact answers are allowed, the total privacy budget " +
        "and the fewest rows a result may aggregate. What is not given stays; the budget cannot go below what requests have spent.",
    )
    .requiredOption("--dataset <dataset>", `the dataset: ${DATASET_NAMING}`)
    .option("--allow <alg,...>", `algorithms buyers may run: ${ALGORITHM_LIST}`)
    .option("--exact <alg,...|none>", "allowed algorithms whose exact answers you allow; none for differential privacy only")
    .option("--budget <ε>", "total privacy budget, ε")
    .option("--min-rows <n>", "fewest rows a result may aggregate")
    .option("--json", "print the policy set as one JSON object")
    .addHelpText("after", examples("scmpc seller policy --dataset salaries --budget 20 --exact sum,mean", "scmpc seller policy --dataset <id> --exact none --json"))
    .action(
      act(ctx, async (command) => {
        const o = command.opts<{ dataset: string; allow?: string; exact?: string; budget?: string; minRows?: string; json?: boolean }>();
        const minRows = minRowsFlag(o.minRows);
        if (o.allow === undefined && o.exact === undefined && o.budget === undefined && minRows === undefined) {
          throw new UsageError("seller policy needs at least one of --allow, --exact, --budget, --min-rows");
        }
        const allow = algorithmList(o.allow);
        const exact = o.exact?.trim() === "none" ? [] : algorithmList(o.exact);
        await connected(ctx, command, "seller", async ({ state, signer }) => {
          const policy = await setDatasetPolicy({ state, seller: signer, dataset: o.dataset, allow, exact, budget: o.budget, minRows });
          if (o.json) out.log(JSON.stringify(policy));
          else {
            out.log(`policy of ${policy.id} set:`);
            out.log(`  allowed  ${policy.allowedAlgorithms.join(", ") || "none"}`);
            out.log(`  exact    ${policy.exactAlgorithms.join(", ") || "none"}`);
            out.log(`  budget   ε ${policy.budget.remaining} of ${policy.budget.total} left`);
            out.log(`  min rows ${policy.minRows}`);
          }
        });
      }),
    );
}

function addSubscription(ctx: CliContext, group: Command): void {
  const { out } = ctx;
  group
    .command("subscription")
    .summary("offer period access to a dataset")
    .description(
      "Offer period access to a dataset: within the quota a subscriber's computations pay no per-computation price (the " +
        "operators' fee and ε still apply); the period's price is earned pro rata to the second (collected with seller " +
        "withdraw). --period off withdraws the offer; running subscriptions keep the terms they were bought on.",
    )
    .requiredOption("--dataset <dataset>", `the dataset: ${DATASET_NAMING}`)
    .requiredOption("--period <length>", "the period: a whole number of s, m, h, d or w (30d, 12h, ...), or off")
    .option("--period-price <amount>", "price of one period, in mUSD")
    .option("--quota <n>", "computations per period without the per-computation price")
    .option("--json", "print the offer as one JSON object: id, offer (period, periodPrice, quota; null when off)")
    .addHelpText("after", examples("scmpc seller subscription --dataset salaries --period 30d --period-price 40 --quota 10", "scmpc seller subscription --dataset salaries --period off"))
    .action(
      act(ctx, async (command) => {
        const o = command.opts<{ dataset: string; period: string; periodPrice?: string; quota?: string; json?: boolean }>();
        const quota = o.quota === undefined ? undefined : Number(o.quota);
        await connected(ctx, command, "seller", async ({ state, signer }) => {
          const set = await offerSubscription({ state, seller: signer, dataset: o.dataset, period: o.period, periodPrice: o.periodPrice, quota });
          if (o.json) out.log(JSON.stringify(set));
          else if (set.offer === null) out.log(`${set.id}: no subscriptions offered (running ones keep their terms)`);
          else out.log(`${set.id}: subscriptions of ${set.offer.period} for ${set.offer.periodPrice} mUSD, ${set.offer.quota} computations per period without the per-computation price`);
        });
      }),
    );
}

function addTrial(ctx: CliContext, group: Command): void {
  const { out } = ctx;
  group
    .command("trial")
    .summary("let new buyers try a dataset: free computations at a small ε")
    .description(
      "Try before you buy: grant every buyer address --free computations over a dataset at most --epsilon each, out of " +
        `--allowance trial computations for all buyers together (default ${DEFAULT_TRIAL_BUYERS} buyers' worth) — the bound ` +
        "on fresh addresses taking more. A trial pays no price for the dataset (the operators' fee still applies) and spends " +
        "its ε from the dataset's budget like any request. --free 0 withdraws the offer; a new offer replaces what was left.",
    )
    .requiredOption("--dataset <dataset>", `the dataset: ${DATASET_NAMING}`)
    .requiredOption("--free <k>", "free computations per buyer address (0: no trials)")
    .option("--epsilon <ε>", "the most ε one trial computation may spend (required unless --free 0)")
    .option("--allowance <n>", `trial computations for all buyers together (default --free × ${DEFAULT_TRIAL_BUYERS})`)
    .option("--json", "print one JSON object: id, trial (perBuyer, epsilon, remaining; null when withdrawn)")
    .addHelpText("after", examples("scmpc seller trial --dataset salaries --free 2 --epsilon 0.1", "scmpc seller trial --dataset salaries --free 1 --epsilon 0.05 --allowance 50 --json", "scmpc seller trial --dataset salaries --free 0"))
    .action(
      act(ctx, async (command) => {
        const o = command.opts<{ dataset: string; free: string; epsilon?: string; allowance?: string; json?: boolean }>();
        const free = Number(o.free);
        const allowance = o.allowance === undefined ? undefined : Number(o.allowance);
        await connected(ctx, command, "seller", async ({ state, signer }) => {
          const set = await offerTrial({ state, seller: signer, dataset: o.dataset, free, epsilon: o.epsilon, allowance });
          if (o.json) out.log(JSON.stringify({ id: set.id, trial: set.offer }));
          else if (set.offer === null) out.log(`${set.id}: no trials offered`);
          else out.log(`${set.id}: ${set.offer.perBuyer} free computation(s) per buyer at ε ${set.offer.epsilon} at most, ${set.offer.remaining} in all`);
        });
      }),
    );
}

function addPayouts(ctx: CliContext, group: Command): void {
  const { out } = ctx;
  group
    .command("payouts")
    .summary("who shares the dataset's revenue; without --to, shows them")
    .description(
      "Who shares a dataset's revenue (Enigma's assisting nodes): each payee's share of every payment, the seller keeping " +
        `the rest; at most ${MAX_PAYEES} payees, each share with up to two decimals, together at most 100%. Shares are credited when a ` +
        "request is paid for, as the list stands then; payees withdraw with seller withdraw --account .... Without --to, shows them.",
    )
    .requiredOption("--dataset <dataset>", `the dataset: ${DATASET_NAMING}`)
    .option("--to <address>=<percent>,...", "the payees and their shares, replacing the list; none clears it")
    .option("--json", "print one JSON object: id, payees (and sellerShare when set)")
    .addHelpText("after", examples("scmpc seller payouts --dataset salaries --to 0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC=10%", "scmpc seller payouts --dataset salaries --json"))
    .action(
      act(ctx, async (command) => {
        const o = command.opts<{ dataset: string; to?: string; json?: boolean }>();
        await connected(ctx, command, "seller", async ({ state, signer }) => {
          if (o.to === undefined) {
            const listing = await showDataset({ state, runner: signer, dataset: o.dataset });
            if (o.json) out.log(JSON.stringify({ id: listing.id, payees: listing.payouts }));
            else if (listing.payouts.length === 0) out.log(`${listing.id}: no payees; the seller is paid everything`);
            else for (const p of listing.payouts) out.log(`${p.account}  ${p.share}`);
            return;
          }
          const set = await setPayees({ state, seller: signer, dataset: o.dataset, payees: parsePayees(o.to) });
          if (o.json) out.log(JSON.stringify(set));
          else {
            out.log(`payouts of ${set.id} set: the seller ${set.sellerShare}`);
            for (const p of set.payees) out.log(`  ${p.account}  ${p.share}`);
          }
        });
      }),
    );
}

/** The listing actions: one sentence each, or with --json the new state. */
const MANAGE = {
  price: {
    summary: "change a dataset's price per computation",
    description: "Change a dataset's price per computation. A request pays at most the price its buyer saw: one mined after a rise reverts, and the buyer keeps the money.",
    json: "id, account, action, price (mUSD)",
    example: "scmpc seller price --dataset salaries --price 30",
  },
  pause: {
    summary: "stop sales for now",
    description: "Stop sales of a dataset for now: requests are refused until it is resumed; it stays listed, as paused, and keeps its stake.",
    json: "id, account, action, active",
    example: "scmpc seller pause --dataset salaries",
  },
  resume: {
    summary: "put a paused dataset on sale again",
    description: "Put a paused dataset on sale again.",
    json: "id, account, action, active",
    example: "scmpc seller resume --dataset salaries",
  },
  deregister: {
    summary: "stop selling for good; the stake unlocks after the cooldown",
    description: "Stop selling a dataset for good: it leaves the market listing; its stake unlocks after the registry's cooldown (2 h locally), then seller withdraw-stake takes it back.",
    json: "id, account, action, stakeUnlocksAt (ISO 8601), stake (mUSD)",
    example: "scmpc seller deregister --dataset salaries",
  },
  "withdraw-stake": {
    summary: "take back the stake of a deregistered dataset",
    description: "Take back the stake of a deregistered dataset once its cooldown has passed.",
    json: "id, account, action, stake (mUSD)",
    example: "scmpc seller withdraw-stake --dataset salaries --json",
  },
} as const;

function addManage(ctx: CliContext, group: Command, name: keyof typeof MANAGE): void {
  const { out } = ctx;
  const text = MANAGE[name];
  const command = group
    .command(name)
    .summary(text.summary)
    .description(text.description)
    .requiredOption("--dataset <dataset>", `the dataset: ${DATASET_NAMING}`);
  if (name === "price") command.requiredOption("--price <amount>", "the new price per computation, in mUSD");
  command
    .option("--json", `print one JSON object: ${text.json}`)
    .addHelpText("after", examples(text.example))
    .action(
      act(ctx, async (command) => {
        const o = command.opts<{ dataset: string; price?: string; json?: boolean }>();
        const action =
          name === "price"
            ? { kind: "price" as const, price: o.price! }
            : name === "pause" || name === "resume"
              ? { kind: "active" as const, active: name === "resume" }
              : name === "deregister"
                ? { kind: "deregister" as const }
                : { kind: "withdraw-stake" as const };
        await connected(ctx, command, "seller", async ({ state, signer }) => {
          const { message, ...done } = await manageDataset({ state, seller: signer, datasetId: o.dataset, action });
          out.log(o.json ? JSON.stringify(done) : message);
        });
      }),
    );
}

/**
 * Adds the `seller` command group to the program.
 *
 * @example
 * addSellerCommands(ctx, program);
 */
export function addSellerCommands(ctx: CliContext, program: Command): void {
  const group = program
    .command("seller")
    .helpGroup("Sellers:")
    .summary("share tables, set their policy and price, collect payments")
    .description("A seller's commands: share a table and register it, then run its listing and collect what buyers pay. They act as the seller development account unless --account or SCMPC_PRIVATE_KEY says otherwise.")
    .addHelpText("after", examples("scmpc seller upload client/samples/salaries.csv --name salaries --column salary --price 25", "scmpc seller upload --help"));
  addUpload(ctx, group);
  addRefresh(ctx, group);
  addPolicy(ctx, group);
  addBalanceCommands(ctx, group, "seller", { balance: "payments credited and not yet withdrawn", withdraw: "withdraw the payments credited" });
  addManage(ctx, group, "price");
  addSubscription(ctx, group);
  addTrial(ctx, group);
  addPayouts(ctx, group);
  addManage(ctx, group, "pause");
  addManage(ctx, group, "resume");
  addManage(ctx, group, "deregister");
  addManage(ctx, group, "withdraw-stake");
}
