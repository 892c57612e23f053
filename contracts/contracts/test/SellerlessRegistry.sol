// SPDX-License-Identifier: MIT
pragma solidity 0.8.19;

import {DatasetRegistry} from "../DatasetRegistry.sol";

/// @title SellerlessRegistry
/// @notice A dataset registry for tests that sells every dataset on fixed terms but, once
/// `breakSellers` is called, cannot say who its sellers are: `sellersOf` reverts. It shows
/// that `AlgorithmComputation.fulfill` still never reverts when the registry fails it.
/// @dev FOR TESTS ONLY.
contract SellerlessRegistry {
  /// @notice `sellersOf` was called after `breakSellers`.
  error SellerlessRegistry__Broken();

  bool private s_broken;

  /// @notice Makes every later `sellersOf` call revert.
  function breakSellers() external {
    s_broken = true;
  }

  /// @notice Fixed terms for any dataset: price 1, 100 rows, schema and seller index 1.
  /// @return terms The terms, with `active` and `allowed` true.
  function getSaleTerms(bytes32, bytes32) external pure returns (DatasetRegistry.SaleTerms memory terms) {
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
