// SPDX-License-Identifier: MIT
pragma solidity 0.8.19;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

import {PayoutSplit} from "./PayoutSplit.sol";

/// @title SubscriptionBook
/// @notice Period access to datasets (Enigma's subscriptions): a seller offers a period
/// (seconds), a price per period and a quota of computations per period; a buyer pays for
/// whole periods in advance. Within the quota a subscriber's computations over the dataset
/// pay no per-computation price (the operators' fee and any ε still apply). The payment is
/// held here and earned by the seller as time passes, pro rata to the second: anyone may
/// `releaseSubscription` the earned part to the seller (and the dataset's payees) as pull
/// payments (`withdrawIncome`). `unsubscribe` gives back the periods not yet begun; after the
/// dataset is deregistered the subscriber takes back what the seller had not earned by then
/// (`reclaimSubscription`).
/// @dev Mixed into `DatasetRegistry`, which knows the datasets and their payment token.
abstract contract SubscriptionBook {
  using SafeERC20 for IERC20;

  /// @notice A seller's offer; `period` 0 means none.
  /// @param period Seconds per period.
  /// @param price Price of one period.
  /// @param quota Computations per period.
  struct SubscriptionTerms {
    uint64 period;
    uint96 price;
    uint32 quota;
  }

  /// @notice One buyer's subscription to one dataset, on the terms it was bought on.
  /// @param start When it began.
  /// @param end When it ends (exclusive).
  /// @param period Seconds per period, as bought.
  /// @param quota Computations per period, as bought.
  /// @param used Computations used in period `usedPeriod`.
  /// @param usedPeriod The period `used` counts (its index from `start`).
  /// @param paid Paid in all and not refunded.
  /// @param released Earned and credited so far.
  /// @dev What a covered request reads and writes is one slot (3 × 40 + 3 × 32 bits): a
  /// request over a dataset costs its buyer one cold read whether it subscribes or not, and
  /// a subscriber one write more. 40-bit times last until the year 36812.
  struct Subscription {
    uint40 start;
    uint40 end;
    uint40 period;
    uint32 quota;
    uint32 used;
    uint32 usedPeriod;
    uint128 paid;
    uint128 released;
  }

  /// @notice The dataset offers no subscription.
  error SubscriptionBook__NotOffered(bytes32 datasetId);
  /// @notice Periods must be at least one, an offer's period and quota positive (or all zero),
  /// a period at most 2^32 - 1 seconds, and a subscription end before the year 36812.
  error SubscriptionBook__BadTerms();
  /// @notice A renewal must be on the terms of the running subscription; wait until it ends.
  error SubscriptionBook__TermsChanged(bytes32 datasetId);
  /// @notice The caller has no running subscription to the dataset.
  error SubscriptionBook__NotSubscribed(bytes32 datasetId, address buyer);
  /// @notice Only a deregistered dataset's subscriptions can be reclaimed.
  error SubscriptionBook__StillListed(bytes32 datasetId);
  /// @notice Nothing to release, reclaim or withdraw.
  error SubscriptionBook__NothingDue();

  /// @notice The seller changed its offer (period 0: withdrawn); running subscriptions keep theirs.
  /// @param datasetId The dataset.
  /// @param period Seconds per period.
  /// @param price Price of one period.
  /// @param quota Computations per period.
  event SubscriptionTermsSet(bytes32 indexed datasetId, uint64 period, uint96 price, uint32 quota);
  /// @notice A buyer subscribed or renewed: its subscription now runs from `start` to `end`.
  /// @param datasetId The dataset.
  /// @param buyer The subscriber.
  /// @param start When the subscription began.
  /// @param end When it ends.
  /// @param amount What this call paid.
  event Subscribed(bytes32 indexed datasetId, address indexed buyer, uint64 start, uint64 end, uint256 amount);
  /// @notice A subscriber ended at the end of the current period; `refund` was credited back.
  /// @param datasetId The dataset.
  /// @param buyer The subscriber.
  /// @param end The new end: the end of the current period.
  /// @param refund The price of the periods not begun, credited to the subscriber.
  event Unsubscribed(bytes32 indexed datasetId, address indexed buyer, uint64 end, uint256 refund);
  /// @notice The part of a subscription earned by the seller was credited.
  /// @param datasetId The dataset.
  /// @param buyer The subscriber.
  /// @param amount Credited to the seller and the dataset's payees.
  event SubscriptionReleased(bytes32 indexed datasetId, address indexed buyer, uint256 amount);
  /// @notice A subscriber took back what the seller of a deregistered dataset had not earned.
  /// @param datasetId The dataset.
  /// @param buyer The subscriber.
  /// @param amount Credited back to the subscriber.
  event SubscriptionReclaimed(bytes32 indexed datasetId, address indexed buyer, uint256 amount);
  /// @notice Subscription income or refunds were credited to an account.
  /// @param account Who may withdraw it.
  /// @param datasetId The dataset it comes from.
  /// @param amount The amount.
  event IncomeCredited(address indexed account, bytes32 indexed datasetId, uint256 amount);
  /// @notice An account withdrew its subscription income and refunds.
  /// @param account The account.
  /// @param amount The amount sent.
  event IncomeWithdrawn(address indexed account, uint256 amount);

  mapping(bytes32 datasetId => SubscriptionTerms) private s_subscriptionTerms;
  mapping(bytes32 datasetId => mapping(address buyer => Subscription)) private s_subscriptions;
  mapping(address account => uint256) private s_income;

  /// @notice Offers (or changes, or with period 0 withdraws) period access to one of the
  /// caller's listed datasets. Running subscriptions keep the terms they were bought on.
  /// @param id The dataset.
  /// @param period Seconds per period (0: no offer).
  /// @param price Price of one period.
  /// @param quota Computations per period (0 exactly when period is 0).
  function setSubscriptionTerms(bytes32 id, uint64 period, uint96 price, uint32 quota) external {
    _checkListedSeller(id);
    if ((period == 0) != (quota == 0) || period > type(uint32).max) revert SubscriptionBook__BadTerms();
    s_subscriptionTerms[id] = SubscriptionTerms({period: period, price: price, quota: quota});
    emit SubscriptionTermsSet(id, period, price, quota);
  }

  /// @notice Subscribes for `periods` periods from now, or renews a running subscription by
  /// as many periods from its end (on the same terms). Pays `periods` × the period price.
  /// @param id The dataset.
  /// @param periods Periods to pay for (at least 1).
  function subscribe(bytes32 id, uint32 periods) external {
    SubscriptionTerms memory terms = s_subscriptionTerms[id];
    if (terms.period == 0 || !_isForSale(id)) revert SubscriptionBook__NotOffered(id);
    if (periods == 0) revert SubscriptionBook__BadTerms();
    Subscription storage sub = s_subscriptions[id][msg.sender];
    uint256 amount = uint256(terms.price) * periods;
    // At most (2^32 - 1)^2 seconds: the end is checked against 40 bits below.
    uint256 length = uint256(terms.period) * periods;
    if (sub.end > block.timestamp) {
      if (sub.period != terms.period || sub.quota != terms.quota || uint256(sub.paid) * terms.period != uint256(terms.price) * (sub.end - sub.start)) {
        revert SubscriptionBook__TermsChanged(id);
      }
      sub.end = _time(sub.end + length);
      sub.paid += uint128(amount);
    } else {
      // Whatever the ended one still held is the seller's.
      if (sub.paid > sub.released) _release(id, msg.sender, sub);
      uint40 start = _time(block.timestamp);
      s_subscriptions[id][msg.sender] = Subscription({
        start: start,
        end: _time(start + length),
        period: uint40(terms.period),
        quota: terms.quota,
        used: 0,
        usedPeriod: 0,
        paid: uint128(amount),
        released: 0
      });
    }
    emit Subscribed(id, msg.sender, sub.start, sub.end, amount);
    if (amount > 0) _paymentToken().safeTransferFrom(msg.sender, address(this), amount);
  }

  /// @notice Ends the caller's subscription at the end of the current period and credits
  /// back the periods paid for that have not begun.
  /// @param id The dataset.
  function unsubscribe(bytes32 id) external {
    Subscription storage sub = s_subscriptions[id][msg.sender];
    if (!(sub.end > block.timestamp)) revert SubscriptionBook__NotSubscribed(id, msg.sender);
    uint40 newEnd = sub.start + ((uint40(block.timestamp) - sub.start) / sub.period + 1) * sub.period;
    uint256 refund = (uint256(sub.paid) * (sub.end - newEnd)) / (sub.end - sub.start);
    sub.paid -= uint128(refund);
    sub.end = newEnd;
    emit Unsubscribed(id, msg.sender, newEnd, refund);
    _creditIncome(msg.sender, id, refund);
  }

  /// @notice Credits the seller (and the dataset's payees) the part of a subscription earned
  /// so far; anyone may call it.
  /// @param id The dataset.
  /// @param buyer The subscriber.
  function releaseSubscription(bytes32 id, address buyer) external {
    Subscription storage sub = s_subscriptions[id][buyer];
    if (!(_earned(id, sub) > sub.released)) revert SubscriptionBook__NothingDue();
    _release(id, buyer, sub);
  }

  /// @notice After the dataset is deregistered, credits the subscriber what the seller had
  /// not earned by the deregistration, and the seller what it had.
  /// @param id The dataset.
  function reclaimSubscription(bytes32 id) external {
    uint64 cutoff = _deregisteredAt(id);
    if (cutoff == 0) revert SubscriptionBook__StillListed(id);
    Subscription storage sub = s_subscriptions[id][msg.sender];
    if (sub.released < _earned(id, sub)) _release(id, msg.sender, sub);
    uint256 refund = sub.paid - sub.released;
    if (refund == 0) revert SubscriptionBook__NothingDue();
    sub.paid = sub.released;
    if (sub.end > cutoff) sub.end = cutoff > sub.start ? uint40(cutoff) : sub.start;
    emit SubscriptionReclaimed(id, msg.sender, refund);
    _creditIncome(msg.sender, id, refund);
  }

  /// @notice Sends the caller its subscription income and refunds.
  function withdrawIncome() external {
    uint256 amount = s_income[msg.sender];
    if (amount == 0) revert SubscriptionBook__NothingDue();
    s_income[msg.sender] = 0;
    emit IncomeWithdrawn(msg.sender, amount);
    _paymentToken().safeTransfer(msg.sender, amount);
  }

  /// @notice A dataset's offer.
  /// @param id The dataset.
  /// @return The offer (period 0: none).
  function subscriptionTermsOf(bytes32 id) external view returns (SubscriptionTerms memory) {
    return s_subscriptionTerms[id];
  }

  /// @notice A buyer's subscription to a dataset, the computations left in the current
  /// period, and what the seller has earned of it so far.
  /// @param id The dataset.
  /// @param buyer The subscriber.
  /// @return sub The subscription (all zero: none).
  /// @return quotaLeft Computations left in the current period (0 when it is not running).
  /// @return earned What the seller has earned of it so far.
  function subscriptionOf(
    bytes32 id,
    address buyer
  ) external view returns (Subscription memory sub, uint32 quotaLeft, uint256 earned) {
    sub = s_subscriptions[id][buyer];
    earned = _earned(id, sub);
    if (sub.end > block.timestamp && !(block.timestamp < sub.start)) {
      uint256 current = (block.timestamp - sub.start) / sub.period;
      quotaLeft = current == sub.usedPeriod ? sub.quota - sub.used : sub.quota;
    }
  }

  /// @notice Subscription income and refunds an account can withdraw.
  /// @param account The account.
  /// @return The amount.
  function incomeOf(address account) external view returns (uint256) {
    return s_income[account];
  }

  /// @dev Uses one of the buyer's quota on the dataset if its subscription is running and
  /// has any left: true when the computation is covered (no per-computation price).
  function _useSubscription(bytes32 id, address buyer) internal returns (bool) {
    // Fields of the first slot only: one cold read (a memory copy would read the second too).
    Subscription storage sub = s_subscriptions[id][buyer];
    uint40 start = sub.start;
    if (!(sub.end > block.timestamp) || block.timestamp < start) return false;
    // Fewer than 2^32 periods fit before the end (checked when bought).
    uint32 current = uint32((block.timestamp - start) / sub.period);
    uint32 used = current == sub.usedPeriod ? sub.used : 0;
    if (!(used < sub.quota)) return false;
    // One write of the packed slot; what is used is readable with `subscriptionOf`.
    sub.used = used + 1;
    sub.usedPeriod = current;
    return true;
  }

  /// @dev What the seller has earned of a subscription: its payment pro rata to the time
  /// elapsed, up to its end or the dataset's deregistration.
  function _earned(bytes32 id, Subscription memory sub) private view returns (uint256) {
    if (!(sub.end > sub.start)) return sub.paid;
    uint256 until = block.timestamp;
    uint256 cutoff = _deregisteredAt(id);
    if (cutoff != 0 && cutoff < until) until = cutoff;
    if (until > sub.end) until = sub.end;
    if (!(until > sub.start)) return 0;
    return (uint256(sub.paid) * (until - sub.start)) / (sub.end - sub.start);
  }

  /// @dev A time as 40 bits; reverts past the year 36812.
  function _time(uint256 t) private pure returns (uint40) {
    if (t > type(uint40).max) revert SubscriptionBook__BadTerms();
    return uint40(t);
  }

  /// @dev Credits the earned, unreleased part to the seller and payees.
  function _release(bytes32 id, address buyer, Subscription storage sub) private {
    uint256 earned = _earned(id, sub);
    if (earned > sub.paid) earned = sub.paid;
    uint256 amount = earned - sub.released;
    sub.released = uint128(earned);
    emit SubscriptionReleased(id, buyer, amount);
    (address[] memory accounts, uint16[] memory shares) = _payouts(id);
    uint256[] memory parts = PayoutSplit.split(amount, shares);
    for (uint256 j = 0; j < accounts.length; ++j) {
      _creditIncome(accounts[j], id, parts[j]);
    }
  }

  /// @dev Credits an account a pull payment from a dataset (income, refunds, compensation).
  function _creditIncome(address account, bytes32 id, uint256 amount) internal {
    if (amount == 0) return;
    s_income[account] += amount;
    emit IncomeCredited(account, id, amount);
  }

  /// @dev The token subscriptions are paid in.
  function _paymentToken() internal view virtual returns (IERC20);

  /// @dev Reverts unless the caller is the seller of a listed dataset.
  function _checkListedSeller(bytes32 id) internal view virtual;

  /// @dev Whether the dataset is listed and active.
  function _isForSale(bytes32 id) internal view virtual returns (bool);

  /// @dev When the dataset was deregistered; 0 while it is listed.
  function _deregisteredAt(bytes32 id) internal view virtual returns (uint64);

  /// @dev The seller and payees of a dataset with their basis points, the seller first.
  function _payouts(bytes32 id) internal view virtual returns (address[] memory accounts, uint16[] memory shares);
}
