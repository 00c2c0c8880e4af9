"""Who may see and do what on the Calendar Sync tab and Integration Status: the access-control matrix.

Anonymous users go to the login page; a regular user sees and acts on their own sync only (another user's
ids are 404s that change nothing); only system admins see Integration Status and its buttons (others 403).
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from shiftdesk.calendarsync.models import CalendarConnection, EventLink, ExportJob
from tests.calendarsync.ui_factories import assign, deleted_in_outlook, log, make_connection, make_shift

pytestmark = pytest.mark.django_db


@pytest.fixture
def charlies(charlie):
    """charlie's sync: a paused connection, an export, an event deleted in Outlook, a log line."""
    connection = make_connection(
        charlie, status=CalendarConnection.Status.PAUSED, account_email="charlie@contoso.example"
    )
    shift = make_shift()
    assign(shift, charlie)
    link = deleted_in_outlook(connection, shift)
    job = ExportJob.objects.create(user=charlie, option=ExportJob.Option.ALL)
    log(connection, "charlie-only log line")
    return {"connection": connection, "link": link, "job": job}


def user_urls(c):
    return [
        ("get", reverse("calendar_sync")),
        ("post", reverse("calendar_sync_export")),
        ("get", reverse("calendar_sync_export_progress", args=[c["job"].pk])),
        ("post", reverse("calendar_sync_confirm")),
        ("post", reverse("calendar_sync_restore", args=[c["link"].pk])),
        ("post", reverse("calendar_sync_leave", args=[c["link"].pk])),
    ]


def admin_urls(c):
    return [
        ("get", reverse("integration_status")),
        ("post", reverse("integration_status_retry", args=[c["connection"].pk])),
        ("post", reverse("integration_status_confirm", args=[c["connection"].pk])),
    ]


def test_it_sends_anonymous_users_to_login_everywhere(client, charlies):
    for method, url in user_urls(charlies) + admin_urls(charlies):
        response = getattr(client, method)(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login")), url


def test_it_forbids_integration_status_to_regular_users(client, bob, charlies):
    client.force_login(bob)
    for method, url in admin_urls(charlies):
        assert getattr(client, method)(url).status_code == 403, url
    charlies["connection"].refresh_from_db()
    assert charlies["connection"].status == CalendarConnection.Status.PAUSED  # the confirm did nothing


def test_it_shows_integration_status_to_system_admins(client, alice, charlies):
    client.force_login(alice)
    response = client.get(reverse("integration_status"))
    assert response.status_code == 200
    assert b"charlie@contoso.example" in response.content


def test_it_shows_a_regular_user_only_their_own_sync(client, bob, charlies):
    make_connection(bob, account_email="bob@contoso.example")
    client.force_login(bob)
    response = client.get(reverse("calendar_sync"))
    assert response.status_code == 200
    assert b"bob@contoso.example" in response.content
    assert b"charlie@contoso.example" not in response.content
    assert b"charlie-only log line" not in response.content
    assert f'data-link="{charlies["link"].pk}"'.encode() not in response.content


def test_it_hides_another_users_export_progress(client, bob, charlies):
    client.force_login(bob)
    url = reverse("calendar_sync_export_progress", args=[charlies["job"].pk])
    assert client.get(url).status_code == 404


def test_it_will_not_restore_or_leave_another_users_event(client, bob, charlies):
    make_connection(bob)
    client.force_login(bob)
    link = charlies["link"]
    for name in ("calendar_sync_restore", "calendar_sync_leave"):
        assert client.post(reverse(name, args=[link.pk])).status_code == 404
    link.refresh_from_db()
    assert link.deleted_in_outlook and link.tracked and not link.dirty


def test_it_confirms_only_the_users_own_paused_connection(client, bob, charlies):
    make_connection(bob)
    client.force_login(bob)
    client.post(reverse("calendar_sync_confirm"), {"connection": charlies["connection"].pk})
    charlies["connection"].refresh_from_db()
    assert charlies["connection"].status == CalendarConnection.Status.PAUSED


def test_it_exports_only_the_requesting_users_shifts_whatever_the_form_says(client, bob, charlies):
    make_connection(bob)
    client.force_login(bob)
    before = ExportJob.objects.filter(user=charlies["job"].user).count()
    response = client.post(
        reverse("calendar_sync_export"),
        {"option": ExportJob.Option.ALL, "user": charlies["job"].user_id, "user_id": charlies["job"].user_id},
    )
    assert response.status_code == 302
    assert ExportJob.objects.filter(user=charlies["job"].user).count() == before
    job = ExportJob.objects.get(user=bob)
    assert job.requested_by == bob and job.option == ExportJob.Option.ALL


def test_it_refuses_get_on_buttons(client, bob, charlies):
    make_connection(bob)
    client.force_login(bob)
    for name in ("calendar_sync_export", "calendar_sync_confirm"):
        assert client.get(reverse(name)).status_code == 405
    assert not ExportJob.objects.filter(user=bob).exists()


def test_it_answers_unknown_ids_like_other_users_ids(client, bob):
    make_connection(bob)
    client.force_login(bob)
    assert client.get(reverse("calendar_sync_export_progress", args=[999999])).status_code == 404
    assert client.post(reverse("calendar_sync_restore", args=[999999])).status_code == 404
    assert not EventLink.objects.exists()
