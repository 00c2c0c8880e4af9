"""The Outlook viewer's routes: pick a mailbox, a calendar and a week; add, edit and delete events as the user
(through the same Mailbox methods Graph uses, so ShiftDesk sees those changes like real Outlook edits); share
the calendar with another person of the organization (can view / can edit) and withdraw the share, as the
owner does in Outlook (concepts/outlook-share-or-delegate-calendar.md) — the same state the control API's
`.../calendars/{id}/shares/{recipient}` changes."""

from __future__ import annotations

import html
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from m365emulator.graph import exceptions as exc
from m365emulator.graph import timezones as tz
from m365emulator.graph.models import Event, Mailbox, Occurrence

from .page import page, week_grid

E = html.escape


def _state(request: Request) -> Any:
    return request.app.state.emulator


def _mailbox(request: Request) -> Mailbox | None:
    state = _state(request)
    key = request.path_params["user"]
    user = state.directory.users.get(key) or state.directory.user_by_login(key)
    return state.graph.ensure_mailbox(user) if user else None


def _week_start(raw: str | None, zone: Any) -> date:
    try:
        day = date.fromisoformat(raw) if raw else datetime.now(zone).date()
    except ValueError:
        day = datetime.now(zone).date()
    return day - timedelta(days=day.weekday())


async def index(request: Request) -> Response:
    state = _state(request)
    users = sorted(state.directory.users.values(), key=lambda u: u.user_principal_name)
    rows = "".join(
        f'<li><a href="/outlook/{E(u.user_principal_name)}">{E(u.display_name)}</a> '
        f"<small>{E(u.user_principal_name)}</small></li>"
        for u in users
    )
    body = f"<main><h1>Outlook (emulated)</h1><p>Pick a mailbox:</p><ul class=boxes>{rows or '<li>No users yet.</li>'}</ul></main>"
    return HTMLResponse(page("Outlook", body))


async def week(request: Request) -> Response:
    box = _mailbox(request)
    if box is None:
        return HTMLResponse(page("Not found", "<h1>No such mailbox</h1>"), 404)
    zone = tz.zone(box.time_zone)
    with box.graph.lock:
        cal_id = request.query_params.get("calendar")
        cal = box.calendars.get(cal_id) if cal_id else None
        cal = cal or box.default_calendar
        monday = _week_start(request.query_params.get("week"), zone)
        start = datetime.combine(monday, datetime.min.time(), zone).astimezone(UTC)
        items = box.view(cal.id, start, start + timedelta(days=7))
        entries = [_entry(box, item, zone) for item in items]
        calendars = list(box.calendars.values())
    base = f"/outlook/{E(box.address)}"
    picker = "".join(
        f'<a class="cal{" on" if c.id == cal.id else ""}" href="{base}?{urlencode({"calendar": c.id, "week": monday.isoformat()})}">'
        f"{E(c.name)}</a>"
        for c in calendars
    )
    nav = " ".join(
        f'<a href="{base}?{urlencode({"calendar": cal.id, "week": (monday + timedelta(days=d)).isoformat()})}">{label}</a>'
        for d, label in ((-7, "&larr; Previous week"), (7, "Next week &rarr;"))
    )
    form = _event_form(f"{base}/events", cal.id, monday, None, zone, calendars)
    sharing = _sharing(request, box, cal, monday)
    body = (
        f"<header><h1>{E(box.display_name)}</h1><small>{E(box.address)} &middot; {E(box.time_zone)}</small>"
        f"<nav class=cals aria-label=Calendars>{picker}</nav>"
        f"<nav class=weeks aria-label=Weeks>Week of {monday.isoformat()} {nav}</nav></header>"
        f"<main>{week_grid(monday, entries)}<details><summary>New event</summary>{form}</details>"
        f"{sharing}</main>"
    )
    return HTMLResponse(page(f"{box.display_name} - Outlook", body))


