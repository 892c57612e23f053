import { Interface } from "ethers";
import type { Log } from "ethers";

/** The Operator's events and the function the relay calls, as in `@chainlink/contracts` Operator.sol. */
export const OPERATOR_ABI = [
  "event OracleRequest(bytes32 indexed specId, address requester, bytes32 requestId, uint256 payment, address callbackAddr, bytes4 callbackFunctionId, uint256 cancelExpiration, uint256 dataVersion, bytes data)",
  "event OracleResponse(bytes32 indexed requestId)",
  "function fulfillOracleRequest2(bytes32 requestId, uint256 payment, address callbackAddress, bytes4 callbackFunctionId, uint256 expiration, bytes data) returns (bool)",
] as const;

export const operatorInterface = new Interface(OPERATOR_ABI);

/** One decoded `OracleRequest` log. */
export interface OracleRequest {
  specId: string;
  requester: string;
  requestId: string;
  payment: bigint;
  callbackAddr: string;
  callbackFunctionId: string;
  cancelExpiration: bigint;
  dataVersion: bigint;
  data: string;
  blockNumber: number;
  transactionHash: string;
}

/**
 * Decodes an Operator `OracleRequest` log (what a Chainlink node's
 * `ethabidecodelog` task does).
 *
 * @example
 * const request = parseOracleRequest(log);
 */
export function parseOracleRequest(log: Log): OracleRequest {
  const parsed = operatorInterface.parseLog({ topics: [...log.topics], data: log.data });
  if (!parsed || parsed.name !== "OracleRequest") throw new Error(`log ${log.transactionHash}:${log.index} is not an OracleRequest`);
  const a = parsed.args;
  return {
    specId: a.specId as string,
    requester: a.requester as string,
    requestId: a.requestId as string,
    payment: a.payment as bigint,
    callbackAddr: a.callbackAddr as string,
    callbackFunctionId: a.callbackFunctionId as string,
    cancelExpiration: a.cancelExpiration as bigint,
    dataVersion: a.dataVersion as bigint,
    data: a.data as string,
    blockNumber: log.blockNumber,
    transactionHash: log.transactionHash,
  };
}
