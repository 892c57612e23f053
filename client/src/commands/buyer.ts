import path from "node:path";
import type { Command } from "commander";
import { formatUnits } from "ethers";
import { buyComputation, buyQuery, DEFAULT_REQUEST_EPSILON, refundRequest, resolveAlgorithm } from "../buyer.ts";
import type { PurchasedQuery, PurchasedResult } from "../buyer.ts";
import { listFeeCredits, prepayFees, reclaimFeeCredits } from "../fee-credits.ts";
import { PAYMENT_DECIMALS } from "../seller.ts";
import { punishRequest } from "../penalties.ts";
import { DEFAULT_RENEW_WITHIN, dueRenewals, forgetRenewal, rememberRenewal, renewDue } from "../renewals.ts";
import { listSubscriptions, subscribe, unsubscribe } from "../subscriptions.ts";
import { addBalanceCommands } from "./balances.ts";
import { act, collect, connected, DATASET_NAMING, examples, UsageError, type CliContext } from "./context.ts";
import { purchaseProgressBar } from "./progress.ts";

// The buyers' commands: buy a named algorithm's answer or a query's, take
// out subscriptions, and take back what a failed or late request cost.

function intervalText(interval: unknown): string {
  if (Array.isArray(interval) && typeof interval[0] === "string") return `[${interval[0]}, ${interval[1]}]`;
  if (Array.isArray(interval)) return interval.map(intervalText).join(" ");
  return Object.entries(interval as Record<string, unknown>).map(([k, v]) => `${k} ${intervalText(v)}`).join(", ");
}

/** A purchase for the terminal: the answer, then how noisy it is and what it cost the datasets' budgets. */
export function purchaseLines(bought: PurchasedResult): string[] {
  const shown = typeof bought.result === "string" ? bought.result : JSON.stringify(bought.result);
  const lines = [`${bought.algorithm} ${bought.params} = ${shown}   (request ${bought.requestId})`];
  const { dp } = bought;
  if (dp === undefined) lines.push("exact answer (the sellers allow it): no noise, no privacy budget spent");
  else {
    const scale = typeof dp.noiseScale === "string" ? dp.noiseScale : Object.entries(dp.noiseScale).map(([k, v]) => `${k} ${v}`).join(", ");
    lines.push(
      dp.mechanism === "none"
        ? "differentially private mode: the row count is public, so it is exact (no noise)"
        : `differentially private: ${dp.mechanism} noise, scale ${scale}, drawn inside the MPC (no host knows it)`,
      `95% interval ${intervalText(dp.interval95)} (${dp.interval}): the true answer lies in it with probability ≥ 95%`,
      `ε ${dp.epsilon} spent per dataset; left: ${Object.entries(dp.budgetLeft).map(([id, left]) => `${id} ε ${left}`).join(", ")}`,
    );
  }
  lines.push(`keys released by hosts ${bought.keysReleasedBy.join(", ")} (the result became readable once the chain showed the sellers paid)`);
  return lines;
}

/** A query's answer for the terminal: the table aligned (numbers right, text left), then its noise and cost. */
export function queryLines(bought: PurchasedQuery): string[] {
  let { columns } = bought.result;
  const { rows } = bought.result;
  const intervals = bought.dp?.interval95;
  // Under DP each value is followed by its 95% interval.
  const cells = rows.map((row, g) => row.map((v, j) => (v === null ? "NULL" : intervals?.[g]?.[j] ? `${v} [${intervals[g][j]![0]}, ${intervals[g][j]![1]}]` : v)));
  const numeric = columns.map((_, j) => rows.every((row) => row[j] === null || /^-?\d+(\.\d+)?$/.test(row[j]!)));
  if (intervals) columns = columns.map((name, j) => (rows.some((row, g) => row[j] !== null && intervals[g]?.[j]) ? `${name} [95% interval]` : name));
  const widths = columns.map((name, j) => Math.max(name.length, ...cells.map((row) => row[j].length)));
  const line = (values: string[]) => values.map((v, j) => (numeric[j] ? v.padStart(widths[j]) : v.padEnd(widths[j]))).join("  ").trimEnd();
  const lines = [line(columns), widths.map((w) => "-".repeat(w)).join("  "), ...cells.map(line), `(${rows.length} row${rows.length === 1 ? "" : "s"}; request ${bought.requestId})`];
  const { dp } = bought;
  if (dp === undefined) lines.push("exact answer (the sellers allow it): no noise, no privacy budget spent");
  else {
    lines.push(`differentially private: ${dp.mechanism} noise drawn inside the MPC (no host knows it) on every statistic opened; ε ${dp.epsilon} spent per dataset, split:`);
    for (const s of dp.split) lines.push(`  ${s.statistic}: ε ${s.epsilon}, noise scale ${s.noiseScale}, |noise| ≤ ${s.noise95} with 95% probability`);
    lines.push(`ε left: ${Object.entries(dp.budgetLeft).map(([id, left]) => `${id} ε ${left}`).join(", ")}`);
  }
  lines.push(`keys released by hosts ${bought.keysReleasedBy.join(", ")} (the result became readable once the chain showed the sellers paid)`);
  return lines;
}

