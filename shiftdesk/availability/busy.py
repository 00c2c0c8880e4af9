"""Reading stored free/busy: who is busy when, how fresh that is, and the "busy in Outlook" (or "busy in Google
Calendar") conflict source.

Everything here reads the database only (no network), in a constant number of queries for any number of
people, so it can run inside a request, the assign transaction and the week grid.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from shiftdesk.availability.models import AvailabilitySettings, BusyInterval, FreeBusyState
from shiftdesk.calendarsync.models import CalendarConnection
from shiftdesk.scheduling.conflicts import Check, Conflict, span_of, user_ids_of
from shiftdesk.scheduling.models import Site

KIND_BUSY = "outlook_busy"
KIND_TENTATIVE = "outlook_tentative"
KIND_STALE = "outlook_stale"


@dataclass(frozen=True)
class Busy:
    """One stored interval with its meaning under the site's settings."""

    user_id: int
    start: dt.datetime
    end: dt.datetime
    severity: str  # "unavailable" | "warning"
    label: str  # the subject if the user allows it, else "busy" (or "tentative")
    show_as: str
    subject: str = ""  # "" when the user keeps subjects to themselves (or the meeting is private)

    def overlaps(self, start: dt.datetime, end: dt.datetime) -> bool:
        return self.start < end and start < self.end


def busy_by_user(
    user_ids: Iterable[int],
    start: dt.datetime,
    end: dt.datetime,
    settings: AvailabilitySettings | None = None,
) -> dict[int, list[Busy]]:
    """Every stored interval overlapping [start, end) that counts (unavailable or warning), per user. One
    query (plus the settings row when not given and some interval overlaps: assigning someone with nothing in
    their calendar at that time reads no settings)."""
    found: dict[int, list[Busy]] = defaultdict(list)
    rows = list(
        BusyInterval.objects.filter(user_id__in=list(user_ids), start__lt=end, end__gt=start)
        .order_by("start", "end", "id")
        .values_list("user_id", "start", "end", "show_as", "subject")
    )
    if rows:
        settings = settings or AvailabilitySettings.load()
    for user_id, b_start, b_end, show_as, subject in rows:
        severity = settings.severity(show_as)
        if severity is not None:
            label = subject or ("busy" if severity == "unavailable" else "tentative")
            found[user_id].append(Busy(user_id, b_start, b_end, severity, label, show_as, subject))
    return found


def states_by_user(user_ids: Iterable[int]) -> dict[int, FreeBusyState]:
    """The FreeBusyState of each user who has one (users without Outlook have none). One query."""
    return {s.user_id: s for s in FreeBusyState.objects.filter(user_id__in=list(user_ids))}


GOOGLE = "google"  # CalendarConnection.provider of a Google connection (shiftdesk.google.oauth.PROVIDER)


def calendar_word(provider: str) -> str:
    """Where a user's busy times come from, in the words people know: "Google Calendar" or "Outlook"."""
    return "Google Calendar" if provider == GOOGLE else "Outlook"


def calendar_words(user_ids: Iterable[int]) -> dict[int, str]:
    """calendar_word of each user's connection (users without one are left out). One query."""
    return {
        user_id: calendar_word(provider)
        for user_id, provider in CalendarConnection.objects.filter(user_id__in=list(user_ids)).values_list(
            "user_id", "provider"
        )
    }


def _span(start: dt.datetime, end: dt.datetime, tz: zoneinfo.ZoneInfo) -> str:
    a, b = start.astimezone(tz), end.astimezone(tz)
    first = a.strftime("%a %b %-d, %-I:%M %p")
    return f"{first}–{b:%-I:%M %p}" if a.date() == b.date() else f"{first} – {b:%a %b %-d, %-I:%M %p}"


# Outlook's showAs in words, for a warning that has no subject to show ("busy in Outlook: busy" said nothing).
SHOW_AS_WORDS = {
    "busy": "busy",
    "tentative": "tentatively busy",
    "oof": "out of office",
    "workingElsewhere": "working elsewhere",
    "unknown": "busy",
}


def outlook_conflicts(checks: Sequence[Check]) -> list[Conflict]:
    """The conflict source: each busy interval during the shift ("busy in Outlook: <subject>", or what Outlook
    says they are, e.g. "out of office in Outlook", when the subject is not shared; "busy in Google Calendar"
    for a Google user, whose free/busy gives busy times only), each tentative one, and stale busy data (the
    person may be busy; their calendar cannot currently tell). Kinds keep their outlook_* names for every
    provider: they name the conflict source, which other code and saved overrides refer to."""
    ids = user_ids_of(checks)
    start, end = span_of(checks)
    busy = busy_by_user(ids, start, end)  # what overlaps any of the shifts; each shift takes its own below
    states = states_by_user(ids)
    words = calendar_words(ids) if busy or states else {}
    tz = Site.load().tzinfo if busy else None  # the site's time zone words the spans; read only when needed
    found: list[Conflict] = []
    for shift, users in checks:
        # Per person, the intervals overlapping this shift in time order; people in the order of their first
        # such interval (as a query for this shift alone would give them).
        hits = {
            user: [b for b in busy.get(user.pk, []) if b.overlaps(shift.start, shift.end)] for user in users
        }
        for user in sorted((u for u in users if hits[u]), key=lambda u: (hits[u][0].start, hits[u][0].end)):
            where = words.get(user.pk, "Outlook")
            for interval in hits[user]:
                word = "busy" if interval.severity == "unavailable" else "tentative"
                kind = KIND_BUSY if interval.severity == "unavailable" else KIND_TENTATIVE
                span = _span(interval.start, interval.end, tz)
                if interval.subject:
                    message = f"{user} is {word} in {where}: {interval.subject} ({span})."
                elif where == "Google Calendar":
                    # freebusy.query answers busy intervals only: no subject, no show-as to tell more.
                    message = f"{user} is busy in Google Calendar, {span} (Google shares busy times only)."
                else:
                    said = SHOW_AS_WORDS.get(interval.show_as, word)
                    message = f"{user} is {said} in {where}, {span} (subject not shared)."
                found.append(Conflict(kind=kind, user_id=user.pk, shift_id=shift.pk, message=message))
        for user in users:
            state = states.get(user.pk)
            if state is not None and state.status == FreeBusyState.Status.STALE:
                where = words.get(user.pk, "Outlook")
                found.append(
                    Conflict(
                        kind=KIND_STALE,
                        user_id=user.pk,
                        shift_id=shift.pk,
                        message=f"{user}'s {where} busy data is stale, so they may be busy: {state.reason}",
                    )
                )
    return found
