// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";
import {StdInvariant} from "forge-std/StdInvariant.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";

import {Staking} from "../src/Staking.sol";
import {IStaking} from "../src/interfaces/IStaking.sol";
import {MockStakeToken} from "./utils/MockStakeToken.sol";
import {StakingHandler} from "./utils/StakingHandler.sol";

/// Shared deployment for the unit, fuzz and invariant tests.
abstract contract StakingBase is Test {
    uint256 internal constant MIN_STAKE = 100e18;
    uint64 internal constant UNSTAKE_DELAY = 7 days;
    uint64 internal constant CHALLENGE_WINDOW = 1 days;

    MockStakeToken internal token;
    Staking internal staking;

    address internal settlement = makeAddr("settlement");
    address internal treasury = makeAddr("treasury");
    address internal owner = makeAddr("owner");
    address internal challenger = makeAddr("challenger");
    address internal router = makeAddr("router");

    function setUp() public virtual {
        vm.warp(1_700_000_000);
        token = new MockStakeToken();
        staking = new Staking(
            IERC20(address(token)), settlement, treasury, MIN_STAKE, UNSTAKE_DELAY, CHALLENGE_WINDOW, owner
        );
    }

    function _fundAndApprove(address who, uint256 amount) internal {
        token.mint(who, amount);
        vm.prank(who);
        token.approve(address(staking), type(uint256).max);
    }

    function _stake(address who, uint256 amount) internal {
        _fundAndApprove(who, amount);
        vm.prank(who);
        staking.stake(amount);
    }

    function _stakeAndRequest(address who, uint256 stakeAmount, uint256 unstakeAmount) internal {
        _stake(who, stakeAmount);
        vm.prank(who);
        staking.requestUnstake(unstakeAmount);
    }
}

