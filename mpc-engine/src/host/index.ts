// Host-side API: build and run an MPC host, plus the pieces tests and the
// bridge reuse (error-code decoding, the chain-reader interface).
export { loadHostConfig, type HostConfig, type HostIndex, type LogLevel, type PeerTlsFiles } from "./config.ts";
export { createHost, HOST_VERSION, type HostDeps, type MpcHost } from "./server.ts";
export {
  createEthersChainReader,
  readRequest,
  versionAtRequest,
  DATASET_REFRESHED_EVENT,
  REQUEST_STATUS_PENDING,
  REQUEST_STATUS_FULFILLED,
  type RequestedComputation,
  type ChainReader,
  type OnChainDataset,
  type OnChainRequest,
  type ChainPosition,
} from "./chain-reader.ts";
export { createShareStore, type ColumnRows, type PutResult, type ShareDigests, type ShareReader, type ShareStore, type StoredShare, type StoredShareHeader } from "./share-store.ts";
export { createPeerMailbox, type PeerMailbox, type MailboxMessage } from "./peer-mailbox.ts";
export { ERROR_CODE_METADATA, toServiceError, mpcErrorCodeOf, offenceAttestationOf } from "./grpc-status.ts";
export {
  OFFENCE_COMMITMENT_MISMATCH,
  OFFENCE_METADATA,
  OFFENCE_SHARE_MISSING,
  offenceDigest,
  parseOffenceAttestation,
  type Offence,
  type OffenceAttestation,
} from "./offence.ts";
export { peerClientTlsOptions, peerServerTlsOptions, hostServerCredentials } from "./credentials.ts";
export { createPeerClients, type PeerClients } from "./peer-client.ts";
export {
  BRIDGE_CALL_MAX_SKEW_MS,
  BRIDGE_ISSUED_AT_METADATA,
  BRIDGE_SIGNATURE_METADATA,
  bridgeCallDigest,
  signBridgeCall,
  verifyBridgeCall,
  type BridgeMethod,
} from "./bridge-auth.ts";
export { JOB_DOMAIN, jobIdOf, jobInputsHash, type JobInputs, type JobLocation } from "./job-identity.ts";
export { createPeerBoots, type PeerBoots } from "../channel/peer-boots.ts";
export { createJobExchange, type JobExchange } from "./job-exchange.ts";
