// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Script} from "forge-std/Script.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

import {RoutingSettlement} from "../src/RoutingSettlement.sol";
import {RoutingStakeToken} from "../src/RoutingStakeToken.sol";
import {Staking} from "../src/Staking.sol";
import {IStaking} from "../src/interfaces/IStaking.sol";

/// @title Deploy
/// @notice Deploys staking and settlement (and, unless one is given, a stake token) on a chain that
///         does not start from this project's genesis. The local devnet needs no deployment: its
///         genesis (`routing-genesis`) has the contracts at fixed addresses.
/// @dev `Staking.settlement` and `RoutingSettlement.staking` are immutable and name each other,
///      so the settlement's address is predicted from the deployer's nonce. Settings come from
///      the environment (defaults in brackets):
///      ROUTING_OWNER [the deployer], ROUTING_SEQUENCER [owner], ROUTING_TREASURY [owner],
///      ROUTING_STAKE_TOKEN [deploy RoutingStakeToken, whole supply to the owner],
///      ROUTING_TOKEN_SUPPLY [1e9 tokens], ROUTING_MIN_STAKE [1,000 tokens],
///      ROUTING_CHALLENGE_WINDOW [7 days], ROUTING_UNSTAKE_DELAY [14 days],
///      ROUTING_SLASH_BPS [1,000], ROUTING_REWARD_BPS [5,000].
///      Run: `forge script script/Deploy.s.sol --rpc-url $RPC --private-key $KEY --broadcast`.
contract Deploy is Script {
    /// @notice The deployed (or given) contracts.
    struct Deployed {
        IERC20 token;
        Staking staking;
        RoutingSettlement settlement;
    }

    /// @notice Deploys the contracts with the settings from the environment.
    function run() external returns (Deployed memory d) {
        vm.startBroadcast();
        (, address deployer,) = vm.readCallers();
        address owner = vm.envOr("ROUTING_OWNER", deployer);
        address sequencer = vm.envOr("ROUTING_SEQUENCER", owner);
        address treasury = vm.envOr("ROUTING_TREASURY", owner);

        d.token = IERC20(vm.envOr("ROUTING_STAKE_TOKEN", address(0)));
        if (address(d.token) == address(0)) {
            address[] memory holders = new address[](1);
            uint256[] memory amounts = new uint256[](1);
            holders[0] = owner;
            amounts[0] = vm.envOr("ROUTING_TOKEN_SUPPLY", uint256(1e9 ether));
            d.token = IERC20(address(new RoutingStakeToken(holders, amounts)));
        }

        // Staking is created at the deployer's current nonce, the settlement right after it.
        address settlementAt = vm.computeCreateAddress(deployer, vm.getNonce(deployer) + 1);
        d.staking = new Staking(
            d.token,
            settlementAt,
            treasury,
            vm.envOr("ROUTING_MIN_STAKE", uint256(1_000 ether)),
            uint64(vm.envOr("ROUTING_UNSTAKE_DELAY", uint256(14 days))),
            uint64(vm.envOr("ROUTING_CHALLENGE_WINDOW", uint256(7 days))),
            owner
        );
        d.settlement = new RoutingSettlement(
            IStaking(address(d.staking)),
            sequencer,
            owner,
            uint16(vm.envOr("ROUTING_SLASH_BPS", uint256(1_000))),
            uint16(vm.envOr("ROUTING_REWARD_BPS", uint256(5_000)))
        );
        vm.stopBroadcast();
        require(address(d.settlement) == settlementAt, "Deploy: settlement address mispredicted");
    }
}
