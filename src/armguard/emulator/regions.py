"""The regions the emulator offers: (name, display name, geography), as `/locations` lists them."""

from __future__ import annotations

LOCATIONS: tuple[tuple[str, str, str], ...] = (
    ("westeurope", "West Europe", "Europe"),
    ("northeurope", "North Europe", "Europe"),
    ("eastus", "East US", "US"),
    ("eastus2", "East US 2", "US"),
    ("westus2", "West US 2", "US"),
    ("uksouth", "UK South", "UK"),
    ("swedencentral", "Sweden Central", "Europe"),
    ("australiaeast", "Australia East", "Asia Pacific"),
)
DISPLAY_NAMES = [display for _, display, _ in LOCATIONS]