/** `a, b,c` → `["a", "b", "c"]`. */
function commaList(text: string): string[] {
  return text.split(",").map((v) => v.trim()).filter((v) => v !== "");
}

/**
 * Builds an algorithm's JSON parameters from the command-line flags
 * (`--params` verbatim when given).
 *
 * @throws UsageError when a flag the algorithm needs is missing
 * @example
 * paramsFromFlags("regression@1", { x: "age,tenure", y: "salary" }) // '{"x":["age","tenure"],"y":"salary"}'
 */
export function paramsFromFlags(algorithm: string, values: Record<string, unknown>): string {
  if (typeof values.params === "string") return values.params;
  const column = (values.column as string[] | undefined)?.[0];
  switch (algorithm) {
    case "count@1":
      return "{}";
    case "histogram@1":
      if (!column || typeof values.edges !== "string") throw new UsageError("histogram needs --column and --edges");
      return JSON.stringify({ column, edges: values.edges.split(",").map((e) => e.trim()) });
    case "count-if@1":
      if (!column || typeof values.op !== "string" || typeof values.threshold !== "string") {
        throw new UsageError("count-if needs --column, --op and --threshold");
      }
      return JSON.stringify({ column, op: values.op, threshold: values.threshold });
    case "covariance@1":
      if (typeof values.x !== "string" || typeof values.y !== "string") throw new UsageError(`${algorithm} needs --x and --y`);
      return JSON.stringify({ x: values.x, y: values.y });
    case "regression@1": {
      if (typeof values.x !== "string" || typeof values.y !== "string") throw new UsageError(`${algorithm} needs --x and --y`);
      // A comma list is a multiple regression; one name the simple one.
      const xs = commaList(values.x);
      return JSON.stringify({ x: xs.length > 1 ? xs : values.x.trim(), y: values.y });
    }
    case "correlation@1":
      if (typeof values.columns !== "string") throw new UsageError("correlation needs --columns <col1,col2,...>");
      return JSON.stringify({ columns: commaList(values.columns) });
    case "ttest@1":
      if (!column || typeof values.by !== "string" || typeof values.groups !== "string") throw new UsageError("ttest needs --column, --by and --groups <g1,g2>");
      return JSON.stringify({ column, by: values.by, groups: commaList(values.groups) });
    default:
      if (!column) throw new UsageError(`${algorithm} needs --column`);
      return JSON.stringify({ column });
  }
}

const PRIVACY_MODE =
  `A differentially private answer spends ε ${DEFAULT_REQUEST_EPSILON} of each dataset's budget unless --epsilon says otherwise ` +
  "(count spends the least ε, 0.001: the row count is public); --exact asks for the exact answer, where every seller allows it.";

const REQUEST_PARAMETERS = `
Parameters by algorithm:
  count                                   (no parameters)
  sum | mean | variance | stddev | min | max
                                          --column <col>
  histogram                               --column <col> --edges <e1,e2,...>
  count-if                                --column <col> --op lt|le|gt|ge|eq|ne --threshold <t>
  covariance | regression                 --x <col> --y <col>
  regression (multiple, up to 10 x)       --x <col1,col2,...> --y <col>
  correlation                             --columns <col1,col2,...>   (2 to 10)
  ttest                                   --column <numeric> --by <category|bool> --groups <g1,g2>
  (or --params '<json>' for any of them; scmpc algorithms lists them all)`;

