import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { Contract, NonceManager, parseUnits } from "ethers";
import { algorithmId, DEFAULT_PRIVACY_BUDGET, loadArtifact } from "@scmpc/contracts";
import { isMpcError, schemaText } from "@scmpc/mpc-engine";
import { resolveSigner } from "../../client/src/accounts.ts";
import { buyComputation } from "../../client/src/buyer.ts";
import { uploadDataset, type UploadedDataset } from "../../client/src/seller.ts";
import { startMarket, type Market } from "./support.ts";

// No silent wrong answer, and a seller's minimum rows that a buyer cannot pad:
// through the real stack, as a seller with awkward data and a buyer with its
// own rows of zeros would try them.
describe("adversarial: no silent wrong answer, no padded minimum", { timeout: 600_000 }, () => {
  let market: Market;
  let scale12: UploadedDataset;
  let wide: UploadedDataset;

  // Exact mode (the sellers allow exact answers of these) unless ε is given: wrong digits must show.
  const buy = (algorithm: string, dataset: UploadedDataset, column: string, epsilon?: string) =>
    buyComputation({
      state: market.stack.state,
      buyer: market.buyer,
      algorithm,
      datasetIds: [dataset.datasetId],
      params: JSON.stringify({ column }),
      keyDir: path.join(market.stack.dir, "buyer-keys"),
      ...(epsilon === undefined ? { exact: true } : { epsilon }),
    });
  const EXACT = ["sum@1", "mean@1", "variance@1"];

  before(async () => {
    market = await startMarket();
    // Ten values near 4,000,000, one of them written with 12 decimals: the column's scale is 12,
    // its values near 4·10^18 units, and ten of them sum past the 64-bit ring.
    const values = ["4000000", "4000000", "4000000", "4000000", "4000000.000000000001", "4000000", "4000000", "4000000", "4000000", "4000000"];
    const csv12 = path.join(market.stack.dir, "scale12.csv");
    await writeFile(csv12, ["v", ...values].join("\n") + "\n");
    scale12 = await uploadDataset({ state: market.stack.state, seller: market.seller, file: csv12, name: "scale12", columns: ["v"], price: "1", exact: EXACT });
    // The same values under bounds declared wide (±4·10^6): even centred, twelve of them need the widened sum.
    const csvWide = path.join(market.stack.dir, "wide.csv");
    await writeFile(csvWide, ["v", ...Array.from({ length: 12 }, () => "4000000.000000000001")].join("\n") + "\n");
    wide = await uploadDataset({
      state: market.stack.state,
      seller: market.seller,
      file: csvWide,
      name: "wide",
      columns: ["v"],
      price: "1",
      exact: EXACT,
      bounds: { v: { lo: "-4000000", hi: "4000000.000000000001" } },
    });
  });
  after(async () => {
    await market?.close();
  });

  it("sells the scale-12 column's exact sum and mean (they wrapped the 64-bit ring before)", async () => {
    assert.equal(scale12.columns[0].scale, 12);
    assert.equal((await buy("sum@1", scale12, "v")).result, "40000000.000000000001");
    assert.equal((await buy("mean@1", scale12, "v")).result, "4000000.000000000000100000");
    // Sums that even centring cannot keep in 64 bits are widened, and exact.
    assert.equal((await buy("sum@1", wide, "v")).result, "48000000.000000000012");
  });

  it("differentially private mode: noise too large to sum exactly is refused before paying; with more ε the scale-12 mean carries it in widened arithmetic", async () => {
    const token = new Contract(market.stack.state.contracts.paymentToken, loadArtifact("DevPaymentToken").abi, market.provider);
    const buyer = await market.buyer.getAddress();
    const balance: bigint = await token.balanceOf(buyer);
    const head = await market.provider.getBlockNumber();
    // At ε 1 (ε/2 on the sum, the rest on the count of present values) the noise of Σ(v − c) (bounds 10^5 wide at scale 12: 10^17 units per term) could pass 2^62 units.
    await assert.rejects(buy("mean@1", scale12, "v", "1"), (err: unknown) => {
      assert.ok(isMpcError(err, "RANGE_TOO_WIDE"), String(err));
      assert.match((err as Error).message, /noise of Σ\(v−c\) .* spend more ε on this request or narrow the bounds of "v"/);
      return true;
    });
    assert.equal(await token.balanceOf(buyer), balance, "nothing was paid");
    assert.equal(await market.provider.getBlockNumber(), head, "nothing was sent");

    const bought = await buy("mean@1", scale12, "v", "10");
    assert.ok(bought.dp, "a noisy answer says how it was noised");
    assert.equal(bought.dp.epsilon, "10");
    const answer = Number(bought.result);
    // Three noise terms of scale t pass 20·t together with probability below 10^-6: a wrapped or
    // mis-scaled sum would land far outside.
    const t = Number(bought.dp.noiseScale);
    assert.ok(t > 0 && Math.abs(answer - 4_000_000) <= 20 * t, `answer ${answer}, noise scale ${t}`);
  });

  it("refuses, before the buyer pays, a statistic the bounds cannot prove free of overflow", async () => {
    const token = new Contract(market.stack.state.contracts.paymentToken, loadArtifact("DevPaymentToken").abi, market.provider);
    const buyer = await market.buyer.getAddress();
    const balance: bigint = await token.balanceOf(buyer);
    const head = await market.provider.getBlockNumber();
    await assert.rejects(buy("variance@1", scale12, "v"), (err: unknown) => {
      assert.ok(isMpcError(err, "RANGE_TOO_WIDE"), String(err));
      assert.match((err as Error).message, /variance@1/);
      assert.match((err as Error).message, /"v"/);
      return true;
    });
    assert.equal(await token.balanceOf(buyer), balance, "nothing was paid");
    assert.equal(await market.provider.getBlockNumber(), head, "nothing was sent");
  });

  it("a seller's minimum rows is its own dataset's: a table below it cannot be listed for a buyer to pad with zeros", async () => {
    // The victim's 3-row table under a 10-row minimum: the registry refuses it, so no purchase can
    // combine it with the buyer's own 1,000 rows of zeros to read its exact sum.
    const victim = new NonceManager(resolveSigner({ defaultRole: "seller2" }, market.provider));
    const registry = new Contract(market.stack.state.contracts.registry, loadArtifact("DatasetRegistry").abi, victim);
    const token = new Contract(market.stack.state.contracts.paymentToken, loadArtifact("DevPaymentToken").abi, victim);
    const stake: bigint = await registry.minStake();
    await (await token.approve(market.stack.state.contracts.registry, stake)).wait();
    const schema = schemaText([{ name: "v", scale: 0, lo: "0", hi: "100" }]);
    const commitments = [1, 2, 3].map((i) => `0x${String(i).repeat(64)}`);
    const policy = { allowedAlgorithms: [algorithmId("sum@1")], minRows: 10, budget: DEFAULT_PRIVACY_BUDGET, exactAlgorithms: [] };
    await assert.rejects(registry.registerDataset.staticCall("tiny", schema, 3, parseUnits("1", 18), commitments, policy, stake), (err: unknown) => {
      assert.equal((err as { revert?: { name: string; args: unknown[] } }).revert?.name, "DatasetRegistry__FewerRowsThanMinimum");
      assert.deepEqual([...(err as { revert: { args: unknown[] } }).revert.args], [3n, 10n]);
      return true;
    });
    // The seller's CLI says so before sharing anything.
    const csv = path.join(market.stack.dir, "tiny.csv");
    await writeFile(csv, "v\n1\n2\n3\n");
    await assert.rejects(
      uploadDataset({ state: market.stack.state, seller: victim, file: csv, name: "tiny", columns: ["v"], price: "1", minRows: 10 }),
      /3 rows but the policy's minimum is 10/,
    );
  });
});
