"""Control routes for the Graph half (/_emulator/graph/..., /_emulator/faults): read a mailbox's raw state,
act "as the user" (edit/delete/create events, create/delete calendars), faults, throttling, settings,
the Graph request log and delivered change notifications."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from m365emulator.faults import FaultConfig, FaultConfigError
from m365emulator.graph import exceptions as exc
from m365emulator.graph.models import Event, Mailbox, Occurrence


def _state(request: Request) -> Any:
    return request.app.state.emulator


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status)


async def _body(request: Request) -> Any:
    raw = await request.body()
    if not raw:
        return {}
    try:
        return json.loads(raw)
    except ValueError:
        raise exc.bad_request("The body is not valid JSON.") from None


def _mailbox(request: Request) -> Mailbox:
    state = _state(request)
    key = request.path_params["user"]
    user = state.directory.users.get(key) or state.directory.user_by_login(key)
    if user is None:
        raise exc.GraphError(404, "UserNotFound", f"No user '{key}' in the directory.")
    return state.graph.ensure_mailbox(user)


def raw_event(event: Event) -> dict:
    return {
        "id": event.id,
        "calendarId": event.calendar_id,
        "subject": event.subject,
        "body": {"contentType": event.body_type, "content": event.body_content},
        "start": event.start.isoformat(),
        "end": event.end.isoformat(),
        "startTimeZone": event.start_tz,
        "endTimeZone": event.end_tz,
        "isAllDay": event.is_all_day,
        "showAs": event.show_as,
        "location": event.location.get("displayName", ""),
        "categories": list(event.categories),
        "transactionId": event.transaction_id,
        "changeKey": event.change_key,
        "createdDateTime": event.created.isoformat(),
        "lastModifiedDateTime": event.modified.isoformat(),
        "recurrence": event.recurrence,
        "cancelledOccurrences": list(event.cancelled_dates),
        "exceptionOccurrences": sorted(event.exceptions),
        "attendees": list(event.attendees),
        "singleValueExtendedProperties": [{"id": i, "value": v} for i, v in event.extended.values()],
        "regularId": event.regular_id or event.id,  # the id Graph shows without Prefer: IdType="ImmutableId"
    }


def raw_mailbox(box: Mailbox) -> dict:
    return {
        "oid": box.oid,
        "address": box.address,
        "displayName": box.display_name,
        "timeZone": box.time_zone,
        "isPersonal": box.is_personal,
        "calendars": [
            {
                "id": c.id,
                "name": c.name,
                "isDefaultCalendar": c.is_default,
                "changeKey": c.change_key,
                "color": c.color,
                "shares": dict(c.shares),
            }
            for c in box.calendars.values()
        ],
        "events": [raw_event(e) for e in box.events.values()],
    }


def _guard(handler: Any) -> Any:
    """Control handlers answer errors as JSON {"error": {code, message}}, never a stack trace."""

    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except exc.GraphError as err:
            return _error(err.status, err.code, err.message)

    return wrapped


@_guard
async def list_mailboxes(request: Request) -> Response:
    graph = _state(request).graph
    with graph.lock:
        data = [
            {
                "oid": b.oid,
                "address": b.address,
                "displayName": b.display_name,
                "calendars": len(b.calendars),
                "events": len(b.events),
            }
            for b in graph.mailboxes.values()
        ]
    return JSONResponse({"value": data})


@_guard
async def get_mailbox(request: Request) -> Response:
    box = _mailbox(request)
    with box.graph.lock:
        return JSONResponse(raw_mailbox(box))


@_guard
async def create_calendar(request: Request) -> Response:
    box = _mailbox(request)
    body = await _body(request)
    with box.graph.lock:
        cal = box.create_calendar(body.get("name") if isinstance(body, dict) else None)
    return JSONResponse({"id": cal.id, "name": cal.name, "isDefaultCalendar": False}, 201)


@_guard
async def delete_calendar(request: Request) -> Response:
    box = _mailbox(request)
    with box.graph.lock:
        box.delete_calendar(request.path_params["calendar_id"])
    return Response(status_code=204)


@_guard
async def create_event(request: Request) -> Response:
    box = _mailbox(request)
    body = await _body(request)
    if not isinstance(body, dict):
        raise exc.bad_request("A JSON object is expected.")
    body = dict(body)
    calendar_id = body.pop("calendarId", None)
    with box.graph.lock:
        event, _ = box.create_event(calendar_id, body)
        return JSONResponse(raw_event(event), 201)


@_guard
async def edit_event(request: Request) -> Response:
    """The user edits the event in Outlook: a Graph-style PATCH body; changeKey changes, ids stay.
    `calendarId` (not a Graph property) moves the event to another calendar of the mailbox, as a user
    dragging it there in Outlook does; its immutable id stays the same."""
    box = _mailbox(request)
    body = await _body(request)
    if isinstance(body, dict) and "calendarId" in body:
        body = dict(body)
        calendar_id = body.pop("calendarId")
        with box.graph.lock:
            target = box.find(request.path_params["event_id"])
            if isinstance(target, Occurrence):
                raise exc.bad_request("A single occurrence cannot be moved to another calendar.")
            cal = box.calendar(str(calendar_id))
            if body:
                box.update_event(target.id, body)
            box.move_event(target, cal.id)  # the immutable id stays; the regular id changes
            return JSONResponse(raw_event(target))
    with box.graph.lock:
        event = box.update_event(request.path_params["event_id"], body)
        return JSONResponse(raw_event(event.master if isinstance(event, Occurrence) else event))


@_guard
async def delete_event(request: Request) -> Response:
    box = _mailbox(request)
    with box.graph.lock:
        box.delete_event(request.path_params["event_id"])
    return Response(status_code=204)


@_guard
async def mailbox_access(request: Request) -> Response:
    """PUT {"deny": true}: the mailbox denies the app (Graph answers 403 ErrorAccessDenied for it, as when
    an Exchange admin restricts the app with an application access policy); {"deny": false} restores."""
    box = _mailbox(request)
    graph = _state(request).graph
    if request.method == "PUT":
        body = await _body(request)
        if not isinstance(body, dict) or not isinstance(body.get("deny"), bool):
            raise exc.bad_request('A JSON object {"deny": true|false} is expected.')
        with graph.lock:
            (graph.denied_mailboxes.add if body["deny"] else graph.denied_mailboxes.discard)(box.oid)
    return JSONResponse({"deny": box.oid in graph.denied_mailboxes})


@_guard
async def expire_delta_tokens(request: Request) -> Response:
    box = _mailbox(request)
    with box.graph.lock:
        count = len(box.sync_states) + len(box.pages)
        box.sync_states.clear()
        box.pages.clear()
    return JSONResponse({"expired": count})


@_guard
async def faults(request: Request) -> Response:
    graph = _state(request).graph
    if request.method == "DELETE":
        graph.faults = FaultConfig()
    elif request.method in ("PUT", "POST"):
        try:
            graph.faults = FaultConfig.from_json(await _body(request))
        except FaultConfigError as err:
            return _error(400, "InvalidFaultConfig", str(err))
    return JSONResponse(graph.faults.to_json())


@_guard
async def throttling(request: Request) -> Response:
    throttle = _state(request).graph.throttle
    if request.method in ("PUT", "POST", "PATCH"):
        body = await _body(request)
        if not isinstance(body, dict):
            raise exc.bad_request("A JSON object is expected.")
        throttle.configure(**body)
    elif request.method == "DELETE":
        throttle.reset()
    return JSONResponse(throttle.snapshot())


@_guard
async def settings(request: Request) -> Response:
    graph = _state(request).graph
    if request.method in ("PUT", "POST", "PATCH"):
        body = await _body(request)
        fields = {f.name: f.type for f in dataclasses.fields(graph.settings)}
        if not isinstance(body, dict) or set(body) - set(fields):
            raise exc.bad_request(f"Known settings: {sorted(fields)}")
        for key, value in body.items():
            current = getattr(graph.settings, key)
            ok = (
                (key == "notification_ca_file" and (value is None or isinstance(value, str)))
                or (isinstance(current, bool) and isinstance(value, bool))
                or (
                    not isinstance(current, bool)
                    and isinstance(value, (int, float))
                    and not isinstance(value, bool)
                    and value > 0
                )
            )
            if not ok:
                raise exc.bad_request(f"Invalid value for {key}.")
            setattr(graph.settings, key, int(value) if key == "subscription_max_minutes" else value)
    return JSONResponse(dataclasses.asdict(graph.settings))


@_guard
async def requests_log(request: Request) -> Response:
    """The request log, Graph requests by default; filters: path_prefix, client_id, mailbox, status, method, limit."""
    q = request.query_params
    prefix = q.get("path_prefix", "/v1.0")
    limit = int(q["limit"]) if q.get("limit", "").isdigit() else 1000
    rows = []
    for entry in list(_state(request).request_log):
        if not entry.get("path", "").startswith(prefix):
            continue
        if q.get("client_id") and entry.get("client_id") != q["client_id"]:
            continue
        if q.get("mailbox") and entry.get("mailbox") != q["mailbox"]:
            continue
        if q.get("status") and str(entry.get("status")) != q["status"]:
            continue
        if q.get("method") and entry.get("method") != q["method"].upper():
            continue
        rows.append(entry)
    return JSONResponse({"value": rows[-limit:]})


@_guard
async def notifications(request: Request) -> Response:
    graph = _state(request).graph
    return JSONResponse({"value": list(getattr(graph, "notification_log", []))})


@_guard
async def calendar_shares(request: Request) -> Response:
    """The owner shares a calendar in Outlook, or withdraws the share. PUT .../shares/{recipient}
    {"role": "read" | "write"}; DELETE .../shares/{recipient}; GET .../shares lists them ({oid: role}).
    Recipients are users of the owner's tenant (Outlook gives write access inside the organization only)."""
    box = _mailbox(request)
    state = _state(request)
    with box.graph.lock:
        cal = box.calendar(request.path_params["calendar_id"])
        recipient_key = request.path_params.get("recipient")
        if recipient_key is not None:
            who = state.directory.users.get(recipient_key) or state.directory.user_by_login(recipient_key)
            if who is None or who.oid == box.oid:
                raise exc.GraphError(
                    404, "UserNotFound", f"No other user '{recipient_key}' in the directory."
                )
            owner = state.directory.users.get(box.oid)
            if owner is not None and who.tenant_id != owner.tenant_id:
                raise exc.bad_request("Calendars are shared with users of the same organization only.")
            if request.method == "PUT":
                body = await _body(request)
                role = body.get("role") if isinstance(body, dict) else None
                if role not in ("read", "write"):
                    raise exc.bad_request('A JSON object {"role": "read" | "write"} is expected.')
                state.graph.ensure_mailbox(who)  # the recipient's calendar list shows it from now on
                cal.shares[who.oid] = role
            elif request.method == "DELETE":
                cal.shares.pop(who.oid, None)
        return JSONResponse(
            {
                "calendarId": cal.id,
                "shares": dict(cal.shares),
                "shareeCalendarIds": _sharee_ids(state, box, cal),
            }
        )


