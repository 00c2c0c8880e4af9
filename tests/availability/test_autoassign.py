"""Auto-assign: the dry run, Apply, fairness, and every constraint on generated weeks (hypothesis)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shiftdesk.accounts.models import User
from shiftdesk.availability import autoassign
from shiftdesk.availability.models import AvailabilitySettings, BusyInterval, FreeBusyState
from shiftdesk.scheduling import conflicts
from shiftdesk.scheduling.grid import week_start
from shiftdesk.scheduling.models import Assignment, Position, Schedule, Shift, Site, TimeOff, localize
from tests.availability.conftest import CHICAGO


def next_week() -> date:
    return week_start(datetime.now(CHICAGO).date()) + timedelta(days=7)


def at(day: date, hour: float) -> datetime:
    return localize(datetime.combine(day, time()) + timedelta(hours=hour), CHICAGO)


@pytest.fixture
def staff(db, schedule, bob, charlie):
    dana = User.objects.create_user("dana@example.org", None, first_name="Dana", last_name="Desk")
    schedule.staff.add(charlie, dana)
    return [bob, charlie, dana]


def make_shift(schedule, position, start, end, needed=1):
    return Shift.objects.create(
        schedule=schedule, position=position, start=start, end=end, staff_needed=needed
    )


def test_it_spreads_hours_and_skips_people_who_are_busy_off_or_already_working(
    schedule, position, staff, alice, other_schedule
):
    bob, charlie, dana = staff
    monday = next_week() + timedelta(days=1)
    shifts = [
        make_shift(schedule, position, at(monday + timedelta(days=i), 9), at(monday + timedelta(days=i), 13))
        for i in range(3)
    ]
    # Bob: busy in Outlook on day 0; Charlie: approved time off on day 1; Dana: works elsewhere on day 2.
    FreeBusyState.objects.create(user=bob, last_refreshed_at=timezone.now())
    BusyInterval.objects.create(
        user=bob, start=at(monday, 10), end=at(monday, 11), show_as="busy", remote_id="AAMk1"
    )
    TimeOff.objects.create(
        user=charlie,
        start=at(monday + timedelta(days=1), 0),
        end=at(monday + timedelta(days=2), 0),
        status="approved",
    )
    other = make_shift(
        other_schedule, position, at(monday + timedelta(days=2), 12), at(monday + timedelta(days=2), 14)
    )
    Assignment.objects.create(shift=other, user=dana)
    proposal = autoassign.propose(schedule, next_week())
    got = {(p.shift.pk, p.user.pk) for p in proposal.assignments}
    assert len(got) == 3
    assert (shifts[0].pk, bob.pk) not in got
    assert (shifts[1].pk, charlie.pk) not in got
    assert (shifts[2].pk, dana.pk) not in got
    assert not Assignment.objects.filter(shift__schedule=schedule).exists()  # a dry run
    result = autoassign.apply(schedule, next_week(), digest=proposal.digest, by=alice)
    assert {(a.shift_id, a.user_id) for a in result.assignments} == got


def test_it_gives_each_slot_to_whoever_has_the_fewest_hours(schedule, position, staff, other_schedule):
    bob, charlie, dana = staff
    monday = next_week() + timedelta(days=1)
    # Charlie already works 6 hours this week on another schedule; six 4-hour shifts to share.
    other = make_shift(
        other_schedule, position, at(monday + timedelta(days=5), 8), at(monday + timedelta(days=5), 14)
    )
    Assignment.objects.create(shift=other, user=charlie)
    for i in range(3):
        make_shift(
            schedule,
            position,
            at(monday + timedelta(days=i), 9),
            at(monday + timedelta(days=i), 13),
            needed=2,
        )
    proposal = autoassign.propose(schedule, next_week())
    hours = {u.pk: after for u, _, after in proposal.hours_table()}
    assert len(proposal.assignments) == 6
    # Nobody may work two of the same day's shifts, so counts are (3, 1, 2) at best: Charlie, who came with
    # 6 hours, gets one shift, and nobody ends above 12 hours (an even 2-2-2 split would leave Charlie at 14).
    assert hours[charlie.pk] == 10
    assert sorted(hours.values()) == [8, 10, 12]


def test_apply_refuses_a_proposal_the_week_no_longer_matches(schedule, position, staff, alice):
    day = next_week() + timedelta(days=2)
    shift = make_shift(schedule, position, at(day, 9), at(day, 12))
    proposal = autoassign.propose(schedule, next_week())
    Assignment.objects.create(shift=shift, user=staff[0])  # someone filled it meanwhile
    with pytest.raises(autoassign.ProposalChanged):
        autoassign.apply(schedule, next_week(), digest=proposal.digest, by=alice)
    assert Assignment.objects.filter(shift=shift).count() == 1


def test_the_dry_run_page_and_apply(client, alice, schedule, position, staff, recorded_templates):
    day = next_week() + timedelta(days=3)
    shift = make_shift(schedule, position, at(day, 9), at(day, 12), needed=2)
    client.force_login(alice)
    url = f"/schedules/{schedule.pk}/auto-assign/?week={next_week().isoformat()}"
    page = client.get(url)
    assert page.status_code == 200
    assert "Proposed assignments" in page.content.decode()
    digest = page.context["proposal"].digest
    assert not Assignment.objects.exists()
    response = client.post(url, {"digest": digest, "week": next_week().isoformat()})
    assert response.status_code == 302
    assert Assignment.objects.filter(shift=shift).count() == 2


def test_apply_with_a_stale_digest_shows_the_new_proposal(client, alice, schedule, position, staff):
    day = next_week() + timedelta(days=3)
    make_shift(schedule, position, at(day, 9), at(day, 12))
    client.force_login(alice)
    url = f"/schedules/{schedule.pk}/auto-assign/"
    response = client.post(url, {"digest": "0" * 64, "week": next_week().isoformat()})
    assert response.status_code == 200
    assert "The week changed" in response.content.decode()
    assert not Assignment.objects.exists()


@pytest.mark.parametrize(
    ("who", "expected"),
    [("anonymous", 302), ("staff", 403), ("outsider", 404), ("schedule_admin", 200), ("system_admin", 200)],
)
def test_access_to_auto_assign(client, schedule, staff, alice, who, expected):
    bob, charlie, dana = staff
    outsider = User.objects.create_user("erin@example.org", None)
    schedule_admin = User.objects.create_user("sam@example.org", None)
    schedule.admins.add(schedule_admin)
    user = {
        "anonymous": None,
        "staff": bob,
        "outsider": outsider,
        "schedule_admin": schedule_admin,
        "system_admin": alice,
    }[who]
    if user is not None:
        client.force_login(user)
    url = f"/schedules/{schedule.pk}/auto-assign/"
    assert client.get(url).status_code == expected
    post = client.post(url, {"digest": "0" * 64})
    assert post.status_code == (expected if expected != 200 else 200)
    assert not Assignment.objects.exists()


# --- property: every constraint on generated weeks ---------------------------------------------------------
SHIFT = st.tuples(
    st.integers(0, 6), st.integers(6, 20), st.integers(1, 8), st.integers(1, 3)
)  # day, hour, hours, needed
BLOCK = st.tuples(
    st.integers(0, 4), st.integers(0, 6), st.integers(0, 23), st.integers(1, 30)
)  # person, day, hour, hours
WEEK = st.fixed_dictionaries(
    {
        "people": st.integers(1, 5),
        "shifts": st.lists(SHIFT, min_size=1, max_size=10),
        "time_off": st.lists(
            st.tuples(BLOCK, st.sampled_from(["approved", "pending", "denied"])), max_size=4
        ),
        "busy": st.lists(
            st.tuples(BLOCK, st.sampled_from(["busy", "oof", "workingElsewhere", "tentative", "free"])),
            max_size=8,
        ),
        "elsewhere": st.lists(BLOCK.map(lambda b: (b[0], b[1], b[2], min(b[3], 12))), max_size=4),
        "preassigned": st.lists(st.tuples(st.integers(0, 9), st.integers(0, 4)), max_size=4),
        "stale": st.lists(st.integers(0, 4), max_size=2),
    }
)


def _blocked(user, start, end, busy_rows, time_off_rows, taken) -> bool:
    """Whether `user` may not work [start, end): approved time off, a shift they hold, busy/tentative in Outlook,
    or busy data that is stale."""
    if any(
        b.user_id == user.pk and b.start < end and start < b.end and b.show_as != "free" for b in busy_rows
    ):
        return True
    if any(
        t.user_id == user.pk and t.status == "approved" and t.start < end and start < t.end
        for t in time_off_rows
    ):
        return True
    if any(s.start < end and start < s.end for s in taken.get(user.pk, [])):
        return True
    return FreeBusyState.objects.filter(user=user, status="stale").exists()


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(week=WEEK)
def test_auto_assign_respects_every_constraint_on_generated_weeks(db, alice, week):
    with transaction.atomic():
        try:
            _check_generated_week(alice, week)
        finally:
            transaction.set_rollback(True)


def _check_generated_week(alice, week):
    AvailabilitySettings.load()
    site = Site.load()
    first = next_week()
    schedule = Schedule.objects.create(name="Generated")
    elsewhere = Schedule.objects.create(name="Elsewhere")
    position = Position.objects.create(name="Desk")
    people = [
        User.objects.create_user(f"p{i}@example.org", None, first_name=f"P{i}") for i in range(week["people"])
    ]
    schedule.staff.add(*people)
    elsewhere.staff.add(*people)
    pick = lambda i: people[i % len(people)]  # noqa: E731
    shifts = []
    for day, hour, hours, needed in week["shifts"]:
        shifts.append(
            make_shift(
                schedule,
                position,
                at(first + timedelta(days=day), hour),
                at(first + timedelta(days=day), hour + hours),
                needed,
            )
        )
    time_off_rows = [
        TimeOff.objects.create(
            user=pick(p),
            start=at(first + timedelta(days=d), h),
            end=at(first + timedelta(days=d), h + n),
            status=status,
        )
        for (p, d, h, n), status in week["time_off"]
    ]
    for p in set(range(len(people))):
        FreeBusyState.objects.create(user=people[p], last_refreshed_at=timezone.now())
    busy_rows = [
        BusyInterval.objects.create(
            user=pick(p),
            start=at(first + timedelta(days=d), h),
            end=at(first + timedelta(days=d), h + n),
            show_as=show_as,
            remote_id=f"AAMk{i}",
        )  # fmt: skip
        for i, ((p, d, h, n), show_as) in enumerate(week["busy"])
    ]
    for p in week["stale"]:
        FreeBusyState.objects.filter(user=pick(p)).update(status="stale", reason="needs reauthorization")
    taken: dict[int, list] = {}
    for p, d, h, n in week["elsewhere"]:
        other = make_shift(
            elsewhere, position, at(first + timedelta(days=d), h), at(first + timedelta(days=d), h + n)
        )
        Assignment.objects.create(shift=other, user=pick(p))
        taken.setdefault(pick(p).pk, []).append(other)
    for s, p in week["preassigned"]:
        shift, person = shifts[s % len(shifts)], pick(p)
        if (
            shift.assignments.count() < shift.staff_needed
            and not shift.assignments.filter(user=person).exists()
        ):
            if not _blocked(person, shift.start, shift.end, busy_rows, time_off_rows, taken):
                Assignment.objects.create(shift=shift, user=person)
                taken.setdefault(person.pk, []).append(shift)

    # The conflict sources answer every shift of the week in one call (find_conflicts_many, as auto-assign and
    # bulk assignments ask) exactly as they answer each shift alone (the week grid's Assign).
    checks = [(shift, people) for shift in shifts]
    assert conflicts.find_conflicts_many(checks) == [
        c for s, u in checks for c in conflicts.find_conflicts(s, u)
    ]

    proposal = autoassign.propose(schedule, first)
    if proposal.assignments:
        autoassign.apply(schedule, first, digest=proposal.digest, by=alice)
    assert site.pk == 1

    new = [(p.shift, p.user) for p in proposal.assignments]
    # No assignment into time off, an overlap or a busy (or tentative, or unknown-because-stale) interval.
    for shift, user in new:
        others = [s for s in taken.get(user.pk, [])] + [
            s for s, u in new if u.pk == user.pk and s.pk != shift.pk
        ]
        taken_without = {user.pk: others}
        assert not _blocked(user, shift.start, shift.end, busy_rows, time_off_rows, taken_without), (
            shift,
            user,
        )
    # No shift over-filled, nobody twice on a shift.
    for shift in shifts:
        users = list(shift.assignments.values_list("user_id", flat=True))
        assert len(users) <= shift.staff_needed and len(users) == len(set(users))
    # No slot left open while an eligible person exists (given everything assigned now).
    final: dict[int, list] = {}
    for a in Assignment.objects.select_related("shift"):
        final.setdefault(a.user_id, []).append(a.shift)
    for shift in shifts:
        shift.refresh_from_db()
        on = set(shift.assignments.values_list("user_id", flat=True))
        if len(on) >= shift.staff_needed or shift.start <= timezone.now():
            continue
        for person in people:
            if person.pk in on:
                continue
            assert _blocked(person, shift.start, shift.end, busy_rows, time_off_rows, final), (
                f"{person} was free for open shift {shift}"
            )
