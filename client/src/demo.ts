import path from "node:path";
import { fileURLToPath } from "node:url";
import { Contract, formatUnits, JsonRpcProvider } from "ethers";
import { loadArtifact } from "@scmpc/contracts";
import { resolveSigner } from "./accounts.ts";
import { buyComputation } from "./buyer.ts";
import { PAYMENT_DECIMALS, uploadDataset } from "./seller.ts";
import { startLocalStack } from "./stack.ts";
import { stateDir } from "./state.ts";

// The main job on the embedded default: start the local stack, let a seller
// sell the bundled sample table and a buyer buy the sum of its salary column,
// then print the plaintext sum, the decrypted sum and the seller's credit.
const SAMPLE = fileURLToPath(new URL("../samples/salaries.csv", import.meta.url));
const dir = path.join(stateDir(process.env), "demo");

console.log("sc-mpc demo: starting the local stack on 127.0.0.1 ...");
const stack = await startLocalStack({ dir, progress: (line) => console.log(`  ${line}`) });
let exitCode = 1;
const provider = new JsonRpcProvider(stack.state.rpcUrl, stack.state.chainId, { staticNetwork: true });
try {
  const seller = resolveSigner({ defaultRole: "seller" }, provider);
  const buyer = resolveSigner({ defaultRole: "buyer" }, provider);

  const dataset = await uploadDataset({ state: stack.state, seller, csvPath: SAMPLE, name: "salaries", columns: ["salary"], price: "25" });
  console.log(`seller ${dataset.address}: shared ${dataset.rowCount} salaries to 3 MPC hosts; dataset id ${dataset.datasetId}`);

  const bought = await buyComputation({
    state: stack.state,
    buyer,
    algorithm: "sum@1",
    datasetIds: [dataset.datasetId],
    params: JSON.stringify({ column: "salary" }),
    keyDir: path.join(dir, "buyer-keys"),
  });
  const market = new Contract(stack.state.contracts.algorithms["sum@1"], loadArtifact("AlgorithmComputation").abi, provider);
  const credited: bigint = await market.withdrawable(await seller.getAddress());
  const plaintextSum = dataset.plaintextSums.salary;

  console.log(`plaintext sum (seller's own computation): ${plaintextSum}`);
  console.log(`decrypted sum (buyer, from 3 MPC hosts):  ${bought.result}`);
  console.log(`keys released by hosts ${bought.keysReleasedBy.join(", ")} once the chain showed the seller paid`);
  console.log(`seller's credited balance:                ${formatUnits(credited, PAYMENT_DECIMALS)} mUSD`);
  const match = bought.result === plaintextSum;
  console.log(match ? "OK: the decrypted sum equals the plaintext sum" : "MISMATCH: the decrypted sum differs from the plaintext sum");
  exitCode = match ? 0 : 1;
} catch (err) {
  console.error(`demo failed: ${(err as Error).message}`);
} finally {
  provider.destroy();
  await stack.stop();
}
process.exit(exitCode);
