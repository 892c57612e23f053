// The engine's browser entry: what a buyer's and a seller's client run —
// sharing and committing a table, planning a job, opening and decoding its
// result, describing its noise, a host upload's body — from the very modules
// Node uses (index.ts exports all of this, and the hosts' job runner). Nothing here reaches the hosts' runtime
// (protocol/, kernels/, channel/, gRPC, logging) or a `node:` module;
// test/browser-entry.test.ts bundles it for the browser to keep it so.
// Buffer, where the API returns one, is the global the app provides.
export { MpcError, isMpcError, type MpcErrorCode } from "./errors.ts";
export { RING_MODULUS, toRing, toSigned, ringAdd, ringSub, ringSum, addVectors, subVectors } from "./ring.ts";
export { MAX_SCALE, encodeFixedPoint, decodeFixedPoint } from "./fixed-point.ts";
export { shareColumn, shareColumnFromSeeds, shareConstantRemainderFromSeeds, shareRemainderFromSeeds, reconstruct, type HostShare, type RandomFill } from "./sharing.ts";
export { SHARE_SEED_BYTES, canExpandShareSeeds, expandShareSeed, expandShareSeedInPieces, expandShareSeedRows, hostSeeds, type SeededPart } from "./share-seeds.ts";
export {
  SHARE_DOMAIN,
  SHARE_DOMAIN_V3,
  SHARE_DOMAIN_V5,
  COMMITMENT_CHUNK_BYTES,
  UPLOAD_DOMAIN,
  encodeRingVector,
  decodeRingVector,
  ringVectorView,
  datasetIdOf,
  encodeShare,
  shareCommitment,
  shareCommitments,
  shareCommitmentV3,
  shareCommitmentOfDigests,
  shareCommitmentV5,
  shareCommitmentsV5,
  seededColumns,
  chunkDigests,
  ChunkDigester,
  type VectorDigests,
  type ShareDigestInput,
  type SeededVector,
  type ShareV5Input,
  uploadDigest,
  type ColumnShareBytes,
  type ShareCommitmentInput,
} from "./share-encoding.ts";
export {
  UPLOAD_HEADER_LENGTH_BYTES,
  encodeUploadBody,
  decodeUploadBody,
  type UploadBody,
  type UploadBodyColumn,
} from "./upload-wire.ts";
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
  type ResultValue,
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
  type JobPlan,
  type JobResult,
} from "./plan/plan-job.ts";
export { planQuery } from "./plan/plan-query.ts";
export { decodeQuery, type QueryResult } from "./plan/decode-query.ts";
export { queryOpenedCount } from "./plan/opened-count.ts";
export type { QueryPlan } from "./plan/query-plan.ts";
export { describeQueryNoise, QUERY_BOOTSTRAP_DRAWS, type QueryNoise, type StatisticNoise } from "./plan/describe-query-noise.ts";
export { parseQuery } from "./query/parse-query.ts";
export { QueryError, type QueryPosition } from "./query/query-error.ts";
export type { DatasetRef, Query } from "./query/query-ast.ts";
// What a buyer derives to find its job at the hosts (the hosts' own code, free of their runtime).
export { JOB_DOMAIN, jobIdOf, jobInputsHash, type JobInputs, type JobLocation } from "./host/job-identity.ts";
