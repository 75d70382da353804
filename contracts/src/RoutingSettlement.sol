// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {IRoutingSettlement, Inclusion, RegistryEvidence} from "./interfaces/IRoutingSettlement.sol";
import {IStaking} from "./interfaces/IStaking.sol";
import {BatchPayload} from "./libraries/BatchPayload.sol";
import {RoutingCheck} from "./libraries/RoutingCheck.sol";
import {BatchHeader, ProviderEntry, RoutingDecision, RoutingHash} from "./libraries/RoutingHash.sol";

/// @title RoutingSettlement
/// @notice Settles batches of routing decisions on an OP Stack L2.
/// @dev
/// - **Commit.** The sequencer posts each batch's header with its compact payload. The contract
///   recomputes every leaf and the root from the payload (`BatchPayload`) and refuses the batch
///   unless they match the header, so no root that disagrees with the posted decisions can ever
///   be stored. (The alternative, a fraud proof that voids a batch, would save the on-chain
///   hashing, but under the EIP-7623 calldata floor the payload's bytes set the price and that
///   hashing is nearly free; the README has the measurements.) Headers chain by hash.
/// - **Window.** A batch can be challenged for `staking.challengeWindow()` seconds after its
///   commit and is final after. The staking contract's unstake delay is longer, and it keeps the
///   stake of every router in a batch locked until the batch's window closes.
/// - **Registries.** Batch `n`'s header commits the root of registry epoch `n`. Decisions record
///   attempts made over seconds, so a decision is routed against the registry current when it
///   started, usually a few batches older than the batch it lands in: its `registryEpoch` may be
///   any epoch up to its batch's (the node bounds how old). The root of every epoch is kept.
/// - **Challenges.** A misrouting challenge proves a decision's inclusion (OpenZeppelin
///   `MerkleProof`), the router's EIP-712 signature (bound to this chain and contract), and
///   registry entries (one multiproof against the root of the decision's own epoch), then re-runs
///   the policy on that one decision (`RoutingCheck`). A duplicate challenge proves two different decisions
///   of one router for one request id. A proven offence slashes `slashBps` of the router's stake;
///   the challenger gets `rewardBps` of that (at most half, so always strictly less than the
///   slash, and nothing when the router challenges itself), the treasury the rest. Offences are
///   keyed on the decision's leaf (misrouting) or on (router, request id) (duplicates), never on
///   signature bytes, and are slashed once.
contract RoutingSettlement is IRoutingSettlement, EIP712, Ownable, ReentrancyGuardTransient {
    /// @notice The highest challenger reward, in basis points of the slashed amount.
    uint16 public constant MAX_REWARD_BPS = 5_000;

    struct BatchRecord {
        uint64 batchId;
        uint64 committedAt;
        uint64 l2Block;
    }

    /// @inheritdoc IRoutingSettlement
    IStaking public immutable staking;

    /// @inheritdoc IRoutingSettlement
    address public sequencer;
    /// @inheritdoc IRoutingSettlement
    uint64 public lastBatchId;
    /// @inheritdoc IRoutingSettlement
    uint16 public slashBps;
    /// @inheritdoc IRoutingSettlement
    uint16 public rewardBps;
    /// @inheritdoc IRoutingSettlement
    bytes32 public lastHeaderHash;
    /// @inheritdoc IRoutingSettlement
    mapping(bytes32 leaf => bool) public misroutingSlashed;

    /// @inheritdoc IRoutingSettlement
    mapping(uint64 batchId => bytes32) public registryRoot;

    mapping(bytes32 headerHash => BatchRecord) internal _batches;
    mapping(bytes32 key => bool) internal _duplicateSlashed;

    /// @param staking_ The staking contract (its `settlement` must be this contract).
    /// @param sequencer_ The address allowed to commit batches.
    /// @param owner_ Governance: sets the sequencer and the slash rates.
    /// @param slashBps_ Basis points of a router's stake a proven offence slashes.
    /// @param rewardBps_ Basis points of the slash paid to the challenger.
    constructor(IStaking staking_, address sequencer_, address owner_, uint16 slashBps_, uint16 rewardBps_)
        EIP712(RoutingHash.DOMAIN_NAME, RoutingHash.DOMAIN_VERSION)
        Ownable(owner_)
    {
        if (address(staking_) == address(0) || sequencer_ == address(0)) revert ZeroAddress();
        staking = staking_;
        _setSequencer(sequencer_);
        _setSlashParams(slashBps_, rewardBps_);
    }

    // ---------------------------------------------------------------- sequencer

    /// @inheritdoc IRoutingSettlement
    function commitBatch(BatchHeader calldata header, bytes calldata payload) external returns (bytes32 headerHash) {
        if (msg.sender != sequencer) revert NotSequencer(msg.sender);
        uint64 expected = lastBatchId + 1;
        if (header.batchId != expected) revert BatchOutOfOrder(expected, header.batchId);
        bytes32 last = lastHeaderHash;
        if (header.prevHash != last) revert PrevHashMismatch(last, header.prevHash);

        (bytes32 root, uint256 count, address[] memory routers) = BatchPayload.process(payload, header.batchId);
        if (count != header.count) revert CountMismatch(header.count, count);
        if (root != header.decisionsRoot) revert RootMismatch(header.decisionsRoot, root);

        headerHash = RoutingHash.headerHash(header);
        _batches[headerHash] =
            BatchRecord({batchId: header.batchId, committedAt: uint64(block.timestamp), l2Block: uint64(block.number)});
        registryRoot[header.batchId] = header.registryRoot;
        lastBatchId = header.batchId;
        lastHeaderHash = headerHash;
        emit BatchCommitted(
            header.batchId, headerHash, header.prevHash, header.decisionsRoot, header.registryRoot, header.count
        );

        staking.recordActivity(routers);
    }

    // ---------------------------------------------------------------- challenges

    /// @inheritdoc IRoutingSettlement
    function challengeMisrouting(Inclusion calldata inclusion, RegistryEvidence calldata evidence)
        external
        nonReentrant
        returns (uint256 slashed)
    {
        (bytes32 headerHash, bytes32 leaf, RoutingDecision memory d, uint64 closesAt) = _verifyInclusion(inclusion);
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp >= closesAt) revert ChallengeWindowClosed(headerHash, closesAt);
        if (misroutingSlashed[leaf]) revert AlreadySlashed(leaf);

        uint8 offence;
        uint8 attempt;
        if (d.registryEpoch > inclusion.header.batchId) {
            // Routed against a registry that did not exist when its batch was sealed.
            offence = RoutingCheck.WRONG_REGISTRY_EPOCH;
        } else {
            bytes32 root = registryRoot[d.registryEpoch];
            if (root == bytes32(0)) revert UnknownRegistryEpoch(d.registryEpoch);
            _verifyEvidence(root, evidence);
            if (evidence.params.epoch != d.registryEpoch) {
                revert RegistryEpochMismatch(d.registryEpoch, evidence.params.epoch);
            }
            (offence, attempt) = RoutingCheck.check(d, evidence.params, evidence.entries);
            if (offence == RoutingCheck.NONE) revert NoViolation();
        }

        misroutingSlashed[leaf] = true;
        uint256 reward;
        (slashed, reward) = _slashAmounts(d.router);
        emit MisroutingProven(headerHash, leaf, d.router, offence, attempt, msg.sender, slashed, reward);
        staking.slash(d.router, slashed, msg.sender, reward);
    }

    /// @inheritdoc IRoutingSettlement
    function challengeDuplicate(Inclusion calldata a, Inclusion calldata b)
        external
        nonReentrant
        returns (uint256 slashed)
    {
        (bytes32 hashA, bytes32 leafA, RoutingDecision memory da, uint64 closesA) = _verifyInclusion(a);
        (bytes32 hashB, bytes32 leafB, RoutingDecision memory db, uint64 closesB) = _verifyInclusion(b);
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp >= closesA && block.timestamp >= closesB) {
            (bytes32 h, uint64 t) = closesA > closesB ? (hashA, closesA) : (hashB, closesB);
            revert ChallengeWindowClosed(h, t);
        }
        if (da.requestId != db.requestId) revert NotSameRequest(da.requestId, db.requestId);
        if (da.router != db.router) revert NotSameRouter(da.router, db.router);
        if (leafA == leafB) revert SameDecision(leafA);
        bytes32 key = _duplicateKey(da.router, da.requestId);
        if (_duplicateSlashed[key]) revert AlreadySlashed(key);

        _duplicateSlashed[key] = true;
        uint256 reward;
        (slashed, reward) = _slashAmounts(da.router);
        emit DuplicateProven(da.requestId, da.router, leafA, leafB, msg.sender, slashed, reward);
        staking.slash(da.router, slashed, msg.sender, reward);
    }

    // ---------------------------------------------------------------- governance

    /// @inheritdoc IRoutingSettlement
    function setSequencer(address sequencer_) external onlyOwner {
        if (sequencer_ == address(0)) revert ZeroAddress();
        _setSequencer(sequencer_);
    }

    /// @inheritdoc IRoutingSettlement
    function setSlashParams(uint16 slashBps_, uint16 rewardBps_) external onlyOwner {
        _setSlashParams(slashBps_, rewardBps_);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IRoutingSettlement
    function challengeWindow() public view returns (uint64) {
        return staking.challengeWindow();
    }

    /// @inheritdoc IRoutingSettlement
    function batch(bytes32 headerHash) external view returns (uint64 batchId, uint64 committedAt, uint64 l2Block) {
        BatchRecord storage rec = _batches[headerHash];
        return (rec.batchId, rec.committedAt, rec.l2Block);
    }

    /// @inheritdoc IRoutingSettlement
    function isFinal(bytes32 headerHash) external view returns (bool) {
        BatchRecord storage rec = _batches[headerHash];
        // forge-lint: disable-next-line(block-timestamp)
        return rec.batchId != 0 && block.timestamp >= rec.committedAt + challengeWindow();
    }

    /// @inheritdoc IRoutingSettlement
    function duplicateSlashed(address router, bytes32 requestId) external view returns (bool) {
        return _duplicateSlashed[_duplicateKey(router, requestId)];
    }

    /// @inheritdoc IRoutingSettlement
    function decisionDigest(RoutingDecision calldata decision) external view returns (bytes32) {
        return _hashTypedDataV4(RoutingHash.hashStruct(decision));
    }

    /// @inheritdoc IRoutingSettlement
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    // ---------------------------------------------------------------- internal

    /// @dev Checks that `inc`'s batch is committed, its decision included and signed by its
    ///      router; returns the batch's hash, the leaf, the decision and when the window closes.
    function _verifyInclusion(Inclusion calldata inc)
        internal
        view
        returns (bytes32 headerHash, bytes32 leaf, RoutingDecision memory d, uint64 closesAt)
    {
        headerHash = RoutingHash.headerHash(inc.header);
        BatchRecord storage rec = _batches[headerHash];
        if (rec.batchId == 0) revert UnknownBatch(headerHash);
        closesAt = rec.committedAt + challengeWindow();

        d = inc.decision;
        leaf = RoutingHash.leaf(d);
        if (!MerkleProof.verifyCalldata(inc.proof, inc.header.decisionsRoot, leaf)) revert InvalidInclusionProof(leaf);
        (address signer, ECDSA.RecoverError err,) =
            ECDSA.tryRecoverCalldata(_hashTypedDataV4(RoutingHash.hashStruct(d)), inc.signature);
        if (err != ECDSA.RecoverError.NoError || signer != d.router) revert InvalidSignature(d.router);
    }

    /// @dev Checks that `ev`'s entries are strictly ascending and, with its parameter record,
    ///      proven under `registryRoot`.
    function _verifyEvidence(bytes32 registryRoot, RegistryEvidence calldata ev) internal pure {
        ProviderEntry[] calldata entries = ev.entries;
        bytes32[] memory leaves = new bytes32[](entries.length + 1);
        leaves[0] = RoutingHash.paramsLeaf(ev.params);
        for (uint256 i; i < entries.length; ++i) {
            if (i > 0 && entries[i].provider <= entries[i - 1].provider) revert EntriesNotSorted(i);
            leaves[i + 1] = RoutingHash.providerLeaf(entries[i]);
        }
        // OpenZeppelin reverts with its own error when the lengths disagree and panics (array
        // out of bounds) when the flags take more sibling hashes than `proof` holds: refuse any
        // multiproof of the wrong shape first, so every bad proof is `InvalidRegistryProof`.
        if (
            !_wellFormedMultiProof(leaves.length, ev.proof.length, ev.proofFlags)
                || !MerkleProof.multiProofVerifyCalldata(ev.proof, ev.proofFlags, registryRoot, leaves)
        ) {
            revert InvalidRegistryProof();
        }
    }

    /// @dev Whether a multiproof of `leafCount` leaves has the shape OpenZeppelin's
    ///      `processMultiProof` processes without reverting: `leafCount + proofLength` values,
    ///      one hashing step per flag, and exactly `proofLength` steps that take a sibling from
    ///      `proof` (false flags). Then no array is read out of bounds and `proof` is used up.
    function _wellFormedMultiProof(uint256 leafCount, uint256 proofLength, bool[] calldata flags)
        internal
        pure
        returns (bool)
    {
        if (leafCount + proofLength != flags.length + 1) return false;
        uint256 fromProof;
        for (uint256 i; i < flags.length; ++i) {
            if (!flags[i]) ++fromProof;
        }
        return fromProof == proofLength;
    }

    /// @dev `slashBps` of `router`'s stake, and the caller's reward out of it (none for the
    ///      router itself).
    function _slashAmounts(address router) internal view returns (uint256 amount, uint256 reward) {
        (uint256 active, uint256 pending,) = staking.stakeOf(router);
        amount = (active + pending) * slashBps / 10_000;
        reward = msg.sender == router ? 0 : amount * rewardBps / 10_000;
    }

    function _duplicateKey(address router, bytes32 requestId) internal pure returns (bytes32) {
        return keccak256(abi.encode(router, requestId));
    }

    function _setSequencer(address sequencer_) internal {
        emit SequencerSet(sequencer, sequencer_);
        sequencer = sequencer_;
    }

    function _setSlashParams(uint16 slashBps_, uint16 rewardBps_) internal {
        if (slashBps_ == 0 || slashBps_ > 10_000 || rewardBps_ > MAX_REWARD_BPS) {
            revert InvalidSlashParams(slashBps_, rewardBps_);
        }
        slashBps = slashBps_;
        rewardBps = rewardBps_;
        emit SlashParamsSet(slashBps_, rewardBps_);
    }
}
