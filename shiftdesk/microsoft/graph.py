"""A small typed Microsoft Graph client: who the user is and which calendars they have, plus the error mapping.

It takes an access token and an httpx.Client (made by shiftdesk.lib.http.graph_client, base URL
MICROSOFT_GRAPH_URL/v1.0), parses Graph's JSON into dataclasses at the edge, and turns every failure into one
of the typed errors in microsoft.errors. The event provider (provider.py) builds on `raise_for_graph` and
`GraphClient.request`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import email.utils
import logging
from dataclasses import dataclass
from typing import Any

import httpx

from shiftdesk.microsoft.errors import (
    GraphAccessDenied,
    GraphAuthenticationError,
    GraphBadRequest,
    GraphConflict,
    GraphError,
    GraphNotFound,
    GraphThrottled,
    GraphUnavailable,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GraphUser:
    id: str
    display_name: str
    mail: str
    user_principal_name: str


@dataclass(frozen=True)
class GraphCalendar:
    id: str
    name: str
    is_default: bool
    can_edit: bool
    owner_name: str
    owner_address: str
    # The owner's address when another person shared this calendar with the user (its events live in their
    # mailbox, reached through the user's own /me/calendars/{id}/... with this id), else ''. See
    # GraphClient.list_calendars.
    shared_owner: str = ""


def utc_param(instant: dt.datetime) -> str:
    """An instant as Graph's query parameters take it (calendarView's startDateTime/endDateTime)."""
    return instant.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After as seconds: an integer, a fraction, or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


def _error_details(response: httpx.Response) -> tuple[str, str]:
    try:
        body = response.json()
    except ValueError:
        return "", ""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return "", ""
    return str(error.get("code") or ""), str(error.get("message") or "")


def error_for_response(response: httpx.Response) -> GraphError:
    """The typed error for a failed Graph response (status >= 400). The message never holds the token."""
    status = response.status_code
    code, message = _error_details(response)
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    text = (
        f"Microsoft Graph answered {status}"
        + (f" {code}" if code else "")
        + (f": {message}" if message else "")
    )
    kwargs: dict[str, Any] = {"status": status, "code": code, "retry_after": retry_after}
    if status == 429 or (status == 503 and retry_after is not None):
        return GraphThrottled(text, **kwargs)
    if status >= 500:
        return GraphUnavailable(text, **kwargs)
    if status == 401:
        return GraphAuthenticationError(text, **kwargs)
    if status == 403:
        return GraphAccessDenied(text, **kwargs)
    if status in (404, 410):
        return GraphNotFound(text, **kwargs)
    if status in (409, 412):
        return GraphConflict(text, **kwargs)
    return GraphBadRequest(text, **kwargs)


def raise_for_graph(response: httpx.Response) -> httpx.Response:
    """Return the response if it succeeded, else raise its typed GraphError."""
    if response.status_code >= 400:
        raise error_for_response(response)
    return response


class GraphClient:
    """Graph calls on behalf of one user (one access token)."""

    def __init__(self, access_token: str, http: httpx.Client) -> None:
        self._token = access_token
        self.http = http

    def __repr__(self) -> str:  # never the token
        return f"<GraphClient {self.http.base_url}>"

    def __enter__(self) -> GraphClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()

    @classmethod
    def for_token(cls, access_token: str) -> GraphClient:
        """A client over the app's configured Graph client (base URL and CA bundle from settings)."""
        from shiftdesk.lib.http import graph_client  # Django settings: only here, not at import time

        return cls(access_token, graph_client())

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """One Graph request with the bearer token; network failures become GraphUnavailable."""
        headers = {"Authorization": f"Bearer {self._token}", **kwargs.pop("headers", {})}
        try:
            response = self.http.request(method, url, headers=headers, **kwargs)
        except httpx.TimeoutException:
            raise GraphUnavailable("Microsoft Graph did not answer in time.") from None
        except httpx.TransportError as exc:
            log.warning("Graph unreachable: %s", type(exc).__name__)
            raise GraphUnavailable("Microsoft Graph could not be reached.") from None
        return raise_for_graph(response)

    def _paged(self, url: str, params: dict[str, str] | None = None) -> list[dict]:
        items: list[dict] = []
        next_url: str | None = url
        while next_url:
            body = self.request("GET", next_url, params=params).json()
            items.extend(body.get("value", []))
            next_url = body.get("@odata.nextLink")
            params = None  # the next link carries its own query
        return items

    def get_me(self) -> GraphUser:
        """GET /me: the signed-in user."""
        body = self.request("GET", "/me").json()
        return GraphUser(
            id=str(body.get("id") or ""),
            display_name=str(body.get("displayName") or ""),
            mail=str(body.get("mail") or ""),
            user_principal_name=str(body.get("userPrincipalName") or ""),
        )

    def list_calendars(self) -> list[GraphCalendar]:
        """GET /me/calendars (every page): the user's calendars, the default first."""
        calendars = [
            GraphCalendar(
                id=str(item["id"]),
                name=str(item.get("name") or ""),
                is_default=bool(item.get("isDefaultCalendar")),
                can_edit=bool(item.get("canEdit", True)),
                owner_name=str((item.get("owner") or {}).get("name") or ""),
                owner_address=str((item.get("owner") or {}).get("address") or ""),
            )
            for item in self._paged("/me/calendars")
            if item.get("id")
        ]
        # A calendar is another person's when its owner is not the owner of the user's default calendar (the
        # user's own mailbox; concepts/outlook-get-shared-events-calendars.md lists the sharee's own
        # "Calendar" with the sharee as owner and the shared one with its owner's name and address).
        own = {c.owner_address.lower() for c in calendars if c.is_default and c.owner_address}
        calendars = [
            dataclasses.replace(c, shared_owner=c.owner_address)
            if own and c.owner_address and c.owner_address.lower() not in own
            else c
            for c in calendars
        ]
        return sorted(calendars, key=lambda c: (not c.is_default, c.name.lower()))
