import { HDNodeWallet, Mnemonic, NonceManager, Wallet } from "ethers";
import type { Provider, Signer } from "ethers";

/** The mnemonic of Hardhat's local development accounts (public, for local chains only). */
export const DEV_MNEMONIC = "test test test test test test test test test test test junk";

/** Roles of the local stack and the development account index each uses. */
export const DEV_ROLES = { deployer: 0, relay: 1, seller: 2, buyer: 3, seller2: 4, buyer2: 5, host0: 6, host1: 7, host2: 8 } as const;
export type DevRole = keyof typeof DEV_ROLES;

/**
 * The private key of development account `index` (Hardhat's default accounts).
 *
 * @example
 * devPrivateKey(DEV_ROLES.relay)
 */
export function devPrivateKey(index: number): string {
  const mnemonic = Mnemonic.fromPhrase(DEV_MNEMONIC);
  return HDNodeWallet.fromMnemonic(mnemonic, `m/44'/60'/0'/0/${index}`).privateKey;
}

/**
 * Resolves the signer a command acts as: an explicit private key (from the
 * environment) wins; otherwise `--account` names a role or an index of the
 * local development accounts; otherwise the command's default role. The
 * signer counts its own nonces, so transactions sent back to back (approve,
 * then request) never reuse one.
 *
 * @example
 * const seller = resolveSigner({ account: undefined, privateKey: env.SCMPC_PRIVATE_KEY, defaultRole: "seller" }, provider);
 */
export function resolveSigner(
  options: { account?: string; privateKey?: string; defaultRole: DevRole },
  provider: Provider,
): Signer {
  if (options.privateKey) {
    if (!/^0x[0-9a-fA-F]{64}$/.test(options.privateKey)) throw new Error("SCMPC_PRIVATE_KEY must be a 0x-prefixed 32-byte hex key");
    return new NonceManager(new Wallet(options.privateKey, provider));
  }
  const account = options.account ?? options.defaultRole;
  let index: number;
  if (/^\d+$/.test(account)) index = Number(account);
  else if (account in DEV_ROLES) index = DEV_ROLES[account as DevRole];
  else throw new Error(`--account must be a development account index or one of ${Object.keys(DEV_ROLES).join(", ")}; got "${account}"`);
  return new NonceManager(new Wallet(devPrivateKey(index), provider));
}
