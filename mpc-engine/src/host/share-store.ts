import { randomBytes } from "node:crypto";
import { access, mkdir, open, readFile, readdir, rename, rm, stat, type FileHandle } from "node:fs/promises";
import { dirname, join } from "node:path";
import { MpcError } from "../errors.ts";
import type { SchemaType } from "../algorithms/plan.ts";
import {
  COMMITMENT_CHUNK_BYTES,
  ChunkDigester,
  chunkDigests,
  SHARE_DOMAIN,
  SHARE_DOMAIN_V3,
  SHARE_DOMAIN_V5,
  ringVectorView,
  shareCommitment,
  shareCommitmentOfDigests,
  shareCommitmentV3,
  shareCommitmentV5,
  seededColumns,
  type ColumnShareBytes,
  type SeededVector,
  type ShareDigestInput,
  type VectorDigests,
} from "../share-encoding.ts";
import { SHARE_SEED_BYTES, expandShareSeed, expandShareSeedRows } from "../share-seeds.ts";

/** A host's stored share of one version of a dataset, with the seller's upload authorisation. */
export interface StoredShare {
  /** 0x-prefixed lowercase bytes32. */
  datasetId: string;
  seller: string;
  name: string;
  hostIndex: number;
  rowCount: bigint;
  /** 0x-prefixed keccak256 of the canonical share encoding: names the version. */
  commitment: string;
  /** Seller's EIP-191 signature over the upload digest. */
  signature: string;
  /**
   * The share encoding the commitment is over when it is v5 (absent: v4, or
   * v3 for a file that names none). Under v5 the sides in `seeds` are drawn
   * from them: the file holds the seeds, not those vectors, and they are
   * drawn when the share is loaded or its rows read.
   */
  encoding?: typeof SHARE_DOMAIN_V5;
  /** v5: the seed every column's `a` and `validA` are drawn from, and likewise `b` and `validB`; a side sent has none. */
  seeds?: { a?: Uint8Array; b?: Uint8Array };
  /** Every column's four vectors, whole (a seeded side drawn; {@link ShareStore.put} does not read a seeded side's bytes). */
  columns: ColumnShareBytes[];
}

/** A stored share without its vectors: what {@link ShareStore.putStream} is told before they arrive. */
export interface StoredShareHeader extends Omit<StoredShare, "columns"> {
  columns: Array<Omit<ColumnShareBytes, "a" | "b" | "validA" | "validB">>;
}

/** A share's header: the share without its vectors. */
export function shareHeaderOf<S extends Omit<StoredShare, "columns"> & { columns: readonly ColumnShareBytes[] }>(share: S): Omit<S, "columns"> & Pick<StoredShareHeader, "columns"> {
  const { columns, ...fields } = share;
  return { ...fields, columns: columns.map(({ a: _a, b: _b, validA: _validA, validB: _validB, ...schema }) => schema) };
}

/** Rows of one column of a stored share: its four ring vectors over those rows. */
export interface ColumnRows {
  a: BigUint64Array;
  b: BigUint64Array;
  validA: BigUint64Array;
  validB: BigUint64Array;
}

/**
 * A stored version opened for a job ({@link ShareStore.open}): its header,
 * and rows of its columns on demand. A share that fits the memory for shares
 * is loaded and checked whole, and rows are views of it; a larger one stays
 * on disk, its commitment checked over its chunk digests when opened, and
 * each read checks every chunk it reads against them, so a job holds only
 * the rows it works on.
 */
export interface ShareReader {
  header: StoredShareHeader;
  /** Whether the vectors are held in memory (rows are views) or read from disk on each call. */
  inMemory: boolean;
  /**
   * Rows [start, end) of the column at `column` (its index in the header).
   *
   * @throws MpcError `INVALID_ARGUMENT` for rows or a column the share has not; `STORE_CORRUPT` when a chunk read is not the one committed to; `STORE_IO`
   */
  rows(column: number, start: number, end: number): Promise<ColumnRows>;
}

/** A share's vectors as its commitment sees them: per column, the chunk digests of a, b, validA and validB (under v5, a seeded one as its seed). */
export type ShareDigests = ReadonlyArray<Omit<ShareDigestInput["columns"][number], Part> & Record<Part, VectorDigests | SeededVector>>;

type Part = "a" | "b" | "validA" | "validB";
const PARTS = ["a", "b", "validA", "validB"] as const;

/** The seed a component of a stored share is drawn from (v5), if it is. */
function seedOfPart(header: Pick<StoredShareHeader, "encoding" | "seeds">, part: Part): Uint8Array | undefined {
  if (header.encoding !== SHARE_DOMAIN_V5) return undefined;
  return part === "a" || part === "validA" ? header.seeds?.a : header.seeds?.b;
}

/** The components of each column a share file holds, in order: all four, but for the seeded ones of a v5 share. */
function storedParts(header: Pick<StoredShareHeader, "encoding" | "seeds">): Part[] {
  return PARTS.filter((part) => seedOfPart(header, part) === undefined);
}

/** Outcome of {@link ShareStore.put}. */
export interface PutResult {
  /** False when the identical share (same dataset and commitment) was already stored. */
  created: boolean;
}

/**
 * Durable storage of this host's own shares, one per dataset version: a
 * version is named by its commitment. A refreshed dataset has several
 * versions side by side, because a pending request is computed over the
 * version it paid for; the sweeper drops the superseded ones.
 */
