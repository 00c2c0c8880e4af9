"""The one small interface every calendar provider implements for the sync engine (healthchecks transports).

A ProviderBackend knows whether its integration is enabled and how to get a connection's credentials; it
opens a CalendarProvider for one connection and one step. A CalendarProvider does create / update / delete /
find-by-link / exists / list calendars, and `run()` executes many operations for one mailbox within the
provider's concurrency limit (a provider may override it with native batching). Every failure is a
ProviderError saying whether it is permanent and how long the mailbox asked us to wait.
"""

from __future__ import annotations

import asyncio
import enum
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from shiftdesk.calendarsync.models import CalendarConnection


@dataclass(frozen=True)
class EventContent:
    """Everything an event says. start/end are {"dateTime": local wall time, "timeZone": IANA zone}."""

    subject: str
    start: dict[str, str]
    end: dict[str, str]
    body_html: str
    location: str
    reminder_minutes: int
    show_as: str = "busy"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RemoteEvent:
    id: str
    change_key: str = ""
    calendar_id: str = ""
    # Where the event is now, as aware datetimes, when the provider read them (exists): None if not read.
    start: datetime | None = None
    end: datetime | None = None


@dataclass
class ChangeSet:
    """One round of a calendar's change tracking (Graph: calendarView/delta): the events added or changed
    since the last round (all of them in a first round), the ids that left the calendar's window (deleted, or
    moved to another calendar or out of the window), and the link to ask with next time."""

    changed: list[RemoteEvent]
    removed: list[str]
    next_link: str


@dataclass(frozen=True)
class RemoteCalendar:
    id: str
    name: str
    is_default: bool = False
    can_edit: bool = True


