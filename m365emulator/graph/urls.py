"""Graph v1.0 routes as data: (methods, path pattern below /me or /users/{id}, handler), plus `routes`
for server.py (one Mount at /v1.0 served by the raw-ASGI GraphApp)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from starlette.routing import Mount

from . import batch, responses, subscriptions, views
from . import exceptions as exc
from .app import GraphApp

ID = r"(?:\('?)?([^/()']+)(?:'?\))?"  # events/{id} and Graph's key syntax events('{id}')

# Below /me or /users/{id|userPrincipalName}; fixed segments match case-insensitively, as Graph does.
USER_ROUTES: list[tuple[str, str, Callable[..., Any]]] = [
    ("GET", r"", responses.get_user),
    ("GET", r"/calendars", responses.list_calendars),
    ("POST", r"/calendars", responses.create_calendar),
    ("GET", r"/calendar", responses.get_calendar),
    ("GET", r"/calendars/" + ID, responses.get_calendar),
    ("PATCH", r"/calendars/" + ID, responses.update_calendar),
    ("DELETE", r"/calendars/" + ID, responses.delete_calendar),
    ("GET", r"/(?:calendar/)?events", responses.list_events),
    ("POST", r"/(?:calendar/)?events", responses.create_event),
    ("GET", r"/calendars/" + ID + r"/events", responses.list_events),
    ("POST", r"/calendars/" + ID + r"/events", responses.create_event),
    ("GET", r"/(?:calendar/)?events/" + ID, responses.get_event),
    ("PATCH", r"/(?:calendar/)?events/" + ID, responses.update_event),
    ("DELETE", r"/(?:calendar/)?events/" + ID, responses.delete_event),
    ("GET", r"/(?:calendar/)?events/" + ID + r"/instances", views.instances),
    ("GET", r"/calendars/" + ID + r"/events/" + ID, "calendar-event:get"),
    ("PATCH", r"/calendars/" + ID + r"/events/" + ID, "calendar-event:patch"),
    ("DELETE", r"/calendars/" + ID + r"/events/" + ID, "calendar-event:delete"),
    ("GET", r"/(?:calendar/)?calendarView", views.calendar_view),
    ("GET", r"/calendars/" + ID + r"/calendarView", views.calendar_view),
    ("GET", r"/(?:calendar/)?calendarView/delta(?:\(\))?", views.calendar_view_delta),
    ("GET", r"/calendars/" + ID + r"/calendarView/delta(?:\(\))?", views.calendar_view_delta),
    ("POST", r"/calendar/getSchedule", views.get_schedule),
]
TOP_ROUTES: list[tuple[str, str, Callable[..., Any]]] = [
    ("POST", r"/\$batch", batch.post_batch),
    ("GET", r"/subscriptions", subscriptions.list_subscriptions),
    ("POST", r"/subscriptions", subscriptions.create_subscription),
    ("GET", r"/subscriptions/" + ID, subscriptions.get_subscription),
    ("PATCH", r"/subscriptions/" + ID, subscriptions.renew_subscription),
    ("POST", r"/subscriptions/" + ID + r"/reauthorize", subscriptions.reauthorize_subscription),
    ("DELETE", r"/subscriptions/" + ID, subscriptions.delete_subscription),
]


def _calendar_event(kind: str) -> Callable[..., Any]:
    handler = {"get": responses.get_event, "patch": responses.update_event, "delete": responses.delete_event}[
        kind
    ]
    return lambda ctx, calendar_id, event_id: handler(ctx, event_id, calendar_id)


def _compile(table: list) -> list[tuple[str, re.Pattern, Callable[..., Any]]]:
    out = []
    for method, pattern, handler in table:
        if isinstance(handler, str):
            handler = _calendar_event(handler.split(":")[1])
        out.append((method, re.compile(pattern + r"/?$", re.I), handler))
    return out


_USER = _compile(USER_ROUTES)
_TOP = _compile(TOP_ROUTES)
_PREFIX = re.compile(r"^/(?:(me)|users/(?:\('?)?([^/()']+)(?:'?\))?)(?=/|$)", re.I)


def _find(table: list, method: str, rest: str) -> tuple[Callable[..., Any], tuple[str, ...]]:
    allowed = False
    for route_method, pattern, handler in table:
        m = pattern.match(rest)
        if m:
            if route_method == method:
                return handler, tuple(unquote(g) for g in m.groups() if g is not None)
            allowed = True
    if allowed:
        raise exc.GraphError(
            405, "Request_BadRequest", f"Unsupported request: {method} is not allowed on this resource."
        )
    segment = rest.strip("/").split("/")[-1] if rest.strip("/") else rest
    raise exc.segment_not_found(segment)


def match(method: str, path: str) -> tuple[Callable[..., Any], tuple[str, ...], str | None | bool]:
    """(handler, args, user segment). The user segment is None for /me, False for top-level routes."""
    m = _PREFIX.match(path)
    if m:
        handler, args = _find(_USER, method, path[m.end() :])
        return handler, args, None if m.group(1) else unquote(m.group(2))
    handler, args = _find(_TOP, method, path)
    return handler, args, False


routes = [Mount("/v1.0", app=GraphApp())]
