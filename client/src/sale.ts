// A seller's sale, wherever the seller runs (the CLI, the web market): the
// table's shares made locally, each sent straight to its host, and the
// dataset registered on-chain. How a share reaches its host is the caller's
// transport (gRPC from Node, the hosts' web API from a browser).
import { Contract, formatUnits, getBytes, parseUnits, solidityPackedKeccak256 } from "ethers";
import type { Provider, Signer } from "ethers";
import { algorithmId, formatEpsilon, loadArtifact, MARKET_ALGORITHMS } from "@scmpc/contracts";
import {
  SHARE_SEED_BYTES,
  canExpandShareSeeds,
  schemaText,
  shareColumn,
  shareConstantRemainderFromSeeds,
  shareRemainderFromSeeds,
  shareCommitments,
  shareCommitmentsV5,
  seededColumns,
  hostSeeds,
  SHARE_DOMAIN_V5,
  uploadDigest,
  type ColumnKind,
  type ColumnShareBytes,
  type HostShare,
  type SchemaColumn,
  type SeededPart,
} from "@scmpc/mpc-engine";
import type { UploadSharesRequest } from "@scmpc/protos";
import { budgetMilli, checkAlgorithms, DEFAULT_BUDGET_EPSILON, ownDataset, PAYMENT_DECIMALS } from "./dataset-policy.ts";
import type { SellerTable } from "./seller-table.ts";
import type { StackState } from "./state.ts";

/** One shared column as the seller's upload reports it: its public schema and the seller's own count of missing cells. */
export interface UploadedColumn {
  name: string;
  type: ColumnKind;
  scale: number;
  /** Public bounds, as the schema publishes them (a date's are day counts). */
  lo: string;
  hi: string;
  /** True when the bounds were derived from the data because none were declared. */
  boundsDerived: boolean;
  /** A category column's number of categories (its dictionary is public, in the schema). */
  categories?: number;
  /** True for a category column whose dictionary was read from the data (not fixed with `categories`). */
  dictionaryDerived?: boolean;
  /** Missing cells in the seller's table: the seller's own record; the hosts hold only shares of which cells are missing. */
  missing: number;
}

/** What a seller gets back from {@link uploadDataset}. */
export interface UploadedDataset {
  datasetId: string;
  /** The permanent address `<seller>/<name>`. */
  address: string;
  rowCount: number;
  /**
   * The public schema as published on-chain: column names, fixed-point
   * scales, bounds (canonical decimals), and the type and dictionary of
   * category, bool and date columns.
   */
  columns: SchemaColumn[];
  /** Per column: type, bounds (and whether derived), number of categories, missing cells. */
  columnSummaries: UploadedColumn[];
  /** Columns whose bounds were derived from the data because the seller gave none. */
  derivedBounds: string[];
  /**
   * Changes of the host set the HostRegistry announces and has not applied
   * yet (the shares went to the hosts in force now), one line each; empty
   * when none is pending.
   */
  pendingHostChanges: string[];
  commitments: string[];
  /** Exact plaintext sum of the present values of each column but a category's, for the seller's own records and the demo. */
  plaintextSums: Record<string, string>;
  allowedAlgorithms: string[];
  /** Allowed algorithms whose exact answers (no noise, no budget) the seller allows. */
  exactAlgorithms: string[];
  minRows: number;
  /** Total privacy budget, ε (decimal). */
  budget: string;
  /** Locked while listed, in token units (decimal string). */
  stake: string;
  txHash: string;
}

/** One column to share: its public schema, its values and (default: every cell present) its validity bits. */
export type ColumnToShare = SchemaColumn & {
  /** Ring elements, one per row; a missing cell's value must lie within the bounds (the seller's client uses `lo`). */
  values: BigUint64Array;
  /** One bit per row, 1 present and 0 missing; every cell present when absent. */
  valid?: Uint8Array;
};

/**
 * How far an upload has gone, for a progress display: the table read, its
 * shares made (with the bytes each host is to receive), each host's share
 * stored, the registration sent. Reported in that order; `stored` once per
 * host, in whatever order the hosts answer.
 */
export type UploadProgress =
  | { stage: "read"; rows: number; columns: number }
  | { stage: "shared"; rows: number; bytes: [number, number, number] }
  | { stage: "stored"; host: number; bytes: number }
  | { stage: "registering"; txHash: string };

