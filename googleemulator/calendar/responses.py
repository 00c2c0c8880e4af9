"""The Calendar API v3 surface: one `dispatch()` that parses a request (method, path under /calendar/v3,
query, headers, body), checks the token, the project and its quota, calls calendar/models.py and
serializes. The HTTP route and every part of a batch request both go through it."""

from __future__ import annotations

import hashlib
import json
import re
from collections import deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response

from googleemulator.calendar import exceptions as ge
from googleemulator.calendar import fields, models
from googleemulator.calendar.push import pusher
from googleemulator.oauth.models import CAL, access_token_for
from googleemulator.oauth.responses import gstate, issuer
from googleemulator.state import GoogleState

READ_EVENTS = {CAL + s for s in ("calendar", "calendar.readonly", "calendar.events", "calendar.events.readonly",
                                 "calendar.events.owned", "calendar.events.owned.readonly")}  # fmt: skip
WRITE_EVENTS = {CAL + s for s in ("calendar", "calendar.events", "calendar.events.owned")}
CALENDAR_LIST = {
    CAL + s
    for s in ("calendar", "calendar.readonly", "calendar.calendarlist", "calendar.calendarlist.readonly")
}
CALENDARS_GET = {
    CAL + s for s in ("calendar", "calendar.readonly", "calendar.calendars", "calendar.calendars.readonly")
}
FREEBUSY = {
    CAL + s for s in ("calendar", "calendar.readonly", "calendar.events.freebusy", "calendar.freebusy")
}
ANY_CALENDAR = READ_EVENTS | CALENDAR_LIST | CALENDARS_GET | FREEBUSY
COLORS = ("14", "#9fe1e7", "#000000")
CHANNEL_ID_RE = re.compile(r"^[A-Za-z0-9\-_+/=]{1,64}$")


@dataclass
class Answer:
    status: int
    body: dict | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def encode(self) -> bytes:
        return b"" if self.body is None else json.dumps(self.body, indent=1).encode()


@dataclass
class Caller:
    email: str
    client_id: str
    project_number: str
    scopes: set[str]


def _caller(state: GoogleState, headers: dict[str, str], query: QueryParams) -> Caller:
    header = headers.get("authorization", "")
    raw = header[7:].strip() if header.lower().startswith("bearer ") else query.get("access_token", "")
    token = access_token_for(state, raw) if raw else None
    if token is None:
        raise ge.unauthenticated()
    client = state.clients.get(token.client_id)
    if client is None:
        raise ge.unauthenticated()
    project = state.project_of(client)
    if not project.calendar_api_enabled:
        raise ge.access_not_configured(project.number)
    _check_quota(state, project.number, token.email)
    return Caller(token.email, token.client_id, project.number, set(token.scopes))


def _check_quota(state: GoogleState, project: str, email: str) -> None:
    """Google's documented per-minute quotas (sliding window), on by default: 600 requests per user per
    project → 403 userRateLimitExceeded, 10,000 per project → 403 rateLimitExceeded. Each batch part
    counts as one request. `PATCH /_emulator/google/settings` changes or (with null) lifts them."""
    settings = state.settings
    now = state.now()
    checks = []
    for key, limit, kind in (
        (f"user|{project}|{email}", settings.quota_per_user_per_minute, "userRateLimitExceeded"),
        (f"project|{project}", settings.quota_per_project_per_minute, "rateLimitExceeded"),
    ):
        if limit is None:
            continue
        stamps = state.quota_counts.setdefault(key, deque())
        while stamps and now - stamps[0] >= 60:
            stamps.popleft()
        if len(stamps) >= limit:
            raise ge.rate_limit(kind)
        checks.append(stamps)
    for stamps in checks:  # counted only once every quota admitted the request
        stamps.append(now)


def _need(caller: Caller, allowed: set[str]) -> None:
    if not caller.scopes & allowed:
        raise ge.insufficient_scopes()


def _json(body: bytes) -> object:
    if not body:
        return {}
    try:
        return json.loads(body)
    except ValueError:
        raise ge.ApiError(400, "parseError", "Parse Error") from None


def _calendar(state: GoogleState, caller: Caller, calendar_id: str):
    calendar_id = unquote(calendar_id)
    if calendar_id == "primary":
        return state.primary_calendar(caller.email)
    if calendar_id.lower() == caller.email.lower():
        return state.primary_calendar(caller.email)
    return state.calendars.get(calendar_id)


