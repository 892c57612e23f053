// SPDX-License-Identifier: MIT
pragma solidity 0.8.19;

/// @title DatasetRegistry
/// @notice Public catalogue of the datasets sellers have secret-shared to the three MPC hosts.
/// @dev A dataset's permanent address is `<seller>/<name>`; its id is
/// `keccak256(abi.encodePacked(seller, name))`, so a name is unique per seller and no
/// seller can claim another seller's id. Datasets are never deleted (requests in flight
/// keep pointing at them); a seller can only pause or resume sales with `setDatasetActive`.
/// Unknown ids make `getDataset` revert with `DatasetRegistry__UnknownDataset`, so a
/// consumer calling it needs no check of its own: the error bubbles up to its caller.
contract DatasetRegistry {
  /// @notice What a seller published about a dataset.
  /// @param seller The account that registered the dataset and receives its payments.
  /// @param name The seller-chosen name, the second half of the permanent address.
  /// @param schemaHash keccak256 of the schema text published in `DatasetRegistered`.
  /// @param rowCount Number of rows shared to the hosts.
  /// @param price Price of one computation, in the market's payment token.
  /// @param commitments keccak256 of the bytes each host stores, in host order.
  /// @param active Whether buyers may currently request computations.
  /// @param minRows The fewest rows a result over this dataset may aggregate (seller policy).
  struct Dataset {
    address seller;
    string name;
    bytes32 schemaHash;
    uint64 rowCount;
    uint256 price;
    bytes32[3] commitments;
    bool active;
    uint64 minRows;
  }

  /// @notice What a seller allows buyers to compute over a dataset.
  /// @param allowedAlgorithms keccak256 of each allowed algorithm's `name@version`.
  /// @param minRows The fewest rows a result may aggregate (0: no minimum).
  struct Policy {
    bytes32[] allowedAlgorithms;
    uint64 minRows;
  }

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

  /// @notice Emitted when a seller registers a dataset.
  /// @dev `schema` (JSON: column names and fixed-point scales) is published here rather
  /// than stored: buyers read it from the log and check it against `schemaHash`.
  event DatasetRegistered(
    bytes32 indexed datasetId,
    address indexed seller,
    string name,
    uint256 price,
    uint64 rowCount,
    string schema
  );
  /// @notice Emitted with `DatasetRegistered`: the seller's policy for the dataset.
  event DatasetPolicySet(bytes32 indexed datasetId, bytes32[] allowedAlgorithms, uint64 minRows);
  /// @notice Emitted when a seller pauses or resumes sales of a dataset.
  event DatasetActivationUpdated(bytes32 indexed datasetId, bool active);

  mapping(bytes32 datasetId => Dataset) private s_datasets;
  mapping(bytes32 datasetId => bytes32[]) private s_allowedAlgorithms;
  mapping(bytes32 datasetId => mapping(bytes32 algorithmId => bool)) private s_isAllowed;

  /// @notice Registers a dataset under `<msg.sender>/<name>` and opens it for sale.
  /// @param name Name of the dataset, unique for this seller, non-empty.
  /// @param schema The schema text (JSON: column names and fixed-point scales); its hash is stored.
  /// @param rowCount Number of rows shared to the hosts, at least one.
  /// @param price Price of one computation in the payment token (may be zero).
  /// @param commitments keccak256 of the share bytes held by host 0, 1 and 2.
  /// @param policy The algorithms buyers may run and the fewest rows a result may aggregate.
  /// @return id The dataset id, keccak256(abi.encodePacked(msg.sender, name)).
  function registerDataset(
    string calldata name,
    string calldata schema,
    uint64 rowCount,
    uint256 price,
    bytes32[3] calldata commitments,
    Policy calldata policy
  ) external returns (bytes32 id) {
    if (bytes(name).length == 0) revert DatasetRegistry__EmptyName();
    if (rowCount == 0) revert DatasetRegistry__NoRows();
    id = _datasetId(msg.sender, name);
    if (s_datasets[id].seller != address(0)) revert DatasetRegistry__AlreadyRegistered(id);

    s_datasets[id] = Dataset({
      seller: msg.sender,
      name: name,
      schemaHash: keccak256(bytes(schema)),
      rowCount: rowCount,
      price: price,
      commitments: commitments,
      active: true,
      minRows: policy.minRows
    });
    s_allowedAlgorithms[id] = policy.allowedAlgorithms;
    for (uint256 i = 0; i < policy.allowedAlgorithms.length; ++i) {
      s_isAllowed[id][policy.allowedAlgorithms[i]] = true;
    }
    emit DatasetRegistered(id, msg.sender, name, price, rowCount, schema);
    emit DatasetPolicySet(id, policy.allowedAlgorithms, policy.minRows);
  }

  /// @notice Pauses (`false`) or resumes (`true`) sales of one of the caller's datasets.
  /// @dev Requests already sent are unaffected: their price is escrowed and they settle normally.
  /// @param id The dataset to change.
  /// @param active The new state.
  function setDatasetActive(bytes32 id, bool active) external {
    Dataset storage dataset = _getDataset(id);
    if (dataset.seller != msg.sender) revert DatasetRegistry__NotSeller(id, msg.sender);
    dataset.active = active;
    emit DatasetActivationUpdated(id, active);
  }

  /// @notice Returns a registered dataset.
  /// @dev Reverts with `DatasetRegistry__UnknownDataset` for an id nobody registered.
  /// @param id The dataset id.
  /// @return The dataset.
  function getDataset(bytes32 id) external view returns (Dataset memory) {
    return _getDataset(id);
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

  /// @notice Whether a dataset with this id exists (never reverts).
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

  /// @notice The contract's type and version.
  /// @return "DatasetRegistry 1.0.0".
  function typeAndVersion() external pure returns (string memory) {
    return "DatasetRegistry 1.0.0";
  }

  function _getDataset(bytes32 id) private view returns (Dataset storage dataset) {
    dataset = s_datasets[id];
    if (dataset.seller == address(0)) revert DatasetRegistry__UnknownDataset(id);
  }

  function _datasetId(address seller, string calldata name) private pure returns (bytes32) {
    return keccak256(abi.encodePacked(seller, name));
  }
}
