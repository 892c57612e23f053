// Host-to-host TLS material: creating a deployment's CA and host
// certificates, fingerprints, and loading a host's own material.
export {
  createTlsMaterial,
  readTlsMaterial,
  writeHostBundles,
  hostCertificateName,
  type TlsMaterial,
  type HostTlsFiles,
  type HostTlsBundle,
} from "./tls-material.ts";
export { certificateFingerprint, normaliseFingerprint, type CertificateFingerprint } from "./fingerprint.ts";
export { loadPeerTls, type PeerTls } from "./peer-tls.ts";
export { runTlsCommand, TLS_USAGE, TlsUsageError } from "./command.ts";
export { hostApiChannelOptions, hostApiCredentials, readHostApiTls, type HostApiTls } from "./host-api.ts";
