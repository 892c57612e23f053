// SPDX-License-Identifier: MIT
pragma solidity 0.8.19;

import {ConfirmedOwner} from "@chainlink/contracts/src/v0.8/shared/access/ConfirmedOwner.sol";

import {AlgorithmComputation} from "./AlgorithmComputation.sol";
import {DatasetRegistry} from "./DatasetRegistry.sol";

/// @title AlgorithmFactory
/// @notice Deploys and lists the market's per-algorithm `AlgorithmComputation` contracts,
/// all wired to the same LINK token, Chainlink operator, payment token, dataset registry
/// and host registry, with the same LINK fee and request timeout.
/// @dev One contract per algorithm name, at most: a new version of an algorithm is a new
/// name, e.g. mean version 2. The factory does not fund the contracts with LINK; the deployer
/// transfers LINK to each new computation. Names are stored in creation order for
/// enumeration with `algorithmCount`/`algorithmAt`.
/// The dataset registry trusts exactly the computations this factory deploys to spend and
/// give back datasets' privacy budget: the registry's deployer names this factory in it
/// once (`DatasetRegistry.setAlgorithmFactory`), and `createAlgorithm` authorizes each new
/// computation there (`DatasetRegistry.authorizeComputation`), so it reverts with
/// `DatasetRegistry__NotFactory` until the registry names this factory.
contract AlgorithmFactory is ConfirmedOwner {
  /// @notice A constructor argument was the zero address.
  error AlgorithmFactory__ZeroAddress();
  /// @notice An algorithm of this name was already created.
  error AlgorithmFactory__AlreadyExists(string name);
  /// @notice `algorithmAt` was asked for an index past the end.
  error AlgorithmFactory__IndexOutOfBounds(uint256 index, uint256 count);

  /// @notice Emitted when a computation contract is deployed for an algorithm.
  /// @param algorithmId keccak256 of the algorithm's `name@version`.
  /// @param name The algorithm's `name@version`.
  /// @param computation The new computation contract.
  /// @param jobId The external job id of the algorithm's job on the Chainlink node.
  /// @param operatorFee Payment tokens each request pays the hosts' operators.
  event AlgorithmCreated(
    bytes32 indexed algorithmId,
    string name,
    address computation,
    bytes32 jobId,
    uint256 operatorFee
  );

  address private immutable i_link;
  address private immutable i_operator;
  address private immutable i_paymentToken;
  address private immutable i_registry;
  address private immutable i_hostRegistry;
  uint256 private immutable i_linkFee;
  uint64 private immutable i_requestTimeout;

  mapping(bytes32 algorithmId => address computation) private s_computations;
  string[] private s_names;

  /// @param link The LINK token.
  /// @param operator_ The Chainlink Operator contract that runs the jobs.
  /// @param paymentToken_ The ERC-20 buyers pay in.
  /// @param registry_ The dataset registry.
  /// @param hostRegistry_ The registry of the three MPC hosts.
  /// @param linkFee_ LINK each computation pays the Chainlink operator per request.
  /// @param requestTimeout_ Seconds from a request to its refundable deadline (positive).
  constructor(
    address link,
    address operator_,
    address paymentToken_,
    address registry_,
    address hostRegistry_,
    uint256 linkFee_,
    uint64 requestTimeout_
  ) ConfirmedOwner(msg.sender) {
    if (
      link == address(0) ||
      operator_ == address(0) ||
      paymentToken_ == address(0) ||
      registry_ == address(0) ||
      hostRegistry_ == address(0)
    ) {
      revert AlgorithmFactory__ZeroAddress();
    }
    i_link = link;
    i_operator = operator_;
    i_paymentToken = paymentToken_;
    i_registry = registry_;
    i_hostRegistry = hostRegistry_;
    i_linkFee = linkFee_;
    i_requestTimeout = requestTimeout_;
  }

  /// @notice Deploys the computation contract of an algorithm; owner only.
  /// @dev Reverts with `AlgorithmComputation__EmptyAlgorithm` for an empty name and
  /// `AlgorithmComputation__ZeroTimeout` if the factory's timeout is zero (raised by the
  /// computation's constructor), and with `DatasetRegistry__NotFactory` if the registry does
  /// not name this factory. The new contract holds no LINK yet; the registry has authorized
  /// it to spend and give back privacy budget.
  /// @param name The algorithm, `name@version` (e.g. "mean@1"), unique in this factory.
  /// @param jobId The external job id of the algorithm's job on the Chainlink node.
  /// @param operatorFee Payment tokens each request pays the hosts' operators.
  /// @return computation The new contract's address.
  function createAlgorithm(
    string calldata name,
    bytes32 jobId,
    uint256 operatorFee
  ) external onlyOwner returns (address computation) {
    bytes32 id = keccak256(bytes(name));
    if (s_computations[id] != address(0)) revert AlgorithmFactory__AlreadyExists(name);
    // The interactions are the deployment of our own contract, whose constructor makes no
    // external calls (its address is only known afterwards, so it is recorded then), and
    // the registry's authorization of it, last; the registry makes no calls back.
    computation = address(
      new AlgorithmComputation(
        i_link,
        i_operator,
        jobId,
        i_linkFee,
        i_paymentToken,
        i_registry,
        i_hostRegistry,
        name,
        operatorFee,
        i_requestTimeout
      )
    );
    s_computations[id] = computation;
    s_names.push(name);
    emit AlgorithmCreated(id, name, computation, jobId, operatorFee);
    DatasetRegistry(i_registry).authorizeComputation(computation);
  }

  /// @notice The computation contract of an algorithm.
  /// @param name The algorithm's `name@version`.
  /// @return The contract's address, or zero if none was created.
  function getAlgorithm(string calldata name) external view returns (address) {
    return s_computations[keccak256(bytes(name))];
  }

  /// @notice How many algorithms the factory created.
  /// @return The count.
  function algorithmCount() external view returns (uint256) {
    return s_names.length;
  }

  /// @notice The `i`-th algorithm created (in creation order).
  /// @param i The index, below `algorithmCount()`.
  /// @return name The algorithm's `name@version`.
  /// @return computation Its contract's address.
  function algorithmAt(uint256 i) external view returns (string memory name, address computation) {
    uint256 count = s_names.length;
    // `>=` reads as the bound: valid indexes are below `count`.
    // solhint-disable-next-line gas-strict-inequalities
    if (i >= count) revert AlgorithmFactory__IndexOutOfBounds(i, count);
    name = s_names[i];
    computation = s_computations[keccak256(bytes(name))];
  }

  /// @notice The LINK token the computations pay the Chainlink operator in.
  /// @return The token's address.
  function linkToken() external view returns (address) {
    return i_link;
  }

  /// @notice The Chainlink Operator the computations send requests to.
  /// @return The operator's address.
  function operator() external view returns (address) {
    return i_operator;
  }

  /// @notice The ERC-20 buyers pay in.
  /// @return The token's address.
  function paymentToken() external view returns (address) {
    return i_paymentToken;
  }

  /// @notice The dataset registry.
  /// @return The registry's address.
  function registry() external view returns (address) {
    return i_registry;
  }

  /// @notice The registry of the three MPC hosts.
  /// @return The host registry's address.
  function hostRegistry() external view returns (address) {
    return i_hostRegistry;
  }

  /// @notice LINK each computation pays per request.
  /// @return The fee in juels.
  function linkFee() external view returns (uint256) {
    return i_linkFee;
  }

  /// @notice Seconds from a request to its refundable deadline, for every computation.
  /// @return The timeout in seconds.
  function requestTimeout() external view returns (uint64) {
    return i_requestTimeout;
  }

  /// @notice The contract's type and version.
  /// @return "AlgorithmFactory 2.0.0".
  function typeAndVersion() external pure returns (string memory) {
    return "AlgorithmFactory 2.0.0";
  }
}
