"""The one retry and back-off pacer of the sync engine: how long to wait before trying again.

Three kinds of waiting, written once here and used by the Graph provider's single requests, its `$batch`
lanes and the engine's per-link and per-connection backoff:
- a mailbox's `Retry-After` pauses every request to that mailbox (not only the one throttled) when it is
  short enough to wait out inside a step (<= SYNC_INLINE_RETRY_AFTER_MAX_SECONDS); a longer one ends the step
  and is stored on the connection (recording.py) so no worker sends before then;
- a transient failure (5xx, timeout, dropped connection) is tried again within the step after a short
  jittered exponential wait, at most a few times;
- after the step, a link (or the whole connection) waits `backoff_seconds(attempts)` ("equal jitter"
  exponential backoff, SYNC_BACKOFF_BASE_SECONDS .. SYNC_BACKOFF_MAX_SECONDS).
"""

from __future__ import annotations

import asyncio
import random
import time

from django.conf import settings

from shiftdesk.calendarsync.providers.base import ProviderError


def backoff_seconds(attempts: int) -> float:
    """Exponential backoff with jitter ("equal jitter"): spreads retries of many links and workers."""
    ceiling = min(
        settings.SYNC_BACKOFF_MAX_SECONDS, settings.SYNC_BACKOFF_BASE_SECONDS * 2 ** max(0, attempts - 1)
    )
    return ceiling / 2 + random.uniform(0, ceiling / 2)


def retry_backoff_seconds(attempt: int) -> float:
    """The short wait before trying a transient failure again inside a step: half to all of
    SYNC_RETRY_BACKOFF_BASE_SECONDS * 2^attempt (0.2-0.4 s, then 0.4-0.8 s with the default 0.2)."""
    return random.uniform(0.5, 1.0) * settings.SYNC_RETRY_BACKOFF_BASE_SECONDS * 2**attempt


class Pacer:
    """One mailbox's pace within one step, shared by all its requests and lanes.

    Late writers cannot win (issue 12 item 6). Microsoft documents no conditional write for events (the
    event update and delete pages list only `Authorization` as a request header: no `If-Match` with the
    changeKey, unlike driveItem or plannerTask), so the engine makes it impossible for a step to send after
    its lease could have passed to another worker: `hold(lease_seconds)` is called each time the step's
    lease is extended; after half the lease no request leaves (`may_send`), and each request's timeout is
    capped so it is over a tenth of the lease before the lease ends (`request_timeout`). Another worker can
    only claim the connection after the lease has ended, so every write of this step is done (or abandoned
    by the client) before that worker plans. What remains is the time between Graph receiving a request and
    carrying it out, covered by that tenth (6 s of the default 60 s lease) together with clock skew between
    hosts. Verification only reads, and records nothing once its lease is lost (verify._record); the deletes
    owed to a previous connection write to the old mailbox, which no other worker writes."""

    def __init__(self) -> None:
        self.resume_at = 0.0  # the mailbox said Retry-After: nothing is sent before this monotonic time
        self.send_by: float | None = None  # no request leaves after this monotonic time (None: no lease)
        self.done_by: float | None = None  # every request is over by this monotonic time

    def hold(self, lease_seconds: float) -> None:
        """The step's lease was just extended to now + lease_seconds."""
        now = time.monotonic()
        self.send_by = now + lease_seconds / 2
        self.done_by = now + lease_seconds * 0.9

    def may_send(self) -> bool:
        return self.send_by is None or time.monotonic() < self.send_by

    def request_timeout(self, default: float) -> float:
        if self.done_by is None:
            return default
        return max(0.1, min(default, self.done_by - time.monotonic()))

    async def wait_for_mailbox(self) -> bool:
        """Wait out the mailbox's Retry-After; False when the wait would pass `send_by` (then send nothing)."""
        wait = self.resume_at - time.monotonic()
        if self.send_by is not None and time.monotonic() + max(wait, 0) >= self.send_by:
            return False
        if wait > 0:
            await asyncio.sleep(wait)
        return True

    def after_failure(self, error: ProviderError, attempt: int, tries: int) -> float | None:
        """Seconds to wait before try `attempt + 1`, or None: give up (the step decides what next). A short
        Retry-After pauses the whole mailbox (and returns 0: `wait_for_mailbox` does the waiting)."""
        if attempt >= tries:
            return None
        if error.retry_after is not None:
            if error.retry_after > settings.SYNC_INLINE_RETRY_AFTER_MAX_SECONDS:
                return None
            self.resume_at = max(self.resume_at, time.monotonic() + error.retry_after)
            return 0.0
        if error.permanent or error.auth_expired or error.reauthorize:
            return None
        return retry_backoff_seconds(attempt)

    @staticmethod
    async def sleep(seconds: float) -> None:
        if seconds > 0:
            await asyncio.sleep(seconds)
