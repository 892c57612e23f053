// One host's share of a column must look like uniform noise whatever the
// column holds: the privacy of replicated sharing rests on it. A constant
// column is the hardest case for a leak to hide in, so these tests share one
// (42 everywhere, and all zeros) and run simple statistical tests on the
// host's components and on the bytes its share store writes to disk. A
// broken seller RNG must make the same tests fail, or they prove nothing.
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomFillSync } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeRingVector, reconstruct, shareColumn, shareCommitment, type RandomFill } from "../src/index.ts";
import { createShareStore } from "../src/host/index.ts";

const ROWS = 200_000;
// Tolerances in standard deviations. With a few hundred bounds checked per
// run, 6σ keeps the chance of a spurious failure near one in a million while
// still being far inside what any real bias produces.
const SIGMAS = 6;
const BYTE_VALUES = 256;
const CHI_SQUARE_DF = BYTE_VALUES - 1;
const CHI_SQUARE_LIMIT = CHI_SQUARE_DF + SIGMAS * Math.sqrt(2 * CHI_SQUARE_DF);

const dirs: string[] = [];
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

/** Little-endian bytes of a vector, viewed (not copied). */
function bytesOf(values: BigUint64Array): Uint8Array {
  return encodeRingVector(values);
}

/** Statistics of a byte string read as consecutive little-endian u64 rows. */
interface Uniformity {
  rows: number;
  /** Frequency of 1 at each of the 64 bit positions (0 = least significant). */
  bitFrequency: number[];
  /** Pearson chi-square of the byte-value histogram against uniform (255 degrees of freedom). */
  chiSquare: number;
  /** Fraction of consecutive row pairs whose low bytes are equal (uniform: 1/256). */
  equalLowBytes: number;
  /** Lag-1 correlation of the rows' high 32 bits (uniform: 0); 1 when they never vary. */
  serialCorrelation: number;
}

function measure(bytes: Uint8Array): Uniformity {
  assert.equal(bytes.length % 8, 0);
  const rows = bytes.length / 8;
  // One pass: a byte-value histogram per byte position within the row; bit
  // frequencies and the overall histogram follow from it.
  const histograms = Array.from({ length: 8 }, () => new Float64Array(BYTE_VALUES));
  for (let i = 0; i < bytes.length; i++) histograms[i & 7][bytes[i]]++;
  const bitFrequency: number[] = [];
  for (let position = 0; position < 8; position++) {
    for (let bit = 0; bit < 8; bit++) {
      let ones = 0;
      for (let v = 0; v < BYTE_VALUES; v++) if ((v >> bit) & 1) ones += histograms[position][v];
      bitFrequency.push(ones / rows);
    }
  }
  const expected = bytes.length / BYTE_VALUES;
  let chiSquare = 0;
  for (let v = 0; v < BYTE_VALUES; v++) {
    const observed = histograms.reduce((sum, h) => sum + h[v], 0);
    chiSquare += (observed - expected) ** 2 / expected;
  }

  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let equal = 0;
  let sx = 0;
  let sy = 0;
  let sxx = 0;
  let syy = 0;
  let sxy = 0;
  for (let k = 0; k + 1 < rows; k++) {
    if (bytes[8 * k] === bytes[8 * (k + 1)]) equal++;
    // Scaled to [0, 1) so the sums stay exact enough in doubles.
    const x = view.getUint32(8 * k + 4, true) / 2 ** 32;
    const y = view.getUint32(8 * (k + 1) + 4, true) / 2 ** 32;
    sx += x;
    sy += y;
    sxx += x * x;
    syy += y * y;
    sxy += x * y;
  }
  const pairs = rows - 1;
  const cov = sxy / pairs - (sx / pairs) * (sy / pairs);
  const vx = sxx / pairs - (sx / pairs) ** 2;
  const vy = syy / pairs - (sy / pairs) ** 2;
  const serialCorrelation = vx <= 0 || vy <= 0 ? 1 : cov / Math.sqrt(vx * vy);
  return { rows, bitFrequency, chiSquare, equalLowBytes: equal / pairs, serialCorrelation };
}

