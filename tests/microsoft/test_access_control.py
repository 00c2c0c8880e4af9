"""Who may see and change what: only system admins reach Integrations; users act only on their own account."""

from __future__ import annotations

import pytest
from django.test import Client

from shiftdesk.calendarsync.models import CalendarConnection
from shiftdesk.microsoft.models import AzureADSettings

ADMIN_PAGES = [
    ("get", "/admin/integrations/"),
    ("post", "/admin/integrations/azure/"),
    ("post", "/admin/integrations/azure/save-anyway/"),
    ("get", "/admin/integrations/azure/admin-consent/"),
]
USER_PAGES = [
    ("get", "/account/calendar-sync/"),
    ("get", "/account/calendar-sync/microsoft/authorize/"),
    ("post", "/account/calendar-sync/microsoft/calendars/"),
    ("post", "/account/calendar-sync/microsoft/remove/"),
    ("get", "/microsoft/oauth2/callback/"),
]


def make_client(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.mark.parametrize(("method", "url"), ADMIN_PAGES + USER_PAGES)
def test_anonymous_goes_to_the_login_page(db, method, url):
    response = getattr(Client(), method)(url)
    assert response.status_code == 302 and response["Location"].startswith("/login/")


@pytest.mark.parametrize(("method", "url"), ADMIN_PAGES)
def test_regular_users_get_403_on_integrations(bob, method, url):
    assert getattr(make_client(bob), method)(url).status_code == 403


@pytest.mark.parametrize(("method", "url"), ADMIN_PAGES)
def test_system_admins_reach_integrations(alice, method, url):
    assert getattr(make_client(alice), method)(url).status_code in (200, 302, 400)


def test_a_schedule_admin_is_a_regular_user_here(bob):
    # Schedule admins are Regular users who administer a schedule: Integrations is system-admin only.
    assert make_client(bob).get("/admin/integrations/").status_code == 403


def test_a_regular_user_cannot_change_the_settings(bob, azure):
    before = AzureADSettings.load()
    make_client(bob).post("/admin/integrations/azure/", {"application_id": "x", "enabled": "disabled"})
    after = AzureADSettings.load()
    assert (after.application_id, after.enabled) == (before.application_id, before.enabled)


def test_users_act_only_on_their_own_connection(charlie, connected_bob):
    charlie_client = make_client(charlie)
    page = charlie_client.get("/account/calendar-sync/").content.decode()
    assert "megan@contoso.onmicrosoft.com" not in page
    charlie_client.post("/account/calendar-sync/microsoft/remove/")
    charlie_client.post(
        "/account/calendar-sync/microsoft/calendars/", {"sync_calendar": "x", "freebusy_calendar": "x"}
    )
    connected_bob.refresh_from_db()
    assert CalendarConnection.objects.filter(pk=connected_bob.pk).exists()
    assert connected_bob.sync_calendar_id == ""


def test_an_admin_cannot_remove_someone_elses_authorization(alice, connected_bob):
    make_client(alice).post("/account/calendar-sync/microsoft/remove/")
    assert CalendarConnection.objects.filter(pk=connected_bob.pk).exists()


@pytest.mark.parametrize(("method", "url"), [(m, u) for m, u in ADMIN_PAGES + USER_PAGES if m == "post"])
def test_writes_refuse_get(alice, method, url):
    assert make_client(alice).get(url).status_code == 405
