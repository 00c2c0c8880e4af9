"""CalendarItem in EWS XML <-> the Graph event it is: read a request's CalendarItem (create, or one field of an
UpdateItem) into a Graph-shaped body for graph.models.Mailbox, and write an Event out as t:CalendarItem."""

from __future__ import annotations

import xml.etree.ElementTree as ET  # noqa: S405
from datetime import UTC, datetime
from typing import Any

from m365emulator.graph import timezones as tz
from m365emulator.graph.models import Event, Mailbox

from . import exceptions as exc
from . import store
from .soap import T, sub, t

SHOW_AS_TO_EWS = {
    "free": "Free",
    "tentative": "Tentative",
    "busy": "Busy",
    "oof": "OOF",
    "workingElsewhere": "WorkingElsewhere",
    "unknown": "NoData",
}
EWS_TO_SHOW_AS = {v: k for k, v in SHOW_AS_TO_EWS.items()}
# FieldURIs UpdateItem may set or delete, and the CalendarItem child that carries each value.
FIELDS = {
    "item:Subject": "Subject",
    "item:Body": "Body",
    "item:Categories": "Categories",
    "item:Importance": "Importance",
    "item:Sensitivity": "Sensitivity",
    "item:ReminderIsSet": "ReminderIsSet",
    "item:ReminderMinutesBeforeStart": "ReminderMinutesBeforeStart",
    "calendar:Start": "Start",
    "calendar:End": "End",
    "calendar:IsAllDayEvent": "IsAllDayEvent",
    "calendar:LegacyFreeBusyStatus": "LegacyFreeBusyStatus",
    "calendar:Location": "Location",
    "calendar:StartTimeZone": "StartTimeZone",
    "calendar:EndTimeZone": "EndTimeZone",
    "calendar:StartTimeZoneId": "StartTimeZoneId",
    "calendar:EndTimeZoneId": "EndTimeZoneId",
}
IGNORED = {"ItemClass", "ReminderDueBy", "Culture", "UID", "MeetingTimeZone", "IsResponseRequested",
           "RequiredAttendees", "OptionalAttendees", "Resources", "IsOnlineMeeting", "AllowNewTimeProposal"}  # fmt: skip


def _bool(text: str | None) -> bool:
    value = (text or "").strip().lower()
    if value in ("1", "true"):
        return True
    if value in ("0", "false"):
        return False
    raise exc.schema_violation(f"'{text}' is not a valid boolean")


def parse_instant(text: str | None) -> datetime:
    try:
        parsed = datetime.fromisoformat((text or "").strip())
    except ValueError:
        raise exc.schema_violation(f"'{text}' is not a valid dateTime") from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def field_uri_key(uri: ET.Element) -> str:
    """A FieldURI's name ("calendar:Start") or an ExtendedFieldURI's Graph property id."""
    if uri.tag == t("FieldURI"):
        return uri.get("FieldURI", "")
    if uri.tag == t("ExtendedFieldURI"):
        prop_id = uri.get("PropertyId")
        if prop_id is not None:
            prop_id = hex(int(prop_id, 0))
        return store.extended_key(
            uri.get("PropertySetId"),
            uri.get("DistinguishedPropertySetId"),
            uri.get("PropertyName"),
            uri.get("PropertyTag"),
            prop_id,
            uri.get("PropertyType", "String"),
        )
    raise exc.schema_violation(f"unsupported field path {uri.tag}")


class BodyBuilder:
    """Collects CalendarItem children into a Graph event body (start/end combine instant and zone)."""

    def __init__(self, event: Event | None = None) -> None:
        self.event = event
        self.body: dict[str, Any] = {}
        self.start: datetime | None = None
        self.end: datetime | None = None
        self.start_tz: str | None = None
        self.end_tz: str | None = None
        self.extended: list[dict] = []

    def read(self, item: ET.Element) -> None:
        for child in item:
            self.field(child)

    def field(self, child: ET.Element) -> None:  # noqa: C901  (one branch per EWS element)
        name = child.tag.removeprefix(f"{{{T}}}")
        text = child.text or ""
        if name == "Subject":
            self.body["subject"] = text
        elif name == "Body":
            kind = "html" if child.get("BodyType", "Text").lower() == "html" else "text"
            self.body["body"] = {"contentType": kind, "content": text}
        elif name == "Categories":
            self.body["categories"] = [s.text or "" for s in child.findall(t("String"))]
        elif name == "Importance":
            self.body["importance"] = text.lower()
        elif name == "Sensitivity":
            self.body["sensitivity"] = text.lower()
        elif name == "ReminderIsSet":
            self.body["isReminderOn"] = _bool(text)
        elif name == "ReminderMinutesBeforeStart":
            self.body["reminderMinutesBeforeStart"] = int(text)
        elif name == "Start":
            self.start = parse_instant(text)
        elif name == "End":
            self.end = parse_instant(text)
        elif name in ("StartTimeZone", "StartTimeZoneId"):
            self.start_tz = child.get("Id") or text
        elif name in ("EndTimeZone", "EndTimeZoneId"):
            self.end_tz = child.get("Id") or text
        elif name == "IsAllDayEvent":
            self.body["isAllDay"] = _bool(text)
        elif name == "LegacyFreeBusyStatus":
            if text not in EWS_TO_SHOW_AS:
                raise exc.schema_violation(f"'{text}' is not a LegacyFreeBusyType")
            self.body["showAs"] = EWS_TO_SHOW_AS[text]
        elif name == "Location":
            self.body["location"] = {"displayName": text}
        elif name == "ExtendedProperty":
            uri = child.find(t("ExtendedFieldURI"))
            value = child.find(t("Value"))
            if uri is None or value is None:
                raise exc.schema_violation("ExtendedProperty needs ExtendedFieldURI and Value")
            self.extended.append({"id": field_uri_key(uri), "value": value.text or ""})
        elif name not in IGNORED:
            raise exc.EWSError("ErrorInvalidPropertySet", f"Property {name} cannot be set by this emulator.")

    def delete(self, key: str) -> None:
        """DeleteItemField: clear an optional property."""
        clear = {"item:Body": ("body", {"contentType": "text", "content": ""}), "item:Categories": ("categories", []),
                 "calendar:Location": ("location", None)}  # fmt: skip
        if key in clear:
            self.body[clear[key][0]] = clear[key][1]
        elif key.startswith(("String ", "Integer ", "Boolean ", "SystemTime ")):
            self.extended.append({"id": key, "value": None})
        else:
            raise exc.EWSError("ErrorInvalidPropertyDelete", f"{key} cannot be deleted.")

    def result(self) -> dict[str, Any]:
        body = dict(self.body)
        for which, instant, zone in (("start", self.start, self.start_tz), ("end", self.end, self.end_tz)):
            current = getattr(self.event, which) if self.event else None
            current_zone = getattr(self.event, f"{which}_tz") if self.event else "UTC"
            if instant is None and zone is None:
                continue
            instant = instant or current
            zone = zone if zone and tz.is_known(zone) else current_zone
            if instant is None:
                continue
            body[which] = {"dateTime": tz.format_local(instant, zone), "timeZone": zone}
        if self.extended:
            body["singleValueExtendedProperties"] = self.extended
        return body


