// SPDX-License-Identifier: MIT
pragma solidity 0.8.19;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

import {SaleTermsWord} from "./SaleTermsWord.sol";
import {SubscriptionBook} from "./SubscriptionBook.sol";
import {TrialBook} from "./TrialBook.sol";

/// @title DatasetRegistry
/// @notice Public catalogue of the datasets sellers have secret-shared to the three MPC hosts,
/// each backed by a stake in the market's payment token, with each dataset's differential
/// privacy budget.
/// @dev A dataset's permanent address is `<seller>/<name>`; its id is
/// `keccak256(abi.encodePacked(seller, name))`, so a name is unique per seller and no
/// seller can claim another seller's id. Datasets are never deleted (requests in flight
/// keep pointing at them): a seller pauses or resumes sales with `setDatasetActive`, or
/// leaves for good with `deregisterDataset`, which starts the stake's cooldown. A seller
/// keeps a listed dataset current with `refreshDataset`: new shares (row count and
/// commitments) as its next version (`versionOf`), everything else as it was.
/// The stake is a bond: it stays locked while the dataset is listed and for
/// `stakeCooldown` seconds after it is deregistered, so a seller cannot walk away with it
/// while requests over the dataset may still be in flight; the penalty court slashes part of
/// it for an offence two hosts attest (`punish`).
///
/// Privacy budget. The market sells differentially private answers: a request names the ε
/// it spends on every dataset it reads, in milli-ε (integers: ε = 1 is 1000). Each dataset
/// has a total budget (`Policy.budget`, milli-ε, at most 2^32 - 1) set by its seller; what is
/// left is `total - spent`. The per-algorithm contracts spend it with `spendBudget` when a
/// buyer pays (the request reverts when any dataset has less left than asked) and give it
/// back with `restoreBudget` when the request ends Failed or Refunded (its result is never
/// readable: the hosts release result keys only for Fulfilled requests). A seller may also
/// allow exact answers (no noise, no budget) per algorithm (`Policy.exactAlgorithms`).
/// Only the market's algorithm contracts may spend or give back budget: the deployer names
/// the `AlgorithmFactory` once (`setAlgorithmFactory`), and the factory authorizes each
/// computation it deploys (`authorizeComputation`); nobody else can add one.
///
/// Storage. What a request reads and writes of a dataset sits in one slot (price, rows,
/// minimum rows, dataset index, remaining budget, active), and the seller's answer for the
/// algorithm in a second one (`Listing`: allowed, exact allowed, and a copy of the dataset's
/// schema index, which never changes), so buying over a dataset costs two cold reads and one
/// warm write, for all datasets of a request in one call. Prices are bounded by
/// `type(uint96).max`, row counts and minimum rows by 2^40 - 1; schemas and datasets are
/// referred to by 32-bit indexes the registry assigns (a schema hash gets its index the
/// first time it is registered, a dataset at its registration, from 1 up). The
/// per-algorithm contracts escrow `(datasetIndex, price)` in 128 bits, two per slot, and
/// turn indexes back into sellers (`datasetSellers`) when they pay and into datasets when
/// they give budget back.
/// Unknown ids make `getDataset`, `getSaleTerms` and `budgetOf` revert with
/// `DatasetRegistry__UnknownDataset`, so a consumer calling them needs no check of its own:
/// the error bubbles up to its caller.
/// Fee-on-transfer payment tokens are not supported: the stake is assumed to arrive in full.
contract DatasetRegistry is SubscriptionBook, TrialBook {
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
  /// @param budget The dataset's total privacy budget in milli-ε (ε = 1 is 1000).
  /// @param exactAlgorithms The allowed algorithms (each also in `allowedAlgorithms`) whose
  /// exact answers, without noise and without spending budget, the seller allows.
  struct Policy {
    bytes32[] allowedAlgorithms;
    uint64 minRows;
    uint32 budget;
    bytes32[] exactAlgorithms;
  }

  /// @notice What a buyer's request needs to know about a dataset, as `getSaleTerms` and
  /// `spendBudget` return it.
  /// @param price Price of one computation in the payment token.
  /// @param rowCount Number of rows shared to the hosts.
  /// @param minRows The fewest rows a result over the dataset may aggregate.
  /// @param schemaIndex The registry's index of the dataset's schema hash (equal schemas,
  /// equal indexes; never 0).
  /// @param datasetIndex The registry's index of the dataset (see `datasetSellers`; never 0).
  /// @param active Whether the dataset is for sale.
  /// @param allowed Whether the seller allows the algorithm asked about.
  /// @param exactAllowed Whether the seller allows exact answers (ε = 0) of that algorithm.
  /// @param budgetRemaining The privacy budget left, in milli-ε (after the spend, from `spendBudget`).
  struct SaleTerms {
    uint96 price;
    uint40 rowCount;
    uint40 minRows;
    uint32 schemaIndex;
    uint32 datasetIndex;
    bool active;
    bool allowed;
    bool exactAllowed;
    uint32 budgetRemaining;
  }

  /// @dev What every request over a dataset reads, and the budget it writes: one slot
  /// (96 + 40 + 40 + 32 + 32 + 8 + 8 = 256 bits).
  struct Terms {
    uint96 price;
    uint40 rowCount;
    uint40 minRows;
    uint32 datasetIndex;
    uint32 budgetRemaining;
    bool active;
    bool deregistered;
  }

  /// @dev Storage layout of a dataset: slot 0 is `Terms`.
  struct DatasetRecord {
    // slot 0
    Terms terms;
    // slot 1 (160 + 64 + 32 bits)
    address seller;
    uint64 stakeReleaseTime;
    uint32 budgetTotal;
    // slot 2
    uint256 stake;
    // slot 3
    bytes32 schemaHash;
    // slots 4 to 7
    string name;
    bytes32[3] commitments;
    // slot 8: the dataset's version is `refreshes + 1`, so registering writes no extra slot.
    uint32 refreshes;
  }

  /// @dev One payee of a dataset's revenue: an account and its share in basis points.
  struct Payee {
    address account;
    uint16 share;
  }

  /// @dev The seller's answer for one algorithm over one dataset, one slot read per request.
  /// `schemaIndex` copies the dataset's (set at registration, never changed) so that a request
  /// needs no third read; it is 0 for an algorithm the seller does not allow.
  struct Listing {
    bool allowed;
    bool exact;
    uint32 schemaIndex;
  }

  /// @notice A constructor argument (or the factory) was the zero address.
  error DatasetRegistry__ZeroAddress();
  /// @notice A payout list is malformed: `accounts` and `shares` differ in length, name more
  /// than MAX_PAYEES, name the zero address, the seller or an account twice, give a share of
  /// 0, or add up to more than the whole (BPS_WHOLE).
  error DatasetRegistry__BadPayouts(uint256 index);
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
  /// @notice An algorithm whose exact answers the policy allows is not among its allowed algorithms.
  error DatasetRegistry__ExactAlgorithmNotAllowed(bytes32 algorithmId);
  /// @notice A new total budget must cover what requests already spent (milli-ε).
  error DatasetRegistry__BudgetBelowSpent(uint32 budget, uint32 spent);
  /// @notice The dataset has less privacy budget left than the request asks (milli-ε).
  error DatasetRegistry__BudgetExhausted(bytes32 datasetId, uint32 remaining, uint32 epsilon);
  /// @notice No dataset has this index.
  error DatasetRegistry__UnknownDatasetIndex(uint32 index);
  /// @notice The dataset was deregistered: it can no longer be changed or reactivated.
  error DatasetRegistry__Deregistered(bytes32 datasetId);
  /// @notice The stake can only be withdrawn after `deregisterDataset`.
  error DatasetRegistry__NotDeregistered(bytes32 datasetId);
  /// @notice The stake's cooldown has not elapsed yet.
  error DatasetRegistry__StakeLocked(bytes32 datasetId, uint64 releaseTime);
  /// @notice The dataset holds no stake (withdrawn already, or none was required).
  error DatasetRegistry__NoStake(bytes32 datasetId);
  /// @notice Only the account that deployed the registry may name its factory.
  error DatasetRegistry__NotDeployer(address caller);
  /// @notice The registry's factory was named already (it is named once).
  error DatasetRegistry__FactoryAlreadySet(address factory);
  /// @notice Only the registry's factory may authorize a computation.
  error DatasetRegistry__NotFactory(address caller);
  /// @notice Only a computation the factory deployed may spend or give back privacy budget.
  error DatasetRegistry__NotComputation(address caller);
  /// @notice The penalty court is named once.
  error DatasetRegistry__PenaltyCourtAlreadySet(address court);
  /// @notice Only the penalty court may punish.
  error DatasetRegistry__NotPenaltyCourt(address caller);

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
  /// @notice Emitted with `DatasetRegistered`, and by `setPolicy`: the seller's policy for the dataset.
  /// @param datasetId The dataset.
  /// @param allowedAlgorithms keccak256 of each allowed algorithm's `name@version`.
  /// @param minRows The fewest rows a result may aggregate (0: no minimum).
  /// @param budget The dataset's total privacy budget, in milli-ε.
  /// @param exactAlgorithms The allowed algorithms whose exact answers the seller allows.
  event DatasetPolicySet(
    bytes32 indexed datasetId,
    bytes32[] allowedAlgorithms,
    uint64 minRows,
    uint32 budget,
    bytes32[] exactAlgorithms
  );
  /// @notice Emitted with `DatasetPolicySet`: the dataset's total privacy budget and what is
  /// left of it (total minus what requests spent), both in milli-ε.
  /// @param datasetId The dataset.
  /// @param total The total budget.
  /// @param remaining The budget left.
  event PrivacyBudgetUpdated(bytes32 indexed datasetId, uint32 total, uint32 remaining);
  /// @notice Emitted when a buyer's request spends privacy budget of a dataset (the
  /// request's `ComputationRequested` is in the same transaction).
  /// @param datasetId The dataset.
  /// @param epsilon The budget spent, in milli-ε.
  /// @param remaining The budget left afterwards, in milli-ε.
  event PrivacyBudgetSpent(bytes32 indexed datasetId, uint32 epsilon, uint32 remaining);
  /// @notice Emitted when a request that ended Failed or Refunded gives its budget back.
  /// @param datasetId The dataset.
  /// @param epsilon The budget given back, in milli-ε.
  /// @param remaining The budget left afterwards, in milli-ε.
  event PrivacyBudgetRestored(bytes32 indexed datasetId, uint32 epsilon, uint32 remaining);
  /// @notice Emitted with `DatasetRegistered`: the stake the seller locked.
  /// @param datasetId The dataset.
  /// @param seller The dataset's seller.
  /// @param amount Payment tokens locked (may be zero).
  event StakeDeposited(bytes32 indexed datasetId, address indexed seller, uint256 amount);
  /// @notice Emitted when a seller pauses or resumes sales of a dataset.
  /// @param datasetId The dataset.
  /// @param active Whether buyers may now request computations.
  event DatasetActivationUpdated(bytes32 indexed datasetId, bool active);
  /// @notice Emitted when a seller registers new shares as a dataset's next version
  /// (`refreshDataset`), with what the previous version was.
  /// @dev The `previous*` fields let the hosts serve every request the version it was bought
  /// against with no per-request storage: a request's version is the `previousRowCount` and
  /// `previousCommitments` of the first `DatasetRefreshed` of the dataset logged after the
  /// request's `ComputationRequested` (later block, or later log in the same block), or the
  /// dataset's current `rowCount` and `commitments` if there is none.
  /// @param datasetId The dataset.
  /// @param version The new version (the registration is version 1, the first refresh 2).
  /// @param rowCount Number of rows of the new version.
  /// @param commitments keccak256 of the new share bytes held by host 0, 1 and 2.
  /// @param previousRowCount Number of rows of the version this one replaces.
  /// @param previousCommitments The commitments of the version this one replaces.
  event DatasetRefreshed(
    bytes32 indexed datasetId,
    uint32 version,
    uint64 rowCount,
    bytes32[3] commitments,
    uint64 previousRowCount,
    bytes32[3] previousCommitments
  );
  /// @notice Emitted when a seller changes a dataset's price.
  /// @param datasetId The dataset.
  /// @param price The new price of one computation, in the payment token.
  event DatasetPriceUpdated(bytes32 indexed datasetId, uint256 price);
  /// @notice The seller named who shares a dataset's revenue (empty: the seller keeps it all).
  /// @param datasetId The dataset.
  /// @param accounts The payees besides the seller.
  /// @param shares Each payee's share of every payment for the dataset, in basis points.
  event DatasetPayoutsSet(bytes32 indexed datasetId, address[] accounts, uint16[] shares);
  /// @notice Emitted when a seller withdraws a dataset from sale for good.
  /// @param datasetId The dataset.
  /// @param stakeReleaseTime When the stake becomes withdrawable (unix seconds).
  event DatasetDeregistered(bytes32 indexed datasetId, uint64 stakeReleaseTime);
  /// @notice Emitted when a seller takes its stake back after the cooldown.
  /// @param datasetId The dataset.
  /// @param seller The dataset's seller, who receives the stake.
  /// @param amount Payment tokens sent back.
  event StakeWithdrawn(bytes32 indexed datasetId, address indexed seller, uint256 amount);
  /// @notice Emitted once, when the deployer names the factory whose computations may spend budget.
  /// @param factory The `AlgorithmFactory`.
  event AlgorithmFactorySet(address factory);
  /// @notice Emitted once, when the deployer names the penalty court.
  /// @param court The `PenaltyCourt`.
  event PenaltyCourtSet(address court);
  /// @notice A dataset was punished for a proven offence: part of its stake slashed, the
  /// dataset deregistered.
  /// @param datasetId The dataset.
  /// @param compensated The buyer let down, credited `compensation` (withdrawIncome).
  /// @param slashed Taken from the stake.
  /// @param compensation The part of `slashed` credited to `compensated`; the rest is burned.
  event DatasetPunished(bytes32 indexed datasetId, address indexed compensated, uint256 slashed, uint256 compensation);
  /// @notice Emitted when the factory authorizes a computation it deployed to spend and give
  /// back privacy budget.
  /// @param computation The `AlgorithmComputation`.
  event ComputationAuthorized(address indexed computation);

  /// @notice The most accounts besides the seller that may share a dataset's revenue.
  uint256 public constant MAX_PAYEES = 8;
  /// @notice The whole of a payment, in basis points.
  uint16 public constant BPS_WHOLE = 10_000;
  /// @notice Where slashed stake that compensates nobody goes: an address nobody holds the key of.
  address public constant BURN_ADDRESS = 0x000000000000000000000000000000000000dEaD;

  IERC20 private immutable i_paymentToken;
  uint256 private immutable i_minStake;
  uint64 private immutable i_stakeCooldown;
  address private immutable i_deployer;

  mapping(bytes32 datasetId => DatasetRecord) private s_datasets;
  /// @dev The dataset with each index (1 up).
  mapping(uint32 index => bytes32 datasetId) private s_datasetIds;
  uint32 private s_datasetCount;
  mapping(bytes32 schemaHash => uint32 index) private s_schemaIndexes;
  uint32 private s_schemaCount;
  mapping(bytes32 datasetId => bytes32[]) private s_allowedAlgorithms;
  mapping(bytes32 datasetId => bytes32[]) private s_exactAlgorithms;
  mapping(bytes32 datasetId => mapping(bytes32 algorithmId => Listing)) private s_listings;
  address private s_factory;
  address private s_penaltyCourt;
  mapping(address computation => bool) private s_computations;
  /// @dev Payees of each dataset's revenue besides its seller, and their basis points.
  mapping(bytes32 datasetId => Payee[]) private s_payees;

  /// @param paymentToken_ The ERC-20 stakes are paid in (the market's payment token).
  /// @param minStake_ The smallest stake a dataset may be registered with (may be zero).
  /// @param stakeCooldown_ Seconds a stake stays locked after its dataset is deregistered;
  /// choose it longer than the per-algorithm contracts' request timeout.
  constructor(address paymentToken_, uint256 minStake_, uint64 stakeCooldown_) {
    if (paymentToken_ == address(0)) revert DatasetRegistry__ZeroAddress();
    i_paymentToken = IERC20(paymentToken_);
    i_minStake = minStake_;
    i_stakeCooldown = stakeCooldown_;
    i_deployer = msg.sender;
  }

  /// @notice Names the `AlgorithmFactory` whose computations may spend and give back privacy
  /// budget; once, by the account that deployed this registry, as part of the deployment.
  /// @dev The factory authorizes each computation it creates (`authorizeComputation`). Until
  /// the factory is named, no computation can be authorized, so nothing can be bought.
  /// @param factory The factory's address.
  function setAlgorithmFactory(address factory) external {
    if (msg.sender != i_deployer) revert DatasetRegistry__NotDeployer(msg.sender);
    if (s_factory != address(0)) revert DatasetRegistry__FactoryAlreadySet(s_factory);
    if (factory == address(0)) revert DatasetRegistry__ZeroAddress();
    s_factory = factory;
    emit AlgorithmFactorySet(factory);
  }

  /// @notice Names the `PenaltyCourt` that may slash stakes for proven offences; once, by
  /// the account that deployed this registry, as part of the deployment.
  /// @param court The court's address.
  function setPenaltyCourt(address court) external {
    if (msg.sender != i_deployer) revert DatasetRegistry__NotDeployer(msg.sender);
    if (s_penaltyCourt != address(0)) revert DatasetRegistry__PenaltyCourtAlreadySet(s_penaltyCourt);
    if (court == address(0)) revert DatasetRegistry__ZeroAddress();
    s_penaltyCourt = court;
    emit PenaltyCourtSet(court);
  }

  /// @notice Punishes a dataset for an offence the penalty court found proven: slashes
  /// `slashBps` of its stake, credits `compensationBps` of that to `compensated` (a pull
  /// payment, `withdrawIncome`), burns the rest (sent to `BURN_ADDRESS`, so no party gains
  /// by an accusation), and deregisters the dataset if it is listed (sales stop for good,
  /// the rest of the stake starts its cooldown, subscribers reclaim what was not earned).
  /// Only the penalty court may call it.
  /// @param id The dataset.
  /// @param compensated The buyer let down.
  /// @param slashBps Basis points of the stake slashed.
  /// @param compensationBps Basis points of the slashed amount paid to `compensated`.
  function punish(bytes32 id, address compensated, uint16 slashBps, uint16 compensationBps) external {
    if (msg.sender != s_penaltyCourt) revert DatasetRegistry__NotPenaltyCourt(msg.sender);
    DatasetRecord storage dataset = _getDataset(id);
    uint256 slashed = (dataset.stake * slashBps) / BPS_WHOLE;
    uint256 compensation = (slashed * compensationBps) / BPS_WHOLE;
    dataset.stake -= slashed;
    if (!dataset.terms.deregistered) _deregister(id, dataset);
    emit DatasetPunished(id, compensated, slashed, compensation);
    _creditIncome(compensated, id, compensation);
    if (slashed > compensation) i_paymentToken.safeTransfer(BURN_ADDRESS, slashed - compensation);
  }

  /// @notice Lets a computation the factory just deployed spend and give back privacy budget;
  /// only the factory may call it.
  /// @param computation The new `AlgorithmComputation`.
  function authorizeComputation(address computation) external {
    if (msg.sender != s_factory) revert DatasetRegistry__NotFactory(msg.sender);
    s_computations[computation] = true;
    emit ComputationAuthorized(computation);
  }

  /// @notice Registers a dataset under `<msg.sender>/<name>`, locks its stake and opens it
  /// for sale. The caller must first `approve` this registry for `stake` payment tokens.
  /// @param name Name of the dataset, unique for this seller, non-empty.
  /// @param schema The schema text (JSON: column names and fixed-point scales); its hash is stored.
  /// @param rowCount Number of rows shared to the hosts, at least one and at least `policy.minRows`.
  /// @param price Price of one computation in the payment token (may be zero, at most 2^96 - 1).
  /// @param commitments keccak256 of the share bytes held by host 0, 1 and 2.
  /// @param policy The algorithms buyers may run, the fewest rows a result may aggregate, the
  /// total privacy budget (milli-ε) and the algorithms whose exact answers are allowed.
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
    _checkPolicy(rowCount, policy, 0);
    _checkPrice(price);
    if (stake < i_minStake) revert DatasetRegistry__StakeTooLow(stake, i_minStake);
    id = _datasetId(msg.sender, name);
    if (s_datasets[id].seller != address(0)) revert DatasetRegistry__AlreadyRegistered(id);

    // Effects.
    DatasetRecord storage dataset = s_datasets[id];
    // The bounds were checked above, so the casts are exact.
    dataset.terms = Terms({
      price: uint96(price),
      rowCount: uint40(rowCount),
      minRows: uint40(policy.minRows),
      datasetIndex: _newDatasetIndex(id),
      budgetRemaining: policy.budget,
      active: true,
      deregistered: false
    });
    dataset.seller = msg.sender;
    dataset.budgetTotal = policy.budget;
    dataset.stake = stake;
    dataset.schemaHash = keccak256(bytes(schema));
    dataset.name = name;
    dataset.commitments = commitments;
    emit DatasetRegistered(id, msg.sender, name, price, rowCount, schema);
    _writeListings(id, policy, _schemaIndex(dataset.schemaHash));
    emit PrivacyBudgetUpdated(id, policy.budget, policy.budget);
    emit StakeDeposited(id, msg.sender, stake);

    // Interactions: the dataset is fully recorded before the token is called.
    if (stake > 0) i_paymentToken.safeTransferFrom(msg.sender, address(this), stake);
  }

  /// @notice Replaces the policy of one of the caller's listed datasets (paused ones too):
  /// allowed and exact algorithms, minimum rows and total privacy budget.
  /// @dev Requests already sent are unaffected (they settle as they were bought). The new
  /// total may not be below what requests have spent (`DatasetRegistry__BudgetBelowSpent`);
  /// what is left becomes the new total minus that. Budget given back later by failed or
  /// refunded requests returns to what is left, which never exceeds the total.
  /// @param id The dataset to change.
  /// @param policy The new policy, under the same rules as at registration.
  function setPolicy(bytes32 id, Policy calldata policy) external {
    DatasetRecord storage dataset = _getListedBySeller(id);
    Terms memory terms = dataset.terms;
    uint32 spent = dataset.budgetTotal - terms.budgetRemaining;
    _checkPolicy(terms.rowCount, policy, spent);

    dataset.terms.minRows = uint40(policy.minRows);
    dataset.terms.budgetRemaining = policy.budget - spent;
    dataset.budgetTotal = policy.budget;
    // Forget the old listings, then write the new ones.
    bytes32[] storage previous = s_allowedAlgorithms[id];
    uint256 count = previous.length;
    for (uint256 i = 0; i < count; ++i) {
      delete s_listings[id][previous[i]];
    }
    _writeListings(id, policy, s_schemaIndexes[dataset.schemaHash]);
    emit PrivacyBudgetUpdated(id, policy.budget, policy.budget - spent);
  }

  /// @notice Pauses (`false`) or resumes (`true`) sales of one of the caller's datasets.
  /// @dev Requests already sent are unaffected: their price is escrowed and they settle
  /// normally. Reverts with `DatasetRegistry__Deregistered` once the dataset is deregistered.
  /// @param id The dataset to change.
  /// @param active The new state.
  function setDatasetActive(bytes32 id, bool active) external {
    DatasetRecord storage dataset = _getListedBySeller(id);
    dataset.terms.active = active;
    emit DatasetActivationUpdated(id, active);
  }

  /// @notice Changes the price of one of the caller's datasets for future requests.
  /// @dev Requests already sent keep the price escrowed when they were made.
  /// @param id The dataset to change.
  /// @param price The new price in the payment token (at most 2^96 - 1).
  function setPrice(bytes32 id, uint256 price) external {
    DatasetRecord storage dataset = _getListedBySeller(id);
    _checkPrice(price);
    dataset.terms.price = uint96(price);
    emit DatasetPriceUpdated(id, price);
  }

  /// @notice Registers new secret shares, already uploaded to the three hosts, as the next
  /// version of one of the caller's listed datasets (paused ones too): its row count and the
  /// hosts' commitments change, nothing else does.
  /// @dev The schema, price, policy, privacy budget (spent and remaining), stake,
  /// subscriptions and trials are unchanged. A refresh does not restore privacy budget: the
  /// new rows may describe the same people, so what earlier answers revealed about them still
  /// counts. Requests already sent are answered over the version they were bought against
  /// (see `DatasetRefreshed`). Reverts with `DatasetRegistry__NoRows`,
  /// `DatasetRegistry__TooManyRows` or `DatasetRegistry__FewerRowsThanMinimum` under the
  /// rules of `registerDataset`. Makes no external calls.
  /// @param id The dataset to refresh.
  /// @param rowCount Number of rows of the new shares, at least one and at least the policy's minimum rows.
  /// @param commitments keccak256 of the new share bytes held by host 0, 1 and 2.
  /// @return version The dataset's new version (2 after the first refresh).
  function refreshDataset(bytes32 id, uint64 rowCount, bytes32[3] calldata commitments) external returns (uint32 version) {
    DatasetRecord storage dataset = _getListedBySeller(id);
    Terms storage terms = dataset.terms;
    _checkRowCount(rowCount, terms.minRows);

    uint32 refreshes = dataset.refreshes + 1;
    version = refreshes + 1;
    // Logged before the overwrite: the previous version is what pins older requests.
    emit DatasetRefreshed(id, version, rowCount, commitments, terms.rowCount, dataset.commitments);
    dataset.refreshes = refreshes;
    // Checked against 40 bits above, so the cast is exact.
    terms.rowCount = uint40(rowCount);
    dataset.commitments = commitments;
  }

  /// @notice Names the accounts that share the revenue of one of the caller's datasets
  /// (Enigma's assisting nodes) and their shares, replacing any earlier list; the seller
  /// keeps the rest. Every payment for the dataset settled after this call (at a request's
  /// fulfilment) is split so; an empty list gives the seller everything again.
  /// @dev At most MAX_PAYEES payees, each a distinct nonzero account other than the seller,
  /// with a share of 1 to BPS_WHOLE basis points, the shares adding up to at most
  /// BPS_WHOLE; otherwise `DatasetRegistry__BadPayouts` with the offending index. Allowed
  /// after deregistration too (requests in flight still settle).
  /// @param id The dataset.
  /// @param accounts The payees.
  /// @param shares Each payee's share in basis points (10000 is everything).
  function setPayouts(bytes32 id, address[] calldata accounts, uint16[] calldata shares) external {
    DatasetRecord storage dataset = _getDataset(id);
    if (dataset.seller != msg.sender) revert DatasetRegistry__NotSeller(id, msg.sender);
    uint256 count = accounts.length;
    if (shares.length != count || count > MAX_PAYEES) revert DatasetRegistry__BadPayouts(count);
    Payee[] storage payees = s_payees[id];
    delete s_payees[id];
    uint256 total = 0;
    for (uint256 i = 0; i < count; ++i) {
      address account = accounts[i];
      if (account == address(0) || account == msg.sender || shares[i] == 0) revert DatasetRegistry__BadPayouts(i);
      for (uint256 j = 0; j < i; ++j) {
        if (accounts[j] == account) revert DatasetRegistry__BadPayouts(i);
      }
      total += shares[i];
      if (total > BPS_WHOLE) revert DatasetRegistry__BadPayouts(i);
      payees.push(Payee({account: account, share: shares[i]}));
    }
    emit DatasetPayoutsSet(id, accounts, shares);
  }

  /// @notice Withdraws one of the caller's datasets from sale for good and starts the
  /// stake's cooldown: the stake can be withdrawn `stakeCooldown()` seconds from now.
  /// @dev The dataset stays readable (and its id taken) so requests in flight still settle
  /// (and give their budget back if they fail).
  /// @param id The dataset to deregister.
  function deregisterDataset(bytes32 id) external {
    _deregister(id, _getListedBySeller(id));
  }

  /// @notice Sends a deregistered dataset's stake back to its seller once the cooldown is over.
  /// @param id The dataset whose stake to withdraw.
  function withdrawStake(bytes32 id) external {
    DatasetRecord storage dataset = _getDataset(id);
    if (dataset.seller != msg.sender) revert DatasetRegistry__NotSeller(id, msg.sender);
    if (!dataset.terms.deregistered) revert DatasetRegistry__NotDeregistered(id);
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

  /// @notice Reads the terms of every dataset of a purchase and spends `epsilon` of the
  /// privacy budget of each; only a computation the factory deployed may call it, and it
  /// calls it once per request, before it escrows anything.
  /// @dev Reverts with `DatasetRegistry__UnknownDataset` for an unknown id and with
  /// `DatasetRegistry__BudgetExhausted(id, remaining, epsilon)` when a dataset has less left
  /// than `epsilon`: the whole request then reverts and nothing is spent. Budget is spent only
  /// on datasets that are active and allow the algorithm (the computation refuses the
  /// others with errors of its own); `epsilon` 0 (an exact request) spends nothing. A
  /// dataset the buyer subscribes to, with quota left in the current period, uses one of it
  /// and has price 0 in the returned terms. A trial request (`trial`) uses one of the buyer's
  /// trial computations on every dataset instead (reverting with `TrialBook__NoTrial` or
  /// `TrialBook__TrialEpsilon` when a dataset has none for it or ε is outside the trial's)
  /// and has price 0 too; it leaves subscriptions alone. Makes no external calls.
  /// @param ids The request's dataset ids.
  /// @param algorithmId keccak256 of the computation's `name@version`.
  /// @param epsilon The budget the request spends on each dataset, in milli-ε.
  /// @param buyer The account buying (its subscriptions and trials count).
  /// @param trial Whether the request uses the buyer's trials.
  /// @return terms Each dataset's `SaleTerms` as a `SaleTermsWord` (without the remaining budget).
  function spendBudget(
    bytes32[] calldata ids,
    bytes32 algorithmId,
    uint32 epsilon,
    address buyer,
    bool trial
  ) external returns (uint256[] memory terms) {
    if (!s_computations[msg.sender]) revert DatasetRegistry__NotComputation(msg.sender);
    uint256 count = ids.length;
    terms = new uint256[](count);
    for (uint256 i = 0; i < count; ++i) {
      bytes32 id = ids[i];
      DatasetRecord storage record = s_datasets[id];
      Terms memory stored = record.terms;
      if (stored.datasetIndex == 0) revert DatasetRegistry__UnknownDataset(id);
      Listing memory listing = s_listings[id][algorithmId];
      uint32 remaining = stored.budgetRemaining;
      if (epsilon != 0 && stored.active && listing.allowed) {
        if (remaining < epsilon) revert DatasetRegistry__BudgetExhausted(id, remaining, epsilon);
        // Cannot underflow: checked just above.
        unchecked {
          remaining -= epsilon;
        }
        record.terms.budgetRemaining = remaining;
        emit PrivacyBudgetSpent(id, epsilon, remaining);
      }
      bool forSale = stored.active && listing.allowed;
      bool free;
      if (trial) {
        // A request over a dataset not for sale reverts in the computation: no trial is used.
        if (forSale) _useTrial(id, buyer, epsilon);
        free = true;
      } else {
        free = forSale && _useSubscription(id, buyer);
      }
      terms[i] = SaleTermsWord.withFlags(
        SaleTermsWord.pack(
          free ? 0 : stored.price,
          stored.rowCount,
          stored.minRows,
          // An algorithm the seller does not allow has no listing: read the schema's index itself.
          listing.allowed ? listing.schemaIndex : s_schemaIndexes[record.schemaHash],
          stored.datasetIndex
        ),
        stored.active,
        listing.allowed,
        listing.exact
      );
    }
  }

  /// @notice Gives `epsilon` of privacy budget back to each dataset, by index; only a
  /// computation the factory deployed may call it, once for each of its requests that ends
  /// Failed or Refunded after spending `epsilon` on exactly these datasets.
  /// @dev Reverts with `DatasetRegistry__UnknownDatasetIndex` for an index nobody has. Works
  /// on deregistered datasets too. Makes no external calls.
  /// @param datasetIndexes The request's datasets, as `SaleTerms.datasetIndex`.
  /// @param epsilon The budget the request spent on each, in milli-ε.
  function restoreBudget(uint32[] calldata datasetIndexes, uint32 epsilon) external {
    if (!s_computations[msg.sender]) revert DatasetRegistry__NotComputation(msg.sender);
    uint256 count = datasetIndexes.length;
    for (uint256 i = 0; i < count; ++i) {
      bytes32 id = _datasetIdOf(datasetIndexes[i]);
      Terms storage terms = s_datasets[id].terms;
      // At most the total: a request gives back only what it spent, which `setPolicy`
      // always leaves counted as spent.
      uint32 remaining = terms.budgetRemaining + epsilon;
      terms.budgetRemaining = remaining;
      emit PrivacyBudgetRestored(id, epsilon, remaining);
    }
  }

  /// @notice Returns a registered dataset.
  /// @dev Reverts with `DatasetRegistry__UnknownDataset` for an id nobody registered.
  /// @param id The dataset id.
  /// @return The dataset.
  function getDataset(bytes32 id) external view returns (Dataset memory) {
    DatasetRecord storage record = _getDataset(id);
    Terms memory terms = record.terms;
    return
      Dataset({
        seller: record.seller,
        name: record.name,
        schemaHash: record.schemaHash,
        rowCount: terms.rowCount,
        price: terms.price,
        commitments: record.commitments,
        active: terms.active,
        minRows: terms.minRows,
        stake: record.stake,
        stakeReleaseTime: record.stakeReleaseTime
      });
  }

  /// @notice A dataset's version: 1 as registered, one more for each `refreshDataset`.
  /// @dev Reverts with `DatasetRegistry__UnknownDataset` for an id nobody registered.
  /// @param id The dataset id.
  /// @return The version.
  function versionOf(bytes32 id) external view returns (uint32) {
    return _getDataset(id).refreshes + 1;
  }

  /// @notice What a buyer's request over a dataset with an algorithm needs to know: price,
  /// rows, schema, whether the algorithm (and its exact answers) are allowed, and the
  /// privacy budget left.
  /// @dev Reverts with `DatasetRegistry__UnknownDataset` for an id nobody registered.
  /// @param id The dataset id.
  /// @param algorithmId keccak256 of the algorithm's `name@version`.
  /// @return terms The dataset's terms of sale for that algorithm.
  function getSaleTerms(bytes32 id, bytes32 algorithmId) external view returns (SaleTerms memory terms) {
    DatasetRecord storage record = s_datasets[id];
    Terms memory stored = record.terms;
    if (stored.datasetIndex == 0) revert DatasetRegistry__UnknownDataset(id);
    Listing memory listing = s_listings[id][algorithmId];
    terms = SaleTerms({
      price: stored.price,
      rowCount: stored.rowCount,
      minRows: stored.minRows,
      schemaIndex: s_schemaIndexes[record.schemaHash],
      datasetIndex: stored.datasetIndex,
      active: stored.active,
      allowed: listing.allowed,
      exactAllowed: listing.exact,
      budgetRemaining: stored.budgetRemaining
    });
  }

  /// @notice A dataset's privacy budget, in milli-ε (ε = 1 is 1000).
  /// @dev `spent` counts the budget of Pending and Fulfilled requests (Failed and Refunded
  /// ones gave theirs back); `total = spent + remaining` always. Reverts with
  /// `DatasetRegistry__UnknownDataset` for an id nobody registered.
  /// @param id The dataset id.
  /// @return total The seller's total budget.
  /// @return spent What requests have spent.
  /// @return remaining What is left for further requests.
  function budgetOf(bytes32 id) external view returns (uint32 total, uint32 spent, uint32 remaining) {
    DatasetRecord storage record = _getDataset(id);
    total = record.budgetTotal;
    remaining = record.terms.budgetRemaining;
    spent = total - remaining;
  }

  /// @notice Who is paid for each dataset with the given indexes, in the same order: its
  /// seller first, with the basis points the payees leave it, then its payees (`setPayouts`).
  /// @dev Reverts with `DatasetRegistry__UnknownDatasetIndex` for 0 or an index not yet assigned.
  /// @param datasetIndexes Dataset indexes.
  /// @return accounts Per dataset, the seller and the payees.
  /// @return shares Per dataset, each account's share in basis points (adding up to BPS_WHOLE).
  function datasetPayouts(
    uint32[] calldata datasetIndexes
  ) external view returns (address[][] memory accounts, uint16[][] memory shares) {
    uint256 count = datasetIndexes.length;
    accounts = new address[][](count);
    shares = new uint16[][](count);
    for (uint256 i = 0; i < count; ++i) {
      (accounts[i], shares[i]) = _payouts(_datasetIdOf(datasetIndexes[i]));
    }
  }

  /// @notice A dataset's payees besides its seller (`setPayouts`).
  /// @param id The dataset.
  /// @return accounts The payees.
  /// @return shares Their shares in basis points.
  function payoutsOf(bytes32 id) external view returns (address[] memory accounts, uint16[] memory shares) {
    _getDataset(id);
    Payee[] storage payees = s_payees[id];
    uint256 n = payees.length;
    accounts = new address[](n);
    shares = new uint16[](n);
    for (uint256 j = 0; j < n; ++j) {
      accounts[j] = payees[j].account;
      shares[j] = payees[j].share;
    }
  }

  /// @notice The sellers of the datasets with the given indexes (see `getSaleTerms`), in the same order.
  /// @dev Reverts with `DatasetRegistry__UnknownDatasetIndex` for 0 or an index not yet assigned.
  /// @param datasetIndexes Dataset indexes.
  /// @return sellers Their sellers' addresses.
  function datasetSellers(uint32[] calldata datasetIndexes) external view returns (address[] memory sellers) {
    uint256 count = datasetIndexes.length;
    sellers = new address[](count);
    for (uint256 i = 0; i < count; ++i) {
      sellers[i] = s_datasets[_datasetIdOf(datasetIndexes[i])].seller;
    }
  }

  /// @notice The dataset with an index (indexes run from 1 to `datasetCount()` in order of registration).
  /// @dev Reverts with `DatasetRegistry__UnknownDatasetIndex` for 0 or an index not yet assigned.
  /// @param index The dataset index.
  /// @return The dataset id.
  function datasetIdOf(uint32 index) external view returns (bytes32) {
    return _datasetIdOf(index);
  }

  /// @notice How many datasets were ever registered (deregistered ones included).
  /// @return The count, also the highest dataset index.
  function datasetCount() external view returns (uint32) {
    return s_datasetCount;
  }

  /// @notice Whether the dataset's seller allows an algorithm (with noise, or exactly if
  /// `isExactAllowed` also says so).
  /// @param id The dataset id.
  /// @param algorithmId keccak256 of the algorithm's `name@version`.
  /// @return True if allowed (false for unknown datasets).
  function isAlgorithmAllowed(bytes32 id, bytes32 algorithmId) external view returns (bool) {
    return s_listings[id][algorithmId].allowed;
  }

  /// @notice Whether the dataset's seller allows exact answers (no noise, no budget) of an algorithm.
  /// @param id The dataset id.
  /// @param algorithmId keccak256 of the algorithm's `name@version`.
  /// @return True if allowed (false for unknown datasets).
  function isExactAllowed(bytes32 id, bytes32 algorithmId) external view returns (bool) {
    return s_listings[id][algorithmId].exact;
  }

  /// @notice The algorithms the dataset's seller allows.
  /// @param id The dataset id.
  /// @return keccak256 of each allowed `name@version`.
  function getAllowedAlgorithms(bytes32 id) external view returns (bytes32[] memory) {
    return s_allowedAlgorithms[id];
  }

  /// @notice The algorithms whose exact answers the dataset's seller allows.
  /// @param id The dataset id.
  /// @return keccak256 of each such `name@version`.
  function getExactAlgorithms(bytes32 id) external view returns (bytes32[] memory) {
    return s_exactAlgorithms[id];
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

  /// @notice The factory whose computations may spend and give back privacy budget.
  /// @return The factory's address; zero until the deployer names it.
  function algorithmFactory() external view returns (address) {
    return s_factory;
  }

  /// @notice The penalty court (zero until named).
  /// @return The court's address.
  function penaltyCourt() external view returns (address) {
    return s_penaltyCourt;
  }

  /// @notice Whether a contract may spend and give back privacy budget (the factory deployed it).
  /// @param computation The contract's address.
  /// @return True if the factory authorized it.
  function isComputation(address computation) external view returns (bool) {
    return s_computations[computation];
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
  /// @return "DatasetRegistry 3.1.0".
  function typeAndVersion() external pure returns (string memory) {
    return "DatasetRegistry 3.1.0";
  }

  /// @dev The seller first, with the basis points the payees leave it, then the payees.
  function _payouts(bytes32 id) internal view override returns (address[] memory accounts, uint16[] memory shares) {
    Payee[] storage payees = s_payees[id];
    uint256 n = payees.length;
    accounts = new address[](n + 1);
    shares = new uint16[](n + 1);
    accounts[0] = s_datasets[id].seller;
    uint256 rest = BPS_WHOLE;
    for (uint256 j = 0; j < n; ++j) {
      Payee memory payee = payees[j];
      accounts[j + 1] = payee.account;
      shares[j + 1] = payee.share;
      rest -= payee.share;
    }
    shares[0] = uint16(rest);
  }

  function _paymentToken() internal view override returns (IERC20) {
    return i_paymentToken;
  }

  function _checkListedSeller(bytes32 id) internal view override(SubscriptionBook, TrialBook) {
    _getListedBySeller(id);
  }

  function _isForSale(bytes32 id) internal view override returns (bool) {
    Terms memory terms = s_datasets[id].terms;
    return terms.active && !terms.deregistered;
  }

  function _deregisteredAt(bytes32 id) internal view override returns (uint64) {
    uint64 release = s_datasets[id].stakeReleaseTime;
    return release == 0 ? 0 : release - i_stakeCooldown;
  }

  /// @dev Stops sales of a dataset for good and starts its stake's cooldown.
  function _deregister(bytes32 id, DatasetRecord storage dataset) private {
    uint64 releaseTime = uint64(block.timestamp) + i_stakeCooldown;
    dataset.terms.active = false;
    dataset.terms.deregistered = true;
    dataset.stakeReleaseTime = releaseTime;
    emit DatasetDeregistered(id, releaseTime);
  }

  function _getDataset(bytes32 id) private view returns (DatasetRecord storage dataset) {
    dataset = s_datasets[id];
    if (dataset.seller == address(0)) revert DatasetRegistry__UnknownDataset(id);
  }

  /// @dev The dataset, checked to exist, to belong to the caller and to be still listed.
  function _getListedBySeller(bytes32 id) private view returns (DatasetRecord storage dataset) {
    dataset = _getDataset(id);
    if (dataset.seller != msg.sender) revert DatasetRegistry__NotSeller(id, msg.sender);
    if (dataset.terms.deregistered) revert DatasetRegistry__Deregistered(id);
  }

  function _datasetIdOf(uint32 index) private view returns (bytes32 id) {
    id = s_datasetIds[index];
    if (id == bytes32(0)) revert DatasetRegistry__UnknownDatasetIndex(index);
  }

  /// @dev Gives a new dataset the next index.
  function _newDatasetIndex(bytes32 id) private returns (uint32 index) {
    // Over 2^32 - 1 datasets is out of reach (one registration transaction each).
    index = ++s_datasetCount;
    s_datasetIds[index] = id;
  }

  /// @dev The schema hash's index, assigned on its first registration.
  function _schemaIndex(bytes32 schemaHash) private returns (uint32 index) {
    index = s_schemaIndexes[schemaHash];
    if (index == 0) {
      index = ++s_schemaCount;
      s_schemaIndexes[schemaHash] = index;
    }
  }

  /// @dev A policy's rules over a dataset of `rowCount` rows: the rows and the minimum as
  /// `_checkRowCount` wants them, exact algorithms among the allowed ones, and a total budget
  /// covering `spent`.
  function _checkPolicy(uint256 rowCount, Policy calldata policy, uint32 spent) private pure {
    _checkRowCount(rowCount, policy.minRows);
    if (policy.budget < spent) revert DatasetRegistry__BudgetBelowSpent(policy.budget, spent);
    uint256 exactCount = policy.exactAlgorithms.length;
    uint256 allowedCount = policy.allowedAlgorithms.length;
    for (uint256 i = 0; i < exactCount; ++i) {
      bytes32 exact = policy.exactAlgorithms[i];
      bool found = false;
      for (uint256 j = 0; j < allowedCount && !found; ++j) {
        found = policy.allowedAlgorithms[j] == exact;
      }
      if (!found) revert DatasetRegistry__ExactAlgorithmNotAllowed(exact);
    }
  }

  /// @dev Records a checked policy's algorithm lists and listings and emits `DatasetPolicySet`.
  function _writeListings(bytes32 id, Policy calldata policy, uint32 schemaIndex) private {
    uint256 allowedCount = policy.allowedAlgorithms.length;
    for (uint256 i = 0; i < allowedCount; ++i) {
      s_listings[id][policy.allowedAlgorithms[i]] = Listing({allowed: true, exact: false, schemaIndex: schemaIndex});
    }
    uint256 exactCount = policy.exactAlgorithms.length;
    for (uint256 i = 0; i < exactCount; ++i) {
      s_listings[id][policy.exactAlgorithms[i]].exact = true;
    }
    s_allowedAlgorithms[id] = policy.allowedAlgorithms;
    s_exactAlgorithms[id] = policy.exactAlgorithms;
    emit DatasetPolicySet(id, policy.allowedAlgorithms, policy.minRows, policy.budget, policy.exactAlgorithms);
  }

  /// @dev A dataset's row count and its policy's minimum rows: at least one row, both within
  /// 40 bits, and the rows at least the minimum (a dataset smaller than its own minimum could
  /// never be sold). Checked in this order, so each error names the first rule broken.
  function _checkRowCount(uint256 rowCount, uint256 minRows) private pure {
    if (rowCount == 0) revert DatasetRegistry__NoRows();
    _checkRows(rowCount);
    _checkRows(minRows);
    if (rowCount < minRows) revert DatasetRegistry__FewerRowsThanMinimum(rowCount, minRows);
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
