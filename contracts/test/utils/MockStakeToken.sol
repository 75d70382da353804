// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";

/// @notice Test stake token: an ERC20 with EIP-2612 permit and an open mint.
contract MockStakeToken is ERC20, ERC20Permit {
    constructor() ERC20("Mock Stake", "MSTK") ERC20Permit("Mock Stake") {}

    /// @notice Mints `amount` to `to`; anyone may call.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }
}
