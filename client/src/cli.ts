import path from "node:path";
import { parseArgs } from "node:util";
import { Contract, formatUnits, JsonRpcProvider } from "ethers";
import { jobUuidOf, loadArtifact } from "@scmpc/contracts";
import { resolveSigner } from "./accounts.ts";
import type { DevRole } from "./accounts.ts";
import { ALGORITHMS, QUERY_ALGORITHM, QUERY_RESTRICTED_ENTRY, queryAggregateEntry } from "@scmpc/mpc-engine";
import { AGGREGATE_FUNCTIONS } from "@scmpc/mpc-engine/query";
import { runTlsCommand, TLS_USAGE, TlsUsageError } from "@scmpc/mpc-engine/tls";
import { parseTypeSpec, type TypeSpec } from "@scmpc/tables";
import { buyComputation, buyQuery, DEFAULT_REQUEST_EPSILON, refundRequest, resolveAlgorithm } from "./buyer.ts";
import type { PurchasedQuery, PurchasedResult } from "./buyer.ts";
import { DEFAULT_BUDGET_EPSILON, listingLines, setDatasetPolicy, showDataset } from "./dataset-policy.ts";
import { listMarket, marketLines, RANK_WINDOW_DAYS } from "./market-list.ts";
import { MAX_PAYEES, parsePayees, setPayees } from "./payouts.ts";
import { listSubscriptions, offerSubscription, releaseEarnings, subscribe, unsubscribe } from "./subscriptions.ts";
import { DEFAULT_MIN_ROWS, manageDataset, PAYMENT_DECIMALS, uploadDataset, type UploadedDataset } from "./seller.ts";
import { describeColumn } from "./column-description.ts";
import { startLocalStack } from "./stack.ts";
import { readState, stateDir } from "./state.ts";

