"""Fixtures for the emulator's own tests: one real HTTPS emulator per session, reset before every test.

`emulator` is an m365emulator.testing.EmulatorServer: `.base_url`, `.ca_file`, `.state`, `.control` (httpx
client on /_emulator), `.seed(spec=None)` (one control call; default: testing.standard_world()), `.http()`,
`.requests_session()` (for MSAL), `.authority(tenant)`.
"""

from __future__ import annotations

import pytest

from m365emulator.testing import EmulatorServer


@pytest.fixture(scope="session")
def emulator_server(tmp_path_factory):
    with EmulatorServer(state_dir=tmp_path_factory.mktemp("m365emulator")) as server:
        yield server


@pytest.fixture
def emulator(emulator_server):
    """The session's emulator, emptied first (a fresh world for each test)."""
    emulator_server.reset()
    return emulator_server


@pytest.fixture
def world(emulator):
    """The standard world seeded: returns the seed answer (ids, secret values)."""
    return emulator.seed()