def _sharing(request: Request, box: Mailbox, cal: Any, monday: date) -> str:
    """The Share panel of the calendar shown: who it is shared with (and a Withdraw button each), and a form
    to share it with another person of the organization, "Can view" (read) or "Can edit" (write)."""
    directory = _state(request).directory
    action = f"/outlook/{E(box.address)}/calendars/{E(cal.id)}/shares"
    week = f'<input type="hidden" name="week" value="{monday.isoformat()}">'
    rows = []
    for oid, role in sorted(cal.shares.items()):
        who = directory.users.get(oid)
        address = who.user_principal_name if who else oid
        label = f"{E(who.display_name) if who else ''} {E(address)}: {'can edit' if role == 'write' else 'can view'}"
        rows.append(
            f'<li>{label} <form method="post" action="{action}/withdraw" class=inline>{week}'
            f'<input type="hidden" name="recipient" value="{E(address)}">'
            f'<button type="submit" class=danger>Withdraw share with {E(address)}</button></form></li>'
        )
    shared = f"<ul class=shares>{''.join(rows)}</ul>" if rows else "<p>Not shared with anyone.</p>"
    return (
        f"<details class=share><summary>Share “{E(cal.name)}”</summary>"
        f'<section aria-label="Sharing of {E(cal.name)}"><h2>Sharing</h2>{shared}'
        f'<form method="post" action="{action}" class=event>{week}'
        f'<label>Share with (email address) <input type="email" name="recipient" required></label>'
        f'<label>Permission <select name="role"><option value="read">Can view</option>'
        f'<option value="write" selected>Can edit</option></select></label>'
        f"<button type=submit>Share</button></form></section></details>"
    )


async def share(request: Request) -> Response:
    """The owner shares the calendar (POST .../shares) or withdraws a share (POST .../shares/withdraw)."""
    box = _mailbox(request)
    if box is None or not _same_origin(request):
        return HTMLResponse(page("Refused", "<h1>Refused</h1>"), 404 if box is None else 403)
    state = _state(request)
    form = await request.form()
    key = str(form.get("recipient") or "").strip()
    withdraw = request.url.path.endswith("/withdraw")
    with box.graph.lock:
        cal = box.calendars.get(request.path_params["calendar_id"])
        if cal is None:
            return HTMLResponse(page("Not found", "<h1>No such calendar</h1>"), 404)
        who = state.directory.users.get(key) or state.directory.user_by_login(key)
        owner = state.directory.users.get(box.oid)
        problem = ""
        if who is None or who.oid == box.oid:
            problem = f"There is no other person “{key}” in the organization."
        elif owner is not None and who.tenant_id != owner.tenant_id:
            problem = "Calendars are shared with people of the same organization only."
        role = str(form.get("role") or "")
        if not problem and not withdraw and role not in ("read", "write"):
            problem = "Choose Can view or Can edit."
        if problem:
            return HTMLResponse(page("Could not share", f"<h1>Could not share</h1><p>{E(problem)}</p>"), 400)
        if withdraw:
            cal.shares.pop(who.oid, None)
        else:
            state.graph.ensure_mailbox(who)  # the recipient's calendar list shows it from now on
            cal.shares[who.oid] = role
    query = urlencode({"calendar": cal.id, "week": str(form.get("week") or "")})
    return RedirectResponse(f"/outlook/{box.address}?{query}", status_code=303)


def _entry(box: Mailbox, item: Event | Occurrence, zone: Any) -> dict:
    event = item.view() if isinstance(item, Occurrence) else item
    link = f"/outlook/{box.address}/events/{item.master.id if isinstance(item, Occurrence) else item.id}"
    return {
        "start": item.start.astimezone(zone),
        "end": item.end.astimezone(zone),
        "subject": event.subject or "(no subject)",
        "show_as": event.show_as,
        "all_day": event.is_all_day,
        "href": link,
        "linked": bool(event.extended),
    }


def _event_form(action: str, cal_id: str, day: date, event: Event | None, zone: Any, calendars: list) -> str:
    start = (
        event.start.astimezone(zone) if event else datetime.combine(day, datetime.min.time()).replace(hour=9)
    )
    end = event.end.astimezone(zone) if event else start + timedelta(hours=1)
    show = event.show_as if event else "busy"
    options = "".join(
        f'<option value="{s}"{" selected" if s == show else ""}>{s}</option>'
        for s in ("free", "tentative", "busy", "oof", "workingElsewhere")
    )
    cal_options = "".join(
        f'<option value="{E(c.id)}"{" selected" if c.id == cal_id else ""}>{E(c.name)}</option>'
        for c in calendars
    )
    cal_field = "" if event else f'<label>Calendar <select name="calendar">{cal_options}</select></label>'
    return (
        f'<form method="post" action="{E(action)}" class=event>{cal_field}'
        f'<label>Subject <input name="subject" value="{E(event.subject if event else "")}" required></label>'
        f'<label>Start <input type="datetime-local" name="start" value="{start.strftime("%Y-%m-%dT%H:%M")}" required></label>'
        f'<label>End <input type="datetime-local" name="end" value="{end.strftime("%Y-%m-%dT%H:%M")}" required></label>'
        f'<label>Show as <select name="showAs">{options}</select></label>'
        f'<button type="submit">Save</button></form>'
    )


