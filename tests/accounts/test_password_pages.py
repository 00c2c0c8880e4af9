"""Password reset and change: Django's auth views with ShiftDesk's pages."""

from __future__ import annotations

import re

from tests.conftest import PASSWORD


def test_it_mails_a_reset_link_that_sets_a_new_password(client, bob, mailoutbox):
    response = client.post("/password/reset/", {"email": bob.email}, follow=True)
    assert "we have emailed instructions" in response.content.decode()
    assert len(mailoutbox) == 1 and mailoutbox[0].to == [bob.email]
    link = re.search(r"http://\S+/password/reset/\S+/", mailoutbox[0].body).group(0)
    form = client.get(link, follow=True)
    set_url = form.redirect_chain[-1][0]
    done = client.post(
        set_url,
        {"new_password1": "a-new-long-pass-2026", "new_password2": "a-new-long-pass-2026"},
        follow=True,
    )
    assert "Your password has been set" in done.content.decode()
    assert client.login(username=bob.email, password="a-new-long-pass-2026")


def test_it_says_the_same_for_an_unknown_address(client, db, mailoutbox):
    response = client.post("/password/reset/", {"email": "nobody@example.org"}, follow=True)
    assert "we have emailed instructions" in response.content.decode()
    assert mailoutbox == []


def test_it_changes_the_password_on_the_manage_account_tab(bob_client, bob):
    page = bob_client.get("/account/password/").content.decode()
    assert 'aria-current="page">Password</a>' in page
    response = bob_client.post(
        "/account/password/",
        {
            "old_password": PASSWORD,
            "new_password1": "another-long-pass-2026",
            "new_password2": "another-long-pass-2026",
        },
    )
    assert response.status_code == 302
    bob.refresh_from_db()
    assert bob.check_password("another-long-pass-2026")


def test_it_keeps_the_password_and_says_why_when_the_old_one_is_wrong(bob_client, bob):
    response = bob_client.post(
        "/account/password/",
        {
            "old_password": "wrong",
            "new_password1": "another-long-pass-2026",
            "new_password2": "another-long-pass-2026",
        },
    )
    assert response.status_code == 200 and "old password was entered incorrectly" in response.content.decode()
    bob.refresh_from_db()
    assert bob.check_password(PASSWORD)
