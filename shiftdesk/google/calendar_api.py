"""The Google Calendar API v3 calls the boxes need, through the project's HTTP client factory (httpx).

Why httpx and not google-api-python-client: the sync engine is async and already budgets requests per mailbox
on httpx (Graph); the official client is synchronous (httplib2) and would bring a second HTTP stack with its
own CA and proxy rules. Google's wire format is small and documented; it is parsed here at the edge.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from shiftdesk.google.errors import GoogleError, GoogleUnavailable
from shiftdesk.lib.http import google_client

log = logging.getLogger(__name__)
CALENDAR_PATH = "/calendar/v3"
WRITE_ROLES = {"owner", "writer"}


@dataclass(frozen=True)
class GoogleCalendar:
    """One entry of the user's calendar list, in the shape calendarsync.calendar_choice expects."""

    id: str
    name: str
    is_default: bool
    can_edit: bool


def parse_calendar(item: dict) -> GoogleCalendar:
    return GoogleCalendar(
        id=str(item["id"]),
        name=str(item.get("summaryOverride") or item.get("summary") or item["id"]),
        is_default=bool(item.get("primary")),
        can_edit=item.get("accessRole") in WRITE_ROLES,
    )


def error_of(response: httpx.Response) -> GoogleError:
    """Google's error body ({"error": {"code", "message", "errors": [{"reason"}]}}) as one of our errors."""
    try:
        body = response.json().get("error") or {}
    except ValueError:
        body = {}
    reasons = [e.get("reason", "") for e in body.get("errors") or [] if isinstance(e, dict)]
    reason = reasons[0] if reasons else ""
    message = str(body.get("message") or response.reason_phrase)
    if (
        response.status_code >= 500
        or response.status_code == 429
        or reason
        in (
            "rateLimitExceeded",
            "userRateLimitExceeded",
        )
    ):
        return GoogleUnavailable("Google is busy right now. Try again in a minute.")
    return GoogleError(message, code=reason, status=response.status_code)


def list_calendars(access_token: str) -> list[GoogleCalendar]:
    """calendarList.list, every page (the user's own and shared calendars, primary first as Google lists it)."""
    calendars: list[GoogleCalendar] = []
    params: dict[str, str] = {"maxResults": "250"}
    try:
        with google_client(headers={"Authorization": f"Bearer {access_token}"}) as http:
            for _ in range(40):  # 10,000 calendars at most: a bound, never a loop forever
                response = http.get(CALENDAR_PATH + "/users/me/calendarList", params=params)
                if response.status_code != 200:
                    raise error_of(response)
                body = response.json()
                calendars.extend(parse_calendar(item) for item in body.get("items") or [])
                if not body.get("nextPageToken"):
                    break
                params["pageToken"] = body["nextPageToken"]
    except httpx.HTTPError as exc:
        log.warning("Google Calendar API unreachable: %s", type(exc).__name__)
        raise GoogleUnavailable() from None
    calendars.sort(key=lambda c: not c.is_default)
    return calendars


@dataclass(frozen=True)
class BusyInterval:
    start: datetime
    end: datetime


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def busy_times(access_token: str, calendar_id: str, start: datetime, end: datetime) -> list[BusyInterval]:
    """freebusy.query for one calendar over [start, end) (aware datetimes): Google's merged busy intervals
    (transparent and cancelled events are free). A calendar Google reports under `errors` (deleted, unshared:
    reason notFound) raises GoogleError(code=the reason)."""
    body = {
        "timeMin": start.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "timeMax": end.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "items": [{"id": calendar_id}],
    }
    try:
        with google_client(headers={"Authorization": f"Bearer {access_token}"}) as http:
            response = http.post(CALENDAR_PATH + "/freeBusy", json=body)
    except httpx.HTTPError as exc:
        log.warning("Google Calendar API unreachable: %s", type(exc).__name__)
        raise GoogleUnavailable() from None
    if response.status_code != 200:
        raise error_of(response)
    entry = (response.json().get("calendars") or {}).get(calendar_id) or {}
    errors = entry.get("errors") or []
    if errors:
        reason = str(errors[0].get("reason", "")) if isinstance(errors[0], dict) else ""
        raise GoogleError(
            "Google cannot read the free/busy status of this calendar (it was deleted or is no longer shared). "
            "Choose another Calendar to Check Free/Busy Status.",
            code=reason,
        )
    return [BusyInterval(_instant(b["start"]), _instant(b["end"])) for b in entry.get("busy") or []]
