import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { chromium, type Browser, type Page } from "playwright-core";
import { JsonRpcProvider } from "ethers";
import { resolveSigner } from "../client/src/accounts.ts";
import { stopProcess } from "../client/src/processes.ts";
import { uploadDataset } from "../client/src/seller.ts";
import { startLocalStack, type LocalStack } from "../client/src/stack.ts";

// The web market in a real browser: Debian's Chromium driven by
// playwright-core against the real local stack (chain, three host processes,
// bridge, relay, and the stack's web server). A seller lists a CSV through
// the page (read, typed and secret-shared in the browser, each share sent to
// its host's web endpoint), a buyer buys a mean and a histogram through the
// page and reads the decrypted values, the seller sees the credit and
// withdraws it. Screenshots of each page go to test-results/web/ (not in git).
const ROOT = path.resolve(fileURLToPath(import.meta.url), "../..");
const SHOTS = path.join(ROOT, "test-results", "web");

/** Chromium: SCMPC_CHROMIUM, else Debian's package. A machine without one fails this test: it does not skip. */
function chromiumPath(): string {
  const candidates = [process.env.SCMPC_CHROMIUM, "/usr/bin/chromium", "/usr/bin/chromium-browser"].filter((p): p is string => !!p);
  const found = candidates.find((p) => existsSync(p));
  if (found === undefined) {
    assert.fail(`no Chromium found (looked at ${candidates.join(", ")}): install Debian's chromium (apt-get install -y chromium) or set SCMPC_CHROMIUM`);
  }
  return found;
}

// A table whose plaintext answers the test knows: 40 salaries in 4 departments
// (none a round number, so none can coincide with the public bounds the preview shows).
const DEPARTMENTS = ["engineering", "sales", "support", "finance"];
const ROWS = Array.from({ length: 40 }, (_, i) => ({ dept: DEPARTMENTS[i % 4], salary: 30_017 + ((i * 7919) % 90_000) }));
const CSV = ["department,salary", ...ROWS.map((r) => `${r.dept},${r.salary}`)].join("\n") + "\n";
const EDGES = [50_000, 80_000];
const MEAN = ROWS.reduce((s, r) => s + r.salary, 0) / ROWS.length;
// A 64-character name: the layout must hold it on a phone's width.
const NAME = "quarterly-salaries-of-the-northern-region-offices-2026-edition-x";

