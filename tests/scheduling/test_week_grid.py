"""The schedule week grid: what it shows, its constant query count, and assigning from it with warnings."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from shiftdesk.accounts.models import User
from shiftdesk.scheduling import actions
from shiftdesk.scheduling.grid import week_start
from shiftdesk.scheduling.models import Assignment, Shift
from shiftdesk.scheduling.seam import ChangeKind
from tests.scheduling.conftest import CHICAGO


def week_url(shift):
    return (
        reverse("schedule_week", args=[shift.schedule_id])
        + f"?week={week_start(shift.start.astimezone(CHICAGO).date())}"
    )


def test_it_shows_assigned_names_and_open_slots(alice_client, shift, bob, alice):
    actions.do_assign_staff(shift, bob, by=alice)
    response = alice_client.get(week_url(shift))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Bob Staff" in html
    assert html.count('class="slot-open"') == 1  # 2 needed, 1 assigned
    assert "Reference Desk" in html and "2nd floor" in html
    assert "9 AM – 1 PM" in html
    assert reverse("shift_assign", args=[shift.pk]) in html


def test_staff_see_the_grid_without_assign_forms(bob_client, shift):
    html = bob_client.get(week_url(shift)).content.decode()
    assert "Reference Desk" in html
    assert reverse("shift_assign", args=[shift.pk]) not in html
    assert reverse("shift_edit", args=[shift.pk]) not in html


def test_prev_and_next_week_links(alice_client, shift):
    first = week_start(shift.start.astimezone(CHICAGO).date())
    html = alice_client.get(week_url(shift)).content.decode()
    assert f"?week={first - timedelta(days=7)}" in html and f"?week={first + timedelta(days=7)}" in html
    later = alice_client.get(
        reverse("schedule_week", args=[shift.schedule_id]) + f"?week={first + timedelta(days=7)}"
    )
    assert "No shifts this week" in later.content.decode()
    bad = alice_client.get(reverse("schedule_week", args=[shift.schedule_id]) + "?week=nonsense")
    assert bad.status_code == 200


def _populate(schedule, position, staff_count, shifts_per_day, start):
    users = User.objects.bulk_create(
        [User(email=f"s{i}@example.org", first_name=f"S{i}", last_name="Staff") for i in range(staff_count)]
    )
    schedule.staff.add(*users)
    shifts = Shift.objects.bulk_create(
        [
            Shift(
                schedule=schedule,
                position=position,
                location=f"Desk {n % 5}",
                start=start + timedelta(days=d, minutes=15 * n),
                end=start + timedelta(days=d, minutes=15 * n + 120),
                staff_needed=2,
            )
            for d in range(7)
            for n in range(shifts_per_day)
        ]
    )
    Assignment.objects.bulk_create(
        [Assignment(shift=s, user=users[i % len(users)]) for i, s in enumerate(shifts)]
    )
    return shifts


@pytest.mark.parametrize("who", ["alice", "charlie"])
def test_the_grid_uses_a_constant_number_of_queries(
    client, schedule, position, alice, charlie, django_assert_max_num_queries, who
):
    schedule.admins.add(charlie)
    client.force_login(alice if who == "alice" else charlie)
    start = week_start(__import__("datetime").date(2026, 11, 8))
    from datetime import datetime

    first = datetime(start.year, start.month, start.day, 8, tzinfo=CHICAGO)
    url = reverse("schedule_week", args=[schedule.pk]) + f"?week={start}"
    counts = []
    for staff_count, per_day in [(3, 2), (60, 30)]:
        Shift.objects.all().delete()
        _populate(schedule, position, staff_count, per_day, first)
        with django_assert_max_num_queries(12) as ctx:
            response = client.get(url)
        assert response.status_code == 200
        assert response.content.decode().count('class="shift') == 7 * per_day
        counts.append(len(ctx.captured_queries))
        User.objects.filter(email__startswith="s", email__endswith="@example.org").delete()
    assert counts[0] == counts[1]


def test_assign_on_the_grid_publishes_and_returns_to_the_week(alice_client, shift, bob, recorder):
    response = alice_client.post(reverse("shift_assign", args=[shift.pk]), {"staff": "BOB@example.org"})
    assert response.status_code == 302 and response.url == week_url(shift)
    assert Assignment.objects.filter(shift=shift, user=bob).exists()
    [[change]] = recorder.calls
    assert change.kind == ChangeKind.ASSIGNED and change.user_id == bob.pk


def test_assigning_someone_off_the_roster_says_so(alice_client, shift, charlie):
    response = alice_client.post(reverse("shift_assign", args=[shift.pk]), {"staff": charlie.email})
    assert response.status_code == 400
    assert "Choose someone on the Reference roster." in response.content.decode()
    assert not Assignment.objects.exists()


def test_a_conflict_warns_and_needs_assign_anyway(
    alice_client, shift, schedule, position, bob, alice, recorder
):
    other = Shift.objects.create(
        schedule=schedule,
        position=position,
        start=shift.start + timedelta(hours=1),
        end=shift.end + timedelta(hours=1),
    )
    actions.do_assign_staff(other, bob, by=alice)
    url = reverse("shift_assign", args=[shift.pk])
    response = alice_client.post(url, {"staff": bob.email})
    html = response.content.decode()
    assert response.status_code == 409
    assert "Warning" in html and "overlaps this shift" in html
    assert "Assign anyway" in html
    assert 'value="bob@example.org" selected' in html  # keeps who was chosen
    assert not Assignment.objects.filter(shift=shift).exists()
    # Submitting again without ticking the box still refuses, with a message next to the checkbox.
    response = alice_client.post(url, {"staff": bob.email, "confirming": "1"})
    assert response.status_code == 409
    assert "Tick “Assign anyway”" in response.content.decode()
    response = alice_client.post(url, {"staff": bob.email, "confirming": "1", "override_conflicts": "on"})
    assert response.status_code == 302
    assert Assignment.objects.filter(shift=shift, user=bob).exists()
    assert len(recorder.calls) == 2


def test_approved_time_off_warns_on_assign(alice_client, shift, bob, alice):
    t = actions.do_request_time_off(
        bob,
        start=shift.start,
        end=shift.end,
        repeat_weekly=False,
        repeat_until=None,
        reason="Vacation",
        by=bob,
    )
    actions.do_decide_time_off(t, approve=True, by=alice)
    response = alice_client.post(reverse("shift_assign", args=[shift.pk]), {"staff": bob.email})
    assert response.status_code == 409
    assert "approved time off" in response.content.decode()


def test_unassign_from_the_grid(alice_client, shift, bob, alice, recorder):
    actions.do_assign_staff(shift, bob, by=alice)
    response = alice_client.post(reverse("shift_unassign", args=[shift.pk]), {"user": bob.pk})
    assert response.status_code == 302
    assert not Assignment.objects.exists()
    assert recorder.calls[-1][0].kind == ChangeKind.UNASSIGNED
    response = alice_client.post(reverse("shift_unassign", args=[shift.pk]), {"user": "x"}, follow=True)
    assert "not on this shift" in response.content.decode()


def test_the_grid_form_unassigns_with_its_x_button(alice_client, shift, bob, alice, recorder):
    actions.do_assign_staff(shift, bob, by=alice)
    html = alice_client.get(week_url(shift)).content.decode()
    assert f'name="unassign" value="{bob.pk}"' in html
    # The assign box comes before the × buttons, so pressing Enter in it assigns rather than unassigns.
    assert html.index('name="staff"') < html.index('name="unassign"')
    response = alice_client.post(
        reverse("shift_assign", args=[shift.pk]), {"staff": "", "unassign": str(bob.pk)}
    )
    assert response.status_code == 302
    assert not Assignment.objects.exists()
    assert recorder.calls[-1][0].kind == ChangeKind.UNASSIGNED


def test_names_and_notes_are_escaped_in_the_grid(alice_client, shift, bob, alice):
    bob.first_name = "<b>Bob</b>"
    bob.save()
    Shift.objects.filter(pk=shift.pk).update(note="<script>x</script>", location="<i>Lobby</i>")
    actions.do_assign_staff(shift, bob, by=alice)
    html = alice_client.get(week_url(shift)).content.decode()
    assert "<b>Bob</b>" not in html and "&lt;b&gt;Bob&lt;/b&gt;" in html
    assert "<script>x" not in html and "<i>Lobby" not in html


def test_other_apps_can_add_a_section_under_the_grid(bob_client, shift):
    from shiftdesk.scheduling.grid import _grid_sections, register_grid_section

    def roster_names(grid):
        return '<section class="test-section">' + ", ".join(p.html_name for p in grid.roster) + "</section>"

    register_grid_section("test_section", roster_names)
    try:
        html = bob_client.get(week_url(shift)).content.decode()
    finally:
        _grid_sections.pop("test_section", None)
    assert '<section class="test-section">Bob Staff</section>' in html
