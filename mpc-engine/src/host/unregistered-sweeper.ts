import { ZeroAddress } from "ethers";
import type { Logger } from "pino";
import type { ChainReader, OnChainDataset } from "./chain-reader.ts";
import type { ShareStore } from "./share-store.ts";

/**
 * What one sweep did. Each entry names a stored version as
 * `<datasetId>:<commitment>` (both 0x-prefixed, lowercase).
 */
export interface SweepResult {
  /** Versions the chain now lists as their dataset's current one (marked registered; a superseded mark cleared). */
  registered: string[];
  /** Versions never registered on-chain within the time limit, deleted. */
  deleted: string[];
  /** Registered versions the chain no longer lists (their dataset was refreshed), marked superseded now. */
  superseded: string[];
  /** Versions superseded for longer than the retention, deleted. */
  dropped: string[];
}

/** Runs the sweep on a timer; `sweep()` runs one pass (tests call it directly). */
export interface UnregisteredSweeper {
  /** One pass over every stored version, against the chain's current state. Resolves to what it did. */
  sweep(now?: number): Promise<SweepResult>;
  /** Starts the timer (every quarter of the time limit, at most a minute). */
  start(): void;
  stop(): void;
}

/** Margin past the longest request timeout before a superseded version is dropped. */
export const SUPERSEDED_RETENTION_MARGIN_MS = 10 * 60_000;
/** How long superseded versions are kept when the request timeouts cannot be read. */
export const SUPERSEDED_RETENTION_FALLBACK_MS = 7 * 24 * 3_600_000;

/**
 * Keeps a host's disk to the shares someone may still compute over:
 *
 * - an upload is kept once the chain lists its dataset with its commitment for
 *   this host; one still not listed `ttlMs` after its upload is deleted (so
 *   uploads from strangers cannot fill the host; a new version waiting for its
 *   `refreshDataset` counts the same way);
 * - a registered version that a refresh replaced on-chain is marked superseded
 *   (the time durably recorded), and deleted once superseded for longer than
 *   `retentionMs()`: a pending request pins the version current when it was
 *   made and its deadline is at most the longest request timeout after it.
 *
 * A registered version whose dataset is no longer on-chain at all is kept. The
 * chain is read for every stored dataset first: while it cannot be read,
 * nothing is marked or deleted (a registration or refresh may be there).
 *
 * @example
 * const sweeper = createUnregisteredSweeper({ store, chain, hostIndex: 0, ttlMs: 3_600_000, retentionMs: async () => 7_200_000, logger });
 * sweeper.start();
 */
