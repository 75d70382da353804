// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

import {RoutingSettlement} from "../src/RoutingSettlement.sol";
import {IRoutingSettlement, Inclusion, RegistryEvidence} from "../src/interfaces/IRoutingSettlement.sol";
import {IStaking} from "../src/interfaces/IStaking.sol";
import {InvalidPayload} from "../src/libraries/BatchPayload.sol";
import {RoutingCheck} from "../src/libraries/RoutingCheck.sol";
import {Attempt, BatchHeader, ProviderEntry, RoutingDecision, RoutingHash} from "../src/libraries/RoutingHash.sol";
import {PayloadBuilder} from "./utils/PayloadBuilder.sol";
import {RoutingFixture} from "./utils/RoutingFixture.sol";
import {RoutingPolicy} from "./utils/RoutingPolicy.sol";
import {SettlementBase} from "./utils/SettlementBase.sol";

/// Unit tests of every external function of `RoutingSettlement`, with the real `Staking` and
/// `RoutingStakeToken`, canonical payloads from `PayloadBuilder` and honest decisions from
/// `RoutingPolicy` (the Rust policy ported to Solidity).
contract RoutingSettlementTest is SettlementBase {
    uint8 internal constant SUCCESS = RoutingPolicy.SUCCESS;
    uint8 internal constant TIMEOUT = RoutingPolicy.TIMEOUT;
    uint256 internal constant SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;

    // Byte offsets in the payload of `_simple()`: one chat decision, a timeout then a success, so
    // a table of 3 addresses (router, two providers) and every flag set.
    uint256 internal constant D0 = 5 + 3 * 20 + 2;
    uint256 internal constant OFF_COUNT = D0 - 2;
    uint256 internal constant OFF_FLAGS = D0 + 32;
    uint256 internal constant OFF_SUBMIT = D0 + 37;
    uint256 internal constant OFF_DELTA = D0 + 45;
    uint256 internal constant OFF_ATTEMPT_COUNT = D0 + 50;
    uint256 internal constant OFF_ATTEMPT0 = D0 + 51;
    uint256 internal constant OFF_TRIGGER = D0 + 51 + 16;
    uint256 internal constant OFF_RESOLUTION = OFF_TRIGGER + 1;
    uint256 internal constant OFF_BUDGET = OFF_TRIGGER + 2;
    uint256 internal constant OFF_ROUTER = OFF_BUDGET + 4;
    uint256 internal constant OFF_SIGNATURE = OFF_ROUTER + 2;
    uint256 internal constant SIMPLE_LEN = OFF_SIGNATURE + 64;

    /// @dev One committed misrouting case: the decision, the evidence that proves it, the verdict.
    struct OffenceCase {
        RoutingDecision d;
        address[] wanted;
        bool full;
        uint8 code;
        uint8 attempt;
    }

    // ================================================================ helpers

    /// @dev The `_simple` batch: one chat decision of router 0 (timeout at the best tier-0
    ///      provider, success at the second), its header as the next batch and its payload.
    function _simple() internal view returns (RoutingDecision[] memory ds, BatchHeader memory h, bytes memory payload) {
        ds = _ds(_honestChat(keccak256("simple"), routers[0], _o(TIMEOUT)));
        h = _nextHeader(ds);
        payload = _payload(h, ds);
    }

    /// @dev Overwrites `width` bytes of `b` at `off` with `value`, big-endian.
    function _patch(bytes memory b, uint256 off, uint256 value, uint256 width) internal pure {
        for (uint256 i; i < width; ++i) {
            // forge-lint: disable-next-line(unsafe-typecast)
            b[off + i] = bytes1(uint8(value >> (8 * (width - 1 - i))));
        }
    }

    /// @dev The first `len` bytes of `b`.
    function _prefix(bytes memory b, uint256 len) internal pure returns (bytes memory out) {
        out = new bytes(len);
        for (uint256 i; i < len; ++i) {
            out[i] = b[i];
        }
    }

    /// @dev Expects `commitBatch(h, payload)` by the sequencer to revert `InvalidPayload(offset)`.
    function _expectInvalidPayload(BatchHeader memory h, bytes memory payload, uint256 offset) internal {
        vm.prank(sequencer);
        vm.expectRevert(abi.encodeWithSelector(InvalidPayload.selector, offset));
        settlement.commitBatch(h, payload);
    }

    /// @dev The best and second-best tier-0 chat providers for request `id`.
    function _bestTwo(bytes32 id) internal view returns (address best, address second) {
        RoutingDecision memory d = _honestChat(id, routers[0], _o(TIMEOUT));
        assertEq(d.attempts.length, 2);
        assertEq(d.attempts[1].tier, 0);
        return (d.attempts[0].provider, d.attempts[1].provider);
    }

    /// @dev A chat decision that attempts again after a success (AttemptAfterServed at 1).
    function _attemptAfterServed(bytes32 id, address router) internal view returns (RoutingDecision memory d) {
        d = _honestChat(id, router, _o(TIMEOUT));
        d.attempts[0].outcome = SUCCESS;
    }

    /// @dev Challenges `inc` with `ev` as `caller`, expecting offence `code` at `attempt`, and
    ///      checks everything a slash changes: the event, the return value, the router's stake,
    ///      the challenger's reward, the treasury's share, the jail and the offence record.
    function _challengeAndCheck(
        Inclusion memory inc,
        RegistryEvidence memory ev,
        address caller,
        uint8 code,
        uint8 attempt
    ) internal returns (uint256 slashed) {
        address router = inc.decision.router;
        bytes32 leaf = RoutingHash.leaf(inc.decision);
        uint256 stakeBefore = _stakeOf(router);
        (uint256 expSlash, uint256 expReward) = _expectedSlash(router, caller);
        uint256 callerBefore = token.balanceOf(caller);
        uint256 treasuryBefore = token.balanceOf(treasury);
        assertFalse(settlement.misroutingSlashed(leaf));

        vm.expectEmit(address(settlement));
        emit IRoutingSettlement.MisroutingProven(
            _hash(inc.header), leaf, router, code, attempt, caller, expSlash, expReward
        );
        vm.prank(caller);
        slashed = settlement.challengeMisrouting(inc, ev);

        assertEq(slashed, expSlash, "slashed");
        assertEq(_stakeOf(router), stakeBefore - expSlash, "stake after");
        assertEq(token.balanceOf(caller) - callerBefore, expReward, "reward");
        assertEq(token.balanceOf(treasury) - treasuryBefore, expSlash - expReward, "treasury");
        assertTrue(staking.jailed(router), "jailed");
        assertTrue(settlement.misroutingSlashed(leaf), "recorded");
    }

    /// @dev The EIP-712 digest of `d`, computed from the type strings without RoutingHash.
    function _manualDigest(RoutingDecision memory d) internal view returns (bytes32) {
        bytes32 attemptTypehash = keccak256("Attempt(address provider,uint8 tier,uint8 outcome,uint32 latencyMs)");
        bytes memory attemptHashes;
        for (uint256 i; i < d.attempts.length; ++i) {
            Attempt memory a = d.attempts[i];
            attemptHashes = bytes.concat(
                attemptHashes,
                keccak256(
                    abi.encode(attemptTypehash, a.provider, uint256(a.tier), uint256(a.outcome), uint256(a.latencyMs))
                )
            );
        }
        bytes32[] memory w = new bytes32[](15);
        w[0] = keccak256(
            "RoutingDecision(bytes32 requestId,uint32 modelClass,uint64 submitMs,uint64 deadlineMs,uint8 retryBudget,Attempt[] attempts,address finalProvider,uint8 finalTier,uint8 retryCount,uint8 trigger,uint8 resolution,uint64 registryEpoch,uint32 budgetTokens,address router)Attempt(address provider,uint8 tier,uint8 outcome,uint32 latencyMs)"
        );
        w[1] = d.requestId;
        w[2] = bytes32(uint256(d.modelClass));
        w[3] = bytes32(uint256(d.submitMs));
        w[4] = bytes32(uint256(d.deadlineMs));
        w[5] = bytes32(uint256(d.retryBudget));
        w[6] = keccak256(attemptHashes);
        w[7] = bytes32(uint256(uint160(d.finalProvider)));
        w[8] = bytes32(uint256(d.finalTier));
        w[9] = bytes32(uint256(d.retryCount));
        w[10] = bytes32(uint256(d.trigger));
        w[11] = bytes32(uint256(d.resolution));
        w[12] = bytes32(uint256(d.registryEpoch));
        w[13] = bytes32(uint256(d.budgetTokens));
        w[14] = bytes32(uint256(uint160(d.router)));
        bytes32 structHash = keccak256(abi.encodePacked(w));
        return keccak256(abi.encodePacked(hex"1901", _manualDomainSeparator(), structHash));
    }

    function _manualDomainSeparator() internal view returns (bytes32) {
        return keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256("RoutingSettlement"),
                keccak256("1"),
                block.chainid,
                address(settlement)
            )
        );
    }

    // ================================================================ constructor

    function test_constructor_setsParameters_succeeds() public view {
        assertEq(address(settlement.staking()), address(staking));
        assertEq(staking.settlement(), address(settlement));
        assertEq(settlement.sequencer(), sequencer);
        assertEq(settlement.owner(), owner);
        assertEq(settlement.slashBps(), SLASH_BPS);
        assertEq(settlement.rewardBps(), REWARD_BPS);
        assertEq(settlement.MAX_REWARD_BPS(), 5_000);
        assertEq(settlement.lastBatchId(), 0);
        assertEq(settlement.lastHeaderHash(), bytes32(0));
        assertEq(settlement.challengeWindow(), CHALLENGE_WINDOW);
    }

    function test_constructor_emitsEvents_succeeds() public {
        address next = vm.computeCreateAddress(address(this), vm.getNonce(address(this)));
        vm.expectEmit(next);
        emit Ownable.OwnershipTransferred(address(0), owner);
        vm.expectEmit(next);
        emit IRoutingSettlement.SequencerSet(address(0), sequencer);
        vm.expectEmit(next);
        emit IRoutingSettlement.SlashParamsSet(10_000, 5_000);
        RoutingSettlement s = new RoutingSettlement(staking, sequencer, owner, 10_000, 5_000);
        assertEq(address(s), next);
        assertEq(s.slashBps(), 10_000);
        assertEq(s.rewardBps(), 5_000);
    }

    function test_constructor_zeroStaking_reverts() public {
        vm.expectRevert(IRoutingSettlement.ZeroAddress.selector);
        new RoutingSettlement(IStaking(address(0)), sequencer, owner, SLASH_BPS, REWARD_BPS);
    }

    function test_constructor_zeroSequencer_reverts() public {
        vm.expectRevert(IRoutingSettlement.ZeroAddress.selector);
        new RoutingSettlement(staking, address(0), owner, SLASH_BPS, REWARD_BPS);
    }

    function test_constructor_zeroOwner_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableInvalidOwner.selector, address(0)));
        new RoutingSettlement(staking, sequencer, address(0), SLASH_BPS, REWARD_BPS);
    }

    function test_constructor_zeroSlashBps_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IRoutingSettlement.InvalidSlashParams.selector, uint16(0), REWARD_BPS));
        new RoutingSettlement(staking, sequencer, owner, 0, REWARD_BPS);
    }

    function test_constructor_slashBpsAboveAll_reverts() public {
        vm.expectRevert(
            abi.encodeWithSelector(IRoutingSettlement.InvalidSlashParams.selector, uint16(10_001), REWARD_BPS)
        );
        new RoutingSettlement(staking, sequencer, owner, 10_001, REWARD_BPS);
    }

    function test_constructor_rewardBpsAboveHalf_reverts() public {
        vm.expectRevert(
            abi.encodeWithSelector(IRoutingSettlement.InvalidSlashParams.selector, SLASH_BPS, uint16(5_001))
        );
        new RoutingSettlement(staking, sequencer, owner, SLASH_BPS, 5_001);
    }

    // ================================================================ commitBatch: success

    function test_commitBatch_validBatch_succeeds() public {
        vm.roll(4_242);
        RoutingDecision[] memory ds =
            _ds(_honestChat(keccak256("r1"), routers[0], _o(TIMEOUT)), _honestChat(keccak256("r2"), routers[1], _o()));
        BatchHeader memory h = _nextHeader(ds);
        assertEq(h.batchId, 1);
        bytes32 expectedHash = keccak256(abi.encode(h));

        bytes memory payload = _payload(h, ds);

        vm.expectEmit(address(settlement));
        emit IRoutingSettlement.BatchCommitted(1, expectedHash, bytes32(0), h.decisionsRoot, h.registryRoot, 2);
        vm.prank(sequencer);
        bytes32 headerHash = settlement.commitBatch(h, payload);

        assertEq(headerHash, expectedHash);
        assertEq(settlement.lastBatchId(), 1);
        assertEq(settlement.lastHeaderHash(), expectedHash);
        (uint64 batchId, uint64 committedAt, uint64 l2Block) = settlement.batch(headerHash);
        assertEq(batchId, 1);
        assertEq(committedAt, vm.getBlockTimestamp());
        assertEq(l2Block, 4_242);
        assertEq(staking.lastActivityAt(routers[0]), vm.getBlockTimestamp());
        assertEq(staking.lastActivityAt(routers[1]), vm.getBlockTimestamp());
        assertEq(staking.lastActivityAt(routers[2]), 0, "a router not in the batch is not locked");
        assertFalse(settlement.isFinal(headerHash));
    }

    function test_commitBatch_chainsHeaders_succeeds() public {
        BatchHeader memory h1 = _commit(_ds(_honestChat(keccak256("a"), routers[0], _o())));
        uint256 t1 = vm.getBlockTimestamp();
        skip(1 hours);
        RoutingDecision[] memory ds2 = _ds(_honestChat(keccak256("b"), routers[1], _o()));
        BatchHeader memory h2 = _nextHeader(ds2);
        assertEq(h2.batchId, 2);
        assertEq(h2.prevHash, _hash(h1));

        bytes memory payload = _payload(h2, ds2);

        vm.expectEmit(address(settlement));
        emit IRoutingSettlement.BatchCommitted(2, _hash(h2), _hash(h1), h2.decisionsRoot, h2.registryRoot, 1);
        vm.prank(sequencer);
        settlement.commitBatch(h2, payload);

        assertEq(settlement.lastBatchId(), 2);
        assertEq(settlement.lastHeaderHash(), _hash(h2));
        (uint64 id1,,) = settlement.batch(_hash(h1));
        assertEq(id1, 1);
        assertEq(staking.lastActivityAt(routers[0]), t1);
        assertEq(staking.lastActivityAt(routers[1]), vm.getBlockTimestamp());
    }

    function test_commitBatch_nonCanonicalPayload_succeeds() public {
        // Every field written out in full (no flag) decodes to the same decisions: same root.
        RoutingDecision[] memory ds = _ds(
            _honestChat(keccak256("full"), routers[0], _o(TIMEOUT, TIMEOUT)),
            _honestChat(keccak256("full2"), routers[1], _o())
        );
        BatchHeader memory h = _nextHeader(ds);
        bytes memory canonical = PayloadBuilder.encode(h.batchId, ds, _signAll(ds));
        bytes memory plain = PayloadBuilder.encodeMasked(h.batchId, ds, _signAll(ds), 0);
        assertEq(plain.length, canonical.length + 2 * (4 + 4 + 8), "summary, 8-byte deadline, epoch");
        vm.prank(sequencer);
        settlement.commitBatch(h, plain);
        assertEq(settlement.lastHeaderHash(), _hash(h));
    }

    function test_commitBatch_sixteenAttempts_succeeds() public {
        RoutingDecision memory d = _honestChat(keccak256("long"), routers[0], _o());
        d.attempts = new Attempt[](16);
        for (uint256 k; k < 16; ++k) {
            // forge-lint: disable-next-line(unsafe-typecast)
            d.attempts[k] = _attempt(RoutingFixture.addr(vm.toString(k)), 0, TIMEOUT, uint32(10 + k));
        }
        _fixSummary(d);
        BatchHeader memory h = _commit(_ds(d));
        assertEq(settlement.lastHeaderHash(), _hash(h));
    }

    function test_commitBatch_relativeDeadlineAtMaximum_succeeds() public {
        RoutingDecision memory d = _honestChat(keccak256("edge"), routers[0], _o());
        d.submitMs = type(uint64).max - 10;
        d.deadlineMs = type(uint64).max;
        RoutingDecision[] memory ds = _ds(d);
        BatchHeader memory h = _nextHeader(ds);
        bytes memory payload = _payload(h, ds);
        assertEq(
            uint8(payload[5 + 2 * 20 + 2 + 32]) & PayloadBuilder.DEADLINE_RELATIVE, PayloadBuilder.DEADLINE_RELATIVE
        );
        vm.prank(sequencer);
        settlement.commitBatch(h, payload);
        assertEq(settlement.lastHeaderHash(), _hash(h));
    }

    /// Gas of a realistic 1,200-decision batch: two routers, the nine-provider registry, 1-3
    /// attempts (retry budget 1), retry tokens carried from decision to decision like the Rust
    /// router does. Recorded with `snapshotGasLastCall` (execution gas of the call).
    function test_commitBatch_1200Decisions_succeeds() public {
        uint256 n = 1_200;
        RoutingDecision[] memory ds = new RoutingDecision[](n);
        ProviderEntry[] memory ps = RoutingFixture.providers();
        uint32[2] memory tokens = [RoutingFixture.TOKEN_MAX, RoutingFixture.TOKEN_MAX];
        uint256 attempts;
        for (uint256 i; i < n; ++i) {
            uint256 rnd = uint256(keccak256(abi.encode("bulk", i)));
            uint8[] memory outcomes = new uint8[](3);
            uint32[] memory latencies = new uint32[](3);
            for (uint256 k; k < 3; ++k) {
                uint256 x = (rnd >> (16 * k)) & 0xffff;
                // 85% success; failures spread over timeout, provider error, overloaded.
                // forge-lint: disable-next-line(unsafe-typecast)
                outcomes[k] = x % 100 < 85 ? SUCCESS : [TIMEOUT, 2, 4][x % 3];
                // forge-lint: disable-next-line(unsafe-typecast)
                latencies[k] = uint32(150 + (rnd >> (64 + 32 * k)) % 2_850);
            }
            RoutingPolicy.Request memory r = RoutingPolicy.Request({
                id: keccak256(abi.encode("request", i)),
                modelClass: i % 5 == 4 ? RoutingFixture.CLASS_CODE : RoutingFixture.CLASS_CHAT,
                // forge-lint: disable-next-line(unsafe-typecast)
                submitMs: SUBMIT_MS + uint64(i) * 40,
                // forge-lint: disable-next-line(unsafe-typecast)
                deadlineMs: SUBMIT_MS + uint64(i) * 40 + DEADLINE_MS,
                retryBudget: 1
            });
            ds[i] = RoutingPolicy.route(
                r,
                RoutingFixture.params(1),
                ps,
                routers[i % 2],
                tokens[i % 2],
                RoutingPolicy.Oracle({outcomes: outcomes, latencies: latencies})
            );
            tokens[i % 2] = RoutingPolicy.tokensAfter(ds[i], RoutingFixture.params(1));
            attempts += ds[i].attempts.length;
            assertTrue(ds[i].attempts.length >= 1 && ds[i].attempts.length <= 3);
        }
        BatchHeader memory h = _nextHeader(ds);
        bytes memory payload = _payload(h, ds);
        bytes memory callData = abi.encodeCall(settlement.commitBatch, (h, payload));

        vm.prank(sequencer);
        settlement.commitBatch(h, payload);
        uint256 gasUsed = vm.snapshotGasLastCall("commitBatch_1200");

        assertEq(settlement.lastHeaderHash(), _hash(h));
        assertEq(staking.lastActivityAt(routers[0]), vm.getBlockTimestamp());
        assertEq(staking.lastActivityAt(routers[1]), vm.getBlockTimestamp());
        uint256 zeros;
        for (uint256 i; i < callData.length; ++i) {
            if (callData[i] == 0) ++zeros;
        }
        uint256 floorTokens = zeros + 4 * (callData.length - zeros);
        emit log_named_uint("decisions", n);
        emit log_named_uint("attempts", attempts);
        emit log_named_uint("payload bytes", payload.length);
        emit log_named_uint("calldata bytes", callData.length);
        emit log_named_uint("execution gas", gasUsed);
        emit log_named_uint("EIP-7623 floor gas (21000 + 10/token)", 21_000 + 10 * floorTokens);
        emit log_named_uint("standard gas (21000 + 4/token + execution)", 21_000 + 4 * floorTokens + gasUsed);
    }

    // ================================================================ commitBatch: access and chaining

    function test_commitBatch_notSequencer_reverts() public {
        (, BatchHeader memory h, bytes memory payload) = _simple();
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(IRoutingSettlement.NotSequencer.selector, owner));
        settlement.commitBatch(h, payload);
    }

    function test_commitBatch_batchIdSkipped_reverts() public {
        (, BatchHeader memory h, bytes memory payload) = _simple();
        h.batchId = 2;
        vm.prank(sequencer);
        vm.expectRevert(abi.encodeWithSelector(IRoutingSettlement.BatchOutOfOrder.selector, uint64(1), uint64(2)));
        settlement.commitBatch(h, payload);
    }

    function test_commitBatch_batchReplayed_reverts() public {
        (, BatchHeader memory h, bytes memory payload) = _simple();
        vm.prank(sequencer);
        settlement.commitBatch(h, payload);
        vm.prank(sequencer);
        vm.expectRevert(abi.encodeWithSelector(IRoutingSettlement.BatchOutOfOrder.selector, uint64(2), uint64(1)));
        settlement.commitBatch(h, payload);
    }

    function test_commitBatch_prevHashMismatch_reverts() public {
        (, BatchHeader memory h, bytes memory payload) = _simple();
        h.prevHash = keccak256("not the genesis");
        vm.prank(sequencer);
        vm.expectRevert(
            abi.encodeWithSelector(
                IRoutingSettlement.PrevHashMismatch.selector, bytes32(0), keccak256("not the genesis")
            )
        );
        settlement.commitBatch(h, payload);
    }

    function test_commitBatch_prevHashOfOlderBatch_reverts() public {
        BatchHeader memory h1 = _commit(_ds(_honestChat(keccak256("a"), routers[0], _o())));
        BatchHeader memory h2 = _commit(_ds(_honestChat(keccak256("b"), routers[0], _o())));
        (RoutingDecision[] memory ds, BatchHeader memory h3,) = _simple();
        h3.prevHash = _hash(h1);
        bytes memory payload = _payload(h3, ds);
        vm.prank(sequencer);
        vm.expectRevert(abi.encodeWithSelector(IRoutingSettlement.PrevHashMismatch.selector, _hash(h2), _hash(h1)));
        settlement.commitBatch(h3, payload);
    }

    function test_commitBatch_countMismatch_reverts() public {
        (, BatchHeader memory h, bytes memory payload) = _simple();
        h.count = 2;
        vm.prank(sequencer);
        vm.expectRevert(abi.encodeWithSelector(IRoutingSettlement.CountMismatch.selector, uint32(2), uint256(1)));
        settlement.commitBatch(h, payload);
    }

    function test_commitBatch_rootMismatch_reverts() public {
        (, BatchHeader memory h, bytes memory payload) = _simple();
        bytes32 good = h.decisionsRoot;
        h.decisionsRoot = keccak256("forged");
        vm.prank(sequencer);
        vm.expectRevert(abi.encodeWithSelector(IRoutingSettlement.RootMismatch.selector, keccak256("forged"), good));
        settlement.commitBatch(h, payload);
    }

    function test_commitBatch_payloadOfOtherBatchId_reverts() public {
        // EPOCH_IS_BATCH decodes the epoch from the header: the same bytes under another id
        // are other decisions.
        (RoutingDecision[] memory ds, BatchHeader memory h1, bytes memory payload) = _simple();
        _commit(_ds(_honestChat(keccak256("first"), routers[1], _o())));
        BatchHeader memory h2 = _nextHeader(ds);
        assertEq(h2.decisionsRoot, h1.decisionsRoot);
        RoutingDecision memory asDecoded = _copy(ds[0]);
        asDecoded.registryEpoch = 2;
        vm.prank(sequencer);
        vm.expectRevert(
            abi.encodeWithSelector(
                IRoutingSettlement.RootMismatch.selector, h2.decisionsRoot, RoutingHash.leaf(asDecoded)
            )
        );
        settlement.commitBatch(h2, payload);
    }

    // ================================================================ commitBatch: malformed payloads

    function test_invalidPayload_selector_succeeds() public pure {
        assertEq(InvalidPayload.selector, bytes4(keccak256("InvalidPayload(uint256)")));
        assertEq(InvalidPayload.selector, bytes4(0x0de42f81), "the selector BatchPayload's assembly reverts with");
        assertEq(IRoutingSettlement.InvalidPayload.selector, InvalidPayload.selector, "declared in the ABI");
    }

    /// The offsets the malformed-payload tests patch are where the format puts the fields.
    function test_simplePayload_layout_succeeds() public view {
        (RoutingDecision[] memory ds, BatchHeader memory h, bytes memory payload) = _simple();
        RoutingDecision memory d = ds[0];
        assertEq(payload.length, SIMPLE_LEN);
        assertEq(uint8(payload[0]), 1, "version");
        assertEq(uint16(bytes2(abi.encodePacked(payload[1], payload[2]))), 1, "routerCount");
        assertEq(uint16(bytes2(abi.encodePacked(payload[3], payload[4]))), 3, "addressCount");
        assertEq(uint16(bytes2(abi.encodePacked(payload[OFF_COUNT], payload[OFF_COUNT + 1]))), 1, "count");
        assertEq(uint8(payload[OFF_FLAGS]), 7, "every flag");
        assertEq(uint8(payload[OFF_ATTEMPT_COUNT]), 2, "attemptCount");
        assertEq(uint8(payload[OFF_ATTEMPT0 + 2]), 0, "tier of attempt 0");
        assertEq(uint8(payload[OFF_ATTEMPT0 + 3]), TIMEOUT, "outcome of attempt 0");
        assertEq(uint8(payload[OFF_TRIGGER]), d.trigger);
        assertEq(uint8(payload[OFF_RESOLUTION]), RoutingPolicy.SERVED);
        assertEq(uint8(payload[OFF_ROUTER + 1]), 0, "router index");
        bytes32 requestId;
        bytes32 r;
        address tableRouter;
        (uint256 d0, uint256 sigAt) = (D0, OFF_SIGNATURE);
        assembly ("memory-safe") {
            requestId := mload(add(add(payload, 0x20), d0))
            r := mload(add(add(payload, 0x20), sigAt))
            tableRouter := shr(96, mload(add(payload, 0x25)))
        }
        assertEq(requestId, d.requestId);
        assertEq(tableRouter, d.router);
        assertEq(r, bytes32(_sign(d)), "r of the signature");
        assertEq(h.count, 1);
    }

    function test_commitBatch_wrongVersion_reverts() public {
        (, BatchHeader memory h, bytes memory payload) = _simple();
        payload[0] = 0x02;
        _expectInvalidPayload(h, payload, 0);
        payload[0] = 0x00;
        _expectInvalidPayload(h, payload, 0);
    }

    function test_commitBatch_routerCountAboveAddressCount_reverts() public {
        (, BatchHeader memory h, bytes memory payload) = _simple();
        _patch(payload, 1, 4, 2);
        _expectInvalidPayload(h, payload, 1);
    }

    function test_commitBatch_zeroDecisions_reverts() public {
        (, BatchHeader memory h, bytes memory payload) = _simple();
        _patch(payload, OFF_COUNT, 0, 2);
        _expectInvalidPayload(h, payload, OFF_COUNT);
    }

    function test_commitBatch_tooManyDecisions_reverts() public {
        (, BatchHeader memory h, bytes memory payload) = _simple();
        _patch(payload, OFF_COUNT, 10_001, 2);
        _expectInvalidPayload(h, payload, OFF_COUNT);
    }

    function test_commitBatch_truncatedSignature_reverts() public {
        (, BatchHeader memory h, bytes memory payload) = _simple();
        _expectInvalidPayload(h, _prefix(payload, SIMPLE_LEN - 1), SIMPLE_LEN - 1);
    }

    function test_commitBatch_truncatedDecision_reverts() public {
        (, BatchHeader memory h, bytes memory payload) = _simple();
        _expectInvalidPayload(h, _prefix(payload, OFF_TRIGGER), OFF_TRIGGER);
    }

    function test_commitBatch_truncatedTable_reverts() public {
        (, BatchHeader memory h, bytes memory payload) = _simple();
        _expectInvalidPayload(h, _prefix(payload, 30), 30);
    }

    function test_commitBatch_truncatedHeader_reverts() public {
        (, BatchHeader memory h, bytes memory payload) = _simple();
        _expectInvalidPayload(h, _prefix(payload, 4), 4);
        _expectInvalidPayload(h, "", 0);
    }

    function test_commitBatch_countAboveDecisions_reverts() public {
        (, BatchHeader memory h, bytes memory payload) = _simple();
        _patch(payload, OFF_COUNT, 2, 2);
        _expectInvalidPayload(h, payload, SIMPLE_LEN);
    }

    function test_commitBatch_trailingBytes_reverts() public {
        (, BatchHeader memory h, bytes memory payload) = _simple();
        _expectInvalidPayload(h, bytes.concat(payload, hex"00"), SIMPLE_LEN);
        _expectInvalidPayload(h, bytes.concat(payload, bytes32(uint256(1))), SIMPLE_LEN);
    }

    function test_commitBatch_reservedFlagBits_reverts() public {
        (, BatchHeader memory h, bytes memory payload) = _simple();
        payload[OFF_FLAGS] = 0x0f;
        _expectInvalidPayload(h, payload, OFF_FLAGS);
        payload[OFF_FLAGS] = 0x87;
        _expectInvalidPayload(h, payload, OFF_FLAGS);
    }

    function test_commitBatch_seventeenAttempts_reverts() public {
        RoutingDecision memory d = _honestChat(keccak256("long"), routers[0], _o());
        d.attempts = new Attempt[](17);
        for (uint256 k; k < 17; ++k) {
            d.attempts[k] = _attempt(RoutingFixture.addr("p"), 0, TIMEOUT, 10);
        }
        _fixSummary(d);
        RoutingDecision[] memory ds = _ds(d);
        BatchHeader memory h = _nextHeader(ds);
        // Table: router and one provider.
        _expectInvalidPayload(h, _payload(h, ds), 5 + 2 * 20 + 2 + 50);
    }

    function test_commitBatch_attemptCountPatchedTo17_reverts() public {
        (, BatchHeader memory h, bytes memory payload) = _simple();
        payload[OFF_ATTEMPT_COUNT] = bytes1(uint8(17));
        _expectInvalidPayload(h, payload, OFF_ATTEMPT_COUNT);
    }

    function test_commitBatch_outcomeOutOfRange_reverts() public {
        (, BatchHeader memory h, bytes memory payload) = _simple();
        payload[OFF_ATTEMPT0 + 3] = bytes1(uint8(6));
        _expectInvalidPayload(h, payload, OFF_ATTEMPT0 + 3);
        // The second attempt's outcome too.
        (, h, payload) = _simple();
        payload[OFF_ATTEMPT0 + 8 + 3] = bytes1(uint8(0xff));
        _expectInvalidPayload(h, payload, OFF_ATTEMPT0 + 8 + 3);
    }

    function test_commitBatch_triggerOutOfRange_reverts() public {
        (, BatchHeader memory h, bytes memory payload) = _simple();
        payload[OFF_TRIGGER] = bytes1(uint8(5));
        _expectInvalidPayload(h, payload, OFF_TRIGGER);
    }

    function test_commitBatch_resolutionOutOfRange_reverts() public {
        (, BatchHeader memory h, bytes memory payload) = _simple();
        payload[OFF_RESOLUTION] = bytes1(uint8(4));
        _expectInvalidPayload(h, payload, OFF_RESOLUTION);
    }

    function test_commitBatch_providerIndexOutOfRange_reverts() public {
        (, BatchHeader memory h, bytes memory payload) = _simple();
        _patch(payload, OFF_ATTEMPT0, 3, 2);
        _expectInvalidPayload(h, payload, OFF_ATTEMPT0);
        (, h, payload) = _simple();
        _patch(payload, OFF_ATTEMPT0 + 8, 0xffff, 2);
        _expectInvalidPayload(h, payload, OFF_ATTEMPT0 + 8);
    }

    function test_commitBatch_finalProviderIndexOutOfRange_reverts() public {
        // Without SUMMARY_DERIVED the summary (final provider index, tier, retry count) follows
        // the attempts.
        (RoutingDecision[] memory ds, BatchHeader memory h,) = _simple();
        bytes memory payload = PayloadBuilder.encodeMasked(h.batchId, ds, _signAll(ds), 0x06);
        assertEq(payload.length, SIMPLE_LEN + 4);
        _patch(payload, OFF_TRIGGER, 3, 2);
        _expectInvalidPayload(h, payload, OFF_TRIGGER);
    }

    function test_commitBatch_routerIndexNotARouter_reverts() public {
        // Index 1 is a valid address (a provider), but not in the router part of the table.
        (, BatchHeader memory h, bytes memory payload) = _simple();
        _patch(payload, OFF_ROUTER, 1, 2);
        _expectInvalidPayload(h, payload, OFF_ROUTER);
    }

    function test_commitBatch_zeroRouters_reverts() public {
        (, BatchHeader memory h, bytes memory payload) = _simple();
        _patch(payload, 1, 0, 2);
        _expectInvalidPayload(h, payload, OFF_ROUTER);
    }

    function test_commitBatch_relativeDeadlineOverflow_reverts() public {
        RoutingDecision memory d = _honestChat(keccak256("edge"), routers[0], _o(TIMEOUT));
        d.submitMs = type(uint64).max - 10;
        d.deadlineMs = type(uint64).max;
        RoutingDecision[] memory ds = _ds(d);
        BatchHeader memory h = _nextHeader(ds);
        bytes memory payload = _payload(h, ds);
        assertEq(uint8(payload[OFF_FLAGS]), 7);
        _patch(payload, OFF_DELTA, 11, 4);
        _expectInvalidPayload(h, payload, OFF_DELTA);
    }

    // ================================================================ challengeMisrouting: offences

    function test_challengeMisrouting_unjustifiedFallback_succeeds() public {
        // A lazy router goes straight to the fallback tier while a tier-0 provider is eligible.
        RoutingDecision memory d = _honestChat(keccak256("lazy"), routers[0], _o());
        address fallbackProvider = RoutingFixture.addr("chat-fb1");
        d.attempts[0] = _attempt(fallbackProvider, RoutingFixture.FALLBACK_TIER, SUCCESS, 900);
        d.trigger = RoutingPolicy.TRIGGER_NO_PRIMARY;
        _fixSummary(d);
        Inclusion memory inc = _commitOne(d);
        RegistryEvidence memory ev = _evidence(1, _addrs(fallbackProvider, RoutingFixture.addr("chat-c")));
        assertEq(ev.entries.length, 2);

        uint256 slashed = _challengeAndCheck(inc, ev, challenger, RoutingCheck.UNJUSTIFIED_FALLBACK, 0);

        assertEq(slashed, ROUTER_STAKE * SLASH_BPS / 10_000);
        assertEq(slashed, 100e18);
        assertEq(token.balanceOf(challenger), 20e18, "reward = slash * rewardBps / 1e4");
        assertEq(token.balanceOf(treasury), 80e18);
        assertEq(_stakeOf(routers[0]), 900e18);
        assertEq(staking.totalStaked(), token.balanceOf(address(staking)));
        assertFalse(staking.isActive(routers[0]));
    }

    function test_challengeMisrouting_attemptAfterServed_succeeds() public {
        Inclusion memory inc = _commitOne(_attemptAfterServed(keccak256("twice"), routers[1]));
        // Decidable from the decision alone: the parameter record is all the evidence needed.
        _challengeAndCheck(inc, _paramsOnly(1), challenger, RoutingCheck.ATTEMPT_AFTER_SERVED, 1);
    }

    function test_challengeMisrouting_retryBudgetExceeded_succeeds() public {
        RoutingDecision memory d = _honestChat(keccak256("greedy"), routers[2], _o(TIMEOUT));
        d.retryBudget = 0; // one primary attempt allowed; the second is a primary retry
        Inclusion memory inc = _commitOne(d);
        _challengeAndCheck(inc, _paramsOnly(1), challenger, RoutingCheck.RETRY_BUDGET_EXCEEDED, 1);
    }

    function test_challengeMisrouting_wrongProvider_succeeds() public {
        bytes32 id = keccak256("wrong");
        (address best, address second) = _bestTwo(id);
        RoutingDecision memory d = _honestChat(id, routers[3], _o());
        d.attempts[0].provider = second;
        _fixSummary(d);
        Inclusion memory inc = _commitOne(d);
        _challengeAndCheck(inc, _evidence(1, _addrs(second, best)), challenger, RoutingCheck.WRONG_PROVIDER, 0);
    }

    function test_challengeMisrouting_summaryMismatch_succeeds() public {
        RoutingDecision memory d = _honestChat(keccak256("summary"), routers[0], _o(TIMEOUT));
        d.retryCount = 0;
        Inclusion memory inc = _commitOne(d);
        _challengeAndCheck(inc, _paramsOnly(1), challenger, RoutingCheck.SUMMARY_MISMATCH, 2);
    }

    function test_challengeMisrouting_unknownProviderCompleteEvidence_succeeds() public {
        RoutingDecision memory d = _honestChat(keccak256("rogue"), routers[0], _o());
        d.attempts[0].provider = RoutingFixture.addr("rogue");
        _fixSummary(d);
        Inclusion memory inc = _commitOne(d);
        RegistryEvidence memory ev = _fullEvidence(1);
        assertEq(ev.entries.length, ev.params.providerCount);
        _challengeAndCheck(inc, ev, challenger, RoutingCheck.UNKNOWN_PROVIDER, 0);
    }

    function test_challengeMisrouting_unknownProviderPartialEvidence_reverts() public {
        // Without every entry, an unregistered provider cannot be told from an unshown one.
        RoutingDecision memory d = _honestChat(keccak256("rogue"), routers[0], _o());
        d.attempts[0].provider = RoutingFixture.addr("rogue");
        _fixSummary(d);
        Inclusion memory inc = _commitOne(d);
        RegistryEvidence memory ev = _evidence(1, _addrs(RoutingFixture.addr("chat-fb1")));
        vm.expectRevert(IRoutingSettlement.NoViolation.selector);
        settlement.challengeMisrouting(inc, ev);
    }

    function test_challengeMisrouting_selfChallengeNoReward_succeeds() public {
        Inclusion memory inc = _commitOne(_attemptAfterServed(keccak256("self"), routers[0]));
        uint256 balanceBefore = token.balanceOf(routers[0]);
        uint256 slashed = _challengeAndCheck(inc, _paramsOnly(1), routers[0], RoutingCheck.ATTEMPT_AFTER_SERVED, 1);
        assertEq(slashed, 100e18);
        assertEq(token.balanceOf(routers[0]), balanceBefore, "no reward to the router itself");
        assertEq(token.balanceOf(treasury), slashed, "the whole slash to the treasury");
    }

    function test_challengeMisrouting_pendingStakeIsSlashed_succeeds() public {
        vm.prank(routers[0]);
        staking.requestUnstake(600e18);
        Inclusion memory inc = _commitOne(_attemptAfterServed(keccak256("leaving"), routers[0]));
        _challengeAndCheck(inc, _paramsOnly(1), challenger, RoutingCheck.ATTEMPT_AFTER_SERVED, 1);
        (uint256 active, uint256 pending,) = staking.stakeOf(routers[0]);
        assertEq(active, 300e18, "active first");
        assertEq(pending, 600e18);
    }

    function test_challengeMisrouting_routerWithoutStake_succeeds() public {
        (address poor, uint256 key) = makeAddrAndKey("unstakedRouter");
        keyOf[poor] = key;
        Inclusion memory inc = _commitOne(_attemptAfterServed(keccak256("poor"), poor));
        uint256 slashed = _challengeAndCheck(inc, _paramsOnly(1), challenger, RoutingCheck.ATTEMPT_AFTER_SERVED, 1);
        assertEq(slashed, 0);
        assertEq(token.balanceOf(challenger), 0);
    }

    function test_challengeMisrouting_jailedRouterSlashedAgain_succeeds() public {
        RoutingDecision[] memory ds =
            _ds(_attemptAfterServed(keccak256("one"), routers[0]), _attemptAfterServed(keccak256("two"), routers[0]));
        BatchHeader memory h = _commit(ds);
        _challengeAndCheck(_inclusion(h, ds, 0), _paramsOnly(1), challenger, RoutingCheck.ATTEMPT_AFTER_SERVED, 1);
        uint256 second =
            _challengeAndCheck(_inclusion(h, ds, 1), _paramsOnly(1), challenger, RoutingCheck.ATTEMPT_AFTER_SERVED, 1);
        assertEq(second, 90e18, "10% of what is left");
        assertEq(_stakeOf(routers[0]), 810e18);
    }

    /// @dev Every offence code the check knows, each proven by the least evidence that proves it.
    function _offenceCases(uint64 e) internal view returns (OffenceCase[] memory cs) {
        cs = new OffenceCase[](19);
        address[] memory none = new address[](0);
        for (uint8 c = 1; c <= 19; ++c) {
            bytes32 id = keccak256(abi.encode("offence", c));
            (address best, address second) = _bestTwo(id);
            RoutingDecision memory served = _honest(e, id, RoutingFixture.CLASS_CHAT, routers[c % 4], _o());
            RoutingDecision memory retried = _honest(e, id, RoutingFixture.CLASS_CHAT, routers[c % 4], _o(TIMEOUT));
            OffenceCase memory k = OffenceCase({d: served, wanted: none, full: false, code: c, attempt: 0});
            if (c == RoutingCheck.WRONG_REGISTRY_EPOCH) {
                k.d.registryEpoch = e + 7;
            } else if (c == RoutingCheck.BUDGET_TOKENS_OUT_OF_RANGE) {
                k.d.budgetTokens = RoutingFixture.TOKEN_MAX + 1;
            } else if (c == RoutingCheck.ATTEMPT_AFTER_SERVED) {
                (k.d, k.attempt) = (retried, 1);
                k.d.attempts[0].outcome = SUCCESS;
            } else if (c == RoutingCheck.NON_RETRYABLE_RETRIED) {
                (k.d, k.attempt) = (retried, 1);
                k.d.attempts[0].outcome = RoutingPolicy.REJECTED_TERMINAL;
            } else if (c == RoutingCheck.ATTEMPT_AFTER_FALLBACK) {
                (k.d, k.attempt) = (retried, 1);
                k.d.attempts[0] = _attempt(RoutingFixture.addr("chat-fb2"), RoutingFixture.FALLBACK_TIER, TIMEOUT, 500);
                k.d.trigger = RoutingPolicy.TRIGGER_NO_PRIMARY;
            } else if (c == RoutingCheck.ATTEMPT_AFTER_DEADLINE) {
                (k.d, k.attempt) = (retried, 1);
                // forge-lint: disable-next-line(unsafe-typecast)
                k.d.attempts[0].latencyMs = uint32(DEADLINE_MS);
            } else if (c == RoutingCheck.TIER_BEYOND_FALLBACK) {
                k.d.attempts[0].tier = RoutingFixture.FALLBACK_TIER + 1;
            } else if (c == RoutingCheck.RETRY_BUDGET_EXCEEDED) {
                (k.d, k.attempt) = (retried, 1);
                k.d.retryBudget = 0;
            } else if (c == RoutingCheck.FLEET_BUDGET_EXCEEDED) {
                // 5,500 tokens, minus 1,000 for the timeout: 4,500, at or below half the bucket.
                (k.d, k.attempt) = (retried, 1);
                k.d.budgetTokens = 5_500;
            } else if (c == RoutingCheck.TIER_MISMATCH) {
                k.d.attempts[0].tier = 1;
                k.wanted = _addrs(best);
            } else if (c == RoutingCheck.INELIGIBLE_PROVIDER) {
                k.d.attempts[0].provider = RoutingFixture.addr("code-a"); // another model class
                k.wanted = _addrs(RoutingFixture.addr("code-a"));
            } else if (c == RoutingCheck.UNKNOWN_PROVIDER) {
                k.d.attempts[0].provider = RoutingFixture.addr("rogue");
                k.full = true;
            } else if (c == RoutingCheck.TIER_SKIPPED) {
                k.d.attempts[0] = _attempt(RoutingFixture.addr("chat-d"), 1, SUCCESS, 400);
                k.wanted = _addrs(RoutingFixture.addr("chat-d"), second);
            } else if (c == RoutingCheck.UNJUSTIFIED_FALLBACK) {
                k.d.attempts[0] = _attempt(RoutingFixture.addr("chat-fb2"), RoutingFixture.FALLBACK_TIER, SUCCESS, 400);
                k.d.trigger = RoutingPolicy.TRIGGER_NO_PRIMARY;
                k.wanted = _addrs(RoutingFixture.addr("chat-fb2"), best);
            } else if (c == RoutingCheck.WRONG_PROVIDER) {
                k.d.attempts[0].provider = second;
                k.wanted = _addrs(best, second);
            } else if (c == RoutingCheck.PREMATURE_STOP) {
                // Gives up after one timeout although the second provider was eligible.
                (k.d, k.attempt) = (retried, 1);
                Attempt[] memory one = new Attempt[](1);
                one[0] = retried.attempts[0];
                k.d.attempts = one;
                k.d.resolution = RoutingPolicy.EXHAUSTED;
                k.wanted = _addrs(second);
            } else if (c == RoutingCheck.WRONG_RESOLUTION) {
                k.d.resolution = RoutingPolicy.EXHAUSTED;
                k.attempt = 1;
            } else if (c == RoutingCheck.WRONG_TRIGGER) {
                k.d.trigger = RoutingPolicy.TRIGGER_FLEET_BUDGET;
                k.attempt = 1;
            } else {
                assertEq(c, RoutingCheck.SUMMARY_MISMATCH);
                (k.d, k.attempt) = (retried, 2);
                k.d.finalTier = 1;
            }
            if (c != RoutingCheck.SUMMARY_MISMATCH) _fixSummary(k.d);
            cs[c - 1] = k;
        }
    }

    function test_challengeMisrouting_everyOffenceCode_succeeds() public {
        OffenceCase[] memory cs = _offenceCases(1);
        RoutingDecision[] memory ds = new RoutingDecision[](cs.length);
        for (uint256 i; i < cs.length; ++i) {
            ds[i] = cs[i].d;
        }
        BatchHeader memory h = _commit(ds);
        for (uint256 i; i < cs.length; ++i) {
            RegistryEvidence memory ev = cs[i].full ? _fullEvidence(1) : _evidence(1, cs[i].wanted);
            _challengeAndCheck(_inclusion(h, ds, i), ev, challenger, cs[i].code, cs[i].attempt);
        }
    }

    // ================================================================ challengeMisrouting: reverts

    function test_challengeMisrouting_unknownBatch_reverts() public {
        Inclusion memory inc = _commitOne(_attemptAfterServed(keccak256("x"), routers[0]));
        inc.header.registryRoot = keccak256("another registry");
        vm.expectRevert(abi.encodeWithSelector(IRoutingSettlement.UnknownBatch.selector, _hash(inc.header)));
        settlement.challengeMisrouting(inc, _paramsOnly(1));
    }

    function test_challengeMisrouting_windowClosed_reverts() public {
        Inclusion memory inc = _commitOne(_attemptAfterServed(keccak256("late"), routers[0]));
        uint64 closesAt = uint64(vm.getBlockTimestamp()) + CHALLENGE_WINDOW;
        vm.warp(closesAt);
        vm.expectRevert(
            abi.encodeWithSelector(IRoutingSettlement.ChallengeWindowClosed.selector, _hash(inc.header), closesAt)
        );
        settlement.challengeMisrouting(inc, _paramsOnly(1));
    }

    function test_challengeMisrouting_lastSecondOfWindow_succeeds() public {
        Inclusion memory inc = _commitOne(_attemptAfterServed(keccak256("late"), routers[0]));
        vm.warp(vm.getBlockTimestamp() + CHALLENGE_WINDOW - 1);
        _challengeAndCheck(inc, _paramsOnly(1), challenger, RoutingCheck.ATTEMPT_AFTER_SERVED, 1);
    }

    function test_challengeMisrouting_tamperedProof_reverts() public {
        RoutingDecision[] memory ds =
            _ds(_attemptAfterServed(keccak256("a"), routers[0]), _honestChat(keccak256("b"), routers[1], _o()));
        BatchHeader memory h = _commit(ds);
        Inclusion memory inc = _inclusion(h, ds, 0);
        inc.proof[0] = keccak256("not the sibling");
        vm.expectRevert(
            abi.encodeWithSelector(IRoutingSettlement.InvalidInclusionProof.selector, RoutingHash.leaf(ds[0]))
        );
        settlement.challengeMisrouting(inc, _paramsOnly(1));
    }

    function test_challengeMisrouting_decisionNotInBatch_reverts() public {
        // A signed decision the sequencer never committed, shown with another decision's proof.
        RoutingDecision[] memory ds =
            _ds(_honestChat(keccak256("a"), routers[0], _o()), _honestChat(keccak256("b"), routers[1], _o()));
        BatchHeader memory h = _commit(ds);
        Inclusion memory inc = _inclusion(h, ds, 0);
        inc.decision = _attemptAfterServed(keccak256("a"), routers[0]);
        inc.signature = _sign(inc.decision);
        vm.expectRevert(
            abi.encodeWithSelector(IRoutingSettlement.InvalidInclusionProof.selector, RoutingHash.leaf(inc.decision))
        );
        settlement.challengeMisrouting(inc, _paramsOnly(1));
    }

    function test_challengeMisrouting_wrongSigner_reverts() public {
        Inclusion memory inc = _commitOne(_attemptAfterServed(keccak256("x"), routers[0]));
        inc.signature = _signWith(keyOf[routers[1]], inc.decision);
        vm.expectRevert(abi.encodeWithSelector(IRoutingSettlement.InvalidSignature.selector, routers[0]));
        settlement.challengeMisrouting(inc, _paramsOnly(1));
    }

    function test_challengeMisrouting_signatureBadLength_reverts() public {
        Inclusion memory inc = _commitOne(_attemptAfterServed(keccak256("x"), routers[0]));
        // The EIP-2098 compact form the payload carries is 64 bytes: not accepted here.
        inc.signature = PayloadBuilder.compactSignature(inc.signature);
        assertEq(inc.signature.length, 64);
        vm.expectRevert(abi.encodeWithSelector(IRoutingSettlement.InvalidSignature.selector, routers[0]));
        settlement.challengeMisrouting(inc, _paramsOnly(1));
        inc.signature = bytes.concat(_sign(inc.decision), hex"00");
        vm.expectRevert(abi.encodeWithSelector(IRoutingSettlement.InvalidSignature.selector, routers[0]));
        settlement.challengeMisrouting(inc, _paramsOnly(1));
    }

    function test_challengeMisrouting_highSSignature_reverts() public {
        Inclusion memory inc = _commitOne(_attemptAfterServed(keccak256("x"), routers[0]));
        bytes32 digest = settlement.decisionDigest(inc.decision);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(keyOf[routers[0]], digest);
        bytes32 highS = bytes32(SECP256K1_N - uint256(s));
        uint8 flippedV = v == 27 ? 28 : 27;
        // The malleated signature is valid for ecrecover...
        assertEq(ecrecover(digest, flippedV, r, highS), routers[0]);
        // ...but not for the settlement.
        inc.signature = abi.encodePacked(r, highS, flippedV);
        vm.expectRevert(abi.encodeWithSelector(IRoutingSettlement.InvalidSignature.selector, routers[0]));
        settlement.challengeMisrouting(inc, _paramsOnly(1));
    }

    function test_challengeMisrouting_signatureFromOtherChain_reverts() public {
        Inclusion memory inc = _commitOne(_attemptAfterServed(keccak256("x"), routers[0]));
        vm.chainId(block.chainid + 1);
        vm.expectRevert(abi.encodeWithSelector(IRoutingSettlement.InvalidSignature.selector, routers[0]));
        settlement.challengeMisrouting(inc, _paramsOnly(1));
    }

    function test_challengeMisrouting_tamperedRegistryProof_reverts() public {
        bytes32 id = keccak256("wrong");
        (address best, address second) = _bestTwo(id);
        RoutingDecision memory d = _honestChat(id, routers[0], _o());
        d.attempts[0].provider = second;
        _fixSummary(d);
        Inclusion memory inc = _commitOne(d);
        RegistryEvidence memory ev = _evidence(1, _addrs(best, second));
        ev.proof[0] = keccak256("not a sibling");
        vm.expectRevert(IRoutingSettlement.InvalidRegistryProof.selector);
        settlement.challengeMisrouting(inc, ev);
    }

    function test_challengeMisrouting_malformedMultiproof_reverts() public {
        // Shapes OpenZeppelin's processMultiProof cannot process (it reverts with its own error,
        // or reads past the end of `proof`) are invalid registry proofs like any other.
        bytes32 id = keccak256("wrong");
        (address best, address second) = _bestTwo(id);
        RoutingDecision memory d = _honestChat(id, routers[0], _o());
        d.attempts[0].provider = second;
        _fixSummary(d);
        Inclusion memory inc = _commitOne(d);
        RegistryEvidence memory ev = _evidence(1, _addrs(best, second));

        // One flag too many.
        bool[] memory flags = ev.proofFlags;
        ev.proofFlags = new bool[](flags.length + 1);
        for (uint256 i; i < flags.length; ++i) {
            ev.proofFlags[i] = flags[i];
        }
        vm.expectRevert(IRoutingSettlement.InvalidRegistryProof.selector);
        settlement.challengeMisrouting(inc, ev);

        // Right lengths, but every step takes a sibling from `proof`: more than it holds.
        ev.proofFlags = new bool[](flags.length);
        vm.expectRevert(IRoutingSettlement.InvalidRegistryProof.selector);
        settlement.challengeMisrouting(inc, ev);

        // The undamaged evidence proves the offence.
        ev.proofFlags = flags;
        vm.prank(challenger);
        assertEq(settlement.challengeMisrouting(inc, ev), 100e18);
    }

    function test_challengeMisrouting_forgedEntry_reverts() public {
        // A made-up better provider (or a made-up reliability) is not under the registry root.
        bytes32 id = keccak256("forged");
        (address best,) = _bestTwo(id);
        Inclusion memory inc = _commitOne(_honestChat(id, routers[0], _o()));
        RegistryEvidence memory ev = _evidence(1, _addrs(best, RoutingFixture.addr("chat-fb1")));
        ev.entries[0].reliabilityPpm += 1;
        vm.expectRevert(IRoutingSettlement.InvalidRegistryProof.selector);
        settlement.challengeMisrouting(inc, ev);
    }

    function test_challengeMisrouting_evidenceOfOtherEpoch_reverts() public {
        Inclusion memory inc = _commitOne(_attemptAfterServed(keccak256("x"), routers[0]));
        // A valid proof under batch 2's registry, not batch 1's.
        vm.expectRevert(IRoutingSettlement.InvalidRegistryProof.selector);
        settlement.challengeMisrouting(inc, _paramsOnly(2));
    }

    /// @dev A lazy fallback (straight to the fallback tier) routed against registry `epoch`.
    function _lazy(uint64 epoch, bytes32 id, address router) internal pure returns (RoutingDecision memory d) {
        d = _honest(epoch, id, RoutingFixture.CLASS_CHAT, router, _o());
        d.attempts[0] = _attempt(RoutingFixture.addr("chat-fb1"), RoutingFixture.FALLBACK_TIER, SUCCESS, 900);
        d.trigger = RoutingPolicy.TRIGGER_NO_PRIMARY;
        _fixSummary(d);
    }

    function test_challengeMisrouting_decisionOfEarlierEpoch_succeeds() public {
        // Routed against registry 1 while batch 1 was open, sequenced in batch 2.
        _commit(_ds(_honestChat(keccak256("first"), routers[1], _o())));
        Inclusion memory inc = _commitOne(_lazy(1, keccak256("slow"), routers[0]));
        assertEq(inc.header.batchId, 2);
        address[] memory wanted = _addrs(RoutingFixture.addr("chat-fb1"), RoutingFixture.addr("chat-c"));
        // Evidence of the batch's own registry is not the registry the decision names.
        vm.expectRevert(IRoutingSettlement.InvalidRegistryProof.selector);
        settlement.challengeMisrouting(inc, _evidence(2, wanted));
        _challengeAndCheck(inc, _evidence(1, wanted), challenger, RoutingCheck.UNJUSTIFIED_FALLBACK, 0);
    }

    function test_challengeMisrouting_honestDecisionOfEarlierEpoch_reverts() public {
        _commit(_ds(_honestChat(keccak256("first"), routers[1], _o())));
        Inclusion memory inc = _commitOne(_honest(1, keccak256("slow"), RoutingFixture.CLASS_CHAT, routers[0], _o()));
        assertEq(inc.header.batchId, 2);
        vm.expectRevert(IRoutingSettlement.NoViolation.selector);
        settlement.challengeMisrouting(inc, _fullEvidence(1));
    }

    function test_challengeMisrouting_futureEpoch_succeeds() public {
        // Batch 1 cannot hold a decision routed against registry 5: proven without evidence.
        RoutingDecision memory d = _honestChat(keccak256("future"), routers[2], _o());
        d.registryEpoch = 5;
        Inclusion memory inc = _commitOne(d);
        _challengeAndCheck(inc, _paramsOnly(1), challenger, RoutingCheck.WRONG_REGISTRY_EPOCH, 0);
    }

    function test_challengeMisrouting_unknownRegistryEpoch_reverts() public {
        RoutingDecision memory d = _honestChat(keccak256("epoch zero"), routers[2], _o());
        d.registryEpoch = 0;
        Inclusion memory inc = _commitOne(d);
        vm.expectRevert(abi.encodeWithSelector(IRoutingSettlement.UnknownRegistryEpoch.selector, uint64(0)));
        settlement.challengeMisrouting(inc, _paramsOnly(1));
    }

    function test_challengeMisrouting_registryEpochMismatch_reverts() public {
        // A sequencer commits batch 1 with a registry whose parameter record says epoch 7: the
        // decision's check must not run against another epoch's parameters.
        RoutingDecision[] memory ds = _ds(_lazy(1, keccak256("mismatch"), routers[0]));
        BatchHeader memory h = _nextHeader(ds);
        h.registryRoot = _registryRoot(7);
        bytes memory payload = _payload(h, ds);
        vm.prank(sequencer);
        settlement.commitBatch(h, payload);
        Inclusion memory inc = _inclusion(h, ds, 0);
        vm.expectRevert(abi.encodeWithSelector(IRoutingSettlement.RegistryEpochMismatch.selector, uint64(1), uint64(7)));
        settlement.challengeMisrouting(inc, _fullEvidence(7));
    }

    function test_registryRoot_keptPerBatch_succeeds() public {
        assertEq(settlement.registryRoot(1), bytes32(0));
        _commit(_ds(_honestChat(keccak256("a"), routers[0], _o())));
        _commit(_ds(_honestChat(keccak256("b"), routers[0], _o())));
        assertEq(settlement.registryRoot(1), _registryRoot(1));
        assertEq(settlement.registryRoot(2), _registryRoot(2));
        assertEq(settlement.registryRoot(3), bytes32(0));
    }

    function test_challengeMisrouting_entriesNotSorted_reverts() public {
        Inclusion memory inc = _commitOne(_attemptAfterServed(keccak256("x"), routers[0]));
        RegistryEvidence memory ev = _evidence(1, _addrs(RoutingFixture.addr("chat-a"), RoutingFixture.addr("chat-b")));
        (ev.entries[0], ev.entries[1]) = (ev.entries[1], ev.entries[0]);
        vm.expectRevert(abi.encodeWithSelector(IRoutingSettlement.EntriesNotSorted.selector, uint256(1)));
        settlement.challengeMisrouting(inc, ev);
    }

    function test_challengeMisrouting_entriesRepeated_reverts() public {
        Inclusion memory inc = _commitOne(_attemptAfterServed(keccak256("x"), routers[0]));
        RegistryEvidence memory ev = _fullEvidence(1);
        ev.entries[3] = ev.entries[2];
        vm.expectRevert(abi.encodeWithSelector(IRoutingSettlement.EntriesNotSorted.selector, uint256(3)));
        settlement.challengeMisrouting(inc, ev);
    }

    function test_challengeMisrouting_honestDecision_reverts() public {
        RoutingDecision[] memory ds = _ds(
            _honestChat(keccak256("h1"), routers[0], _o(TIMEOUT, RoutingPolicy.OVERLOADED)),
            _honest(1, keccak256("h2"), RoutingFixture.CLASS_EMPTY, routers[1], _o())
        );
        // Two retries on tier 0; and a class no provider serves: zero attempts.
        assertEq(ds[0].attempts.length, 3);
        assertEq(ds[1].attempts.length, 0);
        assertEq(ds[1].resolution, RoutingPolicy.EXHAUSTED);
        BatchHeader memory h = _commit(ds);
        for (uint256 i; i < 2; ++i) {
            Inclusion memory inc = _inclusion(h, ds, i);
            vm.expectRevert(IRoutingSettlement.NoViolation.selector);
            settlement.challengeMisrouting(inc, _fullEvidence(1));
            vm.expectRevert(IRoutingSettlement.NoViolation.selector);
            settlement.challengeMisrouting(inc, _paramsOnly(1));
        }
        assertEq(token.balanceOf(treasury), 0);
    }

    function test_challengeMisrouting_alreadySlashed_reverts() public {
        Inclusion memory inc = _commitOne(_attemptAfterServed(keccak256("x"), routers[0]));
        vm.prank(challenger);
        settlement.challengeMisrouting(inc, _paramsOnly(1));
        bytes32 leaf = RoutingHash.leaf(inc.decision);
        vm.expectRevert(abi.encodeWithSelector(IRoutingSettlement.AlreadySlashed.selector, leaf));
        settlement.challengeMisrouting(inc, _fullEvidence(1));
    }

    function test_challengeMisrouting_sameDecisionInLaterBatch_reverts() public {
        // The offence is keyed on the leaf, not on the batch or the signature bytes.
        RoutingDecision memory d = _attemptAfterServed(keccak256("again"), routers[0]);
        Inclusion memory first = _commitOne(d);
        vm.prank(challenger);
        settlement.challengeMisrouting(first, _paramsOnly(1));

        RoutingDecision[] memory ds = _ds(_honestChat(keccak256("other"), routers[1], _o()), d);
        BatchHeader memory h2 = _commit(ds);
        Inclusion memory second = _inclusion(h2, ds, 1);
        assertTrue(_hash(second.header) != _hash(first.header));
        vm.expectRevert(abi.encodeWithSelector(IRoutingSettlement.AlreadySlashed.selector, RoutingHash.leaf(d)));
        settlement.challengeMisrouting(second, _paramsOnly(2));
    }

    // ================================================================ challengeDuplicate

    /// @dev Two different signed decisions of `router` for one request, in two batches.
    function _duplicatePair(address router) internal returns (Inclusion memory a, Inclusion memory b) {
        bytes32 id = keccak256("dup");
        a = _commitOne(_honestChat(id, router, _o()));
        skip(1 hours);
        b = _commitOne(_honestChat(id, router, _o(TIMEOUT)));
    }

    function test_challengeDuplicate_twoBatches_succeeds() public {
        (Inclusion memory a, Inclusion memory b) = _duplicatePair(routers[1]);
        bytes32 leafA = RoutingHash.leaf(a.decision);
        bytes32 leafB = RoutingHash.leaf(b.decision);
        vm.expectEmit(address(settlement));
        emit IRoutingSettlement.DuplicateProven(keccak256("dup"), routers[1], leafA, leafB, challenger, 100e18, 20e18);
        vm.prank(challenger);
        uint256 slashed = settlement.challengeDuplicate(a, b);
        assertEq(slashed, 100e18);
        assertEq(token.balanceOf(challenger), 20e18);
        assertEq(token.balanceOf(treasury), 80e18);
        assertEq(_stakeOf(routers[1]), 900e18);
        assertTrue(staking.jailed(routers[1]));
        assertTrue(settlement.duplicateSlashed(routers[1], keccak256("dup")));
        assertFalse(settlement.misroutingSlashed(leafA), "a separate offence");
    }

    function test_challengeDuplicate_sameBatch_succeeds() public {
        bytes32 id = keccak256("dup");
        RoutingDecision[] memory ds =
            _ds(_honestChat(id, routers[0], _o()), _honestChat(id, routers[0], _o(RoutingPolicy.OVERLOADED)));
        BatchHeader memory h = _commit(ds);
        (Inclusion memory a, Inclusion memory b) = (_inclusion(h, ds, 1), _inclusion(h, ds, 0));
        vm.prank(routers[0]);
        uint256 slashed = settlement.challengeDuplicate(a, b);
        assertEq(slashed, 100e18);
        assertEq(token.balanceOf(treasury), 100e18, "self-challenge: no reward");
    }

    function test_challengeDuplicate_notSameRequest_reverts() public {
        Inclusion memory a = _commitOne(_honestChat(keccak256("a"), routers[0], _o()));
        Inclusion memory b = _commitOne(_honestChat(keccak256("b"), routers[0], _o()));
        vm.expectRevert(
            abi.encodeWithSelector(IRoutingSettlement.NotSameRequest.selector, keccak256("a"), keccak256("b"))
        );
        settlement.challengeDuplicate(a, b);
    }

    function test_challengeDuplicate_notSameRouter_reverts() public {
        Inclusion memory a = _commitOne(_honestChat(keccak256("a"), routers[0], _o()));
        Inclusion memory b = _commitOne(_honestChat(keccak256("a"), routers[1], _o()));
        vm.expectRevert(abi.encodeWithSelector(IRoutingSettlement.NotSameRouter.selector, routers[0], routers[1]));
        settlement.challengeDuplicate(a, b);
    }

    function test_challengeDuplicate_sameInclusion_reverts() public {
        Inclusion memory a = _commitOne(_honestChat(keccak256("a"), routers[0], _o()));
        vm.expectRevert(abi.encodeWithSelector(IRoutingSettlement.SameDecision.selector, RoutingHash.leaf(a.decision)));
        settlement.challengeDuplicate(a, a);
    }

    function test_challengeDuplicate_sameDecisionTwoBatches_reverts() public {
        // The same decision committed twice is a replay, not a second generation.
        RoutingDecision memory d = _honestChat(keccak256("a"), routers[0], _o());
        Inclusion memory a = _commitOne(d);
        Inclusion memory b = _commitOne(d);
        assertTrue(_hash(a.header) != _hash(b.header));
        vm.expectRevert(abi.encodeWithSelector(IRoutingSettlement.SameDecision.selector, RoutingHash.leaf(d)));
        settlement.challengeDuplicate(a, b);
    }

    function test_challengeDuplicate_alreadySlashed_reverts() public {
        bytes32 id = keccak256("dup");
        RoutingDecision[] memory ds = new RoutingDecision[](3);
        ds[0] = _honestChat(id, routers[2], _o());
        ds[1] = _honestChat(id, routers[2], _o(TIMEOUT));
        ds[2] = _honestChat(id, routers[2], _o(TIMEOUT, TIMEOUT));
        BatchHeader memory h = _commit(ds);
        Inclusion memory i0 = _inclusion(h, ds, 0);
        Inclusion memory i1 = _inclusion(h, ds, 1);
        Inclusion memory i2 = _inclusion(h, ds, 2);
        settlement.challengeDuplicate(i0, i1);
        bytes32 key = keccak256(abi.encode(routers[2], id));
        // Any other pair for the same (router, request id) is the same offence.
        vm.expectRevert(abi.encodeWithSelector(IRoutingSettlement.AlreadySlashed.selector, key));
        settlement.challengeDuplicate(i2, i0);
        vm.expectRevert(abi.encodeWithSelector(IRoutingSettlement.AlreadySlashed.selector, key));
        settlement.challengeDuplicate(i1, i0);
    }

    function test_challengeDuplicate_bothWindowsClosed_reverts() public {
        (Inclusion memory a, Inclusion memory b) = _duplicatePair(routers[0]);
        (, uint64 committedB,) = settlement.batch(_hash(b.header));
        uint64 closesB = committedB + CHALLENGE_WINDOW;
        vm.warp(closesB);
        // Either order names the batch that closed last.
        vm.expectRevert(
            abi.encodeWithSelector(IRoutingSettlement.ChallengeWindowClosed.selector, _hash(b.header), closesB)
        );
        settlement.challengeDuplicate(a, b);
        vm.expectRevert(
            abi.encodeWithSelector(IRoutingSettlement.ChallengeWindowClosed.selector, _hash(b.header), closesB)
        );
        settlement.challengeDuplicate(b, a);
    }

    function test_challengeDuplicate_oneWindowOpen_succeeds() public {
        (Inclusion memory a, Inclusion memory b) = _duplicatePair(routers[0]);
        (, uint64 committedA,) = settlement.batch(_hash(a.header));
        vm.warp(committedA + CHALLENGE_WINDOW);
        assertTrue(settlement.isFinal(_hash(a.header)));
        assertFalse(settlement.isFinal(_hash(b.header)));
        vm.prank(challenger);
        assertEq(settlement.challengeDuplicate(a, b), 100e18);
    }

    function test_challengeDuplicate_invalidSignature_reverts() public {
        (Inclusion memory a, Inclusion memory b) = _duplicatePair(routers[0]);
        b.signature = _signWith(keyOf[routers[3]], b.decision);
        vm.expectRevert(abi.encodeWithSelector(IRoutingSettlement.InvalidSignature.selector, routers[0]));
        settlement.challengeDuplicate(a, b);
    }

    function test_challengeDuplicate_unknownBatch_reverts() public {
        (Inclusion memory a, Inclusion memory b) = _duplicatePair(routers[0]);
        a.header.count = 7;
        vm.expectRevert(abi.encodeWithSelector(IRoutingSettlement.UnknownBatch.selector, _hash(a.header)));
        settlement.challengeDuplicate(a, b);
    }

    function test_challengeDuplicate_invalidInclusionProof_reverts() public {
        (Inclusion memory a, Inclusion memory b) = _duplicatePair(routers[0]);
        b.proof = new bytes32[](1);
        b.proof[0] = RoutingHash.leaf(a.decision);
        vm.expectRevert(
            abi.encodeWithSelector(IRoutingSettlement.InvalidInclusionProof.selector, RoutingHash.leaf(b.decision))
        );
        settlement.challengeDuplicate(a, b);
    }

    // ================================================================ staking lock through commits

    function test_commitBatch_locksPendingStakeThroughWindow_succeeds() public {
        vm.prank(routers[0]);
        staking.requestUnstake(500e18);
        (,, uint64 readyAt) = staking.stakeOf(routers[0]);
        // The router keeps routing until the last hour before its unstake is ready.
        vm.warp(readyAt - 1 hours);
        Inclusion memory inc = _commitOne(_attemptAfterServed(keccak256("parting"), routers[0]));
        uint64 lockedUntil = uint64(vm.getBlockTimestamp()) + CHALLENGE_WINDOW;
        assertEq(staking.withdrawableAt(routers[0]), lockedUntil);

        vm.warp(readyAt);
        vm.prank(routers[0]);
        vm.expectRevert(abi.encodeWithSelector(IStaking.StakeLocked.selector, lockedUntil));
        staking.withdraw();

        // Still challengeable: the pending stake is there to slash.
        vm.warp(lockedUntil - 1);
        _challengeAndCheck(inc, _paramsOnly(1), challenger, RoutingCheck.ATTEMPT_AFTER_SERVED, 1);
        (, uint256 pending,) = staking.stakeOf(routers[0]);
        assertEq(pending, 500e18, "slashed from active first");

        vm.warp(lockedUntil);
        vm.prank(routers[0]);
        assertEq(staking.withdraw(), 500e18);
    }

    // ================================================================ governance

    function test_setSequencer_byOwner_succeeds() public {
        address next = makeAddr("nextSequencer");
        vm.expectEmit(address(settlement));
        emit IRoutingSettlement.SequencerSet(sequencer, next);
        vm.prank(owner);
        settlement.setSequencer(next);
        assertEq(settlement.sequencer(), next);

        (, BatchHeader memory h, bytes memory payload) = _simple();
        vm.prank(sequencer);
        vm.expectRevert(abi.encodeWithSelector(IRoutingSettlement.NotSequencer.selector, sequencer));
        settlement.commitBatch(h, payload);
        vm.prank(next);
        settlement.commitBatch(h, payload);
        assertEq(settlement.lastBatchId(), 1);
    }

    function test_setSequencer_notOwner_reverts() public {
        vm.prank(sequencer);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, sequencer));
        settlement.setSequencer(sequencer);
    }

    function test_setSequencer_zeroAddress_reverts() public {
        vm.prank(owner);
        vm.expectRevert(IRoutingSettlement.ZeroAddress.selector);
        settlement.setSequencer(address(0));
    }

    function test_setSlashParams_byOwner_succeeds() public {
        vm.expectEmit(address(settlement));
        emit IRoutingSettlement.SlashParamsSet(10_000, 5_000);
        vm.prank(owner);
        settlement.setSlashParams(10_000, 5_000);
        assertEq(settlement.slashBps(), 10_000);
        assertEq(settlement.rewardBps(), 5_000);

        // The new rates apply to the next slash: everything, half to the challenger.
        Inclusion memory inc = _commitOne(_attemptAfterServed(keccak256("x"), routers[0]));
        vm.prank(challenger);
        assertEq(settlement.challengeMisrouting(inc, _paramsOnly(1)), ROUTER_STAKE);
        assertEq(token.balanceOf(challenger), ROUTER_STAKE / 2);
        assertEq(_stakeOf(routers[0]), 0);
    }

    function test_setSlashParams_zeroReward_succeeds() public {
        vm.prank(owner);
        settlement.setSlashParams(1, 0);
        assertEq(settlement.slashBps(), 1);
        assertEq(settlement.rewardBps(), 0);
    }

    function test_setSlashParams_notOwner_reverts() public {
        vm.prank(challenger);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, challenger));
        settlement.setSlashParams(SLASH_BPS, REWARD_BPS);
    }

    function test_setSlashParams_invalid_reverts() public {
        vm.startPrank(owner);
        vm.expectRevert(abi.encodeWithSelector(IRoutingSettlement.InvalidSlashParams.selector, uint16(0), uint16(0)));
        settlement.setSlashParams(0, 0);
        vm.expectRevert(
            abi.encodeWithSelector(IRoutingSettlement.InvalidSlashParams.selector, uint16(10_001), uint16(0))
        );
        settlement.setSlashParams(10_001, 0);
        vm.expectRevert(
            abi.encodeWithSelector(IRoutingSettlement.InvalidSlashParams.selector, uint16(10_000), uint16(5_001))
        );
        settlement.setSlashParams(10_000, 5_001);
        vm.stopPrank();
        assertEq(settlement.slashBps(), SLASH_BPS);
        assertEq(settlement.rewardBps(), REWARD_BPS);
    }

    function test_transferOwnership_newOwnerGoverns_succeeds() public {
        address next = makeAddr("nextOwner");
        vm.prank(owner);
        settlement.transferOwnership(next);
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, owner));
        settlement.setSlashParams(SLASH_BPS, REWARD_BPS);
        vm.prank(next);
        settlement.setSlashParams(2_000, 0);
        assertEq(settlement.slashBps(), 2_000);
    }

    function test_renounceOwnership_freezesGovernance_succeeds() public {
        vm.prank(owner);
        settlement.renounceOwnership();
        assertEq(settlement.owner(), address(0));
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, owner));
        settlement.setSequencer(owner);
        assertEq(settlement.sequencer(), sequencer);
    }

    // ================================================================ views

    function test_batch_unknown_succeeds() public view {
        (uint64 batchId, uint64 committedAt, uint64 l2Block) = settlement.batch(keccak256("nothing"));
        assertEq(batchId, 0);
        assertEq(committedAt, 0);
        assertEq(l2Block, 0);
        assertFalse(settlement.isFinal(keccak256("nothing")));
        assertFalse(settlement.isFinal(bytes32(0)));
    }

    function test_isFinal_beforeAndAfterWindow_succeeds() public {
        Inclusion memory inc = _commitOne(_honestChat(keccak256("x"), routers[0], _o()));
        bytes32 hh = _hash(inc.header);
        (, uint64 committedAt,) = settlement.batch(hh);
        assertFalse(settlement.isFinal(hh));
        vm.warp(committedAt + CHALLENGE_WINDOW - 1);
        assertFalse(settlement.isFinal(hh));
        vm.warp(committedAt + CHALLENGE_WINDOW);
        assertTrue(settlement.isFinal(hh));
        vm.warp(committedAt + 365 days);
        assertTrue(settlement.isFinal(hh));
    }

    function test_misroutingSlashed_beforeAndAfter_succeeds() public {
        Inclusion memory inc = _commitOne(_attemptAfterServed(keccak256("x"), routers[0]));
        bytes32 leaf = RoutingHash.leaf(inc.decision);
        assertFalse(settlement.misroutingSlashed(leaf));
        settlement.challengeMisrouting(inc, _paramsOnly(1));
        assertTrue(settlement.misroutingSlashed(leaf));
        assertFalse(settlement.misroutingSlashed(keccak256("other")));
    }

    function test_duplicateSlashed_beforeAndAfter_succeeds() public {
        (Inclusion memory a, Inclusion memory b) = _duplicatePair(routers[2]);
        assertFalse(settlement.duplicateSlashed(routers[2], keccak256("dup")));
        settlement.challengeDuplicate(a, b);
        assertTrue(settlement.duplicateSlashed(routers[2], keccak256("dup")));
        assertFalse(settlement.duplicateSlashed(routers[1], keccak256("dup")), "keyed on the router");
        assertFalse(settlement.duplicateSlashed(routers[2], keccak256("other")), "and on the request");
    }

    function test_decisionDigest_matchesEip712_succeeds() public view {
        RoutingDecision memory d = _honestChat(keccak256("digest"), routers[0], _o(TIMEOUT, TIMEOUT));
        assertEq(d.attempts.length, 3);
        bytes32 digest = settlement.decisionDigest(d);
        assertEq(digest, RoutingHash.digest(settlement.domainSeparator(), d));
        assertEq(digest, _manualDigest(d));
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(keyOf[routers[0]], digest);
        assertEq(ecrecover(digest, v, r, s), routers[0]);
        // Zero attempts hash the empty array.
        RoutingDecision memory empty = _honest(1, keccak256("none"), RoutingFixture.CLASS_EMPTY, routers[0], _o());
        assertEq(settlement.decisionDigest(empty), _manualDigest(empty));
    }

    function test_decisionDigest_everyFieldCounts_succeeds() public view {
        RoutingDecision memory d = _honestChat(keccak256("digest"), routers[0], _o(TIMEOUT));
        bytes32 base = settlement.decisionDigest(d);
        for (uint256 f; f < 16; ++f) {
            RoutingDecision memory m = _copy(d);
            if (f == 0) m.requestId = bytes32(uint256(m.requestId) ^ 1);
            else if (f == 1) m.modelClass ^= 1;
            else if (f == 2) m.submitMs ^= 1;
            else if (f == 3) m.deadlineMs ^= 1;
            else if (f == 4) m.retryBudget ^= 1;
            else if (f == 5) m.attempts[1].latencyMs ^= 1;
            else if (f == 6) m.attempts[0].outcome ^= 1;
            else if (f == 7) m.finalProvider = address(uint160(m.finalProvider) ^ 1);
            else if (f == 8) m.finalTier ^= 1;
            else if (f == 9) m.retryCount ^= 1;
            else if (f == 10) m.trigger ^= 1;
            else if (f == 11) m.resolution ^= 1;
            else if (f == 12) m.registryEpoch ^= 1;
            else if (f == 13) m.budgetTokens ^= 1;
            else if (f == 14) m.router = address(uint160(m.router) ^ 1);
            else m.attempts[0].tier ^= 1;
            assertTrue(settlement.decisionDigest(m) != base);
            assertEq(settlement.decisionDigest(m), _manualDigest(m));
        }
    }

    function test_domainSeparator_matchesEip712Domain_succeeds() public {
        assertEq(settlement.domainSeparator(), _manualDomainSeparator());
        (bytes1 fields, string memory name, string memory version, uint256 chainId, address verifyingContract,,) =
            settlement.eip712Domain();
        assertEq(fields, hex"0f");
        assertEq(name, "RoutingSettlement");
        assertEq(version, "1");
        assertEq(chainId, block.chainid);
        assertEq(verifyingContract, address(settlement));
        // Bound to the chain: another chain id, another separator.
        bytes32 before = settlement.domainSeparator();
        vm.chainId(10);
        assertTrue(settlement.domainSeparator() != before);
        assertEq(settlement.domainSeparator(), _manualDomainSeparator());
    }

    function test_challengeWindow_equalsStaking_succeeds() public view {
        assertEq(settlement.challengeWindow(), staking.challengeWindow());
        assertEq(settlement.challengeWindow(), CHALLENGE_WINDOW);
        assertLt(settlement.challengeWindow(), staking.unstakeDelay());
    }

    // ================================================================ gas

    /// Gas of the two challenges with realistic evidence, recorded with `snapshotGasLastCall`.
    function test_challenges_gas_succeeds() public {
        bytes32 id = keccak256("gas");
        (address best, address second) = _bestTwo(id);
        RoutingDecision memory wrong = _honestChat(id, routers[0], _o(TIMEOUT));
        wrong.attempts[0].provider = second;
        wrong.attempts[1].provider = best;
        RoutingDecision[] memory ds = new RoutingDecision[](64);
        for (uint256 i; i < 64; ++i) {
            ds[i] = _honestChat(keccak256(abi.encode("filler", i)), routers[i % 4], _o(TIMEOUT));
        }
        ds[17] = wrong;
        ds[40] = _honestChat(keccak256(abi.encode("filler", 1)), routers[1], _o());
        BatchHeader memory h = _commit(ds);

        Inclusion memory wrongInc = _inclusion(h, ds, 17);
        vm.prank(challenger);
        settlement.challengeMisrouting(wrongInc, _fullEvidence(1));
        emit log_named_uint(
            "challengeMisrouting, 64-decision batch, full evidence",
            vm.snapshotGasLastCall("challengeMisrouting_fullEvidence")
        );
        assertTrue(settlement.misroutingSlashed(RoutingHash.leaf(wrong)));

        (Inclusion memory a, Inclusion memory b) = (_inclusion(h, ds, 1), _inclusion(h, ds, 40));
        vm.prank(challenger);
        settlement.challengeDuplicate(a, b);
        emit log_named_uint("challengeDuplicate, 64-decision batch", vm.snapshotGasLastCall("challengeDuplicate"));
        assertTrue(settlement.duplicateSlashed(routers[1], keccak256(abi.encode("filler", 1))));
    }
}