def _body_from_form(form: Any, zone_name: str) -> dict:
    return {
        "subject": str(form.get("subject", "")),
        "start": {"dateTime": str(form.get("start", "")), "timeZone": zone_name},
        "end": {"dateTime": str(form.get("end", "")), "timeZone": zone_name},
        "showAs": str(form.get("showAs", "busy")),
    }


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    return origin is None or origin.split("://", 1)[-1] == request.headers.get("host")


async def create(request: Request) -> Response:
    box = _mailbox(request)
    if box is None or not _same_origin(request):
        return HTMLResponse(page("Refused", "<h1>Refused</h1>"), 404 if box is None else 403)
    form = await request.form()
    try:
        with box.graph.lock:
            event, _ = box.create_event(
                str(form.get("calendar") or "") or None, _body_from_form(form, box.time_zone)
            )
    except exc.GraphError as err:
        return HTMLResponse(page("Error", f"<h1>Could not save</h1><p>{E(err.message)}</p>"), 400)
    return _back(box, event)


def _back(box: Mailbox, event: Event) -> Response:
    day = event.start.astimezone(tz.zone(box.time_zone)).date().isoformat()
    query = urlencode({"calendar": event.calendar_id, "week": day})
    return RedirectResponse(f"/outlook/{box.address}?{query}", status_code=303)


async def edit(request: Request) -> Response:
    box = _mailbox(request)
    if box is None:
        return HTMLResponse(page("Not found", "<h1>No such mailbox</h1>"), 404)
    zone = tz.zone(box.time_zone)
    with box.graph.lock:
        event = box.events.get(request.path_params["event_id"])
        if event is None:
            return HTMLResponse(page("Not found", "<h1>No such event</h1>"), 404)
        action = f"/outlook/{box.address}/events/{event.id}"
        if request.method == "POST":
            if not _same_origin(request):
                return HTMLResponse(page("Refused", "<h1>Refused</h1>"), 403)
            form = await request.form()
            try:
                box.update_event(event.id, _body_from_form(form, box.time_zone))
            except exc.GraphError as err:
                return HTMLResponse(page("Error", f"<h1>Could not save</h1><p>{E(err.message)}</p>"), 400)
            return _back(box, event)
        props = "".join(f"<li><code>{E(i)}</code> = {E(v)}</li>" for i, v in event.extended.values())
        body = (
            f"<h1>Edit event</h1>{_event_form(action, event.calendar_id, event.start.date(), event, zone, [])}"
            f'<form method="post" action="{E(action)}/delete"><button class=danger>Delete event</button></form>'
            f"<h2>Extended properties</h2><ul>{props or '<li>none</li>'}</ul>"
        )
    return HTMLResponse(page("Edit event", body))


async def delete(request: Request) -> Response:
    box = _mailbox(request)
    if box is None or not _same_origin(request):
        return HTMLResponse(page("Refused", "<h1>Refused</h1>"), 404 if box is None else 403)
    with box.graph.lock:
        event = box.events.get(request.path_params["event_id"])
        if event is None:
            return HTMLResponse(page("Not found", "<h1>No such event</h1>"), 404)
        box.delete_event(event.id)
    return _back(box, event)


routes = [
    Route("/", index, methods=["GET"]),
    Route("/{user}", week, methods=["GET"]),
    Route("/{user}/events", create, methods=["POST"]),
    Route("/{user}/events/{event_id}", edit, methods=["GET", "POST"]),
    Route("/{user}/events/{event_id}/delete", delete, methods=["POST"]),
    Route("/{user}/calendars/{calendar_id}/shares", share, methods=["POST"]),
    Route("/{user}/calendars/{calendar_id}/shares/withdraw", share, methods=["POST"]),
]
