"""No doubled titles: a position named like its schedule ("Reference Desk" on the "Reference Desk" schedule)
is said once in Outlook events, iCal feeds and the grid's assign page."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shiftdesk.calendarsync.render import render_event
from shiftdesk.feeds.ical import FeedItem
from shiftdesk.scheduling.seam import ShiftSnapshot, shift_title


def snapshot(position: str, schedule: str) -> ShiftSnapshot:
    start = datetime(2026, 3, 2, 15, tzinfo=UTC)
    return ShiftSnapshot(
        1, 1, schedule, position, "", "", start, start.replace(hour=19), "America/Chicago", True
    )


@pytest.mark.parametrize(
    ("position", "schedule", "want"),
    [
        ("Reference Desk", "Reference Desk", "Reference Desk"),
        ("Reference Desk", "reference desk ", "Reference Desk"),
        ("Reference Desk", "Reference", "Reference Desk - Reference"),
    ],
)
def test_it_names_the_schedule_only_when_it_adds_something(position, schedule, want):
    assert shift_title(position, schedule) == want
    assert render_event(snapshot(position, schedule), reminder_minutes=15).subject == want


def test_it_does_not_double_the_feed_summary():
    assert FeedItem(snapshot("Reference Desk", "Reference Desk"), 1, 15).summary == "Reference Desk"
    assert FeedItem(snapshot("Shelver", "Circulation"), 1, 15).summary == "Shelver (Circulation)"


def test_it_does_not_double_the_assign_page_heading(alice_client, db):
    from django.urls import reverse

    from tests.calendarsync.ui_factories import make_shift

    shift = make_shift(position="Reference Desk", schedule="Reference Desk")
    html = alice_client.get(reverse("shift_assign", args=[shift.pk])).content.decode()
    assert "<h2>Reference Desk</h2>" in html
    assert "Reference Desk · Reference Desk" not in html
