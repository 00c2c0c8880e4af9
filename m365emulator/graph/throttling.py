"""Outlook's per-app, per-mailbox throttling: 4 concurrent requests and 10,000 requests per 10 minutes."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass

from . import exceptions as exc


@dataclass
class ThrottleLimits:
    enabled: bool = True
    concurrency: int = 4
    requests: int = 10_000
    window_seconds: float = 600.0


class Throttle:
    """Counters keyed by (client_id, mailbox oid). `acquire` raises 429 or returns a release callable."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.limits = ThrottleLimits()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.limits = ThrottleLimits()
            self._in_flight: dict[tuple[str, str], int] = {}
            self._recent: dict[tuple[str, str], deque[float]] = {}

    def configure(self, **values: object) -> ThrottleLimits:
        with self._lock:
            for key, value in values.items():
                if key == "enabled":
                    if not isinstance(value, bool):
                        raise exc.bad_request("enabled must be a boolean.")
                    self.limits.enabled = value
                elif key in ("concurrency", "requests"):
                    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                        raise exc.bad_request(f"{key} must be a positive integer.")
                    setattr(self.limits, key, value)
                elif key == "window_seconds":
                    if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
                        raise exc.bad_request("window_seconds must be a positive number.")
                    self.limits.window_seconds = float(value)
                else:
                    raise exc.bad_request(f"Unknown throttling setting '{key}'.")
            return self.limits

    def acquire(self, client_id: str, mailbox: str) -> tuple[str, str] | None:
        """Count one request; returns the key to pass to `release`, or None when throttling is off."""
        limits = self.limits
        if not limits.enabled:
            return None
        key = (client_id, mailbox)
        now = time.monotonic()
        with self._lock:
            recent = self._recent.get(key)
            if recent is None:
                recent = self._recent[key] = deque()
            horizon = now - limits.window_seconds
            while recent and recent[0] <= horizon:
                recent.popleft()
            if len(recent) >= limits.requests:
                retry = max(1, int(recent[0] - horizon) + 1)
                raise exc.throttled("MailboxRequests", retry)
            if self._in_flight.get(key, 0) >= limits.concurrency:
                raise exc.throttled("MailboxConcurrency", 1)
            recent.append(now)
            self._in_flight[key] = self._in_flight.get(key, 0) + 1
        return key

    def acquire_many(self, client_id: str, mailbox: str, count: int) -> tuple[str, str] | None:
        """A $batch throttled as a whole (variant batch_throttling=whole_batch_429): one concurrency slot,
        `count` requests of the window, all or nothing. Raises 429 when there is no room for all of them."""
        limits = self.limits
        if not limits.enabled:
            return None
        key = (client_id, mailbox)
        now = time.monotonic()
        with self._lock:
            recent = self._recent.setdefault(key, deque())
            horizon = now - limits.window_seconds
            while recent and recent[0] <= horizon:
                recent.popleft()
            if len(recent) + count > limits.requests:
                oldest = recent[0] if recent else now
                raise exc.throttled("MailboxRequests", max(1, int(oldest - horizon) + 1))
            if self._in_flight.get(key, 0) >= limits.concurrency:
                raise exc.throttled("MailboxConcurrency", 1)
            recent.extend([now] * count)
            self._in_flight[key] = self._in_flight.get(key, 0) + 1
        return key

    def release(self, key: tuple[str, str] | None) -> None:
        if key is None:
            return
        with self._lock:
            left = self._in_flight.get(key, 1) - 1
            if left <= 0:
                self._in_flight.pop(key, None)
            else:
                self._in_flight[key] = left

    def snapshot(self) -> dict:
        with self._lock:
            return {
                "enabled": self.limits.enabled,
                "concurrency": self.limits.concurrency,
                "requests": self.limits.requests,
                "window_seconds": self.limits.window_seconds,
                "in_flight": {f"{k[0]}|{k[1]}": v for k, v in self._in_flight.items()},
                "recent": {f"{k[0]}|{k[1]}": len(v) for k, v in self._recent.items()},
            }
