"""Fixtures for the Google emulator's tests: the real HTTPS emulator (m365emulator's server, which serves
googleemulator under /google), one per session, with the Google world emptied before every test.

`google` is the EmulatorServer; `gworld` the standard Google world seeded (googleemulator.testing)."""

from __future__ import annotations

import pytest

from googleemulator.testing import standard_world
from m365emulator.testing import EmulatorServer


@pytest.fixture(scope="session")
def google_server(tmp_path_factory):
    with EmulatorServer(state_dir=tmp_path_factory.mktemp("googleemulator")) as server:
        server.gcontrol = server.http(base_url=server.base_url + "/_emulator/google")
        server.gbase = server.base_url + "/google"
        yield server
        server.gcontrol.close()


@pytest.fixture
def google(google_server):
    google_server.gcontrol.post("/reset").raise_for_status()
    return google_server


@pytest.fixture
def gworld(google):
    response = google.gcontrol.post("/seed", json=standard_world())
    response.raise_for_status()
    return response.json()
