// SPDX-License-Identifier: MIT
pragma solidity 0.8.19;

import {DatasetRegistry} from "../DatasetRegistry.sol";
import {SaleTermsWord} from "../SaleTermsWord.sol";

/// @title SellerlessRegistry
/// @notice A dataset registry for tests. It sells every dataset on fixed terms unless the
/// test gave the dataset terms of its own (`setTerms`): any terms at all, including ones
/// the real `DatasetRegistry` refuses to list (fewer rows than the dataset's own minimum,
/// say). It lets anyone spend and give back budget, and counts, per dataset index, what was
/// spent (`spentOf`). Once `breakSellers` is called it cannot say who its sellers are:
/// `datasetSellers` and `datasetPayouts` revert; once `breakRestore` is called `restoreBudget` reverts. It shows
/// that `AlgorithmComputation` enforces its sellers' rules itself, whatever a registry
/// lists, and that `fulfill` still never reverts when the registry fails it.
/// @dev FOR TESTS ONLY: anyone may set any dataset's terms.
contract SellerlessRegistry {
  /// @notice `datasetSellers` or `datasetPayouts` was called after `breakSellers`, or `restoreBudget` after `breakRestore`.
  error SellerlessRegistry__Broken();

  /// @notice Emitted when a test gives a dataset terms of its own.
  /// @param datasetId The dataset.
  /// @param rowCount The rows the dataset now claims.
  /// @param minRows The minimum its seller now requires.
  event SaleTermsSet(bytes32 indexed datasetId, uint40 rowCount, uint40 minRows);
  /// @notice Emitted when `datasetSellers` or `restoreBudget` is made to revert.
  /// @param sellers Whether `datasetSellers` now reverts.
  /// @param restore Whether `restoreBudget` now reverts.
  event Broken(bool sellers, bool restore);
  /// @notice Emitted when a request spends budget of a dataset index.
  /// @param datasetIndex The dataset.
  /// @param epsilon The budget spent (milli-ε).
  event BudgetSpent(uint32 indexed datasetIndex, uint32 epsilon);
  /// @notice Emitted when a request gives budget of a dataset index back.
  /// @param datasetIndex The dataset.
  /// @param epsilon The budget given back (milli-ε).
  event BudgetRestored(uint32 indexed datasetIndex, uint32 epsilon);

  bool private s_sellersBroken;
  bool private s_restoreBroken;
  mapping(bytes32 datasetId => DatasetRegistry.SaleTerms) private s_terms;
  mapping(bytes32 datasetId => bool) private s_hasTerms;
  mapping(uint32 datasetIndex => uint256) private s_spent;

  /// @notice Makes every later `datasetSellers` and `datasetPayouts` call revert.
  function breakSellers() external {
    s_sellersBroken = true;
    emit Broken(true, s_restoreBroken);
  }

  /// @notice Makes every later `restoreBudget` call revert.
  function breakRestore() external {
    s_restoreBroken = true;
    emit Broken(s_sellersBroken, true);
  }

  /// @notice Gives `datasetId` its own terms, returned for any algorithm.
  /// @param datasetId The dataset.
  /// @param terms The terms, unchecked.
  function setTerms(bytes32 datasetId, DatasetRegistry.SaleTerms calldata terms) external {
    s_terms[datasetId] = terms;
    s_hasTerms[datasetId] = true;
    emit SaleTermsSet(datasetId, terms.rowCount, terms.minRows);
  }

  /// @notice Each dataset's terms (see `termsOf`) as `SaleTermsWord`s; counts `epsilon` as spent on each.
  /// @param datasetIds The datasets.
  /// @param epsilon The budget spent on each (milli-ε).
  /// @return terms The terms, in the same order.
  function spendBudget(bytes32[] calldata datasetIds, bytes32, uint32 epsilon, address, bool) external returns (uint256[] memory terms) {
    terms = new uint256[](datasetIds.length);
    for (uint256 i = 0; i < datasetIds.length; ++i) {
      DatasetRegistry.SaleTerms memory dataset = termsOf(datasetIds[i]);
      terms[i] = SaleTermsWord.pack(dataset);
      if (epsilon != 0) {
        s_spent[dataset.datasetIndex] += epsilon;
        emit BudgetSpent(dataset.datasetIndex, epsilon);
      }
    }
  }

  /// @notice Counts `epsilon` given back on each dataset index, until `breakRestore`.
  /// @param datasetIndexes The datasets.
  /// @param epsilon The budget given back on each (milli-ε).
  function restoreBudget(uint32[] calldata datasetIndexes, uint32 epsilon) external {
    if (s_restoreBroken) revert SellerlessRegistry__Broken();
    for (uint256 i = 0; i < datasetIndexes.length; ++i) {
      s_spent[datasetIndexes[i]] -= epsilon;
      emit BudgetRestored(datasetIndexes[i], epsilon);
    }
  }

  /// @notice This contract's own address for every index, until `breakSellers`.
  /// @param datasetIndexes Dataset indexes.
  /// @return sellers As many addresses.
  function datasetSellers(uint32[] calldata datasetIndexes) external view returns (address[] memory sellers) {
    if (s_sellersBroken) revert SellerlessRegistry__Broken();
    sellers = new address[](datasetIndexes.length);
    for (uint256 i = 0; i < datasetIndexes.length; ++i) sellers[i] = address(this);
  }

  /// @notice This contract's own address, with the whole share, for every index, until
  /// `breakSellers`.
  /// @param datasetIndexes Dataset indexes.
  /// @return accounts One account per dataset.
  /// @return shares Its share: all of it.
  function datasetPayouts(
    uint32[] calldata datasetIndexes
  ) external view returns (address[][] memory accounts, uint16[][] memory shares) {
    if (s_sellersBroken) revert SellerlessRegistry__Broken();
    accounts = new address[][](datasetIndexes.length);
    shares = new uint16[][](datasetIndexes.length);
    for (uint256 i = 0; i < datasetIndexes.length; ++i) {
      accounts[i] = new address[](1);
      accounts[i][0] = address(this);
      shares[i] = new uint16[](1);
      shares[i][0] = 10_000;
    }
  }

  /// @notice The budget spent on a dataset index and not given back (milli-ε).
  /// @param datasetIndex The dataset.
  /// @return The budget.
  function spentOf(uint32 datasetIndex) external view returns (uint256) {
    return s_spent[datasetIndex];
  }

  /// @notice The dataset's own terms if a test set them, else fixed terms: price 1,
  /// 100 rows, no minimum, schema and dataset index 1, active, allowed (exactly too),
  /// the largest budget.
  /// @param datasetId The dataset.
  /// @return terms The terms.
  function termsOf(bytes32 datasetId) public view returns (DatasetRegistry.SaleTerms memory terms) {
    if (s_hasTerms[datasetId]) return s_terms[datasetId];
    terms = DatasetRegistry.SaleTerms({
      price: 1,
      rowCount: 100,
      minRows: 0,
      schemaIndex: 1,
      datasetIndex: 1,
      active: true,
      allowed: true,
      exactAllowed: true,
      budgetRemaining: type(uint32).max
    });
  }
}
