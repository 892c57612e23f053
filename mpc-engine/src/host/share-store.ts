import { randomBytes } from "node:crypto";
import { access, mkdir, open, readFile, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { MpcError } from "../errors.ts";
import type { SchemaType } from "../algorithms/plan.ts";
import { shareCommitment, type ColumnShareBytes } from "../share-encoding.ts";

/** A host's stored share of one dataset, with the seller's upload authorisation. */
export interface StoredShare {
  /** 0x-prefixed lowercase bytes32. */
  datasetId: string;
  seller: string;
  name: string;
  hostIndex: number;
  rowCount: bigint;
  /** 0x-prefixed keccak256 of the canonical share encoding. */
  commitment: string;
  /** Seller's EIP-191 signature over the upload digest. */
  signature: string;
  columns: ColumnShareBytes[];
}

/** Outcome of {@link ShareStore.put}. */
export interface PutResult {
  /** False when the identical share (same commitment) was already stored. */
  created: boolean;
}

/** Durable per-dataset storage of this host's own shares. */
export interface ShareStore {
  /**
   * Stores a share durably (temp file, fsync, rename, fsync directory) and
   * resolves only afterwards. Idempotent for the same commitment.
   *
   * @throws MpcError `WRONG_HOST`, `DATASET_CONFLICT` or `STORE_IO`
   */
  put(share: StoredShare): Promise<PutResult>;
  /**
   * Loads a share and re-checks its commitment (detects on-disk corruption).
   *
   * @throws MpcError `STORE_CORRUPT` or `STORE_IO`
   */
  get(datasetId: string): Promise<StoredShare | undefined>;
  /** What the store holds, per dataset: who uploaded it, its size, when, and whether it was seen registered on-chain. */
  usage(): Promise<StoredUsage[]>;
  /** Records that the chain lists the dataset with this host's commitment: it is kept for good. */
  markRegistered(datasetId: string): Promise<void>;
  /** Deletes a share (one never registered on-chain in time). */
  remove(datasetId: string): Promise<void>;
}

/** One stored share, as {@link ShareStore.usage} reports it. */
export interface StoredUsage {
  datasetId: string;
  /** The seller's address, as the signature recovered it. */
  seller: string;
  commitment: string;
  /** Bytes of the share's columns: value and validity components. */
  bytes: number;
  /** When it was stored (unix ms). */
  storedAt: number;
  registered: boolean;
}

// SCMPCSH2: per column a, b, validA, validB, and the column's type and
// dictionary in the header. SCMPCSH1 (a and b only) files still count in the
// store's usage while on disk but no longer load: they cannot match a v3
// commitment.
const MAGIC = Buffer.from("SCMPCSH2", "ascii");
const MAGIC_V1 = Buffer.from("SCMPCSH1", "ascii");
/** Ring vectors stored per column: a, b, validA, validB. */
const COMPONENTS = 4;
/** Default memory for verified shares kept between jobs: 1 GiB (about 64M rows of one column). */
const DEFAULT_CACHE_BYTES = 1 << 30;
const DATASET_ID = /^0x[0-9a-f]{64}$/;

interface FileHeader {
  datasetId: string;
  seller: string;
  name: string;
  hostIndex: number;
  rowCount: string;
  commitment: string;
  signature: string;
  /** Each column's name, scale, public bounds, type and dictionary (part of the commitment, so of the on-chain schema). */
  columns: Array<{ name: string; scale: number; lo: string; hi: string; type?: SchemaType; categories?: string[] }>;
}

/** Bytes of a share's columns: values and validity, both components each. */
function shareBytes(share: StoredShare): number {
  return share.columns.reduce((n, c) => n + c.a.length + c.b.length + c.validA.length + c.validB.length, 0);
}

/**
 * Opens the share store under `<dataDir>/datasets`, one file per dataset:
 * `SCMPCSH2 | u32 headerLength | header JSON | per column a, b, validA, validB`
 * (each rowCount little-endian u64).
 *
 * @example
 * const store = createShareStore({ dataDir: "/var/lib/scmpc", hostIndex: 0 });
 * await store.put(share);
 */
export function createShareStore(options: { dataDir: string; hostIndex: number; cacheBytes?: number }): ShareStore {
  const dir = join(options.dataDir, "datasets");
  const locks = new Map<string, Promise<unknown>>();
  // A stored share never changes (a different share for a dataset is refused),
  // so verified shares can stay in memory: jobs then skip the disk read and
  // the commitment re-check. Least recently used go first past the budget.
  const cacheBudget = options.cacheBytes ?? DEFAULT_CACHE_BYTES;
  const cache = new Map<string, { share: StoredShare; bytes: number }>();
  let cached = 0;
  const remember = (share: StoredShare): void => {
    const key = share.datasetId.toLowerCase();
    const bytes = shareBytes(share);
    if (bytes > cacheBudget || cache.has(key)) return;
    cache.set(key, { share, bytes });
    cached += bytes;
    for (const [oldest, entry] of cache) {
      if (cached <= cacheBudget) break;
      cache.delete(oldest);
      cached -= entry.bytes;
    }
  };
  let ready: Promise<void> | undefined;

  const ensureDir = (): Promise<void> =>
    (ready ??= (async () => {
      await mkdir(dir, { recursive: true });
      // Temp files left by a crash mid-write were never acknowledged: drop them.
      for (const entry of await readdir(dir)) if (entry.includes(".tmp-")) await rm(join(dir, entry), { force: true });
    })().catch((cause: unknown) => {
      ready = undefined;
      throw new MpcError("STORE_IO", `cannot prepare share store directory ${dir}`, { cause });
    }));

  const fileOf = (datasetId: string, suffix = ".share"): string => {
    const id = datasetId.toLowerCase();
    if (!DATASET_ID.test(id)) throw new MpcError("INVALID_ARGUMENT", "datasetId must be a 0x-prefixed bytes32 hex string");
    return join(dir, `${id}${suffix}`);
  };

  // Sizes and owners of the stored shares, read from the file headers once and kept up to date.
  let index: Promise<Map<string, StoredUsage>> | undefined;
  const readIndex = (): Promise<Map<string, StoredUsage>> =>
    (index ??= (async () => {
      await ensureDir();
      const entries = new Map<string, StoredUsage>();
      const names = await readdir(dir);
      for (const name of names) {
        const id = /^(0x[0-9a-f]{64})\.share$/.exec(name)?.[1];
        if (id === undefined) continue;
        const file = join(dir, name);
        const [{ header, components }, info] = await Promise.all([readHeader(file), stat(file)]);
        const bytes = header.columns.length * components * Number(header.rowCount) * 8;
        entries.set(id, { datasetId: id, seller: header.seller, commitment: header.commitment, bytes, storedAt: info.mtimeMs, registered: names.includes(`${id}.registered`) });
      }
      return entries;
    })().catch((cause: unknown) => {
      index = undefined;
      throw new MpcError("STORE_IO", `cannot read the share store index in ${dir}`, { cause });
    }));

  // Serialise writers per dataset so check-then-write is atomic within the process.
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

  const get = async (datasetId: string): Promise<StoredShare | undefined> => {
    const file = fileOf(datasetId);
    const hit = cache.get(datasetId.toLowerCase());
    if (hit) {
      cache.delete(datasetId.toLowerCase());
      // A share gone from the disk is gone: the memory copy must not hide the loss
      // (the host would otherwise compute until it restarts, then not).
      if (!(await exists(file))) {
        cached -= hit.bytes;
        return undefined;
      }
      // Refresh its place in the least-recently-used order.
      cache.set(datasetId.toLowerCase(), hit);
      return hit.share;
    }
    await ensureDir();
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw new MpcError("STORE_IO", `cannot read share of dataset ${datasetId}`, { cause });
    }
    const share = decodeFile(bytes, datasetId);
    remember(share);
    return share;
  };

  const put = (share: StoredShare): Promise<PutResult> => {
    if (share.hostIndex !== options.hostIndex) {
      return Promise.reject(
        new MpcError("WRONG_HOST", `this is host ${options.hostIndex}; it stores only its own share, not host ${share.hostIndex}'s`, {
          details: { hostIndex: options.hostIndex, requested: share.hostIndex },
        }),
      );
    }
    const file = fileOf(share.datasetId);
    return withLock(file, async () => {
      const existing = await get(share.datasetId);
      if (existing) {
        if (existing.commitment.toLowerCase() === share.commitment.toLowerCase()) return { created: false };
        throw new MpcError(
          "DATASET_CONFLICT",
          `dataset ${share.datasetId} is already stored with commitment ${existing.commitment}; a different share is refused`,
          { details: { datasetId: share.datasetId, storedCommitment: existing.commitment } },
        );
      }
      await writeDurably(dir, file, encodeFile(share));
      remember(share);
      const bytes = shareBytes(share);
      (await readIndex()).set(share.datasetId.toLowerCase(), {
        datasetId: share.datasetId.toLowerCase(),
        seller: share.seller,
        commitment: share.commitment.toLowerCase(),
        bytes,
        storedAt: Date.now(),
        registered: false,
      });
      return { created: true };
    });
  };

  const markRegistered = async (datasetId: string): Promise<void> => {
    const entry = (await readIndex()).get(datasetId.toLowerCase());
    if (entry === undefined || entry.registered) return;
    await writeFile(fileOf(datasetId, ".registered"), "");
    entry.registered = true;
  };

  const remove = (datasetId: string): Promise<void> =>
    withLock(fileOf(datasetId), async () => {
      const key = datasetId.toLowerCase();
      const hit = cache.get(key);
      if (hit) {
        cache.delete(key);
        cached -= hit.bytes;
      }
      (await readIndex()).delete(key);
      await rm(fileOf(datasetId), { force: true });
      await rm(fileOf(datasetId, ".registered"), { force: true });
    });

  return { put, get, usage: async () => [...(await readIndex()).values()], markRegistered, remove };
}