const QUERY_GRAMMAR = `
Queries:
  SELECT <aggregates>[, <category columns>] FROM "<dataset>"[, "<dataset2>" ...] [WHERE <predicate>] [GROUP BY <columns>]
  aggregates: count(*), count(col), sum, avg, var, stddev, min, max, median, quantile(col, p),
              histogram(col, e1, e2, ...), corr(x, y), covar(x, y)
  predicates: = <> < <= > >= BETWEEN IN IS [NOT] NULL under AND/OR/NOT, with public constants
  datasets:   "0x<id>" or "<seller>/<name>" (several: their union, of one schema)`;

interface RequestFlags {
  dataset: string[];
  column?: string[];
  epsilon?: string;
  exact?: boolean;
  trial?: boolean;
  json?: boolean;
}

function addRequest(ctx: CliContext, group: Command): void {
  const { out } = ctx;
  group
    .command("request")
    .summary("buy an algorithm's answer over one or more datasets")
    .description(
      "Buy an algorithm's answer over one or more datasets (several: of one schema, their union): checks the datasets and " +
        "the parameters, pays the price and the operators' fee into escrow, waits for the hosts' answer, and decrypts it once " +
        `the hosts release their keys. ${PRIVACY_MODE}`,
    )
    .argument("<algorithm>", "the algorithm: count, sum, mean, variance, stddev, min, max, histogram, count-if, covariance, regression, correlation, ttest")
    .requiredOption("--dataset <dataset>", `a dataset: ${DATASET_NAMING} (repeatable)`, collect)
    .option("--column <col>", "the column (sum, mean, variance, stddev, min, max, histogram, count-if, ttest)", collect)
    .option("--edges <e1,e2,...>", "a histogram's bucket edges")
    .option("--op <lt|le|gt|ge|eq|ne>", "count-if's comparison")
    .option("--threshold <t>", "count-if's threshold")
    .option("--x <col|col1,col2,...>", "covariance's or regression's x (several: a multiple regression, up to 10)")
    .option("--y <col>", "covariance's or regression's y")
    .option("--columns <col1,col2,...>", "correlation's columns (2 to 10)")
    .option("--by <col>", "ttest's category or bool column splitting the rows")
    .option("--groups <g1,g2>", "ttest's two groups")
    .option("--params <json>", "the parameters as JSON, instead of the flags above")
    .option("--epsilon <ε>", `ε spent on each dataset (default ${DEFAULT_REQUEST_EPSILON}; at most three decimals)`)
    .option("--exact", "ask for the exact answer (no noise, no budget): every seller must allow it for this algorithm")
    .option("--trial", "use one of your free trial computations on every dataset (seller trial): no price, only the operators' fee; ε defaults to the trial's")
    .option("--json", "print one JSON object: requestId, algorithm, datasetIds, params, result, price, fee, txHash, keysReleasedBy, and dp for a differentially private answer")
    .addHelpText(
      "after",
      REQUEST_PARAMETERS +
        "\n" +
        examples(
          "scmpc buyer request sum --dataset <dataset id> --column salary --epsilon 0.5",
          "scmpc buyer request mean --dataset <id> --dataset <id of another seller's dataset> --column salary --json",
          "scmpc buyer request count-if --dataset <id> --column salary --op ge --threshold 70000 --exact",
          "scmpc buyer request regression --dataset <id> --x age,tenure --y salary",
          "scmpc buyer request mean --dataset <seller>/salaries --column salary --trial",
        ),
    )
    .action(
      act(ctx, async (command) => {
        const [name] = command.args;
        const o = command.opts<RequestFlags>();
        let algorithm: string;
        try {
          algorithm = resolveAlgorithm(name);
        } catch (err) {
          throw new UsageError((err as Error).message, { cause: err });
        }
        const params = paramsFromFlags(algorithm, o as unknown as Record<string, unknown>);
        await connected(ctx, command, "buyer", async ({ dir, state, signer }) => {
          const progress = o.json || ctx.progressStream === undefined ? undefined : purchaseProgressBar(ctx.progressStream, "buyer request");
          let bought: PurchasedResult;
          try {
            bought = await buyComputation({
              state,
              buyer: signer,
              algorithm,
              datasetIds: o.dataset,
              params,
              keyDir: path.join(dir, "buyer-keys"),
              epsilon: o.epsilon,
              exact: o.exact === true,
              trial: o.trial === true,
              progress: progress?.report,
            });
          } finally {
            progress?.stop();
          }
          if (o.json) out.log(JSON.stringify(bought));
          else for (const line of purchaseLines(bought)) out.log(line);
        });
      }),
    );
}

