"""The iCal feed: parses with icalendar, round-trips every shift field, SEQUENCE, drops, VTIMEZONE, caching."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
import time_machine

from shiftdesk.feeds import actions
from shiftdesk.scheduling import actions as scheduling

CHICAGO = ZoneInfo("America/Chicago")


def feed_path(user) -> str:
    token = actions.do_get_or_create_feed_token(user).token
    return f"/feeds/{token}/shifts.ics"


def fetch(client, user, **headers):
    return client.get(feed_path(user), headers=headers)


def events(response) -> list[icalendar.Event]:
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    cal = icalendar.Calendar.from_ical(response.content)
    return list(cal.walk("VEVENT"))


def test_it_round_trips_every_shift_field(client, bob, shift, site):
    scheduling.do_assign_staff(shift, bob, by=None)
    (event,) = events(fetch(client, bob))
    assert str(event["summary"]) == "Reference Desk (Reference)"
    assert str(event["x-shiftdesk-position"]) == shift.position.name
    assert str(event["x-shiftdesk-schedule"]) == shift.schedule.name
    assert str(event["location"]) == "2nd floor"
    assert str(event["description"]) == "Bring keys"
    assert int(str(event["x-shiftdesk-staff-needed"])) == 2
    assert int(str(event["x-shiftdesk-shift-id"])) == shift.pk
    assert event.decoded("dtstart") == shift.start
    assert event.decoded("dtend") == shift.end
    assert event["dtstart"].params["TZID"] == "America/Chicago"
    assert event.decoded("dtstart").tzinfo.key == "America/Chicago"
    assert event["categories"].cats == ["Reference"]
    assert str(event["uid"]) == f"shiftdesk-{bob.pk}-{shift.pk}@shiftdesk"
    assert event["sequence"] == 0
    (alarm,) = list(event.walk("VALARM"))
    assert alarm.decoded("trigger") == timedelta(minutes=-site.reminder_minutes)


def test_it_includes_a_vtimezone_for_the_site_zone(client, bob, shift):
    scheduling.do_assign_staff(shift, bob, by=None)
    cal = icalendar.Calendar.from_ical(fetch(client, bob).content)
    (vtz,) = list(cal.walk("VTIMEZONE"))
    assert str(vtz["tzid"]) == "America/Chicago"
    assert {c.name for c in vtz.subcomponents} >= {"STANDARD", "DAYLIGHT"}
    assert str(cal["x-wr-timezone"]) == "America/Chicago"


def test_it_keeps_wall_clock_time_across_dst(client, bob, schedule, position):
    # 2026-11-01 is the fall-back Sunday in Chicago: 09:00 is CST (-6), the day before is CDT (-5).
    from shiftdesk.scheduling.models import Shift

    starts = [datetime(2026, 10, 31, 9, tzinfo=CHICAGO), datetime(2026, 11, 1, 9, tzinfo=CHICAGO)]
    with time_machine.travel(datetime(2026, 10, 1, tzinfo=CHICAGO), tick=False):
        for start in starts:
            s = Shift.objects.create(
                schedule=schedule, position=position, start=start, end=start + timedelta(hours=2)
            )
            scheduling.do_assign_staff(s, bob, by=None)
        evs = events(fetch(client, bob))
    assert [e.decoded("dtstart").utcoffset() for e in evs] == [timedelta(hours=-5), timedelta(hours=-6)]
    assert [e["dtstart"].to_ical() for e in evs] == [b"20261031T090000", b"20261101T090000"]


def test_it_keeps_the_uid_and_bumps_sequence_on_change(client, bob, shift):
    scheduling.do_assign_staff(shift, bob, by=None)
    (first,) = events(fetch(client, bob))
    (again,) = events(fetch(client, bob))
    assert again["sequence"] == 0  # nothing changed: no bump on a plain re-fetch
    scheduling.do_update_shift(
        shift,
        position=shift.position,
        location="Lobby",
        start=shift.start + timedelta(hours=1),
        end=shift.end + timedelta(hours=1),
        staff_needed=shift.staff_needed,
        note=shift.note,
        by=None,
    )
    (changed,) = events(fetch(client, bob))
    assert str(changed["uid"]) == str(first["uid"])
    assert changed["sequence"] == 1
    assert str(changed["location"]) == "Lobby"
    assert changed.decoded("dtstart") == shift.start + timedelta(hours=1)


def test_it_drops_unassigned_deleted_and_deactivated_shifts(
    client, bob, shift, schedule, position, future_start
):
    from shiftdesk.scheduling.models import Shift

    other = Shift.objects.create(
        schedule=schedule,
        position=position,
        start=future_start + timedelta(days=1),
        end=future_start + timedelta(days=1, hours=3),
    )
    third = Shift.objects.create(
        schedule=schedule,
        position=position,
        start=future_start + timedelta(days=2),
        end=future_start + timedelta(days=2, hours=3),
    )
    for s in (shift, other, third):
        scheduling.do_assign_staff(s, bob, by=None)
    assert len(events(fetch(client, bob))) == 3
    scheduling.do_unassign_staff(shift, bob, by=None)
    scheduling.do_delete_shift(other, by=None)
    uids = [str(e["uid"]) for e in events(fetch(client, bob))]
    assert uids == [f"shiftdesk-{bob.pk}-{third.pk}@shiftdesk"]
    scheduling.do_set_schedule_active(schedule, active=False, by=None)
    assert events(fetch(client, bob)) == []


def test_it_lists_only_the_owners_shifts(client, bob, charlie, shift, other_schedule, position, future_start):
    from shiftdesk.scheduling.models import Shift

    scheduling.do_assign_staff(shift, bob, by=None)
    theirs = Shift.objects.create(
        schedule=other_schedule, position=position, start=future_start, end=future_start + timedelta(hours=1)
    )
    scheduling.do_assign_staff(theirs, charlie, by=None)
    assert [int(str(e["x-shiftdesk-shift-id"])) for e in events(fetch(client, bob))] == [shift.pk]
    assert [int(str(e["x-shiftdesk-shift-id"])) for e in events(fetch(client, charlie))] == [theirs.pk]


def test_it_answers_304_for_a_matching_etag_until_something_changes(client, bob, shift):
    scheduling.do_assign_staff(shift, bob, by=None)
    first = fetch(client, bob)
    etag = first["ETag"]
    assert etag.startswith('"') and first["Last-Modified"]
    not_modified = fetch(client, bob, if_none_match=etag)
    assert not_modified.status_code == 304
    assert not_modified.content == b""
    assert not_modified["ETag"] == etag
    scheduling.do_unassign_staff(shift, bob, by=None)
    changed = fetch(client, bob, if_none_match=etag)
    assert changed.status_code == 200
    assert changed["ETag"] != etag


def test_it_answers_304_for_if_modified_since(client, bob, shift):
    scheduling.do_assign_staff(shift, bob, by=None)
    with time_machine.travel(datetime(2026, 1, 5, 12, tzinfo=CHICAGO), tick=False):
        first = fetch(client, bob)
    last_modified = first["Last-Modified"]
    with time_machine.travel(datetime(2026, 1, 5, 13, tzinfo=CHICAGO), tick=False):
        assert fetch(client, bob, if_modified_since=last_modified).status_code == 304
        assert fetch(client, bob, if_modified_since="Mon, 05 Jan 2026 17:00:00 GMT").status_code == 200
        # If-None-Match wins over If-Modified-Since (RFC 9110).
        stale = fetch(client, bob, if_none_match='"stale"', if_modified_since=last_modified)
        assert stale.status_code == 200


def test_an_empty_feed_is_still_a_valid_calendar(client, bob, site):
    response = fetch(client, bob)
    cal = icalendar.Calendar.from_ical(response.content)
    assert list(cal.walk("VEVENT")) == []
    assert str(cal["version"]) == "2.0"
    assert [str(t["tzid"]) for t in cal.walk("VTIMEZONE")] == ["America/Chicago"]


@pytest.mark.parametrize("token", ["nope", "x" * 43, "a" * 200])
def test_it_answers_404_for_an_unknown_token(client, bob, token):
    actions.do_get_or_create_feed_token(bob)
    assert client.get(f"/feeds/{token}/shifts.ics").status_code == 404
