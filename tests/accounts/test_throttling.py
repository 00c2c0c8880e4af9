"""Login and password-reset throttling (issue 11, item 5): django-axes, a clear message, an admin unlock."""

from __future__ import annotations

import io

from django.core.management import call_command
from django.test import Client

from tests.conftest import PASSWORD


def login(client: Client, email: str, password: str):
    return client.post("/login/", {"username": email, "password": password})


def test_twenty_wrong_passwords_then_the_right_one_does_not_log_in(client, bob):
    for _ in range(20):
        assert login(client, bob.email, "wrong-password").status_code in (200, 429)
    response = login(client, bob.email, PASSWORD)
    assert response.status_code == 429
    page = response.content.decode()
    assert "Too many attempts" in page and "ask an admin" in page and "15 minutes" in page
    assert "_auth_user_id" not in client.session
    assert client.get("/").status_code == 302  # still sent to the login page


def test_the_lockout_counts_the_email_in_any_case_and_leaves_other_accounts_alone(client, bob, charlie):
    for i in range(5):
        login(client, bob.email.upper() if i % 2 else bob.email, "wrong-password")
    assert login(client, bob.email, PASSWORD).status_code == 429
    assert login(Client(), charlie.email, PASSWORD).status_code == 302  # charlie logs in


def test_fewer_failures_than_the_limit_still_log_in_and_clear_the_count(client, bob):
    for _ in range(4):
        assert login(client, bob.email, "wrong-password").status_code == 200
    assert login(client, bob.email, PASSWORD).status_code == 302
    client.logout()
    for _ in range(4):
        assert login(client, bob.email, "wrong-password").status_code == 200
    assert login(client, bob.email, PASSWORD).status_code == 302


def test_password_reset_requests_are_throttled(client, bob, mailoutbox):
    codes = [client.post("/password/reset/", {"email": bob.email}).status_code for _ in range(10)]
    assert codes[:4] == [302] * 4 and set(codes[4:]) == {429}
    assert len(mailoutbox) == 4
    assert "Too many attempts" in client.post("/password/reset/", {"email": bob.email}).content.decode()


def test_an_admin_unlocks_an_account_on_its_page(alice_client, bob):
    client = Client()  # bob's browser; alice_client is the admin's
    for _ in range(5):
        login(client, bob.email, "wrong-password")
    assert login(client, bob.email, PASSWORD).status_code == 429
    listing = alice_client.get("/admin/accounts/").content.decode()
    assert listing.count("data-locked-out") == 1 and "Locked out (too many attempts)" in listing
    page = alice_client.get(f"/admin/accounts/{bob.pk}/").content.decode()
    assert "This account is locked out" in page and "Unlock" in page
    done = alice_client.post(f"/admin/accounts/{bob.pk}/unlock/", follow=True)
    assert f"Unlocked {bob.email}" in done.content.decode()
    assert "Not locked out" in done.content.decode()
    assert login(client, bob.email, PASSWORD).status_code == 302


def test_only_admins_may_unlock(bob_client, charlie):
    assert bob_client.post(f"/admin/accounts/{charlie.pk}/unlock/").status_code in (302, 403, 404)
    assert bob_client.get(f"/admin/accounts/{charlie.pk}/unlock/").status_code in (302, 403, 404, 405)


def test_the_documented_command_unlocks_too(client, bob):
    for _ in range(5):
        login(client, bob.email, "wrong-password")
    assert login(client, bob.email, PASSWORD).status_code == 429
    call_command("axes_reset_username", bob.email, stdout=io.StringIO())
    assert login(client, bob.email, PASSWORD).status_code == 302


def test_the_pause_ends_by_itself_after_the_cool_off(client, bob, time_machine):
    import datetime as dt

    time_machine.move_to(dt.datetime(2026, 12, 4, 9, 0, tzinfo=dt.UTC), tick=False)
    for _ in range(5):
        login(client, bob.email, "wrong-password")
    time_machine.move_to(dt.datetime(2026, 12, 4, 9, 14, tzinfo=dt.UTC), tick=False)
    assert login(client, bob.email, PASSWORD).status_code == 429  # and an attempt now restarts the pause
    time_machine.move_to(dt.datetime(2026, 12, 4, 9, 28, tzinfo=dt.UTC), tick=False)
    assert login(client, bob.email, PASSWORD).status_code == 429
    time_machine.move_to(dt.datetime(2026, 12, 4, 9, 44, tzinfo=dt.UTC), tick=False)
    assert login(client, bob.email, PASSWORD).status_code == 302
