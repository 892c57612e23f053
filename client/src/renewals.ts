import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import type { Signer } from "ethers";
import { listSubscriptions, parsePeriod, subscribe, type BuyerSubscription } from "./subscriptions.ts";
import type { StackState } from "./state.ts";

// Renewal reminders (`buyer subscribe --auto-renew`): the CLI remembers, in
// the state directory, which subscriptions a buyer wants kept running, and
// `buyer renew` renews those that end within a window — an explicit
// transaction the buyer runs (or schedules), no daemon holding its key.

/** One remembered subscription: renewed by `periods` periods when due. */
export interface Renewal {
  account: string;
  datasetId: string;
  periods: number;
}

/** How close to its end a remembered subscription is due for renewal, by default. */
export const DEFAULT_RENEW_WITHIN = "1d";

const FILE = "renewals.json";

async function readRenewals(dir: string): Promise<Renewal[]> {
  try {
    const parsed = JSON.parse(await readFile(path.join(dir, FILE), "utf8")) as { renewals?: Renewal[] };
    return Array.isArray(parsed.renewals) ? parsed.renewals : [];
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw new Error(`cannot read the renewal reminders in ${path.join(dir, FILE)}: ${(err as Error).message}`, { cause: err });
  }
}

/** Written whole to a temporary file, then renamed over the old one: a crash leaves one or the other. */
async function writeRenewals(dir: string, renewals: Renewal[]): Promise<void> {
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, FILE);
  const temp = `${file}.tmp-${process.pid}`;
  await writeFile(temp, `${JSON.stringify({ renewals }, null, 2)}\n`);
  await rename(temp, file);
}

const same = (r: Renewal, account: string, datasetId: string): boolean =>
  r.account.toLowerCase() === account.toLowerCase() && r.datasetId.toLowerCase() === datasetId.toLowerCase();

/**
 * Remembers that `account` wants its subscription to `datasetId` renewed by
 * `periods` periods when due (replacing any earlier reminder for it).
 *
 * @example
 * await rememberRenewal(dir, { account, datasetId, periods: 1 });
 */
export async function rememberRenewal(dir: string, renewal: Renewal): Promise<void> {
  const kept = (await readRenewals(dir)).filter((r) => !same(r, renewal.account, renewal.datasetId));
  await writeRenewals(dir, [...kept, { ...renewal, datasetId: renewal.datasetId.toLowerCase() }]);
}

/** Forgets the reminder of `account` for `datasetId`, if any. */
export async function forgetRenewal(dir: string, account: string, datasetId: string): Promise<void> {
  const renewals = await readRenewals(dir);
  const kept = renewals.filter((r) => !same(r, account, datasetId));
  if (kept.length !== renewals.length) await writeRenewals(dir, kept);
}

/** A remembered subscription with where it stands. */
export interface DueRenewal extends Renewal {
  subscription: BuyerSubscription;
}

/**
 * The buyer's remembered subscriptions ending within `within` (a period text,
 * `1d` by default) of the chain's time, ended ones included.
 *
 * @example
 * for (const due of await dueRenewals({ state, buyer, dir })) console.error(`${due.subscription.address} ends ${due.subscription.end}`);
 */
export async function dueRenewals(options: { state: StackState; buyer: Signer; dir: string; within?: string }): Promise<DueRenewal[]> {
  const me = await options.buyer.getAddress();
  const mine = (await readRenewals(options.dir)).filter((r) => r.account.toLowerCase() === me.toLowerCase());
  if (mine.length === 0) return [];
  const window = parsePeriod(options.within ?? DEFAULT_RENEW_WITHIN);
  const latest = await options.buyer.provider!.getBlock("latest");
  const now = latest!.timestamp;
  const subscriptions = new Map((await listSubscriptions({ state: options.state, buyer: options.buyer })).map((s) => [s.id.toLowerCase(), s]));
  const due: DueRenewal[] = [];
  for (const renewal of mine) {
    const subscription = subscriptions.get(renewal.datasetId);
    if (subscription === undefined) continue;
    if (Date.parse(subscription.end) / 1000 - now <= window) due.push({ ...renewal, subscription });
  }
  return due;
}

/**
 * Renews every remembered subscription of the buyer that is due (see
 * {@link dueRenewals}): each pays its periods from the current end (or
 * from now, once ended). A renewal the registry refuses (the offer changed
 * or withdrawn) is reported, not fatal to the others.
 *
 * @example
 * const { renewed, failed } = await renewDue({ state, buyer, dir });
 */
export async function renewDue(options: {
  state: StackState;
  buyer: Signer;
  dir: string;
  within?: string;
}): Promise<{ renewed: (BuyerSubscription & { paidNow: string })[]; failed: { id: string; error: string }[] }> {
  const renewed: (BuyerSubscription & { paidNow: string })[] = [];
  const failed: { id: string; error: string }[] = [];
  for (const due of await dueRenewals(options)) {
    try {
      renewed.push(await subscribe({ state: options.state, buyer: options.buyer, dataset: due.datasetId, periods: due.periods }));
    } catch (err) {
      failed.push({ id: due.datasetId, error: (err as Error).message });
    }
  }
  return { renewed, failed };
}