def _list_entry(cal, email: str, state: GoogleState) -> dict:
    role = models.access_role(cal, email)
    entry = {
        "kind": "calendar#calendarListEntry",
        "etag": models.etag_for(cal.seq, state.now()),
        "id": cal.id,
        "summary": cal.summary,
        "timeZone": cal.time_zone,
        "colorId": COLORS[0],
        "backgroundColor": COLORS[1],
        "foregroundColor": COLORS[2],
        "selected": True,
        "accessRole": role,
        "defaultReminders": [{"method": "popup", "minutes": 10}] if role in ("owner", "writer") else [],
        "conferenceProperties": {"allowedConferenceSolutionTypes": ["hangoutsMeet"]},
    }
    if cal.description:
        entry["description"] = cal.description
    if cal.primary and cal.owner == email:
        entry["primary"] = True
        entry["notificationSettings"] = {"notifications": [{"type": "eventCreation", "method": "email"}]}
    return entry


ROUTES = [
    ("GET", re.compile(r"^users/me/calendarList$"), "calendar_list"),
    ("GET", re.compile(r"^users/me/calendarList/(?P<cal>[^/]+)$"), "calendar_list_get"),
    ("GET", re.compile(r"^calendars/(?P<cal>[^/]+)$"), "calendars_get"),
    ("GET", re.compile(r"^calendars/(?P<cal>[^/]+)/events$"), "events_list"),
    ("POST", re.compile(r"^calendars/(?P<cal>[^/]+)/events$"), "events_insert"),
    ("POST", re.compile(r"^calendars/(?P<cal>[^/]+)/events/watch$"), "events_watch"),
    ("POST", re.compile(r"^calendars/(?P<cal>[^/]+)/events/(?P<ev>[^/]+)/move$"), "events_move"),
    ("GET", re.compile(r"^calendars/(?P<cal>[^/]+)/events/(?P<ev>[^/]+)$"), "events_get"),
    ("PATCH", re.compile(r"^calendars/(?P<cal>[^/]+)/events/(?P<ev>[^/]+)$"), "events_patch"),
    ("PUT", re.compile(r"^calendars/(?P<cal>[^/]+)/events/(?P<ev>[^/]+)$"), "events_update"),
    ("DELETE", re.compile(r"^calendars/(?P<cal>[^/]+)/events/(?P<ev>[^/]+)$"), "events_delete"),
    ("POST", re.compile(r"^freeBusy$"), "freebusy"),
    ("POST", re.compile(r"^channels/stop$"), "channels_stop"),
]


def dispatch(
    state: GoogleState,
    method: str,
    path: str,
    query: QueryParams,
    headers: dict[str, str],
    body: bytes,
    base: str,
) -> Answer:
    """`path` is relative to /calendar/v3/ (no leading slash); `base` is the emulator's /google URL."""
    entry = {"time": state.now(), "method": method, "path": "/calendar/v3/" + path, "status": None,
             "client_id": None, "user": None}  # fmt: skip
    try:
        for verb, pattern, name in ROUTES:  # noqa: B007 - the matching name is used after the loop
            match = pattern.match(path)
            if match and verb == method:
                break
        else:
            if any(p.match(path) for _, p, _ in ROUTES):
                raise ge.ApiError(405, "httpMethodNotAllowed", f"Method {method} not allowed.")
            raise ge.not_found()
        caller = _caller(state, headers, query)
        entry["client_id"], entry["user"] = caller.client_id, caller.email
        selection = fields.parse(query["fields"]) if query.get("fields") else None
        with state.lock:
            answer = HANDLERS[name](state, caller, match.groupdict(), query, headers, body, base)
        if selection is not None and answer.body is not None:
            answer.body = fields.project(answer.body, selection)
    except ge.ApiError as err:
        answer = Answer(err.code, err.body(), dict(err.headers))
    entry["status"] = answer.status
    state.request_log.append(entry)
    return answer


def calendar_list(state, caller, args, query, headers, body, base) -> Answer:
    _need(caller, CALENDAR_LIST)
    minimum = query.get("minAccessRole")
    if minimum and minimum not in models.ROLES[1:]:
        raise ge.invalid(f"Invalid value '{minimum}' for minAccessRole", "minAccessRole")
    items = []
    for cal in state.calendars_of(caller.email):
        role = models.access_role(cal, caller.email)
        if minimum and models.ROLES.index(role) < models.ROLES.index(minimum):
            continue
        items.append(_list_entry(cal, caller.email, state))
    return Answer(
        200,
        {
            "kind": "calendar#calendarList",
            "etag": models.etag_for(sum(c.seq for c in state.calendars.values()), state.now()),
            "items": items,
        },
    )


