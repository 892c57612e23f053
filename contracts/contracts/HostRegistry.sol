// SPDX-License-Identifier: MIT
pragma solidity 0.8.19;

import {ConfirmedOwner} from "@chainlink/contracts/src/v0.8/shared/access/ConfirmedOwner.sol";

/// @title HostRegistry
/// @notice The market's three MPC hosts: who runs each (and is paid its share of the
/// operators' fee), which key signs its results, and how sellers, buyers and the bridge
/// reach it (gRPC endpoint and TLS certificate fingerprint).
/// @dev The host set is fixed at three: index 0, 1 and 2 are the three share holders, in the
/// order of the datasets' `commitments`. The owner (the market operator, via Chainlink's
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

  /// @notice Emitted when the owner sets or replaces the host at `index`.
  /// @param index The host's index: 0, 1 or 2.
  /// @param operator Who runs the host and receives its share of the operators' fees.
  /// @param signer The address whose signatures over results the contracts now accept.
  /// @param endpoint The host's gRPC endpoint.
  /// @param tlsFingerprint SHA-256 of the DER certificate the host presents over TLS.
  event HostUpdated(uint8 indexed index, address operator, address signer, string endpoint, bytes32 tlsFingerprint);

  Host[3] private s_hosts;

  /// @dev The deployer becomes the owner; hand it over with `transferOwnership`/`acceptOwnership`.
  constructor() ConfirmedOwner(msg.sender) {}

  /// @notice Sets or replaces the host at `index`; owner only.
  /// @dev Replacing a signer changes which signatures fulfilments of requests still in
  /// flight need: a request answered by the old signer after the change fails and refunds
  /// its buyer. Rotate keys between requests.
  /// @param index 0, 1 or 2.
  /// @param host The host; `operator` and `signer` must be non-zero, `endpoint` and
  /// `tlsFingerprint` are published as given.
  function setHost(uint8 index, Host calldata host) external onlyOwner {
    // `>=` reads as the bound: indexes run from 0 to HOST_COUNT - 1.
    // solhint-disable-next-line gas-strict-inequalities
    if (index >= HOST_COUNT) revert HostRegistry__InvalidIndex(index);
    if (host.operator == address(0) || host.signer == address(0)) revert HostRegistry__ZeroAddress();
    s_hosts[index] = host;
    emit HostUpdated(index, host.operator, host.signer, host.endpoint, host.tlsFingerprint);
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
  /// @return "HostRegistry 1.0.0".
  function typeAndVersion() external pure returns (string memory) {
    return "HostRegistry 1.0.0";
  }
}
