"""The Google Calendar viewer at /google/calendar/view/ (the Outlook viewer's counterpart): pick a person,
one of their calendars and a week; the week's events are listed in the calendar's time zone; "Create" and
each event's edit page act as that person in Google Calendar: the change gets a new etag, appears in
incremental sync and pushes to watching channels, as a real edit would. A demo and test tool: no sign-in."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from urllib.parse import quote, urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from googleemulator import PREFIX
from googleemulator.calendar import exceptions as ge
from googleemulator.calendar import models as cm
from googleemulator.html import E, page
from googleemulator.oauth.responses import gstate, issuer
from googleemulator.state import Calendar, GoogleState

BASE = f"{PREFIX}/calendar/view"


def _shell(title: str, body: str) -> HTMLResponse:
    return HTMLResponse(page(f"{title} – Google Calendar", body, header="Google Calendar"))


async def home(request: Request) -> Response:
    state = gstate(request)
    items = "".join(
        f'<li><a href="{BASE}/{quote(a.email)}/">{E(a.name)} ({E(a.email)})</a></li>'
        for a in state.accounts.values()
    )
    body = (
        f"<h1>Choose a person</h1><ul>{items}</ul>"
        if items
        else "<h1>Choose a person</h1><p>No accounts yet.</p>"
    )
    return _shell("Choose a person", body)


def _week_start(value: str | None, tz) -> date:
    try:
        day = date.fromisoformat(value) if value else datetime.now(tz).date()
    except ValueError:
        day = datetime.now(tz).date()
    return day - timedelta(days=day.weekday())


def _calendar(state: GoogleState, email: str, cal_id: str | None) -> Calendar | None:
    cals = state.calendars_of(email)
    if not cals:
        return None
    return next((c for c in cals if c.id == cal_id), cals[0])


def _when(ev: dict, cal: Calendar) -> tuple[datetime, datetime]:
    return cm.event_instant(ev["start"], cal, "start"), cm.event_instant(ev["end"], cal, "end")


async def week(request: Request) -> Response:
    state = gstate(request)
    email = request.path_params["email"].lower()
    if state.account(email) is None:
        return _shell("Not found", "<h1>No such person</h1>")
    with state.lock:
        cal = _calendar(state, email, request.query_params.get("cal"))
        tz = cm.zone(cal.time_zone)
        monday = _week_start(request.query_params.get("week"), tz)
        start = datetime(monday.year, monday.month, monday.day, tzinfo=tz).astimezone(UTC)
        end = start + timedelta(days=7)
        rows = []
        for ev in cal.events.values():
            if ev.get("_deleted"):
                continue
            for inst in cm.expand(ev, cal, start, end) if ev.get("recurrence") else [ev]:
                s, e = _when(inst, cal)
                if e > start and s < end:
                    rows.append((s, e, inst))
        rows.sort(key=lambda r: (r[0], r[2]["id"]))
        cals = state.calendars_of(email)
    role = cm.access_role(cal, email)
    nav = "".join(
        f'<li><a href="{BASE}/{quote(email)}/?{urlencode({"cal": c.id, "week": monday.isoformat()})}"'
        + (' aria-current="page"' if c.id == cal.id else "")
        + f'>{E(c.summary)}</a> <span class="muted">({E(cm.access_role(c, email))})</span></li>'
        for c in cals
    )
    body_rows = "".join(
        f"<tr><td>{s.astimezone(tz):%a %d %b %H:%M}–{e.astimezone(tz):%H:%M}</td><td>{E(ev.get('summary', '(No title)'))}</td>"
        f"<td>{'Free' if ev.get('transparency') == 'transparent' else 'Busy'}</td>"
        + (
            f'<td><a href="{BASE}/{quote(email)}/event?{urlencode({"cal": cal.id, "id": ev.get("recurringEventId") or ev["id"]})}">'
            f'Edit <span class="muted">{E(ev.get("summary", ""))}</span></a></td>'
            if role in ("owner", "writer")
            else "<td></td>"
        )
        + "</tr>"
        for s, e, ev in rows
    )
    table = (
        f"<table><caption>Events, week of {monday:%d %B %Y} ({E(cal.time_zone)})</caption><thead><tr>"
        '<th scope="col">When</th><th scope="col">Title</th><th scope="col">Show as</th><th scope="col">Actions</th>'
        f"</tr></thead><tbody>{body_rows}</tbody></table>"
        if rows
        else f"<p>No events in the week of {monday:%d %B %Y}.</p>"
    )
    prev_link = f"{BASE}/{quote(email)}/?{urlencode({'cal': cal.id, 'week': (monday - timedelta(days=7)).isoformat()})}"
    next_link = f"{BASE}/{quote(email)}/?{urlencode({'cal': cal.id, 'week': (monday + timedelta(days=7)).isoformat()})}"
    create = ""
    if role in ("owner", "writer"):
        create = _event_form(
            email, cal, None, f"{monday.isoformat()}T09:00", f"{monday.isoformat()}T10:00", "", "", False
        )
    body = (
        f"<h1>{E(state.account(email).name)} – {E(cal.summary)}</h1>"
        f'<nav aria-label="Calendars"><ul>{nav}</ul></nav>'
        f'<p><a href="{prev_link}">Previous week</a> · <a href="{next_link}">Next week</a></p>{table}{create}'
    )
    return _shell(cal.summary, body)


def _event_form(email, cal, ev_id, start, end, summary, description, free, targets=()) -> str:
    action = f"{BASE}/{quote(email)}/event?{urlencode({'cal': cal.id, **({'id': ev_id} if ev_id else {})})}"
    heading = "Edit event" if ev_id else "Create event"
    move = ""
    if ev_id and len(targets) > 1:
        options = "".join(
            f'<option value="{E(c.id)}"{" selected" if c.id == cal.id else ""}>{E(c.summary)}</option>'
            for c in targets
        )
        move = (
            f'<label for="calendar">Calendar</label><select id="calendar" name="calendar">{options}</select>'
        )
    return (
        f'<h2>{heading}</h2><form method="post" action="{E(action)}">'
        f'<label for="summary">Title</label><input type="text" id="summary" name="summary" value="{E(summary)}">'
        f'<label for="start">Start ({E(cal.time_zone)})</label>'
        f'<input type="datetime-local" id="start" name="start" value="{E(start)}" required>'
        f'<label for="end">End ({E(cal.time_zone)})</label>'
        f'<input type="datetime-local" id="end" name="end" value="{E(end)}" required>'
        f'<label for="description">Description</label><textarea id="description" name="description" rows="3">{E(description)}</textarea>'
        f'<label for="show_as">Show as</label><select id="show_as" name="show_as">'
        f'<option value="busy"{"" if free else " selected"}>Busy</option>'
        f'<option value="free"{" selected" if free else ""}>Free</option></select>{move}'
        f'<div class="actions"><button type="submit" name="action" value="save">Save</button>'
        + (
            '<button type="submit" name="action" value="delete" class="danger">Delete</button>'
            if ev_id
            else ""
        )
        + "</div></form>"
    )


def _local(ev_time: dict, cal: Calendar) -> str:
    return (
        cm.event_instant(ev_time, cal, "start").astimezone(cm.zone(cal.time_zone)).strftime("%Y-%m-%dT%H:%M")
    )


async def event(request: Request) -> Response:
    state = gstate(request)
    email = request.path_params["email"].lower()
    if state.account(email) is None:
        return _shell("Not found", "<h1>No such person</h1>")
    cal = _calendar(state, email, request.query_params.get("cal"))
    if cal is None or cm.access_role(cal, email) not in ("owner", "writer"):
        return _shell("Not allowed", "<h1>You can't edit this calendar</h1>")
    ev_id = request.query_params.get("id")
    ev = cal.events.get(ev_id) if ev_id else None
    if ev_id and (ev is None or ev.get("_deleted")):
        return _shell("Not found", "<h1>Event not found</h1>")
    if request.method == "POST":
        form = await request.form()
        back = RedirectResponse(f"{BASE}/{quote(email)}/?{urlencode({'cal': cal.id})}", status_code=303)
        with state.lock:
            try:
                if form.get("action") == "delete" and ev is not None:
                    cm.delete_event(state, cal, ev_id)
                    return back
                body = {
                    "summary": form.get("summary", ""),
                    "description": form.get("description", ""),
                    "start": {"dateTime": f"{form.get('start')}:00", "timeZone": cal.time_zone},
                    "end": {"dateTime": f"{form.get('end')}:00", "timeZone": cal.time_zone},
                    "transparency": "transparent" if form.get("show_as") == "free" else "opaque",
                }
                if ev is None:
                    cm.insert_event(state, cal, body, email, issuer(request))
                else:
                    cm.patch_event(state, cal, ev_id, body, None)
                    target = state.calendars.get(form.get("calendar") or cal.id)
                    if (
                        target is not None
                        and target.id != cal.id
                        and cm.access_role(target, email) in ("owner", "writer")
                    ):
                        cm.move_event(state, cal, ev_id, target)  # the person moves it to another calendar
            except ge.ApiError as err:
                return _shell(
                    "Could not save",
                    f'<h1>Could not save</h1><p class="error" role="alert">{E(err.message)}</p>',
                )
        return back
    if ev is None:
        return _shell(
            "Create event", f"<h1>Create event</h1>{_event_form(email, cal, None, '', '', '', '', False)}"
        )
    targets = [c for c in state.calendars_of(email) if cm.access_role(c, email) in ("owner", "writer")]
    form_html = _event_form(
        email, cal, ev_id, _local(ev["start"], cal), _local(ev["end"], cal), ev.get("summary", ""),
        ev.get("description", ""), ev.get("transparency") == "transparent", targets,
    )  # fmt: skip
    return _shell("Edit event", f"<h1>{E(ev.get('summary') or '(No title)')}</h1>{form_html}")