export interface ShareStore {
  /**
   * Stores a share durably (temp file, fsync, rename, fsync directory) and
   * resolves only afterwards. Idempotent per (datasetId, commitment); another
   * commitment of the same dataset is another version, stored beside it.
   *
   * @throws MpcError `WRONG_HOST`, `INVALID_ARGUMENT`, `STORE_CORRUPT` (the
   *   version already stored is damaged) or `STORE_IO`
   */
  put(share: StoredShare): Promise<PutResult>;
  /**
   * Stores a share whose vectors arrive as a stream, without holding it:
   * `header` is the share without its vectors; `write` is given a sink and
   * must pass it every vector's bytes in the share's order (per column a, b,
   * validA, validB), then resolve. Durable as {@link put} once it resolves;
   * if `write` throws, or passes another number of bytes than the share has,
   * nothing is kept. When the version is already stored, `write` is not
   * called (`created` false). A share that fits the memory for shares is
   * kept there once stored, as {@link put} keeps it.
   *
   * `write` may resolve with the share's chunk digests it checked the
   * commitment over: a share too large for memory is then opened for jobs
   * without digesting its file first.
   *
   * @throws MpcError `WRONG_HOST`, `INVALID_ARGUMENT`, `STORE_IO`, or what `write` throws
   */
  putStream(header: StoredShareHeader, write: (sink: (bytes: Uint8Array) => Promise<void>) => Promise<ShareDigests | void>): Promise<PutResult>;
  /**
   * Loads a version and re-checks its commitment (detects on-disk corruption).
   * With a commitment: that version, undefined if not held. Without: the most
   * recently stored version, undefined if there is none or its file is gone
   * (an older version is not offered in its place).
   *
   * @throws MpcError `INVALID_ARGUMENT`, `STORE_CORRUPT` or `STORE_IO`
   */
  get(datasetId: string, commitment?: string): Promise<StoredShare | undefined>;
  /**
   * Opens a version for a job, as {@link get} finds it, without loading more
   * than fits the memory for shares (see {@link ShareReader}).
   *
   * @throws MpcError `INVALID_ARGUMENT`, `STORE_CORRUPT` or `STORE_IO`
   */
  open(datasetId: string, commitment?: string): Promise<ShareReader | undefined>;
  /** What the store holds, one entry per version: who uploaded it, its size, when, and what the chain was seen to say of it. */
  usage(): Promise<StoredUsage[]>;
  /**
   * Records, durably, that the chain lists the version as its dataset's
   * current one for this host: it is kept, and a superseded mark (the seller
   * went back to it) is cleared.
   */
  markRegistered(datasetId: string, commitment: string): Promise<void>;
  /**
   * Records, durably, when (unix ms) the host first saw the version replaced
   * on-chain by a refresh. The first call wins: later ones keep that time.
   */
  markSuperseded(datasetId: string, commitment: string, at: number): Promise<void>;
  /** Deletes a version (one never registered on-chain in time, or superseded long enough ago). */
  remove(datasetId: string, commitment: string): Promise<void>;
}

/** One stored version, as {@link ShareStore.usage} reports it. */
export interface StoredUsage {
  datasetId: string;
  /** The seller's address, as the signature recovered it. */
  seller: string;
  /** 0x-prefixed lowercase; names the version. */
  commitment: string;
  /** Bytes of the share's columns: value and validity components. */
  bytes: number;
  /** When it was stored (unix ms). */
  storedAt: number;
  /** Whether the chain was seen listing it as its dataset's current version. */
  registered: boolean;
  /** When (unix ms) the host first saw a refresh replace it on-chain; absent while it is current or not registered. */
  supersededAt?: number;
}

// SCMPCSH2: per column a, b, validA, validB, and the column's type and
// dictionary in the header; the header's `encoding` names the share encoding
// the commitment is over (absent in files written under v3, which still
// verify against their v3 commitment). SCMPCSH1 (a and b only) files still
// count in the store's usage while on disk but no longer load: they cannot
// match a v3 or v4 commitment.
const MAGIC = Buffer.from("SCMPCSH2", "ascii");
const MAGIC_V1 = Buffer.from("SCMPCSH1", "ascii");
/** Ring vectors stored per column: a, b, validA, validB. */
const COMPONENTS = 4;
/** Default memory for verified shares kept between jobs: 512 MiB (16M rows of one column: values and validity, both components). */
const DEFAULT_CACHE_BYTES = 1 << 29;
/** Largest image kept ready for a streamed upload (see `imageOf` in {@link createShareStore}). */
const IMAGE_RESERVE_MAX_BYTES = 64 << 20;
/** Room a ready image leaves for a longer file header than the upload it was sized by. */
const IMAGE_RESERVE_SLACK_BYTES = 64 << 10;
const DATASET_ID = /^0x[0-9a-f]{64}$/;
const COMMITMENT = /^0x[0-9a-f]{64}$/;
/** `<datasetId>.<commitment hex>.share`: one version. */
const VERSION_FILE = /^(0x[0-9a-f]{64})\.([0-9a-f]{64})\.share$/;
/** `<datasetId>.share`: the layout of one file per dataset, migrated on opening. */
const LEGACY_FILE = /^(0x[0-9a-f]{64})\.share$/;

interface FileHeader {
  datasetId: string;
  seller: string;
  name: string;
  hostIndex: number;
  rowCount: string;
  commitment: string;
  signature: string;
  /** The share encoding its commitment is over: "scmpc-share-v4" or "-v5"; absent in files written under v3. */
  encoding?: string;
  /** v5: the sides drawn from seeds, each seed in hex; their vectors are not in the file. */
  seeds?: { a?: string; b?: string };
  /** Each column's name, scale, public bounds, type and dictionary (part of the commitment, so of the on-chain schema). */
  columns: Array<{ name: string; scale: number; lo: string; hi: string; type?: SchemaType; categories?: string[] }>;
}

/** Bytes of a share's columns: values and validity, both components each. */
function shareBytes(share: StoredShare): number {
  return share.columns.reduce((n, c) => n + c.a.length + c.b.length + c.validA.length + c.validB.length, 0);
}

/** A version's file stem, `<datasetId>.<commitment hex without 0x>`, checked and lowercased. */
function versionStem(datasetId: string, commitment: string): string {
  const id = datasetId.toLowerCase();
  const c = commitment.toLowerCase();
  if (!DATASET_ID.test(id)) throw new MpcError("INVALID_ARGUMENT", "datasetId must be a 0x-prefixed bytes32 hex string");
  if (!COMMITMENT.test(c)) throw new MpcError("INVALID_ARGUMENT", "commitment must be a 0x-prefixed bytes32 hex string");
  return `${id}.${c.slice(2)}`;
}

/**
 * Opens the share store under `<dataDir>/datasets`, one file per dataset
 * version, `<datasetId>.<commitment hex>.share`:
 * `SCMPCSH2 | u32 headerLength | header JSON | per column a, b, validA, validB`
 * (each rowCount little-endian u64). Beside it, `<stem>.registered` (empty)
 * once the chain listed the version, and `<stem>.superseded` (decimal unix ms)
 * once a refresh replaced it. Files of the one-file-per-dataset layout
 * (`<datasetId>.share`, `<datasetId>.registered`) are renamed into this one
 * when the store is first read.
 *
 * @example
 * const store = createShareStore({ dataDir: "/var/lib/scmpc", hostIndex: 0 });
 * await store.put(share);
 * const pinned = await store.get(datasetId, commitment);
 */
