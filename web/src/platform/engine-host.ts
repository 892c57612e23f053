// The browser's @scmpc/mpc-engine/host: what a buyer derives as the hosts
// do (the job's identity, the dataset version a request bought), without the
// hosts' servers.
export { jobIdOf, jobInputsHash } from "../../../mpc-engine/src/host/job-identity.ts";
export { versionAtRequest, type ChainPosition } from "../../../mpc-engine/src/host/chain-reader.ts";
