"""axe-core's WCAG 2.0/2.1 A and AA rules, at desktop and phone width, over the page content Google sync adds
that the demo world's page sweep (test_axe_pages.py) does not show: Integration Status with a Google connection
(its Provider cell, "events deleted in Google Calendar", an error under Google Errors), Admin > Integrations'
Google push-notification problems, and a Google user's Sync Status listing events deleted and moved in Google
Calendar with Restore / Leave it. At phone width the pages must not scroll sideways either."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from tests.a11y.support import DESKTOP, PHONE, note_problems


@pytest.fixture
def google_world(demo):
    """The demo staff member's connection made a Google one, stopped with an error, with one event deleted
    and one moved in Google Calendar; a push-notification problem recorded for it."""
    from shiftdesk.calendarsync.models import CalendarConnection, SyncLogEntry
    from shiftdesk.google.models import GooglePushProblem
    from tests.calendarsync.ui_factories import deleted_in_outlook, log, make_link

    connection = demo.staff.calendar_connection
    CalendarConnection.objects.filter(pk=connection.pk).update(
        provider="google",
        status=CalendarConnection.Status.ERROR,
        last_error="Google says the calendar was deleted.",
        last_error_at=timezone.now(),
    )
    connection.refresh_from_db()
    upcoming = [
        a.shift for a in demo.staff.assignments.select_related("shift") if a.shift.end > timezone.now()
    ]
    deleted_in_outlook(connection, upcoming[0])
    make_link(connection, upcoming[1], moved_in_outlook=True, moved_in_outlook_at=timezone.now(),
              moved_in_outlook_reason="You moved the event to another calendar.")  # fmt: skip
    log(connection, "The event is no longer in the calendar.", outcome=SyncLogEntry.Outcome.GONE,
        shift_ref=upcoming[0].pk)  # fmt: skip
    GooglePushProblem.objects.create(
        connection=connection,
        problem="Google sends push notifications to https addresses only; ShiftDesk's public URL is "
        "http://localhost:8000/google/push/. Changes are picked up on the polling interval instead.",
    )
    return demo


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_google_content_passes_axe_and_fits_a_phone(google_world, demo_login, live_server, viewport):
    admin = demo_login(google_world.admin, viewport)
    staff = demo_login(google_world.staff, viewport)
    checks = [
        (admin, reverse("integration_status"), ["Google Calendar (OAuth 2)", "deleted in Google Calendar",
                                                 "Google says the calendar was deleted."]),
        (admin, reverse("admin_integrations"), ["https addresses only"]),
        (staff, reverse("calendar_sync"), ["Deleted or moved in Google Calendar", "Deleted in Google Calendar",
                                           "Moved in Google Calendar"]),
    ]  # fmt: skip
    failures = []
    for page, url, words in checks:
        assert page.goto(live_server.url + url).status == 200
        text = page.inner_text("main")
        assert all(w in text for w in words), (url, [w for w in words if w not in text])
        note_problems(page, url, failures, viewport)
    assert not failures, "\n\n".join(failures)
