"""Handlers for /me, calendars and events: parse the request, call the mailbox, serialize the result."""

from __future__ import annotations

from typing import Any

from . import exceptions as exc
from .app import Ctx, Result, calendar_mailbox, event_mailbox, require, require_share
from .models import Event, Mailbox, Occurrence, other_encoding
from .odata import Query, order_rows, parse_query
from .serialize import calendar_json, event_json, select, user_json

CALENDAR_PROPS = {
    "id",
    "name",
    "color",
    "hexColor",
    "groupClassId",
    "isDefaultCalendar",
    "changeKey",
    "canShare",
    "canViewPrivateItems",
    "canEdit",
    "allowedOnlineMeetingProviders",
    "defaultOnlineMeetingProvider",
    "isTallyingResponses",
    "isRemovable",
    "owner",
}


def _params(ctx: Ctx) -> dict[str, str]:
    return {
        k: v
        for k, v in ctx.params.items()
        if k.startswith("$") or k.lower() in ("select", "filter", "top", "skip", "orderby", "expand")
    }


# ---- users -----------------------------------------------------------------------------------------
def get_user(ctx: Ctx) -> Result:
    require(ctx, "user")
    data = {"@odata.context": ctx.context("users/$entity"), **user_json(ctx.user)}
    fields = [f.strip() for f in ctx.params.get("$select", "").split(",") if f.strip()]
    if fields:
        data = {k: v for k, v in data.items() if k in fields or k.startswith("@odata")}
    return Result(200, data)


# ---- calendars -------------------------------------------------------------------------------------
def _calendar_entity(ctx: Ctx, box: Mailbox, cal: Any, status: int = 200) -> Result:
    data = {
        "@odata.context": ctx.context(f"{ctx.user_context()}/calendars/$entity"),
        **calendar_json(box, cal),
    }
    return Result(status, data)


def _shared_row(owner: Mailbox, cal: Any, role: str) -> dict:
    """A calendar shared with the caller, as their calendar list shows it: the owner's name and address,
    canEdit for a "write" share, never shareable or default (calendar resource, owner/canEdit)."""
    row = calendar_json(owner, cal)
    row.update(canEdit=role == "write", canShare=False, isDefaultCalendar=False, isRemovable=True,
               canViewPrivateItems=False)  # fmt: skip
    return row


def list_calendars(ctx: Ctx) -> Result:
    require(ctx, "read")
    box = ctx.mailbox()
    with ctx.graph.lock:
        if ctx.user.oid != ctx.claims.oid and not ctx.claims.app_only:
            # Another user's calendars: only those they shared with the caller.
            rows = [_shared_row(box, c, c.shares[ctx.claims.oid]) for c in box.calendars.values()
                    if ctx.claims.oid in c.shares]  # fmt: skip
        else:
            rows = [calendar_json(box, c) for c in box.calendars.values()]
            if not ctx.claims.app_only:
                shared = [_shared_row(owner, c, role) for owner, c, role in ctx.graph.shared_with(box.oid)]
                ctx.foreign = ctx.foreign or bool(
                    shared
                )  # shown under the sharee's ids (shared_calendar_ids)
                rows += shared
    fields = [f.strip() for f in ctx.params.get("$select", "").split(",") if f.strip()]
    for f in fields:
        if f not in CALENDAR_PROPS:
            raise exc.GraphError(
                400,
                "RequestBroker--ParseUri",
                f"Could not find a property named '{f}' on type 'microsoft.graph.calendar'.",
            )
    if fields:
        rows = [{k: v for k, v in r.items() if k in fields or k == "id"} for r in rows]
    return Result(200, {"@odata.context": ctx.context(f"{ctx.user_context()}/calendars"), "value": rows})


