import assert from "node:assert/strict";
import { spawn, execFile } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";
import { Contract, formatUnits, JsonRpcProvider, NonceManager, parseUnits, Wallet } from "ethers";
import { algorithmId, loadArtifact } from "@scmpc/contracts";
import { Rational } from "@scmpc/mpc-engine";
import { devPrivateKey, DEV_ROLES } from "../client/src/accounts.ts";
import { rankOf } from "../client/src/market-list.ts";

// End to end: `scmpc up` starts the real stack as processes on free loopback
// ports (Hardhat node, Chainlink Operator and LinkToken, three MPC hosts over
// gRPC, bridge, relay); the seller and buyer commands run as separate CLI
// processes against it, as a user would run them. Each test says its mode:
// exact (the seller allows exact answers of the algorithms it checks, the
// buyer asks for them) or differentially private (the default).
const ROOT = path.resolve(fileURLToPath(import.meta.url), "../..");
const CLI = path.join(ROOT, "client", "bin", "scmpc.js");
const SAMPLE = path.join(ROOT, "client", "samples", "salaries.csv");
const SAMPLE_B = path.join(ROOT, "client", "samples", "salaries-b.csv");

/** The sample tables in the clear, to check what the hosts compute on shares. */
async function plainColumn(file: string, column: string): Promise<bigint[]> {
  const [header, ...rows] = (await readFile(file, "utf8")).trim().split("\n").map((l) => l.split(","));
  const k = header.indexOf(column);
  // Decimals as integer cents: the bonus column has two decimal places.
  return rows.map((r) => BigInt(r[k].replace(".", "")));
}
const run = promisify(execFile);

