"""Business rules: overlap and time-off conflicts, capacity, roster, weekly repeat across DST."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from hypothesis import example, given, settings
from hypothesis import strategies as st

from shiftdesk.scheduling import actions, conflicts
from shiftdesk.scheduling.models import Assignment, Shift, TimeOff
from tests.scheduling.conftest import CHICAGO, local


def make_shift(schedule, position, start, hours=4, staff_needed=1):
    return Shift.objects.create(
        schedule=schedule,
        position=position,
        start=start,
        end=start + timedelta(hours=hours),
        staff_needed=staff_needed,
    )


def test_it_warns_about_an_overlapping_shift_on_any_schedule(shift, other_schedule, position, bob, alice):
    other_schedule.staff.add(bob)
    other = make_shift(other_schedule, position, shift.start + timedelta(hours=2))
    actions.do_assign_staff(other, bob, by=alice)
    with pytest.raises(actions.ConflictError) as exc:
        actions.do_assign_staff(shift, bob, by=alice)
    [conflict] = exc.value.conflicts
    assert conflict.kind == "overlap" and conflict.user_id == bob.pk
    assert "Circulation" in conflict.message and "overlaps" in conflict.message
    assert Assignment.objects.filter(shift=shift).count() == 0


def test_back_to_back_shifts_do_not_conflict(shift, schedule, position, bob, alice):
    after = make_shift(schedule, position, shift.end)
    actions.do_assign_staff(after, bob, by=alice)
    actions.do_assign_staff(shift, bob, by=alice)
    assert Assignment.objects.filter(user=bob).count() == 2


def test_assign_anyway_overrides_and_reports_the_conflict(shift, schedule, position, bob, alice):
    other = make_shift(schedule, position, shift.start + timedelta(hours=1))
    actions.do_assign_staff(other, bob, by=alice)
    result = actions.do_bulk_assign_staff([(shift, bob)], by=alice, override_conflicts=True)
    assert [c.kind for c in result.conflicts] == ["overlap"]
    assert Assignment.objects.filter(shift=shift, user=bob).exists()


def test_it_warns_about_approved_time_off_but_not_pending_or_denied(shift, bob, alice):
    time_off = actions.do_request_time_off(
        bob,
        start=shift.start - timedelta(hours=1),
        end=shift.start + timedelta(hours=1),
        repeat_weekly=False,
        repeat_until=None,
        reason="Dentist",
        by=bob,
    )
    assert conflicts.find_conflicts(shift, [bob]) == []
    actions.do_decide_time_off(time_off, approve=False, by=alice)
    assert conflicts.find_conflicts(shift, [bob]) == []
    actions.do_decide_time_off(time_off, approve=True, by=alice)
    [conflict] = conflicts.find_conflicts(shift, [bob])
    assert conflict.kind == "time_off" and "Dentist" in conflict.message


def test_weekly_time_off_conflicts_on_a_later_week_only_at_its_time(shift, bob, alice):
    first = shift.start - timedelta(weeks=3)
    time_off = actions.do_request_time_off(
        bob,
        start=first,
        end=first + timedelta(hours=2),
        repeat_weekly=True,
        repeat_until=(shift.start + timedelta(weeks=1)).date(),
        reason="Class",
        by=bob,
    )
    actions.do_decide_time_off(time_off, approve=True, by=alice)
    assert [c.kind for c in conflicts.find_conflicts(shift, [bob])] == ["time_off"]
    TimeOff.objects.filter(pk=time_off.pk).update(repeat_until=(shift.start - timedelta(days=1)).date())
    assert conflicts.find_conflicts(shift, [bob]) == []


def test_approving_time_off_keeps_existing_assignments(shift, bob, alice):
    actions.do_assign_staff(shift, bob, by=alice)
    time_off = actions.do_request_time_off(
        bob, start=shift.start, end=shift.end, repeat_weekly=False, repeat_until=None, reason="", by=bob
    )
    actions.do_decide_time_off(time_off, approve=True, by=alice)
    assert Assignment.objects.filter(shift=shift, user=bob).exists()


def test_other_apps_can_register_a_conflict_source(shift, bob, alice):
    def busy_in_outlook(checks):
        return [
            conflicts.Conflict("outlook_busy", u.pk, s.pk, f"{u} is busy in Outlook.")
            for s, users in checks
            for u in users
        ]

    conflicts.register_conflict_source("test_busy_in_outlook", busy_in_outlook)
    try:
        with pytest.raises(actions.ConflictError) as exc:
            actions.do_assign_staff(shift, bob, by=alice)
        assert [c.kind for c in exc.value.conflicts] == ["outlook_busy"]
    finally:
        conflicts.unregister_conflict_source("test_busy_in_outlook")
    actions.do_assign_staff(shift, bob, by=alice)


def test_a_full_shift_refuses_more_staff(schedule, position, bob, charlie, alice, future_start):
    schedule.staff.add(charlie)
    one = make_shift(schedule, position, future_start, staff_needed=1)
    actions.do_assign_staff(one, bob, by=alice)
    with pytest.raises(ValidationError, match="full"):
        actions.do_assign_staff(one, charlie, by=alice, override_conflicts=True)


def test_nobody_is_assigned_twice_or_while_deactivated(shift, bob, alice):
    actions.do_assign_staff(shift, bob, by=alice)
    with pytest.raises(ValidationError, match="already assigned"):
        actions.do_assign_staff(shift, bob, by=alice)
    bob.is_active = False
    with pytest.raises(ValidationError, match="deactivated"):
        actions.do_assign_staff(shift, bob, by=alice)


def test_invalid_shift_times_are_refused(schedule, position, alice, future_start):
    with pytest.raises(ValidationError) as exc:
        actions.do_create_shift(
            schedule,
            position=position,
            location="",
            start=future_start,
            end=future_start,
            staff_needed=0,
            note="",
            by=alice,
        )
    assert set(exc.value.message_dict) == {"end", "staff_needed"}
    assert not Shift.objects.exists()


@pytest.mark.parametrize(
    ("first", "last", "dst_day"),
    [
        (date(2026, 2, 23), date(2026, 3, 20), date(2026, 3, 8)),  # spring forward: 2nd Sunday of March
        (date(2026, 10, 19), date(2026, 11, 13), date(2026, 11, 1)),  # fall back: 1st Sunday of November
    ],
)
def test_weekly_repeat_keeps_local_wall_clock_across_dst(schedule, position, alice, first, last, dst_day):
    assert dst_day.weekday() == 6
    shifts = actions.do_create_weekly_shifts(
        schedule,
        position=position,
        location="",
        first_date=first,
        last_date=last,
        weekdays=[0, 6],
        start_time=time(9, 0),
        end_time=time(17, 30),
        staff_needed=1,
        note="",
        by=alice,
    )
    assert len(shifts) == 7  # 4 Mondays, 3 Sundays
    for s in shifts:
        assert s.start.astimezone(CHICAGO).time() == time(9, 0)
        assert s.end.astimezone(CHICAGO).time() == time(17, 30)
        assert s.end - s.start == timedelta(hours=8, minutes=30)
    utc_hours = {s.start.astimezone(ZoneInfo("UTC")).hour for s in shifts}
    assert utc_hours == {14, 15}  # 09:00 CDT is 14:00Z, 09:00 CST is 15:00Z: the UTC instant moved
    dst_sunday = [s for s in shifts if s.start.astimezone(CHICAGO).date() == dst_day]
    assert len(dst_sunday) == 1


def test_an_overnight_shift_across_fall_back_lasts_one_hour_longer(schedule, position, alice):
    [s] = actions.do_create_weekly_shifts(
        schedule,
        position=position,
        location="",
        first_date=date(2026, 10, 31),
        last_date=date(2026, 10, 31),
        weekdays=[5],
        start_time=time(22, 0),
        end_time=time(6, 0),
        staff_needed=1,
        note="",
        by=alice,
    )
    assert s.start == local(2026, 10, 31, 22) and s.end.astimezone(CHICAGO).replace(tzinfo=None).hour == 6
    assert s.end - s.start == timedelta(hours=9)


def test_weekly_time_off_keeps_wall_clock_across_spring_forward(bob, site):
    time_off = TimeOff(
        user=bob,
        start=local(2026, 3, 2, 13),
        end=local(2026, 3, 2, 15),
        repeat_weekly=True,
        repeat_until=date(2026, 3, 16),
    )
    occurrences = list(time_off.occurrences(CHICAGO))
    assert len(occurrences) == 3
    assert [o[0].astimezone(CHICAGO).hour for o in occurrences] == [13, 13, 13]


def test_weekly_repeat_refuses_an_empty_pattern(schedule, position, alice):
    with pytest.raises(ValidationError) as exc:
        actions.do_create_weekly_shifts(
            schedule,
            position=position,
            location="",
            first_date=date(2026, 3, 2),
            last_date=date(2026, 3, 1),
            weekdays=[],
            start_time=time(9),
            end_time=time(10),
            staff_needed=1,
            note="",
            by=alice,
        )
    assert set(exc.value.message_dict) == {"last_date", "weekdays"}


def test_repeat_with_a_conflicting_assignee_creates_nothing(schedule, position, bob, alice, shift):
    actions.do_assign_staff(shift, bob, by=alice)
    day = shift.start.astimezone(CHICAGO).date()
    with pytest.raises(actions.ConflictError):
        actions.do_create_weekly_shifts(
            schedule,
            position=position,
            location="",
            first_date=day,
            last_date=day + timedelta(days=14),
            weekdays=[day.weekday()],
            start_time=time(10),
            end_time=time(11),
            staff_needed=1,
            note="",
            assignees=[bob],
            by=alice,
        )
    assert Shift.objects.count() == 1


def test_time_off_reads_as_dates_or_times(bob, site):
    whole = TimeOff(user=bob, start=local(2026, 12, 14), end=local(2026, 12, 15))
    assert whole.describe(CHICAGO) == "Mon Dec 14, 2026 (all day)"
    days = TimeOff(user=bob, start=local(2026, 12, 14), end=local(2026, 12, 17))
    assert days.describe(CHICAGO) == "Mon Dec 14 – Wed Dec 16, 2026 (all days)"
    hours = TimeOff(user=bob, start=local(2026, 12, 14, 13), end=local(2026, 12, 14, 15, 30))
    assert hours.describe(CHICAGO) == "Mon Dec 14, 2026 1:00 PM – 3:30 PM"


@settings(max_examples=150, deadline=None)
@given(
    first=st.dates(min_value=date(2024, 1, 1), max_value=date(2030, 12, 31)),
    weeks=st.integers(min_value=0, max_value=60),
    hour=st.integers(min_value=0, max_value=23),
    minute=st.sampled_from([0, 15, 30, 45]),
    length_minutes=st.integers(min_value=15, max_value=12 * 60),
)
# Found by hypothesis: a 2:45-3:00 shift on the spring-forward night (2030-03-10) lies wholly in the gap.
@example(first=date(2029, 9, 30), weeks=23, hour=2, minute=45, length_minutes=15)
def test_weekly_occurrences_always_keep_the_local_wall_clock(first, weeks, hour, minute, length_minutes):
    start = time(hour, minute)
    end_dt = datetime.combine(first, start) + timedelta(minutes=length_minutes)
    occurrences = actions.weekly_occurrences(
        first_date=first,
        last_date=first + timedelta(weeks=weeks),
        weekdays=[first.weekday()],
        start_time=start,
        end_time=end_dt.time(),
        tz=CHICAGO,
    )
    assert len(occurrences) == weeks + 1
    for s, e in occurrences:
        local_start = s.astimezone(CHICAGO)
        assert local_start.weekday() == first.weekday()
        if not (
            local_start.month in (3, 11) and hour in (1, 2)
        ):  # the DST hour itself may not exist / repeat
            assert local_start.time() == start
        assert e > s


def test_conflicts_of_many_shifts_take_as_many_queries_as_of_one(schedule, position, bob, charlie, alice):
    """find_conflicts_many reads each source's rows once for every shift asked about (auto-assign asks about a
    week, a bulk assignment about each of its shifts), here with something of every kind in the span: an
    overlapping assignment, approved time off, a busy interval and stale busy data."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from shiftdesk.availability.models import BusyInterval, FreeBusyState

    schedule.staff.add(charlie)
    start = timezone.now().replace(microsecond=0) + timedelta(days=2)
    shifts = [make_shift(schedule, position, start + timedelta(days=d)) for d in range(10)]
    actions.do_assign_staff(shifts[0], charlie, by=alice)
    clash = make_shift(schedule, position, start)  # charlie works shifts[0] then
    for shift in (clash, shifts[2]):
        TimeOff.objects.create(user=bob, start=shift.start, end=shift.end, status="approved")
    for i, shift in enumerate((clash, shifts[3])):
        BusyInterval.objects.create(
            user=bob, start=shift.start, end=shift.end, show_as="busy", remote_id=f"b{i}"
        )
    FreeBusyState.objects.create(
        user=charlie, last_refreshed_at=timezone.now(), status="stale", reason="expired"
    )

    def queries(checks):
        with CaptureQueriesContext(connection) as ctx:
            found = conflicts.find_conflicts_many(checks)
        return len(ctx.captured_queries), found

    one, alone = queries([(clash, [bob, charlie])])
    many, found = queries([(shift, [bob, charlie]) for shift in [clash, *shifts]])
    assert many == one
    assert {c.kind for c in alone} == {"overlap", "time_off", "outlook_busy", "outlook_stale"}
    assert len(found) > len(alone)
    assert found == [c for shift in [clash, *shifts] for c in conflicts.find_conflicts(shift, [bob, charlie])]
