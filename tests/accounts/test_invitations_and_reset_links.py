"""Invitations for accounts without a password, "Forgot your password?" for them, and email links built from
SHIFTDESK_PUBLIC_URL, never from the request's Host (issue 11, items 2 and 7)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from shiftdesk.accounts.models import User

PUBLIC = "https://shiftdesk.example.org"


@pytest.fixture(autouse=True)
def public_url(settings):
    settings.PUBLIC_BASE_URL = PUBLIC
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "internal.example"]


def link_in(body: str) -> str:
    return re.search(r"https?://\S+/password/reset/\S+/", body).group(0)


def set_password_through(client, link: str, password: str):
    assert link.startswith(PUBLIC + "/"), link
    form = client.get(urlsplit(link).path, follow=True)
    return client.post(
        form.redirect_chain[-1][0], {"new_password1": password, "new_password2": password}, follow=True
    )


def test_an_account_created_without_a_password_gets_an_invitation_that_sets_it(
    alice_client, client, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(
            "/admin/accounts/new/",
            {"email": "dana@example.org", "first_name": "Dana", "last_name": "New", "role": "regular"},
            follow=True,
        )
    assert "emailed a link to set their password" in response.content.decode()
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["dana@example.org"]
    assert "set your password" in mailoutbox[0].subject.lower()
    body = mailoutbox[0].body
    assert "Hello Dana" in body and "Alice Admin created" in body and f"{PUBLIC}/login/" in body
    done = set_password_through(client, link_in(body), "dana-new-long-pass-2026")
    assert "Your password has been set" in done.content.decode()
    assert client.login(username="dana@example.org", password="dana-new-long-pass-2026")


def test_an_account_created_with_a_password_gets_no_invitation(
    alice_client, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        alice_client.post(
            "/admin/accounts/new/",
            {"email": "erin@example.org", "role": "regular", "password": "erin-long-pass-2026"},
        )
    assert User.objects.filter(email="erin@example.org").exists() and mailoutbox == []


def test_forgot_your_password_works_for_an_account_without_one(client, db, mailoutbox):
    user = User.objects.create_user("frank@example.org", None)
    assert not user.has_usable_password()
    client.post("/password/reset/", {"email": "Frank@Example.org"})
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["frank@example.org"]
    done = set_password_through(client, link_in(mailoutbox[0].body), "frank-new-long-pass-2026")
    assert "Your password has been set" in done.content.decode()


def test_no_reset_email_for_a_deactivated_account(client, bob, mailoutbox):
    bob.is_active = False
    bob.save()
    client.post("/password/reset/", {"email": bob.email})
    assert mailoutbox == []


def test_reset_links_come_from_the_public_url_not_the_host_header(client, bob, mailoutbox):
    client.post("/password/reset/", {"email": bob.email}, HTTP_HOST="internal.example")
    body = mailoutbox[0].body
    assert "internal.example" not in body and "testserver" not in body
    assert link_in(body).startswith(PUBLIC + "/password/reset/")


def test_a_forged_host_is_refused_outright(client, bob, mailoutbox):
    response = client.post("/password/reset/", {"email": bob.email}, HTTP_HOST="evil.example")
    assert response.status_code == 400 and mailoutbox == []
