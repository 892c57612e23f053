// SPDX-License-Identifier: MIT
pragma solidity 0.8.19;

import {DatasetRegistry} from "./DatasetRegistry.sol";

/// @title SaleTermsWord
/// @notice A dataset's `DatasetRegistry.SaleTerms`, less its remaining budget, in one word:
/// how `DatasetRegistry.spendBudget` answers for each dataset of a request, so that the
/// answer for up to twenty datasets costs the registry and the computation one word each
/// to encode and decode rather than nine.
/// @dev Bits, lowest first: price 0-95, rowCount 96-135, minRows 136-175, schemaIndex
/// 176-207, datasetIndex 208-239, active 240, allowed 241, exactAllowed 242; the rest zero.
library SaleTermsWord {
  uint256 private constant ROW_COUNT_SHIFT = 96;
  uint256 private constant MIN_ROWS_SHIFT = 136;
  uint256 private constant SCHEMA_INDEX_SHIFT = 176;
  uint256 private constant DATASET_INDEX_SHIFT = 208;
  uint256 private constant ACTIVE_BIT = 1 << 240;
  uint256 private constant ALLOWED_BIT = 1 << 241;
  uint256 private constant EXACT_ALLOWED_BIT = 1 << 242;

  /// @notice Packs terms into one word; `budgetRemaining` is left out.
  /// @param terms The terms.
  /// @return word The word.
  function pack(DatasetRegistry.SaleTerms memory terms) internal pure returns (uint256 word) {
    word = pack(terms.price, terms.rowCount, terms.minRows, terms.schemaIndex, terms.datasetIndex);
    word = withFlags(word, terms.active, terms.allowed, terms.exactAllowed);
  }

  /// @notice Packs the numbers of terms into one word, its flags clear (see `withFlags`).
  /// @param price_ The price of one computation.
  /// @param rowCount_ The dataset's rows.
  /// @param minRows_ The fewest rows a result may aggregate.
  /// @param schemaIndex_ The registry's index of the dataset's schema.
  /// @param datasetIndex_ The registry's index of the dataset.
  /// @return The word.
  function pack(
    uint96 price_,
    uint40 rowCount_,
    uint40 minRows_,
    uint32 schemaIndex_,
    uint32 datasetIndex_
  ) internal pure returns (uint256) {
    return
      uint256(price_) |
      (uint256(rowCount_) << ROW_COUNT_SHIFT) |
      (uint256(minRows_) << MIN_ROWS_SHIFT) |
      (uint256(schemaIndex_) << SCHEMA_INDEX_SHIFT) |
      (uint256(datasetIndex_) << DATASET_INDEX_SHIFT);
  }

  /// @notice Sets a word's flags.
  /// @param word A word made by `pack`, its flags clear.
  /// @param active_ Whether the dataset is for sale.
  /// @param allowed_ Whether the seller allows the algorithm.
  /// @param exactAllowed_ Whether the seller allows exact answers of the algorithm.
  /// @return The word with the flags.
  function withFlags(uint256 word, bool active_, bool allowed_, bool exactAllowed_) internal pure returns (uint256) {
    if (active_) word |= ACTIVE_BIT;
    if (allowed_) word |= ALLOWED_BIT;
    if (exactAllowed_) word |= EXACT_ALLOWED_BIT;
    return word;
  }

  /// @notice The price of one computation.
  /// @param word A word made by `pack`.
  /// @return The price.
  function price(uint256 word) internal pure returns (uint96) {
    return uint96(word);
  }

  /// @notice The dataset's rows.
  /// @param word A word made by `pack`.
  /// @return The row count.
  function rowCount(uint256 word) internal pure returns (uint40) {
    return uint40(word >> ROW_COUNT_SHIFT);
  }

  /// @notice The fewest rows a result over the dataset may aggregate.
  /// @param word A word made by `pack`.
  /// @return The minimum.
  function minRows(uint256 word) internal pure returns (uint40) {
    return uint40(word >> MIN_ROWS_SHIFT);
  }

  /// @notice The registry's index of the dataset's schema.
  /// @param word A word made by `pack`.
  /// @return The schema index.
  function schemaIndex(uint256 word) internal pure returns (uint32) {
    return uint32(word >> SCHEMA_INDEX_SHIFT);
  }

  /// @notice The registry's index of the dataset.
  /// @param word A word made by `pack`.
  /// @return The dataset index.
  function datasetIndex(uint256 word) internal pure returns (uint32) {
    return uint32(word >> DATASET_INDEX_SHIFT);
  }

  /// @notice Whether the dataset is for sale.
  /// @param word A word made by `pack`.
  /// @return True if active.
  function active(uint256 word) internal pure returns (bool) {
    return word & ACTIVE_BIT != 0;
  }

  /// @notice Whether the seller allows the algorithm.
  /// @param word A word made by `pack`.
  /// @return True if allowed.
  function allowed(uint256 word) internal pure returns (bool) {
    return word & ALLOWED_BIT != 0;
  }

  /// @notice Whether the seller allows exact answers of the algorithm.
  /// @param word A word made by `pack`.
  /// @return True if allowed.
  function exactAllowed(uint256 word) internal pure returns (bool) {
    return word & EXACT_ALLOWED_BIT != 0;
  }
}
