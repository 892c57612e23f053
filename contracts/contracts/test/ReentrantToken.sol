// SPDX-License-Identifier: MIT
pragma solidity 0.8.19;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title ITokenReceiverHook
/// @notice What `ReentrantToken` calls on a hooked recipient after every transfer to it.
interface ITokenReceiverHook {
  /// @notice Called by the token after `amount` tokens reached the recipient.
  /// @param from The sender of the tokens.
  /// @param amount The amount received.
  function tokensReceived(address from, uint256 amount) external;
}

/// @title ReentrantToken
/// @notice A hostile payment token for tests: an ERC-20 that, like an ERC-777, calls back
/// into a recipient that asked for it (`setHooked`) after every transfer to it, which lets
/// that recipient re-enter the contract paying it out in the middle of the payout.
/// @dev FOR TESTS ONLY: anyone can mint and hook any address.
contract ReentrantToken is ERC20 {
  mapping(address account => bool) private s_hooked;

  /// @notice Emitted when `account` asks for, or stops asking for, the receive hook.
  /// @param account The account.
  /// @param hooked Whether transfers to it call its hook.
  event HookSet(address indexed account, bool hooked);

  constructor() ERC20("Reentrant Token", "RENT") {}

  /// @notice Mints `amount` tokens to `to`; anyone may call it.
  /// @param to The recipient.
  /// @param amount The amount.
  function mint(address to, uint256 amount) external {
    _mint(to, amount);
  }

  /// @notice Makes the token call `tokensReceived` on the caller after transfers to it.
  /// @param hooked Whether to call the hook.
  function setHooked(bool hooked) external {
    s_hooked[msg.sender] = hooked;
    emit HookSet(msg.sender, hooked);
  }

  /// @dev The callback runs after the balances moved, as an ERC-777 `tokensReceived` does:
  /// the worst case for a payer that updates its books after the transfer.
  function _afterTokenTransfer(address from, address to, uint256 amount) internal override {
    if (s_hooked[to]) ITokenReceiverHook(to).tokensReceived(from, amount);
  }
}