export function createShareStore(options: { dataDir: string; hostIndex: number; cacheBytes?: number }): ShareStore {
  const dir = join(options.dataDir, "datasets");
  const locks = new Map<string, Promise<unknown>>();
  // A stored version never changes (its name is its commitment), so verified
  // shares can stay in memory: jobs then skip the disk read and the
  // commitment re-check. Least recently used go first past the budget.
  const cacheBudget = options.cacheBytes ?? DEFAULT_CACHE_BYTES;
  const cache = new Map<string, { share: StoredShare; bytes: number }>();
  let cached = 0;
  const remember = (stem: string, share: StoredShare): void => {
    const bytes = shareBytes(share);
    if (bytes > cacheBudget || cache.has(stem)) return;
    cache.set(stem, { share, bytes });
    cached += bytes;
    for (const [oldest, entry] of cache) {
      if (cached <= cacheBudget) break;
      cache.delete(oldest);
      cached -= entry.bytes;
    }
  };
  // v5 shares being drawn into memory after their upload was answered.
  const warming = new Map<string, NodeJS.Immediate>();
  // Memory for the next streamed upload's image, written through once so that its pages are mapped: memory a
  // process touches for the first time can cost more than the copy into it (about 2.3 ms of system time per
  // MiB on the benchmark's 2-core virtual machine), and an upload would pay that while it receives. It is
  // prepared after an upload is stored, the size of that upload's image with room for a longer header, up to
  // IMAGE_RESERVE_MAX_BYTES, and serves one upload.
  let reserve: Buffer | undefined;
  let reserving: NodeJS.Immediate | undefined;
  const imageOf = (bytes: number): Buffer => {
    if (reserve === undefined || reserve.length < bytes || reserve.length > bytes + IMAGE_RESERVE_SLACK_BYTES) return Buffer.allocUnsafeSlow(bytes);
    const image = reserve.subarray(0, bytes);
    reserve = undefined;
    return image;
  };
  const reserveImage = (bytes: number): void => {
    const size = bytes + IMAGE_RESERVE_SLACK_BYTES;
    if (size > Math.min(IMAGE_RESERVE_MAX_BYTES, cacheBudget) || reserve?.length === size) return;
    clearImmediate(reserving);
    reserving = setImmediate(() => {
      reserving = undefined;
      // The one it replaces may be collected while this one is made.
      reserve = undefined;
      reserve = Buffer.allocUnsafeSlow(size).fill(0);
    });
  };
  const forget = (stem: string): void => {
    clearImmediate(warming.get(stem));
    warming.delete(stem);
    readers.delete(stem);
    digestsOf.delete(stem);
    const hit = cache.get(stem);
    if (hit === undefined) return;
    cache.delete(stem);
    cached -= hit.bytes;
  };
  const loading = new Map<string, Promise<StoredShare | undefined>>();
  // Shares too large for memory, opened on disk: their header and checked chunk digests.
  const readers = new Map<string, Promise<ShareReader | undefined>>();
  // Chunk digests a streamed upload checked its commitment over, for its first opening.
  const digestsOf = new Map<string, ShareDigests>();
  let ready: Promise<void> | undefined;

  const pathOf = (stem: string, suffix: ".share" | ".registered" | ".superseded"): string => join(dir, `${stem}${suffix}`);

  /**
   * Renames the files of the one-file-per-dataset layout to their version's
   * names (the commitment from the header), the marker first: a crash in
   * between leaves the legacy share, migrated on the next opening, next to
   * its marker already renamed. Says whether it renamed anything.
   */
  const migrateLegacy = async (): Promise<boolean> => {
    let renamed = false;
    for (const name of await readdir(dir)) {
      const id = LEGACY_FILE.exec(name)?.[1];
      if (id === undefined) continue;
      const { header } = await readHeader(join(dir, name));
      const commitment = String(header.commitment).toLowerCase();
      if (!COMMITMENT.test(commitment)) throw new Error(`${name} names no commitment in its header`);
      const stem = versionStem(id, commitment);
      await rename(join(dir, `${id}.registered`), pathOf(stem, ".registered")).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== "ENOENT") throw err;
      });
      await rename(join(dir, name), pathOf(stem, ".share"));
      renamed = true;
    }
    return renamed;
  };

  // Before the first read or write: every version must be under its own name
  // before any is looked up (a legacy share not found would read as lost).
  const ensureDir = (): Promise<void> =>
    (ready ??= (async () => {
      await mkdir(dir, { recursive: true });
      // Temp files left by a crash mid-write were never acknowledged: drop them.
      for (const entry of await readdir(dir)) if (entry.includes(".tmp-")) await rm(join(dir, entry), { force: true });
      // A host upgraded over a data directory of the earlier layout loses nothing.
      if (await migrateLegacy()) await syncDir(dir);
    })().catch((cause: unknown) => {
      ready = undefined;
      throw new MpcError("STORE_IO", `cannot prepare share store directory ${dir}`, { cause });
    }));

  // Sizes, owners and marks of the stored versions, keyed by stem, read from
  // the file headers and markers once and kept up to date.
  let index: Promise<Map<string, StoredUsage>> | undefined;
  const readIndex = (): Promise<Map<string, StoredUsage>> =>
    (index ??= (async () => {
      await ensureDir();
      const entries = new Map<string, StoredUsage>();
      const names = new Set(await readdir(dir));
      for (const name of names) {
        const match = VERSION_FILE.exec(name);
        if (match === null) continue;
        const stem = `${match[1]}.${match[2]}`;
        const file = join(dir, name);
        const [{ header, components }, info] = await Promise.all([readHeader(file), stat(file)]);
        const bytes = header.columns.length * components * Number(header.rowCount) * 8;
        const entry: StoredUsage = {
          datasetId: match[1],
          seller: header.seller,
          commitment: `0x${match[2]}`,
          bytes,
          storedAt: info.mtimeMs,
          registered: names.has(`${stem}.registered`),
        };
        if (names.has(`${stem}.superseded`)) entry.supersededAt = await readSupersededAt(pathOf(stem, ".superseded"));
        entries.set(stem, entry);
      }
      return entries;
    })().catch((cause: unknown) => {
      index = undefined;
      throw new MpcError("STORE_IO", `cannot read the share store index in ${dir}`, { cause });
    }));

  // Serialise writers per version so check-then-write is atomic within the process.
  const withLock = async <T>(key: string, fn: () => Promise<T>): Promise<T> => {
    const previous = locks.get(key) ?? Promise.resolve();
    const run = previous.then(fn, fn);
    const tail = run.catch(() => undefined);
    locks.set(key, tail);
    try {
      return await run;
    } finally {
      if (locks.get(key) === tail) locks.delete(key);
    }
  };

  const getVersion = async (datasetId: string, commitment: string): Promise<StoredShare | undefined> => {
    const stem = versionStem(datasetId, commitment);
    const file = pathOf(stem, ".share");
    const hit = cache.get(stem);
    if (hit) {
      cache.delete(stem);
      // A share gone from the disk is gone: the memory copy must not hide the loss
      // (the host would otherwise compute until it restarts, then not).
      if (!(await exists(file))) {
        cached -= hit.bytes;
        return undefined;
      }
      // Refresh its place in the least-recently-used order.
      cache.set(stem, hit);
      return hit.share;
    }
    // Jobs asking for one version at once share one read and one check (and one copy in memory).
    const inFlight = loading.get(stem);
    if (inFlight !== undefined) return inFlight;
    const load = (async () => {
      await ensureDir();
      let bytes: Buffer;
      try {
        bytes = await readFile(file);
      } catch (cause) {
        if ((cause as NodeJS.ErrnoException).code === "ENOENT") return undefined;
        throw new MpcError("STORE_IO", `cannot read share of dataset ${datasetId} version ${commitment}`, { cause });
      }
      const share = decodeFile(bytes, datasetId.toLowerCase(), commitment.toLowerCase());
      remember(stem, share);
      return share;
    })().finally(() => loading.delete(stem));
    loading.set(stem, load);
    return load;
  };

  /** The commitment a lookup without one means: the most recently stored version's. */
  const latestCommitment = async (datasetId: string): Promise<string | undefined> => {
    const id = datasetId.toLowerCase();
    if (!DATASET_ID.test(id)) throw new MpcError("INVALID_ARGUMENT", "datasetId must be a 0x-prefixed bytes32 hex string");
    let latest: StoredUsage | undefined;
    // Later entries win ties: the index lists versions in the order they were stored.
    for (const entry of (await readIndex()).values()) {
      if (entry.datasetId === id && (latest === undefined || entry.storedAt >= latest.storedAt)) latest = entry;
    }
    return latest?.commitment;
  };

  const get = async (datasetId: string, commitment?: string): Promise<StoredShare | undefined> => {
    const version = commitment ?? (await latestCommitment(datasetId));
    return version === undefined ? undefined : getVersion(datasetId, version);
  };

  const open = async (datasetId: string, commitment?: string): Promise<ShareReader | undefined> => {
    const version = commitment ?? (await latestCommitment(datasetId));
    if (version === undefined) return undefined;
    const stem = versionStem(datasetId, version);
    const file = pathOf(stem, ".share");
    if (!cache.has(stem)) {
      await ensureDir();
      let size: number;
      try {
        size = (await stat(file)).size;
      } catch (cause) {
        if ((cause as NodeJS.ErrnoException).code === "ENOENT") return undefined;
        throw new MpcError("STORE_IO", `cannot read share of dataset ${datasetId} version ${version}`, { cause });
      }
      // A v5 file holds seeds in place of vectors: the share in memory is its size with them drawn.
      size = Math.max(size, (await readIndex()).get(stem)?.bytes ?? 0);
      if (size > cacheBudget) {
        let reader = readers.get(stem);
        if (reader === undefined) {
          reader = openOnDisk(file, datasetId.toLowerCase(), version.toLowerCase(), digestsOf.get(stem));
          readers.set(stem, reader);
          reader.catch(() => readers.delete(stem));
        }
        const opened = await reader;
        if (opened !== undefined) return opened;
        // A file of the v3 encoding has no chunk digests to check rows by: it is loaded whole.
      }
    }
    const share = await getVersion(datasetId, version);
    return share === undefined ? undefined : readerOfMemory(share);
  };

  /**
   * The steps every stored version takes, under its lock: the marks of an
   * earlier copy cleared, the file written durably by `writeFile`, the index
   * told. `stored` says whether the version is already held.
   */
  const storeVersion = async (
    header: StoredShareHeader,
    stored: (stem: string) => Promise<boolean>,
    writeFile: (stem: string) => Promise<void>,
  ): Promise<PutResult> => {
    if (header.hostIndex !== options.hostIndex) {
      throw new MpcError("WRONG_HOST", `this is host ${options.hostIndex}; it stores only its own share, not host ${header.hostIndex}'s`, {
        details: { hostIndex: options.hostIndex, requested: header.hostIndex },
      });
    }
    const stem = versionStem(header.datasetId, header.commitment);
    return withLock(stem, async () => {
      if (await stored(stem)) return { created: false };
      const entries = await readIndex();
      // Whatever marks an earlier copy of this version had (one lost from the
      // disk, or a crash between a removal's steps) are not this upload's.
      try {
        await rm(pathOf(stem, ".registered"), { force: true });
        await rm(pathOf(stem, ".superseded"), { force: true });
      } catch (cause) {
        throw new MpcError("STORE_IO", `cannot clear the marks of dataset ${header.datasetId} version ${header.commitment}`, { cause });
      }
      await writeFile(stem);
      entries.delete(stem);
      entries.set(stem, {
        datasetId: header.datasetId.toLowerCase(),
        seller: header.seller,
        commitment: header.commitment.toLowerCase(),
        bytes: header.columns.length * COMPONENTS * Number(header.rowCount) * 8,
        storedAt: Date.now(),
        registered: false,
      });
      return { created: true };
    });
  };

  const put = (share: StoredShare): Promise<PutResult> =>
    storeVersion(
      share,
      async () => (await getVersion(share.datasetId, share.commitment)) !== undefined,
      async (stem) => {
        const file = encodeFile(share);
        await writeDurably(dir, pathOf(stem, ".share"), file);
        // Kept as views of the file's bytes (word-aligned), not of the upload's buffers.
        remember(stem, parseFile(file, share.datasetId.toLowerCase(), share.commitment.toLowerCase()).share);
      },
    );

  const putStream = (header: StoredShareHeader, write: (sink: (bytes: Uint8Array) => Promise<void>) => Promise<ShareDigests | void>): Promise<PutResult> => {
    const vectorBytes = header.columns.length * storedParts(header).length * Number(header.rowCount) * 8;
    return storeVersion(
      header,
      // Held when indexed and on disk (it was checked when stored); not loaded to find out.
      async (stem) => (await readIndex()).has(stem) && (await exists(pathOf(stem, ".share"))),
      async (stem) => {
        const head = encodeFileHeader(header);
        // A share that fits the memory for shares is also copied, as it is written, into an image of its file:
        // once stored (and its commitment checked over these very bytes) it is kept as a whole upload's is.
        const image = head.length + header.columns.length * COMPONENTS * Number(header.rowCount) * 8 <= cacheBudget ? imageOf(head.length + vectorBytes) : undefined;
        let digests: ShareDigests | undefined;
        image?.set(head);
        await writeDurablyWith(dir, pathOf(stem, ".share"), async (handle) => {
          await handle.write(head, 0, head.length, 0);
          let position = head.length;
          const flusher = writeBehind(handle);
          try {
            digests = (await write(async (bytes) => {
              if (position + bytes.length > head.length + vectorBytes) {
                throw new MpcError("INVALID_ARGUMENT", `the share's vectors come to more than their ${vectorBytes} bytes`);
              }
              try {
                await handle.write(bytes, 0, bytes.length, position);
              } catch (cause) {
                throw new MpcError("STORE_IO", `cannot write share of dataset ${header.datasetId} version ${header.commitment}`, { cause });
              }
              flusher.wrote(bytes.length);
              image?.set(bytes, position);
              position += bytes.length;
            })) ?? undefined;
          } catch (cause) {
            await flusher.settle().catch(() => undefined);
            // The writer's own failure (a refused or broken upload) is its to report, not the store's.
            throw new WriterFailed(cause);
          }
          // A flush that failed fails the write: the final sync might not report that error again.
          await flusher.settle();
          if (position !== head.length + vectorBytes) {
            throw new MpcError("INVALID_ARGUMENT", `the share's vectors came to ${position - head.length} bytes; ${vectorBytes} expected`);
          }
        });
        if (image === undefined) {
          if (digests !== undefined) digestsOf.set(stem, digests);
          return;
        }
        reserveImage(image.length);
        if (header.seeds === undefined) {
          remember(stem, parseFile(image, header.datasetId.toLowerCase(), header.commitment.toLowerCase()).share);
        } else {
          // A v5 share's seeded vectors are drawn into memory once the upload is answered: the seller need not
          // wait for a copy jobs may read later. Should the drawing fail, no copy is kept: a job loads (and
          // checks) the file itself, as one that comes first does.
          const timer = setImmediate(() => {
            warming.delete(stem);
            try {
              remember(stem, parseFile(image, header.datasetId.toLowerCase(), header.commitment.toLowerCase()).share);
            } catch {
              // Nothing kept in memory; the durable file is unaffected.
            }
          });
          warming.set(stem, timer);
        }
      },
    );
  };

  const markRegistered = async (datasetId: string, commitment: string): Promise<void> => {
    const stem = versionStem(datasetId, commitment);
    return withLock(stem, async () => {
      const entry = (await readIndex()).get(stem);
      if (entry === undefined) return;
      if (!entry.registered) {
        await writeDurably(dir, pathOf(stem, ".registered"), Buffer.alloc(0));
        entry.registered = true;
      }
      if (entry.supersededAt !== undefined) {
        await removeDurably(pathOf(stem, ".superseded"));
        delete entry.supersededAt;
      }
    });
  };

  const markSuperseded = async (datasetId: string, commitment: string, at: number): Promise<void> => {
    const stem = versionStem(datasetId, commitment);
    if (!Number.isSafeInteger(at) || at < 0) throw new MpcError("INVALID_ARGUMENT", `superseded time must be unix milliseconds, got ${at}`);
    return withLock(stem, async () => {
      const entry = (await readIndex()).get(stem);
      if (entry === undefined || entry.supersededAt !== undefined) return;
      await writeDurably(dir, pathOf(stem, ".superseded"), Buffer.from(String(at), "ascii"));
      entry.supersededAt = at;
    });
  };

  const remove = async (datasetId: string, commitment: string): Promise<void> => {
    const stem = versionStem(datasetId, commitment);
    return withLock(stem, async () => {
      forget(stem);
      (await readIndex()).delete(stem);
      // Markers first: a crash in between leaves an unmarked share, which the
      // sweeper treats as a fresh upload, never a marker that outlives its share.
      try {
        await rm(pathOf(stem, ".registered"), { force: true });
        await rm(pathOf(stem, ".superseded"), { force: true });
        await rm(pathOf(stem, ".share"), { force: true });
      } catch (cause) {
        throw new MpcError("STORE_IO", `cannot delete share of dataset ${datasetId} version ${commitment}`, { cause });
      }
    });
  };

  return { put, putStream, get, open, usage: async () => [...(await readIndex()).values()], markRegistered, markSuperseded, remove };
}

