// SPDX-License-Identifier: MIT
pragma solidity 0.8.19;

import {ConfirmedOwner} from "@chainlink/contracts/src/v0.8/shared/access/ConfirmedOwner.sol";

/// @title HostRegistry
/// @notice The market's three MPC hosts: who runs each (and is paid its share of the
/// operators' fee), which key signs its results, and how sellers, buyers and the bridge
/// reach it (gRPC endpoint and TLS certificate fingerprint).
/// @dev The host set is fixed at three: index 0, 1 and 2 are the three share holders, in the
/// order of the datasets' `commitments`. Sellers send their shares where this registry says
/// and the per-algorithm contracts accept results signed by the signers it lists, so a
/// change of a registered host never takes effect at once: the owner proposes it, the
/// proposal is announced (`HostChangeProposed`) and anyone can apply it once `changeDelay`
/// seconds have passed, which gives sellers time to notice and withdraw. Only an index
/// nobody set yet (the initial set-up) is set at once with `setHost`.
/// The owner (the market operator, via Chainlink's
/// two-step `ConfirmedOwner`) is trusted to register three distinct hosts: this contract
/// does not check that two indexes do not share a signer, since one party holding two
/// shares would already break the MPC's honest-majority assumption off-chain. An index
/// nobody set reads as all zeros; the per-algorithm contracts treat a zero signer as a
/// signature that can never verify and refuse to distribute fees to zero operators.
contract HostRegistry is ConfirmedOwner {
  /// @notice One MPC host.
  /// @param operator Who runs the host; receives a third of the distributed operators' fees.
  /// @param signer The address whose EIP-191 signatures over results the contracts accept.
  /// @param endpoint Where the host's gRPC service listens, e.g. "host0.example:50051".
  /// @param tlsFingerprint SHA-256 of the DER certificate the host presents over TLS.
  struct Host {
    address operator;
    address signer;
    string endpoint;
    bytes32 tlsFingerprint;
  }

  /// @notice The number of hosts: indexes run from 0 to HOST_COUNT - 1.
  uint8 public constant HOST_COUNT = 3;

  /// @notice The index is not 0, 1 or 2.
  error HostRegistry__InvalidIndex(uint8 index);
  /// @notice A host's operator and signer must not be the zero address.
  error HostRegistry__ZeroAddress();
  /// @notice The index already holds a host: replace it with `proposeHostChange`.
  error HostRegistry__AlreadySet(uint8 index);
  /// @notice No change of the host at this index is pending.
  error HostRegistry__NoPendingChange(uint8 index);
  /// @notice The pending change cannot be applied before `effectiveAt`.
  error HostRegistry__ChangeNotDue(uint8 index, uint64 effectiveAt);

  /// @notice Emitted when the owner sets or replaces the host at `index`.
  /// @param index The host's index: 0, 1 or 2.
  /// @param operator Who runs the host and receives its share of the operators' fees.
  /// @param signer The address whose signatures over results the contracts now accept.
  /// @param endpoint The host's gRPC endpoint.
  /// @param tlsFingerprint SHA-256 of the DER certificate the host presents over TLS.
  event HostUpdated(uint8 indexed index, address operator, address signer, string endpoint, bytes32 tlsFingerprint);
  /// @notice Emitted when the owner proposes to replace the host at `index`; the change can
  /// be applied from `effectiveAt` on. Sellers' clients warn while a change is pending.
  /// @param index The host's index: 0, 1 or 2.
  /// @param operator The proposed operator.
  /// @param signer The proposed result signer.
  /// @param endpoint The proposed gRPC endpoint.
  /// @param tlsFingerprint The proposed certificate fingerprint.
  /// @param effectiveAt When (unix seconds) the change may be applied.
  event HostChangeProposed(
    uint8 indexed index,
    address operator,
    address signer,
    string endpoint,
    bytes32 tlsFingerprint,
    uint64 effectiveAt
  );
  /// @notice Emitted when the owner withdraws a pending change.
  /// @param index The host's index.
  event HostChangeCancelled(uint8 indexed index);

  /// @dev A proposed replacement of a host and when it may be applied (0: none pending).
  struct PendingChange {
    Host host;
    uint64 effectiveAt;
  }

  uint64 private immutable i_changeDelay;
  Host[3] private s_hosts;
  PendingChange[3] private s_pending;

  /// @dev The deployer becomes the owner; hand it over with `transferOwnership`/`acceptOwnership`.
  /// @param changeDelay_ Seconds between proposing a host change and being able to apply it.
  constructor(uint64 changeDelay_) ConfirmedOwner(msg.sender) {
    i_changeDelay = changeDelay_;
  }

  /// @notice Registers the host at an index nobody set yet (the market's initial set-up);
  /// owner only. A registered host is replaced with `proposeHostChange`.
  /// @param index 0, 1 or 2.
  /// @param host The host; `operator` and `signer` must be non-zero, `endpoint` and
  /// `tlsFingerprint` are published as given.
  function setHost(uint8 index, Host calldata host) external onlyOwner {
    _checkHost(index, host);
    if (s_hosts[index].signer != address(0)) revert HostRegistry__AlreadySet(index);
    s_hosts[index] = host;
    emit HostUpdated(index, host.operator, host.signer, host.endpoint, host.tlsFingerprint);
  }

  /// @notice Proposes to replace the host at `index`; owner only. It takes effect when
  /// `applyHostChange` is called `changeDelay()` seconds from now or later; a new proposal
  /// for the same index replaces the pending one (and restarts the delay).
  /// @dev Replacing a signer changes which signatures fulfilments of requests still in
  /// flight need: a request answered by the old signer after the change fails and refunds
  /// its buyer. Rotate keys between requests.
  /// @param index 0, 1 or 2.
  /// @param host The proposed host; `operator` and `signer` must be non-zero.
  function proposeHostChange(uint8 index, Host calldata host) external onlyOwner {
    _checkHost(index, host);
    uint64 effectiveAt = uint64(block.timestamp) + i_changeDelay;
    s_pending[index] = PendingChange({host: host, effectiveAt: effectiveAt});
    emit HostChangeProposed(index, host.operator, host.signer, host.endpoint, host.tlsFingerprint, effectiveAt);
  }

  /// @notice Withdraws the pending change of the host at `index`; owner only.
  /// @param index 0, 1 or 2.
  function cancelHostChange(uint8 index) external onlyOwner {
    _pendingAt(index);
    delete s_pending[index];
    emit HostChangeCancelled(index);
  }

  /// @notice Applies the pending change of the host at `index` once it is due; anyone may
  /// call it.
  /// @param index 0, 1 or 2.
  function applyHostChange(uint8 index) external {
    PendingChange storage pending = _pendingAt(index);
    // `<`: due from `effectiveAt` on, inclusive.
    if (block.timestamp < pending.effectiveAt) revert HostRegistry__ChangeNotDue(index, pending.effectiveAt);
    Host memory host = pending.host;
    s_hosts[index] = host;
    delete s_pending[index];
    emit HostUpdated(index, host.operator, host.signer, host.endpoint, host.tlsFingerprint);
  }

  /// @notice The pending change of the host at `index`, if any.
  /// @param index 0, 1 or 2.
  /// @return host The proposed host (all zeros if none).
  /// @return effectiveAt When it may be applied; 0 if no change is pending.
  function getPendingHostChange(uint8 index) external view returns (Host memory host, uint64 effectiveAt) {
    // `>=` reads as the bound: indexes run from 0 to HOST_COUNT - 1.
    // solhint-disable-next-line gas-strict-inequalities
    if (index >= HOST_COUNT) revert HostRegistry__InvalidIndex(index);
    PendingChange storage pending = s_pending[index];
    return (pending.host, pending.effectiveAt);
  }

  /// @notice Seconds between proposing a host change and being able to apply it.
  /// @return The delay in seconds.
  function changeDelay() external view returns (uint64) {
    return i_changeDelay;
  }

  /// @notice The host at `index` (all zeros if never set).
  /// @param index 0, 1 or 2.
  /// @return The host.
  function getHost(uint8 index) external view returns (Host memory) {
    // `>=` reads as the bound: indexes run from 0 to HOST_COUNT - 1.
    // solhint-disable-next-line gas-strict-inequalities
    if (index >= HOST_COUNT) revert HostRegistry__InvalidIndex(index);
    return s_hosts[index];
  }

  /// @notice All three hosts, in index order.
  /// @return The hosts.
  function getHosts() external view returns (Host[3] memory) {
    return s_hosts;
  }

  /// @notice The three result-signing addresses, in index order (zero where unset).
  /// @dev Cheaper than `getHosts` for the per-algorithm contracts' fulfilment.
  /// @return The signers.
  function signers() external view returns (address[3] memory) {
    return [s_hosts[0].signer, s_hosts[1].signer, s_hosts[2].signer];
  }

  /// @notice The three operators' addresses, in index order (zero where unset).
  /// @return The operators.
  function operators() external view returns (address[3] memory) {
    return [s_hosts[0].operator, s_hosts[1].operator, s_hosts[2].operator];
  }

  /// @notice The contract's type and version.
  /// @return "HostRegistry 2.0.0".
  function typeAndVersion() external pure returns (string memory) {
    return "HostRegistry 2.0.0";
  }

  function _checkHost(uint8 index, Host calldata host) private pure {
    // `>=` reads as the bound: indexes run from 0 to HOST_COUNT - 1.
    // solhint-disable-next-line gas-strict-inequalities
    if (index >= HOST_COUNT) revert HostRegistry__InvalidIndex(index);
    if (host.operator == address(0) || host.signer == address(0)) revert HostRegistry__ZeroAddress();
  }

  function _pendingAt(uint8 index) private view returns (PendingChange storage pending) {
    // `>=` reads as the bound: indexes run from 0 to HOST_COUNT - 1.
    // solhint-disable-next-line gas-strict-inequalities
    if (index >= HOST_COUNT) revert HostRegistry__InvalidIndex(index);
    pending = s_pending[index];
    if (pending.effectiveAt == 0) revert HostRegistry__NoPendingChange(index);
  }
}