def calendar_list_get(state, caller, args, query, headers, body, base) -> Answer:
    _need(caller, CALENDAR_LIST)
    cal = models.require_role(_calendar(state, caller, args["cal"]), caller.email, "freeBusyReader")
    return Answer(200, _list_entry(cal, caller.email, state))


def calendars_get(state, caller, args, query, headers, body, base) -> Answer:
    _need(caller, CALENDARS_GET | CALENDAR_LIST)
    cal = models.require_role(_calendar(state, caller, args["cal"]), caller.email, "freeBusyReader")
    return Answer(
        200,
        {"kind": "calendar#calendar", "etag": models.etag_for(cal.seq, state.now()), "id": cal.id,
         "summary": cal.summary, "timeZone": cal.time_zone,
         "conferenceProperties": {"allowedConferenceSolutionTypes": ["hangoutsMeet"]}},
    )  # fmt: skip


def _event_answer(ev: dict, status: int = 200) -> Answer:
    return Answer(status, models.render(ev), {"ETag": ev["etag"]})


def events_list(state, caller, args, query, headers, body, base) -> Answer:
    _need(caller, READ_EVENTS)
    cal = models.require_role(_calendar(state, caller, args["cal"]), caller.email, "reader")
    return Answer(200, models.list_events(state, cal, query, models.access_role(cal, caller.email)))


def events_insert(state, caller, args, query, headers, body, base) -> Answer:
    _need(caller, WRITE_EVENTS)
    cal = models.require_role(_calendar(state, caller, args["cal"]), caller.email, "writer")
    return _event_answer(models.insert_event(state, cal, _json(body), caller.email, base))


def events_get(state, caller, args, query, headers, body, base) -> Answer:
    _need(caller, READ_EVENTS)
    cal = models.require_role(_calendar(state, caller, args["cal"]), caller.email, "reader")
    ev = models.get_event(cal, unquote(args["ev"]))
    if headers.get("if-none-match") == ev["etag"]:
        return Answer(304, None, {"ETag": ev["etag"]})
    return _event_answer(ev)


def events_patch(state, caller, args, query, headers, body, base, replace: bool = False) -> Answer:
    _need(caller, WRITE_EVENTS)
    cal = models.require_role(_calendar(state, caller, args["cal"]), caller.email, "writer")
    ev = models.patch_event(
        state, cal, unquote(args["ev"]), _json(body), headers.get("if-match"), replace=replace
    )
    return _event_answer(ev)


def events_update(state, caller, args, query, headers, body, base) -> Answer:
    return events_patch(state, caller, args, query, headers, body, base, replace=True)


def events_delete(state, caller, args, query, headers, body, base) -> Answer:
    _need(caller, WRITE_EVENTS)
    cal = models.require_role(_calendar(state, caller, args["cal"]), caller.email, "writer")
    models.delete_event(state, cal, unquote(args["ev"]), headers.get("if-match"))
    return Answer(204)


def events_move(state, caller, args, query, headers, body, base) -> Answer:
    _need(caller, WRITE_EVENTS)
    cal = models.require_role(_calendar(state, caller, args["cal"]), caller.email, "writer")
    if not query.get("destination"):
        raise ge.required("Required parameter: destination", "destination")
    target = models.require_role(_calendar(state, caller, query["destination"]), caller.email, "writer")
    return _event_answer(models.move_event(state, cal, unquote(args["ev"]), target))


def freebusy(state, caller, args, query, headers, body, base) -> Answer:
    _need(caller, FREEBUSY)
    data = _json(body)
    if not isinstance(data, dict):
        raise ge.ApiError(400, "parseError", "Parse Error")
    if not data.get("timeMin"):
        raise ge.required("Missing timeMin parameter.", "timeMin")
    if not data.get("timeMax"):
        raise ge.required("Missing timeMax parameter.", "timeMax")
    time_min = models.parse_instant(data["timeMin"], "timeMin")
    time_max = models.parse_instant(data["timeMax"], "timeMax")
    if time_max <= time_min:
        raise ge.time_range_empty("timeMax")
    items = data.get("items") or []
    if len(items) > int(data.get("calendarExpansionMax") or 50):
        raise ge.ApiError(
            400,
            "tooManyCalendarsRequested",
            "The number of calendars requested is too large.",
            domain="calendar",
        )
    calendars = {}
    for item in items:
        cal_id = (item or {}).get("id", "")
        cal = _calendar(state, caller, cal_id)
        if cal is None or models.access_role(cal, caller.email) == "none":
            calendars[cal_id] = {"errors": [{"domain": "global", "reason": "notFound"}], "busy": []}
        else:
            calendars[cal_id] = {"busy": models.busy_intervals(cal, time_min, time_max)}
    return Answer(
        200,
        {
            "kind": "calendar#freeBusy",
            "timeMin": data["timeMin"],
            "timeMax": data["timeMax"],
            "calendars": calendars,
        },
    )


