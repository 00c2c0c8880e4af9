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
    """The short wait before trying a transient failure again inside a step (0.2-0.4 s, then 0.4-0.8 s)."""
    return random.uniform(0.5, 1.0) * 0.2 * 2**attempt


class Pacer:
    """One mailbox's pace within one step, shared by all its requests and lanes."""

    def __init__(self) -> None:
        self.resume_at = 0.0  # the mailbox said Retry-After: nothing is sent before this monotonic time

    async def wait_for_mailbox(self) -> None:
        wait = self.resume_at - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)

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
