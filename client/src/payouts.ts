import { Contract, getAddress, isAddress, type Signer } from "ethers";
import { loadArtifact } from "@scmpc/contracts";
import { BPS_WHOLE, formatShare, ownDataset, readPayees, type Payee } from "./dataset-policy.ts";
import type { StackState } from "./state.ts";

// Payouts to helpers (Enigma's assisting nodes): accounts a seller names to
// share a dataset's revenue, each with a share of every payment; the seller
// keeps the rest. The registry holds the list; each algorithm contract
// credits the split when a request is paid for (pull payments: a payee
// withdraws with `scmpc seller withdraw --account ...`).

/** The registry's limit on payees besides the seller. */
export const MAX_PAYEES = 8;

/**
 * Reads `--to` text: `<address>=<percent>[,<address>=<percent>...]`, or
 * `none` to clear the list. Percentages have at most two decimals (basis
 * points) and add up to at most 100.
 *
 * @throws Error naming the malformed entry
 * @example
 * parsePayees("0x70997970C51812dc3A010C7d01b50e0d17dc79C8=10%,0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC=2.5")
 */
export function parsePayees(text: string): { account: string; bps: number }[] {
  if (text.trim() === "none") return [];
  const payees = text.split(",").map((entry) => {
    const match = /^\s*(0x[0-9a-fA-F]{40})\s*=\s*(\d{1,3}(?:\.\d{1,2})?)\s*%?\s*$/.exec(entry);
    if (!match || !isAddress(match[1])) throw new Error(`a payee is <address>=<percent> (at most two decimals); got "${entry.trim()}"`);
    const [whole, fraction = ""] = match[2].split(".");
    const bps = Number(whole) * 100 + Number(fraction.padEnd(2, "0"));
    if (bps <= 0 || bps > BPS_WHOLE) throw new Error(`a payee's share is more than 0% and at most 100%; got "${entry.trim()}"`);
    return { account: getAddress(match[1]), bps };
  });
  if (payees.length > MAX_PAYEES) throw new Error(`at most ${MAX_PAYEES} payees besides the seller; got ${payees.length}`);
  const seen = new Set<string>();
  for (const p of payees) {
    if (seen.has(p.account)) throw new Error(`${p.account} is named twice`);
    seen.add(p.account);
  }
  const total = payees.reduce((sum, p) => sum + p.bps, 0);
  if (total > BPS_WHOLE) throw new Error(`the payees' shares add up to ${formatShare(total)}, more than 100%`);
  return payees;
}

/**
 * Replaces the payees of one of the seller's datasets (an empty list: the
 * seller keeps everything); payments settled from then on are split so.
 *
 * @throws Error for a dataset that is not the seller's, or a list the registry would refuse
 * @example
 * await setPayees({ state, seller, dataset: "salaries", payees: parsePayees("0x7099…=10%") });
 */
export async function setPayees(options: {
  state: StackState;
  seller: Signer;
  dataset: string;
  payees: { account: string; bps: number }[];
}): Promise<{ id: string; payees: Payee[]; sellerShare: string; txHash: string }> {
  const registry = new Contract(options.state.contracts.registry, loadArtifact("DatasetRegistry").abi, options.seller);
  const me = await options.seller.getAddress();
  const { id } = await ownDataset(registry, options.dataset, me);
  if (options.payees.some((p) => p.account === me)) throw new Error("the seller is paid the rest already; name other accounts");
  const tx = await registry.setPayouts(
    id,
    options.payees.map((p) => p.account),
    options.payees.map((p) => p.bps),
  );
  await tx.wait();
  const total = options.payees.reduce((sum, p) => sum + p.bps, 0);
  return { id, payees: await readPayees(registry, id), sellerShare: formatShare(BPS_WHOLE - total), txHash: tx.hash as string };
}