function addQuery(ctx: CliContext, group: Command): void {
  const { out } = ctx;
  group
    .command("query")
    .summary("buy a SQL query's answer")
    .description(
      "Buy the answer to a SQL query over one or more datasets: the query goes on-chain as the request's parameters and " +
        `every host parses and plans it again from there. ${PRIVACY_MODE} Under differential privacy the ε is split among ` +
        "the statistics the query opens.",
    )
    .argument("<sql>", "the query, in quotes")
    .allowExcessArguments()
    .option("--epsilon <ε>", `ε spent on each dataset (default ${DEFAULT_REQUEST_EPSILON})`)
    .option("--exact", "ask for the exact answer (no noise, no budget): every seller must allow exact queries")
    .option("--trial", "use one of your free trial computations on every dataset (seller trial)")
    .option("--json", "print one JSON object: requestId, datasetIds, params, result (columns, rows), price, fee, txHash, keysReleasedBy, dp")
    .addHelpText(
      "after",
      QUERY_GRAMMAR +
        "\n" +
        examples(
          `scmpc buyer query "SELECT department, count(*), avg(salary), median(salary) FROM \\"<seller>/staff\\" GROUP BY department" --exact`,
          `scmpc buyer query "SELECT level, count(*), avg(salary) FROM \\"<seller>/staff\\", \\"<seller2>/staff-b\\" GROUP BY level" --epsilon 2 --json`,
        ),
    )
    .action(
      act(ctx, async (command) => {
        const [sql, ...extra] = command.args;
        if (extra.length > 0) throw new UsageError(`buyer query takes one query in quotes; also got ${extra.map((e) => JSON.stringify(e)).join(" ")}`);
        const o = command.opts<{ epsilon?: string; exact?: boolean; trial?: boolean; json?: boolean }>();
        await connected(ctx, command, "buyer", async ({ dir, state, signer }) => {
          const progress = o.json || ctx.progressStream === undefined ? undefined : purchaseProgressBar(ctx.progressStream, "buyer query");
          let bought: PurchasedQuery;
          try {
            bought = await buyQuery({ state, buyer: signer, sql, keyDir: path.join(dir, "buyer-keys"), epsilon: o.epsilon, exact: o.exact === true, trial: o.trial === true, progress: progress?.report });
          } finally {
            progress?.stop();
          }
          if (o.json) out.log(JSON.stringify(bought));
          else for (const line of queryLines(bought)) out.log(line);
        });
      }),
    );
}

