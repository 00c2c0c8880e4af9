"""Every write to a connection row names its fields: Save Calendars (whose page lists the calendars through a
token refresh and a Graph call first) never writes back a copy loaded before them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.calendarsync.conftest import PROVIDERS

pytestmark = [pytest.mark.django_db, pytest.mark.parametrize("provider", PROVIDERS)]


def test_save_calendars_with_a_copy_loaded_before_a_token_refresh_reverts_nothing(sync):
    from shiftdesk.calendarsync.actions import do_choose_calendars
    from shiftdesk.calendarsync.models import CalendarConnection

    bob = sync.add_user(0)
    stale = sync.connection(bob)  # the page loads the row, then refreshes the token and lists calendars
    later = timezone.now() + timedelta(minutes=5)
    CalendarConnection.objects.filter(pk=stale.pk).update(
        credentials='{"rotated": true}', lease_owner="worker-2", lease_expires_at=later,
        retry_after_until=later, delta_state={"calendar": "x", "link": "https://graph/delta?token=1"},
    )  # fmt: skip
    work = sync.add_calendar(bob, "Work")
    do_choose_calendars(stale, sync_calendar_id=work["id"], sync_calendar_name="Work",
                        freebusy_calendar_id=work["id"], freebusy_calendar_name="Work")  # fmt: skip
    row = CalendarConnection.objects.get(pk=stale.pk)
    assert (row.sync_calendar_id, row.sync_calendar_name, row.freebusy_calendar_id) == (
        work["id"],
        "Work",
        work["id"],
    )
    assert row.credentials == '{"rotated": true}'
    assert (row.lease_owner, row.lease_expires_at, row.retry_after_until) == ("worker-2", later, later)
    assert row.delta_state["link"] == "https://graph/delta?token=1"
    assert row.sync_due_at is not None  # a new sync calendar: every link is due
