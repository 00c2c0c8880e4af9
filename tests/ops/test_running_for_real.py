"""Running it for real, proven (issue 11, item 8): ShiftDesk started as the README says for production —
gunicorn from deploy/shiftdesk-web.service, PostgreSQL, DEBUG off, real keys, `syncworker` and `refreshbusy`
from their units — with the emulator standing in for Microsoft. Over HTTP: an admin logs in and sets up
Azure AD OAuth 2, a staff member authorizes through the real OAuth flow, the admin assigns a shift, and the
event reaches the staff member's Outlook mailbox. The only departure from the README: plain http on
127.0.0.1 (no TLS proxy here), so SECURE_SSL_REDIRECT=false.

Needs PostgreSQL at 127.0.0.1:5432 (trust auth, as in CI); skipped, saying why, when it is unreachable.
"""

from __future__ import annotations

import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from cryptography.fernet import Fernet

from m365emulator.testing import STANDARD_SECRET, EmulatorServer, sign_in
from tests.microsoft.conftest import MEGAN, world_spec
from tests.ops.conftest import ROOT, STRONG_SECRET_KEY, clean_env

pytestmark = pytest.mark.slow

PG = "postgres://postgres@127.0.0.1:5432"
DB_NAME = "shiftdesk_prodtest"
ADMIN = ("admin@library.example", "admin-long-pass-2026")
STAFF = ("staff@library.example", "staff-long-pass-2026")
VENV_BIN = Path(sys.executable).parent


