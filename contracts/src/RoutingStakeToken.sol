// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";

/// @title RoutingStakeToken
/// @notice The stake token of the local devnet: a plain fixed-supply ERC20 with EIP-2612 permits,
///         so a router stakes from an ordinary wallet in one transaction
///         (`Staking.stakeWithPermit`). The whole supply is minted at construction.
contract RoutingStakeToken is ERC20, ERC20Permit {
    /// @notice `holders` and `amounts` differ in length.
    error LengthMismatch(uint256 holders, uint256 amounts);

    /// @param holders Receivers of the initial supply.
    /// @param amounts What each receives.
    constructor(address[] memory holders, uint256[] memory amounts)
        ERC20("Routing Stake", "RSTAKE")
        ERC20Permit("Routing Stake")
    {
        if (holders.length != amounts.length) {
            revert LengthMismatch(holders.length, amounts.length);
        }
        for (uint256 i; i < holders.length; ++i) {
            _mint(holders[i], amounts[i]);
        }
    }
}
