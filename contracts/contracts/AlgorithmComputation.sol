// SPDX-License-Identifier: MIT
pragma solidity 0.8.19;

import {Chainlink} from "@chainlink/contracts/src/v0.8/operatorforwarder/Chainlink.sol";
import {ChainlinkClient} from "@chainlink/contracts/src/v0.8/operatorforwarder/ChainlinkClient.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

import {DatasetRegistry} from "./DatasetRegistry.sol";
import {SaleTermsWord} from "./SaleTermsWord.sol";
import {HostRegistry} from "./HostRegistry.sol";
import {PayoutSplit} from "./PayoutSplit.sol";

/// @title AlgorithmComputation
/// @notice Sells one MPC algorithm (e.g. "mean@1") over one or several registered datasets
/// of the same schema. A buyer escrows the sum of the datasets' prices plus the operators'
/// fee; a Chainlink direct request asks the MPC bridge for the result; the fulfilment checks
/// the three hosts' signatures over it and credits every seller its dataset's price and the
/// operators their fee, or fails the request and credits the buyer everything back. A
/// request nobody answers by its deadline can be refunded. Payouts are pull payments.
/// A buyer may prepay operators' fees (`prepayFees`): a request that escrows no dataset
/// price (every dataset covered by the buyer's subscription, or a trial request) then uses
/// one fee credit instead of calling the payment token at all, so that a covered request
/// costs less gas than a plain one; a request with a price moves the token anyway and pays
/// its fee with it, keeping the credits. Unused credits can be turned back into a
/// withdrawable balance (`reclaimFeeCredits`).
/// Answers are differentially private by default: a request names the ε (in milli-ε, 1000 =
/// ε 1) it spends on every one of its datasets, and the registry deducts it from each
/// dataset's privacy budget in the same transaction; a request with ε 0 asks for exact
/// answers, which every one of its datasets' sellers must have allowed for this algorithm.
/// A request that ends Failed or Refunded gives its ε back (its result is never readable:
/// the hosts release result keys only for Fulfilled requests).
/// @dev One contract is deployed per algorithm (by `AlgorithmFactory`, which also authorizes
/// it to spend and give back budget in the `DatasetRegistry`; a computation deployed any
/// other way cannot sell). The contract must hold LINK to pay the Chainlink operator
/// `linkFee` per request; that LINK is not reclaimed when a request fails or is refunded.
/// Fee-on-transfer payment tokens are not supported: the escrow assumes the amount arrives
/// in full.
/// Storage per request: one slot of record (`RequestRecord`: buyer, status and dataset
/// count in one byte, deadline, request block, ε) and the escrow, `(datasetIndex << 96 |
/// price)` per dataset, two per slot: prices fit in 96 bits and datasets have 32-bit
/// indexes in the registry, which maps them back to sellers when the request is paid for
/// (`datasetSellers`) and to datasets when its budget is given back (`restoreBudget`). So
/// the escrow is also the list of datasets whose budget the request spent, and ε is at most
/// MAX_EPSILON (16 bits). The operators' fee of a request is this contract's immutable
/// `operatorFee`, so it is not stored per request; nor is whether a fee credit paid it: a
/// prepaid fee came in with `prepayFees` and is escrowed like any other, so fulfilment,
/// failure and refund treat both alike (a failed or refunded request credits the buyer
/// price + fee either way). Neither are the dataset ids, parameters and buyer key stored:
/// they are in `ComputationRequested`, which `getRequest` locates by its block number.
/// Storage per buyer: one slot of fee credits, counted in requests (each worth
/// `operatorFee`). Using one emits no event, as using a subscription's quota does not: a
/// request uses one exactly when its price is 0 and its buyer has any, so the count follows
/// from `FeesPrepaid`, `FeeCreditsReclaimed` and `ComputationRequested` (and is
/// `feeCreditsOf`). Block numbers are stored in 32 bits: chains past block 2^32 - 1 are not
/// supported. What each algorithm's result reveals, and the noise it adds for a given ε,
/// is declared by the MPC engine's algorithm library, under the same name.
contract AlgorithmComputation is ChainlinkClient {
  using Chainlink for Chainlink.Request;
  using SafeERC20 for IERC20;
  using SaleTermsWord for uint256;

  /// @notice Lifecycle of a request: Pending once sent; then exactly one of Fulfilled (valid
  /// signed result), Failed (bridge error or unusable answer) or Refunded (deadline passed).
  enum RequestStatus {
    None,
    Pending,
    Fulfilled,
    Failed,
    Refunded
  }

  /// @notice A buyer's request as `getRequest` returns it. The datasets, parameters and
  /// buyer key are in `ComputationRequested`, the result bytes in `ComputationFulfilled`.
  /// The hosts add noise for `epsilon` (none when it is 0: an exact answer).
  /// @param buyer Who paid and receives the result (encrypted to the buyer key).
  /// @param status Where the request is in its lifecycle.
  /// @param deadline After this time (unix seconds) an unanswered request can be refunded.
  /// @param price The escrowed sum of the datasets' prices.
  /// @param fee The escrowed operators' fee.
  /// @param requestBlock The block whose logs hold the request's `ComputationRequested`.
  /// @param resultHash keccak256 of the result bytes; zero unless Fulfilled.
  /// @param epsilon The privacy budget the request spends on each of its datasets, in
  /// milli-ε (1000 = ε 1); 0 for an exact answer.
  // Memory-only (the `getRequest` return value; storage is `RequestRecord`): its field order
  // is the ABI tuple callers decode, so it is not reordered for packing.
  // solhint-disable-next-line gas-struct-packing
  struct ComputationRequest {
    address buyer;
    RequestStatus status;
    uint64 deadline;
    uint256 price;
    uint256 fee;
    uint64 requestBlock;
    bytes32 resultHash;
    uint32 epsilon;
  }

  /// @dev One storage slot per request for what every transition reads (20 + 1 + 5 + 4 + 2 =
  /// 32 bytes). `statusAndCount` is the status in its low 3 bits and the dataset count
  /// (at most MAX_DATASETS) above them. 40-bit times last until year 36812.
  // False positive: the five fields already fill exactly one slot.
  // solhint-disable-next-line gas-struct-packing
  struct RequestRecord {
    address buyer;
    uint8 statusAndCount;
    uint40 deadline;
    uint32 requestBlock;
    uint16 epsilon;
  }

  /// @notice A constructor argument was the zero address.
  error AlgorithmComputation__ZeroAddress();
  /// @notice The algorithm name must not be empty.
  error AlgorithmComputation__EmptyAlgorithm();
  /// @notice The request timeout must be positive.
  error AlgorithmComputation__ZeroTimeout();
  /// @notice The request timeout must be at most MAX_REQUEST_TIMEOUT seconds.
  error AlgorithmComputation__TimeoutTooLong(uint64 timeout, uint64 max);
  /// @notice A request needs at least one dataset and at most MAX_DATASETS.
  error AlgorithmComputation__DatasetCount(uint256 count, uint256 max);
  /// @notice Dataset ids must be strictly ascending (which also rules out repeats).
  error AlgorithmComputation__DatasetsNotAscending(uint256 index);
  /// @notice The dataset exists but is not for sale (paused or deregistered).
  error AlgorithmComputation__DatasetInactive(bytes32 datasetId);
  /// @notice The dataset's seller does not allow this algorithm.
  error AlgorithmComputation__AlgorithmNotAllowed(bytes32 datasetId, string algorithm);
  /// @notice An exact request (ε 0) over a dataset whose seller does not allow exact answers
  /// of this algorithm.
  error AlgorithmComputation__ExactNotAllowed(bytes32 datasetId);
  /// @notice A request may spend at most MAX_EPSILON milli-ε on each dataset.
  error AlgorithmComputation__EpsilonTooHigh(uint32 epsilon, uint32 maxEpsilon);
  /// @notice The dataset holds fewer rows than its own seller requires a result to aggregate.
  error AlgorithmComputation__TooFewRows(bytes32 datasetId, uint256 rows, uint256 minRows);
  /// @notice The datasets' prices plus the operators' fee exceed what the buyer agreed to pay.
  error AlgorithmComputation__PriceAboveMaximum(uint256 total, uint256 maxTotalPrice);
  /// @notice The datasets of one request must share one schema.
  error AlgorithmComputation__SchemaMismatch(bytes32 datasetId);
  /// @notice The parameters must not be empty.
  error AlgorithmComputation__EmptyParams();
  /// @notice The request's deadline has not passed yet.
  error AlgorithmComputation__NotExpired(bytes32 requestId, uint64 deadline);
  /// @notice The request is not Pending (unknown, or already settled).
  error AlgorithmComputation__NotPending(bytes32 requestId, uint8 status);
  /// @notice Fees cannot be distributed while a host's operator is unset.
  error AlgorithmComputation__OperatorsNotSet();
  /// @notice Fewer than three units of the payment token have accrued: nothing to split.
  error AlgorithmComputation__NothingToDistribute();
  /// @notice The account has no balance to withdraw.
  error AlgorithmComputation__NothingToWithdraw(address account);
  /// @notice Only the registry's penalty court may fail a request for an offence.
  error AlgorithmComputation__NotPenaltyCourt(address caller);
  /// @notice The request does not read the dataset.
  error AlgorithmComputation__NotInRequest(bytes32 requestId, bytes32 datasetId);
  /// @notice At least one fee credit must be prepaid.
  error AlgorithmComputation__ZeroCount();
  /// @notice This algorithm's operators' fee is 0: there is nothing to prepay.
  error AlgorithmComputation__NoOperatorFee();
  /// @notice The buyer holds no fee credits to reclaim.
  error AlgorithmComputation__NoFeeCredits(address buyer);

  /// @notice Emitted when a buyer's request is escrowed and sent to the Chainlink operator.
  /// @dev The hosts and the bridge check a job against this event's datasets, params and
  /// buyer key; `getRequest(requestId).requestBlock` is the block to read it from.
  /// @param requestId The Chainlink request id.
  /// @param buyer Who paid and receives the result.
  /// @param datasetIds The datasets computed over, strictly ascending.
  /// @param params The algorithm's parameters (JSON text).
  /// @param buyerKey The buyer's public key; the hosts encrypt the result to it.
  /// @param price The escrowed sum of the datasets' prices.
  /// @param fee The escrowed operators' fee.
  /// @param deadline After this time (unix seconds) an unanswered request can be refunded.
  /// @param epsilon The privacy budget spent on each dataset, in milli-ε; 0 for an exact answer.
  event ComputationRequested(
    bytes32 indexed requestId,
    address indexed buyer,
    bytes32[] datasetIds,
    string params,
    bytes32 buyerKey,
    uint256 price,
    uint256 fee,
    uint64 deadline,
    uint32 epsilon
  );
  /// @notice Emitted when a result signed by the three hosts is accepted.
  /// @param requestId The request fulfilled.
  /// @param resultHash keccak256 of `result`.
  /// @param result The result, encrypted to the buyer key.
  event ComputationFulfilled(bytes32 indexed requestId, bytes32 resultHash, bytes result);
  /// @notice Emitted when a request fails and its buyer is refunded. `reason`: 1 the bridge
  /// reported an error (empty payload), 2 the payload is not abi.encode(bytes, bytes[3]),
  /// 3 a signature is missing, malformed or not by the host's registered signer,
  /// 4 the result is longer than MAX_RESULT_LENGTH (or the payload than MAX_PAYLOAD_LENGTH),
  /// 5 the dataset registry did not answer who the sellers are (it never should),
  /// 6 the answer arrived after the request's deadline, 7 two hosts proved one of its
  /// datasets missing or corrupt (`failForOffence`).
  /// @param requestId The request failed.
  /// @param reason Why it failed: 1 to 7, as listed above.
  event ComputationFailed(bytes32 indexed requestId, uint8 reason);
  /// @notice Emitted when an unanswered request is refunded after its deadline.
  /// @param requestId The request refunded.
  event ComputationRefunded(bytes32 indexed requestId);
  /// @notice Emitted when a Failed request could not give its privacy budget back because
  /// the registry refused (it never should): the budget stays spent, which costs the sellers
  /// budget but never privacy. The buyer is refunded all the same. (A refund instead reverts.)
  /// @param requestId The request settled.
  event PrivacyBudgetRestoreFailed(bytes32 indexed requestId);
  /// @notice Emitted when `amount` becomes withdrawable by `account`: a seller's payout, a
  /// buyer's refund, or (with requestId 0) an operator's share of the fees or a buyer's
  /// reclaimed fee credits (`FeeCreditsReclaimed` tells them apart). Not emitted for zero
  /// amounts.
  /// @param account Who may withdraw the amount.
  /// @param requestId The request paid for or refunded; 0 for an operator's share of the fees
  /// or reclaimed fee credits.
  /// @param amount Payment tokens credited.
  event PaymentCredited(address indexed account, bytes32 indexed requestId, uint256 amount);
  /// @notice Emitted when accrued operators' fees are split; `amount` is the total credited.
  /// @param amount Payment tokens credited to the three operators together.
  event OperatorFeesDistributed(uint256 amount);
  /// @notice Emitted when an account withdraws its balance.
  /// @param account Who withdrew.
  /// @param amount Payment tokens sent.
  event PaymentWithdrawn(address indexed account, uint256 amount);
  /// @notice Emitted when a buyer prepays the operators' fees of `count` requests.
  /// @param buyer Who paid and holds the credits.
  /// @param count Fee credits bought, each one request's `operatorFee`.
  /// @param amount Payment tokens paid: `count × operatorFee`.
  event FeesPrepaid(address indexed buyer, uint256 count, uint256 amount);
  /// @notice Emitted when a buyer turns all its fee credits back into a withdrawable
  /// balance (with the matching `PaymentCredited`, request id 0).
  /// @param buyer Whose credits they were.
  /// @param count Fee credits given up.
  /// @param amount Payment tokens credited: `count × operatorFee`.
  event FeeCreditsReclaimed(address indexed buyer, uint256 count, uint256 amount);

  /// @notice Results longer than this fail the request, so handling one can never run
  /// the callback out of gas (which would leave the request pending until its deadline).
  uint256 public constant MAX_RESULT_LENGTH = 4096;
  /// @notice The longest fulfilment payload decoded: abi.encode of a MAX_RESULT_LENGTH result
  /// and three 65-byte signatures. Longer payloads fail (reason 4) without being decoded, so a
  /// huge payload cannot make the decoding self-call run out of gas.
  uint256 public constant MAX_PAYLOAD_LENGTH = 2 * 32 + 32 + MAX_RESULT_LENGTH + 3 * 32 + 3 * (32 + 96);
  /// @notice Most datasets one request may combine.
  uint256 public constant MAX_DATASETS = 20;
  /// @notice The longest request timeout (2^32 - 1 seconds, about 136 years).
  uint64 public constant MAX_REQUEST_TIMEOUT = type(uint32).max;
  /// @notice The most privacy budget one request may spend on each dataset: 65535 milli-ε
  /// (ε 65.535), what the request record's 16 bits hold.
  uint32 public constant MAX_EPSILON = type(uint16).max;

  uint8 private constant FAILED_BRIDGE_ERROR = 1;
  uint8 private constant FAILED_MALFORMED = 2;
  uint8 private constant FAILED_BAD_SIGNATURE = 3;
  uint8 private constant FAILED_TOO_LONG = 4;
  uint8 private constant FAILED_SELLERS_UNREADABLE = 5;
  uint8 private constant FAILED_LATE = 6;
  uint8 private constant FAILED_OFFENCE = 7;
  uint8 private constant PRICE_BITS = 96;
  uint256 private constant PAYOUT_BITS = 128;
  uint8 private constant STATUS_BITS = 3;
  uint8 private constant STATUS_MASK = 7;
  uint256 private constant HOST_COUNT = 3;

  DatasetRegistry private immutable i_registry;
  HostRegistry private immutable i_hostRegistry;
  IERC20 private immutable i_paymentToken;
  bytes32 private immutable i_jobId;
  uint256 private immutable i_linkFee;
  uint256 private immutable i_operatorFee;
  uint64 private immutable i_requestTimeout;
  bytes32 private immutable i_algorithmId;
  string private s_algorithm;

  mapping(bytes32 requestId => RequestRecord) private s_requests;
  mapping(bytes32 requestId => bytes32) private s_resultHashes;
  /// @dev Per dataset of a request, in request order: `datasetIndex << 96 | price` (128 bits),
  /// two per slot: dataset i in the low half of slot i / 2 if i is even, else the high half.
  mapping(bytes32 requestId => uint256[MAX_DATASETS / 2]) private s_payouts;
  mapping(address account => uint256) private s_balances;
  uint256 private s_operatorFeesAccrued;
  /// @dev Prepaid operators' fees per buyer, counted in requests (each worth `i_operatorFee`).
  mapping(address buyer => uint256 count) private s_feeCredits;

  /// @param link The LINK token.
  /// @param operatorAddress The Chainlink Operator contract that runs the job.
  /// @param specId The external job id of this algorithm's job on the node.
  /// @param fee LINK paid to the Chainlink operator per request.
  /// @param paymentTokenAddress The ERC-20 buyers pay in.
  /// @param registryAddress The dataset registry.
  /// @param hostRegistryAddress The registry of the three MPC hosts (signers and operators).
  /// @param algorithmName The algorithm sold, `name@version` (e.g. "mean@1").
  /// @param operatorFee_ Payment tokens each request pays the hosts' operators on success.
  /// @param requestTimeout_ Seconds after a request after which its buyer may be refunded.
  constructor(
    address link,
    address operatorAddress,
    bytes32 specId,
    uint256 fee,
    address paymentTokenAddress,
    address registryAddress,
    address hostRegistryAddress,
    string memory algorithmName,
    uint256 operatorFee_,
    uint64 requestTimeout_
  ) {
    if (
      link == address(0) ||
      operatorAddress == address(0) ||
      paymentTokenAddress == address(0) ||
      registryAddress == address(0) ||
      hostRegistryAddress == address(0)
    ) {
      revert AlgorithmComputation__ZeroAddress();
    }
    if (bytes(algorithmName).length == 0) revert AlgorithmComputation__EmptyAlgorithm();
    if (requestTimeout_ == 0) revert AlgorithmComputation__ZeroTimeout();
    if (requestTimeout_ > MAX_REQUEST_TIMEOUT) {
      revert AlgorithmComputation__TimeoutTooLong(requestTimeout_, MAX_REQUEST_TIMEOUT);
    }
    _setChainlinkToken(link);
    _setChainlinkOracle(operatorAddress);
    i_jobId = specId;
    i_linkFee = fee;
    i_paymentToken = IERC20(paymentTokenAddress);
    i_registry = DatasetRegistry(registryAddress);
    i_hostRegistry = HostRegistry(hostRegistryAddress);
    i_operatorFee = operatorFee_;
    i_requestTimeout = requestTimeout_;
    i_algorithmId = keccak256(bytes(algorithmName));
    s_algorithm = algorithmName;
  }

  /// @notice Buys this algorithm over `datasetIds`: checks every dataset's policy, spends
  /// `epsilon` of each dataset's privacy budget, escrows the sum of their prices plus
  /// `operatorFee()` and sends the Chainlink request. The caller must first `approve` this
  /// contract for that amount. When the sum of prices is 0 (every dataset covered by the
  /// caller's subscription, or priced 0) and the caller holds a fee credit (`prepayFees`),
  /// one credit pays the fee and no token moves; otherwise the caller's tokens pay it all.
  /// @dev An unknown dataset reverts with the registry's `DatasetRegistry__UnknownDataset`,
  /// a dataset with less budget left than `epsilon` with the registry's
  /// `DatasetRegistry__BudgetExhausted(datasetId, remaining, epsilon)`; either way nothing is
  /// spent or escrowed. `maxTotalPrice` protects the buyer from a seller who raises its price
  /// (`setPrice`) in front of the purchase: the request reverts rather than escrow more than
  /// agreed.
  /// @param datasetIds The datasets to compute over, strictly ascending, same schema.
  /// @param params The algorithm's parameters (JSON text), checked by the hosts.
  /// @param buyerKey The buyer's public key; the hosts encrypt the result to it.
  /// @param maxTotalPrice The most the buyer agrees to escrow: prices plus operators' fee.
  /// @param epsilon The privacy budget spent on each dataset, in milli-ε (1000 = ε 1, at most
  /// MAX_EPSILON); 0 asks for an exact answer, which each dataset's seller must allow.
  /// @return requestId The Chainlink request id, the key for `getRequest` and `refund`.
  function requestComputation(
    bytes32[] calldata datasetIds,
    string calldata params,
    bytes32 buyerKey,
    uint256 maxTotalPrice,
    uint32 epsilon
  ) external returns (bytes32 requestId) {
    return _request(datasetIds, params, buyerKey, maxTotalPrice, epsilon, false);
  }

  /// @notice Like `requestComputation`, using one of the caller's trial computations on
  /// every dataset (each seller's offer: `DatasetRegistry.setTrialTerms`): no dataset's price
  /// is escrowed, only the operators' fee, paid by one of the caller's fee credits if it
  /// holds any (`prepayFees`), else by its tokens; ε must be positive and within each trial's.
  /// @dev Reverts with `TrialBook__NoTrial(datasetId, buyer)` when a dataset has no trial
  /// left for the caller, `TrialBook__TrialEpsilon` when ε is 0 or above the trial's; then
  /// nothing is used or escrowed. A failed or refunded trial request gives its ε back, not
  /// the trial.
  /// @param datasetIds The datasets to compute over, strictly ascending, same schema.
  /// @param params The algorithm's parameters (JSON text), checked by the hosts.
  /// @param buyerKey The buyer's public key; the hosts encrypt the result to it.
  /// @param maxTotalPrice The most the buyer agrees to escrow (the operators' fee).
  /// @param epsilon The privacy budget spent on each dataset, in milli-ε.
  /// @return requestId The Chainlink request id.
  function requestTrialComputation(
    bytes32[] calldata datasetIds,
    string calldata params,
    bytes32 buyerKey,
    uint256 maxTotalPrice,
    uint32 epsilon
  ) external returns (bytes32 requestId) {
    return _request(datasetIds, params, buyerKey, maxTotalPrice, epsilon, true);
  }

  /// @dev Both ways of buying: `trial` says whether the buyer's trials pay for the datasets.
  function _request(
    bytes32[] calldata datasetIds,
    string calldata params,
    bytes32 buyerKey,
    uint256 maxTotalPrice,
    uint32 epsilon,
    bool trial
  ) private returns (bytes32 requestId) {
    // Checks. The registry spends the budget here, as part of checking it: it is the
    // market's own contract, makes no calls, and the whole request reverts if anything
    // below fails.
    uint256 count = datasetIds.length;
    if (count == 0 || count > MAX_DATASETS) revert AlgorithmComputation__DatasetCount(count, MAX_DATASETS);
    if (bytes(params).length == 0) revert AlgorithmComputation__EmptyParams();
    if (epsilon > MAX_EPSILON) revert AlgorithmComputation__EpsilonTooHigh(epsilon, MAX_EPSILON);
    (uint128[] memory payouts, uint256 price) = _checkDatasets(datasetIds, epsilon, trial);
    if (price + i_operatorFee > maxTotalPrice) {
      revert AlgorithmComputation__PriceAboveMaximum(price + i_operatorFee, maxTotalPrice);
    }

    // The request id only exists once the request is sent; LINK and the Chainlink operator
    // are trusted contracts fixed at deployment.
    requestId = _sendRequest(datasetIds, params, buyerKey);

    // Effects. A request with no price to move pays its fee with a credit if it can: then
    // it calls the token not at all. The timeout is at most 2^32 - 1 seconds, so the
    // deadline fits 40 bits for millennia; the count is at most MAX_DATASETS and ε at most
    // MAX_EPSILON.
    bool prepaid = price == 0 && _useFeeCredit();
    uint64 deadline = uint64(block.timestamp) + i_requestTimeout;
    s_requests[requestId] = RequestRecord({
      buyer: msg.sender,
      statusAndCount: _statusAndCount(RequestStatus.Pending, count),
      deadline: uint40(deadline),
      requestBlock: uint32(block.number),
      epsilon: uint16(epsilon)
    });
    _storePayouts(s_payouts[requestId], payouts);
    _emitRequested(requestId, datasetIds, params, buyerKey, price, deadline, epsilon);

    // Interactions: the payment token is arbitrary, so it is called last, once the
    // request is fully recorded. If the transfer fails the whole request reverts.
    if (!prepaid) i_paymentToken.safeTransferFrom(msg.sender, address(this), price + i_operatorFee);
  }

  /// @notice Prepays the operators' fees of `count` future requests: pulls
  /// `count × operatorFee()` from the caller (approve this contract first) and credits it
  /// `count` fee credits. A request of the caller's that escrows no dataset price (covered
  /// by its subscription to every dataset, or a trial request) uses one credit instead of
  /// moving tokens; a request with a price pays by transfer and keeps the credits.
  /// `reclaimFeeCredits` turns unused credits back into a withdrawable balance.
  /// @dev Reverts with `AlgorithmComputation__ZeroCount` for a count of 0 and
  /// `AlgorithmComputation__NoOperatorFee` when this algorithm's fee is 0 (a request then
  /// moves nothing for its fee anyway). Checks, effects, interactions: the credits are
  /// recorded before the token is called; if the transfer fails the whole call reverts.
  /// @param count How many requests' fees to prepay.
  function prepayFees(uint256 count) external {
    if (count == 0) revert AlgorithmComputation__ZeroCount();
    if (i_operatorFee == 0) revert AlgorithmComputation__NoOperatorFee();
    uint256 amount = count * i_operatorFee;
    s_feeCredits[msg.sender] += count;
    emit FeesPrepaid(msg.sender, count, amount);
    i_paymentToken.safeTransferFrom(msg.sender, address(this), amount);
  }

  /// @notice Turns all the caller's fee credits back into its withdrawable balance
  /// (`count × operatorFee()`, withdrawn with `withdraw()`, like a refund).
  /// @dev Reverts with `AlgorithmComputation__NoFeeCredits(buyer)` when it holds none.
  /// Storage only: the tokens are already here (paid at `prepayFees`).
  function reclaimFeeCredits() external {
    uint256 count = s_feeCredits[msg.sender];
    if (count == 0) revert AlgorithmComputation__NoFeeCredits(msg.sender);
    uint256 amount = count * i_operatorFee;
    s_feeCredits[msg.sender] = 0;
    emit FeeCreditsReclaimed(msg.sender, count, amount);
    _credit(msg.sender, bytes32(0), amount);
  }

  /// @notice Chainlink callback, called by the Chainlink Operator with the bridge's answer.
  /// @dev Never reverts after the guard: the Operator has already paid the node, so a
  /// revert would leave the request pending until its deadline. `payload` is
  /// `abi.encode(bytes result, bytes[3] signatures)` where signature i is host i's signer's
  /// EIP-191 `personal_sign` over the 32 bytes `fulfillmentDigest(requestId, keccak256(result))`,
  /// which binds the signatures to this chain, this contract and this request.
  /// A valid answer fulfils the request and credits the sellers and the operators' fee;
  /// anything else (see `ComputationFailed` for the reasons) fails it and credits the buyer
  /// the price and fee. An answer after the deadline fails the request (reason 6) even if it
  /// is valid: the buyer may have counted on the refund, and the hosts release the keys that
  /// make a result readable only for a Fulfilled request. The payload is decoded by an
  /// external self-call so that malformed bytes end in `catch` rather than a revert. An
  /// answer to a request that is no longer Pending (refunded after its deadline) changes
  /// nothing. A failed request gives its privacy budget back to its datasets. Apart from
  /// view calls to this contract, the host registry and the dataset registry, the only
  /// external call is the registry's `restoreBudget` when the request fails, made last
  /// and caught, so no call can make this function revert.
  /// @param requestId The request being answered.
  /// @param payload The signed result; empty means the bridge reported an error.
  function fulfill(bytes32 requestId, bytes calldata payload) external recordChainlinkFulfillment(requestId) {
    RequestRecord storage request = s_requests[requestId];
    if (_status(request) != RequestStatus.Pending) return;
    if (block.timestamp > request.deadline) return _fail(requestId, request, FAILED_LATE);
    if (payload.length == 0) return _fail(requestId, request, FAILED_BRIDGE_ERROR);
    if (payload.length > MAX_PAYLOAD_LENGTH) return _fail(requestId, request, FAILED_TOO_LONG);

    bytes memory result;
    bytes[3] memory signatures;
    try this.decodePayload(payload) returns (bytes memory decodedResult, bytes[3] memory decodedSignatures) {
      result = decodedResult;
      signatures = decodedSignatures;
    } catch {
      return _fail(requestId, request, FAILED_MALFORMED);
    }
    if (result.length > MAX_RESULT_LENGTH) return _fail(requestId, request, FAILED_TOO_LONG);

    bytes32 resultHash = keccak256(result);
    if (!_signedByHosts(fulfillmentDigest(requestId, resultHash), signatures)) {
      return _fail(requestId, request, FAILED_BAD_SIGNATURE);
    }

    (uint32[] memory datasetIndexes, uint256[] memory amounts, ) = _escrow(requestId, _count(request));
    address[][] memory accounts;
    uint16[][] memory shares;
    try i_registry.datasetPayouts(datasetIndexes) returns (address[][] memory foundAccounts, uint16[][] memory foundShares) {
      accounts = foundAccounts;
      shares = foundShares;
    } catch {
      return _fail(requestId, request, FAILED_SELLERS_UNREADABLE);
    }

    _setStatus(request, RequestStatus.Fulfilled);
    s_resultHashes[requestId] = resultHash;
    s_operatorFeesAccrued += i_operatorFee;
    emit ComputationFulfilled(requestId, resultHash, result);
    uint256 count = amounts.length;
    for (uint256 i = 0; i < count; ++i) {
      _creditSplit(accounts[i], shares[i], requestId, amounts[i]);
    }
  }

  /// @notice Refunds a request nobody answered in time: anyone may call it once
  /// `block.timestamp` is past the request's deadline, while it is still Pending.
  /// @dev Credits the buyer the price and fee (withdraw with `withdraw()`) and gives the
  /// request's privacy budget back to its datasets (the registry's `restoreBudget`, called
  /// last and not caught: if it fails — a caller's gas limit too low for it included — the
  /// whole refund reverts and the request stays refundable, so nobody can refund a request
  /// and burn its budget). A fulfilment arriving later changes nothing; the LINK paid for
  /// the request is not reclaimed.
  /// @param requestId The request to refund.
  function refund(bytes32 requestId) external {
    RequestRecord storage request = s_requests[requestId];
    RequestStatus status = _status(request);
    if (status != RequestStatus.Pending) revert AlgorithmComputation__NotPending(requestId, uint8(status));
    // `<=`: refundable only once `block.timestamp` is strictly past the deadline.
    // solhint-disable-next-line gas-strict-inequalities
    if (block.timestamp <= request.deadline) revert AlgorithmComputation__NotExpired(requestId, request.deadline);
    _setStatus(request, RequestStatus.Refunded);
    emit ComputationRefunded(requestId);
    _settleUnpaid(requestId, request, true);
  }

  /// @notice Called by the registry's penalty court once two hosts proved that a dataset of
  /// this request was missing or corrupt when they were asked to compute: a Pending request
  /// fails (reason 7) with the price and fee credited back and its budget restored; a request
  /// already Failed or Refunded stays as it is (its buyer was refunded).
  /// @dev Reverts with `AlgorithmComputation__NotPenaltyCourt` for any other caller,
  /// `AlgorithmComputation__NotInRequest` when the request does not read the dataset, and
  /// `AlgorithmComputation__NotPending` for a Fulfilled request (all three hosts computed it,
  /// which contradicts the accusation) or an unknown one.
  /// @param requestId The request.
  /// @param datasetId The dataset found missing or corrupt.
  /// @return buyer The request's buyer, who is owed the compensation.
  function failForOffence(bytes32 requestId, bytes32 datasetId) external returns (address buyer) {
    if (msg.sender != i_registry.penaltyCourt()) revert AlgorithmComputation__NotPenaltyCourt(msg.sender);
    RequestRecord storage request = s_requests[requestId];
    RequestStatus status = _status(request);
    if (request.buyer == address(0) || status == RequestStatus.Fulfilled) {
      revert AlgorithmComputation__NotPending(requestId, uint8(status));
    }
    uint32 index = i_registry.getSaleTerms(datasetId, i_algorithmId).datasetIndex;
    (uint32[] memory indexes, , ) = _escrow(requestId, _count(request));
    bool found;
    for (uint256 i = 0; i < indexes.length; ++i) {
      if (indexes[i] == index) found = true;
    }
    if (!found) revert AlgorithmComputation__NotInRequest(requestId, datasetId);
    if (status == RequestStatus.Pending) _fail(requestId, request, FAILED_OFFENCE);
    return request.buyer;
  }

  /// @notice Splits the accrued operators' fees equally between the three hosts' operators
  /// (as the host registry lists them now); anyone may call it.
  /// @dev Credits `accrued / 3` to each operator (an operator listed twice is credited twice);
  /// the remainder stays accrued. Emits `OperatorFeesDistributed` with the total credited.
  function distributeOperatorFees() external {
    address[3] memory operators_ = i_hostRegistry.operators();
    for (uint256 i = 0; i < HOST_COUNT; ++i) {
      if (operators_[i] == address(0)) revert AlgorithmComputation__OperatorsNotSet();
    }
    uint256 share = s_operatorFeesAccrued / HOST_COUNT;
    if (share == 0) revert AlgorithmComputation__NothingToDistribute();
    uint256 total = share * HOST_COUNT;
    s_operatorFeesAccrued -= total;
    emit OperatorFeesDistributed(total);
    for (uint256 i = 0; i < HOST_COUNT; ++i) {
      _credit(operators_[i], bytes32(0), share);
    }
  }

  /// @notice Sends the caller everything credited to it (seller payouts, buyer refunds,
  /// operator fees).
  function withdraw() external {
    uint256 amount = s_balances[msg.sender];
    if (amount == 0) revert AlgorithmComputation__NothingToWithdraw(msg.sender);
    // Zero before transferring so a re-entrant token cannot withdraw twice.
    s_balances[msg.sender] = 0;
    emit PaymentWithdrawn(msg.sender, amount);
    i_paymentToken.safeTransfer(msg.sender, amount);
  }

  /// @notice Decodes a fulfilment payload; `fulfill` calls it on itself so that malformed
  /// bytes revert in a call it can catch. Pure: anyone may call it to check a payload.
  /// @param payload abi.encode(bytes result, bytes[3] signatures).
  /// @return result The result bytes.
  /// @return signatures The three hosts' signatures, in host order.
  function decodePayload(
    bytes calldata payload
  ) external pure returns (bytes memory result, bytes[3] memory signatures) {
    return abi.decode(payload, (bytes, bytes[3]));
  }

  /// @notice The 32-byte digest each host signs (EIP-191 `personal_sign`) for a result.
  /// @dev The chain id and this contract's address bind a signature to one deployment on one
  /// chain: the same request id on another chain or contract needs signatures of its own.
  /// @param requestId The request answered.
  /// @param resultHash keccak256 of the result bytes.
  /// @return keccak256(abi.encode(block.chainid, address(this), requestId, resultHash)).
  function fulfillmentDigest(bytes32 requestId, bytes32 resultHash) public view returns (bytes32) {
    return keccak256(abi.encode(block.chainid, address(this), requestId, resultHash));
  }

  /// @notice The balance `account` can withdraw.
  /// @param account The account.
  /// @return The amount in the payment token.
  function withdrawable(address account) external view returns (uint256) {
    return s_balances[account];
  }

  /// @notice The operators' fees `buyer` has prepaid and not yet used or reclaimed.
  /// @param buyer The buyer.
  /// @return The number of fee credits, each one request's `operatorFee()`.
  function feeCreditsOf(address buyer) external view returns (uint256) {
    return s_feeCredits[buyer];
  }

  /// @notice Operators' fees of fulfilled requests not yet distributed.
  /// @return The amount in the payment token.
  function operatorFeesAccrued() external view returns (uint256) {
    return s_operatorFeesAccrued;
  }

  /// @notice A request by id; all zeros (status None) for an unknown id.
  /// @param requestId The Chainlink request id.
  /// @return request The request.
  function getRequest(bytes32 requestId) external view returns (ComputationRequest memory request) {
    RequestRecord memory record = s_requests[requestId];
    if (record.statusAndCount == 0) return request;
    request.buyer = record.buyer;
    request.status = RequestStatus(record.statusAndCount & STATUS_MASK);
    request.deadline = record.deadline;
    (, , request.price) = _escrow(requestId, record.statusAndCount >> STATUS_BITS);
    request.fee = i_operatorFee;
    request.requestBlock = record.requestBlock;
    request.resultHash = s_resultHashes[requestId];
    request.epsilon = record.epsilon;
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

  /// @notice The registry of the three MPC hosts.
  /// @return The host registry's address.
  function hostRegistry() external view returns (address) {
    return address(i_hostRegistry);
  }

  /// @notice The ERC-20 buyers pay in.
  /// @return The token's address.
  function paymentToken() external view returns (address) {
    return address(i_paymentToken);
  }

  /// @notice The LINK token used to pay the Chainlink operator.
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

  /// @notice LINK paid to the Chainlink operator per request.
  /// @return The fee in juels (1e-18 LINK).
  function linkFee() external view returns (uint256) {
    return i_linkFee;
  }

  /// @notice Payment tokens each request escrows for the hosts' operators.
  /// @return The fee in the payment token.
  function operatorFee() external view returns (uint256) {
    return i_operatorFee;
  }

  /// @notice Seconds from a request to its deadline.
  /// @return The timeout in seconds.
  function requestTimeout() external view returns (uint64) {
    return i_requestTimeout;
  }

  /// @notice The contract's type and version.
  /// @return "AlgorithmComputation 4.1.0".
  function typeAndVersion() external pure returns (string memory) {
    return "AlgorithmComputation 4.1.0";
  }

  /// @dev Checks every dataset of a request against its seller's policy, with one registry
  /// call for all of them that also spends `epsilon` of each one's budget; returns who is
  /// owed what (`datasetIndex << 96 | price` per dataset) and the total price. A seller's
  /// minimum rows is a rule about its own dataset: other datasets in the request (a buyer's
  /// own rows of zeros, say) do not count towards it.
  function _checkDatasets(
    bytes32[] calldata datasetIds,
    uint32 epsilon,
    bool trial
  ) private returns (uint128[] memory payouts, uint256 price) {
    uint256 count = datasetIds.length;
    for (uint256 i = 1; i < count; ++i) {
      // `<=`: ids must be strictly ascending, so an equal id (a repeat) is rejected too.
      // solhint-disable-next-line gas-strict-inequalities
      if (datasetIds[i] <= datasetIds[i - 1]) revert AlgorithmComputation__DatasetsNotAscending(i);
    }
    uint256[] memory terms = i_registry.spendBudget(datasetIds, i_algorithmId, epsilon, msg.sender, trial);
    payouts = new uint128[](count);
    uint32 schema = terms[0].schemaIndex();
    for (uint256 i = 0; i < count; ++i) {
      uint256 dataset = terms[i];
      if (!dataset.active()) revert AlgorithmComputation__DatasetInactive(datasetIds[i]);
      if (!dataset.allowed()) revert AlgorithmComputation__AlgorithmNotAllowed(datasetIds[i], s_algorithm);
      if (epsilon == 0 && !dataset.exactAllowed()) revert AlgorithmComputation__ExactNotAllowed(datasetIds[i]);
      if (dataset.schemaIndex() != schema) revert AlgorithmComputation__SchemaMismatch(datasetIds[i]);
      if (dataset.rowCount() < dataset.minRows()) {
        revert AlgorithmComputation__TooFewRows(datasetIds[i], dataset.rowCount(), dataset.minRows());
      }
      payouts[i] = (uint128(dataset.datasetIndex()) << PRICE_BITS) | dataset.price();
      price += dataset.price();
    }
  }

  /// @dev Uses one of the caller's fee credits if it holds any: true when one paid the fee.
  function _useFeeCredit() private returns (bool) {
    uint256 credits = s_feeCredits[msg.sender];
    if (credits == 0) return false;
    // Cannot underflow: checked just above.
    unchecked {
      s_feeCredits[msg.sender] = credits - 1;
    }
    return true;
  }

  /// @dev Builds and sends the Chainlink request; its string fields are what the bridge reads.
  function _sendRequest(
    bytes32[] calldata datasetIds,
    string calldata params,
    bytes32 buyerKey
  ) private returns (bytes32) {
    Chainlink.Request memory req = _buildOperatorRequest(i_jobId, this.fulfill.selector);
    req._add("algorithm", s_algorithm);
    req._add("datasetIds", _joinHex(datasetIds));
    req._add("params", params);
    req._add("buyerKey", _toHex(buyerKey));
    return _sendOperatorRequest(req, i_linkFee);
  }

  /// @dev Split out of `requestComputation` to keep its stack shallow; taking the arrays in
  /// memory (a small copy) is what lets the eight-field event fit the stack.
  function _emitRequested(
    bytes32 requestId,
    bytes32[] memory datasetIds,
    string memory params,
    bytes32 buyerKey,
    uint256 price,
    uint64 deadline,
    uint32 epsilon
  ) private {
    emit ComputationRequested(requestId, msg.sender, datasetIds, params, buyerKey, price, i_operatorFee, deadline, epsilon);
  }

  /// @dev Writes a request's payouts; `uint128` elements pack two per slot, so they are
  /// written a pair at a time (one store per slot, none read first).
  function _storePayouts(uint256[MAX_DATASETS / 2] storage stored, uint128[] memory payouts) private {
    uint256 count = payouts.length;
    for (uint256 i = 0; i < count; i += 2) {
      uint256 pair = payouts[i];
      if (i + 1 < count) pair |= uint256(payouts[i + 1]) << PAYOUT_BITS;
      stored[i / 2] = pair;
    }
  }

  /// @dev Marks a Pending request Failed, credits its buyer the price and fee and gives
  /// its budget back.
  function _fail(bytes32 requestId, RequestRecord storage request, uint8 reason) private {
    _setStatus(request, RequestStatus.Failed);
    emit ComputationFailed(requestId, reason);
    _settleUnpaid(requestId, request, false);
  }

  /// @dev For a request just marked Failed or Refunded: credits the buyer the price and fee,
  /// then gives the request's ε back to its datasets. The registry call comes last. In
  /// `fulfill` (`mustRestore` false) it is caught, because `fulfill` must not revert; the
  /// Operator forwards enough gas for it. In `refund` (`mustRestore` true) it is not: a
  /// caller choosing a gas limit that starves it would otherwise burn the budget. The
  /// status changed before, so a request gives its budget back at most once.
  function _settleUnpaid(bytes32 requestId, RequestRecord storage request, bool mustRestore) private {
    (uint32[] memory datasetIndexes, , uint256 price) = _escrow(requestId, _count(request));
    _credit(request.buyer, requestId, price + i_operatorFee);
    uint32 epsilon = request.epsilon;
    if (epsilon == 0) return;
    if (mustRestore) {
      i_registry.restoreBudget(datasetIndexes, epsilon);
      return;
    }
    try i_registry.restoreBudget(datasetIndexes, epsilon) {
      // The registry emitted `PrivacyBudgetRestored` per dataset.
      return;
    } catch {
      emit PrivacyBudgetRestoreFailed(requestId);
    }
  }

  /// @dev Credits one dataset's price to its seller (`accounts[0]`) and payees by their
  /// basis points; rounding leaves the remainder with the seller. Storage only: safe inside
  /// `fulfill` (at most `MAX_PAYEES` + 1 accounts per dataset, bounded by the registry).
  function _creditSplit(address[] memory accounts, uint16[] memory shares, bytes32 requestId, uint256 amount) private {
    // Never reverts: the parts add up to `amount` whatever the shares.
    uint256[] memory parts = PayoutSplit.split(amount, shares);
    uint256 n = accounts.length;
    for (uint256 j = 0; j < n; ++j) {
      _credit(accounts[j], requestId, parts[j]);
    }
  }

  /// @dev Adds to a pull-payment balance. Storage only: safe inside `fulfill`.
  function _credit(address account, bytes32 requestId, uint256 amount) private {
    if (amount == 0) return;
    s_balances[account] += amount;
    emit PaymentCredited(account, requestId, amount);
  }

  /// @dev A request's escrow: each dataset's index and price, and their sum.
  function _escrow(
    bytes32 requestId,
    uint256 count
  ) private view returns (uint32[] memory datasetIndexes, uint256[] memory amounts, uint256 price) {
    uint256[MAX_DATASETS / 2] storage payouts = s_payouts[requestId];
    datasetIndexes = new uint32[](count);
    amounts = new uint256[](count);
    for (uint256 i = 0; i < count; ++i) {
      uint128 payout = uint128(payouts[i / 2] >> ((i % 2) * PAYOUT_BITS));
      datasetIndexes[i] = uint32(payout >> PRICE_BITS);
      amounts[i] = uint96(payout);
      price += amounts[i];
    }
  }

  /// @dev A request record's status, from the low bits of `statusAndCount`.
  function _status(RequestRecord storage request) private view returns (RequestStatus) {
    return RequestStatus(request.statusAndCount & STATUS_MASK);
  }

  /// @dev A request record's dataset count, from the high bits of `statusAndCount`.
  function _count(RequestRecord storage request) private view returns (uint256) {
    return request.statusAndCount >> STATUS_BITS;
  }

  /// @dev Changes a request's status, keeping its dataset count.
  function _setStatus(RequestRecord storage request, RequestStatus status) private {
    request.statusAndCount = (request.statusAndCount & ~STATUS_MASK) | uint8(status);
  }

  /// @dev `statusAndCount` of a new record; `count` is at most MAX_DATASETS (5 bits).
  function _statusAndCount(RequestStatus status, uint256 count) private pure returns (uint8) {
    return uint8(count << STATUS_BITS) | uint8(status);
  }

  /// @dev Whether signature i recovers to host i's registered signer, for all three hosts.
  /// Never reverts: an unreadable host registry, an unset signer or a malformed signature
  /// all count as a bad signature.
  function _signedByHosts(bytes32 digest, bytes[3] memory signatures) private view returns (bool) {
    address[3] memory expected;
    try i_hostRegistry.signers() returns (address[3] memory registered) {
      expected = registered;
    } catch {
      return false;
    }
    bytes32 signed = ECDSA.toEthSignedMessageHash(digest);
    for (uint256 i = 0; i < HOST_COUNT; ++i) {
      (address recovered, ECDSA.RecoverError error) = ECDSA.tryRecover(signed, signatures[i]);
      if (error != ECDSA.RecoverError.NoError || recovered == address(0) || recovered != expected[i]) return false;
    }
    return true;
  }

  /// @dev "0x…,0x…": the dataset ids as lowercase hex, comma-separated, for the request data.
  /// Written into one buffer (67 bytes per id, less the last comma) rather than concatenated.
  function _joinHex(bytes32[] calldata ids) private pure returns (string memory) {
    uint256 count = ids.length;
    bytes memory out = new bytes(count * 67 - 1);
    for (uint256 i = 0; i < count; ++i) {
      uint256 at = i * 67;
      if (i > 0) out[at - 1] = ",";
      _writeHex(out, at, ids[i]);
    }
    return string(out);
  }

  /// @dev `value` as "0x" and 64 lowercase hex digits.
  function _toHex(bytes32 value) private pure returns (string memory) {
    bytes memory out = new bytes(66);
    _writeHex(out, 0, value);
    return string(out);
  }

  /// @dev Writes "0x" and 64 lowercase hex digits of `value` into `out` at `at`; the callers
  /// size `out` so that the 66 bytes fit. Assembly for the two 32-byte stores (this runs for
  /// every dataset of every request); the digits come from `_hexDigits`.
  function _writeHex(bytes memory out, uint256 at, bytes32 value) private pure {
    uint256 high = _hexDigits(uint256(value) >> 128);
    uint256 low = _hexDigits(uint256(value) & type(uint128).max);
    // Deliberate: see the @dev above; the stores end exactly at byte `at + 66` of `out`.
    // solhint-disable-next-line no-inline-assembly
    assembly ("memory-safe") {
      let p := add(add(out, 32), at)
      mstore8(p, 0x30) // "0"
      mstore8(add(p, 1), 0x78) // "x"
      mstore(add(p, 2), high)
      mstore(add(p, 34), low)
    }
  }

  /// @dev The 32 lowercase hex digits of a 128-bit `x`, most significant first, as the 32
  /// bytes of a word. Spreads the nibbles one per byte by halving lanes (64, 32, 16, 8 and 4
  /// bits moved up), then maps 0-9 to "0"-"9" and 10-15 to "a"-"f" in every byte at once:
  /// adding 6 carries into bit 4 exactly for nibbles above 9, which then get 39 more.
  function _hexDigits(uint256 x) private pure returns (uint256 y) {
    y = ((x & 0xffffffffffffffff0000000000000000) << 64) | (x & 0xffffffffffffffff);
    y =
      ((y & 0xffffffff000000000000000000000000ffffffff00000000) << 32) |
      (y & 0x00ffffffff000000000000000000000000ffffffff);
    y =
      ((y & 0xffff000000000000ffff000000000000ffff000000000000ffff0000) << 16) |
      (y & 0xffff000000000000ffff000000000000ffff000000000000ffff);
    y =
      ((y & 0xff000000ff000000ff000000ff000000ff000000ff000000ff000000ff00) << 8) |
      (y & 0xff000000ff000000ff000000ff000000ff000000ff000000ff000000ff);
    y =
      ((y & 0xf000f000f000f000f000f000f000f000f000f000f000f000f000f000f000f0) << 4) |
      (y & 0xf000f000f000f000f000f000f000f000f000f000f000f000f000f000f000f);
    uint256 letters = ((y + 0x0606060606060606060606060606060606060606060606060606060606060606) >> 4) &
      0x0101010101010101010101010101010101010101010101010101010101010101;
    y = y + 0x3030303030303030303030303030303030303030303030303030303030303030 + letters * 39;
  }
}
