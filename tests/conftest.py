"""Fixtures shared by every test directory."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def ca_dir(tmp_path_factory):
    """One local CA for the emulators of the whole session (generated once, in a temporary directory)."""
    return tmp_path_factory.mktemp("emulator-ca")
