// Vector kernels. `defaultKernels` is what the protocols use unless a party is
// given others; `bigintKernels` is the reference the tests compare against.
export { type VectorKernels, log2Exact } from "./vector-kernels.ts";
export { wasmKernels } from "./wasm-kernels.ts";
export { bigintKernels } from "./bigint-kernels.ts";
export { typedKernels, typedKernels as defaultKernels } from "./typed-kernels.ts";
