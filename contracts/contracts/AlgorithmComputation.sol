// SPDX-License-Identifier: MIT
pragma solidity 0.8.19;

import {Chainlink} from "@chainlink/contracts/src/v0.8/operatorforwarder/Chainlink.sol";
import {ChainlinkClient} from "@chainlink/contracts/src/v0.8/operatorforwarder/ChainlinkClient.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Strings} from "@openzeppelin/contracts/utils/Strings.sol";

import {DatasetRegistry} from "./DatasetRegistry.sol";

/// @title AlgorithmComputation
/// @notice Sells one MPC algorithm (e.g. "mean@1") over one or several registered datasets
/// of the same schema. A buyer escrows the sum of the datasets' prices; a Chainlink direct
/// request asks the MPC bridge for the result; the fulfilment stores it and credits every
/// seller its dataset's price, or, when the bridge reports an error (empty result), refunds
/// the buyer. Payouts are pull payments.
/// @dev One contract is deployed per algorithm, as in Roman & Vu's design. The contract must
/// hold LINK to pay the operator `linkFee` per request. Fee-on-transfer payment tokens are
/// not supported: the escrow assumes the price arrives in full. What each algorithm's result
/// reveals is declared by the MPC engine's algorithm library, under the same name.
contract AlgorithmComputation is ChainlinkClient {
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
  /// @param datasetIds The datasets computed over, in ascending order.
  /// @param params The algorithm's parameters (JSON text, e.g. {"column":"salary"}).
  /// @param buyerKey The buyer's X25519 public key the hosts encrypt the result to.
  /// @param price The escrowed price (the sum of the datasets' prices when requested).
  /// @param status Where the request is in its lifecycle.
  /// @param result The bytes the bridge returned; empty unless Fulfilled.
  struct ComputationRequest {
    address buyer;
    bytes32[] datasetIds;
    string params;
    bytes32 buyerKey;
    uint256 price;
    RequestStatus status;
    bytes result;
  }

  /// @dev Who is paid what once a request is fulfilled, fixed when the price is escrowed.
  struct Payout {
    address seller;
    uint256 amount;
  }

  /// @notice A constructor argument was the zero address.
  error AlgorithmComputation__ZeroAddress();
  /// @notice The algorithm name must not be empty.
  error AlgorithmComputation__EmptyAlgorithm();
  /// @notice A request needs at least one dataset and at most MAX_DATASETS.
  error AlgorithmComputation__DatasetCount(uint256 count, uint256 max);
  /// @notice Dataset ids must be strictly ascending (which also rules out repeats).
  error AlgorithmComputation__DatasetsNotAscending(uint256 index);
  /// @notice The dataset exists but its seller paused sales.
  error AlgorithmComputation__DatasetInactive(bytes32 datasetId);
  /// @notice The dataset's seller does not allow this algorithm.
  error AlgorithmComputation__AlgorithmNotAllowed(bytes32 datasetId, string algorithm);
  /// @notice The computation would aggregate fewer rows than the dataset's seller requires.
  error AlgorithmComputation__TooFewRows(bytes32 datasetId, uint256 rows, uint256 minRows);
  /// @notice The datasets of one request must share one schema.
  error AlgorithmComputation__SchemaMismatch(bytes32 datasetId);
  /// @notice The parameters must not be empty.
  error AlgorithmComputation__EmptyParams();
  /// @notice The account has no balance to withdraw.
  error AlgorithmComputation__NothingToWithdraw(address account);

  /// @notice Emitted when a buyer's request is escrowed and sent to the operator.
  event ComputationRequested(
    bytes32 indexed requestId,
    address indexed buyer,
    bytes32[] datasetIds,
    string params,
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

  /// @notice Results longer than this are treated as failures, so storing one can never
  /// run the callback out of gas (which would leave the request pending).
  uint256 public constant MAX_RESULT_LENGTH = 4096;
  /// @notice Most datasets one request may combine.
  uint256 public constant MAX_DATASETS = 20;

  DatasetRegistry private immutable i_registry;
  IERC20 private immutable i_paymentToken;
  bytes32 private immutable i_jobId;
  uint256 private immutable i_linkFee;
  bytes32 private immutable i_algorithmId;
  string private s_algorithm;

  mapping(bytes32 requestId => ComputationRequest) private s_requests;
  mapping(bytes32 requestId => Payout[]) private s_payouts;
  mapping(address account => uint256) private s_balances;

  /// @param link The LINK token.
  /// @param operatorAddress The Chainlink Operator contract that runs the job.
  /// @param specId The external job id of this algorithm's job on the node.
  /// @param fee LINK paid to the operator per request.
  /// @param paymentTokenAddress The ERC-20 buyers pay in.
  /// @param registryAddress The dataset registry.
  /// @param algorithmName The algorithm sold, `name@version` (e.g. "mean@1").
  constructor(
    address link,
    address operatorAddress,
    bytes32 specId,
    uint256 fee,
    address paymentTokenAddress,
    address registryAddress,
    string memory algorithmName
  ) {
    if (
      link == address(0) ||
      operatorAddress == address(0) ||
      paymentTokenAddress == address(0) ||
      registryAddress == address(0)
    ) {
      revert AlgorithmComputation__ZeroAddress();
    }
    if (bytes(algorithmName).length == 0) revert AlgorithmComputation__EmptyAlgorithm();
    _setChainlinkToken(link);
    _setChainlinkOracle(operatorAddress);
    i_jobId = specId;
    i_linkFee = fee;
    i_paymentToken = IERC20(paymentTokenAddress);
    i_registry = DatasetRegistry(registryAddress);
    i_algorithmId = keccak256(bytes(algorithmName));
    s_algorithm = algorithmName;
  }

  /// @notice Buys this algorithm over `datasetIds`: checks every dataset's policy, escrows
  /// the sum of their prices and sends the Chainlink request. The caller must first
  /// `approve` this contract for that sum.
  /// @dev An unknown dataset reverts with the registry's `DatasetRegistry__UnknownDataset`.
  /// @param datasetIds The datasets to compute over, strictly ascending, same schema.
  /// @param params The algorithm's parameters (JSON text), checked by the hosts.
  /// @param buyerKey The buyer's public key; the hosts encrypt the result to it.
  /// @return requestId The Chainlink request id, the key for `getRequest`.
  function requestComputation(
    bytes32[] calldata datasetIds,
    string calldata params,
    bytes32 buyerKey
  ) external returns (bytes32 requestId) {
    // Checks.
    uint256 count = datasetIds.length;
    if (count == 0 || count > MAX_DATASETS) revert AlgorithmComputation__DatasetCount(count, MAX_DATASETS);
    if (bytes(params).length == 0) revert AlgorithmComputation__EmptyParams();
    DatasetRegistry.Dataset[] memory datasets = new DatasetRegistry.Dataset[](count);
    uint256 rows;
    uint256 price;
    for (uint256 i = 0; i < count; ++i) {
      if (i > 0 && datasetIds[i] <= datasetIds[i - 1]) revert AlgorithmComputation__DatasetsNotAscending(i);
      DatasetRegistry.Dataset memory dataset = i_registry.getDataset(datasetIds[i]);
      if (!dataset.active) revert AlgorithmComputation__DatasetInactive(datasetIds[i]);
      if (!i_registry.isAlgorithmAllowed(datasetIds[i], i_algorithmId)) {
        revert AlgorithmComputation__AlgorithmNotAllowed(datasetIds[i], s_algorithm);
      }
      if (i > 0 && dataset.schemaHash != datasets[0].schemaHash) revert AlgorithmComputation__SchemaMismatch(datasetIds[i]);
      datasets[i] = dataset;
      rows += dataset.rowCount;
      price += dataset.price;
    }
    for (uint256 i = 0; i < count; ++i) {
      if (rows < datasets[i].minRows) revert AlgorithmComputation__TooFewRows(datasetIds[i], rows, datasets[i].minRows);
    }

    Chainlink.Request memory req = _buildOperatorRequest(i_jobId, this.fulfill.selector);
    req._add("algorithm", s_algorithm);
    req._add("datasetIds", _joinHex(datasetIds));
    req._add("params", params);
    req._add("buyerKey", Strings.toHexString(uint256(buyerKey), 32));
    // The request id only exists once the request is sent; LINK and the operator are
    // trusted contracts fixed at deployment.
    requestId = _sendOperatorRequest(req, i_linkFee);

    // Effects.
    ComputationRequest storage request = s_requests[requestId];
    request.buyer = msg.sender;
    request.datasetIds = datasetIds;
    request.params = params;
    request.buyerKey = buyerKey;
    request.price = price;
    request.status = RequestStatus.Pending;
    Payout[] storage payouts = s_payouts[requestId];
    for (uint256 i = 0; i < count; ++i) {
      payouts.push(Payout({seller: datasets[i].seller, amount: datasets[i].price}));
    }
    emit ComputationRequested(requestId, msg.sender, datasetIds, params, buyerKey, price);

    // Interactions: the payment token is arbitrary, so it is called last, once the
    // request is fully recorded. If the transfer fails the whole request reverts.
    i_paymentToken.safeTransferFrom(msg.sender, address(this), price);
  }

  /// @notice Chainlink callback, called by the Operator with the bridge's answer.
  /// @dev Never reverts after the guard: the Operator has already paid the node, so a
  /// revert would strand the escrow. A non-empty result (at most MAX_RESULT_LENGTH bytes)
  /// is stored and the sellers credited; anything else fails the request and credits
  /// the buyer a refund. Only storage is written here; no external calls.
  /// @param requestId The request being answered.
  /// @param result The result bytes; empty means the bridge reported an error.
  function fulfill(bytes32 requestId, bytes calldata result) external recordChainlinkFulfillment(requestId) {
    ComputationRequest storage request = s_requests[requestId];
    // Only this contract creates pending Chainlink requests, and each is recorded as
    // Pending in the same transaction; the check keeps `fulfill` total anyway.
    if (request.status != RequestStatus.Pending) return;

    if (result.length == 0 || result.length > MAX_RESULT_LENGTH) {
      address buyer = request.buyer;
      uint256 price = request.price;
      request.status = RequestStatus.Failed;
      s_balances[buyer] += price;
      emit ComputationFailed(requestId);
      emit PaymentCredited(buyer, requestId, price);
      return;
    }

    request.status = RequestStatus.Fulfilled;
    request.result = result;
    emit ComputationFulfilled(requestId, keccak256(result));
    Payout[] storage payouts = s_payouts[requestId];
    uint256 count = payouts.length;
    for (uint256 i = 0; i < count; ++i) {
      Payout memory payout = payouts[i];
      s_balances[payout.seller] += payout.amount;
      emit PaymentCredited(payout.seller, requestId, payout.amount);
    }
  }

  /// @notice Sends the caller everything credited to it (seller payouts and buyer refunds).
  function withdraw() external {
    uint256 amount = s_balances[msg.sender];
    if (amount == 0) revert AlgorithmComputation__NothingToWithdraw(msg.sender);
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
  /// @return The algorithm's `name@version`.
  function algorithm() external view returns (string memory) {
    return s_algorithm;
  }

  /// @notice keccak256 of the algorithm's name, as sellers list it in their policy.
  /// @return The algorithm id.
  function algorithmId() external view returns (bytes32) {
    return i_algorithmId;
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

  /// @notice The node's job id for this algorithm.
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
  /// @return "AlgorithmComputation 1.0.0".
  function typeAndVersion() external pure returns (string memory) {
    return "AlgorithmComputation 1.0.0";
  }

  /// @dev "0x…,0x…": the dataset ids as lowercase hex, comma-separated, for the request data.
  function _joinHex(bytes32[] calldata ids) private pure returns (string memory joined) {
    joined = Strings.toHexString(uint256(ids[0]), 32);
    for (uint256 i = 1; i < ids.length; ++i) {
      joined = string.concat(joined, ",", Strings.toHexString(uint256(ids[i]), 32));
    }
  }
}
