// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";

import {Deploy} from "../script/Deploy.s.sol";

contract DeployTest is Test {
    /// One test, defaults first: `vm.setEnv` is process-wide and tests run in parallel.
    function test_run_wiresContractsWithDefaultsThenEnvironment_succeeds() public {
        Deploy.Deployed memory d = new Deploy().run();
        assertEq(d.staking.settlement(), address(d.settlement));
        assertEq(address(d.settlement.staking()), address(d.staking));
        assertEq(address(d.staking.token()), address(d.token));
        assertEq(d.settlement.challengeWindow(), 7 days);
        assertEq(d.staking.unstakeDelay(), 14 days);
        assertEq(d.settlement.slashBps(), 1_000);
        assertEq(d.settlement.rewardBps(), 5_000);
        assertEq(d.settlement.sequencer(), d.settlement.owner());
        assertEq(d.token.totalSupply(), 1e9 ether);
        assertEq(d.token.balanceOf(d.settlement.owner()), 1e9 ether);

        address sequencer = makeAddr("sequencer");
        vm.setEnv("ROUTING_SEQUENCER", vm.toString(sequencer));
        vm.setEnv("ROUTING_STAKE_TOKEN", vm.toString(address(d.token)));
        vm.setEnv("ROUTING_CHALLENGE_WINDOW", "3600");
        vm.setEnv("ROUTING_UNSTAKE_DELAY", "7200");
        vm.setEnv("ROUTING_SLASH_BPS", "2500");
        Deploy.Deployed memory e = new Deploy().run();
        assertEq(address(e.token), address(d.token), "an existing token is reused");
        assertEq(e.settlement.sequencer(), sequencer);
        assertEq(e.settlement.challengeWindow(), 3600);
        assertEq(e.staking.unstakeDelay(), 7200);
        assertEq(e.settlement.slashBps(), 2500);
        assertEq(e.staking.settlement(), address(e.settlement));
    }
}
