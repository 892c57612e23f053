import { MpcError } from "../errors.ts";
import type { QueryRowSource } from "../plan/run-query.ts";
import { concatShares, type ArithShare } from "../protocol/shares.ts";
import type { ShareReader } from "./share-store.ts";

/**
 * This host's share of each column the plan reads, and of the same columns'
 * validity vectors, the datasets' rows concatenated in request order, read
 * a block of rows at a time (views of a share held in memory; reads checked
 * chunk by chunk of one that is not).
 *
 * @throws MpcError `COLUMN_NOT_FOUND` when a dataset lacks a column
 * @example
 * const opened = await runJob(party, plan, shareRowSource(jobColumns(plan), readers));
 */
export function shareRowSource(names: readonly string[], shares: readonly ShareReader[]): QueryRowSource {
  const at = names.map((name) =>
    shares.map((share) => {
      const k = share.header.columns.findIndex((c) => c.name === name);
      if (k < 0) throw new MpcError("COLUMN_NOT_FOUND", `dataset ${share.header.datasetId} has no column ${JSON.stringify(name)}`);
      return k;
    }),
  );
  const counts = shares.map((s) => Number(s.header.rowCount));
  const firsts = counts.map((_, k) => counts.slice(0, k).reduce((n, c) => n + c, 0));
  const rowCount = counts.reduce((n, c) => n + c, 0);
  const joined = (parts: ArithShare[]): ArithShare => (parts.length === 1 ? parts[0] : concatShares(parts));
  return {
    rowCount,
    read: async (start, end) => {
      const read = await Promise.all(
        names.map((_, j) =>
          Promise.all(
            shares.flatMap((share, k) => {
              const from = Math.max(start, firsts[k]);
              const to = Math.min(end, firsts[k] + counts[k]);
              return from < to ? [share.rows(at[j][k], from - firsts[k], to - firsts[k])] : [];
            }),
          ),
        ),
      );
      const values = new Map<string, ArithShare>();
      const valid = new Map<string, ArithShare>();
      names.forEach((name, j) => {
        values.set(name, joined(read[j].map((r) => ({ a: r.a, b: r.b }))));
        valid.set(name, joined(read[j].map((r) => ({ a: r.validA, b: r.validB }))));
      });
      return { values, valid };
    },
  };
}
