import type { Command } from "commander";
import { formatUnits } from "ethers";
import { marketBalance, withdrawAll } from "../balances.ts";
import { PAYMENT_DECIMALS } from "../seller.ts";
import { act, connected, examples, type CliContext } from "./context.ts";

// `seller balance|withdraw` and `buyer balance|withdraw`: one account's money
// held by the market, credited per algorithm contract (a seller's payments, a
// buyer's refunds) and by the registry (subscription income and refunds).

/** Token amounts as decimal strings, for JSON. */
function decimals(amounts: Record<string, bigint>): Record<string, string> {
  return Object.fromEntries(Object.entries(amounts).map(([name, amount]) => [name, amount.toString()]));
}

/**
 * Adds `balance` and `withdraw` to a role's command group.
 *
 * @example
 * addBalanceCommands(ctx, buyer, "buyer", { balance: "refunds credited and not yet withdrawn", withdraw: "withdraw the refunds credited" });
 */
export function addBalanceCommands(
  ctx: CliContext,
  group: Command,
  role: "seller" | "buyer",
  text: { balance: string; withdraw: string },
): void {
  const { out } = ctx;
  group
    .command("balance")
    .summary(text.balance)
    .description(
      `${text.balance[0].toUpperCase()}${text.balance.slice(1)}: what the algorithm contracts and the registry hold for the account, ` +
        "per contract (subscription income counts as owed even before it is released).",
    )
    .option("--json", "print one JSON object: account, withdrawable (token units), formatted (mUSD), byAlgorithm")
    .addHelpText("after", examples(`scmpc ${role} balance`, `scmpc ${role} balance --account ${role}2 --json`))
    .action(
      act(ctx, async (command) => {
        const { json } = command.opts<{ json?: boolean }>();
        await connected(ctx, command, role, async ({ state, signer }) => {
          const { account: address, total, byAlgorithm } = await marketBalance(state, signer);
          const perAlgorithm = decimals(byAlgorithm);
          if (json) out.log(JSON.stringify({ account: address, withdrawable: total.toString(), formatted: formatUnits(total, PAYMENT_DECIMALS), byAlgorithm: perAlgorithm }));
          else out.log(`${address} can withdraw ${formatUnits(total, PAYMENT_DECIMALS)} mUSD`);
        });
      }),
    );

  group
    .command("withdraw")
    .summary(text.withdraw)
    .description(
      `${text.withdraw[0].toUpperCase()}${text.withdraw.slice(1)}: sends the account everything the algorithm contracts and the registry ` +
        `hold for it${role === "seller" ? " (subscription earnings are released first)" : ""}.`,
    )
    .option("--json", "print one JSON object: account, withdrawn (token units), formatted (mUSD), byAlgorithm")
    .addHelpText("after", examples(`scmpc ${role} withdraw`, `scmpc ${role} withdraw --json`))
    .action(
      act(ctx, async (command) => {
        const { json } = command.opts<{ json?: boolean }>();
        await connected(ctx, command, role, async ({ state, signer }) => {
          // Subscription income (a seller's earnings, released first) and refunds (a subscriber's).
          const { account: address, total, byAlgorithm } = await withdrawAll(state, signer, { releaseEarnings: role === "seller" });
          const perAlgorithm = decimals(byAlgorithm);
          if (json) out.log(JSON.stringify({ account: address, withdrawn: total.toString(), formatted: formatUnits(total, PAYMENT_DECIMALS), byAlgorithm: perAlgorithm }));
          else out.log(total === 0n ? `${address} has nothing to withdraw` : `withdrew ${formatUnits(total, PAYMENT_DECIMALS)} mUSD to ${address}`);
        });
      }),
    );
}