function addSubscriptions(ctx: CliContext, group: Command): void {
  const { out } = ctx;
  group
    .command("subscribe")
    .summary("pay k periods of a dataset's subscription, or renew from the end")
    .description(
      "Pay k periods of a dataset's subscription in advance (or renew a running one from its end, on the same terms): " +
        "within a period's quota your computations over the dataset pay no per-computation price; the operators' fee and, " +
        "under differential privacy, the ε still apply.",
    )
    .argument("<dataset>", `the dataset: ${DATASET_NAMING}`)
    .option("--periods <k>", "periods to pay (default 1)")
    .option("--auto-renew", "keep a renewal reminder in the state directory: buyer renew then renews it by as many periods in its last day (no daemon: you run or schedule buyer renew)")
    .option("--json", "print the subscription as one JSON object (id, address, start, end, active, period, quota, quotaLeft, paid, earned, paidNow, autoRenew)")
    .addHelpText("after", examples("scmpc buyer subscribe 0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC/salaries --periods 2", "scmpc buyer subscribe <seller>/salaries --auto-renew"))
    .action(
      act(ctx, async (command) => {
        const [dataset] = command.args;
        const o = command.opts<{ periods?: string; autoRenew?: boolean; json?: boolean }>();
        const periods = o.periods === undefined ? 1 : Number(o.periods);
        await connected(ctx, command, "buyer", async ({ dir, state, signer }) => {
          const sub = await subscribe({ state, buyer: signer, dataset, periods });
          if (o.autoRenew) await rememberRenewal(dir, { account: await signer.getAddress(), datasetId: sub.id, periods });
          if (o.json) out.log(JSON.stringify({ ...sub, autoRenew: o.autoRenew === true }));
          else {
            out.log(`subscribed to ${sub.address} until ${sub.end} for ${sub.paidNow} mUSD: ${sub.quotaLeft} of ${sub.quota} computations left this period without the per-computation price`);
            if (o.autoRenew) out.log(`renewal reminder kept: \`scmpc buyer renew\` renews it by ${periods} period(s) once it ends within ${DEFAULT_RENEW_WITHIN}`);
          }
        });
      }),
    );

  group
    .command("renew")
    .summary("renew the subscriptions you asked to keep running (--auto-renew) that end soon")
    .description(
      "Renew every subscription you took with --auto-renew that ends within --within (or has ended): each pays its periods " +
        "again from its end, on its terms. Run it yourself or from a scheduler (cron); nothing runs in the background. A " +
        "renewal the registry refuses (the offer changed or was withdrawn) is reported and the others still go through.",
    )
    .option("--within <length>", `how close to its end a subscription is renewed: s, m, h, d or w (default ${DEFAULT_RENEW_WITHIN})`)
    .option("--json", "print one JSON object: renewed (subscriptions, with paidNow), failed (id, error)")
    .addHelpText("after", examples("scmpc buyer renew", "scmpc buyer renew --within 3d --json"))
    .action(
      act(ctx, async (command) => {
        const o = command.opts<{ within?: string; json?: boolean }>();
        return connected(ctx, command, "buyer", async ({ dir, state, signer }) => {
          const { renewed, failed } = await renewDue({ state, buyer: signer, dir, within: o.within });
          if (o.json) out.log(JSON.stringify({ renewed, failed }));
          else {
            if (renewed.length === 0 && failed.length === 0) out.log(`nothing to renew within ${o.within ?? DEFAULT_RENEW_WITHIN}`);
            for (const r of renewed) out.log(`renewed ${r.address} until ${r.end} for ${r.paidNow} mUSD`);
            for (const f of failed) out.error(`could not renew ${f.id}: ${f.error}`);
          }
          return failed.length > 0 ? 1 : 0;
        });
      }),
    );

  group
    .command("unsubscribe")
    .summary("end a subscription with the current period")
    .description("End a subscription with its current period; the periods not begun are credited back (buyer withdraw).")
    .argument("<dataset>", `the dataset: ${DATASET_NAMING}`)
    .option("--json", "print one JSON object: id, end (ISO 8601), refund (mUSD)")
    .addHelpText("after", examples("scmpc buyer unsubscribe 0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC/salaries"))
    .action(
      act(ctx, async (command) => {
        const [dataset] = command.args;
        const { json } = command.opts<{ json?: boolean }>();
        await connected(ctx, command, "buyer", async ({ dir, state, signer }) => {
          const ended = await unsubscribe({ state, buyer: signer, dataset });
          await forgetRenewal(dir, await signer.getAddress(), ended.id);
          if (json) out.log(JSON.stringify(ended));
          else out.log(`subscription to ${ended.id} ends ${ended.end}; ${ended.refund} mUSD for the periods not begun credited back (scmpc buyer withdraw)`);
        });
      }),
    );

  group
    .command("subscriptions")
    .summary("yours, with the computations left this period")
    .description("Your subscriptions, running or ended, with the computations left this period.")
    .option("--json", "print one JSON array of subscriptions")
    .addHelpText("after", examples("scmpc buyer subscriptions", "scmpc buyer subscriptions --account buyer2 --json"))
    .action(
      act(ctx, async (command) => {
        const { json } = command.opts<{ json?: boolean }>();
        await connected(ctx, command, "buyer", async ({ dir, state, signer }) => {
          const subs = await listSubscriptions({ state, buyer: signer });
          const due = new Set((await dueRenewals({ state, buyer: signer, dir })).map((d) => d.datasetId));
          if (json) out.log(JSON.stringify(subs));
          else if (subs.length === 0) out.log("no subscriptions");
          else {
            for (const s of subs) out.log(`${s.address}  ${s.active ? `running until ${s.end}, ${s.quotaLeft} of ${s.quota} computations left this period` : `ended ${s.end}`}`);
            // The reminder: on stderr, so that what a script reads stays the list.
            for (const s of subs) if (due.has(s.id.toLowerCase())) out.error(`reminder: ${s.address} ${s.active ? `ends ${s.end}` : "has ended"}; \`scmpc buyer renew\` renews it`);
          }
        });
      }),
    );
}

