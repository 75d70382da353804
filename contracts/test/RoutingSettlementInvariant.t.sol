// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {RoutingSettlement} from "../src/RoutingSettlement.sol";
import {RoutingStakeToken} from "../src/RoutingStakeToken.sol";
import {Staking} from "../src/Staking.sol";
import {SettlementHandler} from "./utils/SettlementHandler.sol";

/// Invariants of settlement and staking together, over random sequences of stakes (plain and
/// permit), unstake requests, withdrawals, batch commits with honest, misrouted and duplicate
/// decisions, misrouting and duplicate challenges, and time.
contract RoutingSettlementInvariantTest is Test {
    uint256 internal constant ROUTER_BALANCE = 1_000_000e18;
    uint64 internal constant CHALLENGE_WINDOW = 1 days;
    /// Just above the window, so ripe unstakes often meet open windows.
    uint64 internal constant UNSTAKE_DELAY = 1 days + 6 hours;

    RoutingStakeToken internal token;
    Staking internal staking;
    RoutingSettlement internal settlement;
    SettlementHandler internal handler;

    address internal sequencer = makeAddr("sequencer");
    address internal treasury = makeAddr("treasury");

    function setUp() public {
        vm.warp(1_700_000_000);
        address[] memory routers = new address[](4);
        uint256[] memory keys = new uint256[](4);
        uint256[] memory amounts = new uint256[](4);
        for (uint256 i; i < 4; ++i) {
            (routers[i], keys[i]) = makeAddrAndKey(string.concat("router", vm.toString(i)));
            amounts[i] = ROUTER_BALANCE;
        }
        address[] memory challengers = new address[](2);
        challengers[0] = makeAddr("challenger0");
        challengers[1] = makeAddr("challenger1");

        token = new RoutingStakeToken(routers, amounts);
        address predicted = vm.computeCreateAddress(address(this), vm.getNonce(address(this)) + 1);
        staking = new Staking(
            IERC20(address(token)),
            predicted,
            treasury,
            100e18,
            UNSTAKE_DELAY,
            CHALLENGE_WINDOW,
            makeAddr("stakingOwner")
        );
        settlement = new RoutingSettlement(staking, sequencer, makeAddr("owner"), 1_000, 2_000);
        assertEq(address(settlement), predicted);

        handler = new SettlementHandler(settlement, token, routers, keys, challengers);
        bytes4[] memory selectors = new bytes4[](9);
        selectors[0] = SettlementHandler.stake.selector;
        selectors[1] = SettlementHandler.stakeWithPermit.selector;
        selectors[2] = SettlementHandler.requestUnstake.selector;
        selectors[3] = SettlementHandler.withdraw.selector;
        selectors[4] = SettlementHandler.warp.selector;
        selectors[5] = SettlementHandler.commit.selector;
        selectors[6] = SettlementHandler.commit.selector; // commits twice as likely
        selectors[7] = SettlementHandler.challengeMisrouting.selector;
        selectors[8] = SettlementHandler.challengeDuplicate.selector;
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
        targetContract(address(handler));
    }

    /// Every token is with a router, a challenger, the staking contract or the treasury.
    function invariant_tokenConservation() public view {
        uint256 sum = token.balanceOf(address(staking)) + token.balanceOf(treasury);
        for (uint256 i; i < handler.routerCount(); ++i) {
            sum += token.balanceOf(handler.routers(i));
        }
        for (uint256 i; i < handler.challengerCount(); ++i) {
            sum += token.balanceOf(handler.challengers(i));
        }
        assertEq(sum, token.totalSupply());
    }

    /// The staking contract holds exactly the stake it accounts for, which is what went in less
    /// what was withdrawn or slashed.
    function invariant_totalStakedEqualsBalance() public view {
        assertEq(staking.totalStaked(), token.balanceOf(address(staking)));
        assertEq(staking.totalStaked(), handler.ghostStaked() - handler.ghostWithdrawn() - handler.ghostSlashed());
        uint256 sum;
        for (uint256 i; i < handler.routerCount(); ++i) {
            (uint256 active, uint256 pending,) = staking.stakeOf(handler.routers(i));
            sum += active + pending;
        }
        assertEq(sum, staking.totalStaked());
    }

    /// Slashes never exceed what was staked; rewards and the treasury's share add up to them.
    function invariant_slashedNotAboveStaked() public view {
        assertLe(handler.ghostSlashed(), handler.ghostStaked());
        assertLe(handler.ghostRewards(), handler.ghostSlashed());
        uint256 paidOut = token.balanceOf(treasury);
        for (uint256 i; i < handler.challengerCount(); ++i) {
            paidOut += token.balanceOf(handler.challengers(i));
        }
        assertEq(paidOut, handler.ghostSlashed(), "treasury + challengers == slashed");
    }

    /// No offence (a misrouted leaf, or a router's duplicate for one request) is slashed twice.
    function invariant_noDoubleSlash() public view {
        assertLe(handler.maxSlashCount(), 1);
    }

    /// No withdrawal succeeded while a batch naming the router could still be challenged.
    function invariant_noWithdrawalEscapesChallenge() public view {
        assertFalse(handler.ghostWithdrawalEscaped());
    }

    /// Every challenge succeeded or failed exactly as predicted from the handler's records.
    function invariant_challengesAsPredicted() public view {
        assertEq(handler.unexpected(), 0, string(handler.lastUnexpected()));
    }

    function invariant_unstakeDelayAboveChallengeWindow() public view {
        assertGt(staking.unstakeDelay(), staking.challengeWindow());
        assertEq(settlement.challengeWindow(), staking.challengeWindow());
    }

    /// The handler reaches every path the invariants are about (a fixed sequence, not fuzzed).
    function test_handler_reachesEveryPath_succeeds() public {
        handler.stake(0, 5_000e18);
        handler.stakeWithPermit(1, 3_000e18);
        handler.stake(2, 2_000e18);
        handler.stake(3, 1_000e18);
        handler.stake(1, 1_000e18); // plain stake after a permit stake
        assertEq(handler.permitStakes(), 1);
        assertEq(handler.stakes(), 4);
        handler.requestUnstake(0, 1_000e18);

        for (uint256 s; s < 12; ++s) {
            handler.commit(s);
        }
        assertEq(handler.commits(), 12);
        assertGt(handler.pairCount(), 0, "some duplicates");
        for (uint256 i; i < handler.itemCount(); ++i) {
            handler.challengeMisrouting(1, i, i);
        }
        assertGt(handler.misroutingSlashes(), 0, "some misroutings slashed");
        assertGt(handler.noViolations(), 0, "honest decisions survive");
        handler.challengeMisrouting(1, 0, 0);
        handler.challengeMisrouting(1, 1, 0);
        handler.challengeMisrouting(1, 2, 0);
        assertGt(handler.alreadySlashed() + handler.noViolations(), 0);
        for (uint256 p; p < handler.pairCount(); ++p) {
            handler.challengeDuplicate(2, p);
        }
        assertGt(handler.duplicateSlashes(), 0, "some duplicates slashed");

        // Router 0 tries to leave when its unstake is ready: locked behind a batch naming it,
        // free once that batch's window has closed.
        skip(UNSTAKE_DELAY);
        address router0 = handler.routers(0);
        for (uint256 s = 1_000; handler.ghostLastCommit(router0) != vm.getBlockTimestamp(); ++s) {
            handler.commit(s);
        }
        handler.withdraw(0);
        assertEq(handler.lockedWithdrawals(), 1, "locked");
        assertEq(handler.withdrawals(), 0);
        skip(CHALLENGE_WINDOW);
        handler.challengeMisrouting(1, 0, 0);
        assertGt(handler.windowsClosed(), 0, "late challenges fail");
        handler.withdraw(0);
        assertEq(handler.withdrawals(), 1, "withdrawn after the window");

        invariant_tokenConservation();
        invariant_totalStakedEqualsBalance();
        invariant_slashedNotAboveStaked();
        invariant_noDoubleSlash();
        invariant_noWithdrawalEscapesChallenge();
        invariant_challengesAsPredicted();
    }
}
