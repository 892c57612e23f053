// SPDX-License-Identifier: MIT
pragma solidity 0.8.19;

import {Chainlink} from "@chainlink/contracts/src/v0.8/operatorforwarder/Chainlink.sol";
import {ChainlinkClient} from "@chainlink/contracts/src/v0.8/operatorforwarder/ChainlinkClient.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Strings} from "@openzeppelin/contracts/utils/Strings.sol";

import {DatasetRegistry} from "./DatasetRegistry.sol";

/// @title SumComputation
/// @notice Sells one statistic, the sum of a column ("sum@1"), over a registered dataset.
/// A buyer escrows the dataset's price; a Chainlink direct request asks the MPC bridge
/// for the result; the fulfilment stores it and credits the seller, or, when the bridge
/// reports an error (empty result), refunds the buyer. Payouts are pull payments.
/// @dev One contract is deployed per algorithm. The contract must hold LINK to pay the
/// operator `linkFee` per request. Fee-on-transfer payment tokens are not supported:
/// the escrow assumes `price` arrives in full.
/// Leaks to the buyer: the column's sum only (and, publicly, that a request was made).
contract SumComputation is ChainlinkClient {
  using Chainlink for Chainlink.Request;
  using SafeERC20 for IERC20;

  /// @notice Lifecycle of a request. `Refunded` is reserved for a market deadline.
  enum RequestStatus {
    None,
    Pending,
    Fulfilled,
    Failed,
    Refunded
  }

  /// @notice A buyer's request and, once fulfilled, its result.
  /// @param buyer Who paid and receives the result (encrypted to `buyerKey`).
  /// @param datasetId The dataset computed over.
  /// @param column The column summed.
  /// @param buyerKey The buyer's public key the hosts encrypt the result to.
  /// @param price The escrowed price (the dataset's price when requested).
  /// @param status Where the request is in its lifecycle.
  /// @param result The bytes the bridge returned; empty unless Fulfilled.
  struct ComputationRequest {
    address buyer;
    bytes32 datasetId;
    string column;
    bytes32 buyerKey;
    uint256 price;
    RequestStatus status;
    bytes result;
  }

  /// @notice A constructor argument was the zero address.
  error SumComputation__ZeroAddress();
  /// @notice The dataset exists but its seller paused sales.
  error SumComputation__DatasetInactive(bytes32 datasetId);
  /// @notice The column name must not be empty.
  error SumComputation__EmptyColumn();
  /// @notice The account has no balance to withdraw.
  error SumComputation__NothingToWithdraw(address account);

  /// @notice Emitted when a buyer's request is escrowed and sent to the operator.
  event ComputationRequested(
    bytes32 indexed requestId,
    address indexed buyer,
    bytes32 indexed datasetId,
    string column,
    bytes32 buyerKey,
    uint256 price
  );
  /// @notice Emitted when a result is stored; `resultHash` is keccak256 of the result bytes.
  event ComputationFulfilled(bytes32 indexed requestId, bytes32 resultHash);
  /// @notice Emitted when the bridge reported an error (or an unusable result).
  event ComputationFailed(bytes32 indexed requestId);
  /// @notice Emitted when `amount` becomes withdrawable by `account` (seller payout or buyer refund).
  event PaymentCredited(address indexed account, bytes32 indexed requestId, uint256 amount);
  /// @notice Emitted when an account withdraws its balance.
  event PaymentWithdrawn(address indexed account, uint256 amount);

  string private constant ALGORITHM = "sum@1";
  /// @notice Results longer than this are treated as failures, so storing one can never
  /// run the callback out of gas (which would leave the request pending).
  uint256 public constant MAX_RESULT_LENGTH = 4096;

  DatasetRegistry private immutable i_registry;
  IERC20 private immutable i_paymentToken;
  bytes32 private immutable i_jobId;
  uint256 private immutable i_linkFee;

  mapping(bytes32 requestId => ComputationRequest) private s_requests;
  /// @dev The seller to pay, fixed when the price is escrowed.
  mapping(bytes32 requestId => address) private s_payees;
  mapping(address account => uint256) private s_balances;

  /// @param link The LINK token.
  /// @param operatorAddress The Chainlink Operator contract that runs the job.
  /// @param specId The external job id of the "sum@1" job on the node.
  /// @param fee LINK paid to the operator per request.
  /// @param paymentTokenAddress The ERC-20 buyers pay in.
  /// @param registryAddress The dataset registry.
  constructor(
    address link,
    address operatorAddress,
    bytes32 specId,
    uint256 fee,
    address paymentTokenAddress,
    address registryAddress
  ) {
    if (
      link == address(0) ||
      operatorAddress == address(0) ||
      paymentTokenAddress == address(0) ||
      registryAddress == address(0)
    ) {
      revert SumComputation__ZeroAddress();
    }
    _setChainlinkToken(link);
    _setChainlinkOracle(operatorAddress);
    i_jobId = specId;
    i_linkFee = fee;
    i_paymentToken = IERC20(paymentTokenAddress);
    i_registry = DatasetRegistry(registryAddress);
  }

  /// @notice Buys the sum of `column` over a dataset: escrows the dataset's price and sends
  /// the Chainlink request. The caller must first `approve` this contract for the price.
  /// @dev An unknown dataset reverts with the registry's `DatasetRegistry__UnknownDataset`.
  /// @param datasetId The dataset to compute over.
  /// @param column The column to sum, non-empty.
  /// @param buyerKey The buyer's public key; the hosts encrypt the result to it.
  /// @return requestId The Chainlink request id, the key for `getRequest`.
  function requestComputation(
    bytes32 datasetId,
    string calldata column,
    bytes32 buyerKey
  ) external returns (bytes32 requestId) {
    // Checks.
    if (bytes(column).length == 0) revert SumComputation__EmptyColumn();
    DatasetRegistry.Dataset memory dataset = i_registry.getDataset(datasetId);
    if (!dataset.active) revert SumComputation__DatasetInactive(datasetId);

    Chainlink.Request memory req = _buildOperatorRequest(i_jobId, this.fulfill.selector);
    req._add("algorithm", ALGORITHM);
    req._add("datasetId", Strings.toHexString(uint256(datasetId), 32));
    req._add("column", column);
    req._add("buyerKey", Strings.toHexString(uint256(buyerKey), 32));
    // The request id only exists once the request is sent; LINK and the operator are
    // trusted contracts fixed at deployment.
    requestId = _sendOperatorRequest(req, i_linkFee);

    // Effects.
    s_requests[requestId] = ComputationRequest({
      buyer: msg.sender,
      datasetId: datasetId,
      column: column,
      buyerKey: buyerKey,
      price: dataset.price,
      status: RequestStatus.Pending,
      result: ""
    });
    s_payees[requestId] = dataset.seller;
    emit ComputationRequested(requestId, msg.sender, datasetId, column, buyerKey, dataset.price);

    // Interactions: the payment token is arbitrary, so it is called last, once the
    // request is fully recorded. If the transfer fails the whole request reverts.
    i_paymentToken.safeTransferFrom(msg.sender, address(this), dataset.price);
  }

  /// @notice Chainlink callback, called by the Operator with the bridge's answer.
  /// @dev Never reverts after the guard: the Operator has already paid the node, so a
  /// revert would strand the escrow. A non-empty result (at most MAX_RESULT_LENGTH bytes)
  /// is stored and the seller credited; anything else fails the request and credits
  /// the buyer a refund. Only storage is written here; no external calls.
  /// @param requestId The request being answered.
  /// @param result The result bytes; empty means the bridge reported an error.
  function fulfill(bytes32 requestId, bytes calldata result) external recordChainlinkFulfillment(requestId) {
    ComputationRequest storage request = s_requests[requestId];
    // Only this contract creates pending Chainlink requests, and each is recorded as
    // Pending in the same transaction; the check keeps `fulfill` total anyway.
    if (request.status != RequestStatus.Pending) return;

    uint256 price = request.price;
    if (result.length == 0 || result.length > MAX_RESULT_LENGTH) {
      address buyer = request.buyer;
      request.status = RequestStatus.Failed;
      s_balances[buyer] += price;
      emit ComputationFailed(requestId);
      emit PaymentCredited(buyer, requestId, price);
      return;
    }

    address seller = s_payees[requestId];
    request.status = RequestStatus.Fulfilled;
    request.result = result;
    s_balances[seller] += price;
    emit ComputationFulfilled(requestId, keccak256(result));
    emit PaymentCredited(seller, requestId, price);
  }

  /// @notice Sends the caller everything credited to it (seller payouts and buyer refunds).
  function withdraw() external {
    uint256 amount = s_balances[msg.sender];
    if (amount == 0) revert SumComputation__NothingToWithdraw(msg.sender);
    // Zero before transferring so a re-entrant token cannot withdraw twice.
    s_balances[msg.sender] = 0;
    emit PaymentWithdrawn(msg.sender, amount);
    i_paymentToken.safeTransfer(msg.sender, amount);
  }

  /// @notice The balance `account` can withdraw.
  /// @param account The account.
  /// @return The amount in the payment token.
  function withdrawable(address account) external view returns (uint256) {
    return s_balances[account];
  }

  /// @notice A request by id; `status` is None for an unknown id.
  /// @param requestId The Chainlink request id.
  /// @return The request.
  function getRequest(bytes32 requestId) external view returns (ComputationRequest memory) {
    return s_requests[requestId];
  }

  /// @notice The algorithm this contract sells, as sent in the Chainlink request.
  /// @return "sum@1".
  function algorithm() external pure returns (string memory) {
    return ALGORITHM;
  }

  /// @notice The dataset registry.
  /// @return The registry's address.
  function registry() external view returns (address) {
    return address(i_registry);
  }

  /// @notice The ERC-20 buyers pay in.
  /// @return The token's address.
  function paymentToken() external view returns (address) {
    return address(i_paymentToken);
  }

  /// @notice The LINK token used to pay the operator.
  /// @return The token's address.
  function linkToken() external view returns (address) {
    return _chainlinkTokenAddress();
  }

  /// @notice The Chainlink Operator requests are sent to.
  /// @return The operator's address.
  function operator() external view returns (address) {
    return _chainlinkOracleAddress();
  }

  /// @notice The node's job id for "sum@1".
  /// @return The job id.
  function jobId() external view returns (bytes32) {
    return i_jobId;
  }

  /// @notice LINK paid to the operator per request.
  /// @return The fee in juels (1e-18 LINK).
  function linkFee() external view returns (uint256) {
    return i_linkFee;
  }

  /// @notice The contract's type and version.
  /// @return "SumComputation 1.0.0".
  function typeAndVersion() external pure returns (string memory) {
    return "SumComputation 1.0.0";
  }
}
