import { BrowserProvider, JsonRpcProvider, NonceManager, Wallet, type Eip1193Provider, type Provider, type Signer } from "ethers";
import type { DevAccount, MarketConfig } from "./config.ts";

/** Who the page acts as: a development account of the local chain, or the browser's wallet. */
export interface Account {
  kind: "dev" | "wallet";
  label: string;
  address: string;
  signer: Signer;
}

/** The market's chain, read over its RPC URL (a block every transaction on a local chain: poll often). */
export function chainProvider(config: MarketConfig): JsonRpcProvider {
  const provider = new JsonRpcProvider(config.rpcUrl, config.chainId, { staticNetwork: true });
  provider.pollingInterval = 500;
  return provider;
}

/** A development account, signing locally with its (public, local-chain-only) key. */
export function devAccount(dev: DevAccount, provider: Provider): Account {
  return { kind: "dev", label: dev.label, address: dev.address, signer: new NonceManager(new Wallet(dev.privateKey, provider)) };
}

/** The browser's EIP-1193 wallet (`window.ethereum`), if it has one. */
export function injectedWallet(): Eip1193Provider | undefined {
  return (globalThis as { ethereum?: Eip1193Provider }).ethereum;
}

/** The wallet is on another chain than the market's. */
export class WrongNetworkError extends Error {
  constructor(
    readonly walletChainId: number,
    readonly marketChainId: number,
  ) {
    super(`Your wallet is on chain ${walletChainId}, but this market runs on chain ${marketChainId}. Switch the wallet's network and try again.`);
    this.name = "WrongNetworkError";
  }
}

/**
 * Connects the browser's wallet: asks for its accounts, then checks that it
 * is on the market's chain (offering to switch it).
 *
 * @throws WrongNetworkError when it stays on another chain; the wallet's own error when the person refuses
 */
export async function walletAccount(config: MarketConfig): Promise<Account> {
  const ethereum = injectedWallet();
  if (ethereum === undefined) throw new Error("This browser has no wallet (no window.ethereum). Install one, or on the local chain pick a development account.");
  const provider = new BrowserProvider(ethereum);
  await provider.send("eth_requestAccounts", []);
  let chainId = Number((await provider.getNetwork()).chainId);
  if (chainId !== config.chainId) {
    try {
      await provider.send("wallet_switchEthereumChain", [{ chainId: `0x${config.chainId.toString(16)}` }]);
      chainId = Number((await new BrowserProvider(ethereum).getNetwork()).chainId);
    } catch {
      // The wallet refused or cannot switch: say so below.
    }
    if (chainId !== config.chainId) throw new WrongNetworkError(chainId, config.chainId);
  }
  const signer = await new BrowserProvider(ethereum).getSigner();
  const address = await signer.getAddress();
  return { kind: "wallet", label: `wallet ${address.slice(0, 6)}…${address.slice(-4)}`, address, signer };
}
