"""Reads an event JSON body (create or PATCH) into an Event, with Graph's validation errors."""

from __future__ import annotations

import html
import re
from typing import Any

from . import exceptions as exc
from . import recurrence as rec
from . import timezones as tz

SHOW_AS = {"free", "tentative", "busy", "oof", "workingelsewhere", "unknown"}
IMPORTANCE = {"low", "normal", "high"}
SENSITIVITY = {"normal", "personal", "private", "confidential"}
# Properties the event type has but a client cannot set; Graph ignores them in a body.
READ_ONLY = {
    "id",
    "createdDateTime",
    "lastModifiedDateTime",
    "changeKey",
    "iCalUId",
    "uid",
    "webLink",
    "type",
    "seriesMasterId",
    "hasAttachments",
    "bodyPreview",
    "isOrganizer",
    "organizer",
    "responseStatus",
    "isCancelled",
    "onlineMeetingUrl",
    "onlineMeeting",
    "isDraft",
    "occurrenceId",
    "cancelledOccurrences",
    "exceptionOccurrences",
    "originalStart",
    "@odata.etag",
    "@odata.context",
    "@odata.type",
    "transactionId",
}
WRITABLE = {
    "subject",
    "body",
    "start",
    "end",
    "location",
    "locations",
    "showAs",
    "isAllDay",
    "isReminderOn",
    "reminderMinutesBeforeStart",
    "categories",
    "importance",
    "sensitivity",
    "attendees",
    "recurrence",
    "singleValueExtendedProperties",
    "multiValueExtendedProperties",
    "responseRequested",
    "isOnlineMeeting",
    "onlineMeetingProvider",
    "allowNewTimeProposals",
    "hideAttendees",
    "originalStartTimeZone",
    "originalEndTimeZone",
    "extensions",
    "attachments",
}
EXT_ID = re.compile(
    r"^(String|Integer|Boolean|SystemTime|Double|Long|Short|Float|Currency|Binary|CLSID|Object)\s+"
    r"(\{[0-9a-fA-F-]{36}\}\s+(Name\s+\S.*|Id\s+0x[0-9a-fA-F]{1,4})|0x[0-9a-fA-F]{1,4})$"
)
TAG = re.compile(r"<[^>]+>")


def _type_error(expected: str) -> exc.GraphError:
    return exc.GraphError(
        400, "RequestBodyRead", f"Cannot convert a primitive value to the expected type '{expected}'."
    )


def _string(value: Any, allow_none: bool = True) -> str:
    if value is None and allow_none:
        return ""
    if not isinstance(value, str):
        raise _type_error("Edm.String")
    return value


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise _type_error("Edm.Boolean")
    return value


def _enum(value: Any, allowed: set[str], enum_name: str) -> str:
    if not isinstance(value, str) or value.lower() not in allowed:
        raise exc.GraphError(
            400,
            "RequestBodyRead",
            f"The value '{value}' is not valid for enum type 'microsoft.graph.{enum_name}'.",
        )
    return value


def _datetime_tz(value: Any, field: str) -> tuple[Any, str]:
    if not isinstance(value, dict):
        raise exc.GraphError(
            400, "ErrorInvalidRequest", f"Your request can't be completed. {field} is invalid."
        )
    zone_name = value.get("timeZone") or "UTC"
    if not isinstance(zone_name, str):
        raise _type_error("Edm.String")
    tz.zone(zone_name)
    local = tz.parse_local(value.get("dateTime"), f"The {field} dateTime")
    return tz.to_utc(local, zone_name), zone_name


def _extended(event: Any, items: Any) -> None:
    if not isinstance(items, list):
        raise exc.GraphError(
            400, "RequestBodyRead", "A collection of singleValueLegacyExtendedProperty is expected."
        )
    for item in items:
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("id"), str)
            or not EXT_ID.match(item["id"].strip())
        ):
            raise exc.GraphError(
                400, "ErrorInvalidExtendedProperty", "The extended property attribute combination is invalid."
            )
        value = item.get("value")
        if value is not None and not isinstance(value, str):
            raise _type_error("Edm.String")
        key = " ".join(item["id"].split()).lower()
        if value is None:
            event.extended.pop(key, None)
        else:
            event.extended[key] = [" ".join(item["id"].split()), value]


def _location(value: Any) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise exc.GraphError(400, "RequestBodyRead", "A location object is expected.")
    name = _string(value.get("displayName"))
    out = {"displayName": name, "locationType": str(value.get("locationType") or "default").lower()}
    if name:
        out.update({"uniqueId": name, "uniqueIdType": "private"})
    for key in ("address", "coordinates", "locationEmailAddress", "locationUri"):
        if key in value:
            out[key] = value[key]
    return out


