import { createHash } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Contract, type Log, type Signer } from "ethers";
import { loadArtifact } from "@scmpc/contracts";
import { schemaText, type SchemaColumn } from "@scmpc/mpc-engine";
import { TableInputError } from "@scmpc/tables";
import { datasetSchema, ownDataset } from "./dataset-policy.ts";
import { shareAndUpload, type UploadProgress } from "./seller.ts";
import { readSellerTable } from "./seller-table.ts";
import type { StackState } from "./state.ts";

// Versions and refresh (the curation job of the Enigma design): a seller
// shares a new file of a registered dataset to the hosts, then registers its
// commitments and row count as the dataset's next version. The schema (names,
// types, bounds, dictionaries) stays what buyers were shown; the privacy
// budget carries over. Requests already made keep the version they bought:
// the hosts compute them over it until their deadline has passed.

/** What {@link refreshDataset} registered. */
export interface RefreshedDataset {
  datasetId: string;
  /** `<seller>/<name>`. */
  address: string;
  /** The version now current (1 is the registration). */
  version: number;
  rowCount: number;
  previousRowCount: number;
  /** The new shares' commitments, host 0, 1, 2. */
  commitments: string[];
  /** Exact sums of the present values per numeric column, for the seller's own records. */
  plaintextSums: Record<string, string>;
  txHash: string;
}

/** A new version's file does not have the dataset's registered schema: what differs, column by column. */
export class SchemaChangedError extends Error {
  readonly code = "SCHEMA_CHANGED";
  constructor(
    readonly datasetId: string,
    readonly differences: string[],
  ) {
    super(`a new version of dataset ${datasetId} must keep its registered schema: ${differences.join("; ")}`);
    this.name = "SchemaChangedError";
  }
}

/** How a registered column is read again: its type, bounds and dictionary as declared, not inferred. */
function typeOf(column: SchemaColumn): string {
  if (column.type !== undefined) return column.type;
  return column.scale === 0 ? "int" : `decimal:${column.scale}`;
}

function describe(column: SchemaColumn): string {
  const dictionary = column.categories === undefined ? "" : ` {${column.categories.join(",")}}`;
  return `${typeOf(column)} ${column.lo}..${column.hi}${dictionary}`;
}

/** The differences between two schemas, one sentence per column; none when equal. */
export function schemaDifferences(registered: readonly SchemaColumn[], found: readonly SchemaColumn[]): string[] {
  const differences: string[] = [];
  const byName = new Map(found.map((c) => [c.name, c]));
  for (const column of registered) {
    const other = byName.get(column.name);
    if (other === undefined) differences.push(`column "${column.name}" is missing`);
    else if (describe(other) !== describe(column)) differences.push(`column "${column.name}" is ${describe(other)}, registered as ${describe(column)}`);
  }
  if (differences.length === 0 && schemaText(found) !== schemaText(registered)) differences.push("the columns are not in the registered order");
  return differences;
}

/**
 * Registers a new version of one of the seller's datasets from `file`: reads
 * it with the registered schema (the registered columns, their types, bounds
 * and dictionaries; other columns of the file are ignored), shares it to the
 * three hosts, and calls the registry's `refreshDataset` with the new
 * commitments and row count. `onShared` is told the commitments once every
 * host has stored its share, before the transaction.
 *
 * @throws SchemaChangedError when the file does not fit the registered schema (a column missing, other bounds)
 * @throws TableInputError naming file, line, column and value for a cell outside the registered bounds or dictionary
 * @example
 * const { version } = await refreshDataset({ state, seller, dataset: "salaries", file: "salaries-2027.csv" });
 */
