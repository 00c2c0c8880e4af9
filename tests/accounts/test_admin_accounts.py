"""Admin > Accounts: list, create, edit, schedule-admin duties, deactivate/activate; and `createadmin`."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from shiftdesk.accounts.models import User
from shiftdesk.scheduling import actions as scheduling_actions
from shiftdesk.scheduling.models import Assignment
from shiftdesk.scheduling.seam import ChangeKind
from tests.conftest import PASSWORD

PAGES = ["admin_accounts", "admin_account_create", "admin_account_edit"]


@pytest.mark.parametrize("name", PAGES)
def test_only_system_admins_reach_accounts_pages(client, alice, bob, charlie, schedule, name):
    schedule.admins.add(charlie)
    url = reverse(name, args=[bob.pk] if name == "admin_account_edit" else [])
    response = client.get(url)
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
    for who in (bob, charlie):  # regular, schedule admin
        client.force_login(who)
        assert client.get(url).status_code == 403
    client.force_login(alice)
    assert client.get(url).status_code == 200


@pytest.mark.parametrize("name", ["admin_account_deactivate", "admin_account_activate"])
def test_only_system_admins_may_deactivate(client, bob, charlie, schedule, name):
    schedule.admins.add(charlie)
    client.force_login(charlie)
    assert client.post(reverse(name, args=[bob.pk])).status_code == 403
    bob.refresh_from_db()
    assert bob.is_active


def test_it_lists_accounts(alice_client, bob):
    html = alice_client.get(reverse("admin_accounts")).content.decode()
    assert "bob@example.org" in html and "Regular" in html
    html = alice_client.get(reverse("admin_accounts") + "?q=alice").content.decode()
    assert "bob@example.org" not in html


def test_it_creates_a_user_who_can_log_in(alice_client, client, schedule):
    response = alice_client.post(
        reverse("admin_account_create"),
        {
            "email": "New.Person@Example.org",
            "first_name": "New",
            "last_name": "Person",
            "role": "regular",
            "password": "a long enough password 42",
            "administered_schedules": [schedule.pk],
        },
    )
    assert response.status_code == 302
    user = User.objects.get(email="new.person@example.org")
    assert list(user.administered_schedules.all()) == [schedule]
    assert user.check_password("a long enough password 42")


def test_create_refuses_bad_input_keeps_it_and_saves_nothing(alice_client, bob, schedule):
    response = alice_client.post(
        reverse("admin_account_create"),
        {
            "email": "BOB@example.org",
            "first_name": "Kept",
            "role": "regular",
            "administered_schedules": [schedule.pk],
        },
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Another account already uses this email address." in html
    assert 'value="Kept"' in html
    response = alice_client.post(
        reverse("admin_account_create"), {"email": "x@example.org", "role": "regular", "password": "short"}
    )
    assert "This password is too short" in response.content.decode()
    assert 'value="short"' not in response.content.decode()  # passwords are never rendered back
    assert User.objects.count() == 2


def test_edit_changes_role_and_schedule_admin_duties(alice_client, bob, schedule):
    response = alice_client.post(
        reverse("admin_account_edit", args=[bob.pk]),
        {
            "email": "bob@example.org",
            "first_name": "Robert",
            "last_name": "Staff",
            "role": "regular",
            "administered_schedules": [schedule.pk],
        },
    )
    assert response.status_code == 302
    bob.refresh_from_db()
    assert bob.first_name == "Robert" and list(bob.administered_schedules.all()) == [schedule]


def test_an_admin_cannot_demote_or_deactivate_themselves(alice_client, alice):
    response = alice_client.post(
        reverse("admin_account_edit", args=[alice.pk]), {"email": alice.email, "role": "regular"}
    )
    assert response.status_code == 400 and "own Admin role" in response.content.decode()
    alice_client.post(reverse("admin_account_deactivate", args=[alice.pk]))
    alice.refresh_from_db()
    assert alice.is_active and alice.role == User.Role.ADMIN


def test_deactivating_takes_the_user_off_upcoming_shifts_and_tells_calendars(
    alice_client, alice, bob, shift, recorder, client
):
    scheduling_actions.do_assign_staff(shift, bob, by=alice)
    page = alice_client.get(reverse("admin_account_edit", args=[bob.pk])).content.decode()
    assert "their 1 upcoming shift " in page
    response = alice_client.post(reverse("admin_account_deactivate", args=[bob.pk]), follow=True)
    assert "1 upcoming shift opened up" in response.content.decode()
    bob.refresh_from_db()
    assert not bob.is_active
    assert not Assignment.objects.exists()
    [change] = recorder.calls[-1]
    assert (
        change.kind == ChangeKind.USER_DEACTIVATED
        and change.user_id == bob.pk
        and change.by_user_id == alice.pk
    )
    assert not client.login(username=bob.email, password=PASSWORD)
    alice_client.post(reverse("admin_account_activate", args=[bob.pk]))
    bob.refresh_from_db()
    assert bob.is_active


def test_createadmin_creates_and_promotes(db, capsys):
    call_command("createadmin", "Root@Example.org", "--password", "a long enough password 42")
    user = User.objects.get(email="root@example.org")
    assert user.is_system_admin and user.check_password("a long enough password 42")
    User.objects.create_user("staff@example.org", PASSWORD)
    call_command("createadmin", "staff@example.org", "--password", "another long password 7")
    assert User.objects.get(email="staff@example.org").is_system_admin
    with pytest.raises(CommandError, match="too short"):
        call_command("createadmin", "x@example.org", "--password", "short")
    assert not User.objects.filter(email="x@example.org").exists()


def test_createadmin_prompts_for_the_password(db, monkeypatch):
    answers = iter(["typed password 12345", "typed password 12345"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    call_command("createadmin", "prompted@example.org")
    assert User.objects.get(email="prompted@example.org").check_password("typed password 12345")
    answers = iter(["one password 12345", "other password 12345"])
    with pytest.raises(CommandError, match="do not match"):
        call_command("createadmin", "mismatch@example.org")
