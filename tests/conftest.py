"""Shared fixtures: the personas every app's tests use (healthchecks-style) and the emulator.

alice: system admin. bob: regular staff on alice's schedule. charlie: regular staff who must get nothing of
bob's. Anonymous is the plain client.
"""

from __future__ import annotations

import functools
import os

import pytest

os.environ.setdefault("SHIFTDESK_FAST_PASSWORD_HASHER", "true")  # for subprocesses the tests start
# DEBUG is off unless set (production's default); the manage.py subprocesses tests start run the demo's way,
# with the demo's keys, which the production system check refuses with DEBUG off (tests/ops test that).
os.environ.setdefault("DEBUG", "true")
# Playwright's sync API runs an event loop in the test thread; Django then refuses DB access as async-unsafe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

PASSWORD = "correct horse battery staple"

pytest_plugins = ["tests.browser.fixtures"]


def pytest_sessionfinish(session, exitstatus):
    # pytest-django removes the SQLite test database file but not its WAL companions (settings.py).
    from pathlib import Path

    from django.conf import settings

    if not settings.configured:  # emulator-only runs (-p no:django)
        return
    name = settings.DATABASES["default"].get("TEST", {}).get("NAME")
    if name and settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        for leftover in Path(name).parent.glob(Path(name).name + "*"):
            leftover.unlink(missing_ok=True)


def pytest_collection_modifyitems(items):
    from tests.browser.fixtures import mark_browser_tests

    mark_browser_tests(items)


@pytest.fixture(autouse=True)
def fast_password_hasher(request):
    """MD5 instead of PBKDF2 for test users (~0.3 s each otherwise).

    pytest-django has loaded settings before this file runs, so the environment variable above cannot reach
    this process; override the setting itself. Emulator-only runs (-p no:django) have no settings fixture.
    """
    if request.config.pluginmanager.hasplugin("django"):
        settings = request.getfixturevalue("settings")
        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session")
def emulator_server(tmp_path_factory):
    """The one real HTTPS emulator of the test session (of each xdist worker), Microsoft 365 and Google alike,
    shared by every folder: each folder's `emulator` (or Google) fixture empties it (reset) and points ShiftDesk
    at it for its test."""
    from m365emulator.testing import EmulatorServer

    class SessionEmulator(EmulatorServer):
        """Also the Google emulator: the same server serves googleemulator under /google (`gbase`), with
        its own control API (`gcontrol`); each Google fixture empties the Google world itself."""

        @functools.cached_property
        def gbase(self) -> str:
            return self.base_url + "/google"

        @functools.cached_property
        def gcontrol(self):
            return self.http(base_url=self.base_url + "/_emulator/google")

        def stop(self) -> None:
            if "gcontrol" in self.__dict__:
                self.gcontrol.close()
            super().stop()

        def reset(self) -> None:
            """The world emptied, and the EWS switches a test may flip (which /reset leaves) back to defaults:
            one folder's test that turns EWS off must not leave it off for another folder's."""
            from dataclasses import fields

            from m365emulator.ews.store import EwsSettings, ews_settings

            super().reset()
            switches, defaults = ews_settings(self.state), EwsSettings()
            for f in fields(EwsSettings):
                setattr(switches, f.name, getattr(defaults, f.name))

    with SessionEmulator(state_dir=tmp_path_factory.mktemp("m365emulator")) as server:
        yield server


@pytest.fixture(autouse=True)
def exchange_may_reach_the_emulator(request):
    """The emulator's EWS listens on 127.0.0.1, a loopback address Password Authentication refuses unless the
    allow-list names it (shiftdesk/exchange/network.py); the tests allow it as the demo does (dev.py).
    tests/exchange/test_ssrf.py shows that without this entry the emulator cannot be reached."""
    if request.config.pluginmanager.hasplugin("django"):
        request.getfixturevalue("settings").EXCHANGE_ALLOWED_HOSTS = ["127.0.0.1"]


@pytest.fixture
def alice(db):
    from shiftdesk.accounts.models import User

    return User.objects.create_user(
        "alice@example.org", PASSWORD, first_name="Alice", last_name="Admin", role=User.Role.ADMIN
    )


@pytest.fixture
def bob(db):
    from shiftdesk.accounts.models import User

    return User.objects.create_user("bob@example.org", PASSWORD, first_name="Bob", last_name="Staff")


@pytest.fixture
def charlie(db):
    from shiftdesk.accounts.models import User

    return User.objects.create_user("charlie@example.org", PASSWORD, first_name="Charlie", last_name="Other")


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


@pytest.fixture
def bob_client(client, bob):
    client.force_login(bob)
    return client
