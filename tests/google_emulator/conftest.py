"""Fixtures for the Google emulator's tests: the real HTTPS emulator (the session's m365emulator server,
tests/conftest.py's `emulator_server`, which serves googleemulator under /google), with the Google world
emptied before every test.

`google` is the EmulatorServer; `gworld` the standard Google world seeded (googleemulator.testing)."""

from __future__ import annotations

import pytest

from googleemulator.testing import standard_world


@pytest.fixture
def google_server(emulator_server):
    """The session emulator of tests/conftest.py; `gcontrol` and `gbase` are its Google side."""
    return emulator_server


@pytest.fixture
def google(google_server):
    google_server.gcontrol.post("/reset").raise_for_status()
    return google_server


@pytest.fixture
def gworld(google):
    response = google.gcontrol.post("/seed", json=standard_world())
    response.raise_for_status()
    return response.json()