def _sharee_ids(state: Any, box: Mailbox, cal: Any) -> dict[str, str]:
    """Recipient oid -> the id the recipient's GET /me/calendars lists the calendar under (variant
    shared_calendar_ids: its own id under per_mailbox, the owner's under same)."""
    if state.variants.shared_calendar_ids != "per_mailbox":
        return {oid: cal.id for oid in cal.shares}
    return {oid: state.graph.sharee_id(oid, box.oid, cal.id) for oid in cal.shares}


@_guard
async def shared_ids(request: Request) -> Response:
    """GET /_emulator/graph/mailboxes/{sharee}/shared-ids[?owner={user}&id={owner's id}...]: how the sharee's
    mailbox names the items of calendars shared with it (variant shared_calendar_ids). "ids" maps each owner's
    id (calendars shared with the sharee now, their events, occurrences given out) to the sharee's id, plus
    each `id` asked for in `owner`'s mailbox (a deleted event's too: the mapping is a pure function); under
    `same` every id maps to itself. Tests translate what ShiftDesk recorded into the owner's raw state."""
    box = _mailbox(request)
    state = _state(request)
    graph = state.graph
    per_mailbox = state.variants.shared_calendar_ids == "per_mailbox"
    asked = request.query_params.getlist("id")
    owner_key = request.query_params.get("owner")
    owner = None
    if owner_key is not None:
        user = state.directory.users.get(owner_key) or state.directory.user_by_login(owner_key)
        if user is None:
            raise exc.GraphError(404, "UserNotFound", f"No user '{owner_key}' in the directory.")
        owner = user.oid
    elif asked:
        raise exc.bad_request("Name the owner of the ids asked for: ?owner={user}&id=...")
    with graph.lock:
        table = graph.sharee_id_table(box.oid)
        for owner_id in asked:
            table[owner_id] = graph.sharee_id(box.oid, owner, owner_id)
    if not per_mailbox:
        table = {owner_id: owner_id for owner_id in table}
    return JSONResponse({"variant": state.variants.shared_calendar_ids, "sharee": box.oid, "ids": table})


