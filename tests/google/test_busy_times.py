"""Busy times from the user's Calendar to Check Free/Busy Status through freebusy.query, against the emulator."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shiftdesk.google import calendar_api, oauth
from shiftdesk.google.errors import GoogleError

WINDOW = (datetime(2030, 3, 4, tzinfo=UTC), datetime(2030, 3, 5, tzinfo=UTC))


def add_event(gemu, calendar: str, start: str, end: str, **extra) -> None:
    gemu.gcontrol.post(f"/calendars/{calendar}/events", json={
        "summary": "Dentist", "start": {"dateTime": start}, "end": {"dateTime": end}, **extra,
    }).raise_for_status()  # fmt: skip


def test_busy_times_are_googles_merged_intervals_and_free_events_do_not_count(connected_bob, gemu):
    add_event(gemu, "bob@example.org", "2030-03-04T09:00:00Z", "2030-03-04T10:00:00Z")
    add_event(gemu, "bob@example.org", "2030-03-04T09:30:00Z", "2030-03-04T11:00:00Z")
    add_event(
        gemu, "bob@example.org", "2030-03-04T14:00:00Z", "2030-03-04T15:00:00Z", transparency="transparent"
    )
    busy = calendar_api.busy_times(oauth.access_token(connected_bob), "bob@example.org", *WINDOW)
    assert busy == [
        calendar_api.BusyInterval(datetime(2030, 3, 4, 9, tzinfo=UTC), datetime(2030, 3, 4, 11, tzinfo=UTC))
    ]


def test_a_calendar_no_longer_shared_is_said_in_words(connected_bob, gemu):
    with pytest.raises(GoogleError) as caught:
        calendar_api.busy_times(
            oauth.access_token(connected_bob), "nobody@group.calendar.google.com", *WINDOW
        )
    assert caught.value.code == "notFound" and "no longer shared" in caught.value.message
