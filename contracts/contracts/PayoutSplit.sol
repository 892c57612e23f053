// SPDX-License-Identifier: MIT
pragma solidity 0.8.19;

/// @title PayoutSplit
/// @notice How a payment for a dataset is divided between its seller and its payees
/// (`DatasetRegistry.setPayouts`), for the computations' fulfilments and the registry's
/// subscription releases alike.
library PayoutSplit {
  /// @notice The part of `amount` for each account of a payout list whose first entry is the
  /// seller: payee j gets `amount × shares[j] / 10000` rounded down, the seller the rest (so
  /// rounding is the seller's, and the parts add up to `amount` even for shares that do not).
  /// @param amount The payment.
  /// @param shares Basis points per account, the seller's first (its own is not read).
  /// @return parts The amount for each account, in the same order.
  function split(uint256 amount, uint16[] memory shares) internal pure returns (uint256[] memory parts) {
    uint256 n = shares.length;
    parts = new uint256[](n);
    uint256 rest = amount;
    for (uint256 j = 1; j < n; ++j) {
      uint256 part = (amount * shares[j]) / 10_000;
      if (part > rest) part = rest;
      rest -= part;
      parts[j] = part;
    }
    parts[0] = rest;
  }
}
