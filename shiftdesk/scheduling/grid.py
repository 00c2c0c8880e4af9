"""The schedule week grid: days across, rows of alike shifts down, in a fixed number of queries.

Rows group the week's shifts that share position, local start/end time and location, so a weekly pattern
reads as one line. The grid must render 1,000 shifts with 150 staff in well under 100 ms, which Django's
template engine cannot do for ~3,000 small cell fragments (it took ~1 s). So this module reads plain tuples
(no model instances) and writes the table body as HTML itself, escaping every value; the page around it is
an ordinary template.
"""

from __future__ import annotations

import html
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cached_property

from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

from shiftdesk.accounts.models import User
from shiftdesk.scheduling.models import Assignment, Schedule, Shift, Site, localize


def week_start(day: date) -> date:
    """Weeks start on Sunday, as on US library schedules."""
    return day - timedelta(days=(day.weekday() + 1) % 7)


def _clock(t: time) -> str:
    return f"{t.hour % 12 or 12}{f':{t.minute:02d}' if t.minute else ''} {'AM' if t.hour < 12 else 'PM'}"


def escape(value: object) -> str:
    # The standard library's escape, as Django's does (quotes included), without its lazy-string wrapper,
    # which costs more than the escaping itself at grid scale.
    return html.escape(str(value), quote=True)


@dataclass(frozen=True)
class Person:
    id: int
    name: str
    email: str

    @cached_property
    def html_name(self) -> str:
        return escape(self.name)


@dataclass
class GridShift:
    id: int
    note: str
    staff_needed: int
    assignees: list[Person]
    open_slots: int = field(init=False)

    def __post_init__(self) -> None:
        self.open_slots = max(self.staff_needed - len(self.assignees), 0)


@dataclass
class GridRow:
    label: str
    position: str
    location: str
    cells: list[list[GridShift]] = field(default_factory=list)


@dataclass
class WeekGrid:
    schedule: Schedule
    first_day: date
    days: list[date]
    rows: list[GridRow]
    roster: list[Person]
    shift_count: int
    open_count: int

    @property
    def previous_week(self) -> date:
        return self.first_day - timedelta(days=7)

    @property
    def next_week(self) -> date:
        return self.first_day + timedelta(days=7)


def _person(first: str, last: str, email: str, pk: int) -> Person:
    return Person(pk, f"{first} {last}".strip() or email, email)


def build_week_grid(schedule: Schedule, first_day: date, site: Site) -> WeekGrid:
    """At most four queries whatever the size: the week's shifts, their assignments, the people assigned
    (skipped when nobody is), and the active roster (for the assign list)."""
    tz = site.tzinfo
    days = [first_day + timedelta(days=i) for i in range(7)]
    start = localize(datetime.combine(first_day, time(0)), tz)
    end = localize(datetime.combine(first_day + timedelta(days=7), time(0)), tz)
    week = Shift.objects.filter(schedule=schedule, start__gte=start, start__lt=end)
    # No ORDER BY on the big reads: the (schedule, start) index already returns them in start order on
    # SQLite, and a Python sort of 1,000 tuples is cheaper than the database's temporary B-tree anywhere.
    shifts = sorted(
        week.order_by().values_list(
            "start", "id", "end", "staff_needed", "location", "note", "position__name"
        )
    )
    assigned = sorted(
        Assignment.objects.filter(shift__in=week.values("id"))
        .order_by()
        .values_list("id", "shift_id", "user_id")
    )
    people = {
        pk: _person(first, last, email, pk)
        for first, last, email, pk in User.objects.filter(pk__in={user_id for _, _, user_id in assigned})
        .order_by()
        .values_list("first_name", "last_name", "email", "id")
    }
    roster = [
        _person(first, last, email, pk)
        for first, last, email, pk in schedule.staff.filter(is_active=True)
        .order_by("first_name", "last_name", "email")
        .values_list("first_name", "last_name", "email", "id")
    ]
    by_shift: dict[int, list[Person]] = defaultdict(list)
    for _, shift_id, user_id in assigned:
        by_shift[shift_id].append(people[user_id])
    rows: dict[tuple, GridRow] = {}
    open_count = 0
    for s_start, shift_id, s_end, needed, location, note, position in shifts:
        local_start, local_end = s_start.astimezone(tz), s_end.astimezone(tz)
        start_t, end_t = local_start.time(), local_end.time()
        key = (start_t, end_t, position, location)
        row = rows.get(key)
        if row is None:
            row = rows[key] = GridRow(
                f"{_clock(start_t)} – {_clock(end_t)}", position, location, [[] for _ in days]
            )
        item = GridShift(shift_id, note, needed, sorted(by_shift.get(shift_id, []), key=lambda p: p.name))
        open_count += item.open_slots
        row.cells[(local_start.date() - first_day).days].append(item)
    ordered = [rows[key] for key in sorted(rows)]
    return WeekGrid(schedule, first_day, days, ordered, roster, len(shifts), open_count)


