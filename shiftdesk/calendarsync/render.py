"""What a shift's calendar event says: EventContent from a shift snapshot, and the one time conversion.

Provider-neutral: providers map EventContent to their wire format. People and notes go in the body, never
as attendees (Outlook would email invitations). The content hash decides whether an update is sent.
"""

from __future__ import annotations

import hashlib
import html
import json
import zoneinfo
from datetime import datetime

from django.conf import settings
from django.urls import reverse

from shiftdesk.calendarsync.providers.base import EventContent
from shiftdesk.scheduling.seam import ShiftSnapshot


def to_local_datetime(instant: datetime, time_zone: str) -> dict[str, str]:
    """An aware instant as Graph's dateTimeTimeZone: local wall-clock time in `time_zone` plus that zone.

    The one place instants become wall-clock times: writing the IANA zone (not UTC) lets Outlook show the
    shift at the right local time on both sides of a DST change.
    """
    local = instant.astimezone(zoneinfo.ZoneInfo(time_zone))
    if local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset():
        # The repeated hour of a DST fall-back night: this wall time names two instants and Graph's
        # dateTimeTimeZone has no `fold`, so the instant is written in UTC (one meaning; Outlook still shows
        # it at the right local time).
        utc = instant.astimezone(zoneinfo.ZoneInfo("UTC"))
        return {"dateTime": utc.replace(tzinfo=None).isoformat(timespec="seconds"), "timeZone": "UTC"}
    return {"dateTime": local.replace(tzinfo=None).isoformat(timespec="seconds"), "timeZone": time_zone}


def shift_url(shift_id: int) -> str:
    return f"{settings.PUBLIC_BASE_URL}{reverse('schedule_list')}?shift={shift_id}"


def render_event(snapshot: ShiftSnapshot, *, reminder_minutes: int) -> EventContent:
    subject = snapshot.title()
    parts = []
    if snapshot.note:
        parts.append("<p>" + html.escape(snapshot.note).replace("\n", "<br>") + "</p>")
    url = html.escape(shift_url(snapshot.shift_id), quote=True)
    parts.append(f'<p><a href="{url}">Open this shift in ShiftDesk</a></p>')
    return EventContent(
        subject=subject,
        start=to_local_datetime(snapshot.start, snapshot.time_zone),
        end=to_local_datetime(snapshot.end, snapshot.time_zone),
        body_html="".join(parts),
        location=snapshot.location,
        reminder_minutes=reminder_minutes,
    )


def content_hash(content: EventContent) -> str:
    # A fixed field order instead of dataclasses.asdict: this runs once per event per step.
    c = content
    raw = json.dumps(
        [c.subject, c.start, c.end, c.body_html, c.location, c.reminder_minutes, c.show_as],
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(raw.encode()).hexdigest()
