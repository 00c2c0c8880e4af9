"""`manage.py refreshbusy [--once]`: the free/busy worker. Any number may run on any hosts.

Each pass enrolls newly connected users, lists those due, and refreshes them on a pool of threads (one
shared HTTP connection pool; within each user at most 4 requests in flight, Outlook's per-mailbox limit).
Every user is claimed with a conditional UPDATE inside `refresh_busy_for_user`, so two workers never read
the same mailbox at once. SIGTERM/SIGINT: the pass in progress finishes its users, then the command exits.
"""

from __future__ import annotations

import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
from django.core.management.base import BaseCommand
from django.db import close_old_connections, connection
from django.utils import timezone

from shiftdesk.availability.refresh import due_user_ids, enroll_connected_users, refresh_busy_for_user
from shiftdesk.lib.http import graph_client


def refresh_pass(*, threads: int = 16, limit: int = 500, http: httpx.Client | None = None) -> tuple[int, int]:
    """One pass over the users due now: (refreshed, attempted)."""
    enroll_connected_users()
    user_ids = due_user_ids(timezone.now(), limit=limit)
    if not user_ids:
        return 0, 0

    if threads <= 1:
        results = [refresh_busy_for_user(uid, http=http) for uid in user_ids]
    else:
        # Each thread takes every n-th user and closes its own database connection once, at the end (a
        # connection per user would cost a connect per user).
        def run(chunk: list[int]) -> list[bool]:
            try:
                return [refresh_busy_for_user(uid, http=http) for uid in chunk]
            finally:
                connection.close()

        chunks = [user_ids[i::threads] for i in range(min(threads, len(user_ids)))]
        with ThreadPoolExecutor(max_workers=len(chunks), thread_name_prefix="refreshbusy") as pool:
            results = [ok for chunk in pool.map(run, chunks) for ok in chunk]
    return sum(results), len(results)


class Command(BaseCommand):
    help = (
        "Read staff's busy times from Outlook (their Calendar to Check Free/Busy Status), as they fall due."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--once", action="store_true", help="run one pass over the users due now, then exit"
        )
        parser.add_argument("--threads", type=int, default=16, help="users refreshed at the same time")
        parser.add_argument("--poll", type=float, default=10.0, help="seconds between passes when idle")

    def handle(self, *args, once: bool = False, threads: int = 16, poll: float = 10.0, **options):
        stop = threading.Event()
        if not once and threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: stop.set())
        limits = httpx.Limits(
            max_connections=max(threads, 1) * 4, max_keepalive_connections=max(threads, 1) * 4
        )
        with graph_client(limits=limits) as http:
            while True:
                if not once:
                    close_old_connections()  # a long-running worker drops broken or too-old connections
                started = time.monotonic()
                refreshed, attempted = refresh_pass(threads=threads, http=http)
                if attempted:
                    self.stdout.write(
                        f"refreshed {refreshed} of {attempted} users in {time.monotonic() - started:.2f} s"
                    )
                if once or stop.is_set():
                    return
                if not attempted:
                    stop.wait(poll)
                    if stop.is_set():
                        return
