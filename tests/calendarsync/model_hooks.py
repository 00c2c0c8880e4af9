"""A test-only hook into the emulator's Graph (or Google Calendar) request handling, so a test can act at a
chosen moment of a sync step: "when the step's first write reaches Outlook, before (or after) Outlook carries
it out, do X".

The emulator runs in this process (m365emulator.testing.EmulatorServer, a uvicorn thread), and every Graph
request and every `$batch` item goes through `m365emulator.graph.app.dispatch` (on Google, every Calendar call
and batch item through `googleemulator.calendar.responses.call`). `RequestHook.install` wraps that function
(test code only; the emulator itself is unchanged). A trigger fires once, on the first request
that matches it; its action runs on a thread of the emulator's executor (`asyncio.to_thread`), so the event
loop keeps serving other requests meanwhile: the action may itself talk to Graph (a second worker's step),
commit database changes (a user pressing Restore), move the clock, or kill a process. The request the
trigger holds waits for the action to finish, then runs — nothing here sleeps to decide an order.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

WRITE_METHODS = ("POST", "PATCH", "DELETE")


def is_event_write(method: str, path: str) -> bool:
    """A create, update, move or delete of an event (never the `$batch` envelope: its items come one by one)."""
    return method in WRITE_METHODS and "/events" in path and not path.endswith("$batch")


def is_event_create(method: str, path: str) -> bool:
    return method == "POST" and path.rstrip("/").endswith("/events")


@dataclass
class Trigger:
    match: Callable[[str, str], bool]
    before: Callable[[], None] | None = None  # runs before Outlook carries the request out
    after: Callable[[], None] | None = None  # runs after Outlook carried it out, before the answer leaves
    fired: threading.Event = field(default_factory=threading.Event)
    errors: list[BaseException] = field(default_factory=list)


class RequestHook:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._triggers: list[Trigger] = []
        self._real: Any = None

    def install(self, monkeypatch: Any, provider: str = "microsoft") -> None:
        if provider == "google":
            # googleemulator's seam: every Calendar API call and batch item is awaited through responses.call
            # (its path relative to /calendar/v3/, e.g. "calendars/<id>/events": the matchers above fit it).
            from googleemulator.calendar import responses

            self._real_google = responses.call
            monkeypatch.setattr(responses, "call", self._google_call)
            return
        from m365emulator.graph import app, batch

        self._real = app.dispatch
        monkeypatch.setattr(app, "dispatch", self._dispatch)
        monkeypatch.setattr(batch, "dispatch", self._dispatch)

    def arm(self, trigger: Trigger) -> Trigger:
        with self._lock:
            self._triggers.append(trigger)
        return trigger

    def disarm(self) -> None:
        with self._lock:
            self._triggers.clear()

    def _take(self, method: str, path: str) -> Trigger | None:
        with self._lock:
            for trigger in self._triggers:
                if trigger.match(method, path):
                    self._triggers.remove(trigger)
                    trigger.fired.set()
                    return trigger
        return None

    async def _dispatch(self, ctx: Any, latency: float = 0.0) -> Any:
        trigger = self._take(ctx.method, ctx.path)
        if trigger is not None and trigger.before is not None:
            await asyncio.to_thread(_run_action, trigger, trigger.before)
        result = await self._real(ctx, latency)
        if trigger is not None and trigger.after is not None:
            await asyncio.to_thread(_run_action, trigger, trigger.after)
        return result

    async def _google_call(self, state: Any, method: str, path: str, *args: Any) -> Any:
        trigger = self._take(method, path)
        if trigger is not None and trigger.before is not None:
            await asyncio.to_thread(_run_action, trigger, trigger.before)
        result = await self._real_google(state, method, path, *args)
        if trigger is not None and trigger.after is not None:
            await asyncio.to_thread(_run_action, trigger, trigger.after)
        return result


def _run_action(trigger: Trigger, action: Callable[[], None]) -> None:
    """Run on an executor thread; its own database connection is closed afterwards. Errors are kept for the
    test to raise (an exception here would only become a 500 for the engine)."""
    from django.db import connections

    try:
        action()
    except BaseException as error:  # noqa: BLE001 - re-raised by the test thread
        trigger.errors.append(error)
    finally:
        connections.close_all()