# --- sections other apps add under the week grid ---------------------------------------------------------
# e.g. availability's "Outlook busy times" per staff member and its Auto-assign button, without scheduling
# importing that app. A section gets the built WeekGrid and returns escaped HTML ("" for nothing); it must
# read the database in a constant number of queries (one query for the whole roster's week, never one per
# person or per shift). `managers_only` sections are shown only to those who may manage the schedule.
GridSection = Callable[[WeekGrid], str]
_grid_sections: dict[str, tuple[GridSection, bool]] = {}


def register_grid_section(key: str, section: GridSection, *, managers_only: bool = False) -> None:
    """Add (or replace, by key) a section. Call from AppConfig.ready()."""
    _grid_sections[key] = (section, managers_only)


def render_grid_sections(grid: WeekGrid, *, can_manage: bool = False) -> list[SafeString]:
    sections = list(_grid_sections.values())
    rendered = (section(grid) for section, managers_only in sections if can_manage or not managers_only)
    return [SafeString(html) for html in rendered if html]


class _Urls:
    """URL patterns filled by string replacement: reverse() per shift would cost ~20 ms per 1,000 shifts."""

    MARK = "999999999"

    def __init__(self) -> None:
        self.edit = reverse("shift_edit", args=[int(self.MARK)])
        self.assign = reverse("shift_assign", args=[int(self.MARK)])

    def __call__(self, pattern: str, shift_id: int) -> str:
        return pattern.replace(self.MARK, str(shift_id))


def render_roster_datalist(grid: WeekGrid) -> SafeString:
    """The roster once for every shift's assign box: a <datalist> (browsers without our script suggest from
    it natively) that shiftdesk.js also reads to drive the accessible name-or-email combobox."""
    options = "".join(
        f'<option value="{escape(p.email)}" label="{p.html_name}">{p.html_name}</option>' for p in grid.roster
    )
    return mark_safe(f'<datalist id="roster-{grid.schedule.pk}">{options}</datalist>')  # noqa: S308 - escaped


@dataclass
class CellNote:
    """What the shift's cell says after an in-place assign/unassign (htmx): a status line, an error for the
    assign box, conflicts to confirm, or an Undo for the person just taken off. Values are plain text."""

    status: str = ""
    error: str = ""
    conflicts: list[str] = field(default_factory=list)
    staff: str = ""  # what the assign box keeps (after an error or a conflict)
    undo: Person | None = None
    focus_person: int | None = None  # the unassign button to focus after an assign filled the shift


