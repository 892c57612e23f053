import path from "node:path";
import { fileURLToPath } from "node:url";
import { Contract, formatUnits, JsonRpcProvider } from "ethers";
import { loadArtifact } from "@scmpc/contracts";
import { Rational } from "@scmpc/mpc-engine";
import { resolveSigner } from "./accounts.ts";
import { buyComputation } from "./buyer.ts";
import { PAYMENT_DECIMALS, uploadDataset } from "./seller.ts";
import { startLocalStack } from "./stack.ts";
import { stateDir } from "./state.ts";

// The main job on the embedded default: start the local stack, let a seller
// sell the bundled sample table (allowing exact sums; every other answer
// differentially private) and a buyer buy a differentially private mean and
// the exact sum of its salary column, then print the noisy mean with its 95%
// interval and the budget left, the plaintext and decrypted sums and the
// seller's credit.
const SAMPLE = fileURLToPath(new URL("../samples/salaries.csv", import.meta.url));
const dir = path.join(stateDir(process.env), "demo");

console.log("sc-mpc demo: starting the local stack on 127.0.0.1 ...");
const stack = await startLocalStack({ dir, progress: (line) => console.log(`  ${line}`) });
let exitCode = 1;
const provider = new JsonRpcProvider(stack.state.rpcUrl, stack.state.chainId, { staticNetwork: true });
try {
  const seller = resolveSigner({ defaultRole: "seller" }, provider);
  const buyer = resolveSigner({ defaultRole: "buyer" }, provider);

  const dataset = await uploadDataset({
    state: stack.state,
    seller,
    file: SAMPLE,
    name: "salaries",
    columns: ["salary"],
    bounds: { salary: { lo: "0", hi: "200000" } },
    price: "25",
    exact: ["sum@1"],
  });
  console.log(`seller ${dataset.address}: shared ${dataset.rowCount} salaries to 3 MPC hosts; dataset id ${dataset.datasetId}`);
  console.log(`policy: privacy budget ε ${dataset.budget}; exact answers allowed for ${dataset.exactAlgorithms.join(", ")}, every other answer differentially private`);
  const buy = (algorithm: string, exact: boolean) =>
    buyComputation({
      state: stack.state,
      buyer,
      algorithm,
      datasetIds: [dataset.datasetId],
      params: JSON.stringify({ column: "salary" }),
      keyDir: path.join(dir, "buyer-keys"),
      ...(exact ? { exact } : { epsilon: "1" }),
    });

  const noisy = await buy("mean@1", false);
  const [lo, hi] = noisy.dp!.interval95 as [string, string];
  const trueMean = new Rational(BigInt(dataset.plaintextSums.salary), BigInt(dataset.rowCount));
  const decimal = (text: string) => {
    const [whole, fraction = ""] = text.split(".");
    return Rational.scaled(BigInt(whole + fraction), fraction.length);
  };
  const inside = decimal(lo).compare(trueMean) <= 0 && trueMean.compare(decimal(hi)) <= 0;
  console.log(`differentially private mean (buyer, ε ${noisy.dp!.epsilon}): ${noisy.result}, 95% interval [${lo}, ${hi}]`);
  console.log(`  ${noisy.dp!.mechanism} noise of scale ${noisy.dp!.noiseScale} drawn inside the MPC; ε ${noisy.dp!.budgetLeft[dataset.datasetId]} of the dataset's budget left`);
  console.log(`  the seller's own mean ${trueMean.toDecimal(6)} is ${inside ? "inside" : "outside (a 1-in-20 event)"} the interval`);

  const bought = await buy("sum@1", true);
  let credited = 0n;
  for (const algorithm of ["mean@1", "sum@1"]) {
    const market = new Contract(stack.state.contracts.algorithms[algorithm], loadArtifact("AlgorithmComputation").abi, provider);
    credited += (await market.withdrawable(await seller.getAddress())) as bigint;
  }
  const plaintextSum = dataset.plaintextSums.salary;

  console.log(`plaintext sum (seller's own computation): ${plaintextSum}`);
  console.log(`decrypted exact sum (buyer, 3 MPC hosts): ${bought.result}`);
  console.log(`keys released by hosts ${bought.keysReleasedBy.join(", ")} once the chain showed the seller paid`);
  console.log(`seller's credited balance:                ${formatUnits(credited, PAYMENT_DECIMALS)} mUSD`);
  const match = bought.result === plaintextSum;
  console.log(match ? "OK: the decrypted sum equals the plaintext sum" : "MISMATCH: the decrypted sum differs from the plaintext sum");
  exitCode = match ? 0 : 1;
  console.log(`web market: ${stack.state.webUrl} served the same market during the demo; \`npx scmpc up\` keeps one running to browse, buy and sell in a browser`);
} catch (err) {
  console.error(`demo failed: ${(err as Error).message}`);
} finally {
  provider.destroy();
  await stack.stop();
}
process.exit(exitCode);
