"""Benchmark: the schedule week grid with 150 staff and 1,000 shifts in one week.

Prints the SQL query count at two data sizes (it must not grow with the data) and the median / p95 server
time of rendering the grid through Django's test client, logged in as a system admin (the heaviest page:
assign and unassign forms on every shift). Target: median < 100 ms.

    .venv/bin/python bench/week_grid.py [--runs 30]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/shiftdesk .venv/bin/python bench/week_grid.py

It works in a throwaway test database (a temporary SQLite file, or test_<name> on PostgreSQL), never in yours.
Rows are bulk-inserted directly: this measures reading the grid, not the write paths.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "shiftdesk.settings")
os.environ.setdefault("SHIFTDESK_FAST_PASSWORD_HASHER", "true")
os.environ.setdefault("LOG_LEVEL", "WARNING")


def build(schedule_name: str, staff_count: int, shift_count: int, first_day: date):
    from shiftdesk.accounts.models import User
    from shiftdesk.scheduling.models import Assignment, Position, Schedule, Shift, Site

    site = Site.load()
    tz = site.tzinfo
    schedule = Schedule.objects.create(name=schedule_name)
    positions = [Position.objects.get_or_create(name=f"{schedule_name} position {i}")[0] for i in range(6)]
    staff = User.objects.bulk_create(
        [
            User(
                email=f"{schedule_name.lower()}.{i}@bench.example",
                first_name=f"Staff{i}",
                last_name=schedule_name,
            )
            for i in range(staff_count)
        ]
    )
    schedule.staff.add(*staff)
    # A realistic week: the same daily pattern every day (so rows repeat across the days), made of
    # position x location x start-time combinations, 1-3 staff each.
    per_day = -(-shift_count // 7)
    pattern = [
        (n % len(positions), (n // len(positions)) % 9, 7 * 60 + (n * 37) % (12 * 60)) for n in range(per_day)
    ]
    shifts = []
    for n in range(shift_count):
        day, slot = divmod(n, per_day)
        position_index, desk, minutes = pattern[slot]
        midnight = datetime.combine(first_day + timedelta(days=day), datetime.min.time()).replace(tzinfo=tz)
        start = midnight + timedelta(minutes=minutes - minutes % 15)
        shifts.append(
            Shift(
                schedule=schedule,
                position=positions[position_index],
                location=f"Desk {desk}",
                start=start,
                end=start + timedelta(hours=2 + slot % 3),
                staff_needed=1 + slot % 3,
                note="Bring keys" if slot % 10 == 0 else "",
            )
        )
    shifts = Shift.objects.bulk_create(shifts)
    assignments = []
    k = 0
    for shift in shifts:
        filled = shift.staff_needed - (1 if shift.pk % 5 == 0 else 0)  # ~20% of shifts keep an open slot
        for _ in range(filled):
            assignments.append(Assignment(shift=shift, user=staff[k % len(staff)]))
            k += 1
    Assignment.objects.bulk_create(assignments)
    return schedule, len(assignments)


def measure(client, url: str, runs: int) -> tuple[int, list[float], int]:
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    reset_queries()  # Django clears the log at each request start; start the capture from an empty log
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, response.status_code
    query_count = len(ctx.captured_queries)  # now: the next request's start clears the log it reads from
    size = len(response.content)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200
    return query_count, times, size


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--staff", type=int, default=150)
    parser.add_argument("--shifts", type=int, default=1000)
    args = parser.parse_args()

    import django
    from django.conf import settings

    django.setup()
    settings.DEBUG = False  # DEBUG records every query in memory and would inflate the timings
    from django.db import connection

    tmp = None
    if connection.vendor == "sqlite":
        tmp = tempfile.TemporaryDirectory(prefix="shiftdesk-bench-")
        connection.settings_dict["TEST"]["NAME"] = str(Path(tmp.name) / "bench.sqlite3")
    # No setup_test_environment(): its instrumented template rendering would be measured too.
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        from django.test import Client

        from shiftdesk.accounts.models import User
        from shiftdesk.scheduling.grid import week_start

        admin = User.objects.create_user("bench-admin@bench.example", "x", role=User.Role.ADMIN)
        first = week_start(date(2026, 11, 1))  # the week of the fall-back DST change, for good measure
        # Requests name the host ShiftDesk is served at (ALLOWED_HOSTS comes from SHIFTDESK_PUBLIC_URL, and with
        # DEBUG off, production's default, the test client's "testserver" is refused with 400).
        client = Client(HTTP_HOST=urlsplit(settings.PUBLIC_BASE_URL).netloc)
        client.force_login(admin)

        small, small_assigned = build("Small", 10, 50, first)
        big, big_assigned = build("Big", args.staff, args.shifts, first)
        small_q, _, _ = measure(client, f"/schedules/{small.pk}/?week={first}", 1)
        big_q, times, size = measure(client, f"/schedules/{big.pk}/?week={first}", args.runs)
        times.sort()
        p95 = times[min(len(times) - 1, int(round(0.95 * len(times))) - 1)]
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(
            f"database: {connection.vendor}; load average {load} on {os.cpu_count()} CPUs (timings scale with it)"
        )
        print(
            f"queries: {small_q} with 10 staff / 50 shifts ({small_assigned} assignments); "
            f"{big_q} with {args.staff} staff / {args.shifts} shifts ({big_assigned} assignments)"
        )
        print(f"page size: {size / 1024:.0f} KiB")
        print(
            f"server time over {args.runs} renders: median {statistics.median(times):.1f} ms, p95 {p95:.1f} ms, "
            f"min {times[0]:.1f} ms (target: median < 100 ms)"
        )
        if small_q != big_q:
            print("FAIL: the query count grows with the data")
            sys.exit(1)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        if tmp is not None:
            tmp.cleanup()


if __name__ == "__main__":
    main()