/** A share held in memory as a {@link ShareReader}: rows are views of its vectors. */
function readerOfMemory(share: StoredShare): ShareReader {
  const { columns } = share;
  const header: StoredShareHeader = shareHeaderOf(share);
  const views: ColumnRows[] = [];
  return {
    header,
    inMemory: true,
    rows: async (column, start, end) => {
      checkRows(header, column, start, end);
      // Views once per column (a word-aligned file image gives them without a copy).
      const c = columns[column];
      const whole = (views[column] ??= { a: ringVectorView(c.a), b: ringVectorView(c.b), validA: ringVectorView(c.validA), validB: ringVectorView(c.validB) });
      return { a: whole.a.subarray(start, end), b: whole.b.subarray(start, end), validA: whole.validA.subarray(start, end), validB: whole.validB.subarray(start, end) };
    },
  };
}

function checkRows(header: StoredShareHeader, column: number, start: number, end: number): void {
  if (!Number.isInteger(column) || column < 0 || column >= header.columns.length) {
    throw new MpcError("INVALID_ARGUMENT", `dataset ${header.datasetId} has no column at index ${column}`);
  }
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || end < start || end > Number(header.rowCount)) {
    throw new MpcError("INVALID_ARGUMENT", `rows ${start}..${end} are not within the ${header.rowCount} rows of dataset ${header.datasetId}`);
  }
}

