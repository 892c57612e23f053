import { parseUnits, Wallet } from "ethers";
import type { JsonRpcProvider } from "ethers";
import { deployLocalMarket } from "@scmpc/contracts";
import type { MarketAddresses } from "@scmpc/contracts";
import { DEV_ROLES, devPrivateKey } from "./accounts.ts";
import { PAYMENT_DECIMALS } from "./seller.ts";

/** Payment tokens minted to each development buyer and seller. */
export const DEV_FUNDING = parseUnits("1000000", PAYMENT_DECIMALS);

/** One MPC host as the market registers it. */
export interface DevHost {
  /** The endpoint sellers and the bridge dial (`host:port`). */
  endpoint: string;
  /** SHA-256 of its TLS certificate, 64 hex digits (with or without 0x). */
  tlsFingerprint: string;
}

/**
 * Deploys the development market on a fresh local chain with the Hardhat
 * Ignition module LocalMarket, from the development accounts: deployer 0,
 * relay 1 (the Operator's authorized sender), hosts 6-8 (operator and result
 * signer), and mints {@link DEV_FUNDING} to the buyers and sellers (2-5).
 * On a fresh chain the contract addresses are always the same.
 *
 * @example
 * const contracts = await deployDevMarket(provider, hosts.map((endpoint, i) => ({ endpoint, tlsFingerprint: fingerprints[i] })));
 */
export async function deployDevMarket(provider: JsonRpcProvider, hosts: readonly DevHost[]): Promise<MarketAddresses> {
  if (hosts.length !== 3) throw new Error(`the market has three hosts; got ${hosts.length}`);
  const hostKeys = [DEV_ROLES.host0, DEV_ROLES.host1, DEV_ROLES.host2].map((i) => devPrivateKey(i));
  return deployLocalMarket({
    deployer: new Wallet(devPrivateKey(DEV_ROLES.deployer), provider),
    relay: new Wallet(devPrivateKey(DEV_ROLES.relay)).address,
    // Buyers pay; sellers lock a stake per listed dataset.
    fund: [DEV_ROLES.buyer, DEV_ROLES.buyer2, DEV_ROLES.seller, DEV_ROLES.seller2].map((i) => ({
      address: new Wallet(devPrivateKey(i)).address,
      amount: DEV_FUNDING,
    })),
    hosts: hostKeys.map((key, index) => ({
      operator: new Wallet(key).address,
      signer: new Wallet(key).address,
      endpoint: hosts[index].endpoint,
      tlsFingerprint: hosts[index].tlsFingerprint.startsWith("0x") ? hosts[index].tlsFingerprint : `0x${hosts[index].tlsFingerprint}`,
    })),
  });
}