export async function refreshDataset(options: {
  state: StackState;
  seller: Signer;
  dataset: string;
  file: string;
  progress?: (event: UploadProgress) => void;
  onShared?: (commitments: string[]) => Promise<void>;
}): Promise<RefreshedDataset> {
  const { state, seller, file } = options;
  const registry = new Contract(state.contracts.registry, loadArtifact("DatasetRegistry").abi, seller);
  const me = await seller.getAddress();
  const { id, dataset } = await ownDataset(registry, options.dataset, me);
  if ((dataset.stakeReleaseTime as bigint) !== 0n) throw new Error(`dataset ${id} is deregistered: it has no next version`);
  const { columns: registered } = await datasetSchema(registry, id, dataset.schemaHash);

  const declared = (pick: (c: SchemaColumn) => [string, unknown] | undefined) =>
    Object.fromEntries(registered.map(pick).filter((entry): entry is [string, unknown] => entry !== undefined));
  let table: Awaited<ReturnType<typeof readSellerTable>>;
  try {
    table = await readSellerTable(file, {
      columns: registered.map((c) => c.name),
      types: declared((c) => [c.name, typeOf(c)]) as Record<string, string>,
      categories: declared((c) => (c.categories === undefined ? undefined : [c.name, c.categories])) as Record<string, string[]>,
      bounds: declared((c) => (c.type === undefined || c.type === "date" ? [c.name, { lo: c.lo, hi: c.hi }] : undefined)) as Record<string, { lo: string; hi: string }>,
    });
  } catch (err) {
    // A registered column the file lacks is a change of schema, named as such.
    if (err instanceof TableInputError && err.details?.absentColumn) throw new SchemaChangedError(id, [`column "${err.details.column}" is missing from ${file}`]);
    throw err;
  }
  const found = table.columns.map((c) => c.schema);
  const differences = schemaDifferences(registered, found);
  if (differences.length > 0) throw new SchemaChangedError(id, differences);
  const minRows = Number(dataset.minRows);
  if (table.rowCount < minRows) throw new Error(`${file} has ${table.rowCount} rows but the dataset's policy requires at least ${minRows}`);
  options.progress?.({ stage: "read", rows: table.rowCount, columns: table.columns.length });

  const commitments = await shareAndUpload({
    state,
    seller,
    datasetId: id,
    name: dataset.name,
    columns: table.columns.map((c) => ({ ...c.schema, values: c.values, valid: c.valid })),
    progress: options.progress,
  });
  await options.onShared?.(commitments);
  const tx = await registry.refreshDataset(id, table.rowCount, commitments);
  options.progress?.({ stage: "registering", txHash: tx.hash });
  const receipt = await tx.wait();
  const event = (receipt.logs as Log[]).map((log) => registry.interface.parseLog(log)).find((parsed) => parsed?.name === "DatasetRefreshed");
  if (!event) throw new Error(`transaction ${tx.hash} emitted no DatasetRefreshed event`);
  return {
    datasetId: id,
    address: `${me}/${dataset.name}`,
    version: Number(event.args.version),
    rowCount: table.rowCount,
    previousRowCount: Number(event.args.previousRowCount),
    commitments,
    plaintextSums: Object.fromEntries(table.columns.filter((c) => c.kind !== "category").map((c) => [c.schema.name, c.plaintextSum])),
    txHash: tx.hash,
  };
}

/** One line of a curation job's log: what it did and when. */
export type CurationEvent =
  | { event: "refreshed"; at: string; datasetId: string; version: number; rowCount: number; previousRowCount: number; txHash: string }
  | { event: "unchanged"; at: string; datasetId: string; version: number; next: string }
  | { event: "waiting"; at: string; datasetId: string; next: string }
  | { event: "recovered"; at: string; datasetId: string; version: number }
  | { event: "failed"; at: string; datasetId: string; error: string; next: string };

/** What a curation job keeps between runs, in `<state dir>/curation/<dataset id>.json`. */
interface CurationRecord {
  account: string;
  datasetId: string;
  file: string;
  /** When the file was last looked at (unix ms): the next look is a period later, across restarts. */
  checkedAt: number;
  /** The file's SHA-256 when it was last registered, and the version it became. */
  fileSha256?: string;
  version?: number;
  /** Shares stored at the hosts whose registration was sent but not yet seen to land. */
  pending?: { fileSha256: string; commitments: string[] };
}

function recordFile(dir: string, datasetId: string): string {
  return path.join(dir, "curation", `${datasetId.toLowerCase()}.json`);
}

async function readRecord(file: string): Promise<CurationRecord | undefined> {
  try {
    return JSON.parse(await readFile(file, "utf8")) as CurationRecord;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new Error(`cannot read the curation record ${file}: ${(err as Error).message}`, { cause: err });
  }
}

/** Written whole to a temporary file, then renamed over the old one: a crash leaves one or the other. */
async function writeRecord(file: string, record: CurationRecord): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const temp = `${file}.tmp-${process.pid}`;
  await writeFile(temp, `${JSON.stringify(record, null, 2)}\n`);
  await rename(temp, file);
}