const USAGE = `scmpc — the sc-mpc data market

Operators
  scmpc up                                   start the local stack (chain, contracts, 3 MPC hosts, bridge, relay)
  scmpc tls create --dir <dir> [--name <i>=<host name>] ... [--per-host <out>] [--force]
                                             the hosts' mutual-TLS material for a deployment (see scmpc tls --help)
  scmpc tls show --dir <dir>                 its fingerprints

Sellers
  scmpc seller upload <file.csv|.json|.ndjson|.parquet> --name <name> --price <amount>
        [--column <col> ...] [--type <col>=int|decimal[:<places>]|category|bool|date ...]
        [--categories <col>=<v1>,<v2>,... ...] [--bounds <col>=<lo>:<hi>[,...]]
        [--allow sum,mean,...] [--exact sum,...] [--budget <ε>] [--min-rows <n>] [--stake <amount>] [--json]
                                             share the table to the 3 hosts and register the dataset
                                             (defaults: every column, types inferred from the data; missing
                                             cells — empty, NA, null — are shared with a secret validity bit;
                                             every algorithm allowed, with differential privacy only —
                                             --exact lists those whose exact answers you allow; a total privacy
                                             budget of ε ${DEFAULT_BUDGET_EPSILON}; at least ${DEFAULT_MIN_ROWS} rows; the registry's minimum stake;
                                             bounds derived from the data, rounded outward to one significant
                                             digit; category dictionaries the distinct values — types, bounds and
                                             dictionaries are public, on-chain)
  scmpc seller policy --dataset <id> [--allow <alg,...>] [--exact <alg,...>|none] [--budget <ε>] [--min-rows <n>] [--json]
                                             change a dataset's policy (what is not given stays)
  scmpc seller balance [--json]              payments credited and not yet withdrawn
  scmpc seller withdraw                      withdraw them
  scmpc seller price --dataset <id> --price <amount>
  scmpc seller subscription --dataset <id> --period <30d|12h|...|off> [--period-price <amount> --quota <n>] [--json]
                                             offer period access: within the quota a subscriber's computations pay
                                             no per-computation price (the operators' fee and ε still apply); the
                                             period's price is earned pro rata to the second (seller withdraw)
  scmpc seller payouts --dataset <id> [--to <address>=<percent>,...|none] [--json]
                                             who shares the dataset's revenue (Enigma's assisting nodes): each
                                             payee's share of every payment, the seller keeping the rest; at most
                                             ${MAX_PAYEES} payees, credited when a request is paid for (payees withdraw with
                                             seller withdraw --account ...); without --to, shows them
  scmpc seller pause|resume --dataset <id>
  scmpc seller deregister --dataset <id>     stop selling for good; the stake unlocks after the cooldown
  scmpc seller withdraw-stake --dataset <id>

Buyers
  scmpc market list [--sort rank|price|new] [--algorithm <alg>] [--json]
                                             the datasets for sale, by rank (a public metric of on-chain facts:
                                             paid computations in the last ${RANK_WINDOW_DAYS} days, stake, age; see the README),
                                             price or newest; --algorithm keeps those allowing it
  scmpc market show <dataset> [--json]       a dataset's schema, bounds, policy, price and privacy budget left
  scmpc buyer request <algorithm> --dataset <id> [--dataset <id2> ...] <parameters> [--epsilon <ε> | --exact] [--json]
        (a differentially private answer spending ε ${DEFAULT_REQUEST_EPSILON} of each dataset's budget unless --epsilon
        says otherwise; --exact where every seller allows exact answers; count spends the least ε, 0.001)
        count                                (no parameters)
        sum | mean | variance | stddev | min | max     --column <col>
        histogram                            --column <col> --edges <e1,e2,...>
        count-if                             --column <col> --op lt|le|gt|ge|eq|ne --threshold <t>
        covariance | regression              --x <col> --y <col>
        regression (multiple, up to 10 x)    --x <col1,col2,...> --y <col>
        correlation                          --columns <col1,col2,...>   (2 to 10)
        ttest                                --column <numeric> --by <category|bool> --groups <g1,g2>
        (or --params '<json>' for any of them)
  scmpc buyer query "<SQL>" [--epsilon <ε> | --exact] [--json]
        SELECT <aggregates>[, <category columns>] FROM "<dataset>"[, "<dataset2>" ...] [WHERE <predicate>] [GROUP BY <columns>]
        aggregates: count(*), count(col), sum, avg, var, stddev, min, max, median, quantile(col, p),
        histogram(col, e1, e2, ...), corr(x, y), covar(x, y); predicates: = <> < <= > >= BETWEEN IN IS [NOT] NULL
        under AND/OR/NOT, with public constants; datasets by "0x<id>" or "<seller>/<name>" (several: their union)
  scmpc buyer subscribe <dataset> [--periods <k>] [--json]   pay k periods (default 1), or renew from the end
  scmpc buyer unsubscribe <dataset>          end with the current period; the periods not begun come back
  scmpc buyer subscriptions [--json]         yours, with the computations left this period
  scmpc buyer refund --request <id>          take back the price of a request past its deadline
  scmpc buyer balance [--json]               refunds credited and not yet withdrawn
  scmpc buyer withdraw
  scmpc algorithms [--json]                  the algorithms, their parameters, their noise and what each reveals

Datasets are named by id, by <seller address>/<name>, or by <name> alone for a dataset of the
account the command runs as.

Options
  --account <role|index>   a local development account (roles: deployer, relay, seller, buyer, seller2, buyer2)
  SCMPC_PRIVATE_KEY        act with this key instead (environment)
  SCMPC_HOME               directory of the stack state file (default ./.scmpc)
`;

/** A mistake in how the command was called; the CLI prints it with the usage. */
class UsageError extends Error {}

type Out = { log: (line: string) => void; error: (line: string) => void };

async function contextFor(role: DevRole, account: string | undefined) {
  const dir = stateDir(process.env);
  const state = await readState(dir);
  const provider = new JsonRpcProvider(state.rpcUrl, state.chainId, { staticNetwork: true });
  const signer = resolveSigner({ account, privateKey: process.env.SCMPC_PRIVATE_KEY, defaultRole: role }, provider);
  return { dir, state, provider, signer };
}