contract StakingTest is StakingBase {
    bytes32 internal constant PERMIT_TYPEHASH =
        keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)");

    // ---------------------------------------------------------------- constructor

    function test_constructor_setsParameters_succeeds() public view {
        assertEq(address(staking.token()), address(token));
        assertEq(staking.settlement(), settlement);
        assertEq(staking.treasury(), treasury);
        assertEq(staking.minStake(), MIN_STAKE);
        assertEq(staking.unstakeDelay(), UNSTAKE_DELAY);
        assertEq(staking.challengeWindow(), CHALLENGE_WINDOW);
        assertEq(staking.owner(), owner);
        assertEq(staking.totalStaked(), 0);
    }

    function test_constructor_delayEqualsWindow_reverts() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IStaking.UnstakeDelayNotAboveChallengeWindow.selector, uint64(1 days), uint64(1 days)
            )
        );
        new Staking(IERC20(address(token)), settlement, treasury, MIN_STAKE, 1 days, 1 days, owner);
    }

    function test_constructor_delayBelowWindow_reverts() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IStaking.UnstakeDelayNotAboveChallengeWindow.selector, uint64(1 hours), uint64(1 days)
            )
        );
        new Staking(IERC20(address(token)), settlement, treasury, MIN_STAKE, 1 hours, 1 days, owner);
    }

    function test_constructor_zeroToken_reverts() public {
        vm.expectRevert(IStaking.ZeroAddress.selector);
        new Staking(IERC20(address(0)), settlement, treasury, MIN_STAKE, UNSTAKE_DELAY, CHALLENGE_WINDOW, owner);
    }

    function test_constructor_zeroSettlement_reverts() public {
        vm.expectRevert(IStaking.ZeroAddress.selector);
        new Staking(IERC20(address(token)), address(0), treasury, MIN_STAKE, UNSTAKE_DELAY, CHALLENGE_WINDOW, owner);
    }

    function test_constructor_zeroTreasury_reverts() public {
        vm.expectRevert(IStaking.ZeroAddress.selector);
        new Staking(IERC20(address(token)), settlement, address(0), MIN_STAKE, UNSTAKE_DELAY, CHALLENGE_WINDOW, owner);
    }

    function test_constructor_zeroOwner_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableInvalidOwner.selector, address(0)));
        new Staking(
            IERC20(address(token)), settlement, treasury, MIN_STAKE, UNSTAKE_DELAY, CHALLENGE_WINDOW, address(0)
        );
    }

    // ---------------------------------------------------------------- stake

    function test_stake_transfersAndCredits_succeeds() public {
        _fundAndApprove(router, 150e18);
        vm.expectEmit(address(staking));
        emit IStaking.Staked(router, 150e18);
        vm.prank(router);
        staking.stake(150e18);

        (uint256 active, uint256 pending, uint64 readyAt) = staking.stakeOf(router);
        assertEq(active, 150e18);
        assertEq(pending, 0);
        assertEq(readyAt, 0);
        assertEq(staking.totalStaked(), 150e18);
        assertEq(token.balanceOf(address(staking)), 150e18);
        assertEq(token.balanceOf(router), 0);
        assertTrue(staking.isActive(router));
    }

    function test_stake_accumulates_succeeds() public {
        _stake(router, 40e18);
        assertFalse(staking.isActive(router));
        _stake(router, 60e18);
        (uint256 active,,) = staking.stakeOf(router);
        assertEq(active, 100e18);
        assertTrue(staking.isActive(router));
    }

    function test_stake_zeroAmount_reverts() public {
        vm.prank(router);
        vm.expectRevert(IStaking.ZeroAmount.selector);
        staking.stake(0);
    }

    function test_stake_noAllowance_reverts() public {
        token.mint(router, 1e18);
        vm.prank(router);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, address(staking), 0, 1e18)
        );
        staking.stake(1e18);
    }

    function test_stake_insufficientBalance_reverts() public {
        _fundAndApprove(router, 1e18);
        vm.prank(router);
        vm.expectRevert(abi.encodeWithSelector(IERC20Errors.ERC20InsufficientBalance.selector, router, 1e18, 2e18));
        staking.stake(2e18);
    }

    // ---------------------------------------------------------------- stakeWithPermit

    function _signPermit(uint256 pk, uint256 value, uint256 deadline)
        internal
        view
        returns (uint8 v, bytes32 r, bytes32 s)
    {
        address signer = vm.addr(pk);
        bytes32 structHash =
            keccak256(abi.encode(PERMIT_TYPEHASH, signer, address(staking), value, token.nonces(signer), deadline));
        bytes32 digest = keccak256(abi.encodePacked("\x19\x01", token.DOMAIN_SEPARATOR(), structHash));
        (v, r, s) = vm.sign(pk, digest);
    }

    function test_stakeWithPermit_validSignature_succeeds() public {
        (address signer, uint256 pk) = makeAddrAndKey("permitRouter");
        token.mint(signer, 200e18);
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(pk, 200e18, deadline);

        vm.expectEmit(address(staking));
        emit IStaking.Staked(signer, 200e18);
        vm.prank(signer);
        staking.stakeWithPermit(200e18, deadline, v, r, s);

        (uint256 active,,) = staking.stakeOf(signer);
        assertEq(active, 200e18);
        assertEq(token.nonces(signer), 1);
        assertEq(token.allowance(signer, address(staking)), 0);
        assertEq(token.balanceOf(address(staking)), 200e18);
    }

    function test_stakeWithPermit_frontRunPermit_succeeds() public {
        (address signer, uint256 pk) = makeAddrAndKey("permitRouter");
        token.mint(signer, 200e18);
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(pk, 200e18, deadline);

        // Someone submits the permit first: the nonce is spent, the allowance is set.
        token.permit(signer, address(staking), 200e18, deadline, v, r, s);

        vm.prank(signer);
        staking.stakeWithPermit(200e18, deadline, v, r, s);
        (uint256 active,,) = staking.stakeOf(signer);
        assertEq(active, 200e18);
    }

    function test_stakeWithPermit_badSignatureNoAllowance_reverts() public {
        (address signer,) = makeAddrAndKey("permitRouter");
        (, uint256 otherPk) = makeAddrAndKey("other");
        token.mint(signer, 200e18);
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(otherPk, 200e18, deadline);

        vm.prank(signer);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, address(staking), 0, 200e18)
        );
        staking.stakeWithPermit(200e18, deadline, v, r, s);
    }

    function test_stakeWithPermit_expiredDeadline_reverts() public {
        (address signer, uint256 pk) = makeAddrAndKey("permitRouter");
        token.mint(signer, 200e18);
        uint256 deadline = block.timestamp - 1;
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(pk, 200e18, deadline);

        vm.prank(signer);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, address(staking), 0, 200e18)
        );
        staking.stakeWithPermit(200e18, deadline, v, r, s);
    }

    function test_stakeWithPermit_zeroAmount_reverts() public {
        (address signer, uint256 pk) = makeAddrAndKey("permitRouter");
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(pk, 0, deadline);
        vm.prank(signer);
        vm.expectRevert(IStaking.ZeroAmount.selector);
        staking.stakeWithPermit(0, deadline, v, r, s);
    }

    // ---------------------------------------------------------------- requestUnstake

    function test_requestUnstake_movesToPending_succeeds() public {
        _stake(router, 150e18);
        uint64 readyAt = uint64(block.timestamp) + UNSTAKE_DELAY;

        vm.expectEmit(address(staking));
        emit IStaking.UnstakeRequested(router, 60e18, 60e18, readyAt);
        vm.prank(router);
        staking.requestUnstake(60e18);

        (uint256 active, uint256 pending, uint64 gotReadyAt) = staking.stakeOf(router);
        assertEq(active, 90e18);
        assertEq(pending, 60e18);
        assertEq(gotReadyAt, readyAt);
        assertEq(staking.totalStaked(), 150e18);
        assertFalse(staking.isActive(router));
    }

    function test_requestUnstake_secondRequestAddsAndResetsReadyAt_succeeds() public {
        _stakeAndRequest(router, 150e18, 50e18);
        skip(3 days);
        uint64 readyAt = uint64(block.timestamp) + UNSTAKE_DELAY;

        vm.expectEmit(address(staking));
        emit IStaking.UnstakeRequested(router, 30e18, 80e18, readyAt);
        vm.prank(router);
        staking.requestUnstake(30e18);

        (uint256 active, uint256 pending, uint64 gotReadyAt) = staking.stakeOf(router);
        assertEq(active, 70e18);
        assertEq(pending, 80e18);
        assertEq(gotReadyAt, readyAt);
    }

    function test_requestUnstake_zeroAmount_reverts() public {
        _stake(router, 150e18);
        vm.prank(router);
        vm.expectRevert(IStaking.ZeroAmount.selector);
        staking.requestUnstake(0);
    }

    function test_requestUnstake_exceedsActive_reverts() public {
        _stake(router, 150e18);
        vm.prank(router);
        vm.expectRevert(abi.encodeWithSelector(IStaking.InsufficientActiveStake.selector, 151e18, 150e18));
        staking.requestUnstake(151e18);
    }

    function test_requestUnstake_pendingNotCountedAsActive_reverts() public {
        _stakeAndRequest(router, 150e18, 150e18);
        vm.prank(router);
        vm.expectRevert(abi.encodeWithSelector(IStaking.InsufficientActiveStake.selector, 1, 0));
        staking.requestUnstake(1);
    }

    // ---------------------------------------------------------------- withdraw

    function test_withdraw_atReadyAt_succeeds() public {
        _stakeAndRequest(router, 150e18, 60e18);
        skip(UNSTAKE_DELAY);

        vm.expectEmit(address(staking));
        emit IStaking.Withdrawn(router, 60e18);
        vm.prank(router);
        uint256 amount = staking.withdraw();

        assertEq(amount, 60e18);
        assertEq(token.balanceOf(router), 60e18);
        (uint256 active, uint256 pending, uint64 readyAt) = staking.stakeOf(router);
        assertEq(active, 90e18);
        assertEq(pending, 0);
        assertEq(readyAt, 0);
        assertEq(staking.totalStaked(), 90e18);
        assertEq(token.balanceOf(address(staking)), 90e18);
    }

    function test_withdraw_beforeReadyAt_reverts() public {
        _stakeAndRequest(router, 150e18, 60e18);
        (,, uint64 readyAt) = staking.stakeOf(router);
        vm.warp(readyAt - 1);
        vm.prank(router);
        vm.expectRevert(abi.encodeWithSelector(IStaking.UnstakeNotReady.selector, readyAt));
        staking.withdraw();
    }

    function test_withdraw_afterChallengeWindowBeforeDelay_reverts() public {
        _stakeAndRequest(router, 150e18, 60e18);
        (,, uint64 readyAt) = staking.stakeOf(router);
        skip(CHALLENGE_WINDOW + 1);
        vm.prank(router);
        vm.expectRevert(abi.encodeWithSelector(IStaking.UnstakeNotReady.selector, readyAt));
        staking.withdraw();
    }

    function test_withdraw_nothingPending_reverts() public {
        _stake(router, 150e18);
        vm.prank(router);
        vm.expectRevert(IStaking.NothingToWithdraw.selector);
        staking.withdraw();
    }

    function test_withdraw_twice_reverts() public {
        _stakeAndRequest(router, 150e18, 60e18);
        skip(UNSTAKE_DELAY);
        vm.startPrank(router);
        staking.withdraw();
        vm.expectRevert(IStaking.NothingToWithdraw.selector);
        staking.withdraw();
        vm.stopPrank();
    }

    // ---------------------------------------------------------------- recordActivity and the lock

    /// @dev Records `who` as routing in a batch committed now (as the settlement).
    function _recordActivity(address who) internal {
        address[] memory rs = new address[](1);
        rs[0] = who;
        vm.prank(settlement);
        staking.recordActivity(rs);
    }

    function test_recordActivity_notSettlement_reverts() public {
        address[] memory rs = new address[](1);
        rs[0] = router;
        vm.prank(router);
        vm.expectRevert(abi.encodeWithSelector(IStaking.NotSettlement.selector, router));
        staking.recordActivity(rs);
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(IStaking.NotSettlement.selector, owner));
        staking.recordActivity(rs);
        assertEq(staking.lastActivityAt(router), 0);
    }

    function test_recordActivity_setsLastActivityAt_succeeds() public {
        address other = makeAddr("other");
        address[] memory rs = new address[](3);
        (rs[0], rs[1], rs[2]) = (router, other, router);
        assertEq(staking.lastActivityAt(router), 0);
        vm.prank(settlement);
        staking.recordActivity(rs);
        uint256 t0 = vm.getBlockTimestamp();
        assertEq(staking.lastActivityAt(router), t0);
        assertEq(staking.lastActivityAt(other), t0);
        assertEq(staking.lastActivityAt(challenger), 0);

        // A later batch moves it forward, for the routers it names only.
        skip(2 hours);
        _recordActivity(router);
        assertEq(staking.lastActivityAt(router), t0 + 2 hours);
        assertEq(staking.lastActivityAt(other), t0);
    }

    function test_recordActivity_emptyList_succeeds() public {
        vm.prank(settlement);
        staking.recordActivity(new address[](0));
        assertEq(staking.lastActivityAt(router), 0);
    }

    function test_withdraw_whileLocked_reverts() public {
        _stakeAndRequest(router, 150e18, 60e18);
        (,, uint64 readyAt) = staking.stakeOf(router);
        // A batch naming the router is committed an hour before its unstake is ready.
        vm.warp(readyAt - 1 hours);
        _recordActivity(router);
        uint64 lockedUntil = readyAt - 1 hours + CHALLENGE_WINDOW;

        vm.warp(readyAt);
        vm.prank(router);
        vm.expectRevert(abi.encodeWithSelector(IStaking.StakeLocked.selector, lockedUntil));
        staking.withdraw();
        vm.warp(lockedUntil - 1);
        vm.prank(router);
        vm.expectRevert(abi.encodeWithSelector(IStaking.StakeLocked.selector, lockedUntil));
        staking.withdraw();
    }

    function test_withdraw_afterLockExpires_succeeds() public {
        _stakeAndRequest(router, 150e18, 60e18);
        (,, uint64 readyAt) = staking.stakeOf(router);
        vm.warp(readyAt - 1 hours);
        _recordActivity(router);
        uint64 lockedUntil = readyAt - 1 hours + CHALLENGE_WINDOW;

        vm.warp(lockedUntil);
        vm.expectEmit(address(staking));
        emit IStaking.Withdrawn(router, 60e18);
        vm.prank(router);
        assertEq(staking.withdraw(), 60e18);
        assertEq(token.balanceOf(router), 60e18);
    }

    function test_withdraw_lockEndedBeforeReadyAt_reverts() public {
        // Activity when unstaking: the lock ends long before readyAt, which still applies.
        _stakeAndRequest(router, 150e18, 60e18);
        _recordActivity(router);
        (,, uint64 readyAt) = staking.stakeOf(router);
        skip(CHALLENGE_WINDOW);
        vm.prank(router);
        vm.expectRevert(abi.encodeWithSelector(IStaking.UnstakeNotReady.selector, readyAt));
        staking.withdraw();
    }

    function test_withdraw_otherRouterActivityDoesNotLock_succeeds() public {
        _stakeAndRequest(router, 150e18, 60e18);
        (,, uint64 readyAt) = staking.stakeOf(router);
        vm.warp(readyAt);
        _recordActivity(makeAddr("other"));
        vm.prank(router);
        assertEq(staking.withdraw(), 60e18);
    }

    function test_withdrawableAt_nothingPending_succeeds() public {
        assertEq(staking.withdrawableAt(router), 0);
        _stake(router, 150e18);
        _recordActivity(router);
        assertEq(staking.withdrawableAt(router), 0, "only pending stake is withdrawable");
    }

    function test_withdrawableAt_readyAtOrLock_succeeds() public {
        _stakeAndRequest(router, 150e18, 60e18);
        (,, uint64 readyAt) = staking.stakeOf(router);
        assertEq(staking.withdrawableAt(router), readyAt, "no activity: readyAt");
        _recordActivity(router);
        assertEq(staking.withdrawableAt(router), readyAt, "a lock that ends first: readyAt");

        vm.warp(readyAt - 1);
        _recordActivity(router);
        uint64 lockedUntil = readyAt - 1 + CHALLENGE_WINDOW;
        assertEq(staking.withdrawableAt(router), lockedUntil, "a later lock: its end");

        vm.warp(lockedUntil);
        vm.prank(router);
        staking.withdraw();
        assertEq(staking.withdrawableAt(router), 0, "withdrawn");
    }

    function test_withdrawableAt_pendingSlashedAway_succeeds() public {
        _stakeAndRequest(router, 150e18, 150e18);
        _recordActivity(router);
        vm.prank(settlement);
        staking.slash(router, 150e18, challenger, 0);
        assertEq(staking.withdrawableAt(router), 0);
    }

    // ---------------------------------------------------------------- slash

    function test_slash_notSettlement_reverts() public {
        _stake(router, 150e18);
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(IStaking.NotSettlement.selector, owner));
        staking.slash(router, 10e18, challenger, 1e18);
    }

    function test_slash_fromActive_succeeds() public {
        _stake(router, 150e18);

        vm.expectEmit(address(staking));
        emit IStaking.Slashed(router, 50e18, 10e18, challenger);
        vm.expectEmit(address(staking));
        emit IStaking.Jailed(router);
        vm.prank(settlement);
        uint256 slashed = staking.slash(router, 50e18, challenger, 10e18);

        assertEq(slashed, 50e18);
        (uint256 active, uint256 pending,) = staking.stakeOf(router);
        assertEq(active, 100e18);
        assertEq(pending, 0);
        assertEq(token.balanceOf(challenger), 10e18);
        assertEq(token.balanceOf(treasury), 40e18);
        assertEq(staking.totalStaked(), 100e18);
        assertEq(token.balanceOf(address(staking)), 100e18);
        assertTrue(staking.jailed(router));
        assertFalse(staking.isActive(router));
    }

    function test_slash_activeThenPending_succeeds() public {
        _stakeAndRequest(router, 150e18, 100e18);
        (,, uint64 readyAt) = staking.stakeOf(router);

        vm.prank(settlement);
        uint256 slashed = staking.slash(router, 80e18, challenger, 0);

        assertEq(slashed, 80e18);
        (uint256 active, uint256 pending, uint64 gotReadyAt) = staking.stakeOf(router);
        assertEq(active, 0);
        assertEq(pending, 70e18);
        assertEq(gotReadyAt, readyAt);
        assertEq(token.balanceOf(treasury), 80e18);
        assertEq(token.balanceOf(challenger), 0);

        // What is left of the pending unstake is still withdrawable at readyAt.
        vm.warp(readyAt);
        vm.prank(router);
        assertEq(staking.withdraw(), 70e18);
    }

    function test_slash_moreThanTotalCaps_succeeds() public {
        _stakeAndRequest(router, 150e18, 50e18);
        vm.prank(settlement);
        uint256 slashed = staking.slash(router, 1_000e18, challenger, 149e18);

        assertEq(slashed, 150e18);
        (uint256 active, uint256 pending, uint64 readyAt) = staking.stakeOf(router);
        assertEq(active, 0);
        assertEq(pending, 0);
        assertEq(readyAt, 0);
        assertEq(token.balanceOf(challenger), 149e18);
        assertEq(token.balanceOf(treasury), 1e18);
        assertEq(staking.totalStaked(), 0);
        assertEq(token.balanceOf(address(staking)), 0);
    }

    function test_slash_pendingDuringUnstake_succeeds() public {
        _stakeAndRequest(router, 150e18, 150e18);
        skip(UNSTAKE_DELAY - 1);
        vm.prank(settlement);
        assertEq(staking.slash(router, 150e18, challenger, 1e18), 150e18);
        skip(1);
        vm.prank(router);
        vm.expectRevert(IStaking.NothingToWithdraw.selector);
        staking.withdraw();
    }

    function test_slash_noStakeStillJails_succeeds() public {
        vm.expectEmit(address(staking));
        emit IStaking.Slashed(router, 0, 0, challenger);
        vm.prank(settlement);
        uint256 slashed = staking.slash(router, 10e18, challenger, 5e18);
        assertEq(slashed, 0);
        assertTrue(staking.jailed(router));
        assertEq(token.balanceOf(challenger), 0);
    }

    function test_slash_rewardEqualsSlashed_reverts() public {
        _stake(router, 150e18);
        vm.prank(settlement);
        vm.expectRevert(abi.encodeWithSelector(IStaking.RewardTooLarge.selector, 50e18, 50e18));
        staking.slash(router, 50e18, challenger, 50e18);
    }

    function test_slash_rewardAboveCappedSlash_reverts() public {
        _stake(router, 150e18);
        vm.prank(settlement);
        vm.expectRevert(abi.encodeWithSelector(IStaking.RewardTooLarge.selector, 160e18, 150e18));
        staking.slash(router, 500e18, challenger, 160e18);
    }

    function test_slash_rewardToZeroChallenger_reverts() public {
        _stake(router, 150e18);
        vm.prank(settlement);
        vm.expectRevert(IStaking.ZeroChallenger.selector);
        staking.slash(router, 50e18, address(0), 1e18);
    }

    function test_slash_noRewardZeroChallenger_succeeds() public {
        _stake(router, 150e18);
        vm.prank(settlement);
        staking.slash(router, 50e18, address(0), 0);
        assertEq(token.balanceOf(treasury), 50e18);
    }

    function test_slash_alreadyJailedEmitsNoJailed_succeeds() public {
        _stake(router, 150e18);
        vm.prank(settlement);
        staking.slash(router, 10e18, challenger, 0);

        vm.recordLogs();
        vm.prank(settlement);
        staking.slash(router, 10e18, challenger, 0);
        assertEq(vm.getRecordedLogs().length, 2, "Slashed + one Transfer, no Jailed");
        assertTrue(staking.jailed(router));
    }

    // ---------------------------------------------------------------- setMinStake

    function test_setMinStake_byOwner_succeeds() public {
        _stake(router, 150e18);
        vm.expectEmit(address(staking));
        emit IStaking.MinStakeSet(MIN_STAKE, 200e18);
        vm.prank(owner);
        staking.setMinStake(200e18);
        assertEq(staking.minStake(), 200e18);
        assertFalse(staking.isActive(router));
    }

    function test_setMinStake_notOwner_reverts() public {
        vm.prank(router);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, router));
        staking.setMinStake(1);
    }

    // ---------------------------------------------------------------- unjail

    function test_unjail_byOwner_succeeds() public {
        _stake(router, 150e18);
        vm.prank(settlement);
        staking.slash(router, 10e18, challenger, 0);
        assertFalse(staking.isActive(router));

        vm.expectEmit(address(staking));
        emit IStaking.Unjailed(router);
        vm.prank(owner);
        staking.unjail(router);
        assertFalse(staking.jailed(router));
        assertTrue(staking.isActive(router));
    }

    function test_unjail_notJailed_reverts() public {
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(IStaking.NotJailed.selector, router));
        staking.unjail(router);
    }

    function test_unjail_notOwner_reverts() public {
        vm.prank(settlement);
        staking.slash(router, 0, challenger, 0);
        vm.prank(router);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, router));
        staking.unjail(router);
    }

    // ---------------------------------------------------------------- views

    function test_isActive_thresholds_succeeds() public {
        assertFalse(staking.isActive(router));
        _stake(router, MIN_STAKE - 1);
        assertFalse(staking.isActive(router));
        _stake(router, 1);
        assertTrue(staking.isActive(router));
        vm.prank(router);
        staking.requestUnstake(1);
        assertFalse(staking.isActive(router), "pending stake does not count");
    }

    function test_totalStaked_sumsRouters_succeeds() public {
        address other = makeAddr("other");
        _stakeAndRequest(router, 150e18, 50e18);
        _stake(other, 70e18);
        assertEq(staking.totalStaked(), 220e18);
        assertEq(token.balanceOf(address(staking)), 220e18);
    }

    // ---------------------------------------------------------------- fuzz

    function testFuzz_stake_anyAmount(uint256 amount) public {
        amount = bound(amount, 1, type(uint128).max);
        _stake(router, amount);
        (uint256 active,,) = staking.stakeOf(router);
        assertEq(active, amount);
        assertEq(staking.totalStaked(), amount);
        assertEq(token.balanceOf(address(staking)), amount);
        assertEq(staking.isActive(router), amount >= MIN_STAKE);
    }

    function testFuzz_requestUnstake_thenWithdraw(uint256 stakeAmount, uint256 unstakeAmount, uint256 wait) public {
        stakeAmount = bound(stakeAmount, 1, type(uint128).max);
        unstakeAmount = bound(unstakeAmount, 1, stakeAmount);
        wait = bound(wait, 0, 2 * uint256(UNSTAKE_DELAY));
        _stakeAndRequest(router, stakeAmount, unstakeAmount);
        (,, uint64 readyAt) = staking.stakeOf(router);
        skip(wait);

        vm.prank(router);
        if (wait < UNSTAKE_DELAY) {
            vm.expectRevert(abi.encodeWithSelector(IStaking.UnstakeNotReady.selector, readyAt));
            staking.withdraw();
        } else {
            assertEq(staking.withdraw(), unstakeAmount);
            assertEq(token.balanceOf(router), unstakeAmount);
        }
        (uint256 active,,) = staking.stakeOf(router);
        assertEq(active, stakeAmount - unstakeAmount);
        assertEq(token.balanceOf(address(staking)), staking.totalStaked());
    }

    /// `withdraw` succeeds exactly from `withdrawableAt`: the later of `readyAt` and the end of
    /// the challenge window of the router's last batch.
    function testFuzz_withdraw_respectsLock(uint256 activityAfter, uint256 wait) public {
        _stakeAndRequest(router, 150e18, 60e18);
        uint256 t0 = vm.getBlockTimestamp();
        activityAfter = bound(activityAfter, 0, 2 * uint256(UNSTAKE_DELAY));
        vm.warp(t0 + activityAfter);
        _recordActivity(router);
        uint64 withdrawable = staking.withdrawableAt(router);
        uint256 readyAt = t0 + UNSTAKE_DELAY;
        uint256 lockedUntil = t0 + activityAfter + CHALLENGE_WINDOW;
        assertEq(withdrawable, readyAt > lockedUntil ? readyAt : lockedUntil);

        wait = bound(wait, 0, 3 * uint256(UNSTAKE_DELAY));
        vm.warp(t0 + activityAfter + wait);
        vm.prank(router);
        if (vm.getBlockTimestamp() < readyAt) {
            // forge-lint: disable-next-line(unsafe-typecast)
            vm.expectRevert(abi.encodeWithSelector(IStaking.UnstakeNotReady.selector, uint64(readyAt)));
            staking.withdraw();
        } else if (vm.getBlockTimestamp() < lockedUntil) {
            // forge-lint: disable-next-line(unsafe-typecast)
            vm.expectRevert(abi.encodeWithSelector(IStaking.StakeLocked.selector, uint64(lockedUntil)));
            staking.withdraw();
        } else {
            assertGe(vm.getBlockTimestamp(), withdrawable);
            assertEq(staking.withdraw(), 60e18);
        }
    }

    function testFuzz_slash_amounts(uint256 activeAmount, uint256 pendingAmount, uint256 amount, uint256 reward)
        public
    {
        activeAmount = bound(activeAmount, 0, type(uint96).max);
        pendingAmount = bound(pendingAmount, 0, type(uint96).max);
        amount = bound(amount, 0, type(uint128).max);
        uint256 total = activeAmount + pendingAmount;
        if (total > 0) _stake(router, total);
        if (pendingAmount > 0) {
            vm.prank(router);
            staking.requestUnstake(pendingAmount);
        }
        uint256 expected = amount < total ? amount : total;
        reward = bound(reward, 0, expected == 0 ? 0 : expected - 1);

        vm.prank(settlement);
        uint256 slashed = staking.slash(router, amount, challenger, reward);

        assertEq(slashed, expected);
        (uint256 active, uint256 pending,) = staking.stakeOf(router);
        uint256 fromActive = expected < activeAmount ? expected : activeAmount;
        assertEq(active, activeAmount - fromActive);
        assertEq(pending, pendingAmount - (expected - fromActive));
        assertEq(token.balanceOf(challenger), expected == 0 ? 0 : reward);
        assertEq(token.balanceOf(treasury), expected == 0 ? 0 : expected - reward);
        assertEq(staking.totalStaked(), total - expected);
        assertEq(token.balanceOf(address(staking)), total - expected);
        assertTrue(staking.jailed(router));
    }

    function testFuzz_slash_rewardNotBelowSlashed_reverts(uint256 amount, uint256 reward) public {
        _stake(router, 150e18);
        amount = bound(amount, 1, 1_000e18);
        uint256 expected = amount < 150e18 ? amount : 150e18;
        reward = bound(reward, expected, type(uint256).max);
        vm.prank(settlement);
        vm.expectRevert(abi.encodeWithSelector(IStaking.RewardTooLarge.selector, reward, expected));
        staking.slash(router, amount, challenger, reward);
    }

    function testFuzz_constructor_delayMustExceedWindow(uint64 delay, uint64 window) public {
        if (delay <= window) {
            vm.expectRevert(
                abi.encodeWithSelector(IStaking.UnstakeDelayNotAboveChallengeWindow.selector, delay, window)
            );
        }
        new Staking(IERC20(address(token)), settlement, treasury, MIN_STAKE, delay, window, owner);
    }
}

