"""Benchmark: refresh Outlook busy data for many users against the emulator at 100 ms Graph latency.

    .venv/bin/python bench/busy_refresh.py [--users 500] [--latency-ms 100] [--events 12] [--connections 64]
        [--threads 4] [--profile]

The emulator runs in its own process (it would otherwise share our GIL) and is reached over HTTPS like
Microsoft. Setup, not timed: N users sign in through the emulator's pages (MSAL's auth code flow, as
Authorize with Microsoft Account does), each gets `--events` meetings over the 8-week horizon (control API,
"as the user"). Timed: one `refreshbusy` pass (the product code, `refresh_pass`: claim, token from the MSAL
cache stored on each connection, Graph calendarView with at most `--connections` requests in flight, store
in bulk) over all N users. It is a pass of a running worker, cold where it matters: no access token cached in memory, no
connection to Graph open (64 TLS handshakes are timed). What a worker process does once before its first
pass is not timed: importing the modules the reads use (anyio's asyncio backend, ~40 ms) and `quiet_heap()`,
the garbage collection it runs between passes.

The throttle-envelope bound is what Outlook's limits allow: per mailbox at most 4 requests in flight, each
taking at least the injected latency, mailboxes independent, so
    literal bound = max over mailboxes of ceil(requests to that mailbox / 4) x latency
with the request counts read from the emulator's request log. With at most C connections in all, also
    bound at C = max(literal bound, requests x latency / C)
The ratios wall/bound are printed; the target is wall <= 1.5 x the bound at the stated connection limit.
"CPU per user" is this process's CPU time during the pass (all threads) divided by the users refreshed.
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

# The emulator's process. In memory only (no periodic saves to disk), and told `freeze` before the timed pass:
# what survived setup is left out of the garbage collector's reach, as `m365emulator serve` does while busy,
# so neither saving nor a full collection of the seeded world stalls the requests being measured.
CHILD = """
import gc, json, sys
from m365emulator.testing import EmulatorServer
server = EmulatorServer(state_dir=sys.argv[1], persist=False)
server.start()
print(json.dumps({"base_url": server.base_url, "ca_file": server.ca_file}), flush=True)
for line in sys.stdin:  # serve until the parent closes our stdin
    if line.strip() == "freeze":
        gc.collect()
        gc.freeze()
        print("frozen", flush=True)
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
    parser.add_argument(
        "--connections",
        type=int,
        default=64,
        help="Graph requests in flight at once (the worker's --connections)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=4,
        help="threads for token refreshes and EWS reads (the worker's --threads; all tokens are fresh here)",
    )
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
        os.environ.setdefault("DEBUG", "false")  # as in production: DEBUG keeps every SQL query in memory
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shiftdesk.settings")
        import django

        django.setup()
        return run(args, emu, proc)
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)
        tmp.cleanup()


def run(args: argparse.Namespace, emu: dict, proc: subprocess.Popen) -> int:
    import httpx
    import msal
    from django.core.management import call_command
    from django.db import connection

    from m365emulator.testing import redirect_params, sign_in, standard_world
    from shiftdesk.accounts.models import User
    from shiftdesk.availability.management.commands.refreshbusy import quiet_heap, refresh_pass
    from shiftdesk.availability.models import BusyInterval, FreeBusyState
    from shiftdesk.calendarsync.actions import do_choose_calendars, do_connect_calendar
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
    proc.stdin.write("freeze\n")
    proc.stdin.flush()
    assert proc.stdout.readline().strip() == "frozen"
    import anyio._backends._asyncio  # noqa: F401 - what a worker imports at its first pass (see above)

    quiet_heap()  # as the worker does before its first pass and between passes
    before = len(control.get("/graph/requests", params={"limit": 100000}).json()["value"])
    queries = [0]

    def count(execute, sql, params, many, context):
        queries[0] += 1
        return execute(sql, params, many, context)

    profilers: list = []
    if args.profile:
        import cProfile
        import threading

        def profile_new_thread(*_):  # the reads' event loop and the token threads have their own profilers
            sys.setprofile(None)
            thread_profiler = cProfile.Profile()
            profilers.append(thread_profiler)
            thread_profiler.enable()

        threading.setprofile(profile_new_thread)
        profilers.append(cProfile.Profile())
        profilers[0].enable()
    with connection.execute_wrapper(count):
        t0, cpu0 = time.perf_counter(), time.process_time()
        refreshed, attempted = refresh_pass(
            connections=args.connections, threads=args.threads, limit=args.users + 10
        )
        wall = time.perf_counter() - t0
        cpu = time.process_time() - cpu0
    if profilers:
        import pstats
        import threading

        threading.setprofile(None)
        stats = pstats.Stats(profilers[0])
        for extra in profilers[1:]:
            stats.add(extra)
        by_area: Counter = Counter()
        for (path, _, _), (_, _, tottime, _, _) in stats.stats.items():
            parts = path.split("site-packages/")
            if len(parts) > 1:
                area = parts[1].split("/")[0]
            elif "shiftdesk" in path or "m365emulator" in path:
                area = "shiftdesk"
            else:
                area = "python (stdlib, builtins, waiting)"
            by_area[area] += tottime
        print("CPU by package:", ", ".join(f"{k} {v:.2f} s" for k, v in by_area.most_common(12)))
        stats.sort_stats("tottime").print_stats(15)
    control.delete("/faults")
    log = control.get("/graph/requests", params={"limit": 100000}).json()["value"][before:]
    views = [e for e in log if "calendarView" in e.get("path", "")]
    per_mailbox = Counter(e.get("mailbox") for e in views)
    latency = args.latency_ms / 1000
    literal = max((math.ceil(n / 4) * latency for n in per_mailbox.values()), default=latency)
    at_limit = max(literal, len(log) * latency / max(args.connections, 1))
    served = [e["ms"] for e in views if e.get("ms") is not None]
    states = Counter(FreeBusyState.objects.values_list("status", flat=True))
    print(f"users refreshed: {refreshed} of {attempted} (states: {dict(states)}); busy intervals stored: "
          f"{BusyInterval.objects.count()}")  # fmt: skip
    print(f"Graph requests: {len(log)} ({len(views)} calendarView, statuses "
          f"{dict(Counter(e.get('status') for e in log))}) over {len(per_mailbox)} mailboxes "
          f"(max {max(per_mailbox.values(), default=0)} per mailbox); connections: {args.connections}; "
          f"threads: {args.threads}")  # fmt: skip
    print(f"wall time: {wall:.2f} s")
    print(f"our process's CPU time: {cpu:.2f} s ({1000 * cpu / max(attempted, 1):.2f} ms per user); "
          f"SQL queries in the calling thread: {queries[0]}")  # fmt: skip
    if served:
        print(f"emulator time per request (incl. injected latency): mean {sum(served) / len(served):.0f} ms")
    if latency:
        print(f"bound at {args.connections} connections: {at_limit:.2f} s (max(literal bound, {len(log)} requests x "
              f"{args.latency_ms:.0f} ms / {args.connections})); ratio {wall / at_limit:.2f}x (target <= 1.5x)")  # fmt: skip
        print(f"literal throttle-envelope bound: {literal:.2f} s (max per mailbox of ceil(requests/4) x "
              f"{args.latency_ms:.0f} ms, unlimited connections); ratio {wall / literal:.2f}x")  # fmt: skip
    else:
        print("ratios: n/a (no latency injected)")
    return 0 if refreshed == args.users else 1


if __name__ == "__main__":
    raise SystemExit(main())