def _shift_html(
    item: GridShift,
    *,
    can_manage: bool,
    csrf: str,
    urls: _Urls,
    roster_id: str,
    title: str,
    note: CellNote | None = None,
) -> str:
    """One shift of the grid. For managers it is one small form posting to shift_assign (htmx swaps the
    whole .shift in place; without script it is an ordinary post): the name-or-email box with "Assign", and
    one "×" per assigned person (name="unassign"), so one CSRF field serves the whole shift. Ids are per
    shift (a<id> the box, e<id> its error) so htmx puts focus back on the same box after the swap."""
    sid = item.id
    is_open = item.open_slots > 0
    out = ['<div class="shift open"' if is_open else '<div class="shift"', f' id="s{sid}">']
    append = out.append
    if can_manage:
        action = urls(urls.assign, sid)
        append(f'<form method="post" action="{action}" hx-post="{action}">{csrf}')
        append(f'<a class="edit" href="{urls(urls.edit, sid)}" aria-label="Edit {escape(title)}">Edit</a>')
    if can_manage and (is_open or (note and note.conflicts)):
        # Before the "×" buttons in the DOM so Enter in the box assigns (the implicit submit is the form's
        # first button); CSS shows it after the names.
        invalid = note is not None and bool(note.error)
        described = f' aria-invalid="true" aria-describedby="e{sid}"' if invalid else ""
        value = f' value="{escape(note.staff)}"' if note and note.staff else ""
        append(
            f'<div class="assign"><input id="a{sid}" name="staff" list="{roster_id}" autocomplete="off" '
            f'class="staff-combo" aria-label="Name or email to assign to {escape(title)}"{described}{value}>'
            '<button class="btn-small">Assign</button></div>'
        )
    if note and note.error:
        append(f'<p class="cell-error" id="e{sid}">{escape(note.error)}</p>')
    if note and note.conflicts:
        items = "".join(f"<li>{escape(c)}</li>" for c in note.conflicts)
        append(
            f'<div class="cell-warning" role="alert"><p>Warning: assigning {escape(note.staff)} would create '
            f"{'a conflict' if len(note.conflicts) == 1 else 'conflicts'}:</p><ul>{items}</ul>"
            '<button class="btn-small" name="override_conflicts" value="on" autofocus>Assign anyway</button></div>'
        )
    if item.note:
        append(f'<div class="note">{escape(item.note)}</div>')
    append('<ul class="people">')
    for person in item.assignees:
        if can_manage:
            focus = " autofocus" if note and note.focus_person == person.id else ""
            append(
                f'<li>{person.html_name}<button class="link unassign" name="unassign" value="{person.id}" '
                f'aria-label="Unassign {person.html_name}"{focus}>&times;</button></li>'
            )
        else:
            append(f"<li>{person.html_name}</li>")
    append('<li class="slot-open">Open</li>' * item.open_slots)
    append("</ul>")
    if note and note.undo:
        append(
            f'<p class="cell-undo">Unassigned {note.undo.html_name}. <button class="btn-small" name="undo" '
            f'value="{note.undo.id}" autofocus aria-label="Undo: assign {note.undo.html_name} again">Undo</button></p>'
        )
    if can_manage:
        append("</form>")
    append("</div>")
    return "".join(out)


def render_grid_body(grid: WeekGrid, *, can_manage: bool, csrf_token: str) -> SafeString:
    """The <tbody> of the week grid. Every interpolated value is escaped (names, notes, locations).

    The markup is kept short on purpose: at 1,000 shifts every byte per shift is a kilobyte of page.
    """
    urls = _Urls()
    csrf = f'<input type="hidden" name="csrfmiddlewaretoken" value="{escape(csrf_token)}">'
    roster_id = f"roster-{grid.schedule.pk}"
    out: list[str] = ["<tbody>"]
    append = out.append
    for row in grid.rows:
        append(
            f'<tr><th scope="row">{escape(row.label)}<br><span class="position">{escape(row.position)}</span>'
        )
        if row.location:
            append(f'<br><span class="muted">{escape(row.location)}</span>')
        append("</th>")
        for day, cell in zip(grid.days, row.cells, strict=True):
            if not cell:
                append("<td></td>")
                continue
            append('<td class="has-shift">')
            title = f"{row.position} {day:%a} {row.label}"
            for item in cell:
                append(
                    _shift_html(
                        item, can_manage=can_manage, csrf=csrf, urls=urls, roster_id=roster_id, title=title
                    )
                )
            append("</td>")
        append("</tr>")
    append("</tbody>")
    return mark_safe("".join(out))  # noqa: S308 - every value above is escaped


def render_shift_cell(
    shift: Shift, site: Site, *, csrf_token: str, note: CellNote | None = None
) -> SafeString:
    """One shift as the grid shows it to a manager, for the in-place (htmx) answer to assign/unassign."""
    tz = site.tzinfo
    people = sorted(
        (
            _person(first, last, email, pk)
            for first, last, email, pk in User.objects.filter(assignments__shift=shift)
            .order_by()
            .values_list("first_name", "last_name", "email", "id")
        ),
        key=lambda p: p.name,
    )
    item = GridShift(shift.pk, shift.note, shift.staff_needed, people)
    start, end = shift.start.astimezone(tz), shift.end.astimezone(tz)
    title = f"{shift.position} {start:%a} {_clock(start.time())} – {_clock(end.time())}"
    csrf = f'<input type="hidden" name="csrfmiddlewaretoken" value="{escape(csrf_token)}">'
    html_out = _shift_html(
        item,
        can_manage=True,
        csrf=csrf,
        urls=_Urls(),
        roster_id=f"roster-{shift.schedule_id}",
        title=title,
        note=note,
    )
    return mark_safe(html_out)  # noqa: S308 - escaped in _shift_html