/** Bytes read from a share file at once while digesting it. */
const DIGEST_READ_BYTES = 8 * COMMITMENT_CHUNK_BYTES;

/**
 * Opens a v4 or v5 share file too large for memory: its header is read, its
 * chunk digests taken from `known` (what its upload checked) or computed by
 * reading it once, and the commitment its name gives checked over them.
 * Reads then check each chunk they touch against its digest; a v5 share's
 * seeded vectors are drawn from their seeds for the rows read. Undefined for
 * a file of the v3 encoding (its commitment is over the bytes, not chunk
 * digests).
 */
async function openOnDisk(file: string, datasetId: string, commitment: string, known: ShareDigests | undefined): Promise<ShareReader | undefined> {
  const corrupt = (why: string, cause?: unknown): MpcError => corruptShare(datasetId, commitment, why, cause);
  const { header: fileHeader, components, vectorsAt: start } = await readHeader(file).catch((cause: unknown) => {
    throw (cause as NodeJS.ErrnoException).code === undefined ? corrupt("unreadable header", cause) : new MpcError("STORE_IO", `cannot read ${file}`, { cause });
  });
  if (components !== COMPONENTS) throw corrupt("stored in the SCMPCSH1 format, without validity shares; its seller must share the table again as a new dataset");
  if (fileHeader.encoding !== SHARE_DOMAIN && fileHeader.encoding !== SHARE_DOMAIN_V5) return undefined;
  const header = headerOfFile(fileHeader, corrupt);
  if (header.datasetId !== datasetId || header.commitment !== commitment) throw corrupt(`it holds dataset ${header.datasetId} version ${header.commitment}`);
  const vectorBytes = Number(header.rowCount) * 8;
  const stored = storedParts(header);
  const fileBytes = start + header.columns.length * stored.length * vectorBytes;
  const size = (await stat(file)).size;
  if (size !== fileBytes) throw corrupt("wrong length");
  const offsetOf = (column: number, part: Part): number => start + (column * stored.length + stored.indexOf(part)) * vectorBytes;

  const handle = await open(file, "r");
  let digests: ShareDigests;
  try {
    digests = known ?? (await digestFile(handle, offsetOf, vectorBytes, header));
  } finally {
    await handle.close();
  }
  const recomputed =
    header.encoding === SHARE_DOMAIN_V5 ? shareCommitmentV5({ ...header, columns: digests }) : shareCommitmentOfDigests({ ...header, columns: digests as ShareDigestInput["columns"] });
  if (recomputed !== commitment) {
    if (known === undefined) throw corrupt("content does not match its commitment");
    // What the upload saw no longer describes the file: digest the file itself.
    return openOnDisk(file, datasetId, commitment, undefined);
  }
  return {
    header,
    inMemory: false,
    rows: async (column, first, end) => {
      checkRows(header, column, first, end);
      const read = await open(file, "r").catch((cause: unknown) => {
        throw new MpcError("STORE_IO", `cannot read share of dataset ${datasetId} version ${commitment}`, { cause });
      });
      try {
        const out = await Promise.all(
          PARTS.map(async (part) => {
            const seed = seedOfPart(header, part);
            // A seeded vector's rows are drawn (its seed is bound by the commitment checked at opening).
            if (seed !== undefined) return ringVectorView(expandShareSeedRows(seed, column, part.startsWith("valid") ? "validity" : "values", first, end));
            // Whole chunks around the rows, each checked against its digest.
            const from = Math.floor((first * 8) / COMMITMENT_CHUNK_BYTES) * COMMITMENT_CHUNK_BYTES;
            const to = Math.min(vectorBytes, Math.ceil((end * 8) / COMMITMENT_CHUNK_BYTES) * COMMITMENT_CHUNK_BYTES);
            const bytes = Buffer.allocUnsafeSlow(to - from);
            const { bytesRead } = await read.read(bytes, 0, bytes.length, offsetOf(column, part) + from);
            if (bytesRead !== bytes.length) throw corrupt(`column ${column} ${part} ends early`);
            // The chunks read start at a chunk boundary: their digests are a run of the committed ones.
            const got = chunkDigests(bytes);
            const committed = (digests[column][part] as VectorDigests).digests;
            const at = from / COMMITMENT_CHUNK_BYTES;
            for (let c = 0; c < got.length / 32; c++) {
              if (Buffer.compare(got.subarray(c * 32, c * 32 + 32), committed.subarray((at + c) * 32, (at + c) * 32 + 32)) !== 0) {
                throw corrupt(`chunk ${at + c} of column ${JSON.stringify(header.columns[column].name)} ${part} does not match its commitment`);
              }
            }
            return new BigUint64Array(bytes.buffer, first * 8 - from, end - first);
          }),
        );
        return { a: out[0], b: out[1], validA: out[2], validB: out[3] };
      } catch (cause) {
        if (cause instanceof MpcError) throw cause;
        throw new MpcError("STORE_IO", `cannot read share of dataset ${datasetId} version ${commitment}`, { cause });
      } finally {
        await read.close();
      }
    },
  };
}

