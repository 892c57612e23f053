// SPDX-License-Identifier: MIT
pragma solidity 0.8.19;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

import {DatasetRegistry} from "./DatasetRegistry.sol";
import {HostRegistry} from "./HostRegistry.sol";

/// @title IOffenceFailable
/// @notice What the court calls on a request's computation contract (`AlgorithmComputation`).
interface IOffenceFailable {
  /// @notice Fails a pending request for a proven offence and returns its buyer.
  /// @param requestId The request.
  /// @param datasetId The dataset found missing or corrupt.
  /// @return buyer The request's buyer.
  function failForOffence(bytes32 requestId, bytes32 datasetId) external returns (address buyer);
}

/// @title PenaltyCourt
/// @notice Punishes provable offences of sellers: when an MPC host, asked to compute a
/// request, finds a dataset's share missing or not matching the dataset's on-chain
/// commitment, it signs an attestation naming the request, the dataset and the offence.
/// With the attestations of two different hosts anyone may call `punish`: the request
/// fails with a refund (if it is still pending), `slashBps` of the dataset's stake is
/// slashed, `compensationBps` of that is credited to the request's buyer and the rest is
/// burned, and the dataset is deregistered (which also lowers its rank to nothing: it is
/// no longer listed, and its penalty is a public event).
/// @dev Two hosts, because the market's privacy already rests on no two hosts colluding:
/// one host alone cannot punish anybody, and an operator gains nothing by accusing (the
/// slashed stake is burned, not paid to the hosts). An attestation is host i's signer's
/// EIP-191 `personal_sign` over the 32 bytes `offenceDigest(...)`, bound to this chain, this
/// court, the computation contract, the request, the dataset and the offence. Each
/// (computation, request, dataset) is punished at most once.
contract PenaltyCourt {
  /// @notice A host's signed statement.
  /// @param host The host's index in the host registry (0, 1 or 2).
  /// @param offence OFFENCE_SHARE_MISSING or OFFENCE_COMMITMENT_MISMATCH.
  /// @param signature The host signer's EIP-191 signature over `offenceDigest`.
  struct Attestation {
    uint8 host;
    uint8 offence;
    bytes signature;
  }

  /// @notice The host holds no share of the dataset.
  uint8 public constant OFFENCE_SHARE_MISSING = 1;
  /// @notice The host's share does not match the dataset's on-chain commitment for it.
  uint8 public constant OFFENCE_COMMITMENT_MISMATCH = 2;
  /// @notice Domain tag of an attestation's digest.
  bytes32 public constant OFFENCE_TAG = keccak256("scmpc-offence-v1");
  uint16 private constant BPS_WHOLE = 10_000;

  DatasetRegistry private immutable i_registry;
  HostRegistry private immutable i_hostRegistry;
  uint16 private immutable i_slashBps;
  uint16 private immutable i_compensationBps;
  mapping(bytes32 key => bool) private s_punished;

  /// @notice Basis points above the whole.
  error PenaltyCourt__BadShare();
  /// @notice The address is not one of the market's computations.
  error PenaltyCourt__NotComputation(address computation);
  /// @notice Attestation `index` is not a valid one by a distinct registered host.
  error PenaltyCourt__BadAttestation(uint256 index);
  /// @notice This dataset was already punished for this request.
  error PenaltyCourt__AlreadyPunished(address computation, bytes32 requestId, bytes32 datasetId);

  /// @notice A dataset was punished for an offence at a request.
  /// @param computation The computation contract of the request.
  /// @param requestId The request.
  /// @param datasetId The dataset.
  /// @param hosts The two attesting hosts' indexes.
  /// @param offences Their offences.
  event Punished(
    address indexed computation,
    bytes32 indexed requestId,
    bytes32 indexed datasetId,
    uint8[2] hosts,
    uint8[2] offences
  );

  /// @param registry The dataset registry (which must name this court).
  /// @param hostRegistry The registry of the three hosts and their signers.
  /// @param slashBps Basis points of a punished dataset's stake slashed.
  /// @param compensationBps Basis points of the slashed amount paid to the buyer let down.
  constructor(address registry, address hostRegistry, uint16 slashBps, uint16 compensationBps) {
    if (slashBps > BPS_WHOLE || compensationBps > BPS_WHOLE) revert PenaltyCourt__BadShare();
    i_registry = DatasetRegistry(registry);
    i_hostRegistry = HostRegistry(hostRegistry);
    i_slashBps = slashBps;
    i_compensationBps = compensationBps;
  }

  /// @notice Punishes `datasetId` for the offence two hosts attest at `requestId`.
  /// @dev Reverts with `PenaltyCourt__NotComputation` unless `computation` is one of the
  /// market's, `PenaltyCourt__BadAttestation(i)` when attestation i has an unknown offence,
  /// a host index out of range or equal to the other's, or a signature that is not its
  /// host's registered signer's over `offenceDigest`, `PenaltyCourt__AlreadyPunished` for a
  /// repeat, and with the computation's errors when the request does not read the dataset
  /// or was fulfilled.
  /// @param computation The request's computation contract.
  /// @param requestId The request.
  /// @param datasetId The dataset.
  /// @param attestations Two hosts' attestations.
  function punish(address computation, bytes32 requestId, bytes32 datasetId, Attestation[2] calldata attestations) external {
    if (!i_registry.isComputation(computation)) revert PenaltyCourt__NotComputation(computation);
    bytes32 key = keccak256(abi.encode(computation, requestId, datasetId));
    if (s_punished[key]) revert PenaltyCourt__AlreadyPunished(computation, requestId, datasetId);
    address[3] memory signers = i_hostRegistry.signers();
    for (uint256 i = 0; i < 2; ++i) {
      Attestation calldata a = attestations[i];
      bool known = a.offence == OFFENCE_SHARE_MISSING || a.offence == OFFENCE_COMMITMENT_MISMATCH;
      if (!known || !(a.host < 3) || (i == 1 && a.host == attestations[0].host)) revert PenaltyCourt__BadAttestation(i);
      bytes32 digest = ECDSA.toEthSignedMessageHash(offenceDigest(computation, requestId, datasetId, a.offence));
      (address recovered, ECDSA.RecoverError error) = ECDSA.tryRecover(digest, a.signature);
      if (error != ECDSA.RecoverError.NoError || recovered != signers[a.host]) revert PenaltyCourt__BadAttestation(i);
    }
    s_punished[key] = true;
    emit Punished(
      computation,
      requestId,
      datasetId,
      [attestations[0].host, attestations[1].host],
      [attestations[0].offence, attestations[1].offence]
    );
    // Both are the market's own contracts (checked above: the registry lists the computation).
    address buyer = IOffenceFailable(computation).failForOffence(requestId, datasetId);
    i_registry.punish(datasetId, buyer, i_slashBps, i_compensationBps);
  }

  /// @notice The 32 bytes a host signs (EIP-191) to attest an offence.
  /// @param computation The request's computation contract.
  /// @param requestId The request.
  /// @param datasetId The dataset.
  /// @param offence OFFENCE_SHARE_MISSING or OFFENCE_COMMITMENT_MISMATCH.
  /// @return The digest.
  function offenceDigest(address computation, bytes32 requestId, bytes32 datasetId, uint8 offence) public view returns (bytes32) {
    return keccak256(abi.encode(OFFENCE_TAG, block.chainid, address(this), computation, requestId, datasetId, offence));
  }

  /// @notice Whether a dataset was punished for a request.
  /// @param computation The request's computation contract.
  /// @param requestId The request.
  /// @param datasetId The dataset.
  /// @return True once punished.
  function isPunished(address computation, bytes32 requestId, bytes32 datasetId) external view returns (bool) {
    return s_punished[keccak256(abi.encode(computation, requestId, datasetId))];
  }

  /// @notice The court's slash and compensation, in basis points.
  /// @return slashBps Of a punished dataset's stake.
  /// @return compensationBps Of the slashed amount, to the buyer.
  function terms() external view returns (uint16 slashBps, uint16 compensationBps) {
    return (i_slashBps, i_compensationBps);
  }

  /// @notice The contract's type and version.
  /// @return The string.
  function typeAndVersion() external pure returns (string memory) {
    return "PenaltyCourt 1.0.0";
  }
}