@_guard
async def list_subscriptions(request: Request) -> Response:
    """Every change-notification subscription, raw (tests find a subscription's id and state here)."""
    from m365emulator.graph.subscriptions import dump_subscriptions

    graph = _state(request).graph
    with graph.lock:
        return JSONResponse({"value": dump_subscriptions(graph)})


@_guard
async def lifecycle(request: Request) -> Response:
    """POST {"lifecycleEvent": "reauthorizationRequired" | "subscriptionRemoved" | "missed"}: Graph sends that
    lifecycle notification to the subscription's lifecycleNotificationUrl (and acts: pauses, removes)."""
    from m365emulator.graph.subscriptions import send_lifecycle

    body = await _body(request)
    event = body.get("lifecycleEvent") if isinstance(body, dict) else None
    return JSONResponse(send_lifecycle(_state(request).graph, request.path_params["sub_id"], str(event)))


routes = [
    Route("/graph/subscriptions", list_subscriptions, methods=["GET"]),
    Route("/graph/subscriptions/{sub_id}/lifecycle", lifecycle, methods=["POST"]),
    Route("/graph/mailboxes", list_mailboxes, methods=["GET"]),
    Route("/graph/mailboxes/{user}", get_mailbox, methods=["GET"]),
    Route("/graph/mailboxes/{user}/calendars", create_calendar, methods=["POST"]),
    Route("/graph/mailboxes/{user}/calendars/{calendar_id}", delete_calendar, methods=["DELETE"]),
    Route("/graph/mailboxes/{user}/calendars/{calendar_id}/shares", calendar_shares, methods=["GET"]),
    Route(
        "/graph/mailboxes/{user}/calendars/{calendar_id}/shares/{recipient}",
        calendar_shares,
        methods=["PUT", "DELETE"],
    ),
    Route("/graph/mailboxes/{user}/events", create_event, methods=["POST"]),
    Route("/graph/mailboxes/{user}/events/{event_id}", edit_event, methods=["PATCH"]),
    Route("/graph/mailboxes/{user}/events/{event_id}", delete_event, methods=["DELETE"]),
    Route("/graph/mailboxes/{user}/access", mailbox_access, methods=["GET", "PUT"]),
    Route("/graph/mailboxes/{user}/shared-ids", shared_ids, methods=["GET"]),
    Route("/graph/mailboxes/{user}/expire-delta-tokens", expire_delta_tokens, methods=["POST"]),
    Route("/graph/throttling", throttling, methods=["GET", "PUT", "PATCH", "DELETE"]),
    Route("/graph/settings", settings, methods=["GET", "PUT", "PATCH"]),
    Route("/graph/requests", requests_log, methods=["GET"]),
    Route("/graph/notifications", notifications, methods=["GET"]),
    Route("/faults", faults, methods=["GET", "PUT", "POST", "DELETE"]),
]
