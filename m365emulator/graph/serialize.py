"""Event, occurrence, calendar and user objects rendered as Graph v1.0 JSON (documented key order)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import quote

from . import timezones as tz
from .models import Calendar, Event, Mailbox, Occurrence

TAG = re.compile(r"<[^>]+>")
SPACE = re.compile(r"\s+")
GRAPH = "https://graph.microsoft.com/v1.0"


def _preview(content: str) -> str:
    if not content:
        return ""
    text = TAG.sub(" ", re.sub(r"(?is)<head>.*?</head>", "", content))
    return SPACE.sub(" ", text).strip()[:255]


def _when(instant: datetime, zone_name: str, all_day: bool, orig_zone: str) -> dict:
    if all_day:
        # all-day events float: midnight of the same calendar day in any zone
        day = instant.astimezone(tz.zone(orig_zone)).date()
        return {"dateTime": day.isoformat() + "T00:00:00.0000000", "timeZone": zone_name}
    return {"dateTime": tz.format_local(instant, zone_name), "timeZone": zone_name}


def event_json(
    box: Mailbox,
    item: Event | Occurrence,
    zone_name: str = "UTC",
    expand_ext: Callable[[dict], bool] | None = None,
) -> dict[str, Any]:
    """The full event resource. `expand_ext`: which extended properties to include (None: the key is absent).
    Renders without extended properties are cached per change key: reads are the emulator's hot path."""
    if expand_ext is None:
        event = item.master if isinstance(item, Occurrence) else item
        key = (item.id, event.change_key, zone_name, box.display_name, box.address)
        cache = event.__dict__.setdefault("_rendered", {})
        found = cache.get(key)
        if found is None:
            if len(cache) > 64:
                cache.clear()
            found = cache[key] = _render(box, item, zone_name, None)
        return dict(found)
    return _render(box, item, zone_name, expand_ext)


def _render(
    box: Mailbox, item: Event | Occurrence, zone_name: str, expand_ext: Callable[[dict], bool] | None
) -> dict[str, Any]:
    if isinstance(item, Occurrence):
        event, item_id, start, end = item.view(), item.id, item.start, item.end
        kind, master_id = "exception" if item.overrides else "occurrence", item.master.id
    else:
        event, item_id, start, end = item, item.id, item.start, item.end
        kind = "seriesMaster" if item.recurrence else "singleInstance"
        master_id = None
    data: dict[str, Any] = {
        "@odata.etag": event.etag,
        "id": item_id,
        "createdDateTime": tz.format_utc_stamp(event.created),
        "lastModifiedDateTime": tz.format_utc_stamp(event.modified),
        "changeKey": event.change_key,
        "categories": list(event.categories),
    }
    if event.transaction_id:
        data["transactionId"] = event.transaction_id
    data.update(
        {
            "originalStartTimeZone": tz.windows_name(event.start_tz),
            "originalEndTimeZone": tz.windows_name(event.end_tz),
            "iCalUId": event.ical_uid,
            "uid": event.ical_uid,
            "reminderMinutesBeforeStart": event.reminder_minutes,
            "isReminderOn": event.is_reminder_on,
            "hasAttachments": False,
            "subject": event.subject,
            "bodyPreview": _preview(event.body_content),
            "importance": event.importance,
            "sensitivity": event.sensitivity,
            "isAllDay": event.is_all_day,
            "isCancelled": False,
            "isOrganizer": True,
            "responseRequested": event.response_requested,
            "seriesMasterId": master_id,
            "showAs": event.show_as,
            "type": kind,
            "webLink": f"https://outlook.office365.com/owa/?itemid={quote(item_id, safe='')}&exvsurl=1&path=/calendar/item",
            "onlineMeetingUrl": None,
            "isOnlineMeeting": False,
            "onlineMeetingProvider": "unknown",
            "allowNewTimeProposals": True,
            "isDraft": False,
            "hideAttendees": False,
            "responseStatus": {"response": "organizer", "time": "0001-01-01T00:00:00Z"},
            "body": {"contentType": event.body_type, "content": event.body_content},
            "start": _when(start, zone_name, event.is_all_day, event.start_tz),
            "end": _when(end, zone_name, event.is_all_day, event.end_tz),
            "location": dict(event.location)
            or {
                "displayName": "",
                "locationType": "default",
                "uniqueIdType": "unknown",
                "address": {},
                "coordinates": {},
            },
            "locations": [
                dict(x)
                for x in (event.locations or ([event.location] if event.location.get("displayName") else []))
            ],
            "recurrence": event.recurrence if kind == "seriesMaster" else None,
            "attendees": [dict(a) for a in event.attendees],
            "organizer": {"emailAddress": {"name": box.display_name, "address": box.address}},
            "onlineMeeting": None,
        }
    )
    if expand_ext is not None:
        props = ({"id": ident, "value": value} for ident, value in event.extended.values())
        data["singleValueExtendedProperties"] = [p for p in props if expand_ext(p)]
    return data


def calendar_json(box: Mailbox, cal: Calendar) -> dict[str, Any]:
    return {
        "id": cal.id,
        "name": cal.name,
        "color": cal.color,
        "hexColor": cal.hex_color,
        "groupClassId": "0006f0b7-0000-0000-c000-000000000046",
        "isDefaultCalendar": cal.is_default,
        "changeKey": cal.change_key,
        "canShare": True,
        "canViewPrivateItems": True,
        "canEdit": True,
        "allowedOnlineMeetingProviders": ["teamsForBusiness"]
        if not box.is_personal
        else ["skypeForConsumer"],
        "defaultOnlineMeetingProvider": "teamsForBusiness" if not box.is_personal else "skypeForConsumer",
        "isTallyingResponses": True,
        "isRemovable": not cal.is_default,
        "owner": {"name": box.display_name, "address": box.address},
    }


def personal_graph_id(user: Any) -> str:
    """A personal Microsoft account's id as Graph's /me gives it: 16 hex digits (not the directory GUID)."""
    return hashlib.sha256(("msa:" + user.oid).encode()).hexdigest()[:16]


def user_json(user: Any) -> dict[str, Any]:
    name = user.display_name or ""
    given, _, surname = name.partition(" ")
    if getattr(user, "is_personal", False):
        # Personal accounts: Graph answers a 16-hex-digit id and `mail: null`; the address is the
        # userPrincipalName (user-get.md examples; a known difference from work accounts).
        return {
            "businessPhones": [],
            "displayName": name,
            "givenName": given or None,
            "jobTitle": None,
            "mail": None,
            "mobilePhone": None,
            "officeLocation": None,
            "preferredLanguage": None,
            "surname": surname or None,
            "userPrincipalName": user.user_principal_name,
            "id": personal_graph_id(user),
        }
    return {
        "businessPhones": [],
        "displayName": name,
        "givenName": given or None,
        "jobTitle": None,
        "mail": user.mail or None,
        "mobilePhone": None,
        "officeLocation": None,
        "preferredLanguage": "en-US",
        "surname": surname or None,
        "userPrincipalName": user.user_principal_name,
        "id": user.oid,
    }


def select(
    data: dict[str, Any], fields: list[str] | None, expanded: set[str] = frozenset()
) -> dict[str, Any]:
    """$select keeps the requested properties plus @odata.etag, id and expanded ones, as Graph does."""
    if not fields:
        return data
    keep = {"@odata.etag", "id", *fields, *expanded}
    return {k: v for k, v in data.items() if k in keep}
