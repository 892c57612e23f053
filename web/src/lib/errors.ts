// Errors as sentences a person can act on: every failure the page shows goes
// through here, and none is left to the console.

interface EthersLike {
  code?: string;
  shortMessage?: string;
  reason?: string | null;
  revert?: { name: string; args: readonly unknown[] } | null;
  info?: { error?: { code?: number; message?: string } };
  error?: { code?: number; message?: string };
}

/** Contract errors a buyer or seller can meet, in words. */
const REVERTS: Record<string, string> = {
  DatasetRegistry__BudgetExhausted: "the dataset's privacy budget cannot cover this ε",
  AlgorithmComputation__PriceAboveMaximum: "a seller raised the price since the quote; look at the new price and try again",
  AlgorithmComputation__DatasetInactive: "a dataset is paused by its seller",
  AlgorithmComputation__AlgorithmNotAllowed: "the seller does not allow this algorithm",
  AlgorithmComputation__ExactNotAllowed: "the seller does not allow exact answers; ask for a differentially private one (ε above 0)",
  AlgorithmComputation__TooFewRows: "the dataset holds fewer rows than its seller's minimum",
  AlgorithmComputation__NothingToWithdraw: "there is nothing to withdraw",
  AlgorithmComputation__NotExpired: "the request is still within its deadline; it can be refunded only after it",
  DatasetRegistry__AlreadyRegistered: "a dataset of that name is already registered by this account; choose another name",
  DatasetRegistry__StakeTooLow: "the stake is below the market's minimum",
  DatasetRegistry__NotSeller: "only the dataset's seller may do this",
  ERC20InsufficientBalance: "the account holds too few payment tokens",
  ERC20InsufficientAllowance: "the contract may not take that many of the account's payment tokens (allowance)",
};

/**
 * One sentence for any error thrown by a purchase, a sale, the wallet or a host.
 *
 * @example
 * setError(explain(err));
 */
export function explain(err: unknown): string {
  if (!(err instanceof Error) && typeof err !== "object") return String(err);
  const e = err as Error & EthersLike;
  switch (e.code) {
    case "ACTION_REJECTED":
      return "You rejected the request in your wallet; nothing was sent.";
    case "INSUFFICIENT_FUNDS":
      return "The account has too little ETH to pay for the transaction's gas.";
    case "NETWORK_ERROR":
    case "TIMEOUT":
      return `The chain cannot be reached (${e.shortMessage ?? e.message}); is the market's RPC node running?`;
    case "CALL_EXCEPTION": {
      const name = e.revert?.name;
      if (name !== undefined) {
        const known = REVERTS[name];
        return `The contract refused the transaction: ${known ?? `${name}(${(e.revert?.args ?? []).map(String).join(", ")})`}.`;
      }
      return `The contract refused the transaction${e.reason ? `: ${e.reason}` : ""}.`;
    }
    default:
      break;
  }
  if (e.info?.error?.code === 4001 || e.error?.code === 4001) return "You rejected the request in your wallet; nothing was sent.";
  if (e instanceof TypeError && /fetch/i.test(e.message)) return `A server of the market cannot be reached (${e.message}).`;
  const message = e.shortMessage ?? e.message ?? String(err);
  return message.length > 0 ? message[0].toUpperCase() + message.slice(1) : "Something failed without saying why.";
}