describe("end to end: seller shares → contract → relay → bridge → 3 MPC hosts → contract → buyer", { timeout: 600_000 }, () => {
  let home: string;
  let up: ChildProcess;
  let upOutput = "";
  let upExited: Promise<number | null>;

  const scmpc = async (...args: string[]) => {
    const { stdout } = await run(process.execPath, [CLI, ...args], { env: { ...process.env, SCMPC_HOME: home }, cwd: ROOT });
    return stdout;
  };
  const scmpcFails = async (...args: string[]): Promise<string> => {
    try {
      await scmpc(...args);
    } catch (err) {
      const e = err as { code: number; stderr: string };
      assert.notEqual(e.code, 0);
      return e.stderr;
    }
    assert.fail(`scmpc ${args.join(" ")} succeeded but should have failed`);
  };

  before(async () => {
    home = await mkdtemp(path.join(os.tmpdir(), "scmpc-e2e-"));
    up = spawn(process.execPath, [CLI, "up"], { env: { ...process.env, SCMPC_HOME: home }, cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    upExited = new Promise((resolve) => up.once("exit", (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`scmpc up not ready in time:\n${upOutput}`)), 180_000);
      const onData = (chunk: Buffer) => {
        upOutput += chunk.toString();
        if (/\bready\b/.test(upOutput)) {
          clearTimeout(timer);
          resolve();
        }
      };
      up.stdout!.on("data", onData);
      up.stderr!.on("data", onData);
      void upExited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`scmpc up exited with ${code}:\n${upOutput}`));
      });
    });
  });

  after(async () => {
    if (up && up.exitCode === null) {
      up.kill("SIGTERM");
      await upExited;
    }
    await rm(home, { recursive: true, force: true });
  });

  let datasetId: string;

  /** A host's files of a dataset's shares, one per version it holds. */
  const storedShares = async (host: number, id: string): Promise<string[]> => {
    const dir = path.join(home, "hosts", String(host), "datasets");
    return (await readdir(dir)).filter((f) => f.startsWith(`${id}.`) && f.endsWith(".share")).map((f) => path.join(dir, f));
  };

  it("exact mode: a seller shares and registers a column; a buyer buys its sum and decrypts the plaintext sum", async () => {
    const uploaded = JSON.parse(await scmpc("seller", "upload", SAMPLE, "--name", "salaries", "--column", "salary", "--price", "25", "--exact", "sum", "--json"));
    datasetId = uploaded.datasetId;
    assert.match(datasetId, /^0x[0-9a-f]{64}$/);
    assert.equal(uploaded.rowCount, 10);

    assert.deepEqual(uploaded.exactAlgorithms, ["sum@1"]);
    assert.equal(uploaded.budget, "10");
    const bought = JSON.parse(await scmpc("buyer", "request", "sum", "--dataset", datasetId, "--column", "salary", "--exact", "--json"));
    assert.equal(bought.algorithm, "sum@1");
    assert.equal(bought.dp, undefined, "an exact answer carries no noise description");
    assert.match(bought.requestId, /^0x[0-9a-f]{64}$/);
    assert.equal(bought.result, "623900");
    assert.equal(bought.result, uploaded.plaintextSums.salary);

    const balance = JSON.parse(await scmpc("seller", "balance", "--json"));
    assert.equal(balance.withdrawable, parseUnits("25", 18).toString());
  });

  it("exact mode: sums a decimal column in fixed point and credits a second sale", async () => {
    const uploaded = JSON.parse(await scmpc("seller", "upload", SAMPLE, "--name", "bonuses", "--column", "bonus", "--price", "1.5", "--exact", "sum", "--json"));
    const bought = JSON.parse(await scmpc("buyer", "request", "sum", "--dataset", uploaded.datasetId, "--column", "bonus", "--exact", "--json"));
    assert.equal(bought.result, "40852.25");
    const balance = JSON.parse(await scmpc("seller", "balance", "--json"));
    assert.equal(balance.withdrawable, parseUnits("26.5", 18).toString());
  });

  it("the seller withdraws the credited payments", async () => {
    assert.match(await scmpc("seller", "withdraw"), /withdrew 26\.5 mUSD/);
    const balance = JSON.parse(await scmpc("seller", "balance", "--json"));
    assert.equal(balance.withdrawable, "0");
  });

  it("refuses bad input with an error naming the problem", async () => {
    const broken = path.join(home, "broken.csv");
    await writeFile(broken, "id,salary\n1,100\n2,abc\n");
    // A declared type is held: a cell that does not fit it stops the upload (untyped, "abc" would make the column a category).
    assert.match(
      await scmpcFails("seller", "upload", broken, "--name", "broken", "--column", "salary", "--type", "salary=int", "--price", "1"),
      /^error: .*broken\.csv line 3, column "salary": "abc" is not an integer\n$/,
    );
    assert.match(await scmpcFails("seller", "upload", path.join(home, "absent.json"), "--name", "absent", "--price", "1"), /cannot read .*absent\.json/);
    assert.match(await scmpcFails("seller", "upload", SAMPLE, "--name", "x", "--column", "age", "--price", "1"), /no column "age"/);
    assert.match(await scmpcFails("seller", "upload", SAMPLE, "--name", "salaries", "--column", "salary", "--price", "1"), /already registered/);
    assert.match(await scmpcFails("buyer", "request", "sum", "--dataset", `0x${"ab".repeat(32)}`, "--column", "salary"), /no dataset/);
    assert.match(await scmpcFails("buyer", "request", "sum", "--dataset", datasetId, "--column", "bonus"), /no column "bonus"/);
  });

  it("exact mode: a seller shares every column of a typed table with blank cells; buyers see the types and buy over bool and numeric columns", async () => {
    const staff = path.join(home, "staff.csv");
    await writeFile(
      staff,
      [
        "dept,hired,remote,salary",
        "eng,2019-03-01,true,72000",
        "ops,,false,",
        "sales,2021-07-15,TRUE,55000",
        ",2024-12-31,false,91000",
        "eng,2020-01-10,,64000",
        "ops,2022-05-05,true,48000",
        "eng,2023-02-20,false,83000",
        "sales,2019-11-30,true,",
        "ops,2020-06-01,false,61000",
        "eng,2021-09-09,true,77000",
      ].join("\n") + "\n",
    );
    const flags = ["--categories", "dept=eng,ops,sales", "--bounds", "salary=0:200000,hired=2019-01-01:2024-12-31", "--price", "1", "--exact", "sum,count-if"];
    const uploaded = JSON.parse(await scmpc("seller", "upload", staff, "--name", "staff", ...flags, "--json"));
    assert.equal(uploaded.rowCount, 10);
    assert.deepEqual(uploaded.columns, [
      { name: "dept", scale: 0, lo: "0", hi: "2", type: "category", categories: ["eng", "ops", "sales"] },
      { name: "hired", scale: 0, lo: "17897", hi: "20088", type: "date" },
      { name: "remote", scale: 0, lo: "0", hi: "1", type: "bool" },
      { name: "salary", scale: 0, lo: "0", hi: "200000" },
    ]);
    assert.deepEqual(
      uploaded.columnSummaries.map((c: { name: string; type: string; categories?: number; missing: number }) => [c.name, c.type, c.categories, c.missing]),
      [["dept", "category", 3, 1], ["hired", "date", undefined, 1], ["remote", "bool", undefined, 1], ["salary", "int", undefined, 2]],
    );

    // What a buyer reads before paying: each column's type and public domain, from the on-chain schema.
    const shown = await scmpc("market", "show", uploaded.address);
    assert.match(shown, /\n {4}dept {4}category \{eng, ops, sales\}\n/);
    assert.match(shown, /\n {4}hired {3}date 2019-01-01\.\.2024-12-31\n/);
    assert.match(shown, /\n {4}remote {2}bool\n/);
    assert.match(shown, /\n {4}salary {2}int \[0, 200000\]\n/);

    // The hosts held the validity bits and the missing salaries as lo = 0: the exact sum is that of the present salaries.
    const sum = JSON.parse(await scmpc("buyer", "request", "sum", "--dataset", uploaded.datasetId, "--column", "salary", "--exact", "--json"));
    assert.equal(sum.result, "551000");
    assert.equal(sum.result, uploaded.plaintextSums.salary);
    const remote = JSON.parse(
      await scmpc("buyer", "request", "count-if", "--dataset", uploaded.datasetId, "--column", "remote", "--op", "eq", "--threshold", "1", "--exact", "--json"),
    );
    assert.equal(remote.result, "5");
    // A category column is refused by the named algorithms before anything is paid.
    assert.match(await scmpcFails("buyer", "request", "mean", "--dataset", uploaded.datasetId, "--column", "dept"), /"column" names column "dept", a category column/);

    // The terminal's account of an upload: one line per column, with the seller's own count of missing cells.
    const text = await scmpc("seller", "upload", staff, "--name", "staff-2", "--column", "dept,remote", "--categories", "dept=eng,ops,sales", "--price", "1");
    assert.match(text, /: 10 rows of 2 columns shared to 3 hosts and registered\n/);
    assert.match(text, /\n {2}dept {4}category \{eng, ops, sales\}, 3 categories; 1 missing\n/);
    assert.match(text, /\n {2}remote {2}bool; 1 missing\n/);
    assert.match(text, /each host holds only shares of which cells are missing/);
    // Two sales of one mUSD each, taken back so the later balances count only their own sales.
    assert.match(await scmpc("seller", "withdraw"), /withdrew 2\.0 mUSD/);
  });

  it("exact mode: sells the statistics library over two sellers' datasets of one schema, crediting both sellers", async () => {
    // Datasets sold together share one schema, bounds included: both sellers declare the same,
    // and both allow exact answers of the algorithms checked here digit for digit.
    const bounds = ["--bounds", "salary=0:200000,bonus=0:10000"];
    const exact = ["--exact", "mean,stddev,max,min,count-if,histogram,regression"];
    const a = JSON.parse(await scmpc("seller", "upload", SAMPLE, "--name", "pay-2025", "--column", "salary,bonus", ...bounds, ...exact, "--price", "2", "--json"));
    const b = JSON.parse(
      await scmpc(
        "seller", "upload", SAMPLE_B, "--name", "pay-2025-b", "--column", "salary", "--column", "bonus", ...bounds, ...exact, "--price", "3", "--account", "seller2", "--json",
      ),
    );
    assert.deepEqual(a.columns, [{ name: "salary", scale: 0, lo: "0", hi: "200000" }, { name: "bonus", scale: 2, lo: "0.00", hi: "10000.00" }]);
    assert.deepEqual(b.columns, a.columns);
    const both = ["--dataset", a.datasetId, "--dataset", b.datasetId];
    const buy = async (...args: string[]) => JSON.parse(await scmpc("buyer", "request", ...args, "--exact", "--json")).result;
    const salary = [...(await plainColumn(SAMPLE, "salary")), ...(await plainColumn(SAMPLE_B, "salary"))];
    const bonus = [...(await plainColumn(SAMPLE, "bonus")), ...(await plainColumn(SAMPLE_B, "bonus"))];
    const n = BigInt(salary.length);
    const sum = (v: bigint[]) => v.reduce((x, y) => x + y, 0n);

    assert.equal(await buy("mean", ...both, "--column", "salary"), new Rational(sum(salary), n).toDecimal(6));
    const meanS = new Rational(sum(salary), n);
    const variance = new Rational(sum(salary.map((x) => x * x)), n).sub(meanS.mul(meanS));
    assert.equal(await buy("stddev", ...both, "--column", "salary"), variance.sqrtDecimal(6));
    assert.equal(await buy("max", ...both, "--column", "bonus"), "8200.00");
    assert.equal(await buy("min", ...both, "--column", "salary"), "38800");
    assert.equal(await buy("count-if", ...both, "--column", "salary", "--op", "ge", "--threshold", "70000"), String(salary.filter((x) => x >= 70000n).length));
    assert.deepEqual(await buy("histogram", ...both, "--column", "salary", "--edges", "50000,80000"), {
      edges: ["50000", "80000"],
      counts: [salary.filter((x) => x < 50000n), salary.filter((x) => x >= 50000n && x < 80000n), salary.filter((x) => x >= 80000n)].map((v) => String(v.length)),
    });
    // bonus (cents) against salary: covariance and the regression line, exact from the opened sums.
    const mx = new Rational(sum(salary), n);
    const my = new Rational(sum(bonus), n * 100n);
    const cxy = new Rational(sum(salary.map((x, i) => x * bonus[i])), n * 100n).sub(mx.mul(my));
    const slope = cxy.div(variance);
    const regression = await buy("regression", ...both, "--x", "salary", "--y", "bonus");
    assert.equal(regression.slope, slope.toDecimal(8));
    assert.equal(regression.intercept, my.sub(slope.mul(mx)).toDecimal(8));

    // Seven sales of both datasets: each seller is credited its own price per sale.
    const balanceA = JSON.parse(await scmpc("seller", "balance", "--json"));
    const balanceB = JSON.parse(await scmpc("seller", "balance", "--account", "seller2", "--json"));
    assert.equal(balanceA.withdrawable, parseUnits("14", 18).toString());
    assert.equal(balanceB.withdrawable, parseUnits("21", 18).toString());
  });

  it("exact mode: enforces the seller's policy before the buyer pays", async () => {
    const only = JSON.parse(await scmpc("seller", "upload", SAMPLE, "--name", "sum-only", "--column", "salary", "--price", "1", "--allow", "sum", "--exact", "sum", "--json"));
    assert.match(await scmpcFails("buyer", "request", "mean", "--dataset", only.datasetId, "--column", "salary"), /does not allow mean@1/);
    // A helper shares the revenue (Enigma's assisting nodes): a quarter of the sale below goes to buyer2's account.
    const helper = new Wallet(devPrivateKey(DEV_ROLES.buyer2)).address;
    const helperBefore = BigInt(JSON.parse(await scmpc("seller", "balance", "--account", "buyer2", "--json")).withdrawable);
    assert.match(await scmpc("seller", "payouts", "--dataset", "sum-only", "--to", `${helper}=25%`), new RegExp(`the seller 75%\n  ${helper}  25%`));
    assert.equal(JSON.parse(await scmpc("market", "show", only.datasetId, "--json")).payouts[0].share, "25%");
    assert.match(await scmpcFails("seller", "payouts", "--dataset", only.datasetId, "--to", `${helper}=25%`, "--account", "seller2"), /belongs to/);
    // The sum it allows: the answer, that it is exact, and one line on the key release that made it readable.
    const bought = await scmpc("buyer", "request", "sum", "--dataset", only.datasetId, "--column", "salary", "--exact");
    assert.match(
      bought,
      /^sum@1 \{"column":"salary"\} = 623900 {3}\(request 0x[0-9a-f]{64}\)\nexact answer \(the sellers allow it\): no noise, no privacy budget spent\nkeys released by hosts 0, 1, 2 /,
    );
    assert.equal(
      BigInt(JSON.parse(await scmpc("seller", "balance", "--account", "buyer2", "--json")).withdrawable) - helperBefore,
      parseUnits("0.25", 18),
    );
    assert.match(
      await scmpcFails("seller", "upload", SAMPLE, "--name", "exact-not-allowed", "--column", "salary", "--price", "1", "--allow", "sum", "--exact", "mean"),
      /--exact names mean@1, which the policy does not allow at all/,
    );
    const strict = JSON.parse(await scmpc("seller", "upload", SAMPLE, "--name", "strict", "--column", "salary", "--price", "1", "--min-rows", "10", "--json"));
    assert.equal(strict.minRows, 10);
    assert.match(
      await scmpcFails("seller", "upload", SAMPLE, "--name", "too-strict", "--column", "salary", "--price", "1", "--min-rows", "11"),
      /10 rows but the policy's minimum is 11/,
    );
  });

  it("lets a seller reprice, pause and deregister a dataset; the stake stays locked through the cooldown", async () => {
    const ds = JSON.parse(await scmpc("seller", "upload", SAMPLE, "--name", "lifecycle", "--column", "salary", "--price", "1", "--stake", "12", "--json"));
    assert.equal(ds.stake, parseUnits("12", 18).toString());
    // The seller's own dataset by its name alone.
    assert.match(await scmpc("seller", "price", "--dataset", "lifecycle", "--price", "3.5"), /set to 3\.5 mUSD/);
    assert.match(await scmpc("seller", "pause", "--dataset", "lifecycle"), /paused/);
    assert.equal(JSON.parse(await scmpc("market", "show", "lifecycle", "--account", "seller", "--json")).id, ds.datasetId);
    // Another account's name alone is its own namespace: seller2 has no "lifecycle".
    assert.match(await scmpcFails("seller", "price", "--dataset", "lifecycle", "--price", "1", "--account", "seller2"), /no dataset 0x[0-9a-f]{64} is registered/);
    assert.match(await scmpcFails("buyer", "request", "sum", "--dataset", ds.datasetId, "--column", "salary"), /not for sale at the moment/);
    assert.match(await scmpc("seller", "resume", "--dataset", ds.datasetId), /resumed/);
    assert.match(await scmpcFails("seller", "price", "--dataset", ds.datasetId, "--price", "1", "--account", "seller2"), /belongs to/);
    assert.match(await scmpcFails("seller", "withdraw-stake", "--dataset", ds.datasetId), /still listed: deregister it first/);
    assert.match(await scmpc("seller", "deregister", "--dataset", ds.datasetId), /deregistered; its stake unlocks at/);
    assert.match(await scmpcFails("seller", "withdraw-stake", "--dataset", ds.datasetId), /unlocks at/);
  });

  it("lists the market by a rank anyone can recompute from the chain, by price and by age", async () => {
    const entries = JSON.parse(await scmpc("market", "list", "--json")) as {
      id: string; address: string; name: string; price: string; rank: number; budgetLeft: string; subscription: null; stake: string; active: boolean;
      facts: { paidComputations: number; subscribers: number; penalties: number; ageDays: number }; allowedAlgorithms: string[];
    }[];
    const byName = new Map(entries.map((e) => [e.name, e]));
    // Deregistered datasets are not for sale and not listed.
    assert.ok(!byName.has("lifecycle"));
    for (const e of entries) {
      assert.match(e.id, /^0x[0-9a-f]{64}$/);
      assert.equal(e.address.split("/")[1], e.name);
      assert.equal(e.subscription, null);
      assert.match(e.budgetLeft, /^[0-9.]+$/);
      // The rank is the documented function of on-chain facts.
      assert.equal(e.rank, rankOf({ ...e.facts, stake: Number(e.stake) }));
    }
    // Sorted by rank; the dataset sold seven times ranks above an unsold one with the same stake.
    assert.deepEqual(entries.map((e) => e.rank), [...entries.map((e) => e.rank)].sort((x, y) => y - x));
    assert.ok(byName.get("pay-2025")!.facts.paidComputations >= 7);
    assert.equal(byName.get("strict")!.facts.paidComputations, 0);
    assert.ok(byName.get("pay-2025")!.rank > byName.get("strict")!.rank);

    const byPrice = JSON.parse(await scmpc("market", "list", "--sort", "price", "--json")) as { price: string }[];
    assert.deepEqual(byPrice.map((e) => Number(e.price)), byPrice.map((e) => Number(e.price)).sort((x, y) => x - y));
    const newest = JSON.parse(await scmpc("market", "list", "--sort", "new", "--json")) as { registeredAt: string }[];
    assert.deepEqual(newest.map((e) => e.registeredAt), [...newest.map((e) => e.registeredAt)].sort().reverse());
    // Only the datasets that allow the algorithm.
    const means = JSON.parse(await scmpc("market", "list", "--algorithm", "mean", "--json")) as { name: string; allowedAlgorithms: string[] }[];
    assert.ok(means.length > 0 && means.every((e) => e.allowedAlgorithms.includes("mean@1")));
    assert.ok(!means.some((e) => e.name === "sum-only"));
    assert.match(await scmpc("market", "list"), /^rank {2}dataset/);
    assert.match(await scmpcFails("market", "list", "--sort", "popular"), /--sort is rank, price or new/);
  });

  it("sells period access: within the quota a subscriber's computations pay no price for the dataset, then the price again", async () => {
    const ds = JSON.parse(await scmpc("seller", "upload", SAMPLE, "--name", "by-the-month", "--column", "salary", "--price", "2", "--exact", "sum", "--json"));
    assert.match(
      await scmpc("seller", "subscription", "--dataset", "by-the-month", "--period", "30d", "--period-price", "5", "--quota", "2"),
      /subscriptions of 30d for 5\.0 mUSD, 2 computations per period/,
    );
    assert.deepEqual(JSON.parse(await scmpc("market", "show", ds.datasetId, "--json")).subscription, { period: "30d", periodPrice: "5.0", quota: 2 });
    assert.match(await scmpcFails("seller", "subscription", "--dataset", "by-the-month", "--period", "1y"), /a period is a positive whole number/);

    const sub = JSON.parse(await scmpc("buyer", "subscribe", ds.address, "--auto-renew", "--account", "buyer2", "--json"));
    assert.equal(sub.paidNow, "5.0");
    assert.equal(sub.autoRenew, true);
    assert.equal(sub.quotaLeft, 2);
    const buy = async () => JSON.parse(await scmpc("buyer", "request", "sum", "--dataset", ds.datasetId, "--column", "salary", "--exact", "--account", "buyer2", "--json"));
    // One operators' fee paid in advance: the first covered computation moves no token at all.
    const prepaid = JSON.parse(await scmpc("buyer", "prepay", "sum", "--count", "1", "--account", "buyer2", "--json"));
    assert.deepEqual([prepaid.algorithm, prepaid.credits, prepaid.paid], ["sum@1", 1, prepaid.fee]);
    const state = JSON.parse(await readFile(path.join(home, "state.json"), "utf8"));
    const provider = new JsonRpcProvider(state.rpcUrl, state.chainId, { staticNetwork: true });
    const token = new Contract(state.contracts.paymentToken, loadArtifact("DevPaymentToken").abi, provider);
    const buyer2 = new Wallet(devPrivateKey(DEV_ROLES.buyer2)).address;
    try {
      for (const paidBy of ["credit", "transfer"]) {
        const held = (await token.balanceOf(buyer2)) as bigint;
        const covered = await buy();
        assert.equal(covered.result, "623900");
        assert.equal(covered.price, "0");
        assert.equal(covered.feePaidBy, paidBy);
        const spent = held - ((await token.balanceOf(buyer2)) as bigint);
        assert.equal(spent, paidBy === "credit" ? 0n : BigInt(covered.fee), `a covered computation paid by ${paidBy} moved ${spent} token units`);
      }
    } finally {
      provider.destroy();
    }
    assert.deepEqual(JSON.parse(await scmpc("buyer", "fee-credits", "--account", "buyer2", "--json")), []);
    assert.match(await scmpcFails("buyer", "reclaim-fees", "sum", "--account", "buyer2"), /holds no fee credits on sum@1/);
    // The quota of the period is used up: the next computation pays the price.
    assert.equal((await buy()).price, parseUnits("2", 18).toString());
    const [mine] = JSON.parse(await scmpc("buyer", "subscriptions", "--account", "buyer2", "--json"));
    assert.deepEqual([mine.address, mine.active, mine.quotaLeft, mine.quota, mine.period], [ds.address, true, 0, 2, "30d"]);
    const listed = (JSON.parse(await scmpc("market", "list", "--json")) as { id: string; facts: { subscribers: number } }[]).find((e) => e.id === ds.datasetId)!;
    assert.equal(listed.facts.subscribers, 1);
    // Another buyer is not covered by it.
    assert.equal(JSON.parse(await scmpc("buyer", "request", "sum", "--dataset", ds.datasetId, "--column", "salary", "--exact", "--json")).price, parseUnits("2", 18).toString());
    // The renewal reminder: nothing is due 30 days before the end; within 31 days it renews by one period from the end.
    assert.deepEqual(JSON.parse(await scmpc("buyer", "renew", "--account", "buyer2", "--json")), { renewed: [], failed: [] });
    const { renewed } = JSON.parse(await scmpc("buyer", "renew", "--within", "31d", "--account", "buyer2", "--json"));
    assert.equal(renewed.length, 1);
    assert.equal(renewed[0].paidNow, "5.0");
    assert.equal(Date.parse(renewed[0].end) - Date.parse(sub.end), 30 * 86_400_000);
    // The current period begun, the renewed one not: it comes back, and the reminder goes.
    assert.match(await scmpc("buyer", "unsubscribe", ds.address, "--account", "buyer2"), /ends .*; 5\.0 mUSD for the periods not begun credited back/);
    assert.deepEqual(JSON.parse(await scmpc("buyer", "renew", "--within", "400d", "--account", "buyer2", "--json")), { renewed: [], failed: [] });
    assert.match(await scmpcFails("buyer", "subscribe", ds.address, "--periods", "0"), /--periods must be a whole number, at least 1/);
  });

  it("differentially private mode (the default): a noisy sum with its 95% interval, ε spent from the on-chain budget and refused once spent", async () => {
    const ds = JSON.parse(await scmpc("seller", "upload", SAMPLE, "--name", "dp-salaries", "--column", "salary", "--bounds", "salary=0:200000", "--price", "1", "--budget", "3", "--json"));
    assert.deepEqual(ds.exactAlgorithms, []);
    assert.equal(ds.budget, "3");
    const bought = JSON.parse(await scmpc("buyer", "request", "sum", "--dataset", ds.datasetId, "--column", "salary", "--epsilon", "2", "--json"));
    assert.equal(bought.dp.mechanism, "discrete Laplace");
    assert.equal(bought.dp.epsilon, "2");
    // ε 1 on Σ(x − c) (Δ = hi − lo = 200000: terms of scale 200000) and ε 1 on the count of present values (scale 1,
    // times the centre 100000); clamping to the sums 10 rows in [0, 200000] can have, [0, 2000000], trims the spread.
    // The scale shown is the spread of the answer as published, clamped: a noisy sum that lands within a couple of
    // scales of 0 or 2000000 (a few runs in a hundred) has most of its spread clamped away, so the lower bound is
    // checked only where clamping cannot trim it.
    // The release's own noise, before the answer is clamped, is exactly the plan's.
    assert.deepEqual(
      bought.dp.statistics.map((s: { epsilon: string; sensitivity: string; noiseScale: string }) => [s.epsilon, s.sensitivity, s.noiseScale]),
      [
        ["1.000000", "200000", "200000.000000"],
        ["1.000000", "1", "1.000000"],
      ],
    );
    const scale = Number(bought.dp.noiseScale);
    assert.ok(scale > 0 && scale < 300_000, `noise scale ${scale}`);
    const noisySum = Number(bought.result);
    if (noisySum > 600_000 && noisySum < 1_400_000) assert.ok(scale > 10_000, `noise scale ${scale} for a noisy sum of ${noisySum}, far from the clamps`);
    assert.deepEqual(bought.dp.budgetLeft, { [ds.datasetId]: "1" });
    // Noised: three terms of scale 100000 sum to exactly 0 with probability about 10^-6.
    assert.notEqual(bought.result, "623900");
    // The 95% interval spans the noise's quantiles (about ±5 scales, clamped to the sums 10 rows in [0, 200000] can have):
    // around the answer and within the clamps always; as wide as the noise where the clamps cannot trim it (a noisy sum
    // beyond a clamp, a few runs in a hundred, has an interval clamped to a point).
    const [lo, hi] = bought.dp.interval95.map(Number);
    assert.ok(lo >= 0 && lo <= noisySum && noisySum <= hi && hi <= 2_000_000, `[${lo}, ${hi}] around ${noisySum}, within [0, 2000000]`);
    if (noisySum > 600_000 && noisySum < 1_400_000) assert.ok(hi - lo >= 100_000, `[${lo}, ${hi}] is too narrow for noise of scale ${scale}`);

    // No exact answer the seller did not allow; no request beyond what is left (refused before paying).
    assert.match(await scmpcFails("buyer", "request", "sum", "--dataset", ds.datasetId, "--column", "salary", "--exact"), /does not allow exact answers to sum@1/);
    const tokens = JSON.parse(await scmpc("buyer", "balance", "--json"));
    assert.match(
      await scmpcFails("buyer", "request", "mean", "--dataset", ds.datasetId, "--column", "salary", "--epsilon", "1.5"),
      /has ε 1 of its privacy budget \(ε 3\) left; this request would spend ε 1\.5/,
    );
    assert.deepEqual(JSON.parse(await scmpc("buyer", "balance", "--json")), tokens);
    assert.match(await scmpcFails("buyer", "request", "sum", "--dataset", ds.datasetId, "--column", "salary", "--epsilon", "0.0001"), /at most three decimals/);

    // What any buyer reads before paying.
    const shown = JSON.parse(await scmpc("market", "show", ds.datasetId, "--json"));
    assert.deepEqual(shown.policy.budget, { total: "3", spent: "2", remaining: "1" });
    assert.deepEqual(shown.schema, [{ name: "salary", scale: 0, lo: "0", hi: "200000" }]);
    assert.equal(shown.price, "1.0");
    const text = await scmpc("market", "show", `${ds.address}`);
    assert.match(text, /budget {3}ε 1 of 3 left \(2 spent\)/);
    assert.match(text, /exact {4}none/);

    // The seller raises the budget and allows exact sums: the exact answer spends nothing.
    const policy = JSON.parse(await scmpc("seller", "policy", "--dataset", ds.datasetId, "--budget", "5", "--exact", "sum", "--json"));
    assert.deepEqual(policy.budget, { total: "5", spent: "2", remaining: "3" });
    assert.deepEqual(policy.exactAlgorithms, ["sum@1"]);
    assert.match(await scmpcFails("seller", "policy", "--dataset", ds.datasetId, "--budget", "1"), /below the ε 2 requests have already spent/);
    assert.match(await scmpcFails("seller", "policy", "--dataset", ds.datasetId, "--budget", "9", "--account", "seller2"), /belongs to/);
    const exact = JSON.parse(await scmpc("buyer", "request", "sum", "--dataset", ds.datasetId, "--column", "salary", "--exact", "--json"));
    assert.equal(exact.result, "623900");
    assert.equal(exact.dp, undefined);
    // The terminal's account of a noisy answer: its noise, interval, ε spent and budget left.
    // Named by its permanent address `<seller>/<name>`, as any --dataset may be.
    const noisy = await scmpc("buyer", "request", "mean", "--dataset", ds.address, "--column", "salary");
    assert.match(noisy, /^mean@1 \{"column":"salary"\} = -?[0-9.]+ {3}\(request 0x[0-9a-f]{64}\)\n/);
    assert.match(noisy, /\ndifferentially private: discrete Laplace noise, scale [0-9.]+, drawn inside the MPC \(no host knows it\)\n/);
    assert.match(noisy, /\n95% interval \[[0-9.-]+, [0-9.-]+\] \(approximate\): the true answer lies in it with probability ≥ 95%\n/);
    assert.match(noisy, new RegExp(`\\nε 1 spent per dataset; left: ${ds.datasetId} ε 2\\n`));
  });

  it("refunds the buyer, and gives the ε back, when the hosts refuse the job (no shares behind the registration; differentially private mode)", async () => {
    // A dataset registered on-chain whose shares never reached the hosts: the
    // hosts refuse, the bridge reports the error, the relay posts an empty
    // result, and the contract refunds the escrowed price.
    const state = JSON.parse(await readFile(path.join(home, "state.json"), "utf8"));
    const provider = new JsonRpcProvider(state.rpcUrl, state.chainId, { staticNetwork: true });
    try {
      const seller2 = new NonceManager(new Wallet(devPrivateKey(DEV_ROLES.seller2), provider));
      const registry = new Contract(state.contracts.registry, loadArtifact("DatasetRegistry").abi, seller2);
      const token = new Contract(state.contracts.paymentToken, loadArtifact("DevPaymentToken").abi, seller2);
      const stake: bigint = await registry.minStake();
      await (await token.approve(state.contracts.registry, stake)).wait();
      const schema = JSON.stringify({ columns: [{ name: "salary", scale: 0, lo: "0", hi: "200000" }] });
      const commitments = [1, 2, 3].map((i) => `0x${String(i).repeat(64)}`);
      const policy = { allowedAlgorithms: [algorithmId("sum@1")], minRows: 0, budget: 10_000, exactAlgorithms: [] };
      await (await registry.registerDataset("ghost", schema, 10, parseUnits("4", 18), commitments, policy, stake)).wait();
      const ghostId = await registry.datasetId(await seller2.getAddress(), "ghost");

      const fee: bigint = await new Contract(state.contracts.algorithms["sum@1"], loadArtifact("AlgorithmComputation").abi, provider).operatorFee();
      const before = JSON.parse(await scmpc("buyer", "balance", "--json"));
      assert.match(
        await scmpcFails("buyer", "request", "sum", "--dataset", ghostId, "--column", "salary"),
        /failed \(the MPC hosts or the bridge reported an error\); the price was refunded/,
      );
      const after = JSON.parse(await scmpc("buyer", "balance", "--json"));
      // The price and the operators' fee both come back.
      assert.equal(BigInt(after.withdrawable) - BigInt(before.withdrawable), parseUnits("4", 18) + fee);
      assert.equal(BigInt(after.withdrawable), parseUnits("4", 18) + fee, "only this refund is owed to the buyer");
      assert.match(await scmpc("buyer", "withdraw"), new RegExp(`withdrew ${formatUnits(parseUnits("4", 18) + fee, 18).replace(".", "\\.")} mUSD`));
      // The failed request's ε went back to the dataset's budget.
      assert.deepEqual(JSON.parse(await scmpc("market", "show", ghostId, "--json")).policy.budget, { total: "10", spent: "0", remaining: "10" });
    } finally {
      provider.destroy();
    }
  });

  it("try before you buy: each buyer's free computations at a small ε, from a bounded allowance", async () => {
    const ds = JSON.parse(await scmpc("seller", "upload", SAMPLE, "--name", "try-me", "--column", "salary", "--bounds", "salary=0:200000", "--price", "3", "--json"));
    const offer = JSON.parse(await scmpc("seller", "trial", "--dataset", "try-me", "--free", "1", "--epsilon", "0.2", "--allowance", "2", "--json"));
    assert.deepEqual(offer.trial, { perBuyer: 1, epsilon: "0.2", remaining: 2 });
    assert.deepEqual(JSON.parse(await scmpc("market", "show", ds.address, "--json")).trial, { perBuyer: 1, epsilon: "0.2", remaining: 2 });
    assert.match(await scmpcFails("buyer", "request", "mean", "--dataset", ds.datasetId, "--column", "salary", "--trial", "--epsilon", "0.5"), /ε 0\.5 is above the trial's ε 0\.2/);
    const tried = JSON.parse(await scmpc("buyer", "request", "mean", "--dataset", ds.datasetId, "--column", "salary", "--trial", "--epsilon", "0.2", "--account", "buyer2", "--json"));
    assert.equal(tried.price, "0");
    assert.equal(tried.dp.epsilon, "0.2");
    // One per buyer: the second trial of the same buyer is refused before paying anything.
    assert.match(await scmpcFails("buyer", "request", "mean", "--dataset", ds.datasetId, "--column", "salary", "--trial", "--epsilon", "0.2", "--account", "buyer2"), /no trial left/);
    // The allowance bounds all buyers together: after the second buyer's trial, a third address gets none.
    assert.equal(JSON.parse(await scmpc("buyer", "request", "count", "--dataset", ds.datasetId, "--trial", "--epsilon", "0.2", "--json")).price, "0");
    assert.match(await scmpcFails("buyer", "request", "count", "--dataset", ds.datasetId, "--trial", "--epsilon", "0.2", "--account", "seller2"), /no trial left/);
    assert.deepEqual(JSON.parse(await scmpc("market", "show", ds.address, "--json")).policy.budget.spent, "0.4");
  });

  it("punishes a seller whose shares are gone from two hosts: the buyer refunded and compensated from the stake, the dataset deregistered and its seller ranked lower", async () => {
    const kept = JSON.parse(await scmpc("seller", "upload", SAMPLE, "--name", "kept", "--column", "salary", "--price", "1", "--exact", "sum", "--account", "seller2", "--json"));
    const ds = JSON.parse(await scmpc("seller", "upload", SAMPLE, "--name", "vanishing", "--column", "salary", "--price", "4", "--exact", "sum", "--stake", "20", "--account", "seller2", "--json"));
    const rankOf = async (id: string) => (JSON.parse(await scmpc("market", "list", "--json")) as { id: string; rank: number; facts: { penalties: number } }[]).find((e) => e.id === id);
    const rankBefore = (await rankOf(kept.datasetId))!;
    for (const host of [0, 1]) for (const file of await storedShares(host, ds.datasetId)) await rm(file);

    const before = JSON.parse(await scmpc("buyer", "balance", "--json"));
    const failed = await scmpcFails("buyer", "request", "sum", "--dataset", ds.datasetId, "--column", "salary", "--exact");
    assert.match(failed, /failed \(the MPC hosts or the bridge reported an error\); the price was refunded/);
    const requestId = /computation (0x[0-9a-f]{64}) failed/.exec(failed)![1];
    // A stranger cannot punish with made-up attestations; the hosts' own are served by the bridge to anyone.
    const state = JSON.parse(await readFile(path.join(home, "state.json"), "utf8"));
    const offences = await (await fetch(`${state.bridgeUrl}/offences/${requestId}`)).json();
    assert.equal(offences.attestations.length, 2);
    assert.deepEqual(offences.attestations.map((a: { host: number; offence: number }) => [a.host, a.offence]), [[0, 1], [1, 1]]);
    const provider = new JsonRpcProvider(state.rpcUrl, state.chainId, { staticNetwork: true });
    try {
      const stranger = new Wallet(devPrivateKey(DEV_ROLES.seller), provider);
      const court = new Contract(state.contracts.penaltyCourt, loadArtifact("PenaltyCourt").abi, stranger);
      const [real0, real1] = offences.attestations as { host: number; offence: number; signature: string }[];
      const forgedDigest = await court.offenceDigest(offences.consumer, requestId, kept.datasetId, 1);
      const forger = Wallet.createRandom();
      const tries = [
        // Host 1's statement replaced by a key that is not host 1's.
        [real0, { ...real1, signature: await forger.signMessage(Buffer.from(forgedDigest.slice(2), "hex")) }],
        // The hosts' real statements taken to another dataset of the seller.
        [real0, real1],
        // One host twice.
        [real0, real0],
      ];
      for (const [k, attestations] of tries.entries()) {
        const dataset = k === 1 ? kept.datasetId : ds.datasetId;
        await assert.rejects(
          court.punish.staticCall(offences.consumer, requestId, dataset, attestations.map(({ host, offence, signature }) => ({ host, offence, signature }))),
          (err: { revert?: { name?: string } }) => err.revert?.name === "PenaltyCourt__BadAttestation",
          `forgery ${k} was not refused as a bad attestation`,
        );
      }
    } finally {
      provider.destroy();
    }

    const punished = JSON.parse(await scmpc("buyer", "punish", "--request", requestId, "--account", "buyer2", "--json"));
    assert.equal(punished.datasetId, ds.datasetId);
    assert.equal(punished.slashed, "10.0");
    assert.equal(punished.compensation, "5.0");
    const after = JSON.parse(await scmpc("buyer", "balance", "--json"));
    // The price and fee came back when the request failed; the compensation is owed on top.
    assert.equal(BigInt(after.withdrawable) - BigInt(before.withdrawable), parseUnits("4", 18) + parseUnits("1", 18) + parseUnits("5", 18));
    assert.match(await scmpcFails("buyer", "punish", "--request", requestId), /already punished/);
    const shown = JSON.parse(await scmpc("market", "show", ds.datasetId, "--json"));
    assert.equal(shown.active, false);
    assert.equal(shown.stake, "10.0");
    assert.equal(await rankOf(ds.datasetId), undefined, "a punished dataset is no longer listed");
    const rankAfter = (await rankOf(kept.datasetId))!;
    assert.equal(rankAfter.facts.penalties, 1);
    assert.ok(rankAfter.rank <= rankBefore.rank - 25, `the seller's other dataset ranks ${rankAfter.rank}, was ${rankBefore.rank}`);
    // Nothing attested for a request whose shares were all there.
    assert.match(await scmpcFails("buyer", "punish", "--request", `0x${"ab".repeat(32)}`), /no offence is attested for request/);
  });

  it("refreshes a dataset: a request keeps the version it bought, later ones compute over the new rows; a curation job registers a changed file once, across a restart", async () => {
    const v1 = JSON.parse(await scmpc("seller", "upload", SAMPLE, "--name", "curated", "--column", "salary", "--price", "2", "--exact", "sum", "--json"));
    const table = (await readFile(SAMPLE, "utf8")).trimEnd();
    const v2File = path.join(home, "curated-v2.csv");
    await writeFile(v2File, `${table}\nE011,sales,60000,100.00\nE012,support,45000,0.00\n`);
    // The schema buyers were shown stays: a file without the column, or beyond its public bounds, is refused by name.
    const renamed = path.join(home, "curated-renamed.csv");
    await writeFile(renamed, table.replace("salary", "pay"));
    assert.match(await scmpcFails("seller", "refresh", "curated", "--file", renamed), /must keep its registered schema: column "salary" is missing/);
    const beyond = path.join(home, "curated-beyond.csv");
    await writeFile(beyond, `${table}\nE011,sales,150000,0.00\n`);
    assert.match(await scmpcFails("seller", "refresh", "curated", "--file", beyond), /150000/);

    // A request and a refresh mined in one block, the request first: the hosts answer over the version it bought.
    const state = JSON.parse(await readFile(path.join(home, "state.json"), "utf8"));
    const sumContract = String(state.contracts.algorithms["sum@1"]).toLowerCase();
    const registryAddress = String(state.contracts.registry).toLowerCase();
    const provider = new JsonRpcProvider(state.rpcUrl, state.chainId, { staticNetwork: true });
    let refreshing: Promise<string> | undefined;
    let miner: NodeJS.Timeout | undefined;
    let held = false;
    let minedTogether = false;
    try {
      await provider.send("evm_setAutomine", [false]);
      let busy = false;
      miner = setInterval(() => {
        if (busy) return;
        busy = true;
        void (async () => {
          const pending = (await provider.send("eth_getBlockByNumber", ["pending", true])) as { transactions: { to: string | null }[] };
          const to = pending.transactions.map((t) => t.to?.toLowerCase());
          if (to.length === 0) return;
          if (!held && to.includes(sumContract) && refreshing === undefined) {
            // The purchase is waiting in the pool: hold it there until the seller's refresh joins it.
            held = true;
            refreshing = scmpc("seller", "refresh", "curated", "--file", v2File, "--json");
            refreshing.catch(() => undefined); // awaited below, after the purchase
            return;
          }
          if (held && !to.includes(registryAddress)) return;
          if (held) minedTogether = true;
          held = false;
          await provider.send("evm_mine", []);
        })()
          .catch(() => undefined)
          .finally(() => (busy = false));
      }, 100);
      const bought = JSON.parse(await scmpc("buyer", "request", "sum", "--dataset", v1.datasetId, "--column", "salary", "--exact", "--json"));
      assert.ok(refreshing, "the refresh was started while the request waited to be mined");
      const refreshed = JSON.parse(await refreshing);
      assert.equal(refreshed.version, 2);
      assert.equal(refreshed.rowCount, 12);
      assert.equal(refreshed.previousRowCount, 10);
      assert.ok(minedTogether, "the request and the refresh were mined in one block");
      const requestTx = await provider.getTransactionReceipt(bought.txHash);
      const refreshTx = await provider.getTransactionReceipt(refreshed.txHash);
      assert.equal(requestTx!.blockNumber, refreshTx!.blockNumber);
      assert.ok(requestTx!.index < refreshTx!.index, "the request came first in the block");
      assert.equal(bought.result, "623900", "the request is answered over the version it bought");
    } finally {
      clearInterval(miner);
      await provider.send("evm_setAutomine", [true]);
      provider.destroy();
    }
    const later = JSON.parse(await scmpc("buyer", "request", "sum", "--dataset", v1.address, "--column", "salary", "--exact", "--json"));
    assert.equal(later.result, "728900", "a request after the refresh computes over the new rows");
    // Each host keeps the replaced version beside the new one until no pending request can refer to it.
    for (const host of [0, 1, 2]) assert.equal((await storedShares(host, v1.datasetId)).length, 2);

    // The curation job: registers the file, then only when it changes; a restart does not register it again.
    const v3File = path.join(home, "curated-v3.csv");
    await writeFile(v3File, `${table}\nE011,sales,60000,100.00\nE012,support,45000,0.00\nE013,finance,50000,0.00\n`);
    const curation = async (until: (events: { event: string; version?: number }[]) => boolean) => {
      const job = spawn(process.execPath, [CLI, "seller", "refresh", v1.address, "--file", v3File, "--every", "2s", "--json"], { env: { ...process.env, SCMPC_HOME: home }, cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
      const exited = new Promise<number | null>((resolve) => job.once("exit", (code) => resolve(code)));
      const events: { event: string; version?: number }[] = [];
      let output = "";
      try {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`the curation job did not get there in time:\n${output}`)), 60_000);
          job.stdout!.on("data", (chunk: Buffer) => {
            output += chunk.toString();
            events.splice(0, events.length, ...output.split("\n").filter(Boolean).map((line) => JSON.parse(line)));
            if (until(events)) {
              clearTimeout(timer);
              resolve();
            }
          });
          job.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
        });
      } finally {
        job.kill("SIGTERM");
      }
      assert.equal(await exited, 0, `the curation job stops cleanly on SIGTERM:\n${output}`);
      return events;
    };
    const first = await curation((events) => events.some((e) => e.event === "unchanged"));
    assert.deepEqual(
      first.filter((e) => e.event === "refreshed").map((e) => e.version),
      [3],
      "one refresh, then the unchanged file is left alone",
    );
    const restarted = await curation((events) => events.some((e) => e.event === "unchanged"));
    assert.equal(restarted.filter((e) => e.event === "refreshed").length, 0, "a restarted job does not register the same file again");
    const curated = JSON.parse(await scmpc("buyer", "request", "sum", "--dataset", v1.address, "--column", "salary", "--exact", "--json"));
    assert.equal(curated.result, "778900");
  });

  it("scmpc up stops every process it started on SIGTERM", async () => {
    const state = JSON.parse(await readFile(path.join(home, "state.json"), "utf8"));
    const pids = Object.values(state.pids) as number[];
    assert.equal(pids.length, 6);
    up.kill("SIGTERM");
    assert.equal(await upExited, 0);
    for (const pid of pids) {
      assert.throws(() => process.kill(pid, 0), /ESRCH/, `process ${pid} still running`);
    }
  });
});