function addFeeCredits(ctx: CliContext, group: Command): void {
  const { out } = ctx;
  group
    .command("prepay")
    .summary("pay operators' fees in advance: covered and trial requests then move no token")
    .description(
      "Pay the operators' fee of --count requests of one algorithm in advance. A request that escrows no dataset price — " +
        "every dataset covered by your subscription, or a trial — then pays its fee with one credit and moves no token " +
        "(cheaper in gas, no approval); a priced request pays by transfer as usual and keeps the credits. buyer fee-credits " +
        "lists them; buyer reclaim-fees turns unused ones back into withdrawable tokens.",
    )
    .argument("<algorithm>", "the algorithm whose contract keeps the credits: sum, mean, ..., or query")
    .requiredOption("--count <n>", "how many requests' fees to pay")
    .option("--json", "print one JSON object: algorithm, credits (now held), fee, paid (mUSD), txHash")
    .addHelpText("after", examples("scmpc buyer prepay mean --count 10", "scmpc buyer prepay sum --count 2 --json"))
    .action(
      act(ctx, async (command) => {
        const [algorithm] = command.args;
        const o = command.opts<{ count: string; json?: boolean }>();
        const count = Number(o.count);
        if (!Number.isSafeInteger(count) || count <= 0) throw new UsageError(`--count must be a positive whole number of requests; got "${o.count}"`);
        await connected(ctx, command, "buyer", async ({ state, signer }) => {
          const done = await prepayFees({ state, buyer: signer, algorithm, count });
          if (o.json) out.log(JSON.stringify(done));
          else out.log(`paid ${done.paid} mUSD for ${count} operators' fee(s) of ${done.algorithm}: ${done.credits} credit(s) held, used by requests that escrow no dataset price`);
        });
      }),
    );

  group
    .command("fee-credits")
    .summary("your prepaid operators' fees, per algorithm")
    .description("Your operators' fees paid in advance (buyer prepay), per algorithm, with the fee each credit stands for.")
    .option("--json", "print one JSON array: algorithm, credits, fee (mUSD)")
    .addHelpText("after", examples("scmpc buyer fee-credits", "scmpc buyer fee-credits --json"))
    .action(
      act(ctx, async (command) => {
        const { json } = command.opts<{ json?: boolean }>();
        await connected(ctx, command, "buyer", async ({ state, signer }) => {
          const credits = await listFeeCredits({ state, buyer: signer });
          if (json) out.log(JSON.stringify(credits));
          else if (credits.length === 0) out.log("no fee credits");
          else for (const c of credits) out.log(`${c.algorithm}  ${c.credits} credit(s) of ${c.fee} mUSD`);
        });
      }),
    );

  group
    .command("reclaim-fees")
    .summary("turn unused fee credits back into withdrawable tokens")
    .description("Turn every unused fee credit of one algorithm back into your withdrawable balance (collected with buyer withdraw).")
    .argument("<algorithm>", "the algorithm whose credits to take back")
    .option("--json", "print one JSON object: algorithm, credits, reclaimed (mUSD), txHash")
    .addHelpText("after", examples("scmpc buyer reclaim-fees mean"))
    .action(
      act(ctx, async (command) => {
        const [algorithm] = command.args;
        const { json } = command.opts<{ json?: boolean }>();
        await connected(ctx, command, "buyer", async ({ state, signer }) => {
          const done = await reclaimFeeCredits({ state, buyer: signer, algorithm });
          if (json) out.log(JSON.stringify(done));
          else out.log(`${done.credits} fee credit(s) of ${done.algorithm} turned into ${done.reclaimed} mUSD withdrawable (buyer withdraw)`);
        });
      }),
    );
}