def events_watch(state, caller, args, query, headers, body, base) -> Answer:
    _need(caller, READ_EVENTS)
    cal = models.require_role(_calendar(state, caller, args["cal"]), caller.email, "reader")
    data = _json(body)
    if not isinstance(data, dict) or not data.get("id"):
        raise ge.required("Required", "id")
    if not isinstance(data["id"], str) or not CHANNEL_ID_RE.match(data["id"]):
        # The push guide: at most 64 characters; a UUID or a similar unique string.
        raise ge.invalid(f"Invalid channel id: {data['id']}", "id")
    if data.get("type") not in ("web_hook", "webhook"):
        raise ge.invalid(f"Invalid value for: type: {data.get('type')}")
    address = data.get("address") or ""
    if not address:
        raise ge.required("Required", "address")
    if not address.startswith("https://") and not (
        state.settings.allow_http_push and address.startswith("http://")
    ):
        raise ge.ApiError(
            400, "push.webhookUrlNotHttps", f"WebHook callback must be HTTPS: {address}", domain="global"
        )
    if data["id"] in state.channels:
        raise ge.ApiError(400, "channelIdNotUnique", "Channel id not unique")
    now_ms = int(state.now() * 1000)
    longest = now_ms + state.settings.channel_max_seconds * 1000
    expiration = longest
    ttl = (data.get("params") or {}).get("ttl")
    if data.get("expiration"):
        expiration = min(int(data["expiration"]), longest)
    elif ttl:
        expiration = min(now_ms + int(ttl) * 1000, longest)
    channel = {
        "id": data["id"],
        "resourceId": _resource_id(cal.id),
        "resourceUri": f"{base}/calendar/v3/calendars/{cal.id}/events?alt=json",
        "token": data.get("token"),
        "expiration": str(expiration),
        "address": address,
        "calendar": cal.id,
        "client_id": caller.client_id,
        "project": caller.project_number,
        "message_number": 0,
    }
    state.channels[channel["id"]] = channel
    state.dirty = True
    pusher(state).sync(channel)
    out = {
        "kind": "api#channel",
        **{k: channel[k] for k in ("id", "resourceId", "resourceUri", "expiration")},
    }
    if channel["token"]:
        out["token"] = channel["token"]
    return Answer(200, out)


def _resource_id(calendar_id: str) -> str:
    return hashlib.sha1(("events|" + calendar_id).encode()).hexdigest()[:27]  # noqa: S324 - an opaque id


def channels_stop(state, caller, args, query, headers, body, base) -> Answer:
    _need(caller, ANY_CALENDAR)
    data = _json(body)
    channel = state.channels.get((data or {}).get("id", "")) if isinstance(data, dict) else None
    if (
        channel is None
        or channel["resourceId"] != data.get("resourceId")
        or channel["project"] != caller.project_number
    ):
        raise ge.ApiError(
            404,
            "notFound",
            f"Channel '{(data or {}).get('id')}' not found for project '{caller.project_number}'",
        )
    del state.channels[channel["id"]]
    state.dirty = True
    return Answer(204)


HANDLERS = {name: globals()[name] for _, _, name in ROUTES}


async def call(*args: Any) -> Answer:
    """`dispatch(state, method, path, query, headers, body, base)` behind the one awaitable seam every Calendar
    API call goes through, a single request or a batch item: a test can wrap it (module attribute, looked up
    at each call) to act at a chosen call, as m365emulator's Graph `dispatch` allows
    (tests/calendarsync/model_hooks.py)."""
    return dispatch(*args)


async def endpoint(request: Request) -> Response:
    state = gstate(request)
    answer = await call(
        state,
        request.method,
        request.path_params["rest"],
        request.query_params,
        {k.lower(): v for k, v in request.headers.items()},
        await request.body(),
        issuer(request),
    )
    return to_response(answer)


def to_response(answer: Answer) -> Response:
    headers = dict(answer.headers)
    if answer.body is None:
        return Response(status_code=answer.status, headers=headers)
    headers.setdefault("Vary", "Origin, X-Origin, Referer")
    return Response(
        answer.encode(),
        status_code=answer.status,
        headers=headers,
        media_type="application/json; charset=UTF-8",
    )