/** The four bounds, each as a readable failure or undefined. */
function violations(u: Uniformity): { bits?: string; bytes?: string; equalLowBytes?: string; correlation?: string } {
  const bitBound = SIGMAS * (0.5 / Math.sqrt(u.rows));
  const badBits = u.bitFrequency.flatMap((f, bit) => (Math.abs(f - 0.5) < bitBound ? [] : [`bit ${bit}: ${f.toFixed(4)}`]));
  const p = 1 / BYTE_VALUES;
  const equalBound = SIGMAS * Math.sqrt((p * (1 - p)) / (u.rows - 1));
  const correlationBound = SIGMAS / Math.sqrt(u.rows - 1);
  return {
    bits: badBits.length === 0 ? undefined : `bit frequency outside 0.5 ± ${bitBound.toFixed(4)}: ${badBits.slice(0, 4).join(", ")}`,
    bytes: u.chiSquare < CHI_SQUARE_LIMIT ? undefined : `byte chi-square ${u.chiSquare.toFixed(1)} ≥ ${CHI_SQUARE_LIMIT.toFixed(1)}`,
    equalLowBytes:
      Math.abs(u.equalLowBytes - p) < equalBound
        ? undefined
        : `equal low bytes in consecutive rows ${u.equalLowBytes.toFixed(5)}, expected ${p.toFixed(5)} ± ${equalBound.toFixed(5)}`,
    correlation:
      Math.abs(u.serialCorrelation) < correlationBound
        ? undefined
        : `lag-1 correlation ${u.serialCorrelation.toFixed(4)} outside ±${correlationBound.toFixed(4)}`,
  };
}

function assertUniform(bytes: Uint8Array, what: string): void {
  const found = Object.values(violations(measure(bytes))).filter((v) => v !== undefined);
  assert.deepEqual(found, [], `${what} does not look uniform`);
}

function constantColumn(value: bigint): BigUint64Array {
  return new BigUint64Array(ROWS).fill(value);
}

/** How many 8-byte rows of `bytes` equal `value`: a uniform share hits a fixed value with probability 2^-64. */
function occurrences(bytes: Uint8Array, value: bigint): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let n = 0;
  for (let off = 0; off < bytes.length; off += 8) if (view.getBigUint64(off, true) === value) n++;
  return n;
}

/**
 * Stores host 0's share in a real share store, with its share of the
 * column's validity (every cell present: itself a constant column), and
 * returns the payload bytes of the file it wrote.
 */
async function storedPayload(share: { a: BigUint64Array; b: BigUint64Array }): Promise<Uint8Array> {
  const dataDir = await mkdtemp(join(tmpdir(), "scmpc-uniformity-"));
  dirs.push(dataDir);
  const datasetId = "0x" + "ab".repeat(32);
  const [valid] = shareColumn(constantColumn(1n));
  // The bounds are schema metadata; the store does not look at the values.
  const columns = [
    {
      name: "v",
      scale: 0,
      lo: "-100",
      hi: "100",
      a: encodeRingVector(share.a),
      b: encodeRingVector(share.b),
      validA: encodeRingVector(valid.a),
      validB: encodeRingVector(valid.b),
    },
  ];
  const rowCount = BigInt(share.a.length);
  const commitment = shareCommitment({ datasetId, hostIndex: 0, rowCount, columns });
  await createShareStore({ dataDir, hostIndex: 0 }).put({
    datasetId,
    seller: "0x" + "22".repeat(20),
    name: "constant",
    hostIndex: 0,
    rowCount,
    commitment,
    signature: "0x",
    columns,
  });
  const file = await readFile(join(dataDir, "datasets", `${datasetId}.${commitment.slice(2)}.share`));
  // File layout (share-store.ts): magic(8) | u32 LE header length | header JSON | column a | column b | validA | validB.
  const payload = file.subarray(12 + file.readUInt32LE(8));
  assert.equal(payload.length, 32 * share.a.length, "the stored payload is exactly the four components");
  return payload;
}

