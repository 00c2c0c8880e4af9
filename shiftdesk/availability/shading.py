"""The week grid's "Outlook busy times" (or "Google Calendar busy times") section: each rostered staff member's busy times, shaded per day,
and the "Auto-assign open slots" button. Both are shown to the schedule's managers only (hooks.py): staff
let "the admins who schedule" them see their busy times, not their colleagues.

Registered into scheduling's grid sections (hooks.py). Reads the whole roster's week in three queries
(free/busy states, the settings row, the busy intervals, the connections' providers and free/busy calendars), plus the site row, whatever the roster size: the
grid's query count stays constant. A person whose busy data is stale or missing is labelled so, never
shown as simply free.
"""

from __future__ import annotations

import datetime as dt
import html
from collections import defaultdict

from django.templatetags.static import static
from django.urls import reverse

from shiftdesk.availability.boxes import says_no_calendar
from shiftdesk.availability.busy import Busy, busy_by_user, calendar_word, states_by_user
from shiftdesk.availability.models import AvailabilitySettings, FreeBusyState
from shiftdesk.calendarsync.models import CalendarConnection
from shiftdesk.scheduling.grid import WeekGrid
from shiftdesk.scheduling.models import Site, localize


def _clock(t: dt.datetime) -> str:
    return t.strftime("%-I:%M %p").replace(":00 ", " ")


def _note(state: FreeBusyState | None, where: str = "Outlook", has_calendar: bool = False) -> str:
    """`where`: the user's calendar in words ("Outlook" or "Google Calendar", busy.calendar_word).
    `has_calendar`: their connection has a Calendar to Check Free/Busy Status saved now, which outdates a
    last outcome saying none was saved (a refresh that read the connection before Save Calendars)."""
    if state is None:
        return "no calendar connected"
    if state.status == FreeBusyState.Status.STALE:
        return "busy data is stale: " + (state.reason or f"{where} could not be read")
    if has_calendar and says_no_calendar(state):
        return f"busy times not read from {where} yet"
    if state.status == FreeBusyState.Status.ERROR:
        return "busy times unavailable: " + state.reason
    if state.last_refreshed_at is None:
        return f"busy times not read from {where} yet"
    return ""


def _title(words: set[str]) -> str:
    """ "Outlook busy times", "Google Calendar busy times", or both when the roster has both."""
    return " and ".join(sorted(words, key=lambda w: w != "Outlook") or ["Outlook"]) + " busy times"


def auto_assign_button(grid: WeekGrid) -> str:
    """The "Auto-assign open slots" button when the week has open slots (a managers-only section). No query."""
    if not grid.open_count:
        return ""
    url = reverse("availability_auto_assign", args=[grid.schedule.pk]) + f"?week={grid.first_day.isoformat()}"
    return (
        f'<p class="actions"><a class="btn" id="auto-assign" href="{html.escape(url)}">Auto-assign open slots</a> '
        '<span class="muted">shows a proposal first; nothing is assigned until you apply it.</span></p>'
    )


def busy_section(grid: WeekGrid) -> str:
    """The section's HTML ('' when nobody on the roster has connected Outlook). Every value is escaped."""
    ids = [p.id for p in grid.roster]
    states = states_by_user(ids) if ids else {}
    if not states:
        return ""
    tz = Site.load().tzinfo
    settings = AvailabilitySettings.load()
    midnights = [localize(dt.datetime.combine(d, dt.time()), tz) for d in [*grid.days, grid.next_week]]
    found = busy_by_user(ids, midnights[0], midnights[-1], settings)
    # One query for both: where each person's busy times come from, and who has a free/busy calendar saved.
    connections = list(
        CalendarConnection.objects.filter(user_id__in=ids).values_list(
            "user_id", "provider", "freebusy_calendar_id"
        )
    )
    words = {user_id: calendar_word(provider) for user_id, provider, _ in connections}
    with_calendar = {user_id for user_id, _, calendar_id in connections if calendar_id}
    out = [
        f'<link rel="stylesheet" href="{html.escape(static("availability/availability.css"))}">',
        '<section class="busy-times" aria-labelledby="busy-times-title">',
        f'<h2 id="busy-times-title">{html.escape(_title(set(words.values())))}</h2>',
        '<div class="grid-wrap"><table class="grid busy-grid"><thead><tr><th scope="col">Staff</th>',
    ]
    out += [f'<th scope="col">{html.escape(d.strftime("%a %-m/%-d"))}</th>' for d in grid.days]
    out.append("</tr></thead><tbody>")
    for person in grid.roster:
        state = states.get(person.id)
        note = _note(state, words.get(person.id, "Outlook"), person.id in with_calendar)
        stale = state is not None and state.status == FreeBusyState.Status.STALE
        out.append('<tr class="stale">' if stale else "<tr>")
        out.append(f'<th scope="row">{person.html_name}')
        if note:
            out.append(f'<span class="stale-note">({html.escape(note)})</span>')
        out.append("</th>")
        per_day: dict[int, list[Busy]] = defaultdict(list)
        for busy in found.get(person.id, []):
            for i in range(7):
                if busy.overlaps(midnights[i], midnights[i + 1]):
                    per_day[i].append(busy)
        for i in range(7):
            items = per_day.get(i, [])
            if not items:
                out.append("<td></td>")
                continue
            shade = "busy" if any(b.severity == "unavailable" for b in items) else "tentative"
            out.append(f'<td class="{shade}"><ul>')
            for b in items:
                start, end = max(b.start, midnights[i]), min(b.end, midnights[i + 1])
                span = "All day" if (start, end) == (midnights[i], midnights[i + 1]) else (
                    f"{_clock(start.astimezone(tz))}–{_clock(end.astimezone(tz))}"
                )  # fmt: skip
                word = " (tentative)" if b.severity == "warning" and b.label != "tentative" else ""
                out.append(f"<li>{html.escape(span)} {html.escape(b.label)}{word}</li>")
            out.append("</ul></td>")
        out.append("</tr>")
    out.append("</tbody></table></div></section>")
    return "".join(out)
