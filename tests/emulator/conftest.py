"""Fixtures for the emulator's own tests: one real HTTPS emulator per session, reset before every test.

`emulator` is an m365emulator.testing.EmulatorServer: `.base_url`, `.ca_file`, `.state`, `.control` (httpx
client on /_emulator), `.seed(spec=None)` (one control call; default: testing.standard_world()), `.http()`,
`.requests_session()` (for MSAL), `.authority(tenant)`.
"""

from __future__ import annotations

import pytest

# The session emulator is tests/conftest.py's `emulator_server` fixture (one per test process). This name is
# kept, as a plain value, for modules that import it from here: a fixture imported into another module would
# be a second session fixture (a second emulator).
emulator_server = None


@pytest.fixture
def emulator(emulator_server):
    """The session's emulator, emptied first (a fresh world for each test)."""
    emulator_server.reset()
    return emulator_server


@pytest.fixture
def world(emulator):
    """The standard world seeded: returns the seed answer (ids, secret values)."""
    return emulator.seed()