/** The chunk digests of every vector of a share file, read in pieces (never held whole); a seeded vector (v5) as its seed. */
async function digestFile(handle: FileHandle, offsetOf: (column: number, part: Part) => number, vectorBytes: number, header: StoredShareHeader): Promise<ShareDigests> {
  const buffer = Buffer.allocUnsafeSlow(DIGEST_READ_BYTES);
  const columns: ShareDigests[number][] = [];
  for (const [c, column] of header.columns.entries()) {
    const vectors: Partial<Record<Part, VectorDigests | SeededVector>> = {};
    for (const part of PARTS) {
      const seed = seedOfPart(header, part);
      if (seed !== undefined) {
        vectors[part] = { length: vectorBytes, seed };
        continue;
      }
      const digester = new ChunkDigester();
      for (let at = 0; at < vectorBytes; ) {
        const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, vectorBytes - at), offsetOf(c, part) + at);
        if (bytesRead === 0) throw corruptShare(header.datasetId, header.commitment, "it ends early");
        digester.update(buffer.subarray(0, bytesRead));
        at += bytesRead;
      }
      vectors[part] = digester.finish();
    }
    columns.push({ ...column, ...(vectors as Record<Part, VectorDigests | SeededVector>) });
  }
  return columns;
}

/** Reads a `.superseded` marker's unix ms; a marker that says nothing readable counts from its own mtime. */
async function readSupersededAt(file: string): Promise<number> {
  const at = Number((await readFile(file, "ascii")).trim());
  return Number.isSafeInteger(at) && at >= 0 ? at : (await stat(file)).mtimeMs;
}

