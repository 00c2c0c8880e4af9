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


def pytest_collection_finish(session):
    """Less of the test process's time in Python's cyclic garbage collector (it was ~6% of it).

    What was imported and collected so far (~250,000 objects: Django, the emulators, the libraries, the tests) is
    frozen into the permanent generation, so full collections no longer walk it; and the youngest generation is
    collected every 20,000 new container objects instead of 700 (tests allocate in bursts: a page render, a
    sync step), which still keeps garbage cycles short-lived."""
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)


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


# --- the SQLite test database, migrated once -------------------------------------------------------------------
# Each test process (each xdist worker, each `pytest` run) migrates its own SQLite test database: ~1.4 s of CPU.
# Instead the first one to migrate keeps a copy, a template named by a hash of every installed app's migration
# files (and Django's and SQLite's versions); later processes copy it and Django only checks that nothing is left
# to migrate (~0.1 s). A changed migration file gives a new name, so a stale template is never used. PostgreSQL
# (DATABASE_URL), --reuse-db, --create-db and --nomigrations keep pytest-django's own behaviour.


def sqlite_template(createdb: bool, use_migrations: bool):
    """(test database file, template file) when the test database can come from a template, else None."""
    import hashlib
    import sqlite3
    from pathlib import Path

    import django
    from django.apps import apps
    from django.conf import settings

    db = settings.DATABASES
    test_name = db["default"].get("TEST", {}).get("NAME")
    if len(db) != 1 or not db["default"]["ENGINE"].endswith("sqlite3") or createdb or not use_migrations:
        return None
    if not test_name or test_name == ":memory:" or "mode=memory" in test_name:
        return None
    digest = hashlib.sha256(f"{django.__version__} {sqlite3.sqlite_version}".encode())
    for app in apps.get_app_configs():
        for path in sorted((Path(app.path) / "migrations").glob("*.py")):
            digest.update(f"{app.label}/{path.name}".encode() + path.read_bytes())
    return Path(test_name), Path(test_name).parent / f"test-template-{digest.hexdigest()[:16]}.sqlite3"


@pytest.fixture(scope="session")
def django_db_keepdb(request, django_db_keepdb, django_db_createdb, django_db_use_migrations,
                     django_db_modify_db_settings):  # fmt: skip
    """True (keep the test database Django finds) when the template was copied into place; otherwise
    pytest-django's answer (--reuse-db)."""
    import shutil

    if django_db_keepdb:
        return True
    found = sqlite_template(django_db_createdb, django_db_use_migrations)
    if found is None or not found[1].exists():
        return False
    test_db, template = found
    for leftover in test_db.parent.glob(test_db.name + "*"):  # a WAL file of an earlier process with this pid
        leftover.unlink()
    shutil.copyfile(template, test_db)
    request.config.stash[TEMPLATE_USED] = True
    return True


TEMPLATE_USED = pytest.StashKey[bool]()


@pytest.fixture(scope="session")
def django_db_setup(
    request, django_db_setup, django_db_blocker, django_db_createdb, django_db_use_migrations
):
    """pytest-django's setup; then, if the database was migrated here and no template exists yet, a copy of
    it becomes the template (written to a temporary name and renamed: workers starting together race safely)."""
    found = sqlite_template(django_db_createdb, django_db_use_migrations)
    if found is None or found[1].exists() or request.config.stash.get(TEMPLATE_USED, False):
        return
    import os
    import sqlite3

    from django.db import connection

    _, template = found
    with django_db_blocker.unblock():
        name = connection.settings_dict["NAME"]  # the test database, now that it is set up
        partial = template.with_name(f"{template.name}.{os.getpid()}.partial")
        # SQLite's backup API: a consistent copy, the WAL's pages included, written as a plain database file.
        source, target = sqlite3.connect(name), sqlite3.connect(partial)
        try:
            source.backup(target)
        finally:
            source.close()
            target.close()
        for stale in template.parent.glob("test-template-*.sqlite3"):
            if stale != template:
                stale.unlink(missing_ok=True)  # templates of migrations that have changed since
        partial.replace(template)


@pytest.fixture(autouse=True, scope="session")
def templates_render_without_recording(request):
    """Templates render as in production, without Django's test instrumentation.

    setup_test_environment() (pytest-django runs it for the session) replaces Template._render with a version
    that sends a signal on every render, and the test Client copies the whole context for each one, to fill
    response.context and response.templates. Every form widget and <option> is a template render: Admin >
    Schedules Settings (~600 time zones) took 0.12 s to render that way instead of 0.025 s. Tests that read
    response.context or response.templates ask for `recorded_templates`; without it response.context is None
    (reading it fails loudly) and response.templates is [].
    """
    if not request.config.pluginmanager.hasplugin("django"):
        yield
        return
    request.getfixturevalue("django_test_environment")
    from django.template.base import Template
    from django.test.utils import _TestState, instrumented_test_render

    saved = getattr(_TestState, "saved_data", None)
    if saved is None or Template._render is not instrumented_test_render:
        yield  # no test environment set up here (settings not configured): nothing to undo
        return
    Template._render = saved.template_render
    yield
    Template._render = instrumented_test_render  # as teardown_test_environment() expects to find it


@pytest.fixture
def recorded_templates():
    """Django's test instrumentation back for one test: response.context and response.templates filled."""
    from django.template.base import Template
    from django.test.utils import instrumented_test_render

    uninstrumented = Template._render
    Template._render = instrumented_test_render
    yield
    Template._render = uninstrumented


@pytest.fixture(autouse=True)
def fast_test_settings(request):
    """MD5 instead of PBKDF2 for test users (~0.3 s each otherwise), and the sync engine's in-step retry of a
    transient failure after 5-20 ms instead of 0.2-0.8 s (SYNC_RETRY_BACKOFF_BASE_SECONDS; still jittered
    and doubling per attempt, still a real wait).

    pytest-django has loaded settings before this file runs, so the environment variable above cannot reach
    this process; override the setting itself. Emulator-only runs (-p no:django) have no settings fixture.
    """
    if request.config.pluginmanager.hasplugin("django"):
        settings = request.getfixturevalue("settings")
        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
        settings.SYNC_RETRY_BACKOFF_BASE_SECONDS = 0.005


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
            # The session is over and its state directory is thrown away: uvicorn need not wait for the
            # keep-alive connections that clients of ShiftDesk and of the tests leave open (its graceful
            # shutdown gave them 2 s, at the end of every test process), nor save the state.
            if self._server is not None:
                self._server.force_exit = True
            super().stop()

        def point_microsoft(self, settings, public_url: str = "http://127.0.0.1:8000") -> None:
            """ShiftDesk's Microsoft login and Graph URLs and CA bundle set to this emulator for the test (the
            `settings` fixture undoes it), and the public URL its Redirect URLs are built from."""
            settings.MICROSOFT_LOGIN_URL = self.base_url
            settings.MICROSOFT_GRAPH_URL = self.base_url
            settings.MICROSOFT_CA_BUNDLE = self.ca_file
            settings.PUBLIC_BASE_URL = public_url

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
