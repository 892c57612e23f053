// Library API of the MPC engine: used by the seller CLI (sharing, encoding,
// commitments), the bridge (result packing) and the buyer (opening results).
export { MpcError, isMpcError, type MpcErrorCode } from "./errors.ts";
export { RING_MODULUS, toRing, toSigned, ringAdd, ringSub, ringSum, addVectors, subVectors } from "./ring.ts";
export { MAX_SCALE, encodeFixedPoint, decodeFixedPoint } from "./fixed-point.ts";
export { shareColumn, reconstruct, type HostShare, type RandomFill } from "./sharing.ts";
export {
  SHARE_DOMAIN,
  UPLOAD_DOMAIN,
  encodeRingVector,
  decodeRingVector,
  datasetIdOf,
  encodeShare,
  shareCommitment,
  uploadDigest,
  type ColumnShareBytes,
  type ShareCommitmentInput,
} from "./share-encoding.ts";
export {
  ENVELOPE_VERSION,
  generateBuyerKeyPair,
  encryptOutputShare,
  decryptOutputShare,
  packResult,
  unpackResult,
  openResult,
  combineOutputShares,
  type BuyerKeyPair,
  type OutputSharePair,
} from "./output-envelope.ts";
export {
  WRAPPED_VERSION,
  WRAPPED_HEADER_BYTES,
  newReleaseKey,
  releaseKeyHash,
  wrapEnvelope,
  wrappedKeyHash,
  unwrapEnvelope,
} from "./release-key.ts";
export {
  ALGORITHMS,
  COMPARABLE_LIMIT,
  COMPARATORS,
  EXTRA_DIGITS,
  MAX_CATEGORIES,
  MAX_HISTOGRAM_EDGES,
  MAX_ROWS,
  SCHEMA_TYPES,
  checkSchemaColumn,
  columnKind,
  decodeResult,
  openedCount,
  parseSchemaText,
  planComputation,
  schemaText,
  type AlgorithmDeclaration,
  type AlgorithmResult,
  type ColumnKind,
  type ColumnRef,
  type Comparator,
  type DatasetSchema,
  type Plan,
  type SchemaColumn,
  type SchemaType,
} from "./algorithms/catalog.ts";
export {
  BOOTSTRAP_DRAWS,
  describeNoise,
  type Interval,
  type NoiseDescription,
  type NoisyStatisticDescription,
} from "./algorithms/describe-noise.ts";
export { MECHANISM, MIN_MAX_BINS, TAIL_MULTIPLE, type DpPlan, type DpRelease } from "./algorithms/privacy-plan.ts";
export { INTERVAL_TAIL, noiseQuantile, threeTermTail } from "./algorithms/noise-tail.ts";
export type { Ratio } from "./protocol/discrete-laplace.ts";
export { boundText, centreOf, halfWidth, parseColumnBounds, type ColumnBounds } from "./algorithms/column-bounds.ts";
export {
  MAX_CHUNKS,
  RING_EXACT_LIMIT,
  ROW_LIMIT,
  decodeSum,
  openedWidth,
  planSum,
  type Accumulation,
  type BoundedColumn,
  type PlannedSum,
  type SumFactor,
} from "./algorithms/sum-plan.ts";
export { Rational, isqrt } from "./algorithms/rational.ts";
export {
  QUERY_ALGORITHM,
  QUERY_RESTRICTED_ENTRY,
  queryAggregateEntry,
  datasetRefId,
  decodeJob,
  jobAlgorithms,
  jobColumns,
  jobOpenedCount,
  planJob,
  queryFunctions,
  queryParams,
  querySchema,
  querySql,
  runJob,
  type JobPlan,
  type JobResult,
} from "./plan/job-plan.ts";
export { decodeQuery, planQuery, queryOpenedCount, type QueryPlan, type QueryResult } from "./plan/index.ts";
export { describeQueryNoise, QUERY_BOOTSTRAP_DRAWS, type QueryNoise, type StatisticNoise } from "./plan/describe-query-noise.ts";
