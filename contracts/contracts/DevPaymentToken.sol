// SPDX-License-Identifier: MIT
pragma solidity 0.8.19;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @title DevPaymentToken
/// @notice A mintable 18-decimal ERC-20 standing in for the market's payment token.
/// @dev FOR LOCAL DEPLOYMENTS AND TESTS ONLY: the owner can mint without limit. A real
/// deployment points the per-algorithm contracts at an existing ERC-20 instead.
contract DevPaymentToken is ERC20, Ownable {
  /// @param name_ Token name, e.g. "Market USD".
  /// @param symbol_ Token symbol, e.g. "mUSD".
  constructor(string memory name_, string memory symbol_) ERC20(name_, symbol_) {}

  /// @notice Mints `amount` tokens to `to`; owner only (emits ERC20 `Transfer`).
  /// @param to The recipient.
  /// @param amount The amount, in the smallest unit (18 decimals).
  function mint(address to, uint256 amount) external onlyOwner {
    _mint(to, amount);
  }

  /// @notice The contract's type and version.
  /// @return "DevPaymentToken 1.0.0".
  function typeAndVersion() external pure returns (string memory) {
    return "DevPaymentToken 1.0.0";
  }
}
