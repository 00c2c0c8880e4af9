"""The week grid's assign box and "×" answer in place (htmx): the shift's cell comes back, with the error,
the conflicts to confirm, or an Undo; the box takes a roster member's name or email address."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from shiftdesk.scheduling import actions
from shiftdesk.scheduling.models import Assignment, Shift
from shiftdesk.scheduling.seam import ChangeKind

HX = {"HTTP_HX_REQUEST": "true"}


def post(client, shift, data):
    return client.post(reverse("shift_assign", args=[shift.pk]), data, **HX)


@pytest.mark.parametrize("typed", ["Bob Staff", "  bob   staff ", "BOB@example.org", "bob@example.org"])
def test_it_assigns_by_name_or_email_and_answers_with_the_cell(alice_client, shift, bob, recorder, typed):
    response = post(alice_client, shift, {"staff": typed})
    html = response.content.decode()
    assert response.status_code == 200
    assert html.startswith(f'<div class="shift open" id="s{shift.pk}">')  # 2 needed, 1 assigned: still open
    assert "Bob Staff" in html and f'id="a{shift.pk}"' in html  # the box keeps its id, so focus stays on it
    assert 'id="grid-status"' in html and 'hx-swap-oob="true"' in html
    assert "Assigned Bob Staff to Reference Desk." in html
    assert Assignment.objects.filter(shift=shift, user=bob).exists()
    assert [c.kind for c in recorder.changes] == [ChangeKind.ASSIGNED]


def test_a_name_two_people_share_asks_for_the_email(alice_client, shift, schedule, bob):
    from shiftdesk.accounts.models import User

    twin = User.objects.create_user("bob.two@example.org", "x", first_name="Bob", last_name="Staff")
    schedule.staff.add(twin)
    html = post(alice_client, shift, {"staff": "Bob Staff"}).content.decode()
    assert "2 people on the roster are called Bob Staff; type the email address." in html
    assert 'aria-invalid="true"' in html and f'aria-describedby="e{shift.pk}"' in html
    assert f'<p class="cell-error" id="e{shift.pk}">' in html
    assert 'value="Bob Staff"' in html  # what they typed stays in the box
    assert not Assignment.objects.exists()


def test_someone_off_the_roster_is_an_error_in_the_cell(alice_client, shift, charlie):
    response = post(alice_client, shift, {"staff": "Charlie Other"})
    assert response.status_code == 200  # htmx swaps only successful answers
    assert "Choose someone on the Reference roster." in response.content.decode()
    assert not Assignment.objects.exists()


def test_a_conflict_is_confirmed_in_the_cell(alice_client, shift, schedule, position, bob, alice):
    other = Shift.objects.create(
        schedule=schedule, position=position, start=shift.start + timedelta(hours=1), end=shift.end
    )
    actions.do_assign_staff(other, bob, by=alice)
    html = post(alice_client, shift, {"staff": "Bob Staff"}).content.decode()
    assert 'class="cell-warning" role="alert"' in html and "overlaps this shift" in html
    assert 'name="override_conflicts" value="on" autofocus' in html
    assert not Assignment.objects.filter(shift=shift).exists()
    html = post(alice_client, shift, {"staff": "Bob Staff", "override_conflicts": "on"}).content.decode()
    assert Assignment.objects.filter(shift=shift, user=bob).exists()
    assert "despite the warnings" in html


def test_filling_the_shift_moves_focus_to_the_person_just_assigned(alice_client, shift, bob, alice, schedule):
    schedule.staff.add(alice)
    actions.do_assign_staff(shift, alice, by=alice)
    html = post(alice_client, shift, {"staff": "bob@example.org"}).content.decode()
    assert html.startswith(f'<div class="shift" id="s{shift.pk}">')
    assert 'name="staff"' not in html  # full: no box
    assert f'value="{bob.pk}" aria-label="Unassign Bob Staff" autofocus' in html


def test_unassign_answers_with_an_undo_that_puts_them_back(alice_client, shift, bob, alice, recorder):
    actions.do_assign_staff(shift, bob, by=alice)
    html = post(alice_client, shift, {"unassign": str(bob.pk)}).content.decode()
    assert not Assignment.objects.filter(shift=shift).exists()
    assert "Unassigned Bob Staff." in html
    assert f'name="undo" value="{bob.pk}" autofocus' in html
    html = post(alice_client, shift, {"undo": str(bob.pk)}).content.decode()
    assert Assignment.objects.filter(shift=shift, user=bob).exists()
    assert "Assigned Bob Staff to Reference Desk again." in html
    assert [c.kind for c in recorder.changes] == [
        ChangeKind.ASSIGNED,
        ChangeKind.UNASSIGNED,
        ChangeKind.ASSIGNED,
    ]


def test_undo_is_refused_to_people_who_may_not_manage_the_shift(bob_client, shift, bob):
    response = post(bob_client, shift, {"undo": str(bob.pk)})
    assert response.status_code == 403
    assert not Assignment.objects.exists()


def test_without_script_assign_by_name_still_redirects_to_the_week(alice_client, shift, bob):
    response = alice_client.post(reverse("shift_assign", args=[shift.pk]), {"staff": "Bob Staff"})
    assert response.status_code == 302
    assert Assignment.objects.filter(shift=shift, user=bob).exists()


def test_without_script_unassign_lands_on_the_week_with_an_undo(alice_client, shift, bob, alice, recorder):
    actions.do_assign_staff(shift, bob, by=alice)
    response = alice_client.post(reverse("shift_assign", args=[shift.pk]), {"unassign": str(bob.pk)})
    assert response.status_code == 302 and response.url.endswith(f"&undo={shift.pk}-{bob.pk}")
    html = alice_client.get(response.url).content.decode()
    assert "Unassigned Bob Staff from Reference Desk." in html
    assert (
        f'name="undo" value="{bob.pk}" autofocus>Undo: assign Bob Staff to Reference Desk again</button>'
        in html
    )
    alice_client.post(reverse("shift_assign", args=[shift.pk]), {"undo": str(bob.pk)})
    assert Assignment.objects.filter(shift=shift, user=bob).exists()
    # Once they are back on the shift (or for anything that does not fit), no Undo is offered.
    assert "Undo: assign" not in alice_client.get(response.url).content.decode()


def test_the_undo_parameter_offers_nothing_for_other_schedules_or_to_staff(
    alice_client, shift, bob, alice, charlie, other_schedule
):
    from django.test import Client

    week = reverse("schedule_week", args=[shift.schedule.pk]) + f"?week={shift.start.date()}"
    assert (
        "Undo: assign" in alice_client.get(f"{week}&undo={shift.pk}-{bob.pk}").content.decode()
    )  # the case that fits
    for undo in (f"{shift.pk}-{charlie.pk}", "x-y", f"{shift.pk}", "-", f"99999999-{bob.pk}"):
        assert "Undo: assign" not in alice_client.get(f"{week}&undo={undo}").content.decode(), undo
    staff = Client()
    staff.force_login(bob)
    assert "Undo: assign" not in staff.get(f"{week}&undo={shift.pk}-{bob.pk}").content.decode()
