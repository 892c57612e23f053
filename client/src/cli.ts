import path from "node:path";
import { parseArgs } from "node:util";
import { Contract, formatUnits, JsonRpcProvider } from "ethers";
import { loadArtifact } from "@scmpc/contracts";
import { resolveSigner } from "./accounts.ts";
import type { DevRole } from "./accounts.ts";
import { ALGORITHMS, buyComputation } from "./buyer.ts";
import type { AlgorithmName } from "./buyer.ts";
import { PAYMENT_DECIMALS, uploadDataset } from "./seller.ts";
import { startLocalStack } from "./stack.ts";
import { readState, stateDir } from "./state.ts";

const USAGE = `scmpc — the sc-mpc data market

Operators
  scmpc up                                   start the local stack (chain, contracts, 3 MPC hosts, bridge, relay)

Sellers
  scmpc seller upload <file.csv> --name <name> --column <col> --price <amount> [--json]
  scmpc seller balance [--json]              payments credited and not yet withdrawn
  scmpc seller withdraw                      withdraw them

Buyers
  scmpc buyer request sum --dataset <id> --column <col> [--json]
  scmpc buyer balance [--json]               refunds credited and not yet withdrawn
  scmpc buyer withdraw

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

async function balance(role: DevRole, account: string | undefined, json: boolean, out: Out): Promise<number> {
  const { state, provider, signer } = await contextFor(role, account);
  try {
    const market = new Contract(state.contracts.sumComputation, loadArtifact("SumComputation").abi, signer);
    const address = await signer.getAddress();
    const amount: bigint = await market.withdrawable(address);
    if (json) out.log(JSON.stringify({ account: address, withdrawable: amount.toString(), formatted: formatUnits(amount, PAYMENT_DECIMALS) }));
    else out.log(`${address} can withdraw ${formatUnits(amount, PAYMENT_DECIMALS)} mUSD`);
    return 0;
  } finally {
    provider.destroy();
  }
}

async function withdraw(role: DevRole, account: string | undefined, out: Out): Promise<number> {
  const { state, provider, signer } = await contextFor(role, account);
  try {
    const market = new Contract(state.contracts.sumComputation, loadArtifact("SumComputation").abi, signer);
    const address = await signer.getAddress();
    const amount: bigint = await market.withdrawable(address);
    if (amount === 0n) {
      out.log(`${address} has nothing to withdraw`);
      return 0;
    }
    const tx = await market.withdraw();
    await tx.wait();
    out.log(`withdrew ${formatUnits(amount, PAYMENT_DECIMALS)} mUSD to ${address} (tx ${tx.hash})`);
    return 0;
  } finally {
    provider.destroy();
  }
}

/**
 * Runs the CLI with `argv` (without node and script); resolves to the exit code.
 *
 * @example
 * process.exitCode = await main(["seller", "balance", "--json"]);
 */
export async function main(argv: string[], out: Out = { log: console.log, error: console.error }): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        name: { type: "string" },
        column: { type: "string" },
        price: { type: "string" },
        dataset: { type: "string" },
        account: { type: "string" },
        json: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
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

    if (group === "seller" && command === "upload") {
      const [file] = rest;
      if (!file) throw new UsageError("seller upload needs a CSV file");
      if (!values.name || !values.column || !values.price) throw new UsageError("seller upload needs --name, --column and --price");
      const { state, provider, signer } = await contextFor("seller", values.account);
      try {
        const ds = await uploadDataset({ state, seller: signer, csvPath: file, name: values.name, column: values.column, price: values.price });
        if (json) out.log(JSON.stringify(ds));
        else {
          out.log(`dataset ${ds.address}: ${ds.rowCount} rows of "${values.column}" shared to 3 hosts and registered`);
          out.log(`dataset id ${ds.datasetId}`);
        }
        return 0;
      } finally {
        provider.destroy();
      }
    }

    if ((group === "seller" || group === "buyer") && command === "balance") return await balance(group, values.account, json, out);
    if ((group === "seller" || group === "buyer") && command === "withdraw") return await withdraw(group, values.account, out);

    if (group === "buyer" && command === "request") {
      const [algorithm] = rest;
      if (!algorithm || !(algorithm in ALGORITHMS)) {
        throw new UsageError(`buyer request needs an algorithm: ${Object.keys(ALGORITHMS).join(", ")}`);
      }
      if (!values.dataset || !values.column) throw new UsageError("buyer request needs --dataset and --column");
      const { dir, state, provider, signer } = await contextFor("buyer", values.account);
      try {
        const bought = await buyComputation({
          state,
          buyer: signer,
          algorithm: algorithm as AlgorithmName,
          datasetId: values.dataset,
          column: values.column,
          keyDir: path.join(dir, "buyer-keys"),
        });
        if (json) out.log(JSON.stringify(bought));
        else out.log(`${bought.algorithm} of "${bought.column}" = ${bought.result}   (request ${bought.requestId})`);
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