describe("a host's share of a constant column looks uniform", () => {
  for (const value of [42n, 0n]) {
    describe(`every row equal to ${value}`, () => {
      const column = constantColumn(value);
      const shares = shareColumn(column);
      const [host0] = shares;

      it("is a sharing of the column (the shares reconstruct it)", () => {
        assert.deepEqual(reconstruct(shares), column);
      });

      it("host 0's component a (x0) passes bit, byte and serial tests", () => {
        assertUniform(bytesOf(host0.a), "host 0's a");
      });

      it("host 0's component b (x1) passes bit, byte and serial tests", () => {
        assertUniform(bytesOf(host0.b), "host 0's b");
      });

      it("host 0's two components are unrelated row by row (equal low bytes near 1/256)", () => {
        const a = bytesOf(host0.a);
        const b = bytesOf(host0.b);
        let equal = 0;
        for (let k = 0; k < ROWS; k++) if (a[8 * k] === b[8 * k]) equal++;
        const p = 1 / BYTE_VALUES;
        const bound = SIGMAS * Math.sqrt((p * (1 - p)) / ROWS);
        assert.ok(Math.abs(equal / ROWS - p) < bound, `a and b share their low byte in ${equal} of ${ROWS} rows`);
      });

      // Host 0 holds (x0, x1), the seller's raw randomness; x2 = x - x0 - x1
      // is the only component computed from the data, so test it too.
      it("the data-dependent component x2 (host 1's b, host 2's a) passes the same tests", () => {
        assert.equal(shares[1].b, shares[2].a);
        assertUniform(bytesOf(shares[2].a), "x2");
      });

      it("the bytes host 0's share store writes, validity shares included, pass the same tests and never contain the value", async () => {
        const payload = await storedPayload(host0);
        assertUniform(payload, "host 0's stored bytes");
        assert.equal(occurrences(payload, value), 0);
      });
    });
  }
});

describe("the same tests fail on shares made with a broken RNG", () => {
  it("an RNG returning zeros: host 0's component b fails every bound", () => {
    const zeros: RandomFill = (bytes) => bytes.fill(0);
    const [host0] = shareColumn(constantColumn(42n), zeros);
    const v = violations(measure(bytesOf(host0.b)));
    assert.ok(v.bits, "bit frequencies");
    assert.ok(v.bytes, "byte chi-square");
    assert.ok(v.equalLowBytes, "equal low bytes");
    assert.ok(v.correlation, "serial correlation");
    // And x2 then carries the column in the clear.
    assert.equal(occurrences(bytesOf(shareColumn(constantColumn(42n), zeros)[2].a), 42n), ROWS);
  });

  it("an RNG with one stuck bit: the bit and byte tests catch it", () => {
    const stuck: RandomFill = (bytes) => {
      randomFillSync(bytes);
      for (let i = 7; i < bytes.length; i += 8) bytes[i] &= 0x7f; // bit 63 of every row always 0
    };
    const v = violations(measure(bytesOf(shareColumn(constantColumn(42n), stuck)[0].b)));
    assert.match(v.bits ?? "", /bit 63: 0\.0000/);
    assert.ok(v.bytes, "byte chi-square");
  });

  it("an RNG whose rows sometimes repeat the previous low byte: the serial test catches what the others miss", () => {
    const sticky: RandomFill = (bytes) => {
      randomFillSync(bytes);
      const coin = new Uint8Array(bytes.length / 8);
      randomFillSync(coin);
      // Each row's low byte copies the previous row's with probability 1/8;
      // marginally every byte stays uniform.
      for (let k = 1; k < coin.length; k++) if (coin[k] < 32) bytes[8 * k] = bytes[8 * (k - 1)];
    };
    const v = violations(measure(bytesOf(shareColumn(constantColumn(42n), sticky)[0].b)));
    assert.equal(v.bits, undefined);
    assert.equal(v.bytes, undefined);
    assert.ok(v.equalLowBytes, "equal low bytes");
  });
});