class ProviderError(Exception):
    """A failed provider call. Messages are for people and never contain a token or secret.

    permanent: retrying cannot help (stop the connection, or give up on this item when `not_found`).
    retry_after: seconds the mailbox asked us to wait (throttling), if it said so.
    not_found: the event or calendar is gone (404). auth_expired: the access token was refused (401).
    reauthorize: only the user can fix it by authorizing again.
    """

    def __init__(
        self,
        message: str,
        *,
        permanent: bool = False,
        retry_after: float | None = None,
        not_found: bool = False,
        auth_expired: bool = False,
        reauthorize: bool = False,
        status: int = 0,
        unanswered: bool = False,
        sent: bool = True,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.retry_after = retry_after
        self.not_found = not_found
        self.auth_expired = auth_expired
        self.reauthorize = reauthorize
        self.status = status
        # No answer said what happened (a timeout, a dropped connection, a 5xx, here or in an earlier try of
        # the same request): the request may have been carried out.
        self.unanswered = unanswered
        # False: this call never left (the step's lease could pass before it was sent; pacing.Pacer).
        self.sent = sent

    @property
    def not_carried_out(self) -> bool:
        """The answer says the request was not run (429 throttled, or 424: a batch item behind a failed one).
        A 5xx never does, even a 503 with Retry-After: it may come after the request ran (unanswered)."""
        return self.status in (424, 429)

    @property
    def stops_connection(self) -> bool:
        """Only a person can fix it (a dead grant, a refusal of access): the connection stops."""
        return self.reauthorize or (self.permanent and not self.not_found and self.status in (401, 403))

    def __str__(self) -> str:
        return self.message


OpKind = Literal["create", "update", "delete", "find", "exists"]


class Fate(enum.Enum):
    """What became of an operation sent to the provider. Set to UNANSWERED before its bytes leave, for
    single requests and $batch items alike; ANSWERED only when an answer says what happened (a 2xx, or a
    4xx that says why not). A 5xx, a timeout or a dropped connection leaves it UNANSWERED: it may have been
    carried out, so whatever assumes it did not land probes first (a create stays "attempted")."""

    NOT_SENT = "not sent"  # certainly never reached the provider
    UNANSWERED = "sent, unanswered"
    ANSWERED = "answered"


@dataclass
class Operation:
    """One provider call the engine wants made. `tag` is the engine's (the link's id)."""

    kind: OpKind
    tag: int
    link_key: str = ""
    calendar_id: str = ""
    event_id: str = ""
    content: EventContent | None = None
    transaction_id: str = ""
    # find: the calendars to search first, in order (then the rest of the mailbox's calendars).
    calendar_ids: tuple[str, ...] = ()
    # Filled by run():
    result: RemoteEvent | None = None
    error: ProviderError | None = None
    fate: Fate = Fate.NOT_SENT
    ms: int = 0

    @property
    def settled(self) -> bool:
        """An answer says what happened (done, or why not)."""
        error = self.error
        return self.fate is Fate.ANSWERED or (error is not None and error.sent and not error.unanswered)

    def sending(self) -> Fate:
        """Mark the operation as on its way (before its bytes leave); returns its fate before."""
        before = self.fate
        self.fate = Fate.UNANSWERED
        return before

    def answered(self, error: ProviderError | None, before: Fate = Fate.NOT_SENT) -> None:
        """An answer (or a failure that is no answer): record its error and its fate. An answer saying
        "not carried out" (the item was never run: 424 behind a failed item, 429) keeps what an earlier
        unanswered send may have done."""
        self.error = error
        if error is None:
            self.fate = Fate.ANSWERED
        elif not error.sent:
            self.fate = Fate.UNANSWERED if error.unanswered else before  # never left; an earlier try may have
        elif error.unanswered or before is Fate.UNANSWERED:
            self.fate = (
                Fate.UNANSWERED
            )  # a failure answer says nothing of an earlier try that went unanswered
        else:
            self.fate = Fate.ANSWERED


class CalendarProvider(ABC):
    """One connection's calendar, for one step. Async so one mailbox's requests can overlap."""

    max_concurrency: int = 4

    @abstractmethod
    async def create_event(
        self, calendar_id: str, content: EventContent, *, link_key: str, transaction_id: str
    ) -> RemoteEvent: ...

    @abstractmethod
    async def update_event(self, event_id: str, content: EventContent, *, link_key: str) -> RemoteEvent: ...

    @abstractmethod
    async def delete_event(self, event_id: str) -> None:
        """Delete; an event that is already gone raises ProviderError(not_found=True)."""

    @abstractmethod
    async def find_by_link(self, link_key: str, *, calendar_ids: Sequence[str] = ()) -> RemoteEvent | None:
        """The event carrying this ShiftDesk link key, looked for in `calendar_ids` first (in order), then in
        every other calendar of the mailbox; its `calendar_id` says which calendar it is in."""

    @abstractmethod
    async def exists(self, event_id: str, *, calendar_id: str = "") -> RemoteEvent | None:
        """The event if it still exists, else None; its `calendar_id` is the calendar it is in (looked up
        in `calendar_id` first, where we wrote it)."""

    @abstractmethod
    async def list_calendars(self) -> list[RemoteCalendar]: ...

    async def changes(
        self, calendar_id: str, start: datetime, end: datetime, next_link: str = ""
    ) -> ChangeSet | None:
        """A round of change tracking on `calendar_id` over [start, end) (a first round when `next_link` is
        empty); None when the provider has none, and the engine checks each event instead. A link the
        server forgot raises ProviderError(status=410)."""
        return None

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release what the provider holds (HTTP client)."""

    async def run_one(self, op: Operation) -> None:
        started = time.perf_counter()
        before = op.sending()
        error: ProviderError | None = None
        try:
            if op.kind == "create":
                assert op.content is not None
                op.result = await self.create_event(
                    op.calendar_id, op.content, link_key=op.link_key, transaction_id=op.transaction_id
                )
            elif op.kind == "update":
                assert op.content is not None
                op.result = await self.update_event(op.event_id, op.content, link_key=op.link_key)
            elif op.kind == "delete":
                await self.delete_event(op.event_id)
            elif op.kind == "find":
                op.result = await self.find_by_link(op.link_key, calendar_ids=op.calendar_ids)
            elif op.kind == "exists":
                op.result = await self.exists(op.event_id, calendar_id=op.calendar_id)
        except ProviderError as failure:
            error = failure
        finally:
            op.ms = int((time.perf_counter() - started) * 1000)
        op.answered(error, before)

    async def run(self, ops: Sequence[Operation], *, deadline: float | None = None) -> None:
        """Run `ops` with at most max_concurrency in flight. Ops not started by `deadline` (a
        time.monotonic() value) or after the mailbox throttled us are left Fate.NOT_SENT."""
        semaphore = asyncio.Semaphore(self.max_concurrency)
        stop = asyncio.Event()

        async def guarded(op: Operation) -> None:
            async with semaphore:
                if stop.is_set() or (deadline is not None and time.monotonic() > deadline):
                    return  # never sent: Fate.NOT_SENT
                await self.run_one(op)
                if op.error is not None and (
                    op.error.retry_after or op.error.auth_expired or op.error.reauthorize
                ):
                    stop.set()  # the mailbox asked us to wait, or the token is bad: stop sending
                elif op.error is not None and op.error.permanent and not op.error.not_found:
                    stop.set()

        await asyncio.gather(*(guarded(op) for op in ops))


class ProviderBackend(ABC):
    """How the engine reaches one kind of provider: enabled?, a token, an open CalendarProvider."""

    @abstractmethod
    def disabled_reason(self) -> str:
        """Why syncing through this provider is off for everyone (e.g. integration disabled), or ''."""

    @abstractmethod
    def credentials(self, connection: CalendarConnection, *, force_refresh: bool = False) -> str:
        """A usable credential (access token) for the connection; ProviderError when it cannot be had."""

    @abstractmethod
    def open(
        self, connection: CalendarConnection, credential: str, *, client: Any = None
    ) -> CalendarProvider:
        """A provider for this connection. `client` is a reusable transport from `new_client()`."""

    def new_client(self) -> Any:
        """A transport the worker may keep across steps (e.g. an httpx.AsyncClient); None if unused."""
        return None

    def requests_in_flight(self, operations: int) -> int:
        """How many requests at once a step with this many operations needs (the mailbox's limit at most):
        one request per operation, as many at once as the mailbox allows."""
        from django.conf import settings

        return max(1, min(settings.SYNC_MAX_CONCURRENCY_PER_MAILBOX, operations))