export function createUnregisteredSweeper(deps: {
  store: ShareStore;
  chain: Pick<ChainReader, "getDataset" | "wasReplaced">;
  hostIndex: number;
  ttlMs: number;
  /** How long (ms) a superseded version is kept; read only when one is there. */
  retentionMs: () => Promise<number>;
  logger: Logger;
}): UnregisteredSweeper {
  const { store, chain, logger } = deps;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<unknown> | undefined;

  const sweep = async (now: number = Date.now()): Promise<SweepResult> => {
    const result: SweepResult = { registered: [], deleted: [], superseded: [], dropped: [] };
    const versions = await store.usage();
    const onChain = new Map<string, OnChainDataset>();
    try {
      for (const id of new Set(versions.map((v) => v.datasetId))) onChain.set(id, await chain.getDataset(id));
    } catch (err) {
      logger.warn({ err: (err as Error).message }, "cannot read the chain; no share is marked or deleted this round");
      return result;
    }
    let retention: number | undefined;

    for (const version of versions) {
      const name = `${version.datasetId}:${version.commitment}`;
      const dataset = onChain.get(version.datasetId)!;
      const listed = dataset.seller !== ZeroAddress;
      const current = listed && dataset.commitments[deps.hostIndex].toLowerCase() === version.commitment;
      if (current) {
        // A superseded version can be current again: its seller refreshed back to it.
        if (!version.registered || version.supersededAt !== undefined) {
          await store.markRegistered(version.datasetId, version.commitment);
          result.registered.push(name);
        }
      } else if (version.supersededAt !== undefined) {
        try {
          retention ??= await deps.retentionMs();
        } catch (err) {
          logger.warn({ err: (err as Error).message }, "cannot tell how long superseded versions are kept; none is dropped this round");
          retention = Number.POSITIVE_INFINITY;
        }
        if (now - version.supersededAt > retention) {
          await store.remove(version.datasetId, version.commitment);
          result.dropped.push(name);
          logger.info(
            { datasetId: version.datasetId, commitment: version.commitment, bytes: version.bytes, supersededAt: version.supersededAt },
            "dropped a superseded version",
          );
        }
      } else if (version.registered) {
        // Refreshed since it was registered. A dataset gone from the chain is left alone.
        if (listed) {
          await store.markSuperseded(version.datasetId, version.commitment, now);
          result.superseded.push(name);
          logger.info({ datasetId: version.datasetId, commitment: version.commitment, current: dataset.commitments[deps.hostIndex] }, "version superseded");
        }
      } else if (now - version.storedAt > deps.ttlMs) {
        // Registered and replaced while this host was not looking (down, say): requests may still have bought it.
        let replaced: boolean;
        try {
          replaced = listed && ((await chain.wasReplaced?.(version.datasetId, deps.hostIndex, version.commitment)) ?? false);
        } catch (err) {
          logger.warn({ err: (err as Error).message, datasetId: version.datasetId }, "cannot read the dataset's refreshes; its unregistered share is kept this round");
          continue;
        }
        if (replaced) {
          await store.markSuperseded(version.datasetId, version.commitment, now);
          result.superseded.push(name);
          logger.info({ datasetId: version.datasetId, commitment: version.commitment }, "version superseded (registered and replaced while this host was not looking)");
          continue;
        }
        await store.remove(version.datasetId, version.commitment);
        result.deleted.push(name);
        logger.info(
          { datasetId: version.datasetId, commitment: version.commitment, seller: version.seller, bytes: version.bytes },
          "deleted a share never registered on-chain in time",
        );
      }
    }
    return result;
  };

  return {
    sweep,
    start() {
      const every = Math.min(60_000, Math.max(1_000, Math.floor(deps.ttlMs / 4)));
      timer = setInterval(() => {
        if (running) return;
        running = sweep()
          .catch((err: unknown) => logger.error({ err }, "sweeping stored shares failed"))
          .finally(() => (running = undefined));
      }, every);
      timer.unref();
    },
    stop() {
      clearInterval(timer);
    },
  };
}

/**
 * How long a host keeps a superseded version: the longest request timeout of
 * the algorithm contracts it serves, plus {@link SUPERSEDED_RETENTION_MARGIN_MS}
 * (a request made just before the refresh may run until its deadline). Read
 * once and cached (a contract's timeout is immutable); when the reader cannot
 * say or a read fails, {@link SUPERSEDED_RETENTION_FALLBACK_MS}, with a
 * warning (a failed read is tried again next time).
 *
 * @example
 * const retentionMs = supersededRetention({ chain, consumers: config.algorithmContracts, logger });
 */
export function supersededRetention(deps: {
  chain: Pick<ChainReader, "requestTimeout">;
  consumers: readonly string[];
  logger: Logger;
}): () => Promise<number> {
  let known: number | undefined;
  return async () => {
    if (known !== undefined) return known;
    const { chain, logger } = deps;
    if (chain.requestTimeout === undefined) {
      logger.warn({ retentionMs: SUPERSEDED_RETENTION_FALLBACK_MS }, "the chain reader cannot read request timeouts; superseded versions are kept 7 days");
      return (known = SUPERSEDED_RETENTION_FALLBACK_MS);
    }
    try {
      let longest = 0n;
      for (const consumer of deps.consumers) {
        const timeout = await chain.requestTimeout(consumer);
        if (timeout > longest) longest = timeout;
      }
      return (known = Number(longest) * 1000 + SUPERSEDED_RETENTION_MARGIN_MS);
    } catch (err) {
      logger.warn({ err: (err as Error).message, retentionMs: SUPERSEDED_RETENTION_FALLBACK_MS }, "cannot read the request timeouts; superseded versions are kept 7 days for now");
      return SUPERSEDED_RETENTION_FALLBACK_MS;
    }
  };
}