async function up(out: Out): Promise<number> {
  const dir = stateDir(process.env);
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

/** Every algorithm contract of the market: payments and refunds are credited per contract. */
function markets(state: Awaited<ReturnType<typeof contextFor>>["state"], signer: Awaited<ReturnType<typeof contextFor>>["signer"]) {
  const abi = loadArtifact("AlgorithmComputation").abi;
  return Object.entries(state.contracts.algorithms).map(([name, address]) => ({ name, contract: new Contract(address, abi, signer) }));
}

async function balance(role: DevRole, account: string | undefined, json: boolean, out: Out): Promise<number> {
  const { state, provider, signer } = await contextFor(role, account);
  try {
    const address = await signer.getAddress();
    const perAlgorithm: Record<string, string> = {};
    let total = 0n;
    for (const { name, contract } of markets(state, signer)) {
      const amount: bigint = await contract.withdrawable(address);
      if (amount > 0n) perAlgorithm[name] = amount.toString();
      total += amount;
    }
    const registry = new Contract(state.contracts.registry, loadArtifact("DatasetRegistry").abi, signer);
    // A seller's subscription earnings count once released; a balance releases nothing, so it reads them as owed.
    const income: bigint = await registry.incomeOf(address);
    if (income > 0n) perAlgorithm.subscriptions = income.toString();
    total += income;
    if (json) out.log(JSON.stringify({ account: address, withdrawable: total.toString(), formatted: formatUnits(total, PAYMENT_DECIMALS), byAlgorithm: perAlgorithm }));
    else out.log(`${address} can withdraw ${formatUnits(total, PAYMENT_DECIMALS)} mUSD`);
    return 0;
  } finally {
    provider.destroy();
  }
}

async function withdraw(role: DevRole, account: string | undefined, out: Out): Promise<number> {
  const { state, provider, signer } = await contextFor(role, account);
  try {
    const address = await signer.getAddress();
    let total = 0n;
    for (const { contract } of markets(state, signer)) {
      const amount: bigint = await contract.withdrawable(address);
      if (amount === 0n) continue;
      await (await contract.withdraw()).wait();
      total += amount;
    }
    // Subscription income (a seller's earnings, released first) and refunds (a subscriber's).
    const registry = new Contract(state.contracts.registry, loadArtifact("DatasetRegistry").abi, signer);
    if (role === "seller") await releaseEarnings(registry, address);
    const income: bigint = await registry.incomeOf(address);
    if (income > 0n) {
      await (await registry.withdrawIncome()).wait();
      total += income;
    }
    out.log(total === 0n ? `${address} has nothing to withdraw` : `withdrew ${formatUnits(total, PAYMENT_DECIMALS)} mUSD to ${address}`);
    return 0;
  } finally {
    provider.destroy();
  }
}

/**
 * Parses `--bounds` flags: each `col=lo:hi`, several per flag separated by
 * commas (`a=1:2,b=-3.5:4`); the decimals are checked against the data later.
 */
function boundsFromFlags(flags: readonly string[]): Record<string, { lo: string; hi: string }> {
  const bounds: Record<string, { lo: string; hi: string }> = {};
  for (const spec of flags.flatMap((f) => f.split(",")).map((s) => s.trim()).filter((s) => s !== "")) {
    const match = /^([^=]+)=([^:]+):([^:]+)$/.exec(spec);
    if (!match) throw new UsageError(`--bounds takes <column>=<lo>:<hi> (e.g. salary=30000:200000); got "${spec}"`);
    const [, column, lo, hi] = match.map((m) => m.trim());
    if (Object.hasOwn(bounds, column)) throw new UsageError(`--bounds gives column "${column}" twice`);
    bounds[column] = { lo, hi };
  }
  return bounds;
}

/**
 * Parses `--type` flags: each `col=<type>` (`int`, `decimal`,
 * `decimal:<places>`, `category`, `bool`, `date`), several per flag
 * separated by commas.
 */
function typesFromFlags(flags: readonly string[]): Record<string, TypeSpec> {
  const types: Record<string, TypeSpec> = {};
  for (const spec of flags.flatMap((f) => f.split(",")).map((s) => s.trim()).filter((s) => s !== "")) {
    const match = /^([^=]+)=(.+)$/.exec(spec);
    if (!match) throw new UsageError(`--type takes <column>=<type> (e.g. hired=date, price=decimal:2); got "${spec}"`);
    const [column, text] = [match[1].trim(), match[2].trim()];
    if (Object.hasOwn(types, column)) throw new UsageError(`--type gives column "${column}" twice`);
    try {
      types[column] = parseTypeSpec(text);
    } catch (err) {
      throw new UsageError(`--type ${column}: ${(err as Error).message}`);
    }
  }
  return types;
}

/**
 * Parses `--categories` flags: each `col=v1,v2,...`, one column per flag
 * (the commas separate its values), fixing that column's public dictionary.
 */
function categoriesFromFlags(flags: readonly string[]): Record<string, string[]> {
  const categories: Record<string, string[]> = {};
  for (const flag of flags) {
    const at = flag.indexOf("=");
    const column = flag.slice(0, Math.max(at, 0)).trim();
    const values = flag.slice(at + 1).split(",").map((v) => v.trim());
    if (at <= 0 || column === "" || values.some((v) => v === "")) {
      throw new UsageError(`--categories takes <column>=<v1>,<v2>,... with no empty value (e.g. dept=eng,ops,sales); got "${flag}"`);
    }
    if (Object.hasOwn(categories, column)) throw new UsageError(`--categories gives column "${column}" twice`);
    categories[column] = values;
  }
  return categories;
}

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

/** The CLI's options but `--exact`, whose kind depends on the command group. */
const OPTIONS = {
  name: { type: "string" },
  column: { type: "string", multiple: true },
  type: { type: "string", multiple: true },
  categories: { type: "string", multiple: true },
  price: { type: "string" },
  allow: { type: "string" },
  "min-rows": { type: "string" },
  dataset: { type: "string", multiple: true },
  x: { type: "string" },
  y: { type: "string" },
  columns: { type: "string" },
  by: { type: "string" },
  groups: { type: "string" },
  edges: { type: "string" },
  op: { type: "string" },
  threshold: { type: "string" },
  params: { type: "string" },
  stake: { type: "string" },
  epsilon: { type: "string" },
  budget: { type: "string" },
  bounds: { type: "string", multiple: true },
  request: { type: "string" },
  to: { type: "string" },
  sort: { type: "string" },
  period: { type: "string" },
  "period-price": { type: "string" },
  quota: { type: "string" },
  periods: { type: "string" },
  algorithm: { type: "string" },
  account: { type: "string" },
  json: { type: "boolean", default: false },
  help: { type: "boolean", short: "h", default: false },
} as const;

/** Options that take a value: the token after one of them is not a positional. */
const VALUE_OPTIONS = new Set(Object.entries(OPTIONS).filter(([, o]) => o.type === "string").map(([name]) => `--${name}`));

/**
 * The command group (`buyer`, `seller`, ...): the first positional argument,
 * wherever options put it (`--account buyer2 buyer request ...`).
 */
function commandGroup(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i];
    if (!token.startsWith("-")) return token;
    if (VALUE_OPTIONS.has(token)) i++;
  }
  return undefined;
}

