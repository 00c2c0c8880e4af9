"""`manage.py syncworker [--once] [--concurrency N]`: the calendar sync worker an operator runs.

Run any number of copies against PostgreSQL on any hosts; they share work through leases in the database.
SIGTERM/SIGINT finish the steps in flight, record them and exit.
"""

from __future__ import annotations

import signal

from django.core.management.base import BaseCommand

from shiftdesk.calendarsync.worker import Worker


class Command(BaseCommand):
    help = "Sync assigned shifts to connected calendars (Outlook) until stopped."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--once", action="store_true", help="Exit when nothing is due instead of waiting."
        )
        parser.add_argument("--concurrency", type=int, default=None, help="Connections synced at once.")

    def handle(self, *args, once: bool = False, concurrency: int | None = None, **options) -> None:
        worker = Worker(concurrency=concurrency)

        def stop(signum, frame) -> None:
            worker.stopping.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        self.stdout.write(f"syncworker {worker.worker_id}: concurrency {worker.concurrency}")
        steps = worker.run(once=once)
        self.stdout.write(f"syncworker {worker.worker_id}: stopped after {steps} steps")
