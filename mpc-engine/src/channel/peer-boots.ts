import { randomBytes } from "node:crypto";

/**
 * The boot ids of this host and its peers. Every host process draws a random
 * boot id when it starts and sends it with every frame and ack. A peer whose
 * boot id changes has restarted and lost its in-memory mailbox and running
 * jobs: a job that exchanged messages with the peer's previous process cannot
 * finish as it is (the peer will never see what was sent to its previous
 * process), so it is aborted (and run again from the start by the bridge's
 * retry) instead of waiting for the job deadline. A job that has not yet
 * exchanged anything with the previous process is left alone.
 */
export interface PeerBoots {
  /** This process's boot id. */
  readonly own: string;
  /**
   * Records a boot id seen from host `fromHost` (in a frame or an ack), and
   * for which job, if any. Calls the restart listeners when it differs from
   * the one seen before.
   */
  observe(fromHost: number, bootId: string, jobId?: string): void;
  /** Registers a listener of peer restarts: it gets the host and the jobs that exchanged messages with its previous process. */
  onRestart(listener: (host: number, jobs: readonly string[]) => void): void;
  /** Forgets what a finished or failed job exchanged. */
  forgetJob(jobId: string): void;
}

/**
 * Creates the boot-id registry of one host process.
 *
 * @example
 * const boots = createPeerBoots();
 * boots.onRestart((host, jobs) => compute.peerRestarted(host, jobs));
 */
export function createPeerBoots(own: string = randomBytes(16).toString("hex")): PeerBoots {
  const seen = new Map<number, string>();
  /** `${jobId}/${host}` → the boot id of the host's process the job first exchanged with. */
  const byJob = new Map<string, string>();
  const listeners: ((host: number, jobs: readonly string[]) => void)[] = [];
  return {
    own,
    observe(fromHost, bootId, jobId) {
      if (bootId === "") return; // a peer of an older version: nothing to compare
      if (jobId !== undefined) {
        const key = `${jobId}/${fromHost}`;
        if (!byJob.has(key)) byJob.set(key, bootId);
      }
      const previous = seen.get(fromHost);
      seen.set(fromHost, bootId);
      if (previous === undefined || previous === bootId) return;
      const suffix = `/${fromHost}`;
      const jobs = [...byJob].filter(([key, boot]) => key.endsWith(suffix) && boot === previous).map(([key]) => key.slice(0, -suffix.length));
      for (const listener of listeners) listener(fromHost, jobs);
    },
    onRestart(listener) {
      listeners.push(listener);
    },
    forgetJob(jobId) {
      for (const key of byJob.keys()) if (key.startsWith(`${jobId}/`)) byJob.delete(key);
    },
  };
}