/** `sum,mean@1` → `["sum@1", "mean@1"]`; undefined stays undefined. */
/**
 * An algorithm list flag: names ("mean", "sum@1"), and `query` (every
 * aggregate) or, last, `query:<fn>,<fn>,...` (queries using only those
 * aggregate functions): `--allow mean,sum,query:avg,count`.
 */
function algorithmList(flag: string | undefined): string[] | undefined {
  if (flag === undefined) return undefined;
  try {
    const at = flag.indexOf("query:");
    const named = (at < 0 ? flag : flag.slice(0, at)).split(",").map((a) => a.trim()).filter((a) => a !== "").map(resolveAlgorithm);
    if (at < 0) return named;
    const fns = flag.slice(at + "query:".length).split(",").map((a) => a.trim()).filter((a) => a !== "");
    const unknown = fns.filter((fn) => !(AGGREGATE_FUNCTIONS as readonly string[]).includes(fn));
    if (fns.length === 0 || unknown.length > 0) {
      throw new Error(`query:<fn>,... takes aggregate functions (${AGGREGATE_FUNCTIONS.join(", ")}); got ${unknown.join(", ") || "none"}`);
    }
    return [...new Set([...named, QUERY_ALGORITHM, QUERY_RESTRICTED_ENTRY, ...fns.map(queryAggregateEntry)])];
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function intervalText(interval: unknown): string {
  if (Array.isArray(interval) && typeof interval[0] === "string") return `[${interval[0]}, ${interval[1]}]`;
  if (Array.isArray(interval)) return interval.map(intervalText).join(" ");
  return Object.entries(interval as Record<string, unknown>).map(([k, v]) => `${k} ${intervalText(v)}`).join(", ");
}

/** A purchase for the terminal: the answer, then how noisy it is and what it cost the datasets' budgets. */
function purchaseLines(bought: PurchasedResult): string[] {
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

/**
 * Runs the CLI with `argv` (without node and script); resolves to the exit code.
 *
 * @example
 * process.exitCode = await main(["seller", "balance", "--json"]);
 */
export async function main(argv: string[], out: Out = { log: console.log, error: console.error }): Promise<number> {
  if (argv[0] === "tls") {
    // Its own flags: parsed by the engine's TLS command.
    if (argv.length === 1 || argv.includes("--help") || argv.includes("-h")) {
      out.log(TLS_USAGE.replace(/^tls /gm, "scmpc tls "));
      return 0;
    }
    try {
      return await runTlsCommand(argv.slice(1), out);
    } catch (err) {
      const usage = err instanceof TlsUsageError || (err as { code?: string }).code?.startsWith("ERR_PARSE_ARGS");
      out.error(usage ? `${(err as Error).message}\n\n${TLS_USAGE.replace(/^tls /gm, "scmpc tls ")}` : `error: ${(err as Error).message}`);
      return usage ? 2 : 1;
    }
  }
  let parsed;
  try {
    // A buyer's --exact is a switch; a seller's lists algorithms.
    const exactFlag = commandGroup(argv) === "buyer" ? ({ type: "boolean" } as const) : ({ type: "string" } as const);
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { ...OPTIONS, exact: exactFlag },
    });
  } catch (err) {
    out.error(`${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  const [group, command, ...rest] = positionals;
  const json = values.json ?? false;

  try {
    if (values.help || group === undefined || group === "help") {
      out.log(USAGE);
      return 0;
    }
    if (group === "up" && command === undefined) return await up(out);

    if (group === "algorithms" && command === undefined) {
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
      return 0;
    }

    if (group === "seller" && command === "upload") {
      const [file] = rest;
      if (!file) throw new UsageError("seller upload needs a table file (.csv, .json, .ndjson or .parquet)");
      const picked = (values.column ?? []).flatMap((c) => c.split(",")).map((c) => c.trim()).filter((c) => c !== "");
      // Without --column, every column of the table is shared.
      const columns = picked.length > 0 ? picked : undefined;
      if (!values.name || !values.price) throw new UsageError("seller upload needs --name and --price");
      const minRows = values["min-rows"];
      if (minRows !== undefined && !/^\d+$/.test(minRows)) throw new UsageError(`--min-rows must be a non-negative integer; got "${minRows}"`);
      const bounds = boundsFromFlags(values.bounds ?? []);
      const types = typesFromFlags(values.type ?? []);
      const categories = categoriesFromFlags(values.categories ?? []);
      if (columns !== undefined) {
        for (const [flag, given] of [["--bounds", bounds], ["--type", types], ["--categories", categories]] as const) {
          const stray = Object.keys(given).filter((c) => !columns.includes(c));
          if (stray.length > 0) throw new UsageError(`${flag} names ${stray.map((c) => `"${c}"`).join(", ")}, not among the --column(s) shared`);
        }
      }
      const allow = algorithmList(values.allow);
      const exact = algorithmList(values.exact as string | undefined);
      const { state, provider, signer } = await contextFor("seller", values.account);
      try {
        const ds = await uploadDataset({
          state,
          seller: signer,
          file,
          name: values.name,
          columns,
          types,
          categories,
          price: values.price,
          allow,
          exact,
          budget: values.budget,
          minRows: minRows === undefined ? undefined : Number(minRows),
          stake: values.stake,
          bounds,
        });
        // A pending change of the host set is a warning in either mode (the JSON carries it as well).
        for (const line of ds.pendingHostChanges) out.error(`warning: ${line}`);
        if (json) out.log(JSON.stringify(ds));
        else {
          // Derived bounds and dictionaries reveal each column's rough range, or its values, to every buyer: say so, once per column.
          for (const name of ds.derivedBounds) {
            const c = ds.columns.find((col) => col.name === name)!;
            const shown = c.type === "date" ? describeColumn(c).slice("date ".length) : `[${c.lo}, ${c.hi}]`;
            out.log(
              `column "${name}": bounds ${shown} derived from the data; bounds are public and published on-chain with the schema ` +
                `(choose them with --bounds ${name}=<lo>:<hi>)`,
            );
          }
          for (const summary of ds.columnSummaries.filter((c) => c.dictionaryDerived)) {
            const present = ds.rowCount - summary.missing;
            const distinct = present > 1 && summary.categories === present ? "; every value is distinct, so the dictionary lists each row's value" : "";
            out.log(
              `column "${summary.name}": category dictionary of ${summary.categories} values read from the data; it is public and published on-chain ` +
                `with the schema${distinct} (fix it with --categories ${summary.name}=<v1>,<v2>,…, or leave the column out with --column)`,
            );
          }
          out.log(`dataset ${ds.address}: ${ds.rowCount} rows of ${ds.columns.length} column${ds.columns.length === 1 ? "" : "s"} shared to 3 hosts and registered`);
          for (const line of uploadedColumnLines(ds)) out.log(line);
          out.log(`dataset id ${ds.datasetId}`);
          out.log(
            `privacy budget ε ${ds.budget}; exact answers allowed for ${ds.exactAlgorithms.length > 0 ? ds.exactAlgorithms.join(", ") : "no algorithm"} ` +
              `(every other answer is differentially private)`,
          );
        }
        return 0;
      } finally {
        provider.destroy();
      }
    }

    if (group === "seller" && ["price", "pause", "resume", "deregister", "withdraw-stake"].includes(command ?? "")) {
      if (!values.dataset?.[0]) throw new UsageError(`seller ${command} needs --dataset`);
      if (command === "price" && !values.price) throw new UsageError("seller price needs --price");
      const action =
        command === "price"
          ? { kind: "price" as const, price: values.price! }
          : command === "pause" || command === "resume"
            ? { kind: "active" as const, active: command === "resume" }
            : command === "deregister"
              ? { kind: "deregister" as const }
              : { kind: "withdraw-stake" as const };
      const { state, provider, signer } = await contextFor("seller", values.account);
      try {
        out.log(await manageDataset({ state, seller: signer, datasetId: values.dataset[0], action }));
        return 0;
      } finally {
        provider.destroy();
      }
    }

    if (group === "seller" && command === "subscription") {
      const dataset = values.dataset?.[0];
      if (!dataset) throw new UsageError("seller subscription needs --dataset");
      if (!values.period) throw new UsageError("seller subscription needs --period (e.g. 30d), or --period off");
      const quota = values.quota === undefined ? undefined : Number(values.quota);
      const { state, provider, signer } = await contextFor("seller", values.account);
      try {
        const set = await offerSubscription({ state, seller: signer, dataset, period: values.period, periodPrice: values["period-price"], quota });
        if (json) out.log(JSON.stringify(set));
        else if (set.offer === null) out.log(`${set.id}: no subscriptions offered (running ones keep their terms)`);
        else out.log(`${set.id}: subscriptions of ${set.offer.period} for ${set.offer.periodPrice} mUSD, ${set.offer.quota} computations per period without the per-computation price`);
        return 0;
      } finally {
        provider.destroy();
      }
    }

    if (group === "buyer" && (command === "subscribe" || command === "unsubscribe" || command === "subscriptions")) {
      const { state, provider, signer } = await contextFor("buyer", values.account);
      try {
        if (command === "subscriptions") {
          const subs = await listSubscriptions({ state, buyer: signer });
          if (json) out.log(JSON.stringify(subs));
          else if (subs.length === 0) out.log("no subscriptions");
          else for (const s of subs) out.log(`${s.address}  ${s.active ? `running until ${s.end}, ${s.quotaLeft} of ${s.quota} computations left this period` : `ended ${s.end}`}`);
          return 0;
        }
        const [dataset] = rest;
        if (!dataset) throw new UsageError(`buyer ${command} needs a dataset (its id or <seller address>/<name>)`);
        if (command === "subscribe") {
          const periods = values.periods === undefined ? 1 : Number(values.periods);
          const sub = await subscribe({ state, buyer: signer, dataset, periods });
          if (json) out.log(JSON.stringify(sub));
          else out.log(`subscribed to ${sub.address} until ${sub.end} for ${sub.paidNow} mUSD: ${sub.quotaLeft} of ${sub.quota} computations left this period without the per-computation price`);
        } else {
          const ended = await unsubscribe({ state, buyer: signer, dataset });
          if (json) out.log(JSON.stringify(ended));
          else out.log(`subscription to ${ended.id} ends ${ended.end}; ${ended.refund} mUSD for the periods not begun credited back (scmpc buyer withdraw)`);
        }
        return 0;
      } finally {
        provider.destroy();
      }
    }

    if (group === "seller" && command === "payouts") {
      const dataset = values.dataset?.[0];
      if (!dataset) throw new UsageError("seller payouts needs --dataset");
      const { state, provider, signer } = await contextFor("seller", values.account);
      try {
        if (values.to === undefined) {
          const listing = await showDataset({ state, runner: signer, dataset });
          if (json) out.log(JSON.stringify({ id: listing.id, payees: listing.payouts }));
          else if (listing.payouts.length === 0) out.log(`${listing.id}: no payees; the seller is paid everything`);
          else for (const p of listing.payouts) out.log(`${p.account}  ${p.share}`);
          return 0;
        }
        const set = await setPayees({ state, seller: signer, dataset, payees: parsePayees(values.to) });
        if (json) out.log(JSON.stringify(set));
        else {
          out.log(`payouts of ${set.id} set: the seller ${set.sellerShare}`);
          for (const p of set.payees) out.log(`  ${p.account}  ${p.share}`);
        }
        return 0;
      } finally {
        provider.destroy();
      }
    }

    if (group === "seller" && command === "policy") {
      const dataset = values.dataset?.[0];
      if (!dataset) throw new UsageError("seller policy needs --dataset");
      const minRows = values["min-rows"];
      if (minRows !== undefined && !/^\d+$/.test(minRows)) throw new UsageError(`--min-rows must be a non-negative integer; got "${minRows}"`);
      const exact = values.exact as string | undefined;
      if (values.allow === undefined && exact === undefined && values.budget === undefined && minRows === undefined) {
        throw new UsageError("seller policy needs at least one of --allow, --exact, --budget, --min-rows");
      }
      const allow = algorithmList(values.allow);
      const exactList = exact?.trim() === "none" ? [] : algorithmList(exact);
      const { state, provider, signer } = await contextFor("seller", values.account);
      try {
        const policy = await setDatasetPolicy({
          state,
          seller: signer,
          dataset,
          allow,
          exact: exactList,
          budget: values.budget,
          minRows: minRows === undefined ? undefined : Number(minRows),
        });
        if (json) out.log(JSON.stringify(policy));
        else {
          out.log(`policy of ${policy.id} set:`);
          out.log(`  allowed  ${policy.allowedAlgorithms.join(", ") || "none"}`);
          out.log(`  exact    ${policy.exactAlgorithms.join(", ") || "none"}`);
          out.log(`  budget   ε ${policy.budget.remaining} of ${policy.budget.total} left`);
          out.log(`  min rows ${policy.minRows}`);
        }
        return 0;
      } finally {
        provider.destroy();
      }
    }

    if (group === "market" && command === "list") {
      const sort = values.sort ?? "rank";
      if (sort !== "rank" && sort !== "price" && sort !== "new") throw new UsageError(`--sort is rank, price or new; got "${sort}"`);
      const algorithm = values.algorithm === undefined ? undefined : resolveAlgorithm(values.algorithm);
      const { state, provider } = await contextFor("buyer", values.account);
      try {
        const entries = await listMarket({ state, provider, sort, algorithm });
        if (json) out.log(JSON.stringify(entries));
        else for (const line of marketLines(entries)) out.log(line);
        return 0;
      } finally {
        provider.destroy();
      }
    }

    if (group === "market" && command === "show") {
      const [dataset] = rest;
      if (!dataset) throw new UsageError("market show needs a dataset (its id, <seller address>/<name>, or the name of one of your own)");
      const { state, provider, signer } = await contextFor("buyer", values.account);
      try {
        const listing = await showDataset({ state, runner: signer, dataset });
        if (json) out.log(JSON.stringify(listing));
        else for (const line of listingLines(listing)) out.log(line);
        return 0;
      } finally {
        provider.destroy();
      }
    }

    if (group === "buyer" && command === "refund") {
      if (!values.request) throw new UsageError("buyer refund needs --request");
      const { state, provider, signer } = await contextFor("buyer", values.account);
      try {
        const { algorithm, amount } = await refundRequest({ state, buyer: signer, requestId: values.request });
        out.log(`refunded ${formatUnits(amount, PAYMENT_DECIMALS)} mUSD of ${algorithm} request ${values.request} to your withdrawable balance`);
        return 0;
      } finally {
        provider.destroy();
      }
    }

    if ((group === "seller" || group === "buyer") && command === "balance") return await balance(group, values.account, json, out);
    if ((group === "seller" || group === "buyer") && command === "withdraw") return await withdraw(group, values.account, out);

    if (group === "buyer" && command === "query") {
      const [sql, ...extra] = rest;
      if (!sql) throw new UsageError('buyer query needs the query, in quotes: scmpc buyer query "SELECT ..."');
      if (extra.length > 0) throw new UsageError(`buyer query takes one query in quotes; also got ${extra.map((e) => JSON.stringify(e)).join(" ")}`);
      const { dir, state, provider, signer } = await contextFor("buyer", values.account);
      try {
        const bought = await buyQuery({ state, buyer: signer, sql, keyDir: path.join(dir, "buyer-keys"), epsilon: values.epsilon, exact: values.exact === true });
        if (json) out.log(JSON.stringify(bought));
        else for (const line of queryLines(bought)) out.log(line);
        return 0;
      } finally {
        provider.destroy();
      }
    }

    if (group === "buyer" && command === "request") {
      const [name] = rest;
      if (!name) throw new UsageError("buyer request needs an algorithm");
      let algorithm: string;
      try {
        algorithm = resolveAlgorithm(name);
      } catch (err) {
        throw new UsageError((err as Error).message);
      }
      if (!values.dataset || values.dataset.length === 0) throw new UsageError("buyer request needs --dataset");
      const params = paramsFromFlags(algorithm, values);
      const { dir, state, provider, signer } = await contextFor("buyer", values.account);
      try {
        const bought = await buyComputation({
          state,
          buyer: signer,
          algorithm,
          datasetIds: values.dataset,
          params,
          keyDir: path.join(dir, "buyer-keys"),
          epsilon: values.epsilon,
          exact: values.exact === true,
        });
        if (json) out.log(JSON.stringify(bought));
        else for (const line of purchaseLines(bought)) out.log(line);
        return 0;
      } finally {
        provider.destroy();
      }
    }
    throw new UsageError(`unknown command: ${positionals.join(" ")}`);
  } catch (err) {
    if (err instanceof UsageError) {
      out.error(`${err.message}\n\n${USAGE}`);
      return 2;
    }
    out.error(`error: ${(err as Error).message}`);
    return 1;
  }
}