describe("web market in Chromium: sell, buy, decrypt, withdraw", { timeout: 600_000 }, () => {
  let dir: string;
  let stack: LocalStack;
  let browser: Browser;
  let page: Page;

  before(async () => {
    const executablePath = chromiumPath();
    dir = await mkdtemp(path.join(os.tmpdir(), "scmpc-web-"));
    await mkdir(SHOTS, { recursive: true });
    stack = await startLocalStack({ dir });
    assert.ok(stack.state.webUrl, "the stack serves the web market");
    // The browser trusts exactly the three hosts' certificates (by their public keys), as a person would after accepting them.
    browser = await chromium.launch({ executablePath, args: [`--ignore-certificate-errors-spki-list=${stack.webTrust.join(",")}`] });
    console.log(`Chromium ${browser.version()} launched (${executablePath})`);
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on("pageerror", (err) => console.error(`page error: ${err.message}`));
  });

  after(async () => {
    await browser?.close();
    await stack?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const actAs = async (label: string) => {
    await page.getByLabel("Acting as").selectOption(`dev:${label}`);
  };
  const shot = async (name: string) => {
    await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
    // Every page shot is also checked for form controls a screen reader could not name.
    const unnamed = await page.evaluate(() =>
      [...document.querySelectorAll("input, select, textarea, button")]
        .filter((el) => ((el as HTMLInputElement).labels?.length ?? 0) === 0 && !el.getAttribute("aria-label") && (el.tagName !== "BUTTON" || el.textContent!.trim() === ""))
        .map((el) => el.outerHTML.slice(0, 80)),
    );
    assert.deepEqual(unnamed, [], `controls without a label on the ${name} page`);
  };

  let datasetId = "";

  it("a seller lists a CSV through the page: typed and shared in the browser, only the schema shown", async () => {
    await page.goto(`${stack.state.webUrl}#/sell`);
    await actAs("seller");
    const csv = path.join(dir, "salaries.csv");
    await writeFile(csv, CSV);
    await page.getByLabel("CSV or JSON file").setInputFiles(csv);
    const preview = page.getByTestId("schema-preview");
    await preview.waitFor();
    const text = await preview.innerText();
    assert.match(text, /40 rows/);
    assert.match(text, /department\s+category/);
    // The preview is of the schema only: no salary of the file appears on the page.
    const body = await page.locator("body").innerText();
    assert.ok(!ROWS.some((r) => body.includes(String(r.salary))), "no value of the table is shown");
    await page.getByLabel("Name (unique among your datasets)").fill(NAME);
    await page.getByLabel("Price per computation (mUSD)").fill("7");
    // Exact answers for the two algorithms bought below, so the decrypted values can equal the plaintext.
    await page.getByLabel("allow exact mean@1").check();
    await page.getByLabel("allow exact histogram@1").check();
    await page.getByLabel("allow exact query@1").check();
    await shot("sell");
    await page.getByRole("button", { name: "Share and list" }).click();
    const listed = page.getByTestId("listed");
    await listed.waitFor({ timeout: 120_000 });
    const link = await listed.getByRole("link").getAttribute("href");
    datasetId = link!.replace("#/dataset/", "");
    assert.match(datasetId, /^0x[0-9a-f]{64}$/);
  });

  it("the market lists it, with a 64-character name that does not break the layout on a phone", async () => {
    await page.goto(`${stack.state.webUrl}#/`);
    await page.getByRole("link", { name: NAME }).waitFor();
    await shot("market");
    await page.setViewportSize({ width: 390, height: 844 });
    await page.reload();
    await page.getByRole("link", { name: NAME }).waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the page is ${overflow}px wider than a phone's screen`);
    await shot("market-phone");
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  it("a seller's name and columns made of markup are shown as text, never run", async () => {
    // A hostile seller lists a dataset whose name and column are HTML that would run script if inserted as markup.
    const hostile = "<img src=x onerror=window.pwned=1>";
    const csv = path.join(dir, "hostile.csv");
    await writeFile(csv, [`"<b onmouseover=window.pwned=2>x</b>"`, ...ROWS.map((r) => String(r.salary))].join("\n") + "\n");
    const provider = new JsonRpcProvider(stack.state.rpcUrl, stack.state.chainId, { staticNetwork: true });
    try {
      const listed = await uploadDataset({ state: stack.state, seller: resolveSigner({ defaultRole: "seller2" }, provider), file: csv, name: hostile, price: "1" });
      // Read the listing afresh (the page may already show it, from before this dataset).
      await page.goto(`${stack.state.webUrl}#/`);
      await page.reload();
      await page.getByRole("link", { name: hostile }).waitFor();
      await page.goto(`${stack.state.webUrl}#/dataset/${listed.datasetId}`);
      await page.getByText("<b onmouseover=window.pwned=2>x</b>").first().waitFor();
      await page.getByText(hostile).first().hover();
      assert.equal(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned), undefined, "no markup of the seller's ran");
      assert.equal(await page.locator("img[src=x], b[onmouseover]").count(), 0, "no element made from the seller's text");
    } finally {
      provider.destroy();
    }
  });

  it("a buyer buys an exact mean, a histogram and a grouped query through the page; the browser decrypts the plaintext's values", async () => {
    await page.goto(`${stack.state.webUrl}#/dataset/${datasetId}`);
    await actAs("buyer");
    await page.getByTestId("total").waitFor();
    assert.match(await page.getByTestId("total").innerText(), /^8(\.0)? mUSD$/, "price 7 and the operators' fee 1");
    await shot("dataset");

    await page.locator('select[name="algorithm"]').selectOption("mean@1");
    await page.locator('select[name="column"]').selectOption("salary");
    await page.getByLabel(/exact answer/).check();
    await page.getByRole("button", { name: "Buy" }).click();
    await page.getByTestId("answer").waitFor({ timeout: 180_000 });
    const mean = await page.getByTestId("answer").innerText();
    assert.equal(Number(mean), MEAN, `decrypted mean ${mean}`);
    for (const stage of ["requested", "fulfilled", "keys released", "decrypted"]) {
      assert.match((await page.locator(`[data-stage="${stage}"]`).getAttribute("class")) ?? "", /done/, `stage ${stage} shown done`);
    }
    await shot("bought-mean");

    await page.locator('select[name="algorithm"]').selectOption("histogram@1");
    await page.locator('select[name="column"]').selectOption("salary");
    await page.getByLabel(/Bucket edges/).fill(EDGES.join(", "));
    await page.getByLabel(/exact answer/).check();
    await page.getByRole("button", { name: "Buy" }).click();
    const histogram = page.getByTestId("histogram");
    await histogram.waitFor({ timeout: 180_000 });
    const counts = await histogram.locator("td").allInnerTexts();
    const expected = [
      ROWS.filter((r) => r.salary < EDGES[0]).length,
      ROWS.filter((r) => r.salary >= EDGES[0] && r.salary < EDGES[1]).length,
      ROWS.filter((r) => r.salary >= EDGES[1]).length,
    ];
    assert.deepEqual(counts.map(Number), expected);
    assert.equal(await page.locator("figure.chart svg rect.bar").count(), 3, "a bar per bucket");
    await shot("bought-histogram");

    // A query, grouped: its answer table and a bar per group.
    await page.getByRole("radio", { name: "a query (SQL)" }).check();
    await page.locator('textarea[name="sql"]').fill(`SELECT department, count(*), sum(salary) FROM "${datasetId}" GROUP BY department`);
    await page.getByLabel(/exact answer/).check();
    await page.getByRole("button", { name: "Buy" }).click();
    const table = page.getByTestId("query-result");
    await table.waitFor({ timeout: 180_000 });
    const rows = await table.locator("tbody tr").evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent)));
    const expectedRows = [...DEPARTMENTS].sort().map((dept) => {
      const mine = ROWS.filter((r) => r.dept === dept);
      return [dept, String(mine.length), String(mine.reduce((n, r) => n + r.salary, 0))];
    });
    // The group of rows whose department is missing comes last, as every grouped answer has it: none here.
    expectedRows.push(["—", "0", "—"]);
    assert.deepEqual(rows, expectedRows);
    assert.equal(await page.locator("figure.chart svg rect.bar").count(), expectedRows.length, "a bar per group");
    await shot("bought-query");
    await page.getByRole("radio", { name: "a named algorithm" }).check();
  });

  it("a request past the budget is refused on the page, in words, before paying", async () => {
    await page.locator('select[name="algorithm"]').selectOption("mean@1");
    await page.getByLabel(/exact answer/).uncheck();
    await page.getByLabel(/ε to spend/).fill("60");
    await page.getByRole("button", { name: "Buy" }).click();
    const alert = page.getByRole("alert");
    await alert.waitFor();
    assert.match(await alert.innerText(), /privacy budget/);
  });

  it("the buyer's history shows its purchases and decrypts one again after a reload; the seller withdraws the credit and changes the policy", async () => {
    await page.goto(`${stack.state.webUrl}#/account`);
    const purchases = page.getByTestId("purchases");
    await purchases.waitFor();
    assert.equal(await purchases.locator("tbody tr").count(), 3);
    assert.equal((await purchases.innerText()).match(/Fulfilled/g)?.length, 3);
    // After a reload the page still decrypts a past purchase: its key stayed in this browser's IndexedDB.
    await page.reload();
    const meanRow = page.getByTestId("purchases").locator("tbody tr", { hasText: "mean" });
    await meanRow.getByRole("button", { name: "Decrypt" }).click();
    const reopened = meanRow.getByTestId("reopened");
    await reopened.waitFor({ timeout: 60_000 });
    assert.equal(Number(await reopened.getByTestId("answer").innerText()), MEAN);
    await shot("account-buyer");

    await actAs("seller");
    // The buyer's balances stay on the page until it has drawn the seller's: wait for the seller's address first.
    const seller = await resolveSigner({ defaultRole: "seller" }, new JsonRpcProvider(stack.state.rpcUrl, stack.state.chainId, { staticNetwork: true })).getAddress();
    await page.locator("p.mono", { hasText: seller }).waitFor();
    const withdrawable = page.getByTestId("withdrawable");
    await withdrawable.waitFor();
    assert.equal(await withdrawable.innerText(), "21.0 mUSD", "three sales at 7 mUSD");
    const before = parseFloat(await page.getByTestId("token-balance").innerText());
    await shot("account-seller");
    await page.getByRole("button", { name: "Withdraw all" }).click();
    await page.getByText("Withdrew 21.0 mUSD to your account.").waitFor({ timeout: 60_000 });
    // The page reads the balances again once the withdrawal is mined.
    await page.waitForFunction(() => document.querySelector('[data-testid="withdrawable"]')?.textContent === "0.0 mUSD");
    const afterBalance = parseFloat(await page.getByTestId("token-balance").innerText());
    assert.equal(afterBalance - before, 21);
    await shot("account-withdrawn");

    // A policy change from the same page: a larger budget, read back from the chain.
    await page.getByLabel("Privacy budget (total ε)").fill("12");
    await page.getByRole("button", { name: "Set policy" }).click();
    await page.getByText(/privacy budget ε 12 \(ε 12 left\)/).waitFor({ timeout: 60_000 });
  });

  it("a buyer signs with an injected EIP-1193 wallet", async () => {
    // A wallet whose accounts are the chain node's own (unlocked development accounts): it forwards every call to the node.
    const context = await browser.newContext();
    const buyer2 = "0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc";
    await context.addInitScript(`
      window.ethereum = {
        async request({ method, params }) {
          if (method === "eth_requestAccounts" || method === "eth_accounts") return ["${buyer2}"];
          const answer = await (await fetch(${JSON.stringify(stack.state.rpcUrl)}, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params: params ?? [] }),
          })).json();
          if (answer.error) throw Object.assign(new Error(answer.error.message), { code: answer.error.code, data: answer.error.data });
          return answer.result;
        },
        on() {},
        removeListener() {},
      };
    `);
    const walletPage = await context.newPage();
    try {
      await walletPage.goto(`${stack.state.webUrl}#/dataset/${datasetId}`);
      await walletPage.getByLabel("Acting as").selectOption("wallet");
      await walletPage.getByTestId("total").waitFor();
      await walletPage.locator('select[name="algorithm"]').selectOption("mean@1");
      await walletPage.getByLabel(/exact answer/).check();
      await walletPage.getByRole("button", { name: "Buy" }).click();
      await walletPage.getByTestId("answer").waitFor({ timeout: 180_000 });
      assert.equal(Number(await walletPage.getByTestId("answer").innerText()), MEAN);
    } finally {
      await context.close();
    }
  });

  it("a wallet on another chain, or a refusal in the wallet, is a message on the page", async () => {
    // An injected EIP-1193 wallet on chain 1 that cannot switch, then one whose user refuses.
    const context = await browser.newContext();
    // A script, not a function: the page runs it as written.
    await context.addInitScript(`
      window.ethereum = {
        async request({ method }) {
          if (localStorage.getItem("test.refuse") === "yes") throw Object.assign(new Error("User rejected the request."), { code: 4001 });
          if (method === "eth_requestAccounts" || method === "eth_accounts") return ["0x000000000000000000000000000000000000dEaD"];
          if (method === "eth_chainId") return "0x1";
          if (method === "wallet_switchEthereumChain") throw Object.assign(new Error("Unrecognized chain."), { code: 4902 });
          throw Object.assign(new Error("unsupported " + method), { code: 4200 });
        },
        on() {},
        removeListener() {},
      };
    `);
    const walletPage = await context.newPage();
    try {
      await walletPage.goto(`${stack.state.webUrl}#/`);
      await walletPage.getByLabel("Acting as").selectOption("wallet");
      const alert = walletPage.getByRole("alert");
      await alert.waitFor();
      assert.match(await alert.innerText(), /Your wallet is on chain 1, but this market runs on chain \d+/);
      await walletPage.screenshot({ path: path.join(SHOTS, "wrong-network.png") });

      await walletPage.evaluate(() => localStorage.setItem("test.refuse", "yes"));
      await walletPage.reload();
      await walletPage.getByRole("alert").waitFor();
      assert.match(await walletPage.getByRole("alert").innerText(), /You rejected the request in your wallet/);
    } finally {
      await context.close();
    }
  });

  it("a request nobody answers is refunded from the account page after its deadline", async () => {
    // The relay stops: the request stays pending on-chain.
    await stopProcess(stack.processes.find((p) => p.name === "relay")!);
    await page.goto(`${stack.state.webUrl}#/dataset/${datasetId}`);
    await actAs("buyer");
    await page.locator('select[name="algorithm"]').selectOption("mean@1");
    await page.getByLabel(/exact answer/).check();
    await page.getByRole("button", { name: "Buy" }).click();
    await page.locator('[data-stage="requested"].done').waitFor({ timeout: 60_000 });
    const rpc = (method: string, params: unknown[]) =>
      fetch(stack.state.rpcUrl, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }) });
    await rpc("evm_increaseTime", [stack.state.contracts.requestTimeout + 5]);
    await rpc("evm_mine", []);
    await page.goto(`${stack.state.webUrl}#/account`);
    const withdrawable = page.getByTestId("withdrawable");
    await withdrawable.waitFor();
    const before = parseFloat(await withdrawable.innerText());
    await page.getByRole("button", { name: "Refund (past its deadline)" }).click();
    await page.getByTestId("purchases").getByText("Refunded (price and fee refunded)").waitFor({ timeout: 60_000 });
    await shot("refunded");
    await page.reload();
    await page.getByTestId("withdrawable").waitFor();
    assert.equal(parseFloat(await page.getByTestId("withdrawable").innerText()) - before, 8, "price 7 and fee 1 back");
  });

  it("a host that cannot be reached is named on the page, and nothing is registered", async () => {
    const host = stack.processes.find((p) => p.name === "host-2")!;
    await stopProcess(host);
    await page.goto(`${stack.state.webUrl}#/sell`);
    await actAs("seller2");
    await page.getByLabel("CSV or JSON file").setInputFiles(path.join(dir, "salaries.csv"));
    await page.getByTestId("schema-preview").waitFor();
    await page.getByLabel("Name (unique among your datasets)").fill("while-a-host-is-down");
    await page.getByRole("button", { name: "Share and list" }).click();
    const alert = page.getByRole("alert");
    await alert.waitFor({ timeout: 60_000 });
    assert.match(await alert.innerText(), /MPC host 2 at https:\/\/127\.0\.0\.1:\d+ cannot be reached/);
    await shot("host-unreachable");
    await page.goto(`${stack.state.webUrl}#/`);
    await page.getByRole("link", { name: NAME }).waitFor();
    assert.equal(await page.getByRole("link", { name: "while-a-host-is-down" }).count(), 0, "not listed");
  });
});