def get_calendar(ctx: Ctx, calendar_id: str | None = None) -> Result:
    require(ctx, "read")
    box = calendar_mailbox(ctx, calendar_id)
    with ctx.graph.lock:
        cal = box.calendar(calendar_id) if calendar_id else box.default_calendar
        require_share(ctx, box, cal, "read")
        if box.oid != ctx.claims.oid and not ctx.claims.app_only:  # another person's, as the caller sees it
            row = _shared_row(box, cal, cal.shares[ctx.claims.oid])
            return Result(
                200, {"@odata.context": ctx.context(f"{ctx.user_context()}/calendars/$entity"), **row}
            )
        return _calendar_entity(ctx, box, cal)


def create_calendar(ctx: Ctx) -> Result:
    require(ctx, "write")
    body = ctx.body_object()
    for key in body:
        if key not in ("name", "color", "hexColor", "@odata.type"):
            raise exc.unknown_property(key, "microsoft.graph.calendar")
    box = ctx.mailbox()
    with ctx.graph.lock:
        cal = box.create_calendar(body.get("name"))
        if isinstance(body.get("color"), str):
            cal.color = body["color"]
        return _calendar_entity(ctx, box, cal, 201)


def update_calendar(ctx: Ctx, calendar_id: str) -> Result:
    require(ctx, "write")
    body = ctx.body_object()
    box = ctx.mailbox()
    with ctx.graph.lock:
        return _calendar_entity(ctx, box, box.rename_calendar(calendar_id, body))


def delete_calendar(ctx: Ctx, calendar_id: str) -> Result:
    require(ctx, "write")
    box = ctx.mailbox()
    with ctx.graph.lock:
        box.delete_calendar(calendar_id)
    return Result(204)


# ---- events ----------------------------------------------------------------------------------------
def render_rows(
    ctx: Ctx, box: Mailbox, items: list[Event | Occurrence], q: Query, zone: str
) -> list[tuple[dict, Event | Occurrence]]:
    """Serialize, filter and order; each row keeps its source item for later paging."""
    rows = []
    need_all_ext = q.filter_needs_ext
    for item in items:
        data = event_json(box, item, zone, (lambda p: True) if need_all_ext else q.expand_ext)
        if q.filter is not None:
            probe = data if zone == "UTC" else event_json(box, item, "UTC", lambda p: True)
            if not q.filter(probe):
                continue
        if need_all_ext:
            if q.expand_ext is None:
                data.pop("singleValueExtendedProperties", None)
            else:
                data["singleValueExtendedProperties"] = [
                    p for p in data["singleValueExtendedProperties"] if q.expand_ext(p)
                ]
        if q.expand_calendar is not None:
            data["calendar"] = _calendar_of(ctx, box, item, q.expand_calendar)
        rows.append((data, item))
    if q.orderby:
        order_rows(rows, q.orderby)
    return rows


def page(
    ctx: Ctx, rows: list[dict], q: Query, applied: dict[str, str], context: str, default_size: int = 10
) -> Result:
    size = q.top if q.top is not None else ctx.page_size(applied, default_size)
    chunk = rows[q.skip : q.skip + size]
    body: dict[str, Any] = {
        "@odata.context": context,
        "value": [select(r, q.select, q.expanded) for r in chunk],
    }
    if q.skip + size < len(rows) and size > 0:
        params = dict(ctx.params)
        params["$skip"] = str(q.skip + size)
        params.pop("skip", None)
        if q.top is not None:
            params["$top"] = str(size)
        body["@odata.nextLink"] = ctx.link(ctx.user_prefix + _tail(ctx), params)
    return Result(200, body, applied)


def _tail(ctx: Ctx) -> str:
    """The request path below the /me or /users/{x} prefix."""
    lower = ctx.path.lower()
    if lower.startswith("/me"):
        return ctx.path[3:]
    parts = ctx.path.split("/", 3)
    return "/" + parts[3] if len(parts) > 3 else ""


def list_events(ctx: Ctx, calendar_id: str | None = None) -> Result:
    require(ctx, "read")
    q = parse_query(_params(ctx))
    applied: dict[str, str] = {}
    zone = ctx.out_zone(applied)
    box = calendar_mailbox(ctx, calendar_id)
    with ctx.graph.lock:
        cal = box.calendar(calendar_id) if calendar_id else box.default_calendar
        require_share(ctx, box, cal, "read")
        rows = render_rows(ctx, box, box.events_in(calendar_id), q, zone)
    context = ctx.context(f"{ctx.user_context()}/events")
    return page(ctx, [r for r, _ in rows], q, applied, context)


