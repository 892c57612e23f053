import { readFileSync } from "node:fs";
import { endianness } from "node:os";
import wabtInit from "wabt";
import { assertDivisor, assertSameLengths, log2Exact, type VectorKernels } from "./vector-kernels.ts";

// The .wat text next to this file is compiled in memory once, when this module
// is first imported; nothing generated is kept on disk.

type Kernel = (...args: (number | bigint)[]) => void;

interface KernelExports {
  memory: WebAssembly.Memory;
  [name: string]: Kernel | WebAssembly.Memory;
}

// Operands are copied into fixed slots of the module's memory chunk by chunk:
// 16,384 words (128 KiB) per slot, slot 0 the output and up to 6 inputs, so
// the working set of one chunk stays in L2 and the memory never grows (which
// would detach the views below).
const CHUNK = 16_384;
const SLOTS = 7;
const SLOT_BYTES = CHUNK * 8;

async function compile(): Promise<KernelExports> {
  // Typed arrays are host-endian and the kernels read memory little-endian.
  if (endianness() !== "LE") throw new Error("the WebAssembly kernels need a little-endian host");
  const source = readFileSync(new URL("./ring-kernels.wat", import.meta.url), "utf8");
  const wabt = await wabtInit();
  const parsed = wabt.parseWat("ring-kernels.wat", source);
  try {
    parsed.validate();
    const { buffer } = parsed.toBinary({});
    const instance = new WebAssembly.Instance(new WebAssembly.Module(new Uint8Array(buffer)), {});
    return instance.exports as unknown as KernelExports;
  } finally {
    parsed.destroy();
  }
}

const exportsOf = await compile();
if (exportsOf.memory.buffer.byteLength < SLOTS * SLOT_BYTES) throw new Error("kernel memory smaller than its slots");
const slots = Array.from({ length: SLOTS }, (_, j) => new BigUint64Array(exportsOf.memory.buffer, j * SLOT_BYTES, CHUNK));
const OFFSETS = Array.from({ length: SLOTS }, (_, j) => j * SLOT_BYTES);

function kernel(name: string): Kernel {
  const f = exportsOf[name];
  if (typeof f !== "function") throw new Error(`kernel ${name} missing from ring-kernels.wat`);
  return f;
}

/**
 * Runs one kernel over whole vectors: copies a chunk of every input into its
 * slot, calls the kernel on the chunk, copies the chunk of output out.
 */
function run(f: Kernel, inputs: BigUint64Array[], scalars: bigint[], out: BigUint64Array | undefined): BigUint64Array {
  const n = assertSameLengths(...inputs);
  const o = out ?? new BigUint64Array(n);
  assertSameLengths(inputs[0], o);
  const args: (number | bigint)[] = [OFFSETS[0], ...inputs.map((_, j) => OFFSETS[j + 1]), ...scalars, 0];
  const last = args.length - 1;
  for (let start = 0; start < n; start += CHUNK) {
    const len = Math.min(CHUNK, n - start);
    for (let j = 0; j < inputs.length; j++) slots[j + 1].set(inputs[j].subarray(start, start + len));
    args[last] = len;
    f(...args);
    o.set(len === CHUNK ? slots[0] : slots[0].subarray(0, len), start);
  }
  return o;
}

function shiftCount(k: number): bigint {
  if (!Number.isInteger(k) || k < 0 || k > 63) throw new RangeError(`shift out of range: ${k}`);
  return BigInt(k);
}

const K = {
  add: kernel("add"),
  sub: kernel("sub"),
  mul: kernel("mul"),
  xor: kernel("xor"),
  and: kernel("and"),
  addScalar: kernel("add_scalar"),
  mulScalar: kernel("mul_scalar"),
  xorScalar: kernel("xor_scalar"),
  andScalar: kernel("and_scalar"),
  shl: kernel("shl"),
  shr: kernel("shr"),
  mulCross: kernel("mul_cross"),
  andCross: kernel("and_cross"),
  maskAdd: kernel("mask_add"),
  maskXor: kernel("mask_xor"),
  truncSumDiv: kernel("trunc_sum_div"),
  truncSumShr: kernel("trunc_sum_shr"),
  truncNegDiv: kernel("trunc_neg_div"),
  truncNegShr: kernel("trunc_neg_shr"),
};

/**
 * The WebAssembly kernels (ring-kernels.wat): i64 arithmetic wraps mod 2^64,
 * so each element costs a few machine instructions instead of BigInt
 * allocations.
 *
 * @example
 * wasmKernels.mul(BigUint64Array.of(3n), BigUint64Array.of(2n ** 63n)) // [2n ** 63n]
 */
export const wasmKernels: VectorKernels = {
  name: "wasm",
  add: (x, y, out) => run(K.add, [x, y], [], out),
  sub: (x, y, out) => run(K.sub, [x, y], [], out),
  mul: (x, y, out) => run(K.mul, [x, y], [], out),
  xor: (x, y, out) => run(K.xor, [x, y], [], out),
  and: (x, y, out) => run(K.and, [x, y], [], out),
  addScalar: (x, c, out) => run(K.addScalar, [x], [c], out),
  mulScalar: (x, c, out) => run(K.mulScalar, [x], [c], out),
  xorScalar: (x, c, out) => run(K.xorScalar, [x], [c], out),
  andScalar: (x, c, out) => run(K.andScalar, [x], [c], out),
  shl: (x, k, out) => run(K.shl, [x], [shiftCount(k)], out),
  shr: (x, k, out) => run(K.shr, [x], [shiftCount(k)], out),
  mulCross: (xa, xb, ya, yb, fNext, fPrev, out) => run(K.mulCross, [xa, xb, ya, yb, fNext, fPrev], [], out),
  andCross: (xa, xb, ya, yb, fNext, fPrev, out) => run(K.andCross, [xa, xb, ya, yb, fNext, fPrev], [], out),
  maskAdd: (z, fNext, fPrev, out) => run(K.maskAdd, [z, fNext, fPrev], [], out),
  maskXor: (z, fNext, fPrev, out) => run(K.maskXor, [z, fNext, fPrev], [], out),
  truncSum(a, b, r, d, out) {
    assertDivisor(d);
    const k = log2Exact(d);
    // A shift costs one cycle, a 64-bit division tens: decimal scales pay it.
    return k >= 0 ? run(K.truncSumShr, [a, b, r], [BigInt(k)], out) : run(K.truncSumDiv, [a, b, r], [d], out);
  },
  truncNeg(x, d, out) {
    assertDivisor(d);
    const k = log2Exact(d);
    return k >= 0 ? run(K.truncNegShr, [x], [BigInt(k)], out) : run(K.truncNegDiv, [x], [d], out);
  },
};