function addRefund(ctx: CliContext, group: Command): void {
  const { out } = ctx;
  group
    .command("refund")
    .summary("take back the price of a request past its deadline")
    .description(
      "Take back the price and the operators' fee of a request nobody fulfilled by its deadline (1 h locally); " +
        "the amount becomes withdrawable (buyer withdraw).",
    )
    .requiredOption("--request <id>", "the request id (0x..., 32 bytes), as buyer request printed it")
    .option("--json", "print one JSON object: account, request, algorithm, refunded (token units), formatted (mUSD)")
    .addHelpText("after", examples("scmpc buyer refund --request <request id>", "scmpc buyer refund --request <request id> --json"))
    .action(
      act(ctx, async (command) => {
        const o = command.opts<{ request: string; json?: boolean }>();
        await connected(ctx, command, "buyer", async ({ state, signer }) => {
          const { algorithm, amount } = await refundRequest({ state, buyer: signer, requestId: o.request });
          if (o.json) {
            const account = await signer.getAddress();
            out.log(JSON.stringify({ account, request: o.request, algorithm, refunded: amount.toString(), formatted: formatUnits(amount, PAYMENT_DECIMALS) }));
          } else out.log(`refunded ${formatUnits(amount, PAYMENT_DECIMALS)} mUSD of ${algorithm} request ${o.request} to your withdrawable balance`);
        });
      }),
    );
}

function addPunish(ctx: CliContext, group: Command): void {
  const { out } = ctx;
  group
    .command("punish")
    .summary("have a seller punished for shares two hosts found missing or corrupt")
    .description(
      "When two MPC hosts refused a request because a dataset's shares were missing or did not match its on-chain " +
        "commitments, each signed an attestation; the bridge serves them to anybody. This takes them to the penalty court: " +
        "the request fails with its refund if still pending, half the seller's stake is slashed (half of that credited to " +
        "the request's buyer, the rest burned) and the dataset is deregistered. Anyone may run it; the compensation goes to " +
        "the request's buyer (buyer withdraw).",
    )
    .requiredOption("--request <id>", "the failed request (0x..., 32 bytes), as buyer request printed it")
    .option("--json", "print one JSON object: requestId, datasetId, hosts (host, offence), buyer, slashed, compensation (mUSD), transaction")
    .addHelpText("after", examples("scmpc buyer punish --request <request id>", "scmpc buyer punish --request <request id> --json"))
    .action(
      act(ctx, async (command) => {
        const o = command.opts<{ request: string; json?: boolean }>();
        await connected(ctx, command, "buyer", async ({ state, signer }) => {
          const done = await punishRequest({ state, signer, requestId: o.request });
          if (o.json) out.log(JSON.stringify(done));
          else {
            const hosts = done.hosts.map((h) => `host ${h.host} (${h.offence})`).join(" and ");
            out.log(`dataset ${done.datasetId} punished on the attestations of ${hosts}: ${done.slashed} mUSD of its stake slashed, ${done.compensation} mUSD credited to ${done.buyer} (buyer withdraw); the dataset is deregistered`);
          }
        });
      }),
    );
}

/**
 * Adds the `buyer` command group to the program.
 *
 * @example
 * addBuyerCommands(ctx, program);
 */
export function addBuyerCommands(ctx: CliContext, program: Command): void {
  const group = program
    .command("buyer")
    .helpGroup("Buyers:")
    .summary("buy answers and queries, subscribe, take back refunds")
    .description("A buyer's commands: buy an algorithm's answer or a query's over datasets for sale, subscribe, and take back what a failed or late request cost. They act as the buyer development account unless --account or SCMPC_PRIVATE_KEY says otherwise.")
    .addHelpText("after", examples("scmpc buyer request mean --dataset <dataset id> --column salary", "scmpc buyer request --help"));
  addRequest(ctx, group);
  addQuery(ctx, group);
  addSubscriptions(ctx, group);
  addFeeCredits(ctx, group);
  addRefund(ctx, group);
  addPunish(ctx, group);
  addBalanceCommands(ctx, group, "buyer", { balance: "refunds credited and not yet withdrawn", withdraw: "withdraw the refunds credited" });
}