def _entity(ctx: Ctx, box: Mailbox, item: Event | Occurrence, status: int = 200) -> Result:
    q = parse_query(_params(ctx))
    applied: dict[str, str] = {}
    zone = ctx.out_zone(applied)
    data = event_json(box, item, zone, q.expand_ext)
    if q.expand_calendar is not None:
        data["calendar"] = _calendar_of(ctx, box, item, q.expand_calendar)
    data = select(data, q.select, q.expanded)
    headers = dict(applied)
    headers["ETag"] = item.master.etag if isinstance(item, Occurrence) else item.etag
    return Result(
        status, {"@odata.context": ctx.context(f"{ctx.user_context()}/events/$entity"), **data}, headers
    )


def _calendar_of(ctx: Ctx, box: Mailbox, item: Event | Occurrence, fields: list[str]) -> dict[str, Any]:
    """$expand=calendar($select=...): the event's calendar, inline. Nothing documents that its id is the
    same string as in /me/calendars; the variant expand_calendar_id=different_encoding answers another
    encoding of the same folder (it resolves in GET /me/calendars/{id})."""
    event = item.master if isinstance(item, Occurrence) else item
    data = calendar_json(box, box.calendars[event.calendar_id])
    if ctx.state.variants.expand_calendar_id == "different_encoding":
        data["id"] = other_encoding(data["id"])
    for f in fields:
        if f not in CALENDAR_PROPS:
            raise exc.GraphError(
                400,
                "BadRequest",
                f"Could not find a property named '{f}' on type 'microsoft.graph.calendar'.",
            )
    return {k: v for k, v in data.items() if not fields or k in fields or k == "id"}


def _in_calendar(
    box: Mailbox,
    calendar_id: str | None,
    item: Event | Occurrence,
    ctx: Ctx | None = None,
    kind: str = "read",
) -> None:
    event = item.master if isinstance(item, Occurrence) else item
    if ctx is not None:
        require_share(ctx, box, box.calendars[event.calendar_id], kind)
    if calendar_id is None:
        return
    cal = box.calendar(calendar_id)
    if event.calendar_id != cal.id:
        raise exc.item_not_found()


def get_event(ctx: Ctx, event_id: str, calendar_id: str | None = None) -> Result:
    require(ctx, "read")
    box = event_mailbox(ctx, event_id, calendar_id)
    with ctx.graph.lock:
        item = box.find(event_id)
        _in_calendar(box, calendar_id, item, ctx)
        return _entity(ctx, box, item)


def create_event(ctx: Ctx, calendar_id: str | None = None) -> Result:
    require(ctx, "write")
    body = ctx.body_object()
    box = calendar_mailbox(ctx, calendar_id)
    with ctx.graph.lock:
        require_share(ctx, box, box.calendar(calendar_id) if calendar_id else box.default_calendar, "write")
        event, _created = box.create_event(calendar_id, body)
        return _entity(ctx, box, event, 201)


def update_event(ctx: Ctx, event_id: str, calendar_id: str | None = None) -> Result:
    require(ctx, "write")
    body = ctx.body_object()
    box = event_mailbox(ctx, event_id, calendar_id)
    with ctx.graph.lock:
        _in_calendar(box, calendar_id, box.find(event_id), ctx, "write")
        event = box.update_event(event_id, body, ctx.headers.get("if-match"))
        return _entity(ctx, box, event)


def delete_event(ctx: Ctx, event_id: str, calendar_id: str | None = None) -> Result:
    require(ctx, "write")
    box = event_mailbox(ctx, event_id, calendar_id)
    with ctx.graph.lock:
        _in_calendar(box, calendar_id, box.find(event_id), ctx, "write")
        box.delete_event(event_id, ctx.headers.get("if-match"))
    return Result(204)
