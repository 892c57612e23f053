import { ZeroAddress } from "ethers";
import type { Logger } from "pino";
import type { ChainReader } from "./chain-reader.ts";
import type { ShareStore } from "./share-store.ts";

/** Runs the sweep on a timer; `sweep()` runs one pass (tests call it directly). */
export interface UnregisteredSweeper {
  /** One pass: marks the shares the chain now lists, deletes those past their time. Resolves to what it did. */
  sweep(now?: number): Promise<{ registered: string[]; deleted: string[] }>;
  /** Starts the timer (every quarter of the time limit, at most a minute). */
  start(): void;
  stop(): void;
}

/**
 * Keeps uploads from strangers from filling a host: a share is kept for good
 * once the chain lists its dataset with this host's commitment; one that is
 * still not registered `ttlMs` after its upload is deleted. While the chain
 * cannot be read nothing is deleted (a registration may be there).
 *
 * @example
 * const sweeper = createUnregisteredSweeper({ store, chain, hostIndex: 0, ttlMs: 3_600_000, logger });
 * sweeper.start();
 */
export function createUnregisteredSweeper(deps: {
  store: ShareStore;
  chain: ChainReader;
  hostIndex: number;
  ttlMs: number;
  logger: Logger;
}): UnregisteredSweeper {
  const { store, chain, logger } = deps;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;

  const sweep = async (now: number = Date.now()) => {
    const registered: string[] = [];
    const deleted: string[] = [];
    for (const share of await store.usage()) {
      if (share.registered) continue;
      let listed: boolean;
      try {
        const dataset = await chain.getDataset(share.datasetId);
        listed = dataset.seller !== ZeroAddress && dataset.commitments[deps.hostIndex].toLowerCase() === share.commitment;
      } catch (err) {
        logger.warn({ err: (err as Error).message }, "cannot read the chain; no unregistered share is deleted this round");
        break;
      }
      if (listed) {
        await store.markRegistered(share.datasetId);
        registered.push(share.datasetId);
      } else if (now - share.storedAt > deps.ttlMs) {
        await store.remove(share.datasetId);
        deleted.push(share.datasetId);
        logger.info({ datasetId: share.datasetId, seller: share.seller, bytes: share.bytes }, "deleted a share never registered on-chain in time");
      }
    }
    return { registered, deleted };
  };

  return {
    sweep,
    start() {
      const every = Math.min(60_000, Math.max(1_000, Math.floor(deps.ttlMs / 4)));
      timer = setInterval(() => {
        if (running) return;
        running = sweep()
          .catch((err: unknown) => logger.error({ err }, "sweeping unregistered shares failed"))
          .finally(() => (running = undefined));
      }, every);
      timer.unref();
    },
    stop() {
      clearInterval(timer);
    },
  };
}
