// TypeScript shapes of the mpc.v1 messages as @grpc/proto-loader presents them
// (camelCase fields, uint64 as decimal strings, bytes as Buffer).

export interface ColumnShare {
  name: string;
  scale: number;
  a: Buffer;
  b: Buffer;
  /** Public lower bound: a canonical decimal at the column's scale. */
  lo: string;
  /** Public upper bound: a canonical decimal at the column's scale. */
  hi: string;
  /** "category", "bool" or "date"; "" (or absent when sending) for an int or decimal column. */
  type?: string;
  /** A category column's public dictionary; empty (or absent when sending) otherwise. */
  categories?: string[];
  /** Component v_i of the validity vector (1 present, 0 missing). */
  validA: Buffer;
  /** Component v_{i+1} of the validity vector. */
  validB: Buffer;
}

export interface UploadSharesRequest {
  datasetId: string;
  seller: string;
  name: string;
  hostIndex: number;
  rowCount: string;
  columns: ColumnShare[];
  commitment: string;
  signature: string;
  /** 32-byte seed every column's `a` and `validA` are expanded from (then sent empty); empty or absent when they are sent. */
  seedA?: Buffer;
  /** Likewise for `b` and `validB`. */
  seedB?: Buffer;
  /** The share encoding the commitment is over: "scmpc-share-v5", or empty or absent for "scmpc-share-v4". */
  shareEncoding?: string;
}

/** One message of UploadSharesStream: the header (columns without vectors) first, then pieces of the vectors' bytes. */
export type UploadSharesPiece = { header: UploadSharesRequest; data?: undefined } | { data: Buffer; header?: undefined };

export interface UploadSharesResponse {
  datasetId: string;
  commitment: string;
  hostIndex: number;
}

export interface ComputeRequest {
  requestId: string;
  algorithm: string;
  datasetIds: string[];
  params: string;
  buyerKey: string;
  consumer: string;
}

export interface ComputeResponse {
  requestId: string;
  hostIndex: number;
  encryptedOutput: Buffer;
  jobId: string;
}

export interface SignResultRequest {
  requestId: string;
  result: Buffer;
  consumer: string;
}

export interface ReleaseKeyRequest {
  requestId: string;
  consumer: string;
}

export interface ReleaseKeyResponse {
  requestId: string;
  hostIndex: number;
  key: Buffer;
  jobId: string;
}

export interface SignResultResponse {
  requestId: string;
  hostIndex: number;
  signature: string;
  signer: string;
}

export interface HealthResponse {
  hostIndex: number;
  status: string;
  version: string;
}

export interface PeerFrame {
  messageId: number;
  jobId: string;
  step: number;
  fromHost: number;
  chunkIndex: number;
  chunkCount: number;
  totalLength: number;
  data: Buffer;
  bootId: string;
  /** Padding before `data` on the wire (see host_peer.proto); ignored. */
  align?: Buffer;
}

export interface PeerAck {
  messageId: number;
  accepted: boolean;
  errorCode: string;
  errorMessage: string;
  bootId: string;
}
