// SPDX-License-Identifier: MIT
pragma solidity 0.8.19;

/// @title TrialBook
/// @notice Try before you buy: a seller grants every buyer address a few free computations
/// over a dataset, each spending at most a small ε, out of a bounded allowance of trial
/// computations for the dataset as a whole. A trial computation pays no per-computation
/// price for the dataset (the operators' fee still applies, and its ε is spent from the
/// dataset's privacy budget like any other); the buyer asks for one explicitly
/// (`AlgorithmComputation.requestTrialComputation`).
/// @dev The allowance is what bounds sybils: any number of fresh addresses together get at
/// most `allowance` trial computations, so at most `allowance × epsilon` of the budget. A
/// trial used by a request that later fails or is refunded gets its ε back (like any
/// request) but not the trial itself. Mixed into `DatasetRegistry`.
abstract contract TrialBook {
  /// @notice A seller's trial offer; `perBuyer` 0 means none.
  /// @param perBuyer Free computations each buyer address may use.
  /// @param epsilon The most ε (milli-ε) one trial computation may spend.
  /// @param remaining Trial computations left for all buyers together.
  struct TrialTerms {
    uint16 perBuyer;
    uint32 epsilon;
    uint32 remaining;
  }

  /// @notice Per-buyer count, epsilon and allowance must be positive together (or all zero).
  error TrialBook__BadTerms();
  /// @notice No trial left for this buyer: none offered, the buyer used its own, or the
  /// dataset's allowance is spent.
  error TrialBook__NoTrial(bytes32 datasetId, address buyer);
  /// @notice A trial computation must spend some ε and at most the trial's.
  error TrialBook__TrialEpsilon(bytes32 datasetId, uint32 epsilon, uint32 maxEpsilon);

  /// @notice The seller changed its trial offer (`perBuyer` 0: withdrawn).
  /// @param datasetId The dataset.
  /// @param perBuyer Free computations per buyer address.
  /// @param epsilon The most ε one trial computation may spend, in milli-ε.
  /// @param allowance Trial computations left for all buyers together.
  event TrialTermsSet(bytes32 indexed datasetId, uint16 perBuyer, uint32 epsilon, uint32 allowance);
  /// @notice A buyer used one of its trial computations.
  /// @param datasetId The dataset.
  /// @param buyer The buyer.
  /// @param used Trial computations this buyer has used on the dataset.
  /// @param remaining Trial computations left for all buyers together.
  event TrialUsed(bytes32 indexed datasetId, address indexed buyer, uint16 used, uint32 remaining);

  mapping(bytes32 datasetId => TrialTerms) private s_trialTerms;
  mapping(bytes32 datasetId => mapping(address buyer => uint16)) private s_trialsUsed;

  /// @notice Offers (or changes, or with all zeros withdraws) trials of one of the caller's
  /// listed datasets. The allowance is set, not added to: a new offer replaces what was left.
  /// Trials already used stay used.
  /// @param id The dataset.
  /// @param perBuyer Free computations per buyer address (0: no offer).
  /// @param epsilon The most ε (milli-ε) a trial computation may spend.
  /// @param allowance Trial computations for all buyers together.
  function setTrialTerms(bytes32 id, uint16 perBuyer, uint32 epsilon, uint32 allowance) external {
    _checkListedSeller(id);
    bool none = perBuyer == 0;
    if (none != (epsilon == 0) || none != (allowance == 0)) revert TrialBook__BadTerms();
    s_trialTerms[id] = TrialTerms({perBuyer: perBuyer, epsilon: epsilon, remaining: allowance});
    emit TrialTermsSet(id, perBuyer, epsilon, allowance);
  }

  /// @notice A dataset's trial offer and the allowance left.
  /// @param id The dataset.
  /// @return The terms (all zero: none offered).
  function trialTermsOf(bytes32 id) external view returns (TrialTerms memory) {
    return s_trialTerms[id];
  }

  /// @notice How many trial computations a buyer may still use on a dataset.
  /// @param id The dataset.
  /// @param buyer The buyer.
  /// @return left The buyer's own trials left, capped by the dataset's allowance.
  function trialsLeft(bytes32 id, address buyer) external view returns (uint32 left) {
    TrialTerms memory terms = s_trialTerms[id];
    uint16 used = s_trialsUsed[id][buyer];
    if (!(terms.perBuyer > used)) return 0;
    left = terms.perBuyer - used;
    if (left > terms.remaining) left = terms.remaining;
  }

  /// @dev Uses one of the buyer's trial computations; reverts when none is left or `epsilon`
  /// is not within the trial's.
  function _useTrial(bytes32 id, address buyer, uint32 epsilon) internal {
    TrialTerms storage terms = s_trialTerms[id];
    uint16 used = s_trialsUsed[id][buyer];
    uint32 remaining = terms.remaining;
    if (!(terms.perBuyer > used) || remaining == 0) revert TrialBook__NoTrial(id, buyer);
    if (epsilon == 0 || epsilon > terms.epsilon) revert TrialBook__TrialEpsilon(id, epsilon, terms.epsilon);
    // Cannot overflow or underflow: `used < perBuyer` and `remaining > 0`, checked above.
    unchecked {
      ++used;
      --remaining;
    }
    s_trialsUsed[id][buyer] = used;
    terms.remaining = remaining;
    emit TrialUsed(id, buyer, used, remaining);
  }

  /// @dev Reverts unless the caller is the seller of a listed dataset.
  function _checkListedSeller(bytes32 id) internal view virtual;
}