def _attendees(value: Any) -> list:
    if not isinstance(value, list):
        raise exc.GraphError(400, "RequestBodyRead", "A collection of attendee is expected.")
    result = []
    for item in value:
        email = item.get("emailAddress") if isinstance(item, dict) else None
        if not isinstance(email, dict) or not isinstance(email.get("address", ""), str):
            raise exc.GraphError(400, "ErrorInvalidRecipients", "At least one recipient isn't valid.")
        result.append(
            {
                "type": str(item.get("type") or "required").lower(),
                "status": {"response": "none", "time": "0001-01-01T00:00:00Z"},
                "emailAddress": {
                    "name": email.get("name") or email.get("address", ""),
                    "address": email.get("address", ""),
                },
            }
        )
    return result


def apply_event_body(event: Any, body: dict, creating: bool) -> None:
    """Validate every key first, then apply them; a bad body leaves the event untouched."""
    for key in body:
        if key not in WRITABLE and key not in READ_ONLY and not key.endswith("@odata.type"):
            raise exc.unknown_property(key)
    changes: dict[str, Any] = {}
    if "subject" in body:
        changes["subject"] = _string(body["subject"])
    if "body" in body:
        b = body["body"] or {}
        if not isinstance(b, dict):
            raise exc.GraphError(400, "RequestBodyRead", "An itemBody object is expected.")
        ctype = str(b.get("contentType") or "text").lower()
        if ctype not in ("text", "html"):
            raise exc.GraphError(
                400,
                "RequestBodyRead",
                f"The value '{ctype}' is not valid for enum type 'microsoft.graph.bodyType'.",
            )
        content = _string(b.get("content"))
        if ctype == "text" and content:
            ctype, content = (
                "html",
                "<html><head></head><body>" + html.escape(content).replace("\n", "<br>") + "</body></html>",
            )
        elif ctype == "html" and content and "<html" not in content.lower():
            content = f"<html><head></head><body>{content}</body></html>"
        changes["body_type"], changes["body_content"] = ctype, content
    if "start" in body:
        changes["start"], changes["start_tz"] = _datetime_tz(body["start"], "start")
    if "end" in body:
        changes["end"], changes["end_tz"] = _datetime_tz(body["end"], "end")
    if "location" in body:
        changes["location"] = _location(body["location"])
    if "locations" in body:
        if not isinstance(body["locations"], list):
            raise exc.GraphError(400, "RequestBodyRead", "A collection of location is expected.")
        changes["locations"] = [_location(x) for x in body["locations"]]
    if "showAs" in body:
        changes["show_as"] = _enum(body["showAs"], SHOW_AS, "freeBusyStatus")
        if changes["show_as"].lower() == "workingelsewhere":
            changes["show_as"] = "workingElsewhere"
        else:
            changes["show_as"] = changes["show_as"].lower()
    if "isAllDay" in body:
        changes["is_all_day"] = _bool(body["isAllDay"])
    if "isReminderOn" in body:
        changes["is_reminder_on"] = _bool(body["isReminderOn"])
    if "responseRequested" in body:
        changes["response_requested"] = _bool(body["responseRequested"])
    if "reminderMinutesBeforeStart" in body:
        minutes = body["reminderMinutesBeforeStart"]
        if not isinstance(minutes, int) or isinstance(minutes, bool):
            raise _type_error("Edm.Int32")
        changes["reminder_minutes"] = minutes
    if "categories" in body:
        cats = body["categories"]
        if not isinstance(cats, list) or not all(isinstance(c, str) for c in cats):
            raise _type_error("Edm.String")
        changes["categories"] = list(cats)
    if "importance" in body:
        changes["importance"] = _enum(body["importance"], IMPORTANCE, "importance").lower()
    if "sensitivity" in body:
        changes["sensitivity"] = _enum(body["sensitivity"], SENSITIVITY, "sensitivity").lower()
    if "attendees" in body:
        changes["attendees"] = _attendees(body["attendees"])
    if "recurrence" in body:
        changes["recurrence"] = rec.validate(body["recurrence"])
    start = changes.get("start", event.start)
    end = changes.get("end", event.end)
    if end < start:
        raise exc.GraphError(
            400, "ErrorCalendarEndDateIsEarlierThanStartDate", "The end date occurs before the start date."
        )
    all_day = changes.get("is_all_day", event.is_all_day)
    if all_day:
        start_local = start.astimezone(tz.zone(changes.get("start_tz", event.start_tz)))
        end_local = end.astimezone(tz.zone(changes.get("end_tz", event.end_tz)))
        midnight = all(x.hour == x.minute == x.second == x.microsecond == 0 for x in (start_local, end_local))
        # Whole local days, not 24-hour spans: in a zone with DST the changeover day lasts 23 or 25 hours.
        if not midnight or end_local.date() <= start_local.date():
            raise exc.GraphError(
                400,
                "ErrorPropertyValidationFailure",
                "At least one property failed validation. An all-day event's start and end must be midnight, at least a day apart.",
            )
    ext = body.get("singleValueExtendedProperties")
    if ext is not None:
        probe = type("Probe", (), {})()
        probe.extended = dict(event.extended)
        _extended(probe, ext)
        changes["extended"] = probe.extended
    for name, value in changes.items():
        setattr(event, name, value)