def write_item(
    parent: ET.Element, mailbox: Mailbox, event: Event, *, id_only: bool, with_body: bool, extended: list[str]
) -> ET.Element:
    """Serialize in the schema's element order (ItemType, then CalendarItemType)."""
    item = sub(parent, t("CalendarItem"))
    sub(item, t("ItemId"), Id=store.to_ews_id(event.id), ChangeKey=event.change_key)
    if id_only and not extended:
        return item
    if not id_only:
        cal = mailbox.calendars[event.calendar_id]
        sub(item, t("ParentFolderId"), Id=store.to_ews_id(cal.id), ChangeKey=cal.change_key)
        sub(item, t("ItemClass"), "IPM.Appointment")
        sub(item, t("Subject"), event.subject)
        sub(item, t("Sensitivity"), event.sensitivity.capitalize())
        if with_body:
            sub(item, t("Body"), event.body_content, BodyType="HTML" if event.body_type == "html" else "Text")
        cats = sub(item, t("Categories"))
        for cat in event.categories:
            sub(cats, t("String"), cat)
        sub(item, t("Importance"), event.importance.capitalize())
        sub(item, t("DateTimeCreated"), store.utc_stamp(event.created))
        sub(item, t("ReminderIsSet"), str(event.is_reminder_on).lower())
        sub(item, t("ReminderMinutesBeforeStart"), event.reminder_minutes)
        sub(item, t("HasAttachments"), "false")
    for key in extended:
        found = event.extended.get(" ".join(key.split()).lower())
        if found is not None:
            prop = sub(item, t("ExtendedProperty"))
            prop.append(_extended_uri(found[0]))
            sub(prop, t("Value"), found[1])
    if id_only:
        return item
    sub(item, t("LastModifiedTime"), store.utc_stamp(event.modified))
    sub(item, t("UID"), event.ical_uid)
    sub(item, t("Start"), store.utc_stamp(event.start))
    sub(item, t("End"), store.utc_stamp(event.end))
    sub(item, t("IsAllDayEvent"), str(event.is_all_day).lower())
    sub(item, t("LegacyFreeBusyStatus"), SHOW_AS_TO_EWS.get(event.show_as, "Busy"))
    sub(item, t("Location"), (event.location or {}).get("displayName", ""))
    sub(item, t("IsMeeting"), "false")
    sub(item, t("IsCancelled"), "false")
    sub(item, t("IsRecurring"), "false")
    sub(item, t("CalendarItemType"), "Single")
    sub(item, t("MyResponseType"), "Organizer")
    organizer = sub(sub(item, t("Organizer")), t("Mailbox"))
    sub(organizer, t("Name"), mailbox.display_name)
    sub(organizer, t("EmailAddress"), mailbox.address)
    sub(organizer, t("RoutingType"), "SMTP")
    sub(item, t("StartTimeZone"), Id=tz.windows_name(event.start_tz))
    sub(item, t("EndTimeZone"), Id=tz.windows_name(event.end_tz))
    return item


def _extended_uri(graph_id: str) -> ET.Element:
    """Graph's "String {guid} Name X" back to an EWS ExtendedFieldURI."""
    parts = graph_id.split(" ", 3)
    el = ET.Element(t("ExtendedFieldURI"))
    if len(parts) == 4 and parts[2] == "Name":
        guid = parts[1].strip("{}")
        if "{" + guid.upper() + "}" == store.PUBLIC_STRINGS:
            el.set("DistinguishedPropertySetId", "PublicStrings")
        else:
            el.set("PropertySetId", guid)
        el.set("PropertyName", parts[3])
    elif len(parts) == 4:
        el.set("PropertySetId", parts[1].strip("{}"))
        el.set("PropertyId", str(int(parts[3], 16)))
    else:
        el.set("PropertyTag", parts[1])
    el.set("PropertyType", parts[0])
    return el
