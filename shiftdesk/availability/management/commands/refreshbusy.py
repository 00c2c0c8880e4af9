"""`manage.py refreshbusy [--once]`: the free/busy worker. Any number may run on any hosts.

Each pass enrolls newly connected users, lists those due, and refreshes them together with
`refresh_busy_for_users`: one conditional UPDATE claims them (so two workers never read the same mailbox at
once), Graph reads go concurrently (`--connections` requests in flight, at most 4 per mailbox, Outlook's
limit), and results are stored in bulk. Work that waits on another server, an access token MSAL must
refresh or a Password Authentication (EWS) read, runs on `--threads` threads. Between passes the loop runs
the Outlook change-notification sweep and `quiet_heap()`. SIGTERM/SIGINT: the pass in progress finishes its
users, then the command exits.
"""

from __future__ import annotations

import gc
import signal
import threading
import time

from django.core.management.base import BaseCommand
from django.db import close_old_connections
from django.utils import timezone

from shiftdesk.availability.notifications import Sweeper
from shiftdesk.availability.refresh import (
    CONNECTIONS,
    due_user_ids,
    enroll_connected_users,
    refresh_busy_for_users,
)
from shiftdesk.google.push import Sweeper as GoogleSweeper
from shiftdesk.ops import heartbeat


def refresh_pass(*, connections: int = CONNECTIONS, threads: int = 4, limit: int = 500) -> tuple[int, int]:
    """One pass over the users due now: (refreshed, attempted)."""
    enroll_connected_users()
    user_ids = due_user_ids(timezone.now(), limit=limit)
    if not user_ids:
        return 0, 0
    results = refresh_busy_for_users(user_ids, connections=connections, threads=threads)
    return sum(results.values()), len(user_ids)


def quiet_heap() -> None:
    """Between passes: collect the last pass's garbage, then leave what survives (the modules, settings and
    caches a worker keeps) out of the garbage collector's reach. A full collection of all of it would
    otherwise come during a pass and stall its reads (about 50 ms, once a pass of 500 users, measured in
    bench/busy_refresh.py). Cyclic garbage among frozen objects waits for the next call."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()


class Command(BaseCommand):
    help = (
        "Read staff's busy times from Outlook (their Calendar to Check Free/Busy Status), as they fall due."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--once", action="store_true", help="run one pass over the users due now, then exit"
        )
        parser.add_argument(
            "--connections", type=int, default=CONNECTIONS,
            help="Graph requests in flight at once, all mailboxes together",
        )  # fmt: skip
        parser.add_argument(
            "--threads", type=int, default=4,
            help="threads for token refreshes and Exchange (EWS) reads; 1: all in the main thread",
        )  # fmt: skip
        parser.add_argument("--poll", type=float, default=10.0, help="seconds between passes when idle")

    def handle(
        self,
        *args,
        once: bool = False,
        connections: int = CONNECTIONS,
        threads: int = 4,
        poll: float = 10.0,
        **options,
    ):
        stop = threading.Event()
        if not once and threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: stop.set())
        sweeper = Sweeper()  # Outlook change notifications (availability/notifications.py)
        google_sweeper = GoogleSweeper()  # Google push channels (google/push.py)
        if not once:
            quiet_heap()
        while True:
            if not once:
                close_old_connections()  # a long-running worker drops broken or too-old connections
                heartbeat.beat("refreshbusy")  # Integration Status warns when no refresher beat for minutes
            started = time.monotonic()
            refreshed, attempted = refresh_pass(connections=connections, threads=threads)
            if attempted:
                self.stdout.write(
                    f"refreshed {refreshed} of {attempted} users in {time.monotonic() - started:.2f} s"
                )
            if once or stop.is_set():
                return
            sweeper.tick()  # notified users due now; subscriptions created/renewed once a minute
            google_sweeper.tick()  # the same for Google's events.watch channels
            if attempted:
                quiet_heap()
            else:
                stop.wait(poll)
                if stop.is_set():
                    return