/**
 * Writes `bytes` to `dir/file` so that a crash leaves either the old file or
 * the whole new one: temp file, fsync, rename, fsync of the directory.
 *
 * @throws MpcError `STORE_IO`
 */
export async function writeDurably(dir: string, file: string, bytes: Buffer): Promise<void> {
  const temp = `${file}.tmp-${randomBytes(6).toString("hex")}`;
  try {
    const handle = await open(temp, "wx", 0o600);
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
    // The rename is durable only once the directory entry is flushed.
    const dirHandle = await open(dir, "r");
    try {
      await dirHandle.sync();
    } finally {
      await dirHandle.close();
    }
  } catch (cause) {
    await rm(temp, { force: true }).catch(() => undefined);
    throw new MpcError("STORE_IO", `cannot write ${file}`, { cause });
  }
}

function encodeFile(share: StoredShare): Buffer {
  const header: FileHeader = {
    datasetId: share.datasetId.toLowerCase(),
    seller: share.seller,
    name: share.name,
    hostIndex: share.hostIndex,
    rowCount: share.rowCount.toString(),
    commitment: share.commitment.toLowerCase(),
    signature: share.signature,
    columns: share.columns.map((c) => ({
      name: c.name,
      scale: c.scale,
      lo: c.lo,
      hi: c.hi,
      ...(c.type === undefined ? {} : { type: c.type }),
      ...(c.categories === undefined ? {} : { categories: [...c.categories] }),
    })),
  };
  const json = Buffer.from(JSON.stringify(header), "utf8");
  const length = Buffer.alloc(4);
  length.writeUInt32LE(json.length);
  return Buffer.concat([MAGIC, length, json, ...share.columns.flatMap((c) => [c.a, c.b, c.validA, c.validB])]);
}