/** Little-endian u64 bytes of a ring vector, viewed (not copied). */
function ringBytes(v: BigUint64Array): Buffer {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

/** How a seller's share reaches its host: resolves once the host has stored it durably, else throws naming the host and its answer. */
export interface SellerTransport {
  upload(hostIndex: number, request: UploadSharesRequest): Promise<void>;
  /**
   * Whether requests may carry share seeds (`seedA`/`seedB`, a side's
   * vectors then empty): a third of the bytes to send. The gRPC transport
   * does; a transport that cannot say so gets every vector.
   */
  readonly sendsSeeds?: boolean;
}

/**
 * Splits each column's values and validity vector into three replicated
 * shares and uploads each host's share (signed by the seller) straight to
 * that host, all three at once. Resolves to the three share commitments
 * (which bind values, validity, bounds, types and dictionaries) once every
 * host has stored its share durably.
 *
 * @example
 * const commitments = await shareAndUpload({ transport, seller, datasetId, name: "salaries", columns });
 */
export async function shareAndUpload(options: {
  transport: SellerTransport;
  seller: Signer;
  datasetId: string;
  name: string;
  /** Each column's schema (name, scale, public bounds, type, dictionary), encoded values and validity. */
  columns: readonly ColumnToShare[];
  /** Told when the shares are made and as each host stores its own. */
  progress?: (event: UploadProgress) => void;
}): Promise<string[]> {
  const { transport, seller, datasetId, name, columns } = options;
  const sellerAddress = await seller.getAddress();
  const rowCount = columns[0].values.length;
  // Where the runtime can expand them, x0 and x1 of every vector are streams of two seeds: host 0 is sent the
  // two seeds, host 1 seed 1 and x2, host 2 x2 and seed 0 (share-seeds.ts), instead of 3 × 2 vectors.
  const seeds = transport.sendsSeeds === true && canExpandShareSeeds() ? ([newSeed(), newSeed()] as const) : undefined;
  const none = new BigUint64Array(0);
  // Only x2 is sent (host 1's b, host 2's a); x0 and x1 go as their seeds and are drawn only to make it.
  const seeded = (x2: BigUint64Array): HostShare[] => [{ a: none, b: none }, { a: none, b: x2 }, { a: x2, b: none }];
  const share = (values: BigUint64Array, c: number, part: SeededPart): HostShare[] =>
    seeds === undefined ? shareColumn(values) : seeded(shareRemainderFromSeeds(values, seeds, c, part));
  const shared = columns.map((column, c) => share(column.values, c, "values"));
  // Validity is as secret as the values: which cells are missing can say as much as what they hold.
  const sharedValid = columns.map((column, c) => {
    const valid = column.valid;
    if (valid !== undefined && valid.length !== rowCount) throw new Error(`column "${column.name}" has ${valid.length} validity bits for ${rowCount} rows`);
    // No value missing: x2 of a vector of ones, made without one.
    if (seeds !== undefined && (valid === undefined || !valid.includes(0))) return seeded(shareConstantRemainderFromSeeds(1n, rowCount, seeds, c, "validity"));
    const bits = new BigUint64Array(rowCount).fill(1n);
    if (valid !== undefined) for (let row = 0; row < rowCount; row++) if (valid[row] === 0) bits[row] = 0n;
    return share(bits, c, "validity");
  });
  // Every host's share is made before any is sent, so a progress display knows the bytes ahead.
  const perHost = [0, 1, 2].map((hostIndex) =>
    columns.map((column, c): ColumnShareBytes & { a: Buffer; b: Buffer; validA: Buffer; validB: Buffer } => {
      const share = shared[c][hostIndex];
      const valid = sharedValid[c][hostIndex];
      return {
        name: column.name,
        scale: column.scale,
        lo: column.lo,
        hi: column.hi,
        ...(column.type === undefined ? {} : { type: column.type }),
        ...(column.type === "category" ? { categories: [...(column.categories ?? [])] } : {}),
        a: ringBytes(share.a),
        b: ringBytes(share.b),
        validA: ringBytes(valid.a),
        validB: ringBytes(valid.b),
      };
    }),
  );
  const bytes = perHost.map((columnShares) => columnShares.reduce((n, c) => n + c.a.length + c.b.length + c.validA.length + c.validB.length, 0));
  options.progress?.({ stage: "shared", rows: rowCount, bytes: [bytes[0], bytes[1], bytes[2]] });
  // Host i's b is host i+1's a: each vector is digested once for the two commitments that hold it. With seeds,
  // the v5 encoding binds x0 and x1 by their seeds: only x2 is hashed, and no host draws or hashes the others.
  const commitments =
    seeds === undefined
      ? shareCommitments(perHost.map((columnShares, hostIndex) => ({ datasetId, hostIndex, rowCount, columns: columnShares })))
      : shareCommitmentsV5(
          perHost.map((columnShares, hostIndex) => ({ datasetId, hostIndex, rowCount, columns: seededColumns(columnShares, hostSeeds(seeds, hostIndex), rowCount) })),
        );
  await Promise.all(
    perHost.map(async (columnShares, hostIndex) => {
      const commitment = commitments[hostIndex];
      const signature = await seller.signMessage(getBytes(uploadDigest(datasetId, hostIndex, commitment)));
      // Host i's a is x_i and its b x_{i+1}: x0 and x1 go as their seeds.
      const { a: seedA, b: seedB } = seeds === undefined ? {} : hostSeeds(seeds, hostIndex);
      const empty = Buffer.alloc(0);
      await transport.upload(hostIndex, {
        datasetId,
        seller: sellerAddress,
        name,
        hostIndex,
        rowCount: String(rowCount),
        columns: columnShares.map((column) => ({
          ...column,
          ...(seedA === undefined ? {} : { a: empty, validA: empty }),
          ...(seedB === undefined ? {} : { b: empty, validB: empty }),
        })),
        commitment,
        signature,
        ...(seedA === undefined ? {} : { seedA: Buffer.from(seedA) }),
        ...(seedB === undefined ? {} : { seedB: Buffer.from(seedB) }),
        ...(seeds === undefined ? {} : { shareEncoding: SHARE_DOMAIN_V5 }),
      });
      options.progress?.({ stage: "stored", host: hostIndex, bytes: bytes[hostIndex] });
    }),
  );
  return commitments;
}

/** A fresh uniform share seed. */
function newSeed(): Uint8Array {
  return globalThis.crypto.getRandomValues(new Uint8Array(SHARE_SEED_BYTES));
}

/**
 * The host changes the market's HostRegistry has announced and not yet
 * applied, as lines a seller can read: sellers trust the registry for where
 * their shares go, and a change is announced a delay ahead so they can
 * withdraw before it applies.
 *
 * @example
 * for (const line of await pendingHostChanges(state, provider)) console.warn(line);
 */
export async function pendingHostChanges(state: StackState, runner: Signer | Provider): Promise<string[]> {
  const registry = new Contract(state.contracts.hostRegistry, loadArtifact("HostRegistry").abi, runner);
  const lines: string[] = [];
  for (const index of [0, 1, 2]) {
    const [host, effectiveAt] = (await registry.getFunction("getPendingHostChange")(index)) as [{ endpoint: string; signer: string }, bigint];
    if (effectiveAt === 0n) continue;
    lines.push(
      `host ${index} is to be replaced by ${host.endpoint} (signer ${host.signer}) from ${new Date(Number(effectiveAt) * 1000).toISOString()}: ` +
        "shares uploaded now go to the current host; deregister before then if you do not trust the new one",
    );
  }
  return lines;
}

export { PAYMENT_DECIMALS } from "./dataset-policy.ts";

/** Default minimum number of rows a result may aggregate: no statistic over a handful of people. */
export const DEFAULT_MIN_ROWS = 10;

/**
 * Reads a seller's table (`table`: typed, with public bounds and
 * dictionaries, see `sellerTableOf`), shares every value and
 * every cell's validity bit locally, uploads each share straight to its MPC
 * host, then registers the dataset on-chain with the commitments of the
 * three shares, the schema and the seller's policy. Nothing but the shares
 * leaves the seller's machine, and the chain sees only commitments and the
 * public schema (names, types, bounds, category dictionaries). A missing
 * cell is shared as the column's `lo` with validity 0: no host learns which
 * cells are missing.
 *
 * @throws TableInputError (`TABLE_INVALID`) when the table is unusable, naming file, line, column and value; nothing is uploaded
 * @example
 * const ds = await listDataset({ state, seller, transport, source: "salaries.csv", table: () => sellerTableOf(file, options), name: "salaries", price: "10" });
 */
export async function listDataset(options: {
  state: StackState;
  seller: Signer;
  transport: SellerTransport;
  /** The table's name in messages (its file name). */
  source: string;
  /** Reads and types the table (after the policy's checks, so a mistake in them costs no reading). */
  table: () => Promise<SellerTable>;
  name: string;
  /** Price per computation in payment-token units (decimal string). */
  price: string;
  /** Algorithms buyers may run (`name@version`); default: every algorithm the market sells. */
  allow?: string[];
  /** Fewest rows a result may aggregate; default {@link DEFAULT_MIN_ROWS}. */
  minRows?: number;
  /** Total privacy budget as ε (decimal); default {@link DEFAULT_BUDGET_EPSILON}. */
  budget?: string;
  /** Allowed algorithms whose exact answers the seller allows (no noise, no budget); default none. */
  exact?: string[];
  /** Stake to lock while the dataset is listed (decimal token units); default: the registry's minimum. */
  stake?: string;
  /** Told as the upload goes: table read, shares made, each host's share stored, registration sent. */
  progress?: (event: UploadProgress) => void;
}): Promise<UploadedDataset> {
  const { state, seller, name } = options;
  if (!name || name.includes("/")) throw new Error(`--name must be non-empty and contain no "/"; got "${name}"`);
  let price: bigint;
  try {
    price = parseUnits(options.price, PAYMENT_DECIMALS);
  } catch {
    throw new Error(`--price must be a decimal amount of the payment token; got "${options.price}"`);
  }
  const allow = options.allow ?? [...MARKET_ALGORITHMS];
  const exact = options.exact ?? [];
  checkAlgorithms(allow, exact);
  const budget = budgetMilli(options.budget ?? DEFAULT_BUDGET_EPSILON);
  const minRows = options.minRows ?? DEFAULT_MIN_ROWS;
  if (!Number.isInteger(minRows) || minRows < 0) throw new Error(`--min-rows must be a non-negative integer; got ${minRows}`);

  const sellerAddress = await seller.getAddress();
  const datasetId = solidityPackedKeccak256(["address", "string"], [sellerAddress, name]);
  const registry = new Contract(state.contracts.registry, loadArtifact("DatasetRegistry").abi, seller);
  if (await registry.isRegistered(datasetId)) {
    throw new Error(`dataset ${sellerAddress}/${name} is already registered (id ${datasetId}); choose another --name`);
  }

  const minStake: bigint = await registry.minStake();
  let stake = minStake;
  if (options.stake !== undefined) {
    try {
      stake = parseUnits(options.stake, PAYMENT_DECIMALS);
    } catch {
      throw new Error(`--stake must be a decimal amount of the payment token; got "${options.stake}"`);
    }
    if (stake < minStake) throw new Error(`--stake ${options.stake} is below the registry's minimum stake of ${formatUnits(minStake, PAYMENT_DECIMALS)}`);
  }
  const token = new Contract(await registry.paymentToken(), loadArtifact("DevPaymentToken").abi, seller);
  const held: bigint = await token.balanceOf(sellerAddress);
  if (held < stake) {
    throw new Error(`listing a dataset locks a stake of ${formatUnits(stake, PAYMENT_DECIMALS)} but ${sellerAddress} holds ${formatUnits(held, PAYMENT_DECIMALS)}`);
  }

  const { rowCount, columns } = await options.table();
  options.progress?.({ stage: "read", rows: rowCount, columns: columns.length });
  if (rowCount < minRows) {
    throw new Error(`${options.source} has ${rowCount} rows but the policy's minimum is ${minRows}: no computation could ever run over it alone; lower --min-rows`);
  }
  const commitments = await shareAndUpload({
    transport: options.transport,
    seller,
    datasetId,
    name,
    columns: columns.map((c) => ({ ...c.schema, values: c.values, valid: c.valid })),
    progress: options.progress,
  });

  const schemaColumns = columns.map((c) => c.schema);
  const schema = schemaText(schemaColumns);
  const policy = { allowedAlgorithms: allow.map(algorithmId), minRows, budget, exactAlgorithms: exact.map(algorithmId) };
  if (stake > 0n && (await token.allowance(sellerAddress, state.contracts.registry)) < stake) {
    await (await token.approve(state.contracts.registry, stake)).wait();
  }
  const tx = await registry.registerDataset(name, schema, rowCount, price, commitments, policy, stake);
  options.progress?.({ stage: "registering", txHash: tx.hash });
  await tx.wait();
  return {
    datasetId,
    address: `${sellerAddress}/${name}`,
    rowCount,
    columns: schemaColumns,
    columnSummaries: columns.map((c) => ({
      name: c.schema.name,
      type: c.kind,
      scale: c.schema.scale,
      lo: c.schema.lo,
      hi: c.schema.hi,
      boundsDerived: c.boundsDerived,
      ...(c.kind === "category" ? { categories: c.schema.categories!.length, dictionaryDerived: c.dictionaryDerived } : {}),
      missing: c.missing,
    })),
    derivedBounds: columns.filter((c) => c.boundsDerived).map((c) => c.schema.name),
    pendingHostChanges: await pendingHostChanges(state, seller),
    commitments,
    plaintextSums: Object.fromEntries(columns.filter((c) => c.kind !== "category").map((c) => [c.schema.name, c.plaintextSum])),
    allowedAlgorithms: allow,
    exactAlgorithms: exact,
    minRows,
    budget: formatEpsilon(budget),
    stake: stake.toString(),
    txHash: tx.hash,
  };
}

/** What {@link manageDataset} did: a sentence for the seller, and the new state for a script. */
export interface ManagedDataset {
  /** The dataset's id. */
  id: string;
  /** The seller acting. */
  account: string;
  action: "price" | "pause" | "resume" | "deregister" | "withdraw-stake";
  /** What changed, in one sentence. */
  message: string;
  /** `price`: the new price per computation, in payment-token units (decimal string). */
  price?: string;
  /** `pause`, `resume`: whether the dataset is for sale now. */
  active?: boolean;
  /** `deregister`: when the stake unlocks (ISO 8601), null when the receipt did not say. */
  stakeUnlocksAt?: string | null;
  /** `deregister`: the stake locked until then; `withdraw-stake`: the stake withdrawn (decimal token units). */
  stake?: string;
}

/**
 * A seller's actions on a listed dataset: change its price, pause or resume
 * sales, deregister it (its stake unlocks after the registry's cooldown),
 * take the stake back.
 *
 * @example
 * const { message } = await manageDataset({ state, seller, datasetId, action: { kind: "price", price: "12.5" } });
 */
export async function manageDataset(options: {
  state: StackState;
  seller: Signer;
  datasetId: string;
  action: { kind: "price"; price: string } | { kind: "active"; active: boolean } | { kind: "deregister" } | { kind: "withdraw-stake" };
}): Promise<ManagedDataset> {
  const { state, seller, action } = options;
  const registry = new Contract(state.contracts.registry, loadArtifact("DatasetRegistry").abi, seller);
  const me = await seller.getAddress();
  const { id: datasetId, dataset } = await ownDataset(registry, options.datasetId, me);
  const done = { id: datasetId, account: me };
  switch (action.kind) {
    case "price": {
      let price: bigint;
      try {
        price = parseUnits(action.price, PAYMENT_DECIMALS);
      } catch {
        throw new Error(`--price must be a decimal amount of the payment token; got "${action.price}"`);
      }
      await (await registry.setPrice(datasetId, price)).wait();
      return { ...done, action: "price", message: `price of ${datasetId} set to ${action.price} mUSD`, price: formatUnits(price, PAYMENT_DECIMALS) };
    }
    case "active":
      await (await registry.setDatasetActive(datasetId, action.active)).wait();
      return {
        ...done,
        action: action.active ? "resume" : "pause",
        message: `${datasetId} ${action.active ? "resumed" : "paused"}`,
        active: action.active,
      };
    case "deregister": {
      const receipt = await (await registry.deregisterDataset(datasetId)).wait();
      const event = receipt.logs.map((l: { topics: string[]; data: string }) => {
        try {
          return registry.interface.parseLog(l);
        } catch {
          return null;
        }
      }).find((p: { name: string } | null) => p?.name === "DatasetDeregistered");
      const unlocksAt = event ? new Date(Number(event.args.stakeReleaseTime) * 1000).toISOString() : null;
      return {
        ...done,
        action: "deregister",
        message: `${datasetId} deregistered; its stake unlocks at ${unlocksAt ?? "after the cooldown"}`,
        stakeUnlocksAt: unlocksAt,
        stake: formatUnits(dataset.stake as bigint, PAYMENT_DECIMALS),
      };
    }
    case "withdraw-stake": {
      const releaseTime = dataset.stakeReleaseTime as bigint;
      if (releaseTime === 0n) throw new Error(`dataset ${datasetId} is still listed: deregister it first`);
      const latest = await seller.provider!.getBlock("latest");
      if (latest && BigInt(latest.timestamp) < releaseTime) {
        throw new Error(`the stake of ${datasetId} unlocks at ${new Date(Number(releaseTime) * 1000).toISOString()}`);
      }
      await (await registry.withdrawStake(datasetId)).wait();
      const stake = formatUnits(dataset.stake as bigint, PAYMENT_DECIMALS);
      return { ...done, action: "withdraw-stake", message: `withdrew the stake of ${stake} mUSD of ${datasetId}`, stake };
    }
  }
}