/** Flushes a directory's entries (renames, creations, deletions) to the disk. */
async function syncDir(dir: string): Promise<void> {
  const dirHandle = await open(dir, "r");
  try {
    await dirHandle.sync();
  } finally {
    await dirHandle.close();
  }
}

/** Deletes a file and flushes its directory, so the deletion survives a crash. */
async function removeDurably(file: string): Promise<void> {
  try {
    await rm(file, { force: true });
    await syncDir(dirname(file));
  } catch (cause) {
    throw new MpcError("STORE_IO", `cannot delete ${file}`, { cause });
  }
}

/**
 * Writes `bytes` to `dir/file` so that a crash leaves either the old file or
 * the whole new one: temp file, fsync, rename, fsync of the directory.
 *
 * @throws MpcError `STORE_IO`
 */
export async function writeDurably(dir: string, file: string, bytes: Buffer): Promise<void> {
  await writeDurablyWith(dir, file, (handle) => handle.writeFile(bytes));
}

/** What a stream's writer threw, carried through {@link writeDurablyWith} unchanged. */
class WriterFailed extends Error {
  constructor(override readonly cause: unknown) {
    super("the share's writer failed");
  }
}

/** Bytes a streamed share is written in between two flushes started in the background ({@link writeBehind}). */
const WRITE_BEHIND_BYTES = 4 << 20;

/**
 * Flushes a file being written while it is written: every
 * {@link WRITE_BEHIND_BYTES} written, an `fdatasync` is started and not
 * waited for, so the disk works while the rest arrives and the final sync
 * has little left to do: 16 MiB written in 1 MiB pieces 5 ms apart took
 * 25 ms to sync at the end, and 0.1 ms with these flushes (2-core VM).
 * `settle()` waits for the flush under way and throws its error, if any:
 * Linux reports a writeback error to one sync only, so an error a
 * background flush saw must fail the write itself.
 */
export function writeBehind(handle: Pick<FileHandle, "datasync">): { wrote(bytes: number): void; settle(): Promise<void> } {
  let unflushed = 0;
  let flushing: Promise<void> | undefined;
  let failed: unknown;
  return {
    wrote(bytes) {
      unflushed += bytes;
      if (unflushed < WRITE_BEHIND_BYTES || flushing !== undefined) return;
      unflushed = 0;
      flushing = handle.datasync().then(
        () => {
          flushing = undefined;
        },
        (err: unknown) => {
          failed ??= err;
          flushing = undefined;
        },
      );
    },
    async settle() {
      await flushing;
      if (failed !== undefined) throw failed;
    },
  };
}

/**
 * {@link writeDurably} with the content written by `fill` into the open temp
 * file. An MpcError `fill` throws, or the cause of a {@link WriterFailed}, is
 * passed on as it is (nothing kept); another error is `STORE_IO`.
 *
 * @throws MpcError `STORE_IO`, or the MpcError `fill` throws
 */
