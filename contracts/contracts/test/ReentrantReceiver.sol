// SPDX-License-Identifier: MIT
pragma solidity 0.8.19;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @title IReentrantToken
/// @notice The part of `ReentrantToken` the receiver uses.
interface IReentrantToken {
  /// @notice Asks the token to call `tokensReceived` after transfers to the caller.
  /// @param hooked Whether to call the hook.
  function setHooked(bool hooked) external;
}

/// @title ReentrantReceiver
/// @notice A hostile market participant for tests: a contract account that can act as a
/// seller or a buyer through `execute`, and that, when `ReentrantToken` pays it, re-enters
/// a target with a prepared call (e.g. `withdraw()`, `refund(id)` or `withdrawStake(id)`).
/// @dev FOR TESTS ONLY. In `catchReentry` mode the re-entrant call's failure is recorded
/// and swallowed, so the outer payout completes and the test can check it paid once; in
/// the other mode the failure bubbles up and reverts the outer payout.
contract ReentrantReceiver {
  /// @notice `execute` forwarded a call that reverted; `reason` is its revert data.
  error ReentrantReceiver__CallFailed(bytes reason);

  /// @notice Emitted after each re-entry attempt with its outcome and return or revert data.
  /// @param target The contract re-entered.
  /// @param success Whether the re-entrant call succeeded.
  /// @param returnData Its return or revert data.
  event ReentryAttempted(address indexed target, bool success, bytes returnData);

  address private s_target;
  bytes private s_reentryCall;
  bool private s_catchReentry;
  bool private s_armed;
  uint256 private s_reentries;
  uint256 private s_reentrySuccesses;
  bytes private s_lastReentryData;
  uint256 private s_received;

  /// @notice Makes `target` the address re-entered with `data` on the next payment only.
  /// @param target The contract to call back into.
  /// @param data The calldata of the re-entrant call.
  /// @param catchReentry Whether to swallow the re-entrant call's revert.
  function arm(address target, bytes calldata data, bool catchReentry) external {
    s_target = target;
    s_reentryCall = data;
    s_catchReentry = catchReentry;
    s_armed = true;
  }

  /// @notice Calls `target` with `data` as this contract (to register, buy, withdraw...).
  /// @param target The contract to call.
  /// @param data The calldata.
  /// @return The call's return data.
  function execute(address target, bytes calldata data) external returns (bytes memory) {
    // solhint-disable-next-line avoid-low-level-calls
    (bool success, bytes memory returnData) = target.call(data);
    if (!success) revert ReentrantReceiver__CallFailed(returnData);
    return returnData;
  }

  /// @notice Approves `spender` for `amount` of `token` and asks `token` for the receive hook.
  /// @param token The hostile token.
  /// @param spender The market contract to approve.
  /// @param amount The allowance.
  function approveAndHook(address token, address spender, uint256 amount) external {
    IERC20(token).approve(spender, amount);
    IReentrantToken(token).setHooked(true);
  }

  /// @notice The token's hook: re-enters the armed target once.
  /// @param amount The amount received.
  function tokensReceived(address, uint256 amount) external {
    s_received += amount;
    if (!s_armed) return;
    // Disarm first: one re-entry per payment is the attack; the inner payout (if any)
    // must not recurse forever.
    s_armed = false;
    ++s_reentries;
    // solhint-disable-next-line avoid-low-level-calls
    (bool success, bytes memory returnData) = s_target.call(s_reentryCall);
    s_lastReentryData = returnData;
    if (success) ++s_reentrySuccesses;
    emit ReentryAttempted(s_target, success, returnData);
    if (!success && !s_catchReentry) {
      // Bubble the inner revert data unchanged.
      // solhint-disable-next-line no-inline-assembly
      assembly {
        revert(add(returnData, 32), mload(returnData))
      }
    }
  }

  /// @notice How many re-entries were attempted and how many succeeded.
  /// @return attempts Re-entry attempts.
  /// @return successes Re-entries that did not revert.
  /// @return lastData The last re-entry's return or revert data.
  function reentries() external view returns (uint256 attempts, uint256 successes, bytes memory lastData) {
    return (s_reentries, s_reentrySuccesses, s_lastReentryData);
  }

  /// @notice The total amount of tokens received through the hook.
  /// @return The amount.
  function received() external view returns (uint256) {
    return s_received;
  }
}
