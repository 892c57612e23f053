// Collecting the hosts' release keys of a fulfilled request, whatever carries
// the calls (gRPC from Node, the hosts' web API from a browser).

/** One host's answer to a key release: the job the key belongs to and the 32-byte key. */
export interface ReleaseKeyAnswer {
  jobId: string;
  key: Uint8Array;
}

/** What the hosts answered to a key release. */
export interface ReleasedKeys {
  /** Per host index, the key it released, or undefined. */
  keys: (Uint8Array | undefined)[];
  /** The hosts that released their key, in index order. */
  from: number[];
  /** Per host that did not, why (its answer, or why it could not be reached). */
  refusals: Record<number, string>;
}

/**
 * Asks the three hosts for their release keys of a fulfilled request, until
 * at least two answered (two hosts' shares hold every component) or
 * `timeoutMs` passed, retrying the hosts that refused (a host waits for its
 * configured confirmations on top of the fulfilment before it releases).
 * A host that answers with a key for another job than `jobId` counts as a
 * refusal.
 *
 * @example
 * const { keys, from } = await collectReleaseKeys({ ask: (host) => releaseFrom(host), jobId });
 */
export async function collectReleaseKeys(options: {
  ask: (hostIndex: number) => Promise<ReleaseKeyAnswer>;
  jobId: string;
  timeoutMs?: number;
  /** How long to keep asking the third host once two released (default 2 s). */
  graceMs?: number;
}): Promise<ReleasedKeys> {
  const giveUpAt = Date.now() + (options.timeoutMs ?? 60_000);
  const keys: (Uint8Array | undefined)[] = [undefined, undefined, undefined];
  const refusals: Record<number, string> = {};
  let enoughAt: number | undefined;
  for (let round = 0; ; round++) {
    const missing = [0, 1, 2].filter((i) => keys[i] === undefined);
    await Promise.all(
      missing.map(async (hostIndex) => {
        try {
          const answer = await options.ask(hostIndex);
          if (answer.jobId.toLowerCase() !== options.jobId.toLowerCase()) {
            refusals[hostIndex] = `released a key for job ${answer.jobId}, not ${options.jobId}`;
            return;
          }
          keys[hostIndex] = answer.key;
          delete refusals[hostIndex];
        } catch (err) {
          refusals[hostIndex] = (err as Error).message;
        }
      }),
    );
    const count = keys.filter((k) => k !== undefined).length;
    if (count === 3) break;
    if (count >= 2) enoughAt ??= Date.now();
    const now = Date.now();
    if (now >= giveUpAt || (enoughAt !== undefined && now - enoughAt >= (options.graceMs ?? 2_000))) break;
    await new Promise((resolve) => setTimeout(resolve, Math.min(1_000, 100 * 2 ** Math.min(round, 4))));
  }
  return { keys, from: [0, 1, 2].filter((i) => keys[i] !== undefined), refusals };
}
