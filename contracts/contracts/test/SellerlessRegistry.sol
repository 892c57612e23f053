// SPDX-License-Identifier: MIT
pragma solidity 0.8.19;

import {DatasetRegistry} from "../DatasetRegistry.sol";

/// @title SellerlessRegistry
/// @notice A dataset registry for tests. It sells every dataset on fixed terms unless the
/// test gave the dataset terms of its own (`setTerms`): any terms at all, including ones
/// the real `DatasetRegistry` refuses to list (fewer rows than the dataset's own minimum,
/// say). Once `breakSellers` is called it cannot say who its sellers are: `sellersOf`
/// reverts. It shows that `AlgorithmComputation` enforces its sellers' rules itself,
/// whatever a registry lists, and that `fulfill` still never reverts when the registry
/// fails it.
/// @dev FOR TESTS ONLY: anyone may set any dataset's terms.
contract SellerlessRegistry {
  /// @notice `sellersOf` was called after `breakSellers`.
  error SellerlessRegistry__Broken();

  /// @notice Emitted when a test gives a dataset terms of its own.
  /// @param datasetId The dataset.
  /// @param rowCount The rows the dataset now claims.
  /// @param minRows The minimum its seller now requires.
  event SaleTermsSet(bytes32 indexed datasetId, uint40 rowCount, uint40 minRows);

  bool private s_broken;
  mapping(bytes32 datasetId => DatasetRegistry.SaleTerms) private s_terms;
  mapping(bytes32 datasetId => bool) private s_hasTerms;

  /// @notice Makes every later `sellersOf` call revert.
  function breakSellers() external {
    s_broken = true;
  }

  /// @notice Gives `datasetId` its own terms, returned by `getSaleTerms` for any algorithm.
  /// @param datasetId The dataset.
  /// @param terms The terms, unchecked.
  function setTerms(bytes32 datasetId, DatasetRegistry.SaleTerms calldata terms) external {
    s_terms[datasetId] = terms;
    s_hasTerms[datasetId] = true;
    emit SaleTermsSet(datasetId, terms.rowCount, terms.minRows);
  }

  /// @notice The dataset's own terms if a test set them, else fixed terms: price 1,
  /// 100 rows, no minimum, schema and seller index 1, active and allowed.
  /// @param datasetId The dataset.
  /// @return terms The terms.
  function getSaleTerms(bytes32 datasetId, bytes32) external view returns (DatasetRegistry.SaleTerms memory terms) {
    if (s_hasTerms[datasetId]) return s_terms[datasetId];
    terms = DatasetRegistry.SaleTerms({
      price: 1,
      rowCount: 100,
      minRows: 0,
      schemaIndex: 1,
      sellerIndex: 1,
      active: true,
      allowed: true
    });
  }

  /// @notice This contract's own address for every index, until `breakSellers`.
  /// @param indexes Seller indexes.
  /// @return sellers As many addresses.
  function sellersOf(uint32[] calldata indexes) external view returns (address[] memory sellers) {
    if (s_broken) revert SellerlessRegistry__Broken();
    sellers = new address[](indexes.length);
    for (uint256 i = 0; i < indexes.length; ++i) sellers[i] = address(this);
  }
}