/**
 * The curation job: every `everyS` seconds reads `file` and, when its
 * content changed since the version it last registered, registers it as
 * the dataset's next version ({@link refreshDataset}); logs each step with
 * `log`. Restart-safe: what it did is kept in the state directory, so a
 * restarted job waits out the period it was in, does not register the same
 * file twice, and settles a registration sent just before it stopped (seen
 * on-chain: recorded; not: the file is shared again, the hosts drop the
 * unregistered shares). A failed refresh (a host down, a file not fitting
 * the schema) is logged and tried again at the next period. Runs until
 * `signal` aborts, finishing the step in progress.
 *
 * @example
 * await curate({ state, seller, dir, dataset: "salaries", file: "salaries.csv", everyS: 3600, log: (e) => console.log(JSON.stringify(e)), signal });
 */
export async function curate(options: {
  state: StackState;
  seller: Signer;
  /** The state directory, where the job keeps its record. */
  dir: string;
  dataset: string;
  file: string;
  everyS: number;
  log: (event: CurationEvent) => void;
  signal: AbortSignal;
}): Promise<void> {
  const { state, seller, file, everyS, log, signal } = options;
  const registry = new Contract(state.contracts.registry, loadArtifact("DatasetRegistry").abi, seller);
  const me = await seller.getAddress();
  const { id } = await ownDataset(registry, options.dataset, me);
  const where = recordFile(options.dir, id);
  const now = () => new Date().toISOString();
  let record: CurationRecord = (await readRecord(where)) ?? { account: me, datasetId: id, file: path.resolve(file), checkedAt: 0 };

  /** Settles a registration sent but not seen to land (the job stopped, or the wait for it failed): the chain says whether it did. */
  const settle = async (): Promise<void> => {
    const pending = record.pending;
    if (pending === undefined) return;
    const current = ((await registry.getDataset(id)).commitments as string[]).map((c) => c.toLowerCase());
    const landed = current.every((c, h) => c === pending.commitments[h].toLowerCase());
    record = landed ? { ...record, fileSha256: pending.fileSha256, version: Number(await registry.versionOf(id)), pending: undefined } : { ...record, pending: undefined };
    await writeRecord(where, record);
    if (landed) log({ event: "recovered", at: now(), datasetId: id, version: record.version! });
  };
  await settle();

  let first = true;
  while (!signal.aborted) {
    const due = record.checkedAt + everyS * 1000;
    if (due > Date.now()) {
      // Every other step already said when the next look is; a restarted job says it once.
      if (first) log({ event: "waiting", at: now(), datasetId: id, next: new Date(due).toISOString() });
      first = false;
      try {
        await sleep(due - Date.now(), undefined, { signal });
      } catch {
        break;
      }
    }
    first = false;
    const checkedAt = Date.now();
    const next = new Date(checkedAt + everyS * 1000).toISOString();
    try {
      const fileSha256 = createHash("sha256").update(await readFile(file)).digest("hex");
      if (fileSha256 === record.fileSha256) {
        record = { ...record, checkedAt };
        await writeRecord(where, record);
        log({ event: "unchanged", at: now(), datasetId: id, version: record.version ?? Number(await registry.versionOf(id)), next });
        continue;
      }
      const done = await refreshDataset({
        state,
        seller,
        dataset: id,
        file,
        onShared: async (commitments) => {
          record = { ...record, pending: { fileSha256, commitments } };
          await writeRecord(where, record);
        },
      });
      record = { ...record, checkedAt, fileSha256, version: done.version, pending: undefined };
      await writeRecord(where, record);
      log({ event: "refreshed", at: now(), datasetId: id, version: done.version, rowCount: done.rowCount, previousRowCount: done.previousRowCount, txHash: done.txHash });
    } catch (err) {
      log({ event: "failed", at: now(), datasetId: id, error: (err as Error).message, next });
      record = { ...record, checkedAt };
      await writeRecord(where, record).catch(() => undefined);
      await settle().catch(() => undefined);
    }
  }
}

/** A curation event as one line for a person. */
export function curationLine(e: CurationEvent): string {
  switch (e.event) {
    case "refreshed":
      return `${e.at} ${e.datasetId}: version ${e.version} registered (${e.rowCount} rows, was ${e.previousRowCount}), transaction ${e.txHash}`;
    case "unchanged":
      return `${e.at} ${e.datasetId}: file unchanged since version ${e.version}; next look at ${e.next}`;
    case "waiting":
      return `${e.at} ${e.datasetId}: next look at ${e.next}`;
    case "recovered":
      return `${e.at} ${e.datasetId}: the registration sent before the last stop landed as version ${e.version}`;
    case "failed":
      return `${e.at} ${e.datasetId}: refresh failed: ${e.error}; next try at ${e.next}`;
  }
}
