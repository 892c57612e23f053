// SPDX-License-Identifier: MIT
pragma solidity 0.8.19;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

/// @title DatasetRegistry
/// @notice Public catalogue of the datasets sellers have secret-shared to the three MPC hosts,
/// each backed by a stake in the market's payment token.
/// @dev A dataset's permanent address is `<seller>/<name>`; its id is
/// `keccak256(abi.encodePacked(seller, name))`, so a name is unique per seller and no
/// seller can claim another seller's id. Datasets are never deleted (requests in flight
/// keep pointing at them): a seller pauses or resumes sales with `setDatasetActive`, or
/// leaves for good with `deregisterDataset`, which starts the stake's cooldown.
/// The stake is a bond: it stays locked while the dataset is listed and for
/// `stakeCooldown` seconds after it is deregistered, so a seller cannot walk away with it
/// while requests over the dataset may still be in flight. Nothing slashes it yet.
/// What a request reads of a dataset (price, rows, policy, schema, seller) sits in one
/// storage slot, so buying over a dataset costs one cold read (plus the algorithm check):
/// prices are bounded by `type(uint96).max`, row counts and minimum rows by 2^40 - 1,
/// and schemas and sellers are referred to by 32-bit indexes the registry assigns (a
/// schema hash or seller address gets its index the first time it is registered). The
/// per-algorithm contracts escrow `(sellerIndex, price)` in 128 bits, two per slot, and
/// turn indexes back into addresses with `sellersOf` when they pay.
/// Unknown ids make `getDataset` and `getSaleTerms` revert with `DatasetRegistry__UnknownDataset`,
/// so a consumer calling them needs no check of its own: the error bubbles up to its caller.
/// Fee-on-transfer payment tokens are not supported: the stake is assumed to arrive in full.
contract DatasetRegistry {
  using SafeERC20 for IERC20;

  /// @notice What a seller published about a dataset.
  /// @param seller The account that registered the dataset and receives its payments.
  /// @param name The seller-chosen name, the second half of the permanent address.
  /// @param schemaHash keccak256 of the schema text published in `DatasetRegistered`.
  /// @param rowCount Number of rows shared to the hosts.
  /// @param price Price of one computation, in the market's payment token.
  /// @param commitments keccak256 of the bytes each host stores, in host order.
  /// @param active Whether buyers may currently request computations.
  /// @param minRows The fewest rows a result over this dataset may aggregate (seller policy).
  /// @param stake The payment tokens the seller locked at registration (0 once withdrawn).
  /// @param stakeReleaseTime When the stake becomes withdrawable; 0 while the dataset is listed.
  // Memory-only (the `getDataset` return value; storage is `DatasetRecord`): its field order
  // is the ABI tuple callers decode, so it is not reordered for packing.
  // solhint-disable-next-line gas-struct-packing
  struct Dataset {
    address seller;
    string name;
    bytes32 schemaHash;
    uint64 rowCount;
    uint256 price;
    bytes32[3] commitments;
    bool active;
    uint64 minRows;
    uint256 stake;
    uint64 stakeReleaseTime;
  }

  /// @notice What a seller allows buyers to compute over a dataset.
  /// @param allowedAlgorithms keccak256 of each allowed algorithm's `name@version`.
  /// @param minRows The fewest rows a result may aggregate (0: no minimum).
  struct Policy {
    bytes32[] allowedAlgorithms;
    uint64 minRows;
  }

  /// @notice What a buyer's request needs to know about a dataset, as `getSaleTerms` returns it.
  /// @param price Price of one computation in the payment token.
  /// @param rowCount Number of rows shared to the hosts.
  /// @param minRows The fewest rows a result over the dataset may aggregate.
  /// @param schemaIndex The registry's index of the dataset's schema hash (equal schemas,
  /// equal indexes; never 0).
  /// @param sellerIndex The registry's index of the seller's address (see `sellersOf`; never 0).
  /// @param active Whether the dataset is for sale.
  /// @param allowed Whether the seller allows the algorithm asked about.
  struct SaleTerms {
    uint96 price;
    uint40 rowCount;
    uint40 minRows;
    uint32 schemaIndex;
    uint32 sellerIndex;
    bool active;
    bool allowed;
  }

  /// @dev Storage layout of a dataset: slot 0 holds everything a request reads.
  struct DatasetRecord {
    // slot 0: the terms of sale (96 + 40 + 40 + 32 + 32 + 8 + 8 = 256 bits)
    uint96 price;
    uint40 rowCount;
    uint40 minRows;
    uint32 schemaIndex;
    uint32 sellerIndex;
    bool active;
    bool deregistered;
    // slot 1
    address seller;
    uint64 stakeReleaseTime;
    // slot 2
    uint256 stake;
    // slot 3
    bytes32 schemaHash;
    // slots 4 to 7
    string name;
    bytes32[3] commitments;
  }

  /// @notice The constructor's payment token was the zero address.
  error DatasetRegistry__ZeroAddress();
  /// @notice A dataset with this id (same seller, same name) already exists.
  error DatasetRegistry__AlreadyRegistered(bytes32 datasetId);
  /// @notice The dataset name must not be empty.
  error DatasetRegistry__EmptyName();
  /// @notice A dataset must have at least one row.
  error DatasetRegistry__NoRows();
  /// @notice No dataset has this id.
  error DatasetRegistry__UnknownDataset(bytes32 datasetId);
  /// @notice Only the dataset's seller may change it.
  error DatasetRegistry__NotSeller(bytes32 datasetId, address caller);
  /// @notice The offered stake is below the registry's minimum.
  error DatasetRegistry__StakeTooLow(uint256 stake, uint256 minStake);
  /// @notice A price must fit in 96 bits (see the contract's notes).
  error DatasetRegistry__PriceTooHigh(uint256 price, uint256 maxPrice);
  /// @notice A row count or minimum rows must fit in 40 bits (see the contract's notes).
  error DatasetRegistry__TooManyRows(uint256 rows, uint256 maxRows);
  /// @notice A dataset must hold at least the rows its own policy requires a result to aggregate.
  error DatasetRegistry__FewerRowsThanMinimum(uint256 rowCount, uint256 minRows);
  /// @notice No seller has this index.
  error DatasetRegistry__UnknownSellerIndex(uint32 index);
  /// @notice The dataset was deregistered: it can no longer be changed or reactivated.
  error DatasetRegistry__Deregistered(bytes32 datasetId);
  /// @notice The stake can only be withdrawn after `deregisterDataset`.
  error DatasetRegistry__NotDeregistered(bytes32 datasetId);
  /// @notice The stake's cooldown has not elapsed yet.
  error DatasetRegistry__StakeLocked(bytes32 datasetId, uint64 releaseTime);
  /// @notice The dataset holds no stake (withdrawn already, or none was required).
  error DatasetRegistry__NoStake(bytes32 datasetId);

  /// @notice Emitted when a seller registers a dataset.
  /// @dev `schema` (JSON: column names and fixed-point scales) is published here rather
  /// than stored: buyers read it from the log and check it against `schemaHash`.
  /// @param datasetId keccak256(abi.encodePacked(seller, name)).
  /// @param seller The account that registered the dataset and receives its payments.
  /// @param name The seller-chosen name.
  /// @param price Price of one computation, in the payment token.
  /// @param rowCount Number of rows shared to the hosts.
  /// @param schema The schema text whose keccak256 is stored as `schemaHash`.
  event DatasetRegistered(
    bytes32 indexed datasetId,
    address indexed seller,
    string name,
    uint256 price,
    uint64 rowCount,
    string schema
  );
  /// @notice Emitted with `DatasetRegistered`: the seller's policy for the dataset.
  /// @param datasetId The dataset.
  /// @param allowedAlgorithms keccak256 of each allowed algorithm's `name@version`.
  /// @param minRows The fewest rows a result may aggregate (0: no minimum).
  event DatasetPolicySet(bytes32 indexed datasetId, bytes32[] allowedAlgorithms, uint64 minRows);
  /// @notice Emitted with `DatasetRegistered`: the stake the seller locked.
  /// @param datasetId The dataset.
  /// @param seller The dataset's seller.
  /// @param amount Payment tokens locked (may be zero).
  event StakeDeposited(bytes32 indexed datasetId, address indexed seller, uint256 amount);
  /// @notice Emitted when a seller pauses or resumes sales of a dataset.
  /// @param datasetId The dataset.
  /// @param active Whether buyers may now request computations.
  event DatasetActivationUpdated(bytes32 indexed datasetId, bool active);
  /// @notice Emitted when a seller changes a dataset's price.
  /// @param datasetId The dataset.
  /// @param price The new price of one computation, in the payment token.
  event DatasetPriceUpdated(bytes32 indexed datasetId, uint256 price);
  /// @notice Emitted when a seller withdraws a dataset from sale for good.
  /// @param datasetId The dataset.
  /// @param stakeReleaseTime When the stake becomes withdrawable (unix seconds).
  event DatasetDeregistered(bytes32 indexed datasetId, uint64 stakeReleaseTime);
  /// @notice Emitted when a seller takes its stake back after the cooldown.
  /// @param datasetId The dataset.
  /// @param seller The dataset's seller, who receives the stake.
  /// @param amount Payment tokens sent back.
  event StakeWithdrawn(bytes32 indexed datasetId, address indexed seller, uint256 amount);

  IERC20 private immutable i_paymentToken;
  uint256 private immutable i_minStake;
  uint64 private immutable i_stakeCooldown;

  mapping(bytes32 datasetId => DatasetRecord) private s_datasets;
  mapping(address seller => uint32 index) private s_sellerIndexes;
  /// @dev s_sellers[index - 1] is the seller with that index.
  address[] private s_sellers;
  mapping(bytes32 schemaHash => uint32 index) private s_schemaIndexes;
  uint32 private s_schemaCount;
  mapping(bytes32 datasetId => bytes32[]) private s_allowedAlgorithms;
  mapping(bytes32 datasetId => mapping(bytes32 algorithmId => bool)) private s_isAllowed;

  /// @param paymentToken_ The ERC-20 stakes are paid in (the market's payment token).
  /// @param minStake_ The smallest stake a dataset may be registered with (may be zero).
  /// @param stakeCooldown_ Seconds a stake stays locked after its dataset is deregistered;
  /// choose it longer than the per-algorithm contracts' request timeout.
  constructor(address paymentToken_, uint256 minStake_, uint64 stakeCooldown_) {
    if (paymentToken_ == address(0)) revert DatasetRegistry__ZeroAddress();
    i_paymentToken = IERC20(paymentToken_);
    i_minStake = minStake_;
    i_stakeCooldown = stakeCooldown_;
  }

  /// @notice Registers a dataset under `<msg.sender>/<name>`, locks its stake and opens it
  /// for sale. The caller must first `approve` this registry for `stake` payment tokens.
  /// @param name Name of the dataset, unique for this seller, non-empty.
  /// @param schema The schema text (JSON: column names and fixed-point scales); its hash is stored.
  /// @param rowCount Number of rows shared to the hosts, at least one and at least `policy.minRows`.
  /// @param price Price of one computation in the payment token (may be zero, at most 2^96 - 1).
  /// @param commitments keccak256 of the share bytes held by host 0, 1 and 2.
  /// @param policy The algorithms buyers may run and the fewest rows a result may aggregate.
  /// @param stake Payment tokens to lock, at least `minStake()`.
  /// @return id The dataset id, keccak256(abi.encodePacked(msg.sender, name)).
  function registerDataset(
    string calldata name,
    string calldata schema,
    uint64 rowCount,
    uint256 price,
    bytes32[3] calldata commitments,
    Policy calldata policy,
    uint256 stake
  ) external returns (bytes32 id) {
    // Checks.
    if (bytes(name).length == 0) revert DatasetRegistry__EmptyName();
    if (rowCount == 0) revert DatasetRegistry__NoRows();
    _checkRows(rowCount);
    _checkRows(policy.minRows);
    // The minimum is a per-dataset rule (buyers cannot pad a request with rows of their own),
    // so a dataset smaller than its own minimum could never be sold: refuse it now.
    if (rowCount < policy.minRows) revert DatasetRegistry__FewerRowsThanMinimum(rowCount, policy.minRows);
    _checkPrice(price);
    if (stake < i_minStake) revert DatasetRegistry__StakeTooLow(stake, i_minStake);
    id = _datasetId(msg.sender, name);
    if (s_datasets[id].seller != address(0)) revert DatasetRegistry__AlreadyRegistered(id);

    // Effects.
    DatasetRecord storage dataset = s_datasets[id];
    dataset.schemaHash = keccak256(bytes(schema));
    // The bounds were checked above, so the casts are exact.
    dataset.price = uint96(price);
    dataset.rowCount = uint40(rowCount);
    dataset.minRows = uint40(policy.minRows);
    dataset.schemaIndex = _schemaIndex(dataset.schemaHash);
    dataset.sellerIndex = _sellerIndex(msg.sender);
    dataset.active = true;
    dataset.seller = msg.sender;
    dataset.stake = stake;
    dataset.name = name;
    dataset.commitments = commitments;
    s_allowedAlgorithms[id] = policy.allowedAlgorithms;
    for (uint256 i = 0; i < policy.allowedAlgorithms.length; ++i) {
      s_isAllowed[id][policy.allowedAlgorithms[i]] = true;
    }
    emit DatasetRegistered(id, msg.sender, name, price, rowCount, schema);
    emit DatasetPolicySet(id, policy.allowedAlgorithms, policy.minRows);
    emit StakeDeposited(id, msg.sender, stake);

    // Interactions: the dataset is fully recorded before the token is called.
    if (stake > 0) i_paymentToken.safeTransferFrom(msg.sender, address(this), stake);
  }

  /// @notice Pauses (`false`) or resumes (`true`) sales of one of the caller's datasets.
  /// @dev Requests already sent are unaffected: their price is escrowed and they settle
  /// normally. Reverts with `DatasetRegistry__Deregistered` once the dataset is deregistered.
  /// @param id The dataset to change.
  /// @param active The new state.
  function setDatasetActive(bytes32 id, bool active) external {
    DatasetRecord storage dataset = _getListedBySeller(id);
    dataset.active = active;
    emit DatasetActivationUpdated(id, active);
  }

  /// @notice Changes the price of one of the caller's datasets for future requests.
  /// @dev Requests already sent keep the price escrowed when they were made.
  /// @param id The dataset to change.
  /// @param price The new price in the payment token (at most 2^96 - 1).
  function setPrice(bytes32 id, uint256 price) external {
    DatasetRecord storage dataset = _getListedBySeller(id);
    _checkPrice(price);
    dataset.price = uint96(price);
    emit DatasetPriceUpdated(id, price);
  }

  /// @notice Withdraws one of the caller's datasets from sale for good and starts the
  /// stake's cooldown: the stake can be withdrawn `stakeCooldown()` seconds from now.
  /// @dev The dataset stays readable (and its id taken) so requests in flight still settle.
  /// @param id The dataset to deregister.
  function deregisterDataset(bytes32 id) external {
    DatasetRecord storage dataset = _getListedBySeller(id);
    uint64 releaseTime = uint64(block.timestamp) + i_stakeCooldown;
    dataset.active = false;
    dataset.deregistered = true;
    dataset.stakeReleaseTime = releaseTime;
    emit DatasetDeregistered(id, releaseTime);
  }

  /// @notice Sends a deregistered dataset's stake back to its seller once the cooldown is over.
  /// @param id The dataset whose stake to withdraw.
  function withdrawStake(bytes32 id) external {
    DatasetRecord storage dataset = _getDataset(id);
    if (dataset.seller != msg.sender) revert DatasetRegistry__NotSeller(id, msg.sender);
    if (!dataset.deregistered) revert DatasetRegistry__NotDeregistered(id);
    if (block.timestamp < dataset.stakeReleaseTime) {
      revert DatasetRegistry__StakeLocked(id, dataset.stakeReleaseTime);
    }
    uint256 amount = dataset.stake;
    if (amount == 0) revert DatasetRegistry__NoStake(id);
    // Pull payment: zero before transferring so a re-entrant token cannot withdraw twice.
    dataset.stake = 0;
    emit StakeWithdrawn(id, msg.sender, amount);
    i_paymentToken.safeTransfer(msg.sender, amount);
  }

  /// @notice Returns a registered dataset.
  /// @dev Reverts with `DatasetRegistry__UnknownDataset` for an id nobody registered.
  /// @param id The dataset id.
  /// @return The dataset.
  function getDataset(bytes32 id) external view returns (Dataset memory) {
    DatasetRecord storage record = _getDataset(id);
    return
      Dataset({
        seller: record.seller,
        name: record.name,
        schemaHash: record.schemaHash,
        rowCount: record.rowCount,
        price: record.price,
        commitments: record.commitments,
        active: record.active,
        minRows: record.minRows,
        stake: record.stake,
        stakeReleaseTime: record.stakeReleaseTime
      });
  }

  /// @notice What a buyer's request over a dataset with an algorithm needs to know, read
  /// from two storage slots (the terms and the algorithm's entry in the policy).
  /// @dev Reverts with `DatasetRegistry__UnknownDataset` for an id nobody registered.
  /// @param id The dataset id.
  /// @param algorithmId keccak256 of the algorithm's `name@version`.
  /// @return terms The dataset's terms of sale and whether its seller allows the algorithm.
  function getSaleTerms(bytes32 id, bytes32 algorithmId) external view returns (SaleTerms memory terms) {
    DatasetRecord storage record = s_datasets[id];
    terms.sellerIndex = record.sellerIndex;
    if (terms.sellerIndex == 0) revert DatasetRegistry__UnknownDataset(id);
    terms.price = record.price;
    terms.rowCount = record.rowCount;
    terms.minRows = record.minRows;
    terms.schemaIndex = record.schemaIndex;
    terms.active = record.active;
    terms.allowed = s_isAllowed[id][algorithmId];
  }

  /// @notice The sellers with the given indexes (see `getSaleTerms`), in the same order.
  /// @dev Reverts with `DatasetRegistry__UnknownSellerIndex` for 0 or an index not yet assigned.
  /// @param indexes Seller indexes.
  /// @return sellers Their addresses.
  function sellersOf(uint32[] calldata indexes) external view returns (address[] memory sellers) {
    uint256 count = indexes.length;
    uint256 known = s_sellers.length;
    sellers = new address[](count);
    for (uint256 i = 0; i < count; ++i) {
      uint32 index = indexes[i];
      if (index == 0 || index > known) revert DatasetRegistry__UnknownSellerIndex(index);
      sellers[i] = s_sellers[index - 1];
    }
  }

  /// @notice A seller's index, as escrows refer to it; 0 if the address never registered a dataset.
  /// @param seller The seller's address.
  /// @return The index.
  function sellerIndexOf(address seller) external view returns (uint32) {
    return s_sellerIndexes[seller];
  }

  /// @notice Whether the dataset's seller allows an algorithm.
  /// @param id The dataset id.
  /// @param algorithmId keccak256 of the algorithm's `name@version`.
  /// @return True if allowed (false for unknown datasets).
  function isAlgorithmAllowed(bytes32 id, bytes32 algorithmId) external view returns (bool) {
    return s_isAllowed[id][algorithmId];
  }

  /// @notice The algorithms the dataset's seller allows.
  /// @param id The dataset id.
  /// @return keccak256 of each allowed `name@version`.
  function getAllowedAlgorithms(bytes32 id) external view returns (bytes32[] memory) {
    return s_allowedAlgorithms[id];
  }

  /// @notice Whether a dataset with this id exists (never reverts; true after deregistration too).
  /// @param id The dataset id.
  /// @return True if registered.
  function isRegistered(bytes32 id) external view returns (bool) {
    return s_datasets[id].seller != address(0);
  }

  /// @notice Computes the id of `<seller>/<name>` without reading state.
  /// @param seller The seller's address.
  /// @param name The dataset name.
  /// @return keccak256(abi.encodePacked(seller, name)).
  function datasetId(address seller, string calldata name) external pure returns (bytes32) {
    return _datasetId(seller, name);
  }

  /// @notice The ERC-20 stakes are paid in.
  /// @return The token's address.
  function paymentToken() external view returns (address) {
    return address(i_paymentToken);
  }

  /// @notice The smallest stake a dataset may be registered with.
  /// @return The amount in the payment token.
  function minStake() external view returns (uint256) {
    return i_minStake;
  }

  /// @notice Seconds a stake stays locked after its dataset is deregistered.
  /// @return The cooldown in seconds.
  function stakeCooldown() external view returns (uint64) {
    return i_stakeCooldown;
  }

  /// @notice The contract's type and version.
  /// @return "DatasetRegistry 2.1.0".
  function typeAndVersion() external pure returns (string memory) {
    return "DatasetRegistry 2.1.0";
  }

  function _getDataset(bytes32 id) private view returns (DatasetRecord storage dataset) {
    dataset = s_datasets[id];
    if (dataset.seller == address(0)) revert DatasetRegistry__UnknownDataset(id);
  }

  /// @dev The dataset, checked to exist, to belong to the caller and to be still listed.
  function _getListedBySeller(bytes32 id) private view returns (DatasetRecord storage dataset) {
    dataset = _getDataset(id);
    if (dataset.seller != msg.sender) revert DatasetRegistry__NotSeller(id, msg.sender);
    if (dataset.deregistered) revert DatasetRegistry__Deregistered(id);
  }

  /// @dev The seller's index, assigned on its first registration.
  function _sellerIndex(address seller) private returns (uint32 index) {
    index = s_sellerIndexes[seller];
    if (index == 0) {
      s_sellers.push(seller);
      // Over 2^32 - 1 sellers is out of reach (one registration transaction each).
      index = uint32(s_sellers.length);
      s_sellerIndexes[seller] = index;
    }
  }

  /// @dev The schema hash's index, assigned on its first registration.
  function _schemaIndex(bytes32 schemaHash) private returns (uint32 index) {
    index = s_schemaIndexes[schemaHash];
    if (index == 0) {
      index = ++s_schemaCount;
      s_schemaIndexes[schemaHash] = index;
    }
  }

  function _checkRows(uint256 rows) private pure {
    if (rows > type(uint40).max) revert DatasetRegistry__TooManyRows(rows, type(uint40).max);
  }

  function _checkPrice(uint256 price) private pure {
    if (price > type(uint96).max) revert DatasetRegistry__PriceTooHigh(price, type(uint96).max);
  }

  function _datasetId(address seller, string calldata name) private pure returns (bytes32) {
    return keccak256(abi.encodePacked(seller, name));
  }
}
