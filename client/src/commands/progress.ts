import { SingleBar, type Params } from "cli-progress";
import type { PurchaseProgress } from "../buyer.ts";
import type { UploadProgress } from "../seller.ts";

// Progress bars drawn on a terminal's stderr while an upload or a purchase
// runs, so that stdout keeps only the result a script reads. A command draws
// one only when it has a terminal to draw on and prints no JSON.

/** A progress bar a command reports to, and stops (erasing it) when done or failed. */
export interface ProgressBar<Event> {
  report(event: Event): void;
  stop(): void;
}

const BAR_WIDTH = 24;

function bar(progress: number): string {
  const filled = Math.max(0, Math.min(BAR_WIDTH, Math.round(progress * BAR_WIDTH)));
  return "█".repeat(filled) + "░".repeat(BAR_WIDTH - filled);
}

function seconds(params: Params): string {
  return `${Math.round((Date.now() - params.startTime) / 1000)} s`;
}

/** `12.3 MB`. */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ["kB", "MB", "GB", "TB"];
  let value = bytes / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

function singleBar(stream: NodeJS.WriteStream, format: (params: Params, payload: Record<string, unknown>) => string): SingleBar {
  return new SingleBar({
    stream,
    format: (_options, params, payload) => format(params, payload as Record<string, unknown>),
    clearOnComplete: true,
    // The seconds shown tick while nothing else changes (a purchase waits on the hosts).
    fps: 4,
    linewrap: false,
  });
}

/**
 * The bar of `seller upload`: the table read, its shares made, then bytes
 * stored by the three hosts (each host answers once it has its whole share),
 * then the registration mined.
 *
 * @example
 * const progress = uploadProgressBar(process.stderr);
 * try { await uploadDataset({ ..., progress: progress.report }) } finally { progress.stop() }
 */
export function uploadProgressBar(stream: NodeJS.WriteStream): ProgressBar<UploadProgress> {
  const stored = [false, false, false];
  let stage = "reading the table";
  let bytes = "";
  const progressBar = singleBar(stream, (params) => {
    const hosts = stored.map((done, i) => `${i} ${done ? "✓" : "…"}`).join("  ");
    return `upload [${bar(params.progress)}] ${bytes}${bytes && "  "}hosts ${hosts}  ${stage} (${seconds(params)})`;
  });
  progressBar.start(1, 0);
  let total = 0;
  let sent = 0;
  return {
    report(event) {
      switch (event.stage) {
        case "read":
          stage = `sharing ${event.rows} rows of ${event.columns} column${event.columns === 1 ? "" : "s"}`;
          break;
        case "shared":
          total = event.bytes.reduce((a, b) => a + b, 0);
          stage = `sending ${event.rows} rows to each host`;
          progressBar.setTotal(total);
          break;
        case "stored":
          stored[event.host] = true;
          sent += event.bytes;
          stage = stored.every(Boolean) ? "registering on-chain" : stage;
          break;
        case "registering":
          stage = "registering on-chain (waiting for the transaction)";
          break;
      }
      if (total > 0) bytes = `${formatBytes(sent)} of ${formatBytes(total)}`;
      progressBar.update(sent);
    },
    stop() {
      progressBar.stop();
    },
  };
}

/** The stages of a purchase, in order, as {@link PurchaseProgress} reports them. */
const PURCHASE_STAGES = ["requested", "fulfilled", "keys released"] as const;

/**
 * The bar of `buyer request` and `buyer query`: one line going through the
 * stages requested (paid into escrow) → fulfilled (the hosts' answer is
 * on-chain) → keys released (the result is readable), with the time spent.
 *
 * @example
 * const progress = purchaseProgressBar(process.stderr, "buyer request");
 * try { await buyComputation({ ..., progress: progress.report }) } finally { progress.stop() }
 */
export function purchaseProgressBar(stream: NodeJS.WriteStream, label: string): ProgressBar<PurchaseProgress> {
  let done = 0;
  let request = "";
  const progressBar = singleBar(stream, (params) => {
    const stages = PURCHASE_STAGES.map((stage, k) => `${stage} ${k < done ? "✓" : k === done ? "…" : "·"}`).join(" → ");
    return `${label} [${bar(params.progress)}] ${stages}${request} (${seconds(params)})`;
  });
  progressBar.start(PURCHASE_STAGES.length, 0);
  return {
    report(event) {
      // The bar shows the stages every buyer sees; the hosts' stages (relayed, computing) need their web API.
      done = Math.max(done, (PURCHASE_STAGES as readonly string[]).indexOf(event.stage) + 1);
      request = `  request ${event.requestId.slice(0, 10)}…`;
      progressBar.update(done);
    },
    stop() {
      progressBar.stop();
    },
  };
}
