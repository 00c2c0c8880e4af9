"""Time-window reads: calendarView (recurrences expanded), event instances, calendarView/delta, getSchedule."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from . import exceptions as exc
from . import timezones as tz
from .app import Ctx, Result, calendar_mailbox, require, require_share
from .models import Event, Occurrence, SyncState
from .odata import parse_query
from .responses import _params, page, render_rows
from .serialize import event_json

MAX_SYNC_STATES = 200  # per mailbox
STATUS_DIGIT = {
    "free": "0",
    "tentative": "1",
    "busy": "2",
    "oof": "3",
    "workingElsewhere": "4",
    "unknown": "2",
}


def _window(ctx: Ctx) -> tuple[datetime, datetime]:
    lowered = {k.lower(): v for k, v in ctx.params.items()}
    raw_start, raw_end = lowered.get("startdatetime"), lowered.get("enddatetime")
    if not raw_start or not raw_end:
        raise exc.GraphError(
            400,
            "ErrorInvalidParameter",
            "This request requires a time window specified by the query string parameters StartDateTime and EndDateTime.",
        )
    start, end = tz.parse_query_instant(raw_start), tz.parse_query_instant(raw_end)
    for name, raw, parsed in (("StartDateTime", raw_start, start), ("EndDateTime", raw_end, end)):
        if parsed is None:
            raise exc.GraphError(
                400, "ErrorInvalidParameter", f"The value '{raw}' of parameter '{name}' is invalid."
            )
    assert start is not None and end is not None
    if end < start:
        raise exc.GraphError(
            400, "ErrorInvalidParameter", "The parameter 'EndDateTime' must be later than 'StartDateTime'."
        )
    return start, end


def calendar_view(ctx: Ctx, calendar_id: str | None = None) -> Result:
    require(ctx, "read")
    start, end = _window(ctx)
    q = parse_query(_params(ctx))
    applied: dict[str, str] = {}
    zone = ctx.out_zone(applied)
    box = calendar_mailbox(ctx, calendar_id)
    with ctx.graph.lock:
        require_share(ctx, box, box.calendar(calendar_id) if calendar_id else box.default_calendar, "read")
        rows = render_rows(ctx, box, box.view(calendar_id, start, end), q, zone)
    return page(ctx, [r for r, _ in rows], q, applied, ctx.context(f"{ctx.user_context()}/calendarView"))


def instances(ctx: Ctx, event_id: str, calendar_id: str | None = None) -> Result:
    require(ctx, "read")
    start, end = _window(ctx)
    q = parse_query(_params(ctx))
    applied: dict[str, str] = {}
    zone = ctx.out_zone(applied)
    box = calendar_mailbox(ctx, calendar_id)
    with ctx.graph.lock:
        master = box.event(event_id)
        require_share(ctx, box, box.calendars[master.calendar_id], "read")
        items = [
            i
            for i in box.view(master.calendar_id, start, end)
            if (i.master if isinstance(i, Occurrence) else i) is master
        ]
        rows = render_rows(ctx, box, items, q, zone)
    return page(
        ctx,
        [r for r, _ in rows],
        q,
        applied,
        ctx.context(f"{ctx.user_context()}/events('{event_id}')/instances"),
    )


# ---- delta -----------------------------------------------------------------------------------------
def calendar_view_delta(ctx: Ctx, calendar_id: str | None = None) -> Result:
    """Rounds of delta: the first lists everything in the window; a deltaLink lists what changed since."""
    require(ctx, "read")
    applied: dict[str, str] = {}
    zone = ctx.out_zone(applied)
    size = ctx.page_size(applied, 10)
    lowered = {k.lower(): v for k, v in ctx.params.items()}
    box = calendar_mailbox(ctx, calendar_id)
    variants = ctx.state.variants
    path = ctx.user_prefix + ("/calendars/" + calendar_id if calendar_id else "") + "/calendarView/delta"
    if calendar_id and variants.calendar_delta == "refused":
        # Variant: v1.0's event-delta.md documents delta only on /me/calendarView (the primary calendar);
        # a Graph that does not bind the function below /calendars/{id} answers OData's routing error.
        raise exc.segment_not_found("delta")
    with ctx.graph.lock:
        skip = lowered.get("$skiptoken")
        if skip is not None:
            if skip not in box.pages:
                raise exc.sync_state_not_found()
            items, delta_token = box.pages.pop(skip)
        else:
            token = lowered.get("$deltatoken")
            if token is not None:
                sync = box.sync_states.get(token)  # reusable, as Graph's are: a client may retry a round
                if sync is None:
                    raise exc.sync_state_not_found()
            else:
                start, end = _window(ctx)
                cal_id = box.calendar(calendar_id).id if calendar_id else box.default_calendar.id
                sync = SyncState(cal_id, start, end, set(), -1)
            if sync.calendar_id not in box.calendars:
                raise exc.sync_state_not_found()
            require_share(ctx, box, box.calendars[sync.calendar_id], "read")
            current = box.view(sync.calendar_id, sync.start, sync.end)
            current_ids = {i.id for i in current}
            items = []
            for item in current:
                event = item.master if isinstance(item, Occurrence) else item
                if item.id not in sync.known or event.seq > sync.seq:
                    items.append(event_json(box, item, zone))
            gone_ids = set(sync.known - current_ids)
            if variants.delta_removed_outside_window == "reported" and sync.seq >= 0:
                # event-delta.md, Response: events *outside* the date range that were added or updated since
                # the previous call come under @removed (reason deleted) too; the client filters them.
                in_view = current_ids | {i.master.id for i in current if isinstance(i, Occurrence)}
                gone_ids.update(
                    e.id for e in box.events_in(sync.calendar_id) if e.seq > sync.seq and e.id not in in_view
                )
            for gone in sorted(gone_ids):
                items.append(
                    {"@odata.type": "#microsoft.graph.event", "id": gone, "@removed": {"reason": "deleted"}}
                )
            delta_token = secrets.token_urlsafe(24)
            box.sync_states[delta_token] = SyncState(
                sync.calendar_id, sync.start, sync.end, current_ids, ctx.graph.seq
            )
        body: dict[str, Any] = {"@odata.context": ctx.context("Collection(event)"), "value": items[:size]}
        if len(items) > size:
            next_token = secrets.token_urlsafe(24)
            box.pages[next_token] = (items[size:], delta_token)
            body["@odata.nextLink"] = ctx.link(path, {"$skiptoken": next_token})
        else:
            body["@odata.deltaLink"] = ctx.link(path, {"$deltatoken": delta_token})
    applied["Preference-Applied"] = ", ".join(
        filter(None, ["odata.track-changes", applied.get("Preference-Applied")])
    )
    return Result(200, body, applied)


# ---- getSchedule -----------------------------------------------------------------------------------
def _dtz(value: Any, field: str) -> datetime:
    if not isinstance(value, dict):
        raise exc.GraphError(400, "ErrorInvalidParameter", f"The parameter '{field}' is missing or invalid.")
    zone_name = value.get("timeZone") or "UTC"
    tz.zone(zone_name)
    return tz.to_utc(tz.parse_local(value.get("dateTime"), field), zone_name)


def get_schedule(ctx: Ctx) -> Result:
    require(ctx, "read")
    if getattr(ctx.user, "is_personal", False):
        raise exc.access_denied()
    body = ctx.body_object()
    schedules = body.get("schedules")
    if not isinstance(schedules, list) or not schedules or not all(isinstance(s, str) for s in schedules):
        raise exc.GraphError(400, "ErrorInvalidParameter", "The parameter 'schedules' is missing or invalid.")
    if len(schedules) > 100:
        raise exc.GraphError(
            400, "ErrorInvalidParameter", "The number of schedules exceeds the maximum of 100."
        )
    start, end = _dtz(body.get("startTime"), "startTime"), _dtz(body.get("endTime"), "endTime")
    if end <= start or end - start > timedelta(days=62):
        raise exc.GraphError(
            400, "ErrorInvalidParameter", "The requested time window is invalid or longer than 62 days."
        )
    interval = body.get("availabilityViewInterval", 30)
    if not isinstance(interval, int) or isinstance(interval, bool) or not 5 <= interval <= 1440:
        raise exc.GraphError(
            400, "ErrorInvalidParameter", "availabilityViewInterval must be between 5 and 1440."
        )
    applied: dict[str, str] = {}
    zone = ctx.out_zone(applied)
    directory = ctx.state.directory
    values = []
    with ctx.graph.lock:
        for address in schedules:
            user = directory.user_by_login(address)
            if user is None or user.tenant_id != ctx.user.tenant_id:
                values.append(
                    {
                        "scheduleId": address,
                        "error": {
                            "message": f"Unable to resolve e-mail address {address} to an Active Directory object.",
                            "responseCode": "5009",
                        },
                    }
                )
                continue
            values.append(_schedule(ctx, user, address, start, end, interval, zone))
    return Result(
        200,
        {"@odata.context": ctx.context("Collection(microsoft.graph.scheduleInformation)"), "value": values},
        applied,
    )


def _schedule(
    ctx: Ctx, user: Any, address: str, start: datetime, end: datetime, interval: int, zone: str
) -> dict:
    box = ctx.graph.ensure_mailbox(user)
    items = box.view(None, start, end)
    step = timedelta(minutes=interval)
    slots = []
    cursor = start
    while cursor < end:
        slot_end = min(cursor + step, end)
        best = "0"
        for item in items:
            if item.start < slot_end and item.end > cursor:
                digit = STATUS_DIGIT.get(_event_of(item).show_as, "2")
                best = max(best, digit, key=_rank)
        slots.append(best)
        cursor = slot_end
    schedule_items = []
    for item in items:
        event = _event_of(item)
        if event.show_as == "free":
            continue
        entry: dict[str, Any] = {"isPrivate": event.sensitivity == "private", "status": event.show_as}
        if event.sensitivity != "private":
            entry["subject"] = event.subject
            entry["location"] = event.location.get("displayName", "")
        entry["start"] = {"dateTime": tz.format_local(item.start, zone), "timeZone": zone}
        entry["end"] = {"dateTime": tz.format_local(item.end, zone), "timeZone": zone}
        schedule_items.append(entry)
    return {
        "scheduleId": address,
        "availabilityView": "".join(slots),
        "scheduleItems": schedule_items,
        "workingHours": {
            "daysOfWeek": ["monday", "tuesday", "wednesday", "thursday", "friday"],
            "startTime": "08:00:00.0000000",
            "endTime": "17:00:00.0000000",
            "timeZone": {"name": tz.windows_name(box.time_zone)},
        },
    }


def _event_of(item: Event | Occurrence) -> Event:
    return item.view() if isinstance(item, Occurrence) else item


def _rank(digit: str) -> int:
    # oof beats busy beats workingElsewhere beats tentative beats free
    return {"0": 0, "1": 1, "4": 2, "2": 3, "3": 4}[digit]


def utcnow() -> datetime:
    return datetime.now(UTC)