def exec_start(unit: str, bind: str | None = None) -> list[str]:
    """The ExecStart command of a shipped unit, with this checkout's venv (and another bind address)."""
    text = (ROOT / "deploy" / unit).read_text()
    command = re.search(r"^ExecStart=(.+)$", text, re.M).group(1)
    command = command.replace("/opt/shiftdesk/.venv/bin/", f"{VENV_BIN}/")
    if bind:
        command = command.replace("--bind 127.0.0.1:8000", f"--bind {bind}")
    return shlex.split(command)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def postgres_database():
    psycopg = pytest.importorskip("psycopg")
    try:
        admin = psycopg.connect(f"{PG}/postgres", autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL is unreachable at 127.0.0.1:5432, which this test runs on: {exc}")
    with admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{DB_NAME}"')
    yield f"{PG}/{DB_NAME}"
    with psycopg.connect(f"{PG}/postgres", autocommit=True, connect_timeout=3) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')


class Services:
    """The production processes, their logs, and a way to stop them all."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env, self.logs, self.procs = env, logs, {}

    def manage(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, f"manage.py {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def start(self, name: str, command: list[str]) -> None:
        log = (self.logs / f"{name}.log").open("w")
        self.procs[name] = subprocess.Popen(
            command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
        )

    def check_alive(self) -> None:
        for name, proc in self.procs.items():
            assert proc.poll() is None, f"{name} exited {proc.returncode}:\n{self.tail(name)}"

    def tail(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text()[-3000:]

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()


def wait_until(condition, what: str, services: Services, seconds: float = 90):
    """Poll `condition` until it returns something truthy; the deadline (not a sleep) decides failure."""
    deadline = time.monotonic() + seconds
    while True:
        services.check_alive()
        result = condition()
        if result:
            return result
        assert time.monotonic() < deadline, f"{what} did not happen within {seconds:.0f} s:\n" + "\n".join(
            f"--- {n}\n{services.tail(n)}" for n in services.procs
        )
        time.sleep(0.25)


def logged_in(web: str, email: str, password: str) -> httpx.Client:
    client = httpx.Client(base_url=web, timeout=30)
    assert client.get("/login/").status_code == 200
    response = client.post("/login/", data={"username": email, "password": password, **csrf(client)})
    assert response.status_code == 302, response.text[:2000]
    return client


def csrf(client: httpx.Client) -> dict[str, str]:
    return {"csrfmiddlewaretoken": client.cookies["csrftoken"]}


def test_production_setup_logs_in_connects_and_syncs_a_shift_to_outlook(postgres_database, tmp_path):
    port = free_port()
    web = f"http://127.0.0.1:{port}"
    with EmulatorServer(state_dir=tmp_path / "emulator") as emulator:
        world = emulator.seed(world_spec(redirect=f"{web}/microsoft/oauth2/callback/"))
        app_id = world["apps"][0]["client_id"]
        env = clean_env(
            DATABASE_URL=postgres_database,
            SECRET_KEY=STRONG_SECRET_KEY,
            SHIFTDESK_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
            SHIFTDESK_PUBLIC_URL=web,
            SECURE_SSL_REDIRECT="false",
            MICROSOFT_LOGIN_URL=emulator.base_url,
            MICROSOFT_GRAPH_URL=emulator.base_url,
            MICROSOFT_CA_BUNDLE=emulator.ca_file,
            SHIFTDESK_VAR_DIR=str(tmp_path / "var"),
        )
        env.pop("SHIFTDESK_FAST_PASSWORD_HASHER", None)  # production hashing
        services = Services(env, tmp_path)
        try:
            # The README's steps: check, migrate, collectstatic, createadmin; then the units' commands.
            assert "no issues" in services.manage("check")
            services.manage("migrate", "--noinput")
            services.manage("collectstatic", "--noinput")
            services.manage("createadmin", ADMIN[0], "--password", ADMIN[1])
            services.start("web", exec_start("shiftdesk-web.service", bind=f"127.0.0.1:{port}"))
            services.start("syncworker", exec_start("shiftdesk-syncworker@.service"))
            services.start("refreshbusy", exec_start("shiftdesk-refreshbusy.service"))

            def healthy():
                try:
                    response = httpx.get(f"{web}/healthz", timeout=5)
                except httpx.TransportError:
                    return None
                body = response.json() if response.status_code == 200 else {}
                return (
                    body if body.get("workers") == {"syncworker": "alive", "refreshbusy": "alive"} else None
                )

            assert wait_until(healthy, "/healthz with both workers alive", services)["database"] == "ok"
            assert httpx.get(f"{web}/static/shiftdesk/shiftdesk.css", timeout=10).status_code == 200
            assert httpx.get(f"{web}/nope/", timeout=10).text.find("Traceback") == -1  # DEBUG is off

            # The admin sets up Azure AD OAuth 2 (checked live against the emulator) and adds a staff member.
            admin = logged_in(web, *ADMIN)
            saved = admin.post(
                "/admin/integrations/azure/",
                data={
                    "application_id": app_id,
                    "client_secret": STANDARD_SECRET,
                    "secret_expires_on": "2030-01-31",
                    "account_type": "multi_personal",
                    "enabled": "enabled",
                    **csrf(admin),
                },
            )
            assert saved.status_code == 302, re.findall(r"(?:errorlist|alert)[^>]*>(.*?)</", saved.text, re.S)
            created = admin.post(
                "/admin/accounts/new/",
                data={"email": STAFF[0], "first_name": "Sam", "last_name": "Staff", "role": "regular",
                      "password": STAFF[1], **csrf(admin)},
            )  # fmt: skip
            assert created.status_code == 302, re.findall(
                r'class="errorlist[^>]*>(.*?)</ul>', created.text, re.S
            )

            # The staff member authorizes through the real OAuth flow and saves their calendars.
            staff = logged_in(web, *STAFF)
            start = staff.get("/account/calendar-sync/microsoft/authorize/")
            assert start.status_code == 302 and start.headers["location"].startswith(emulator.base_url)
            with emulator.http() as browser:
                back = sign_in(browser, start.headers["location"], *MEGAN)
            assert back.status_code == 302 and back.headers["location"].startswith(
                f"{web}/microsoft/oauth2/callback/"
            )
            assert staff.get(back.headers["location"]).status_code == 302
            page = staff.get("/account/calendar-sync/").text
            assert "is connected" in page
            calendar_id = re.findall(r'<option value="([^"]+)" selected>Calendar</option>', page)[0]
            chosen = staff.post(
                "/account/calendar-sync/microsoft/calendars/",
                data={"sync_calendar": calendar_id, "freebusy_calendar": calendar_id, **csrf(staff)},
            )
            assert chosen.status_code == 302

            # A schedule with a shift (data setup), then the admin assigns the staff member over HTTP.
            shift_id = services.manage(
                "shell", "-c",
                "import datetime as dt; from django.utils import timezone; "
                "from shiftdesk.accounts.models import User; "
                "from shiftdesk.scheduling.models import Position, Schedule, Shift, Site; Site.load(); "
                f"s = Schedule.objects.create(name='Reference'); s.staff.add(User.objects.get(email='{STAFF[0]}')); "
                "start = (timezone.now() + dt.timedelta(days=3)).replace(minute=0, second=0, microsecond=0); "
                "print(Shift.objects.create(schedule=s, position=Position.objects.create(name='Prod Run Desk'), "
                "start=start, end=start + dt.timedelta(hours=4), staff_needed=1).pk)",
            ).split()[-1]  # fmt: skip
            assigned = admin.post(f"/shifts/{shift_id}/assign/", data={"staff": STAFF[0], **csrf(admin)})
            assert assigned.status_code == 302, assigned.text[:2000]

            def event_in_outlook():
                mailbox = emulator.control.get(f"/graph/mailboxes/{MEGAN[0]}").json()
                return [e for e in mailbox["events"] if "Prod Run Desk" in (e.get("subject") or "")]

            events = wait_until(event_in_outlook, "the shift's event in the staff member's Outlook", services)
            assert len(events) == 1 and events[0]["calendarId"] == calendar_id

            status = admin.get("/admin/accounts/integration-status/").text
            assert "data-worker-stale" not in status and STAFF[0] in status
        finally:
            services.stop()