function decodeFile(bytes: Buffer, datasetId: string): StoredShare {
  const corrupt = (why: string, cause?: unknown): MpcError =>
    new MpcError("STORE_CORRUPT", `stored share of dataset ${datasetId} is corrupt: ${why}`, { cause, details: { datasetId } });
  if (bytes.length >= 8 && bytes.subarray(0, 8).equals(MAGIC_V1)) {
    throw corrupt("stored in the SCMPCSH1 format, without validity shares; it cannot match a scmpc-share-v3 commitment, so its seller must share the table again as a new dataset");
  }
  if (bytes.length < 12 || !bytes.subarray(0, 8).equals(MAGIC)) throw corrupt("bad magic");
  const headerLength = bytes.readUInt32LE(8);
  let header: FileHeader;
  try {
    header = JSON.parse(bytes.subarray(12, 12 + headerLength).toString("utf8")) as FileHeader;
  } catch (cause) {
    throw corrupt("unreadable header", cause);
  }
  const rowCount = BigInt(header.rowCount);
  const columnBytes = Number(rowCount) * 8;
  let offset = 12 + headerLength;
  if (bytes.length !== offset + header.columns.length * COMPONENTS * columnBytes) throw corrupt("wrong length");
  const columns: ColumnShareBytes[] = header.columns.map((c) => {
    if (typeof c.lo !== "string" || typeof c.hi !== "string") throw corrupt(`column ${JSON.stringify(c.name)} has no bounds`);
    const [a, b, validA, validB] = Array.from({ length: COMPONENTS }, (_, k) => bytes.subarray(offset + k * columnBytes, offset + (k + 1) * columnBytes));
    offset += COMPONENTS * columnBytes;
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
  const share: StoredShare = { ...header, rowCount, columns };
  const recomputed = shareCommitment({ datasetId: share.datasetId, hostIndex: share.hostIndex, rowCount, columns });
  if (recomputed !== share.commitment) throw corrupt("content does not match its commitment");
  return share;
}

/**
 * Reads only a share file's header (owner, size), not its columns, and how
 * many ring vectors it stores per column (an SCMPCSH1 file two, a current one
 * four): an old file counts against its seller's quota while it is on disk.
 */
async function readHeader(file: string): Promise<{ header: FileHeader; components: number }> {
  const handle = await open(file, "r");
  try {
    const prefix = Buffer.alloc(12);
    await handle.read(prefix, 0, 12, 0);
    const magic = prefix.subarray(0, 8);
    const components = magic.equals(MAGIC) ? COMPONENTS : magic.equals(MAGIC_V1) ? 2 : undefined;
    if (components === undefined) throw new Error(`${file} is not a share file`);
    const header = Buffer.alloc(prefix.readUInt32LE(8));
    await handle.read(header, 0, header.length, 12);
    return { header: JSON.parse(header.toString("utf8")) as FileHeader, components };
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
