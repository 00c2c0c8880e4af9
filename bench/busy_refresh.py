"""Benchmark: refresh Outlook busy data for many users against the emulator at 100 ms Graph latency.

    .venv/bin/python bench/busy_refresh.py [--users 500] [--latency-ms 100] [--events 12] [--threads 64]

The emulator runs in its own process (it would otherwise share our GIL) and is reached over HTTPS like
Microsoft. Setup, not timed: N users sign in through the emulator's pages (MSAL's auth code flow, as
Authorize with Microsoft Account does), each gets `--events` meetings over the 8-week horizon (control API,
"as the user"). Timed: one `refreshbusy` pass (the product code: claim, token from the MSAL cache, Graph
calendarView, store) over all N users on a thread pool with one shared HTTP pool.

The throttle-envelope bound is what Outlook's limits allow: per mailbox at most 4 requests in flight, each
taking at least the injected latency, mailboxes independent, so
    bound = max over mailboxes of ceil(requests to that mailbox / 4) x latency
with the request counts read from the emulator's request log. The ratio wall/bound is printed (target 1.5).
Database: DATABASE_URL if set (e.g. PostgreSQL), else a fresh SQLite file.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
import warnings
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHILD = """
import json, sys, threading
from m365emulator.testing import EmulatorServer
server = EmulatorServer(state_dir=sys.argv[1])
server.start()
print(json.dumps({"base_url": server.base_url, "ca_file": server.ca_file}), flush=True)
sys.stdin.read()  # serve until the parent closes our stdin
server.stop()
"""
REDIRECT = "http://127.0.0.1:8000/microsoft/oauth2/callback/"


def start_emulator(state_dir: str) -> tuple[subprocess.Popen, dict]:
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, state_dir],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=ROOT,
        text=True,
    )
    line = proc.stdout.readline()
    if not line:
        raise SystemExit("the emulator did not start")
    return proc, json.loads(line)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--events", type=int, default=12, help="meetings per user over the horizon")
    parser.add_argument("--threads", type=int, default=64, help="users refreshed at the same time")
    parser.add_argument("--profile", action="store_true", help="print where the timed pass spent its CPU")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", message=".*form_post.*")

    tmp = tempfile.TemporaryDirectory(prefix="busy-bench-")
    proc, emu = start_emulator(os.path.join(tmp.name, "emulator"))
    try:
        os.environ.setdefault("DATABASE_URL", f"sqlite:///{tmp.name}/bench.sqlite3")
        os.environ["MICROSOFT_LOGIN_URL"] = emu["base_url"]
        os.environ["MICROSOFT_GRAPH_URL"] = emu["base_url"]
        os.environ["MICROSOFT_CA_BUNDLE"] = emu["ca_file"]
        os.environ["SHIFTDESK_PUBLIC_URL"] = "http://127.0.0.1:8000"
        os.environ["SHIFTDESK_VAR_DIR"] = tmp.name
        os.environ.setdefault("LOG_LEVEL", "WARNING")
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shiftdesk.settings")
        import django

        django.setup()
        return run(args, emu)
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)
        tmp.cleanup()


def run(args: argparse.Namespace, emu: dict) -> int:
    import httpx
    import msal
    from django.core.management import call_command
    from django.db import connection

    from m365emulator.testing import redirect_params, sign_in, standard_world
    from shiftdesk.accounts.models import User
    from shiftdesk.availability.management.commands.refreshbusy import refresh_pass
    from shiftdesk.availability.models import BusyInterval, FreeBusyState
    from shiftdesk.calendarsync.actions import do_choose_calendars, do_connect_calendar
    from shiftdesk.lib.http import graph_client
    from shiftdesk.microsoft import auth, identity
    from shiftdesk.microsoft.models import AzureADSettings
    from shiftdesk.scheduling.models import Site

    call_command("migrate", verbosity=0)
    control = httpx.Client(base_url=emu["base_url"] + "/_emulator", verify=emu["ca_file"], timeout=60)
    world = standard_world()
    domain = "contoso.onmicrosoft.com"
    world["tenants"][0]["users"] += [
        {
            "upn": f"staff{i}@{domain}",
            "display_name": f"Staff {i}",
            "password": "Staff-pw1",
            "time_zone": "America/Chicago",
        }
        for i in range(args.users)
    ]
    world["apps"][0]["redirect_uris"] = [REDIRECT]
    seeded = control.post("/seed", json=world)
    seeded.raise_for_status()
    app = seeded.json()["apps"][0]
    control.post("/consents", json={"client_id": app["client_id"], "tenant": domain}).raise_for_status()
    admin = User.objects.create_user("admin@example.org", None, role=User.Role.ADMIN)
    azure = AzureADSettings.load()
    azure.application_id = app["client_id"]
    azure.client_secret = world["apps"][0]["secrets"][0]["value"]
    azure.secret_last4 = azure.client_secret[-4:]
    azure.account_type = "multi_personal"
    azure.enabled = True
    azure.updated_by = admin
    azure.save()
    Site.load()

    print(f"setup: {args.users} users sign in and get {args.events} meetings each ...", flush=True)
    started = time.monotonic()
    horizon_days = 8 * 7

    def connect(i: int) -> None:
        login = f"staff{i}@{domain}"
        cache = msal.SerializableTokenCache()
        msal_app = auth.build_app(azure, token_cache=cache, fresh=True)
        flow = msal_app.initiate_auth_code_flow(
            identity.USER_SCOPES, redirect_uri=REDIRECT, response_mode="query"
        )
        with httpx.Client(verify=emu["ca_file"], timeout=60) as browser:
            params = redirect_params(sign_in(browser, flow["auth_uri"], login, "Staff-pw1", "accept"))
        result = msal_app.acquire_token_by_auth_code_flow(flow, params, scopes=identity.USER_SCOPES)
        assert "access_token" in result, result
        user = User.objects.create_user(f"staff{i}@example.org", None, first_name="Staff", last_name=str(i))
        claims = result["id_token_claims"]
        conn = do_connect_calendar(
            user, provider="microsoft", account_email=login, account_name=f"Staff {i}", account_id=claims["oid"],
            credentials=cache.serialize(),
            provider_settings={"client_id": azure.application_id, "segment": azure.tenant_segment,
                               "tenant_id": claims["tid"], "home_account_id": msal_app.get_accounts()[0]["home_account_id"]},
        )  # fmt: skip
        box = control.get(f"/graph/mailboxes/{login}").json()
        calendar = next(c for c in box["calendars"] if c["isDefaultCalendar"])
        do_choose_calendars(
            conn, sync_calendar_id=calendar["id"], sync_calendar_name="Calendar",
            freebusy_calendar_id=calendar["id"], freebusy_calendar_name="Calendar",
        )  # fmt: skip
        for n in range(args.events):
            day = 1 + (n * horizon_days) // max(args.events, 1)
            start = time.strftime("%Y-%m-%dT10:00:00", time.gmtime(time.time() + day * 86400))
            end = start.replace("T10:", "T11:")
            control.post(
                f"/graph/mailboxes/{login}/events",
                json={"subject": f"Meeting {n}", "start": {"dateTime": start, "timeZone": "America/Chicago"},
                      "end": {"dateTime": end, "timeZone": "America/Chicago"}, "showAs": "busy"},
            ).raise_for_status()  # fmt: skip
        connection.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(connect, range(args.users)))
    print(f"setup done in {time.monotonic() - started:.1f} s", flush=True)

    control.put("/faults", json={"latency_ms": args.latency_ms}).raise_for_status()
    before = len(control.get("/graph/requests", params={"limit": 100000}).json()["value"])
    limits = httpx.Limits(max_connections=args.threads * 4, max_keepalive_connections=args.threads * 4)
    with graph_client(limits=limits) as http:
        profiler = None
        if args.profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        t0, cpu0 = time.perf_counter(), time.process_time()
        refreshed, attempted = refresh_pass(threads=args.threads, limit=args.users + 10, http=http)
        wall = time.perf_counter() - t0
        if profiler is not None:
            import pstats

            profiler.disable()
            stats = pstats.Stats(profiler)
            by_area: Counter = Counter()
            for (path, _, _), (_, _, tottime, _, _) in stats.stats.items():
                parts = path.split("site-packages/")
                by_area[
                    parts[1].split("/")[0]
                    if len(parts) > 1
                    else ("shiftdesk" if "shiftdesk" in path else "python")
                ] += tottime
            print("CPU by package:", ", ".join(f"{k} {v:.2f} s" for k, v in by_area.most_common(12)))
    control.delete("/faults")
    log = control.get("/graph/requests", params={"limit": 100000}).json()["value"][before:]
    per_mailbox = Counter(e.get("mailbox") for e in log if "calendarView" in e.get("path", ""))
    latency = args.latency_ms / 1000
    bound = max((math.ceil(n / 4) * latency for n in per_mailbox.values()), default=latency)
    served = [e["ms"] for e in log if "calendarView" in e.get("path", "") and e.get("ms") is not None]
    cpu = time.process_time() - cpu0
    states = Counter(FreeBusyState.objects.values_list("status", flat=True))
    print(f"users refreshed: {refreshed} of {attempted} (states: {dict(states)}); busy intervals stored: "
          f"{BusyInterval.objects.count()}")  # fmt: skip
    print(f"Graph calendarView requests: {sum(per_mailbox.values())} over {len(per_mailbox)} mailboxes "
          f"(max {max(per_mailbox.values(), default=0)} per mailbox); threads: {args.threads}")  # fmt: skip
    print(
        f"wall time: {wall:.2f} s; our process's CPU time: {cpu:.2f} s ({1000 * cpu / max(attempted, 1):.1f} ms per user)"
    )
    if served:
        print(f"emulator time per request (incl. injected latency): mean {sum(served) / len(served):.0f} ms")
    print(
        f"throttle-envelope bound: {bound:.2f} s (max per mailbox of ceil(requests/4) x {args.latency_ms:.0f} ms)"
    )
    print(f"ratio: {wall / bound:.2f}x (target <= 1.5x)" if bound else "ratio: n/a (no latency injected)")
    return 0 if refreshed == args.users else 1


if __name__ == "__main__":
    raise SystemExit(main())