async function writeDurablyWith(dir: string, file: string, fill: (handle: FileHandle) => Promise<void>): Promise<void> {
  const temp = `${file}.tmp-${randomBytes(6).toString("hex")}`;
  try {
    const handle = await open(temp, "wx", 0o600);
    try {
      await fill(handle);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
    // The rename is durable only once the directory entry is flushed.
    await syncDir(dir);
  } catch (cause) {
    await rm(temp, { force: true }).catch(() => undefined);
    if (cause instanceof WriterFailed) throw cause.cause;
    if (cause instanceof MpcError) throw cause;
    throw new MpcError("STORE_IO", `cannot write ${file}`, { cause });
  }
}

function encodeFile(share: StoredShare): Buffer {
  const parts = storedParts(share);
  return Buffer.concat([encodeFileHeader(share), ...share.columns.flatMap((c) => parts.map((part) => c[part]))]);
}

/** A share file up to its vectors: magic, header length, header JSON padded so that the vectors start at a multiple of 8. */
function encodeFileHeader(share: StoredShareHeader): Buffer {
  const header: FileHeader = {
    datasetId: share.datasetId.toLowerCase(),
    seller: share.seller,
    name: share.name,
    hostIndex: share.hostIndex,
    rowCount: share.rowCount.toString(),
    commitment: share.commitment.toLowerCase(),
    signature: share.signature,
    encoding: share.encoding ?? SHARE_DOMAIN,
    ...(share.encoding === SHARE_DOMAIN_V5 && share.seeds !== undefined ? { seeds: hexSeeds(share.seeds) } : {}),
    columns: share.columns.map((c) => ({
      name: c.name,
      scale: c.scale,
      lo: c.lo,
      hi: c.hi,
      ...(c.type === undefined ? {} : { type: c.type }),
      ...(c.categories === undefined ? {} : { categories: [...c.categories] }),
    })),
  };
  const text = JSON.stringify(header);
  // Spaces after the JSON (still the same JSON) so that the vectors start at a multiple of 8: a file read
  // into memory (offset 0) gives word-aligned vectors the protocols use in place, without a copy.
  const unpadded = 12 + Buffer.byteLength(text, "utf8");
  const json = Buffer.from(text + " ".repeat((8 - (unpadded % 8)) % 8), "utf8");
  const length = Buffer.alloc(4);
  length.writeUInt32LE(json.length);
  return Buffer.concat([MAGIC, length, json]);
}

/** Decodes a version's file and checks it is the version its name says, with the bytes its commitment says. */
function decodeFile(bytes: Buffer, datasetId: string, commitment: string): StoredShare {
  const { share, encoding } = parseFile(bytes, datasetId, commitment);
  const input = { datasetId: share.datasetId, hostIndex: share.hostIndex, rowCount: share.rowCount, columns: share.columns };
  let recomputed: string;
  // A file written before v4 names no encoding: its on-chain commitment is over the v3 one.
  if (encoding === undefined || encoding === SHARE_DOMAIN_V3) recomputed = shareCommitmentV3(input);
  else if (encoding === SHARE_DOMAIN) recomputed = shareCommitment(input);
  // A seeded vector is bound by its seed: the drawn one is not hashed.
  else if (encoding === SHARE_DOMAIN_V5) recomputed = shareCommitmentV5({ ...input, columns: seededColumns(share.columns, share.seeds, share.rowCount) });
  else throw corruptShare(datasetId, commitment, `its header names an unknown share encoding ${JSON.stringify(encoding)}`);
  if (recomputed !== share.commitment) throw corruptShare(datasetId, commitment, "content does not match its commitment");
  return share;
}

function corruptShare(datasetId: string, commitment: string, why: string, cause?: unknown): MpcError {
  return new MpcError("STORE_CORRUPT", `stored share of dataset ${datasetId} version ${commitment} is corrupt: ${why}`, { cause, details: { datasetId, commitment } });
}

/**
 * A version's file as a share whose columns are views of `bytes` (no copy),
 * and the share encoding its header names, without re-checking its commitment.
 */
function parseFile(bytes: Buffer, datasetId: string, commitment: string): { share: StoredShare; encoding: string | undefined } {
  const corrupt = (why: string, cause?: unknown): MpcError => corruptShare(datasetId, commitment, why, cause);
  if (bytes.length >= 8 && bytes.subarray(0, 8).equals(MAGIC_V1)) {
    throw corrupt("stored in the SCMPCSH1 format, without validity shares; it cannot match a scmpc-share-v3 or v4 commitment, so its seller must share the table again as a new dataset");
  }
  if (bytes.length < 12 || !bytes.subarray(0, 8).equals(MAGIC)) throw corrupt("bad magic");
  const headerLength = bytes.readUInt32LE(8);
  let header: FileHeader;
  try {
    header = JSON.parse(bytes.subarray(12, 12 + headerLength).toString("utf8")) as FileHeader;
  } catch (cause) {
    throw corrupt("unreadable header", cause);
  }
  const fields = headerOfFile(header, corrupt);
  const rowCount = fields.rowCount;
  const columnBytes = Number(rowCount) * 8;
  let offset = 12 + headerLength;
  if (bytes.length !== offset + header.columns.length * storedParts(fields).length * columnBytes) throw corrupt("wrong length");
  const columns: ColumnShareBytes[] = header.columns.map((c, k) => {
    if (typeof c.lo !== "string" || typeof c.hi !== "string") throw corrupt(`column ${JSON.stringify(c.name)} has no bounds`);
    // In the file's order; a v5 share's seeded vectors drawn from their seeds.
    const [a, b, validA, validB] = PARTS.map((part) => {
      const seed = seedOfPart(fields, part);
      if (seed !== undefined) return expandShareSeed(seed, k, part.startsWith("valid") ? "validity" : "values", Number(rowCount));
      offset += columnBytes;
      return bytes.subarray(offset - columnBytes, offset);
    });
    return {
      name: c.name,
      scale: c.scale,
      lo: c.lo,
      hi: c.hi,
      ...(c.type === undefined ? {} : { type: c.type }),
      ...(c.categories === undefined ? {} : { categories: c.categories }),
      a,
      b,
      validA,
      validB,
    };
  });
  const share: StoredShare = { ...fields, columns };
  if (share.datasetId !== datasetId || share.commitment !== commitment) throw corrupt(`it holds dataset ${share.datasetId} version ${share.commitment}`);
  return { share, encoding: header.encoding };
}

/** A file's header as the store's: the row count a bigint; under v5 the encoding and the seeds (checked, as bytes). */
function headerOfFile(file: FileHeader, corrupt: (why: string) => MpcError): StoredShareHeader {
  const { encoding, seeds, ...fields } = file;
  const header: StoredShareHeader = { ...fields, rowCount: BigInt(file.rowCount) };
  if (encoding !== SHARE_DOMAIN_V5) return header;
  header.encoding = SHARE_DOMAIN_V5;
  if (seeds === undefined) return header;
  const seedOf = (hex: unknown, side: string): Uint8Array | undefined => {
    if (hex === undefined) return undefined;
    if (typeof hex !== "string" || !new RegExp(`^[0-9a-f]{${2 * SHARE_SEED_BYTES}}$`).test(hex)) throw corrupt(`its header's seed ${side} is not ${SHARE_SEED_BYTES} bytes of hex`);
    return Buffer.from(hex, "hex");
  };
  const a = seedOf(seeds.a, "a");
  const b = seedOf(seeds.b, "b");
  header.seeds = { ...(a === undefined ? {} : { a }), ...(b === undefined ? {} : { b }) };
  return header;
}

/** A v5 share's seeds as its file's header holds them. */
function hexSeeds(seeds: { a?: Uint8Array; b?: Uint8Array }): { a?: string; b?: string } {
  return {
    ...(seeds.a === undefined ? {} : { a: Buffer.from(seeds.a).toString("hex") }),
    ...(seeds.b === undefined ? {} : { b: Buffer.from(seeds.b).toString("hex") }),
  };
}

/**
 * Reads only a share file's header (owner, size), not its columns, and how
 * many ring vectors it stores per column (an SCMPCSH1 file two, a current one
 * four): an old file counts against its seller's quota while it is on disk.
 */
async function readHeader(file: string): Promise<{ header: FileHeader; components: number; vectorsAt: number }> {
  const handle = await open(file, "r");
  try {
    const prefix = Buffer.alloc(12);
    await handle.read(prefix, 0, 12, 0);
    const magic = prefix.subarray(0, 8);
    const components = magic.equals(MAGIC) ? COMPONENTS : magic.equals(MAGIC_V1) ? 2 : undefined;
    if (components === undefined) throw new Error(`${file} is not a share file`);
    const header = Buffer.alloc(prefix.readUInt32LE(8));
    await handle.read(header, 0, header.length, 12);
    return { header: JSON.parse(header.toString("utf8")) as FileHeader, components, vectorsAt: 12 + header.length };
  } finally {
    await handle.close();
  }
}

/** Whether a file exists; other errors than its absence are the store's. */
async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw new MpcError("STORE_IO", `cannot check ${file}`, { cause });
  }
}
