// TypeScript shapes of the mpc.v1 messages as @grpc/proto-loader presents them
// (camelCase fields, uint64 as decimal strings, bytes as Buffer).

export interface ColumnShare {
  name: string;
  scale: number;
  a: Buffer;
  b: Buffer;
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
}

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
}

export interface SignResultRequest {
  requestId: string;
  result: Buffer;
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
  requestId: string;
  step: number;
  fromHost: number;
  chunkIndex: number;
  chunkCount: number;
  totalLength: number;
  data: Buffer;
}

export interface PeerAck {
  messageId: number;
  accepted: boolean;
  errorCode: string;
  errorMessage: string;
}