/// Invariants over random sequences of stake / requestUnstake / withdraw / slash / warp.
contract StakingInvariantTest is StakingBase {
    StakingHandler internal handler;

    function setUp() public override {
        super.setUp();
        handler = new StakingHandler(staking, token, settlement, challenger);
        targetContract(address(handler));
    }

    function _sumOfStakes() internal view returns (uint256 sum) {
        for (uint256 i = 0; i < handler.actorCount(); i++) {
            (uint256 active, uint256 pending,) = staking.stakeOf(handler.actors(i));
            sum += active + pending;
        }
    }

    function invariant_tokenConservation() public view {
        uint256 sum = _sumOfStakes();
        assertEq(token.balanceOf(address(staking)), sum, "balance == sum of active + pending");
        assertEq(staking.totalStaked(), sum, "totalStaked == sum of active + pending");
        assertEq(handler.ghostStaked(), handler.ghostWithdrawn() + handler.ghostSlashed() + sum, "in == out + held");
    }

    function invariant_slashedNotAboveStaked() public view {
        assertLe(handler.ghostSlashed(), handler.ghostStaked());
        assertLe(handler.ghostRewards(), handler.ghostSlashed());
        assertEq(token.balanceOf(challenger) + token.balanceOf(treasury), handler.ghostSlashed());
    }

    function invariant_noWithdrawalBeforeReadyAt() public view {
        assertFalse(handler.ghostEarlyWithdrawal());
    }

    function invariant_noWithdrawalWhileLocked() public view {
        assertFalse(handler.ghostWithdrawalWhileLocked());
    }

    function invariant_withdrawableAtIsLaterOfReadyAtAndLock() public view {
        for (uint256 i = 0; i < handler.actorCount(); i++) {
            address actor = handler.actors(i);
            (, uint256 pending, uint64 readyAt) = staking.stakeOf(actor);
            uint64 lockedUntil = handler.ghostLastActivity(actor) + CHALLENGE_WINDOW;
            uint64 expected = pending == 0 ? 0 : (readyAt > lockedUntil ? readyAt : lockedUntil);
            assertEq(staking.withdrawableAt(actor), expected);
            assertEq(staking.lastActivityAt(actor), handler.ghostLastActivity(actor));
        }
    }

    /// The handler reaches every path the invariants are about (a fixed sequence, not fuzzed).
    function test_handler_reachesWithdrawAndSlash_succeeds() public {
        handler.stake(0, 500e18);
        handler.stake(1, 300e18);
        handler.requestUnstake(0, 200e18);
        handler.withdraw(0); // too early: caught, not counted
        assertEq(handler.withdrawCalls(), 0);
        handler.warp(3 days);
        handler.warp(3 days);
        handler.warp(1 days - 1 hours);
        handler.recordActivity(0); // a batch names it an hour before readyAt
        handler.warp(1 hours);
        handler.withdraw(0); // ready, but locked: caught, not counted
        assertEq(handler.withdrawCalls(), 0);
        assertEq(handler.lockedWithdrawCalls(), 1);
        handler.warp(1 days);
        handler.withdraw(0);
        assertEq(handler.withdrawCalls(), 1);
        handler.slash(1, 100e18, 5_000);
        assertEq(handler.slashCalls(), 1);
        assertEq(handler.ghostSlashed(), 100e18);
        assertFalse(handler.ghostEarlyWithdrawal());
        invariant_tokenConservation();
        invariant_slashedNotAboveStaked();
    }

    function invariant_unstakeDelayAboveChallengeWindow() public view {
        assertGt(staking.unstakeDelay(), staking.challengeWindow());
    }
}
